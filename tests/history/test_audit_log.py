"""The audit log: what ``traitctl history`` lists by default and with filters, job events kept to
what an operator audits, retention by the daily cleanup, purge (itself recorded) and the stable
export (JSON lines and CSV, secrets hidden). Real SQLite stores; the CLI in real subprocesses."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os

import pytest

from tests.jobs.conftest import append

LONG_AGO = dt.datetime(2020, 1, 1)


@pytest.fixture
def store(project):
    from traitctl.store.db import Store

    opened = Store.open(f"sqlite:///{project / 'config' / '.traitctl' / 'traitctl.db'}")
    yield opened
    opened.close()


def _record(store, kind, path=(), *, actor="ana", ts=None, model=None, data=None, command="traitctl x"):
    return store.events.record(kind=kind, actor=actor, command=command, file="traits.toml", path=path,
                               before="1", after="2", model=model, data=data, ts=ts)


def _listed(cli, *args) -> list[dict]:
    result = cli("history", *args, "--json")
    assert result.exit_code == 0, result
    return json.loads(result.stdout)["events"]


def test_default_listing_hides_job_events_and_filters_narrow_it(cli, store):
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    old = _record(store, "config.set", ("traits", "HasUuid", "version"), actor="bob", ts=now - dt.timedelta(days=3))
    flag = _record(store, "flag.set", ("flags", "beta_search", "percentage"), ts=now - dt.timedelta(hours=2))
    model = _record(store, "config.set", ("models", "App\\Models\\Post", "HasSlug", "max_length"),
                    model="App\\Models\\Post", ts=now - dt.timedelta(minutes=5))
    job = store.events.record(kind="job.failed", actor="worker", command="traitctl worker", data={"job": 7})
    assert [e["id"] for e in _listed(cli)] == [model.id, flag.id, old.id]
    assert [e["id"] for e in _listed(cli, "--all")] == [job.id, model.id, flag.id, old.id]
    assert [e["id"] for e in _listed(cli, "-k", "job.*")] == [job.id]
    assert [e["id"] for e in _listed(cli, "--kind", "flag.*", "--kind", "job.failed")] == [job.id, flag.id]
    assert [e["id"] for e in _listed(cli, "--actor", "bob")] == [old.id]
    assert [e["id"] for e in _listed(cli, "--model", "Post")] == [model.id]
    assert [e["id"] for e in _listed(cli, "--key", "flags.beta*")] == [flag.id]
    assert [e["id"] for e in _listed(cli, "--key", "version")] == [old.id]  # a path's tail matches too
    assert [e["id"] for e in _listed(cli, "--since", "1d")] == [model.id, flag.id]
    assert [e["id"] for e in _listed(cli, "--until", "1h", "--since", "7d")] == [flag.id, old.id]
    assert [e["id"] for e in _listed(cli, "-l", "1")] == [model.id]
    table = cli("history", "--all").stdout
    assert "job 7" in table and "job.failed" in table
    bad = cli("history", "--until", "7d", "--since", "1d")
    assert bad.exit_code == 2 and "--until 7d is not after --since 1d" in bad.stderr


def test_jobs_path_records_only_what_an_operator_audits(cli, project, store):
    """``jobs enqueue`` (a person) is one event; a system enqueue none; ``jobs purge`` one event;
    ``jobs show`` still has the whole timeline from the record."""
    from traitctl.engine.jobs import builtin_operation
    from traitctl.jobs.service import Jobs

    job_id = cli("jobs", "enqueue", "noop").stdout.strip()
    system = Jobs(store, f"sqlite:///{project / 'config' / '.traitctl' / 'queue.db'}", actor="worker",
                  command="traitctl worker")
    running = system.claim(system.enqueue(builtin_operation("noop")).id, "w9")
    assert system.fail(running, "boom", exit_code=3) == "failed"
    assert cli("jobs", "cancel", job_id).exit_code == 0
    kinds = [(e["kind"], e["data"]["job"]) for e in _listed(cli, "--kind", "job.*")]
    assert kinds == [("job.cancelled", int(job_id)), ("job.failed", running.id), ("job.enqueued", int(job_id))]
    shown = json.loads(cli("jobs", "show", str(running.id), "--json").stdout)
    assert [(e["event"], e.get("attempt"), e.get("worker")) for e in shown["timeline"]] == [
        ("enqueued", None, None), ("started", 1, "w9"), ("failed", 1, "w9")]
    assert shown["timeline"][-1]["error"] == "boom" and shown["timeline"][-1]["exit_code"] == 3
    purged = cli("jobs", "purge", "--older-than", "0s", "--yes", "--json")
    assert purged.exit_code == 0 and json.loads(purged.stdout)["deleted"] == 2
    events = _listed(cli, "--kind", "job.purged")
    assert len(events) == 1 and events[0]["data"]["deleted"] == 2 and events[0]["actor"] == "tester"


def test_cleanup_applies_history_retention_to_job_events_only(project, config_file, store):
    from traitctl.context import GlobalOptions
    from traitctl.engine.jobs import builtin_operation
    from traitctl.jobs.worker import Runtime

    append(config_file, "[history]\nretention_days = 3")
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    old_config = _record(store, "config.set", ("traits", "A", "x"), ts=LONG_AGO)
    old_job = store.events.record(kind="job.failed", actor="w", command="c", data={"job": 1}, ts=now - dt.timedelta(days=4))
    young_job = store.events.record(kind="job.failed", actor="w", command="c", data={"job": 2},
                                    ts=now - dt.timedelta(days=2))
    runtime = Runtime(GlobalOptions(config=str(config_file)), os.environ, project)
    try:
        job = runtime.jobs().enqueue(builtin_operation("cleanup"))
        runtime.run_job(job.id)
        done = runtime.store.jobs.get(job.id)
    finally:
        runtime.store.close()
    assert done.state == "succeeded", done.error
    assert done.result["history"] == 1
    assert store.events.get(old_job.id) is None
    assert store.events.get(young_job.id) is not None and store.events.get(old_config.id) is not None


@pytest.mark.parametrize("value", ["0", "1.5", '"14"', "true"])
def test_bad_retention_days_is_named(cli, config_file, value):
    append(config_file, f"[history]\nretention_days = {value}")
    validated = cli("config", "validate")
    assert validated.exit_code == 1  # validate's "problems found"
    assert "history -> retention_days: must be a whole number of days" in validated.stdout
    for args in (("history",), ("history", "export"), ("history", "purge", "--older-than", "1d", "--dry-run")):
        result = cli(*args)
        assert result.exit_code == 2, (args, result)
        assert f"history -> retention_days: must be a whole number of days from 1 to 36500, not {value}" in \
            result.stderr


def test_bad_retention_days_fails_the_cleanup_naming_the_key(project, config_file):
    from traitctl.context import App, GlobalOptions
    from traitctl.engine.errors import InputError
    from traitctl.history_service import apply_retention
    from traitctl.output import Output

    append(config_file, "[history]\nretention_days = 0")
    app = App(options=GlobalOptions(config=str(config_file)), env=os.environ, cwd=project, out=Output(quiet=2))
    with pytest.raises(InputError, match=r"history -> retention_days: .* not 0"):
        apply_retention(app, dt.datetime.now())


def test_purge_needs_yes_off_a_terminal_and_is_recorded(cli, store):
    first = _record(store, "config.set", ("traits", "A", "x"), ts=LONG_AGO)
    recent = _record(store, "config.set", ("traits", "A", "y"))
    dry = cli("history", "purge", "--older-than", "90d", "--dry-run", "--json")
    assert dry.exit_code == 0 and json.loads(dry.stdout)["would_delete"] == 1
    assert store.events.get(first.id) is not None
    refused = cli("history", "purge", "--older-than", "90d")
    assert refused.exit_code == 2 and "--yes" in refused.stderr and store.events.get(first.id) is not None
    done = cli("history", "purge", "--older-than", "90d", "--yes", "--json")
    assert done.exit_code == 0, done
    doc = json.loads(done.stdout)
    assert doc["deleted"] == 1 and doc["kinds"] == {"config.set": 1}
    assert store.events.get(first.id) is None and store.events.get(recent.id) is not None
    purged = store.events.get(doc["event"])
    assert purged.kind == "history.purged" and purged.data["deleted"] == 1 and purged.id > recent.id
    assert [e["id"] for e in _listed(cli)] == [purged.id, recent.id]  # shown by default: it is an operator's act


def test_export_round_trips_with_the_secret_hidden(cli, project, store):
    from traitctl.engine.history import EXPORT_COLUMNS

    secret = "s3cr3t-pw"
    command = f"traitctl --store postgresql://ana:{secret}@db/prod config set ttl 120 --trait Cacheable"
    config = store.events.record(kind="config.set", actor="ana", command=command, file="traits.toml",
                                 path=("traits", "Cacheable", "ttl"), before="3600", after="120",
                                 trait="Cacheable", data={"changes": [
                                     {"file": "traits.toml", "path": ["traits", "Cacheable", "ttl"], "before": "3600",
                                      "after": "120"},
                                     {"file": "traits.toml", "path": ["traits", "Cacheable", "driver"],
                                      "before": None, "after": '"redis"'}]})
    removed = store.events.record(kind="config.unset", actor="bob", command="traitctl config unset x",
                                  path=("traits", "A", "x"), before='"a,b \\"quoted\\""', after=None)
    job = store.events.record(kind="job.failed", actor="w", command="traitctl worker", data={"job": 5})
    jsonl = cli("history", "export", "--format", "jsonl")
    assert jsonl.exit_code == 0, jsonl
    rows = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert [r["id"] for r in rows] == [config.id, removed.id, job.id]  # oldest first, job events included
    assert all(list(r) == list(EXPORT_COLUMNS) for r in rows)
    first = rows[0]
    assert secret not in jsonl.stdout and "postgresql://ana:***@db/prod" in first["command"]
    assert first["keys"] == "traits.Cacheable.ttl; traits.Cacheable.driver"
    assert (first["actor"], first["kind"], first["before"], first["after"]) == ("ana", "config.set", "3600", "120")
    assert dt.datetime.fromisoformat(first["time"].replace("Z", "+00:00")).replace(tzinfo=None) == config.ts
    assert rows[1]["after"] is None and rows[2]["job"] == 5
    out = project / "audit.csv"
    written = cli("history", "export", "-f", "csv", "-o", str(out), "--since", "1d")
    assert written.exit_code == 0, written
    text = out.read_text()
    assert secret not in text
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert list(parsed[0]) == list(EXPORT_COLUMNS)
    assert [{k: v for k, v in r.items()} for r in parsed] == [
        {k: "" if v is None else str(v) for k, v in r.items()} for r in rows]
    bad = cli("history", "export", "--format", "xml")
    assert bad.exit_code == 2 and "--format 'xml' is not one of jsonl, csv." in bad.stderr
