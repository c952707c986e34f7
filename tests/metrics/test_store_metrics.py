"""The metrics repository's contract, on SQLite (memory, file) and the real PostgreSQL."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from traitctl.engine.errors import InputError
from traitctl.engine.telemetry_formats import Point, make_point, to_epoch

T0 = to_epoch(dt.datetime(2026, 11, 1, 12, 0, 0))


def at(seconds: float) -> dt.datetime:
    return dt.datetime(2026, 11, 1, 12, 0, 0) + dt.timedelta(seconds=seconds)


def points(n: int = 300, seed: int = 7) -> list[Point]:
    """Points spread over ~25 minutes, two label sets, values with fractions."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        model = "App\\Models\\User" if i % 3 else "App\\Models\\Post"
        out.append(make_point("trait.HasUuid.generated", round(rng.uniform(-5, 20), 2), "counter",
                              {"model": model}, T0 + rng.uniform(0, 1500)))
    return out


def brute(pts: list[Point], since: float, until: float, model: str | None = None) -> list[float]:
    return [p.value for p in pts if since <= p.ts < until and (model is None or p.labels["model"] == model)]


def test_aggregate_is_exact_at_any_window_edges(store):
    pts = points()
    assert store.metrics.write(pts) == len(pts)
    rng = random.Random(1)
    windows = [(0, 1500), (0.5, 59.5), (61, 119), (30, 1000.25), (120, 180)]
    windows += [tuple(sorted((rng.uniform(-10, 1510), rng.uniform(-10, 1510)))) for _ in range(6)]
    for since, until in windows:
        expected = brute(pts, T0 + since, T0 + until)
        got = {agg: store.metrics.aggregate("trait.HasUuid.generated", since=at(since), until=at(until), agg=agg)
               for agg in ("sum", "count", "avg", "min", "max")}
        if not expected:
            assert got["sum"] is None
            continue
        assert got["count"] == len(expected)
        assert got["sum"] == pytest.approx(sum(expected))
        assert got["avg"] == pytest.approx(sum(expected) / len(expected))
        assert (got["min"], got["max"]) == (min(expected), max(expected))


def test_aggregate_filters_by_labels_and_rejects_unknown_agg(store):
    pts = points(120)
    store.metrics.write(pts)
    user = store.metrics.aggregate("trait.HasUuid.generated", since=at(0), until=at(2000),
                                   labels={"model": "App\\Models\\User"}, agg="count")
    assert user == len(brute(pts, T0, T0 + 2000, "App\\Models\\User"))
    assert store.metrics.aggregate("trait.HasUuid.generated", since=at(0), until=at(2000),
                                   labels={"model": "Nope"}) is None
    assert store.metrics.aggregate("no.such.metric", since=at(0), until=at(2000)) is None
    with pytest.raises(InputError, match="Unknown aggregate 'median'"):
        store.metrics.aggregate("trait.HasUuid.generated", since=at(0), until=at(1), agg="median")


def test_writes_in_several_batches_merge_roll_ups(store):
    pts = points(200)
    store.metrics.write(pts[:77])
    store.metrics.write(pts[77:])
    (summary,) = store.metrics.summaries(store.metrics.series(labels={"model": "App\\Models\\Post"}))
    post = [p for p in pts if p.labels["model"] == "App\\Models\\Post"]
    newest = max(post, key=lambda p: p.ts)
    assert (summary.count, summary.last, summary.last_ts) == (len(post), newest.value, pytest.approx(newest.ts))
    assert summary.sum == pytest.approx(sum(p.value for p in post))


def test_kind_conflict_is_refused_and_nothing_of_the_batch_is_kept(store):
    store.metrics.write([make_point("q.depth", 3, "gauge", None, T0)])
    batch = [make_point("q.depth2", 1, "gauge", None, T0), make_point("q.depth", 1, "counter", None, T0)]
    with pytest.raises(InputError, match="'q.depth' is a gauge"):
        store.metrics.write(batch)
    assert store.metrics.count_points() == 1
    assert store.metrics.names() == ["q.depth"]
    # The repository still works after the rolled-back batch (its series cache was dropped).
    assert store.metrics.write([make_point("q.depth2", 5, "gauge", None, T0)]) == 1
    assert store.metrics.known_kinds() == {"q.depth": "gauge", "q.depth2": "gauge"}


def test_purge_deletes_before_the_cut_and_keeps_views_exact(store):
    pts = points(300)
    store.metrics.write(pts)
    cut = 630.5  # mid-minute: the straddling minute's roll-up is rebuilt
    deleted = store.metrics.purge(at(cut))
    assert deleted == len([p for p in pts if p.ts < T0 + cut])
    assert store.metrics.count_points() == len(pts) - deleted
    kept = brute(pts, T0 + cut, T0 + 5000)
    assert store.metrics.aggregate("trait.HasUuid.generated", since=at(0), until=at(5000), agg="sum") \
        == pytest.approx(sum(kept))
    assert store.metrics.aggregate("trait.HasUuid.generated", since=at(600), until=at(660), agg="count") \
        == len(brute(pts, T0 + cut, T0 + 660))


