"""The same worker on a real Redis queue (PriorityRedisHuey): a run with output, retries with back-off,
delay, priorities, queue stats; each test uses its own queue name and removes its keys."""

from __future__ import annotations

import json
import sys

import pytest

from tests.jobs.conftest import append, wait_for

PY = sys.executable


@pytest.fixture
def redis_queue(redis_url, queue_name):
    from traitctl.jobs.queue import delete_queue

    yield redis_url
    delete_queue(redis_url, queue_name)
    import redis

    client = redis.Redis.from_url(redis_url)
    assert not [k for k in client.scan_iter(match=f"huey.*traitctl_{queue_name}*")]


def _show(cli, root, job_id):
    doc = json.loads(cli(*root, "jobs", "show", str(job_id), "--json").stdout)
    return doc if doc["state"] in ("succeeded", "failed", "cancelled") else None


def test_redis_run_retry_and_delay(cli, jobs_project, config_file, start_worker, redis_queue, queue_name):
    root = ("--queue", redis_queue)
    echo = [PY, "-c", "import os; print(os.environ['TRAITCTL_JOB_ID'])"]
    append(config_file, '[traits.HasSlug.operations.echo]\ncwd = "."\n'
                        f'command = {json.dumps(echo)}\n'
                        '[traits.HasSlug.operations.flaky]\ncwd = "."\nretries = 1\nretry_delay = 0.2\n'
                        f'command = {json.dumps([PY, "-c", "raise SystemExit(4)"])}\n')
    ok = int(cli(*root, "jobs", "enqueue", "HasSlug", "echo").stdout)
    bad = int(cli(*root, "jobs", "enqueue", "HasSlug", "flaky").stdout)
    later = int(cli(*root, "jobs", "enqueue", "noop", "--delay", "1s").stdout)
    stats = json.loads(cli(*root, "jobs", "stats", "--json").stdout)["queue"]
    assert (stats["backend"], stats["pending"], stats["scheduled"], stats["name"]) == ("redis", 2, 1, queue_name)
    assert stats["oldest_pending_age_s"] >= 0
    worker = start_worker(root=root)
    done = wait_for(lambda: _show(cli, root, ok))
    assert (done["state"], done["output"]) == ("succeeded", str(ok))
    failed = wait_for(lambda: _show(cli, root, bad))
    assert (failed["state"], failed["attempts"], failed["exit_code"]) == ("failed", 2, 4)
    delayed = wait_for(lambda: _show(cli, root, later))
    assert delayed["state"] == "succeeded" and delayed["started"] >= delayed["eta"]
    assert worker.stop() == 0


def test_redis_priorities_order_the_queue(cli, jobs_project, redis_queue, queue_name):
    from traitctl.jobs.queue import message_job_ids, open_queue

    root = ("--queue", redis_queue)
    low = int(cli(*root, "jobs", "enqueue", "noop", "--priority", "1").stdout)
    high = int(cli(*root, "jobs", "enqueue", "noop", "--priority", "9").stdout)
    huey = open_queue(redis_queue, queue_name)
    assert [t.args[0] for t in huey.pending()] == [high, low]
    assert message_job_ids(huey) == {low, high}


def test_unreachable_redis_is_one_sentence(cli, jobs_project):
    url = "redis://:hunter2@127.0.0.1:1/0"
    result = cli("--queue", url, "jobs", "stats")
    assert result.exit_code == 2 and "Cannot read the queue at redis://:***@127.0.0.1:1/0" in result.stderr
    assert "hunter2" not in result.stderr and "Traceback" not in result.stderr
    queued = cli("--queue", url, "jobs", "enqueue", "noop")
    # recorded, exit 0 with a warning: a script that retries on failure creates no duplicate
    assert queued.exit_code == 0 and "Traceback" not in queued.stderr and "hunter2" not in queued.stderr
    assert queued.stdout.strip() == "1"
    assert "warning: Job 1 is recorded but the queue at redis://:***@127.0.0.1:1/0 cannot be reached" in queued.stderr
    # the record stays queued: a worker sends its message once the queue is back
    assert json.loads(cli("jobs", "show", "1", "--json").stdout)["state"] == "queued"
