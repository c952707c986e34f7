"""``traitctl jobs`` without a worker: enqueue, list, show, cancel, retry, purge, schedule, stats and
bad input (exit 2, one sentence, nothing recorded)."""

from __future__ import annotations

import json

import pytest

from tests.jobs.conftest import append


def test_enqueue_prints_the_id_and_records_the_job(cli, jobs_project, queue_name):
    result = cli("jobs", "enqueue", "HasSlug", "audit", "--data", "batch=10", "--data", "mode=full", "--priority", "5")
    assert result.exit_code == 0, result
    job_id = int(result.stdout.strip())
    assert f"Queued HasSlug audit as job {job_id} on queue {queue_name}" in result.stderr
    shown = cli("jobs", "show", str(job_id), "--json")
    doc = json.loads(shown.stdout)
    assert (doc["trait"], doc["operation"], doc["state"], doc["data"], doc["priority"]) == (
        "HasSlug", "audit", "queued", {"batch": 10, "mode": "full"}, 5)
    stats = json.loads(cli("jobs", "stats", "--json").stdout)
    assert stats["states"]["queued"] == 1 and stats["queue"]["pending"] == 1 and stats["queue"]["backend"] == "sqlite"


def test_system_operation_and_list_filters(cli, jobs_project):
    assert cli("jobs", "enqueue", "noop").exit_code == 0
    assert cli("jobs", "enqueue", "--all", "audit").exit_code == 0
    assert cli("jobs", "enqueue", "hasslug", "cleanup").exit_code == 0  # trait names match case-insensitively
    listed = json.loads(cli("jobs", "list", "--json", "--trait", "HasSlug").stdout)["jobs"]
    assert [(j["trait"], j["operation"]) for j in listed] == [("HasSlug", "cleanup")]
    table = cli("jobs", "list")
    assert table.exit_code == 0 and "noop" in table.stdout and "cleanup" in table.stdout
    everything = json.loads(cli("jobs", "list", "--json", "--operation", "audit").stdout)["jobs"]
    assert [(j["trait"], j["operation"]) for j in everything] == [(None, "audit")]


@pytest.mark.parametrize("args,message", [
    (("HasSlg", "audit"), "Unknown trait 'HasSlg'. Did you mean 'HasSlug'?"),
    (("HasSlug", "audt"), "Unknown operation of HasSlug 'audt'. Did you mean 'audit'?"),
    (("flag-advance",), "Unknown system operation 'flag-advance'. Did you mean 'flags-advance'?"),
    (("noop", "--data", "batch"), "--data 'batch' is not KEY=VALUE"),
    (("noop", "--delay", "soon"), "--delay 'soon' is not a duration"),
    (("noop", "--at", "2001-01-01T00:00"), "is in the past"),
    (("noop", "--delay", "1m", "--at", "2099-01-01"), "Give --delay or --at, not both."),
    (("noop", "--tenant", "../etc"), "Invalid tenant id '../etc'"),
    (("noop", "--tenant", "acmee"), "Unknown tenant 'acmee'. Did you mean 'acme'?"),
    (("HasSlug", "cleanup", "--all"), "--all takes one operation, audit or cleanup"),
])
def test_bad_input_exits_2_and_records_nothing(cli, jobs_project, open_store, args, message):
    result = cli("jobs", "enqueue", *args)
    assert result.exit_code == 2, result
    assert message in result.stderr and "Traceback" not in result.stderr
    assert open_store().jobs.list() == []


def test_bad_operation_table_names_its_key(cli, jobs_project, config_file):
    append(config_file, '[traits.HasSlug.operations.rebuild]\ncommand = "php artisan slugs:rebuild"\n')
    result = cli("jobs", "enqueue", "HasSlug", "rebuild")
    assert result.exit_code == 2
    assert "traits -> HasSlug -> operations -> rebuild -> command: must be a non-empty list" in result.stderr