def test_purge_by_kind_and_apply_retention(store):
    store.metrics.write([make_point("c", 1, "counter", None, T0), make_point("g", 1, "gauge", None, T0),
                         make_point("g", 2, "gauge", None, T0 + 3600)])
    assert store.metrics.purge(at(10), kind="counter") == 1
    assert store.metrics.names() == ["g"]  # a series with no points left is dropped
    done = store.metrics.apply_retention({"gauge": dt.timedelta(hours=1), "timing": dt.timedelta(days=1)},
                                         now=at(3600 + 1800))
    assert done == {"gauge": 1, "timing": 0}
    assert store.metrics.aggregate("g", since=at(0), until=at(9999), agg="sum") == 2


def test_newest_point_time(store):
    assert store.metrics.newest_point_time() is None
    store.metrics.write([make_point("a", 1, "counter", None, T0 + 5), make_point("a", 1, "counter", None, T0 + 65.5)])
    store.metrics.write([make_point("b", 1, "counter", None, T0 + 1)])
    assert store.metrics.newest_point_time() == at(65.5)


def test_buckets_from_roll_ups_and_from_points_agree(store):
    pts = points(300)
    store.metrics.write(pts)
    series = store.metrics.series("trait.HasUuid.generated")
    minute = store.metrics.buckets(series, T0, T0 + 1500, 300)   # roll-ups
    second = store.metrics.buckets(series, T0, T0 + 1500, 150)   # points (not whole minutes)
    for k in range(5):
        a = [minute.get((s.id, k), [0, 0])[:2] for s in series]
        b = [[sum(x) for x in zip(second.get((s.id, 2 * k), [0, 0])[:2], second.get((s.id, 2 * k + 1), [0, 0])[:2])]
             for s in series]
        assert [[n, pytest.approx(t)] for n, t in a] == b


def test_series_filters_and_delete(store):
    store.metrics.write([make_point("trait.HasSlug.made", 1, "counter", {"model": "App\\Models\\Post", "tenant": "acme"}, T0),
                         make_point("trait.HasUuid.generated", 1, "counter", None, T0)])
    assert [s.name for s in store.metrics.series(trait="HasSlug")] == ["trait.HasSlug.made"]
    assert [s.name for s in store.metrics.series(model="Post")] == ["trait.HasSlug.made"]
    assert [s.name for s in store.metrics.series(tenant="acme")] == ["trait.HasSlug.made"]
    assert store.metrics.delete(store.metrics.series(trait="HasSlug")) == 1
    assert store.metrics.names() == ["trait.HasUuid.generated"]


@pytest.mark.parametrize("one_transaction", [True, False])
def test_batch_writer_commits_or_rolls_back(store, one_transaction):
    pts = points(40)
    writer = store.metrics.batch_writer(one_transaction=one_transaction)
    writer.put(pts[:20])
    writer.put(pts[20:])
    assert writer.close(commit=False) == (0 if one_transaction else 40)
    assert store.metrics.count_points() == (0 if one_transaction else 40)
    writer = store.metrics.batch_writer(one_transaction=one_transaction)
    writer.put(pts)
    assert writer.close() == 40
    assert store.metrics.count_points() == (40 if one_transaction else 80)


def write_all(writer, batches) -> int:
    """As ``telemetry.ingest`` uses a writer: the error may surface at ``put`` or at ``close``."""
    try:
        for batch in batches:
            writer.put(batch)
    except BaseException:
        writer.close(commit=False)
        raise
    return writer.close()


def test_batch_writer_hands_back_the_writers_error(store):
    store.metrics.write([make_point("q", 1, "gauge", None, T0)])
    writer = store.metrics.batch_writer(one_transaction=True)
    batches = [[make_point("ok", 1, "counter", None, T0)], [make_point("q", 1, "counter", None, T0)]]
    with pytest.raises(InputError, match="'q' is a gauge"):
        write_all(writer, batches)  # the second batch conflicts with the stored kind
    assert store.metrics.count_points() == 1 and store.metrics.names() == ["q"]


