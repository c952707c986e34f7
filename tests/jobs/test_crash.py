"""At-least-once with real processes: a worker is killed with SIGKILL in the middle of 100 jobs; a new
worker recovers what the dead one held and every id is written at least once."""

from __future__ import annotations

import collections

import pytest

from tests.jobs.conftest import append, wait_for

JOBS = 100


def _enqueue_many(project, store, queue_url: str, count: int) -> list[int]:
    from traitctl.engine.jobs import find_operation
    from traitctl.jobs.queue import open_queue
    from traitctl.jobs.service import Jobs
    from traitctl.store import toml_file

    doc = toml_file.read(project / "config" / "traits.toml")
    spec = find_operation(doc["traits"], "HasSlug", "append")
    jobs = Jobs(store, queue_url, actor="tester", command="test", default_queue=doc["jobs"]["queue"],
                queue_for=lambda name: open_queue(queue_url, name))
    return [jobs.enqueue(spec, trait="HasSlug", data={"n": i}).id for i in range(count)]


def _succeeded(store) -> int:
    return store.jobs.count_by_state()["succeeded"]


def _queue(backend: str, jobs_project, request, queue_name: str) -> tuple[str, tuple[str, ...]]:
    """The queue URL of ``backend`` and the root options that select it (a Redis queue is dropped after the test)."""
    if backend != "redis":
        return f"sqlite:///{jobs_project / 'config' / '.traitctl' / 'queue.db'}", ()
    queue_url = request.getfixturevalue("redis_url")
    request.addfinalizer(lambda: _drop_redis_queue(queue_url, queue_name))
    return queue_url, ("--queue", queue_url)


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_sigkill_mid_run_loses_no_job(backend, jobs_project, config_file, start_worker, open_store, request,
                                      queue_name):
    queue_url, root = _queue(backend, jobs_project, request, queue_name)
    # sh only because the test's command wants a redirection; traitctl itself never uses a shell.
    append(config_file, '[traits.HasSlug.operations.append]\ncwd = "."\n'
                        'command = ["sh", "-c", "sleep 0.05; echo $TRAITCTL_DATA_N >> ids.txt"]\n')
    store = open_store()
    ids = _enqueue_many(jobs_project, store, queue_url, JOBS)
    first = start_worker("--workers", "2", root=root)
    wait_for(lambda: _succeeded(store) >= 30, timeout=60)
    first.kill()  # SIGKILL: no put-back, no final heartbeat
    held = [j.id for j in store.jobs.running()]
    second = start_worker("--workers", "2", root=root)
    wait_for(lambda: _succeeded(store) == JOBS, timeout=90)
    written = collections.Counter(int(x) for x in (jobs_project / "config" / "ids.txt").read_text().split())
    assert set(written) == set(range(JOBS)), f"lost: {sorted(set(range(JOBS)) - set(written))}"
    duplicates = sum(n - 1 for n in written.values())
    print(f"\n{backend}: {len(held)} job(s) held by the killed worker, {duplicates} duplicate run(s), 0 lost")
    recovered = [i for i in held if any(e["event"] == "requeued" and e.get("lost") for e in store.jobs.get(i).timeline)]
    assert set(held) == set(recovered)
    assert not store.events.list(kind="job.*", limit=None)  # recoveries live in the job records only
    assert all(store.jobs.get(i).state == "succeeded" for i in ids)
    assert second.stop() == 0


def _drop_redis_queue(url: str, name: str) -> None:
    from traitctl.jobs.queue import delete_queue

    delete_queue(url, name)


QUICK = 3000


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_sigkill_mid_batch_loses_no_job(backend, jobs_project, config_file, start_worker, open_store, request,
                                        queue_name, monkeypatch):
    """Quick runs make a worker thread claim batches (several jobs ``running`` at once, most still
    waiting behind the first): a SIGKILL mid-batch leaves the waiting ones to the recovery, and
    every job runs at least once. On SQLite the messages are taken in the claim's transaction; on
    Redis a batch popped but not yet claimed is sent again by the recovery."""
    queue_url, root = _queue(backend, jobs_project, request, queue_name)
    ids_file = jobs_project / "config" / "ids.txt"
    (jobs_project / "quicktasks.py").write_text(
        f"def note(job):\n"
        f"    with open({str(ids_file)!r}, 'a') as fh:\n        fh.write(str(job['data']['n']) + '\\n')\n")
    monkeypatch.setenv("PYTHONPATH", str(jobs_project))
    append(config_file, '[traits.HasSlug.operations.note]\ncallable = "quicktasks:note"\n')
    store = open_store()
    ids = _enqueue_many_op(jobs_project, store, queue_url, QUICK, "note")
    first = start_worker("--workers", "1", root=root)
    wait_for(lambda: _succeeded(store) >= QUICK // 5, timeout=60, every=0.01)
    first.kill()  # SIGKILL mid-run
    held = store.jobs.running()
    assert _succeeded(store) < QUICK, "the worker finished before it was killed: nothing was tested"
    starts = collections.Counter(job.started for job in held)
    assert max(starts.values()) > 1, "no batch was claimed: held jobs were each started on their own"
    written_then = set(int(x) for x in ids_file.read_text().split())
    waiting = [j for j in held if j.data["n"] not in written_then]
    second = start_worker("--workers", "1", root=root)
    wait_for(lambda: _succeeded(store) == QUICK, timeout=90)
    written = collections.Counter(int(x) for x in ids_file.read_text().split())
    assert set(written) == set(range(QUICK)), f"lost: {sorted(set(range(QUICK)) - set(written))[:20]}"
    print(f"\n{backend}: {len(held)} job(s) held by the killed worker, {len(waiting)} of them not started, "
          f"{sum(n - 1 for n in written.values())} duplicate run(s), 0 lost")
    for job in held:
        timeline = store.jobs.get(job.id).timeline
        assert any(e["event"] == "requeued" and e.get("lost") for e in timeline), timeline
    assert all(store.jobs.get(i).state == "succeeded" for i in ids)
    assert second.stop() == 0


def _enqueue_many_op(project, store, queue_url: str, count: int, operation: str) -> list[int]:
    from traitctl.engine.jobs import find_operation
    from traitctl.jobs.service import Jobs
    from traitctl.store import toml_file

    doc = toml_file.read(project / "config" / "traits.toml")
    spec = find_operation(doc["traits"], "HasSlug", operation)
    jobs = Jobs(store, queue_url, actor="tester", command="test", default_queue=doc["jobs"]["queue"])
    return [job.id for job in jobs.enqueue_many(spec, [{"trait": "HasSlug", "data": {"n": i}} for i in range(count)])]
