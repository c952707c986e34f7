"""The Python API (``traitctl.telemetry``) and the ingest pipeline, on real SQLite files."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap

import pytest

from traitctl import telemetry
from traitctl.engine.errors import InputError
from traitctl.store.db import Store


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'metrics.db'}"


def count(url: str) -> int:
    store = Store.open(url)
    try:
        return store.metrics.count_points()
    finally:
        store.close()


def test_recorder_buffers_until_the_batch_is_full(db_url):
    rec = telemetry.Recorder(db_url, batch_size=3, max_delay=3600, clock=Clock())
    rec.record("trait.HasUuid.generated")
    rec.record("trait.HasUuid.generated", 2, model="App\\Models\\User")
    assert rec.pending() == 2 and count(db_url) == 0
    rec.record("trait.Cacheable.hit_ratio", 0.5, kind="gauge")
    assert rec.pending() == 0 and count(db_url) == 3
    rec.close()


def test_recorder_flushes_after_max_delay_and_on_close(db_url):
    clock = Clock()
    rec = telemetry.Recorder(db_url, batch_size=1000, max_delay=5, clock=clock)
    rec.record("a")
    clock.now += 4
    rec.record("a")
    assert count(db_url) == 0
    clock.now += 2
    rec.record("a")  # the oldest point is 6 s old: the batch goes now
    assert count(db_url) == 3
    rec.record("a", at=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
    rec.close()
    store = Store.open(db_url)
    assert store.metrics.aggregate("a", since=dt.datetime(2025, 12, 31), until=dt.datetime(2026, 1, 2)) == 1
    store.close()


def test_bad_points_raise_at_the_call_and_never_reach_the_buffer(db_url):
    rec = telemetry.Recorder(db_url, clock=Clock())
    for kwargs, message in [({"name": "a b"}, "Invalid metric name"), ({"name": "a", "value": "x"}, "not a number"),
                            ({"name": "a", "kind": "set"}, "Unknown metric kind"),
                            ({"name": "a", "at": "never"}, "does not parse")]:
        with pytest.raises(InputError, match=message):
            rec.record(**kwargs)
    assert rec.pending() == 0


def test_module_api_in_an_application_process_flushes_at_exit(tmp_path, db_url):
    script = textwrap.dedent(f"""
        from traitctl import telemetry
        telemetry.configure({db_url!r}, batch_size=100)
        telemetry.record("trait.HasUuid.generated", tenant="acme")
        telemetry.gauge("trait.Cacheable.hit_ratio", 0.9)
        with telemetry.timer("trait.Searchable.index_ms"):
            pass
    """)
    subprocess.run([sys.executable, "-c", script], check=True, cwd=tmp_path)
    store = Store.open(db_url)
    assert store.metrics.known_kinds() == {"trait.Cacheable.hit_ratio": "gauge", "trait.HasUuid.generated": "counter",
                                           "trait.Searchable.index_ms": "timing"}
    assert [s.labels for s in store.metrics.series("trait.HasUuid.generated")] == [{"tenant": "acme", "trait": "HasUuid"}]
    store.close()


def test_ingest_commits_per_batch_and_strict_is_all_or_nothing(db_url):
    store = Store.open(db_url)
    lines = ['{"name": "a", "value": 1}'] * 5 + ["oops"] + ['{"name": "a", "value": 1}'] * 4
    with pytest.raises(InputError, match="line 6: not JSON"):
        telemetry.ingest(store.metrics, lines, "jsonl", now=1e9, strict=True, batch_size=2)
    assert store.metrics.count_points() == 0
    report = telemetry.ingest(store.metrics, lines, "jsonl", now=1e9, batch_size=2)
    assert (report.stored, report.bad) == (9, 1)
    assert report.examples[0][0] == 6 and report.examples[0][1].startswith("not JSON (")
    conflict = telemetry.ingest(store.metrics, ['{"name": "a", "value": 1, "kind": "gauge"}'], "jsonl", now=1e9)
    assert conflict.examples == [(1, "metric a is a counter, not a gauge")] and conflict.stored == 0
    store.close()


def test_a_stream_broken_midway_keeps_the_batches_already_committed(db_url):
    store = Store.open(db_url)

    def broken():
        for _ in range(5):
            yield '{"name": "a", "value": 1}'
        raise OSError("connection reset")

    with pytest.raises(OSError):
        telemetry.ingest(store.metrics, broken(), "jsonl", now=1e9, batch_size=2)
    assert store.metrics.count_points() == 4  # two whole batches; the fifth point's batch never committed
    store.close()
