"""A real ``traitctl worker`` process on the SQLite queue: runs, retries with back-off, timeouts that
kill the process group, cancel, delay, a missing program, graceful put-back, event subscribers,
heartbeats and the schedule tick."""

from __future__ import annotations

import json
import os
import signal
import sys

import psutil
import pytest

from tests.jobs.conftest import append, wait_for

PY = sys.executable


def operation(config_file, name: str, command: list[str], **settings) -> None:
    lines = [f"[traits.HasSlug.operations.{name}]", f"command = {json.dumps(command)}", 'cwd = "."']
    lines += [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
    append(config_file, "\n".join(lines))


def enqueue(cli, *args: str) -> int:
    result = cli("jobs", "enqueue", *args)
    assert result.exit_code == 0, result
    return int(result.stdout.strip())


@pytest.fixture
def job(open_store):
    """``job(id)``: the record as ``jobs show --json`` prints it, read in-process (polling through
    the CLI would cost a Python start-up per poll)."""
    from traitctl.commands.jobs import job_document

    store = open_store()
    return lambda job_id: json.loads(json.dumps(job_document(store.jobs.get(job_id))))


@pytest.fixture
def finished(job):
    def _finished(job_id: int):
        doc = job(job_id)
        return doc if doc["state"] in ("succeeded", "failed", "cancelled") else None

    return _finished


def ready(store):
    return any(b.state in ("idle", "busy") for b in store.workers.list())


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_runs_a_command_with_the_job_environment(cli, jobs_project, config_file, start_worker, open_store, finished):
    code = "import os; print(os.environ['TRAITCTL_TRAIT'], os.environ['TRAITCTL_DATA_BATCH'], os.getcwd())"
    operation(config_file, "echo", [PY, "-c", code])
    job_id = enqueue(cli, "HasSlug", "echo", "--data", "batch=7")
    worker = start_worker()
    doc = wait_for(lambda: finished(job_id))
    assert (doc["state"], doc["exit_code"], doc["attempts"]) == ("succeeded", 0, 1), doc
    assert doc["output"] == f"HasSlug 7 {jobs_project / 'config'}"
    kinds = [e.kind for e in open_store().events.list(kind="job.*")]
    assert kinds == ["job.enqueued"]  # the run is in the record's timeline
    assert [e["event"] for e in doc["timeline"]] == ["enqueued", "started", "succeeded"]
    assert doc["timeline"][1]["worker"] == doc["worker"]
    store = open_store()
    beats = wait_for(lambda: [b for b in store.workers.list() if b.jobs_done == 1])
    assert beats[0].pid == worker.proc.pid and beats[0].rss_mb > 0 and beats[0].peak_rss_mb >= beats[0].rss_mb
    assert worker.stop() == 0
    assert open_store().workers.get(beats[0].worker_id).state == "stopped"


def test_failure_is_retried_with_backoff_then_failed(cli, jobs_project, config_file, start_worker, open_store, finished):
    operation(config_file, "flaky", [PY, "-c", "import sys; print('oops'); sys.exit(3)"],
              retries=2, retry_delay=0.2, backoff=2)
    job_id = enqueue(cli, "HasSlug", "flaky")
    start_worker()
    doc = wait_for(lambda: finished(job_id))
    assert (doc["state"], doc["attempts"], doc["exit_code"], doc["output"]) == ("failed", 3, 3, "oops")
    assert "exited with status 3" in doc["error"]
    events = open_store().events.list(kind="job.*")
    delays = [e["delay"] for e in doc["timeline"] if e["event"] == "retrying"]
    assert delays == [0.2, 0.4]
    assert [e["event"] for e in doc["timeline"]] == ["enqueued", "started", "retrying", "started", "retrying",
                                                      "started", "failed"]
    assert [e.kind for e in events] == ["job.failed", "job.enqueued"]
    assert events[0].data["exit_code"] == 3


def test_timeout_kills_the_process_group(cli, jobs_project, config_file, start_worker, finished):
    code = ("import subprocess, sys, time; p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']);"
            "open('child.pid', 'w').write(str(p.pid)); time.sleep(60)")
    operation(config_file, "hang", [PY, "-c", code], timeout=1)
    job_id = enqueue(cli, "HasSlug", "hang")
    start_worker()
    doc = wait_for(lambda: finished(job_id))
    assert doc["state"] == "failed" and "timed out after 1s; its process group was killed" in doc["error"]
    child = int((jobs_project / "config" / "child.pid").read_text())
    wait_for(lambda: gone(child), timeout=10)


def test_missing_program_fails_clearly_and_the_worker_goes_on(cli, jobs_project, config_file, start_worker, finished, job):
    operation(config_file, "missing", ["no-such-program-traitctl"])
    bad = enqueue(cli, "HasSlug", "missing")
    good = enqueue(cli, "noop")
    worker = start_worker()
    assert wait_for(lambda: finished(good))["state"] == "succeeded"
    doc = job(bad)
    assert doc["state"] == "failed" and "command 'no-such-program-traitctl' not found" in doc["error"]
    assert worker.proc.poll() is None


def test_cancel_stops_a_running_command(cli, jobs_project, config_file, start_worker, open_store, finished, job):
    code = "import os, time; open('started', 'w').write(str(os.getpid())); time.sleep(60)"
    operation(config_file, "slow", [PY, "-c", code])
    job_id = enqueue(cli, "HasSlug", "slow")
    start_worker()
    marker = jobs_project / "config" / "started"
    wait_for(marker.exists)
    assert cli("jobs", "cancel", str(job_id)).exit_code == 0
    wait_for(lambda: gone(int(marker.read_text())), timeout=15)
    assert job(job_id)["state"] == "cancelled"
    after = enqueue(cli, "noop")
    assert wait_for(lambda: finished(after))["state"] == "succeeded"


def test_delayed_job_waits_for_its_time(cli, jobs_project, start_worker, finished):
    job_id = enqueue(cli, "noop", "--delay", "1s")
    start_worker()
    doc = wait_for(lambda: finished(job_id))
    assert doc["state"] == "succeeded" and doc["started"] >= doc["eta"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_shutdown_signal_puts_the_running_job_back(sig, cli, jobs_project, config_file, start_worker, open_store, finished, job):
    code = "import os, time; open('started', 'a').write('x'); time.sleep(60 if os.environ['TRAITCTL_ATTEMPT'] == '1' else 0)"
    operation(config_file, "long", [PY, "-c", code])
    job_id = enqueue(cli, "HasSlug", "long")
    worker = start_worker()
    wait_for((jobs_project / "config" / "started").exists)
    worker.signal(sig)
    assert worker.proc.wait(timeout=30) == 0, worker.output()
    doc = job(job_id)
    assert (doc["state"], doc["attempts"], doc["error"]) == ("queued", 1, "worker shutting down")
    assert doc["timeline"][-1]["event"] == "requeued" and doc["timeline"][-1]["reason"] == "worker shutting down"
    start_worker()
    doc = wait_for(lambda: finished(job_id))
    assert (doc["state"], doc["attempts"]) == ("succeeded", 2)


def test_event_subscribers_receive_events(cli, jobs_project, config_file, start_worker, open_store):
    sink = "import sys; open('events.jsonl', 'a').write(sys.stdin.read().strip() + chr(10))"
    append(config_file, f'[[events.subscribers]]\nname = "sink"\non = ["config.*", "job.failed"]\n'
                        f'command = {json.dumps([PY, "-c", sink])}\nretry_delay = 0.2\n')
    operation(config_file, "boom", [PY, "-c", "raise SystemExit(1)"])
    start_worker()
    wait_for(lambda: ready(open_store()))
    assert cli("config", "set", "ttl", "120", "--trait", "Cacheable").exit_code == 0
    enqueue(cli, "HasSlug", "boom")
    out = jobs_project / "config" / "events.jsonl"
    lines = wait_for(lambda: out.exists() and len(out.read_text().splitlines()) >= 2 and out.read_text().splitlines())
    received = [json.loads(line) for line in lines]
    assert sorted(e["kind"] for e in received) == ["config.set", "job.failed"]
    config_event = next(e for e in received if e["kind"] == "config.set")
    assert config_event["after"] == "120" and config_event["path"] == ["traits", "Cacheable", "ttl"]
    deliveries = open_store().jobs.list(operation="deliver")
    assert len(deliveries) == 2 and all(d.key.startswith("deliver:") for d in deliveries)


def test_schedule_tick_creates_each_run_once(jobs_project, config_file, open_store):
    """Two workers ticking the same minute create one job per due entry (the tick is called directly:
    waiting for a real minute would make the suite slow)."""
    import datetime as dt

    from traitctl.context import GlobalOptions
    from traitctl.jobs.worker import Runtime

    append(config_file, '[schedule.hourly-audit]\ncron = "0 * * * *"\noperation = "audit"\ntrait = "HasSlug"\n')
    options = GlobalOptions(config=str(config_file))
    first, second = (Runtime(options, os.environ, jobs_project) for _ in range(2))
    minute = dt.datetime(2026, 5, 1, 4, 0, 0)
    made = first.tick(minute)
    assert sorted(j.operation for j in made) == ["audit", "flags-advance", "record-trends"]
    assert second.tick(minute + dt.timedelta(seconds=30)) == []
    assert [j.operation for j in first.tick(minute + dt.timedelta(minutes=1))] == ["flags-advance", "record-trends"]
    first.store.close()
    second.store.close()
