"""Faults a worker must survive: output no backend can store, a result that cannot be recorded,
an unreachable queue or store."""

from __future__ import annotations

import json
import sys

import pytest

from tests.jobs.conftest import append, wait_for

PY = sys.executable


def _finished(store, job_id: int):
    job = store.jobs.get(job_id)
    return job if job and job.state in ("succeeded", "failed", "cancelled") else None


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_output_with_a_nul_byte_and_bad_utf8_is_stored_and_later_jobs_run(cli, jobs_project, config_file,
                                                                           start_worker, open_store, backend,
                                                                           request):
    """``printf 'a\\0b'`` and invalid UTF-8 as a job's output: stored with U+FFFD in their place,
    and the five jobs after it all succeed (a NUL used to wedge a PostgreSQL worker)."""
    root: tuple[str, ...] = ()
    url = None
    if backend == "postgresql":
        url = request.getfixturevalue("pg_url")
        root = ("--store", url)
    code = "import sys; sys.stdout.buffer.write(b'a\\x00b \\xff\\xfe end\\n'); sys.stderr.write('e\\x00rr\\n')"
    append(config_file, f'[traits.HasSlug.operations.nul]\ncommand = {json.dumps([PY, "-c", code])}\ncwd = "."\n'
                        f'[traits.HasSlug.operations.nulfail]\n'
                        f'command = {json.dumps([PY, "-c", code + "; sys.exit(3)"])}\ncwd = "."\n')
    ids = []
    for operation in ["nul", "nulfail", "noop", "noop", "noop", "noop", "noop"]:
        args = ("HasSlug", operation) if operation != "noop" else ("noop",)
        result = cli(*root, "jobs", "enqueue", *args)
        assert result.exit_code == 0, result
        ids.append(int(result.stdout.strip()))
    worker = start_worker(root=root)
    store = open_store(url)
    jobs = wait_for(lambda: all(_finished(store, i) for i in ids) and [store.jobs.get(i) for i in ids], timeout=60)
    assert [j.state for j in jobs] == ["succeeded", "failed"] + ["succeeded"] * 5, [(j.state, j.error) for j in jobs]
    assert "a\ufffdb" in jobs[0].output and "\ufffd\ufffd end" in jobs[0].output and "e\ufffdrr" in jobs[0].output
    assert "\x00" not in jobs[1].output and "a\ufffdb" in jobs[1].output
    shown = cli(*root, "jobs", "show", str(ids[0]), "--json")
    assert shown.exit_code == 0 and "a\ufffdb" in json.loads(shown.stdout)["output"], shown
    assert worker.stop() == 0
    assert "Traceback" not in worker.output(), worker.output()[-3000:]


@pytest.fixture
def runtime(jobs_project, config_file):
    import os

    from traitctl.context import GlobalOptions
    from traitctl.jobs.worker import Runtime

    rt = Runtime(GlobalOptions(config=str(config_file)), os.environ, jobs_project)
    rt.defer_success = True  # as in `traitctl worker`: a success rides with the next claim
    yield rt
    rt.store.close()


def test_a_result_the_store_refuses_fails_its_job_and_blocks_nothing(runtime, monkeypatch, caplog):
    """The store refuses one run's success (for what it contains): that job is failed with a
    short reason, the claims after it go through, and the bad write is not tried again."""
    import peewee

    from traitctl.engine.jobs import builtin_operation

    jobs = runtime.jobs()
    bad, *later = [jobs.enqueue(builtin_operation("noop")) for _ in range(4)]
    fast = runtime.store.jobs.fast
    real_finish, tries = fast.finish, []

    def finish(params):  # the statement's parameters: the new state first, the job id eighth
        if params[7] == bad.id and params[0] == "succeeded":
            tries.append(bad.id)
            raise peewee.DataError("text fields cannot contain NUL (0x00) bytes")
        return real_finish(params)

    monkeypatch.setattr(fast, "finish", finish)
    for job in (bad, *later):
        runtime.run_job(job.id)
    runtime.settle()
    got = runtime.store.jobs.get(bad.id)
    assert got.state == "failed" and "result could not be stored" in got.error and "NUL" in got.error
    assert [runtime.store.jobs.get(j.id).state for j in later] == ["succeeded"] * 3
    assert tries == [bad.id, bad.id]  # with the next claim, then alone: never again
    assert "Traceback" not in caplog.text


