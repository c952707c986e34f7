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
