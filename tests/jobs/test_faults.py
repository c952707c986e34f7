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

    def finish(job, state, *args):
        if job.id == bad.id and state == "succeeded":
            tries.append(job.id)
            raise peewee.DataError("text fields cannot contain NUL (0x00) bytes")
        return real_finish(job, state, *args)

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