def test_a_store_that_cannot_be_written_keeps_successes_pending(runtime, monkeypatch):
    """A success the store cannot take because it is unreachable is not turned into a failure:
    it stays pending and is recorded once the store answers again."""
    import peewee

    from traitctl.engine.jobs import builtin_operation

    jobs = runtime.jobs()
    first, second = (jobs.enqueue(builtin_operation("noop")) for _ in range(2))
    runtime.run_job(first.id)
    fast = runtime.store.jobs.fast
    real_claim = fast.claim
    monkeypatch.setattr(fast, "claim", lambda *a: (_ for _ in ()).throw(peewee.OperationalError("server closed")))
    real_finish = fast.finish
    monkeypatch.setattr(fast, "finish", lambda *a: (_ for _ in ()).throw(peewee.OperationalError("server closed")))
    runtime.run_job(second.id)  # logged in one line, nothing raised
    assert runtime.store.jobs.get(first.id).state == "running" and runtime._pending
    monkeypatch.setattr(fast, "claim", real_claim)
    monkeypatch.setattr(fast, "finish", real_finish)
    assert runtime.settle() == 1
    assert runtime.store.jobs.get(first.id).state == "succeeded"
    assert runtime.store.jobs.get(second.id).state == "queued"


def test_enqueue_on_an_unreachable_queue_records_once_and_is_delivered_later(cli, jobs_project, start_worker,
                                                                              open_store):
    """``jobs enqueue`` while the queue is down: the job is recorded, exit 0 with a warning (a
    retrying script makes no duplicate); a worker whose queue answers sends and runs it."""
    down = cli("--queue", "redis://:pw@127.0.0.1:1/0", "jobs", "enqueue", "noop")
    assert down.exit_code == 0 and down.stdout.strip() == "1", down
    assert "warning: Job 1 is recorded but the queue at redis://:***@127.0.0.1:1/0 cannot be reached" in down.stderr
    assert "pw@" not in down.stderr and "Traceback" not in down.stderr
    store = open_store()
    assert [j.state for j in store.jobs.list()] == ["queued"]
    worker = start_worker()  # the project's own (SQLite) queue, which answers
    job = wait_for(lambda: _finished(store, 1), timeout=40)
    assert job.state == "succeeded" and len(store.jobs.list()) == 1
    assert worker.stop() == 0


def test_worker_backs_off_while_its_queue_is_down_and_health_says_so(cli, jobs_project, start_worker, open_store):
    """A worker on an unreachable Redis: one warning line per try (no traceback), waits that grow,
    its heartbeat says ``backing-off`` and ``health --only workers`` fails naming it."""
    import re
    import time

    worker = start_worker(root=("--queue", "redis://:pw@127.0.0.1:1/0"))
    store = open_store()
    wait_for(lambda: any(b.state == "backing-off" for b in store.workers.list()), timeout=20)
    health = cli("health", "--only", "workers", "--json")
    assert health.exit_code == 1, health
    assert "backing off" in health.stdout and "Traceback" not in health.stdout
    time.sleep(2.5)
    assert worker.stop() == 0
    log = worker.output()
    assert "Traceback" not in log and "pw@" not in log
    tries = [line for line in log.splitlines() if "unreachable" in line]
    assert all("queue at redis://:***@127.0.0.1:1/0 unreachable (ConnectionError" in t for t in tries), tries
    waits = {int(n): float(w) for n, w in re.findall(r"try (\d+), next in ([0-9.]+) s", "\n".join(tries))}
    # two threads (worker, scheduler) try in turn; in a few seconds a handful of tries, not thousands,
    # each wait in the upper half of 0.5 s * 2 ** (try - 1)
    assert 2 <= len(tries) <= 20 and 2 in waits, tries
    assert all(0.5 * 2 ** (n - 1) / 2 - 0.05 <= w <= 0.5 * 2 ** (n - 1) + 0.05 for n, w in waits.items()), waits


def test_worker_waits_for_an_unreachable_store_and_commands_without_a_store_work(cli, jobs_project, start_worker):
    """A worker started while its store is down tries again with growing waits, one line each;
    ``inventory --traits`` and ``inventory --no-cache`` need no store and still work (a warning)."""
    import re
    import time

    url = "postgresql://u:secret@127.0.0.1:1/none"
    worker = start_worker(root=("--store", url))
    for args in (["inventory", "--traits"], ["inventory", "--no-cache"]):
        result = cli("--store", url, *args)
        assert result.exit_code == 0 and "HasSlug" in result.stdout, result
        assert "warning: Cannot open the store at postgresql://u:***@127.0.0.1:1/none" in result.stderr
        assert "secret" not in result.stderr + result.stdout and "Traceback" not in result.stderr
    time.sleep(max(0.0, 3.0))
    assert worker.proc.poll() is None  # still waiting, not crashed
    worker.kill()
    log = worker.output()
    tries = [line for line in log.splitlines() if "Cannot open the store" in line]
    assert "Traceback" not in log and "secret" not in log and len(tries) >= 2, log
    assert [int(n) for n in re.findall(r"try (\d+),", "\n".join(tries))] == list(range(1, len(tries) + 1))


