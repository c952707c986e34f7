"""Line parsers, validation, time parsing and the Prometheus text export (pure engine)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from traitctl.engine import telemetry_formats as tf
from traitctl.engine.errors import InputError
from traitctl.engine.telemetry_formats import LineError, Series, Summary

NOW = 1_800_000_000.0


def parse(fmt: str, line: str):
    return tf.parser_for(fmt, NOW)(line)


def test_jsonl_fields_and_derived_trait():
    p = parse("jsonl", '{"name": "trait.HasUuid.generated", "value": 2, "labels": {"model": "App\\\\Models\\\\User"},'
                       ' "tenant": "acme", "ts": "2026-11-21T10:00:00Z"}')
    assert p == ("trait.HasUuid.generated", "counter", 2.0, tf.to_epoch(dt.datetime(2026, 11, 21, 10)),
                 {"model": "App\\Models\\User", "tenant": "acme", "trait": "HasUuid"})
    assert parse("jsonl", '{"name": "q", "value": 1.5, "kind": "histogram"}') == ("q", "timing", 1.5, NOW, {})
    assert parse("jsonl", "   ") is None


@pytest.mark.parametrize("line, reason", [
    ("nope", "not JSON"), ("[1]", "not a JSON object"), ('{"value": 1}', "missing 'name'"),
    ('{"name": "a", "value": "x"}', "not a number"), ('{"name": "a", "value": true}', "not a number"),
    ('{"name": "a b", "value": 1}', "Invalid metric name"), ('{"name": "a", "value": 1, "kind": "set"}', "Unknown metric kind"),
    ('{"name": "a", "value": 1, "ts": "yesterday"}', "does not parse"),
    ('{"name": "a", "value": 1, "labels": {"bad-key": 1}}', "Invalid label name"),
    ('{"name": "a", "value": 1, "labels": {"k": [1]}}', "must be text or a number"),
])
def test_jsonl_bad_lines_say_why(line, reason):
    with pytest.raises(LineError, match=reason):
        parse("jsonl", line)


def test_statsd_kinds_rates_and_tags():
    assert parse("statsd", "trait.Auditable.logged:3|c|@0.5|#model:App\\Models\\Invoice,tenant:acme") == (
        "trait.Auditable.logged", "counter", 6.0, NOW,
        {"model": "App\\Models\\Invoice", "tenant": "acme", "trait": "Auditable"})
    assert parse("statsd", "q.depth:12|g")[1:3] == ("gauge", 12.0)
    assert parse("statsd", "t:33|ms")[1] == "timing"
    for bad in ("no value", "x:1|s", "x:+1|g", "x:1|c|@2", "x:abc|c"):
        with pytest.raises(LineError):
            parse("statsd", bad)


def test_prometheus_samples_are_gauges_with_unescaped_labels():
    p = parse("prometheus", 'http_requests_total{method="post",path="a\\"b\\\\c\\nd"} 1027 1395066363000')
    assert p == ("http_requests_total", "gauge", 1027.0, 1395066363.0, {"method": "post", "path": 'a"b\\c\nd'})
    assert parse("prometheus", "# TYPE x counter") is None
    for bad in ('x{a="1} 2', "x", "x{a=1} 2", "x NaN"):
        with pytest.raises(LineError):
            parse("prometheus", bad)


LARAVEL_JOB = ('[2026-11-21 10:00:01] production.INFO: [TraitJob] Audit operation completed '
               '{"trait":"HasUserTracking","model":"App\\\\Models\\\\User","model_id":5,"operation":"audit"} []')


def test_laravel_log_telemetry_and_traitjob_lines():
    p = parse("laravel-log", "[2026-11-21 10:00:00] production.INFO: Telemetry: trait.HasUuid.generated = 15 (total: 115)")
    assert p == ("trait.HasUuid.generated", "counter", 15.0, tf.to_epoch(dt.datetime(2026, 11, 21, 10)),
                 {"trait": "HasUuid"})
    job = parse("laravel-log", LARAVEL_JOB)
    assert job[0] == "trait.HasUserTracking.job_completed"
    assert job[4] == {"model": "App\\Models\\User", "operation": "audit", "trait": "HasUserTracking"}
    assert parse("laravel-log", "[2026-11-21 10:00:03] production.ERROR: Something else") is None
    assert parse("laravel-log", "#0 /var/www/vendor/x.php(12): stack frame") is None
    with pytest.raises(LineError, match="'lots' is not a number"):
        parse("laravel-log", "[2026-11-21 10:00:04] production.INFO: Telemetry: a.b = lots (total: 1)")


def test_time_and_duration_parsing():
    assert tf.parse_duration("1h30m") == 5400 and tf.parse_duration("90") == 90 and tf.parse_duration("2w") == 1209600
    assert tf.parse_time("-5m", NOW) == NOW - 300 and tf.parse_time("now", NOW) == NOW
    assert tf.parse_time("2026-11-21T10:00:00+01:00", NOW) == tf.to_epoch(dt.datetime(2026, 11, 21, 9))
    for bad in ("5 minutes", "0s", "-1h", "h"):
        with pytest.raises(InputError):
            tf.parse_duration(bad)
    with pytest.raises(InputError, match="does not parse"):
        tf.parse_time("31/12/2026", NOW)


def test_unknown_format_and_label_args():
    with pytest.raises(InputError, match="Unknown format 'xml'"):
        tf.parser_for("xml", NOW)
    assert tf.parse_label_arg("model=App\\Models\\User") == ("model", "App\\Models\\User")
    with pytest.raises(InputError, match="Malformed label"):
        tf.parse_label_arg("model")


def test_retention_from_config():
    kept = tf.retention_from({"retention": {"gauge": "12h", "timing": 2}})
    assert kept == {"counter": dt.timedelta(days=30), "gauge": dt.timedelta(hours=12), "timing": dt.timedelta(days=2)}
    with pytest.raises(InputError, match="telemetry -> retention -> sets"):
        tf.retention_from({"retention": {"sets": "1d"}})
    with pytest.raises(InputError, match="telemetry -> retention -> gauge"):
        tf.retention_from({"retention": {"gauge": "soon"}})


def summary(sid, name, kind, labels, count=2, total=3.0, last=1.0):
    return Summary(Series(sid, name, kind, labels), count, total, 0.0, 2.0, last, 100.0 + sid)


def families(text: str) -> dict:
    return {f.name: f for f in text_string_to_metric_families(text)}


def test_prometheus_export_parses_with_types_and_no_duplicates():
    text = tf.prometheus_text([
        summary(1, "trait.HasUuid.generated", "counter", {"trait": "HasUuid", "model": 'App\\M\\"U"\nx'}),
        summary(2, "trait.HasUuid.Generated", "counter", {"trait": "HasUuid", "model": 'App\\M\\"U"\nx'}),
        summary(3, "trait.HasUuid.generated_total", "gauge", {}),
        summary(4, "q.depth", "timing", {"__x": "1"}),
        summary(5, "q.depth_count", "gauge", {}),
        summary(6, "trait.HasSlug.generated", "counter", {"trait": "HasSlug"}),
    ])
    assert text.endswith("\n")
    type_lines = [line for line in text.splitlines() if line.startswith("# TYPE")]
    assert len(type_lines) == len(set(line.split()[2] for line in type_lines))
    samples = [line.rsplit(" ", 1)[0] for line in text.splitlines() if not line.startswith("#")]
    assert len(samples) == len(set(samples))
    found = families(text)
    counter = found["traitctl_trait_generated"]
    assert counter.type == "counter"
    # The trait is a label of one family; two names that map to it with equal labels are combined.
    assert [(s.name, s.labels, s.value) for s in counter.samples] == [
        ("traitctl_trait_generated_total", {"model": 'App\\M\\"U"\nx', "trait": "HasUuid"}, 6.0),
        ("traitctl_trait_generated_total", {"trait": "HasSlug"}, 3.0)]
    assert found["q_depth"].type == "summary"
    assert {s.name: s.value for s in found["q_depth"].samples} == {"q_depth_count": 2, "q_depth_sum": 3}
    assert found["q_depth_2"].type == "gauge"  # "_count" is a summary's: dropped, then a kind clash
    gauge = found["traitctl_trait_generated_2"]  # a gauge is never named _total
    assert gauge.type == "gauge" and gauge.samples[0].value == 1.0 and gauge.samples[0].labels == {"trait": "HasUuid"}


@pytest.mark.parametrize("name, kind, family, scale", [
    ("trait.HasUuid.generated", "counter", "traitctl_trait_generated", 1.0),
    ("trait.Searchable.index_ms", "timing", "traitctl_trait_index_seconds", 1e-3),
    ("trait.Searchable.indexDurationMs", "timing", "traitctl_trait_index_duration_seconds", 1e-3),
    ("job.duration_ms", "timing", "job_duration_seconds", 1e-3),
    ("worker.rss_mb", "gauge", "worker_rss_bytes", 1024.0 ** 2),
    ("cpu:load_percent", "gauge", "cpu_load_ratio", 0.01),
    ("http_requests_total", "gauge", "http_requests", 1.0),
    ("queue.depth.gauge", "gauge", "queue_depth", 1.0),
    ("lat_s", "timing", "lat_seconds", 1.0),
])
def test_prometheus_names(name, kind, family, scale):
    found = tf.prometheus_name(name, kind)
    assert (found.family, found.scale) == (family, pytest.approx(scale))
    assert found.labels == ((("trait", name.split(".")[1]),) if name.startswith("trait.") else ())


def test_prometheus_units_are_converted_to_base_units():
    found = families(tf.prometheus_text([summary(1, "trait.Searchable.index_ms", "timing", {"trait": "Searchable"},
                                                 count=2, total=1500.0)]))
    samples = {s.name: s.value for s in found["traitctl_trait_index_seconds"].samples}
    assert samples == {"traitctl_trait_index_seconds_count": 2, "traitctl_trait_index_seconds_sum": 1.5}


def test_prometheus_export_of_nothing_is_empty():
    assert tf.prometheus_text([]) == ""


label_values = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20)


@given(st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True), label_values, max_size=4),
       st.floats(min_value=-1e12, max_value=1e12, allow_nan=False))
def test_prometheus_labels_and_values_round_trip(labels, value):
    text = tf.prometheus_text([summary(1, "m.x", "gauge", labels, last=value)])
    (family,) = text_string_to_metric_families(text)
    (sample,) = family.samples
    assert sample.labels == {tf.prometheus_label(k): v for k, v in labels.items()}
    assert set(sample.labels) - set(labels) <= {"lle", "lquantile"}
    assert sample.value == pytest.approx(value)


_ABSENT = object()
#: what decides a line's series, picked from few choices (mostly valid: repeated) so that
#: spellings repeat across lines
_SERIES = {
    "name": st.sampled_from(["a"] * 8 + ["trait.HasUuid.made"] * 8 + ["bad name", 1, _ABSENT]),
    "kind": st.sampled_from([_ABSENT] * 10 + ["counter", "gauge"] * 4 + ["set", 1, None]),
    "labels": st.sampled_from([_ABSENT, {}, [], 0] + [{"m": "1"}, {"m": 1}, {"m": 1.0}, {"m": "1", "k": "v"},
                              {"k": "v", "m": "1"}] * 4 + [{"m": True}, {"bad-key": "x"}, {"m": [1]},
                              {"m": "x" * 501}, [1]]),
    "model": st.sampled_from([_ABSENT] * 12 + ["M"] * 4 + [1, 1.0, True, None]),
    "trait": st.sampled_from([_ABSENT] * 12 + ["HasSlug"] * 4 + [None]),
    "host": st.sampled_from([_ABSENT] * 12 + ["h1", 2]),
}
#: what each line has of its own
_POINT = {
    "value": st.sampled_from([1, 2.5, -3] * 3 + [_ABSENT, True, "4", "x", None, 10 ** 300, 1.75e308, {}]),
    "ts": st.sampled_from([_ABSENT, 5, 5.5] * 3 + ["2026-01-01T00:00:00Z", "-1h", "bad", None, True, 1.75e308]),
    "time": st.sampled_from([_ABSENT] * 3 + [7, 7.5, None, False, "-1h"]),
}
_SPELLINGS = st.lists(st.fixed_dictionaries(_SERIES), min_size=1, max_size=4)
_RAW = st.sampled_from(["", "  ", "oops", "[1]", "1", '{"name": "a", "value": 1e999}'])


@st.composite
def _lines(draw) -> list[str]:
    spellings, lines = draw(_SPELLINGS), []
    for _ in range(draw(st.integers(0, 30))):
        if draw(st.integers(0, 9)) == 0:
            lines.append(draw(_RAW))
            continue
        obj = {**draw(st.sampled_from(spellings)), **draw(st.fixed_dictionaries(_POINT))}
        lines.append(json.dumps({k: v for k, v in obj.items() if v is not _ABSENT}))
    return lines


def _line_by_line(lines: list[str], kinds: dict) -> tuple[list, list, int]:
    parse, points, bad, skipped = tf.parser_for("jsonl", NOW), [], [], 0
    for number, line in enumerate(lines, 1):
        try:
            point = parse(line)
        except LineError as exc:
            bad.append((number, exc.message))
            continue
        if point is None:
            skipped += 1
        elif kinds.setdefault(point.name, point.kind) != point.kind:
            bad.append((number, f"metric {point.name} is a {kinds[point.name]}, not a {point.kind}"))
        else:
            points.append(point)
    return points, bad, skipped


@settings(max_examples=300)
@given(_lines(), st.integers(1, 7), st.sampled_from([{}, {"a": "gauge"}]))
def test_json_rows_decode_like_the_line_parser(lines, batch, stored_kinds):
    decoder = tf.JsonRows(NOW, dict(stored_kinds))
    rows, bad, skipped = [], [], 0
    for start in range(0, len(lines), batch):
        more, more_bad, more_skipped = decoder.decode(lines[start:start + batch], start + 1)
        rows, bad, skipped = rows + more, bad + more_bad, skipped + more_skipped
        if start % 2:  # ids given to the series seen so far, as the store gives them after a batch
            decoder.resolve([100 + i for i in range(len(decoder.series))])
    series = [decoder.series[rid - 100 if rid >= 100 else -rid - 1] for rid, _, _ in rows]
    points = [tf.Point(name, kind, value, ts, labels) for (name, kind, labels), (_, ts, value) in zip(series, rows)]
    assert (points, bad, skipped) == _line_by_line(lines, dict(stored_kinds))
    assert all(type(v) is float and type(t) is float for _, t, v in rows)


def test_json_rows_share_a_slot_per_series_whatever_the_label_order():
    decoder = tf.JsonRows(NOW, {})
    rows, bad, _ = decoder.decode(['{"name": "a", "value": 1, "labels": {"m": "1", "k": "v"}}',
                                   '{"name": "a", "value": 2, "labels": {"k": "v", "m": "1"}, "kind": "counter"}',
                                   '{"name": "a", "value": 3, "labels": {"m": 1, "k": "v"}}',
                                   '{"name": "a", "value": 4, "labels": {"m": 1.0, "k": "v"}}',
                                   '{"name": "b", "value": 5, "model": 1}', '{"name": "b", "value": 6, "model": true}',
                                   '{"name": "b", "value": 7, "model": 1.0}'])
    assert bad == [(6, "Label model must be text or a number, not True.")]
    assert [row_id for row_id, _, _ in rows] == [-1, -1, -1, -2, -3, -4]
    assert decoder.series[:2] == [("a", "counter", {"m": "1", "k": "v"}), ("a", "counter", {"m": "1.0", "k": "v"})]
    assert [labels for _, _, labels in decoder.series[2:]] == [{"model": "1"}, {"model": "1.0"}]


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", "1e400", "-1e400"])
def test_orjson_gives_finite_numbers_only(text):
    """JsonRows relies on it to skip check_value's finiteness check on its fast path."""
    with pytest.raises(tf.JsonRows(NOW, {}).parser.decode_error):
        tf.JsonRows(NOW, {}).parser.loads(f'{{"name": "a", "value": {text}}}')