def test_put_rows_matches_write_and_a_rolled_back_batch_forgets_its_series(store):
    pts = points(60)
    series = sorted({(p.name, p.kind, tuple(sorted(p.labels.items()))) for p in pts})
    slot = {key: i for i, key in enumerate(series)}
    rows = [(-slot[(p.name, p.kind, tuple(sorted(p.labels.items())))] - 1, p.ts, p.value) for p in pts]
    as_series = [(name, kind, dict(labels)) for name, kind, labels in series]
    writer = store.metrics.batch_writer(background=False)  # errors and ids come back at once
    of_first = [r for r in rows if r[0] == -1]
    ids = writer.put_rows(as_series[:1], of_first[:5])
    with pytest.raises(InputError, match="is a counter"):  # a new series of a conflicting kind
        writer.put_rows(as_series + [("trait.HasUuid.generated", "gauge", {})], rows)
    # the first series by its store id now, the others still by -(index + 1)
    later = [(ids[0], ts, value) for _, ts, value in of_first[5:]] + [r for r in rows if r[0] != -1]
    assert writer.put_rows(as_series, later)[:1] == ids and len(writer.put_rows(as_series, [])) == len(series)
    assert writer.close() == 60
    whole = store.metrics.summaries(store.metrics.series("trait.HasUuid.generated"), T0, T0 + 1500)
    assert sorted((s.series.labels["model"], s.count, round(s.sum, 6)) for s in whole) == sorted(
        (model, len(vals), round(sum(vals), 6)) for model in ("App\\Models\\User", "App\\Models\\Post")
        for vals in [brute(pts, T0, T0 + 1500, model)])


def hours_of_points(n: int = 400, seed: int = 3) -> list[Point]:
    """Points over about five hours, so windows cover whole hours, whole minutes and partial ones."""
    rng = random.Random(seed)
    return [make_point("g", round(rng.uniform(0, 100), 1), "gauge", {"host": "a" if i % 2 else "b"},
                       T0 + rng.uniform(0, 5 * 3600)) for i in range(n)]


def test_windows_over_hours_are_exact_including_the_last_value(store):
    pts = hours_of_points()
    store.metrics.write(pts[:150])
    store.metrics.write(pts[150:])
    rng = random.Random(5)
    windows = [(0, 5 * 3600), (1800.5, 3 * 3600 + 7), (3600, 7200), (59, 3601)]
    windows += [tuple(sorted((rng.uniform(-100, 18100), rng.uniform(-100, 18100)))) for _ in range(6)]
    series = store.metrics.series("g")
    for since, until in windows:
        inside = [p for p in pts if T0 + since <= p.ts < T0 + until]
        got = {s.series.labels["host"]: s for s in store.metrics.summaries(series, T0 + since, T0 + until)}
        for host in ("a", "b"):
            mine = [p for p in inside if p.labels["host"] == host]
            if not mine:
                assert host not in got
                continue
            newest = max(mine, key=lambda p: p.ts)
            summary = got[host]
            assert (summary.count, summary.min, summary.max) == (len(mine), min(p.value for p in mine),
                                                                 max(p.value for p in mine))
            assert summary.sum == pytest.approx(sum(p.value for p in mine))
            assert (summary.last, summary.last_ts) == (newest.value, pytest.approx(newest.ts))


def test_hourly_and_minute_buckets_agree_and_purge_keeps_hours_exact(store):
    pts = hours_of_points()
    store.metrics.write(pts)
    series = store.metrics.series("g")
    hourly = store.metrics.buckets(series, T0, T0 + 5 * 3600, 3600)
    minutes = store.metrics.buckets(series, T0, T0 + 5 * 3600, 1800)  # 30-minute intervals: minute roll-ups
    for s in series:
        for k in range(5):
            halves = [minutes.get((s.id, 2 * k + j), [0, 0.0]) for j in (0, 1)]
            assert hourly.get((s.id, k), [0, 0.0])[0] == halves[0][0] + halves[1][0]
    cut = 2 * 3600 + 1234.5
    store.metrics.purge(at(cut))
    kept = [p.value for p in pts if p.ts >= T0 + cut]
    assert store.metrics.aggregate("g", since=at(0), until=at(6 * 3600), agg="count") == len(kept)
    assert store.metrics.aggregate("g", since=at(2 * 3600), until=at(3 * 3600), agg="sum") == \
        pytest.approx(sum(p.value for p in pts if T0 + cut <= p.ts < T0 + 3 * 3600))