def test_the_queue_the_tasks_and_the_worker_import_no_circle():
    """Imports inside traitctl.jobs (module level and inside functions) form no circle: the queue
    registers the tasks, the worker hands its runtime to the tasks, nothing imports back."""
    import ast
    from pathlib import Path

    import traitctl.jobs

    folder = Path(traitctl.jobs.__file__).parent
    graph: dict[str, set[str]] = {}
    for path in folder.glob("*.py"):
        name = f"traitctl.jobs.{path.stem}"
        deps = graph.setdefault(name, set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            deps.update(t for t in targets if t.startswith("traitctl.jobs.") and t != name)

    def cycle_from(start: str, node: str, seen: tuple[str, ...]) -> tuple[str, ...] | None:
        for dep in sorted(graph.get(node, ())):
            if dep == start:
                return (*seen, dep)
            if dep not in seen and dep in graph:
                found = cycle_from(start, dep, (*seen, dep))
                if found:
                    return found
        return None

    assert graph["traitctl.jobs.queue"] and "traitctl.jobs.tasks" in graph["traitctl.jobs.queue"]
    circles = [c for c in (cycle_from(n, n, (n,)) for n in sorted(graph)) if c]
    assert circles == [], circles


def test_outage_waits_double_up_to_a_cap_with_jitter_and_health_reads_backing_off():
    from traitctl.engine import health
    from traitctl.engine.jobs import outage_delay
    from traitctl.store.db import storable_text

    assert [outage_delay(n, 0.999999) for n in (1, 2, 3)] == pytest.approx([0.5, 1.0, 2.0], abs=1e-5)
    assert [outage_delay(n, 0.0) for n in (1, 2, 3)] == [0.25, 0.5, 1.0]
    assert outage_delay(50, 0.999999) == pytest.approx(30.0, abs=1e-4) and outage_delay(50, 0.0) == 15.0
    assert health.workers([("w1", "backing-off", 1.0, None)], 15)[0] == health.FAIL
    status, message = health.workers([("w1", "backing-off", 1.0, None), ("w2", "idle", 1.0, None)], 15)
    assert status == health.WARN and "1 worker(s) alive; 1 worker(s) backing off" in message and "w1" in message
    assert health.workers([("w2", "busy", 1.0, None)], 15)[0] == health.OK
    assert storable_text("a\x00b\udcff c") == "a\ufffdb\ufffd c"
    assert storable_text("plain") == "plain" and storable_text(None) is None and storable_text("é ✓") == "é ✓"


def test_a_batch_behind_a_slow_run_goes_back_and_shutdown_puts_back_what_waits(runtime, config_file, jobs_project,
                                                                              monkeypatch):
    """Claimed jobs waiting behind a run that was not quick go back to the queue (their worker
    does not hold them meanwhile); at shutdown the claimed jobs not started yet go back as such."""
    from tests.jobs.conftest import append
    from traitctl.engine.jobs import find_operation
    from traitctl.jobs.queue import open_queue
    from traitctl.jobs.worker import RELEASED

    (jobs_project / "batchtasks.py").write_text("import time\ndef step(job):\n    time.sleep(job['data'].get('s', 0))\n")
    monkeypatch.syspath_prepend(str(jobs_project))
    append(config_file, '[traits.HasSlug.operations.step]\ncallable = "batchtasks:step"\n')
    spec = find_operation(runtime.main_doc()["traits"], "HasSlug", "step", runtime.jobs_section())
    slow, *rest = runtime.jobs().enqueue_many(spec, [{"trait": "HasSlug", "data": {"s": 0.05}}]
                                              + [{"trait": "HasSlug"}] * 3)
    huey = open_queue(runtime.settings.queue_url, runtime.queue)
    assert runtime.work(huey, limit=4) == (4, False)
    runtime.settle()
    assert runtime.store.jobs.get(slow.id).state == "succeeded"
    for job in rest:
        got = runtime.store.jobs.get(job.id)
        assert (got.state, got.timeline[-1]["event"], got.timeline[-1]["reason"]) == ("queued", "requeued", RELEASED)
    runtime.stopping = True  # a signal arrived: the claimed batch is not started
    assert runtime.work(huey, limit=4)[0] == 3
    runtime.shutdown()
    for job in rest:
        got = runtime.store.jobs.get(job.id)
        assert (got.state, got.timeline[-1]["reason"]) == ("queued", "worker shut down before it ran"), got.timeline