def test_cancel_then_retry(cli, jobs_project, open_store):
    job_id = cli("jobs", "enqueue", "noop").stdout.strip()
    cancelled = cli("jobs", "cancel", job_id, "--json")
    assert cancelled.exit_code == 0 and json.loads(cancelled.stdout)["state"] == "cancelled"
    again = cli("jobs", "cancel", job_id)
    assert again.exit_code == 2 and f"Job {job_id} is cancelled; it cannot become cancelled." in again.stderr
    retried = json.loads(cli("jobs", "retry", job_id, "--json").stdout)
    assert (retried["state"], retried["attempts"]) == ("queued", 0)
    assert cli("jobs", "retry", job_id).exit_code == 2  # a queued job cannot be retried
    events = open_store().events.list(kind="job.*")
    assert [e.kind for e in events] == ["job.retried", "job.cancelled", "job.enqueued"]
    assert events[1].actor == "tester" and events[1].data["job"] == int(job_id)
    shown = cli("jobs", "show", job_id).stdout
    assert [line.split()[2] for line in shown.split("timeline (UTC):\n")[1].splitlines()] == [
        "enqueued", "cancelled", "retried"]


def test_show_unknown_job(cli, jobs_project):
    result = cli("jobs", "show", "999")
    assert result.exit_code == 2 and "Unknown job '999'." in result.stderr


def test_purge_keeps_recent_and_unfinished(cli, jobs_project, open_store):
    import datetime as dt

    from traitctl.engine.jobs import Job

    store = open_store()
    old = dt.datetime(2020, 1, 1)
    for state in ("succeeded", "queued"):
        job = store.jobs.create(Job(id=0, trait=None, operation="noop", enqueued=old))
        if state == "succeeded":
            store.jobs.finish(store.jobs.claim(job.id, "w", old), "succeeded", old)
    recent = store.jobs.claim(store.jobs.create(Job(id=0, trait=None, operation="noop", enqueued=old)).id, "w", old)
    store.jobs.finish(recent, "failed", dt.datetime.now(dt.timezone.utc).replace(tzinfo=None))
    assert cli("jobs", "purge", "--older-than", "7d", "--yes").stdout.strip() == "1"
    assert sorted(j.state for j in store.jobs.list()) == ["failed", "queued"]
    assert cli("jobs", "purge", "--older-than", "a week").exit_code == 2


def test_schedule_lists_entries_with_next_run(cli, jobs_project, config_file):
    result = cli("jobs", "schedule", "--json")
    assert result.exit_code == 0, result
    doc = json.loads(result.stdout)
    by_name = {e["name"]: e for e in doc["schedule"]}
    assert by_name["cleanup"]["cron"] == "30 3 * * *" and by_name["cleanup"]["next_run"].endswith("03:30:00")
    assert by_name["flags-advance"]["operation"] == "flags-advance"
    append(config_file, '[schedule.broken]\ncron = "61 * * * *"\noperation = "noop"\n')
    bad = cli("jobs", "schedule")
    assert bad.exit_code == 2 and "cron '61 * * * *': minute '61' is outside 0-59" in bad.stderr


def test_delay_sets_the_run_time(cli, jobs_project):
    doc = json.loads(cli("jobs", "enqueue", "noop", "--delay", "10m", "--json").stdout)
    assert doc["eta"] is not None and doc["state"] == "queued"
    stats = json.loads(cli("jobs", "stats", "--json").stdout)["queue"]
    assert (stats["pending"], stats["scheduled"]) == (0, 1)


def test_help_of_every_subcommand(cli, jobs_project):
    for sub in ("enqueue", "list", "show", "retry", "cancel", "purge", "schedule", "stats"):
        assert cli("jobs", sub, "--help").exit_code == 0
    assert "--no-periodic" in cli("worker", "--help").stdout


def test_bad_names_for_list_and_worker(cli, jobs_project):
    listed = cli("jobs", "list", "--state", "done")
    assert listed.exit_code == 2 and "--state 'done' is not one of queued, running, succeeded" in listed.stderr
    worker = cli("worker", "--queue", "../elsewhere")
    assert worker.exit_code == 2 and "Invalid queue name '../elsewhere'" in worker.stderr
