"""traitctl's Huey classes: no revocation (a job is cancelled in the store), and a SQLite queue that
commits without an fsync (the store's job records are the truth; lost messages are sent again)."""

from __future__ import annotations

import pytest

from traitctl.engine.errors import InputError


@pytest.fixture
def sqlite_queue(tmp_path):
    from traitctl.jobs.queue import delete_queue, open_queue

    url = f"sqlite:///{tmp_path / 'queue.db'}"
    yield open_queue(url, "q1")
    delete_queue(url, "q1")


def test_sqlite_queue_commits_like_the_store(sqlite_queue):
    conn = sqlite_queue.storage.conn
    assert conn.execute("pragma journal_mode").fetchone()[0] == "wal"
    assert conn.execute("pragma synchronous").fetchone()[0] == 1  # NORMAL, as the store


def test_messages_are_never_revoked(sqlite_queue):
    task = sqlite_queue.traitctl_run_job.s(7, 0.0)
    with pytest.raises(InputError, match="jobs cancel"):
        sqlite_queue.revoke(task)
    with pytest.raises(InputError):
        sqlite_queue.revoke_by_id(task.id)
    # Nothing was stored for a revocation, and none is looked up or cleared per message.
    assert sqlite_queue.storage.sql("select count(*) from kv", results=True)[0][0] == 0
    assert sqlite_queue.is_revoked(task) is False
    assert sqlite_queue.delete(task.revoke_id) is False


def test_redis_queue_has_the_same_rules(redis_url):
    from traitctl.jobs.queue import delete_queue, open_queue

    huey = open_queue(redis_url, "qrev")
    try:
        assert type(huey).__name__ == "TraitctlPriorityRedisHuey"
        with pytest.raises(InputError):
            huey.revoke(huey.traitctl_run_job.s(1, 0.0))
        assert huey.storage.conn.hlen(huey.storage.result_key) == 0
    finally:
        delete_queue(redis_url, "qrev")


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_enqueue_many_sends_the_messages_in_one_write(backend, tmp_path, request, queue_name):
    """``Jobs.enqueue_many``: one store transaction, then one queue write per queue for the jobs
    due now (delayed ones go to the schedule); every job gets exactly one message, in priority order.
    Beside a SQLite store a SQLite queue needs no messages: the records are the queue, counted by
    ``stats`` and claimed in the same priority order (delayed ones once due)."""
    import datetime as dt

    from traitctl.engine.jobs import builtin_operation
    from traitctl.jobs.queue import delete_queue, message_job_ids, open_queue, stats
    from traitctl.jobs.service import Jobs, utcnow
    from traitctl.store.db import Store

    url = f"sqlite:///{tmp_path / 'queue.db'}" if backend == "sqlite" else request.getfixturevalue("redis_url")
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    jobs = Jobs(store, url, actor="t", command="t", default_queue=queue_name)
    try:
        later = utcnow() + dt.timedelta(hours=1)
        made = jobs.enqueue_many(builtin_operation("noop"), [{"priority": 5}, {}, {"eta": later}, {"priority": 9}])
        huey = open_queue(url, queue_name)
        assert not jobs.undelivered and not store.events.list(kind="job.*")
        if backend == "sqlite":  # the store is the queue: no messages, the records are claimed
            assert jobs.store_is_queue(huey) and message_job_ids(huey) == set()
            counted = stats(url, queue_name)
            assert (counted.pending, counted.scheduled) == (3, 1) and counted.oldest_pending_age_s >= 0
            claimed, _ = jobs.claim_batch(huey, None, "w1", limit=10, queue=queue_name)
            assert [j.id for j in claimed] == [made[3].id, made[0].id, made[1].id]
            assert (stats(url, queue_name).pending, stats(url, queue_name).scheduled) == (0, 1)
            return
        assert message_job_ids(huey) == {j.id for j in made}
        assert huey.pending_count() == 3 and huey.scheduled_count() == 1
        order = [t.args[0] for t in huey.pending()]
        assert order == [made[3].id, made[0].id, made[1].id]
    finally:
        delete_queue(url, queue_name)
        store.close()


def test_redis_enqueue_has_its_own_connection_and_survives_a_closed_one(redis_url):
    """A producer's enqueue goes over the thread's own connection (not the pool), keeps Huey's
    message order and priorities, makes a connection the server closed again, and a thread or a
    forked child never shares another's connection."""
    import os
    import threading

    import redis

    from traitctl.jobs.queue import delete_queue, open_queue

    huey = open_queue(redis_url, "qown")
    storage = huey.storage
    try:
        huey.enqueue(huey.traitctl_run_job.s(1, 0.0))
        own = storage._connection()
        assert own is storage._connection()  # one per thread, kept
        # the server closes every connection of this queue's producer
        admin = redis.Redis.from_url(redis_url)
        name = f"qown-{os.getpid()}"
        own.send_command("CLIENT", "SETNAME", name)
        own.read_response()
        assert admin.client_kill_filter(_type="normal", skipme=True) >= 1
        huey.enqueue(huey.traitctl_run_job.s(2, 0.0, priority=5))
        assert storage.queue_size() == 2
        # the higher priority first, as Huey's own storage orders them
        assert [huey.deserialize_task(m).args[0] for m in storage.enqueued_items()] == [2, 1]
        other = []
        thread = threading.Thread(target=lambda: other.append(storage._connection()))
        thread.start()
        thread.join()
        assert other[0] is not storage._connection()
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child makes its own
            os.write(write, b"1" if storage._connection() is not own else b"0")
            os._exit(0)
        os.waitpid(pid, 0)
        assert os.read(read, 1) == b"1"
    finally:
        delete_queue(redis_url, "qown")