def test_windows_match_brute_force_for_any_points_and_bounds():
    """Property: whatever the points and the window, roll-ups + edges equal a scan of the points."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from traitctl.store.db import Store

    offsets = st.floats(min_value=0, max_value=3 * 3600, allow_nan=False)

    @settings(max_examples=40, deadline=None)
    @given(st.lists(st.tuples(offsets, st.integers(-50, 50)), min_size=1, max_size=60), offsets, offsets)
    def check(raw, a, b):
        since, until = sorted((a, b))
        store = Store.open("sqlite:///:memory:")
        try:
            pts = [make_point("p", v, "gauge", None, T0 + off) for off, v in raw]
            store.metrics.write(pts)
            mine = [p for p in pts if T0 + since <= p.ts < T0 + until]
            got = store.metrics.summaries(store.metrics.series("p"), T0 + since, T0 + until)
            if not mine:
                assert got == []
                return
            (summary,) = got
            newest = max(p.ts for p in mine)
            assert (summary.count, summary.sum, summary.min, summary.max) == (
                len(mine), sum(p.value for p in mine), min(p.value for p in mine), max(p.value for p in mine))
            assert summary.last_ts == newest and summary.last in {p.value for p in mine if p.ts == newest}
        finally:
            store.close()

    check()


def test_values_and_times_are_stored_exactly(store):
    """SQLite writes go through JSON text (json_each): every double must come back bit for bit."""
    rng = random.Random(11)
    values = [rng.uniform(-1e6, 1e6) for _ in range(300)] + [0.1, 1 / 3, 5e-324, 1.7976931348623157e308, -0.0, 2.0 ** 60]
    times = [T0 + rng.random() * 86400 for _ in values]
    writer = store.metrics.batch_writer()
    writer.put_rows([("exact", "gauge", {})], [(-1, ts, value) for ts, value in zip(times, values)])
    assert writer.close() == len(values)
    stored = store.db.execute_sql("SELECT ts, value FROM traitctl_metric_point ORDER BY id").fetchall()
    assert sorted(stored) == sorted(zip(times, values))
    whole = store.metrics.summaries(store.metrics.series("exact"))[0]
    assert (whole.min, whole.max, whole.count) == (min(values), max(values), len(values))


def test_background_writer_failing_after_the_last_batch_still_closes(tmp_path):
    """An error once the writer has taken close()'s end marker (here: leaving the bulk-load
    settings) is raised by close() instead of leaving it waiting for the thread."""
    import contextlib
    import threading

    from traitctl.store.db import Store

    store = Store.open(f"sqlite:///{tmp_path / 'w.db'}")

    @contextlib.contextmanager
    def failing_exit():
        yield
        raise OSError("disk went away")

    store.metrics.bulk_load = failing_exit
    writer = store.metrics.batch_writer(one_transaction=True)
    assert type(writer).__name__ == "ThreadedBatchWriter"
    writer.put_rows([("a", "counter", {})], [(-1, T0, 1.0)])
    outcome: list = []

    def close() -> None:
        try:
            outcome.append(writer.close())
        except OSError as exc:
            outcome.append(exc)

    closer = threading.Thread(target=close, daemon=True)
    closer.start()
    closer.join(30)  # a guard against a hang, not a timing assertion
    assert not closer.is_alive() and isinstance(outcome[0], OSError)
    store.close()


def test_sums_that_overflow_are_clamped_and_flagged(store):
    from traitctl.engine.telemetry_formats import MAX_SUM

    big = [make_point("big", 1e308, "counter", {}, T0 + s) for s in (1, 2, 70, 3700, 3701)]
    big.append(make_point("big", 5.0, "counter", {"other": "x"}, T0 + 3))
    big.append(make_point("neg", -1e308, "counter", {}, T0 + 1))
    assert store.metrics.write(big[:3]) == 3
    assert store.metrics.write(big[3:]) == 4  # merged into stored minutes and hours: the SQL merge clamps too
    by_labels = {(s.series.name, tuple(s.series.labels.items())): s for s in store.metrics.summaries(store.metrics.series())}
    total = by_labels[("big", ())]
    assert (total.count, total.sum, total.overflow) == (5, MAX_SUM, True)
    assert total.max == 1e308 and total.last == 1e308
    assert not by_labels[("big", (("other", "x"),))].overflow
    assert store.metrics.aggregate("big", since=at(0), until=at(4000)) == MAX_SUM  # combined over series
    assert store.metrics.aggregate("big", since=at(0), until=at(2.5)) == MAX_SUM  # from the points
    assert store.metrics.aggregate("neg", since=at(0), until=at(10)) == -1e308
    series = store.metrics.series("big")
    plain, other = by_labels[("big", ())].series.id, by_labels[("big", (("other", "x"),))].series.id
    hours = store.metrics.buckets(series, T0, T0 + 7200, 3600)
    minutes = store.metrics.buckets(series, T0, T0 + 7200, 30)  # not whole minutes: from the points
    assert {k: v[1] for k, v in hours.items()} == {(plain, 0): MAX_SUM, (plain, 1): MAX_SUM, (other, 0): 5.0}
    assert max(v[1] for v in minutes.values()) == MAX_SUM
    # a later purge rebuilds the straddling minute and hour from what remains, clamped again
    store.metrics.purge(at(1.5))
    assert store.metrics.aggregate("big", since=at(0), until=at(4000)) == MAX_SUM
