"""``traitctl metrics`` through a real subprocess on the bundled example's copy."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from traitctl.engine.workers import WorkerBeat
from traitctl.store.db import Store


def store_of(project: Path) -> Store:
    return Store.open(f"sqlite:///{project / 'config' / '.traitctl' / 'traitctl.db'}")


def ingest(cli, text: str, *args: str):
    return cli("metrics", "ingest", "-", *args, input=text)


def jsonl(*points: dict) -> str:
    return "".join(json.dumps(p) + "\n" for p in points)


def test_record_then_dashboard_table_json_and_csv(cli):
    assert cli("metrics", "record", "trait.HasUuid.generated", "3", "--label", "model=App\\Models\\User").exit_code == 0
    assert cli("metrics", "record", "trait.HasUuid.generated", "2").exit_code == 0
    assert cli("metrics", "record", "trait.Cacheable.lookup_ms", "10", "--kind", "timing").exit_code == 0
    assert cli("metrics", "record", "trait.Cacheable.lookup_ms", "20", "-k", "timing", "--at", "-2h").exit_code == 0
    table = cli("metrics", "--since", "1h")
    assert table.exit_code == 0
    assert "Trait metrics, last 1h" in table.stdout and "generated" in table.stdout
    row = next(line for line in table.stdout.splitlines() if "HasUuid" in line)
    assert row.split("│")[2].strip() == "5"  # counter: total of both label sets
    data = json.loads(cli("metrics", "--since", "3h", "--json").stdout)
    assert data["traits"]["Cacheable"]["lookup_ms"]["value"] == 15.0  # timing: mean
    assert data["traits"]["HasUuid"]["generated"]["count"] == 2
    csv = cli("metrics", "--format", "csv", "--trait", "HasUuid")
    assert csv.stdout.splitlines() == ["trait,metric,kind,value,count", "HasUuid,generated,counter,5.0,2"]


def test_bad_record_input_exits_2_with_one_sentence(cli):
    cases = [(("x", "abc"), "Metric value 'abc' is not a number."),
             (("x", "1", "--kind", "set"), "Unknown metric kind 'set'"),
             (("x", "1", "--label", "model"), "Malformed label 'model': write NAME=VALUE."),
             (("x", "1", "--at", "yesterday"), "Timestamp 'yesterday' does not parse"),
             (("bad name", "1"), "Invalid metric name 'bad name'")]
    for args, message in cases:
        result = cli("metrics", "record", *args)
        assert result.exit_code == 2, result
        assert message in result.stderr and "Traceback" not in result.stderr


def test_ingest_reports_bad_lines_and_strict_stores_nothing(cli, project):
    text = jsonl({"name": "trait.HasSlug.made", "value": 1}) + "not json\n" + \
        jsonl({"name": "trait.HasSlug.made", "value": "x"}, {"name": "trait.HasSlug.made", "value": 4})
    strict = ingest(cli, text, "--strict")
    assert strict.exit_code == 2
    assert "Nothing stored (--strict): 2 bad lines (line 2: not JSON" in strict.stderr
    store = store_of(project)
    assert store.metrics.count_points() == 0
    result = ingest(cli, text, "--json")
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["stored"] == 2 and report["bad"] == 2
    assert [b["line"] for b in report["bad_lines"]] == [2, 3]
    assert "2 bad lines" in result.stderr
    assert store.metrics.count_points() == 2
    store.close()


def test_ingest_statsd_and_laravel_log_files(cli, project, tmp_path):
    log = tmp_path / "laravel.log"
    log.write_text("[2026-11-21 10:00:00] production.INFO: Telemetry: trait.HasUuid.generated = 15 (total: 115)\n"
                   "[2026-11-21 10:00:01] production.INFO: [TraitJob] Starting audit operation "
                   '{"trait":"HasUserTracking","model":"App\\\\Models\\\\User","operation":"audit"} []\n'
                   "[2026-11-21 10:00:02] production.ERROR: unrelated\n")
    result = cli("metrics", "ingest", str(log), "--format", "laravel-log")
    assert result.exit_code == 0 and "Stored 2 point(s)" in result.stderr and "1 line(s) without a metric" in result.stderr
    assert ingest(cli, "q.depth:12|g\nx:1|s\n", "--format", "statsd").exit_code == 0
    store = store_of(project)
    assert store.metrics.names() == ["q.depth", "trait.HasUserTracking.job_started", "trait.HasUuid.generated"]
    store.close()
    missing = cli("metrics", "ingest", "nope.jsonl")
    assert missing.exit_code == 2 and "Cannot read nope.jsonl" in missing.stderr
    assert cli("metrics", "ingest", "-", "--format", "xml", input="").exit_code == 2


def on_a_terminal(project: Path, *args: str) -> str:
    """Run traitctl with stdout on a pseudo-terminal; return what it printed there."""
    master, slave = os.openpty()
    with os.fdopen(master, "rb", buffering=0) as reader:
        proc = subprocess.Popen([sys.executable, "-m", "traitctl", *args], cwd=project, stdout=slave,
                                stderr=subprocess.DEVNULL)
        os.close(slave)
        chunks = []
        while True:
            try:
                chunk = reader.read(65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert proc.wait(timeout=60) == 0
    return b"".join(chunks).decode("utf-8", "replace")


def test_show_and_trends(cli, project):
    now = time.time()
    minute = now - now % 60
    points = [{"name": "queue.depth", "kind": "gauge", "value": 10 + 2 * k, "ts": minute - (9 - k) * 60 + 1,
               "labels": {"queue": "a" if k % 2 else "b"}} for k in range(10)]
    assert ingest(cli, jsonl(*points)).exit_code == 0
    shown = cli("metrics", "show", "queue.depth", "--since", "10m", "--by", "queue", "--json")
    series = json.loads(shown.stdout)["series"]
    assert sorted(series) == ["a", "b"] and [p["value"] for p in series["a"] if p["value"] is not None][-1] == 28
    table = cli("metrics", "show", "queue.depth", "--since", "10m", "--limit", "3")
    assert table.exit_code == 0 and "3 of 10 intervals shown" in table.stdout
    assert "┤" not in table.stdout  # no chart when stdout is not a terminal
    assert "┤" in on_a_terminal(project, "metrics", "show", "queue.depth", "--since", "10m")
    trend = json.loads(cli("metrics", "trends", "queue.depth", "--period", "11m", "--json").stdout)  # 10m + slack: a minute may pass
    assert trend["data_points"] == 10 and trend["trend"]["direction"] == "increasing"
    assert trend["trend"]["slope"] == pytest.approx(2 / 60) and trend["trend"]["confidence"] == pytest.approx(1.0)
    assert trend["forecast"]["next_value"] == pytest.approx(30.0)
    few = cli("metrics", "trends", "queue.depth", "--period", "2m")
    assert few.exit_code == 2 and "at least 3 needed" in few.stderr
    assert ingest(cli, jsonl({"name": "old.count", "value": 1, "ts": now - 7200})).exit_code == 0
    none = cli("metrics", "trends", "old.count", "--period", "1h")
    assert none.exit_code == 2 and "No points of old.count in the last 1h" in none.stderr
    unknown = cli("metrics", "trends", "queue.dept")
    assert unknown.exit_code == 2 and "Unknown metric 'queue.dept'. Did you mean 'queue.depth'?" in unknown.stderr


def test_prometheus_export_parses_and_has_no_duplicates(cli):
    text = jsonl({"name": "trait.HasUuid.generated", "value": 2, "labels": {"model": 'App\\Models\\"Quoted"'}},
                 {"name": "trait.HasUuid.generated", "value": 3, "labels": {"model": 'App\\Models\\"Quoted"'}},
                 {"name": "trait.HasUuid.Generated", "value": 1, "labels": {"model": 'App\\Models\\"Quoted"'}},
                 # maps to the same family and labels: one series
                 {"name": "trait.Searchable.index_ms", "value": 12.5, "kind": "timing"},
                 {"name": "queue.depth", "value": 7, "kind": "gauge"})
    assert ingest(cli, text).exit_code == 0
    result = cli("metrics", "export", "--format", "prometheus")
    assert result.exit_code == 0 and result.stdout.endswith("\n")
    lines = result.stdout.splitlines()
    types = [line.split()[2] for line in lines if line.startswith("# TYPE")]
    assert len(types) == len(set(types))
    samples = [line.rsplit(" ", 1)[0] for line in lines if not line.startswith("#")]
    assert len(samples) == len(set(samples))
    families = {f.name: f for f in text_string_to_metric_families(result.stdout)}
    assert families["traitctl_trait_generated"].type == "counter"
    (sample,) = families["traitctl_trait_generated"].samples
    assert sample.name == "traitctl_trait_generated_total" and sample.value == 6
    assert sample.labels == {"model": 'App\\Models\\"Quoted"', "trait": "HasUuid"}
    assert families["traitctl_trait_index_seconds"].type == "summary"
    assert {s.name: s.value for s in families["traitctl_trait_index_seconds"].samples}[
        "traitctl_trait_index_seconds_sum"] == 0.0125
    assert families["queue_depth"].samples[0].value == 7
    csv = cli("metrics", "export", "--format", "csv").stdout.splitlines()
    assert csv[0].startswith("name,kind,labels,count") and len(csv) == 5


def _promtool() -> str:
    import shutil

    path = shutil.which("promtool")
    if path is None:
        message = "promtool is not installed (Debian: apt-get install prometheus)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def test_prometheus_export_passes_promtool_lint(cli):
    text = jsonl({"name": "trait.HasUuid.generated", "value": 2, "labels": {"model": "App\\Models\\User"}},
                 {"name": "trait.HasSlug.generated", "value": 1, "tenant": "acme"},
                 {"name": "trait.HasSlug.generated_total", "value": 4, "kind": "gauge"},
                 {"name": "trait.Searchable.indexDurationMs", "value": 12.5, "kind": "timing"},
                 {"name": "trait.Cacheable.hit_ratio", "value": 0.93, "kind": "gauge"},
                 {"name": "worker.rss_mb", "value": 80, "kind": "gauge", "labels": {"le": "x", "hostName": "h"}},
                 {"name": "http_requests_total", "value": 1027, "kind": "gauge"},
                 {"name": "cpu:load_percent", "value": 50, "kind": "gauge"},
                 {"name": "q.depth_count", "value": 5, "kind": "gauge"},
                 {"name": "q.depth.gauge", "value": 5, "kind": "timing"})
    assert ingest(cli, text).exit_code == 0
    result = cli("metrics", "export", "--format", "prometheus")
    assert result.exit_code == 0
    lint = subprocess.run([_promtool(), "check", "metrics"], input=result.stdout, capture_output=True, text=True)
    assert (lint.returncode, lint.stdout + lint.stderr) == (0, ""), result.stdout
    families = {f.name: f for f in text_string_to_metric_families(result.stdout)}
    assert {s.labels["trait"]: s.value for s in families["traitctl_trait_generated"].samples} == {
        "HasUuid": 2, "HasSlug": 1}
    assert all(not name.endswith("_total") for name, f in families.items() if f.type == "gauge")
    assert families["worker_rss_bytes"].samples[0].value == 80 * 1024 ** 2
    assert families["worker_rss_bytes"].samples[0].labels == {"host_name": "h", "lle": "x"}
    for family in families.values():
        assert family.documentation and family.type in ("counter", "gauge", "summary")


def test_reset_needs_yes_and_is_recorded_in_history(cli, project):
    assert ingest(cli, jsonl({"name": "trait.HasSlug.made", "value": 1}, {"name": "trait.HasUuid.generated", "value": 1})).exit_code == 0
    refused = cli("metrics", "reset", "--trait", "HasSlug")
    assert refused.exit_code == 2 and "Pass --yes" in refused.stderr
    done = cli("metrics", "reset", "--trait", "HasSlug", "--yes")
    assert done.exit_code == 0 and "Deleted 1 series of trait HasSlug (1 points)" in done.stderr
    store = store_of(project)
    assert store.metrics.names() == ["trait.HasUuid.generated"]
    (event,) = store.events.list(kind="metrics.reset")
    assert (event.actor, event.trait, event.data) == ("tester", "HasSlug", {"series": 1, "points": 1})
    store.close()


def test_workers_view_reads_heartbeats(cli, project):
    store = store_of(project)
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    store.workers.beat(WorkerBeat("host:1:a", "host", 1, "busy", "default", now, now, jobs_done=7, rss_mb=51.5,
                                  peak_rss_mb=60.0, cpu_percent=12.5))
    store.workers.beat(WorkerBeat("host:2:b", "host", 2, "idle", "default", now, now - dt.timedelta(minutes=5)))
    store.close()
    data = json.loads(cli("metrics", "workers", "--json").stdout)["workers"]
    assert [(w["worker_id"], w["alive"], w["jobs_done"]) for w in data] == [("host:1:a", True, 7), ("host:2:b", False, 0)]
    table = cli("metrics", "workers").stdout
    assert "51.5" in table and "idle (lost)" in table


def test_server_view_json_and_configured_thresholds(cli, config_file):
    default = "cpu_percent = { warning = 70, critical = 90 }"
    assert default in config_file.read_text()  # the bundled [telemetry.server] table
    config_file.write_text(config_file.read_text().replace(default, "cpu_percent = { warning = -1, critical = -0.5 }"))
    result = cli("metrics", "server", "--json", "--strict")
    assert result.exit_code == 1  # any CPU reading is above a negative critical level
    data = json.loads(result.stdout)
    cpu = next(c for c in data["checks"] if c["name"] == "cpu_percent")
    assert (cpu["warning"], cpu["critical"], cpu["status"]) == (-1.0, -0.5, "critical")
    assert data["status"] == "critical" and data["disks"] and data["memory"]["total"] > 0
    config_file.write_text(config_file.read_text().replace("cpu_percent = {", "gpu = { warning = 1 }\ncpu_percent = {"))
    bad = cli("metrics", "server")
    assert bad.exit_code == 2 and "telemetry -> server -> gpu: unknown check" in bad.stderr


def test_queues_view(cli):
    data = json.loads(cli("metrics", "queues", "--json", "--intervals", "2").stdout)
    assert [(q["name"], q["backend"], q["pending"]) for q in data["queues"]] == [("default", "sqlite", 0)]
    assert len(data["throughput"]["intervals"]) == 2
    assert data["throughput"]["intervals"][0]["succeeded"] == 0


def _strict_json(text: str):
    def refuse(constant):
        raise AssertionError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def test_overflowing_sums_are_stored_clamped_and_every_output_stays_valid(cli):
    lines = jsonl({"name": "trait.HasUuid.generated", "value": 1e308, "ts": "-1m"},
                  {"name": "trait.HasUuid.generated", "value": 1e308, "ts": "-1m"}) + \
        '{"name": "trait.HasUuid.generated", "value": 1e999}\n' + jsonl({"name": "q.depth", "value": 2, "kind": "gauge"})
    result = ingest(cli, lines, "--json")
    assert result.exit_code == 0, result
    doc = _strict_json(result.stdout)
    assert (doc["stored"], doc["bad"]) == (3, 1) and doc["bad_lines"][0]["line"] == 3  # one value refused, the rest kept
    statsd = ingest(cli, "x.y:inf|g\nx.y:1|g\n", "--format", "statsd", "--json")
    assert _strict_json(statsd.stdout)["bad_lines"][0]["line"] == 1
    exported = _strict_json(cli("metrics", "export", "--format", "json").stdout)
    (series,) = [s for s in exported["series"] if s["name"] == "trait.HasUuid.generated"]
    assert (series["count"], series["sum"], series["overflow"]) == (2, 1.7976931348623157e308, True)
    assert not next(s for s in exported["series"] if s["name"] == "q.depth")["overflow"]
    dashboard = _strict_json(cli("metrics", "--json").stdout)
    assert dashboard["traits"]["HasUuid"]["generated"]["overflow"] is True
    assert "1.798e+308 (overflow)" in cli("metrics").stdout
    csv = cli("metrics", "export", "--format", "csv")
    assert csv.exit_code == 0 and "1.7976931348623157e+308" in csv.stdout
    prom = cli("metrics", "export", "--format", "prometheus")
    (family,) = [f for f in text_string_to_metric_families(prom.stdout) if f.name == "traitctl_trait_generated"]
    assert family.samples[0].value == 1.7976931348623157e308
    shown = cli("metrics", "show", "trait.HasUuid.generated", "--json")
    assert shown.exit_code == 0 and _strict_json(shown.stdout)
    assert cli("health", "--only", "telemetry").exit_code == 0
