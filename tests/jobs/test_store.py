"""Job records on every store backend (SQLite memory and file, PostgreSQL): conditional transitions,
keys, purge and the counts metrics and health read."""

from __future__ import annotations

import datetime as dt
import json

from traitctl.engine.jobs import Job

T0 = dt.datetime(2026, 5, 1, 12, 0, 0)


def _job(**kw) -> Job:
    base = dict(id=0, trait="HasSlug", operation="audit", data={"n": 1}, enqueued=T0, max_attempts=2)
    base.update(kw)
    return Job(**base)


def test_create_get_and_unique_key(store):
    job = store.jobs.create(_job(key="schedule:x:202605011200"))
    assert job.id > 0 and store.jobs.get(job.id).data == {"n": 1}
    assert store.jobs.create(_job(key="schedule:x:202605011200")) is None
    assert store.jobs.create(_job(key=None)) is not None and store.jobs.create(_job(key=None)) is not None


def test_claim_is_won_once(store):
    job = store.jobs.create(_job())
    first = store.jobs.claim(job.id, "w1", T0)
    assert (first.state, first.attempts, first.worker) == ("running", 1, "w1")
    assert store.jobs.claim(job.id, "w2", T0) is None  # a duplicate message runs nothing


def test_finish_only_for_the_same_run(store):
    job = store.jobs.claim(store.jobs.create(_job()).id, "w1", T0)
    stale = Job(**{**job.__dict__, "worker": "w2"})
    assert not store.jobs.finish(stale, "succeeded", T0)
    assert store.jobs.finish(job, "failed", T0 + dt.timedelta(seconds=3), exit_code=2, output="boom", error="bad")
    got = store.jobs.get(job.id)
    assert (got.state, got.exit_code, got.output, got.error, got.duration) == ("failed", 2, "boom", "bad", 3.0)


def test_requeue_lost_counts_and_cancel(store):
    job = store.jobs.claim(store.jobs.create(_job()).id, "w1", T0)
    assert store.jobs.requeue(job, T0, lost=True, error="worker gone")
    again = store.jobs.get(job.id)
    assert (again.state, again.lost, again.attempts) == ("queued", 1, 1)
    assert store.jobs.cancel(again, T0)
    assert store.jobs.get(job.id).state == "cancelled" and store.jobs.claim(job.id, "w1", T0) is None


def test_counts_throughput_purge(store):
    done = []
    for i in range(3):
        job = store.jobs.claim(store.jobs.create(_job(trait="A" if i else "B")).id, "w", T0)
        store.jobs.finish(job, "succeeded", T0 + dt.timedelta(days=i))
        done.append(job)
    store.jobs.create(_job())
    counts = store.jobs.count_by_state()
    assert counts["succeeded"] == 3 and counts["queued"] == 1 and counts["failed"] == 0
    assert store.jobs.throughput(T0 + dt.timedelta(days=1))["succeeded"] == 2
    assert store.jobs.purge(T0 + dt.timedelta(days=2), trait="A") == 1
    assert store.jobs.purge(T0 + dt.timedelta(days=2)) == 1
    assert store.jobs.count_by_state()["succeeded"] == 1 and store.jobs.count_by_state()["queued"] == 1


def test_cursor_compare_and_set(store):
    assert store.jobs.cursor("events") is None
    assert store.jobs.advance_cursor("events", None, 5)
    assert not store.jobs.advance_cursor("events", None, 7) and not store.jobs.advance_cursor("events", 4, 7)
    assert store.jobs.advance_cursor("events", 5, 9) and store.jobs.cursor("events") == 9


def test_transitions_are_kept_in_the_record_on_every_backend(store, tmp_path):
    """A person's enqueue is one history event; the run and its success are the record's timeline
    (appended by the transitions' own updates, on SQLite and PostgreSQL)."""
    from traitctl.engine.jobs import builtin_operation, full_timeline
    from traitctl.jobs.service import Jobs

    jobs = Jobs(store, f"sqlite:///{tmp_path / 'queue.db'}", actor="ana", command="traitctl jobs enqueue noop")
    job = jobs.enqueue(builtin_operation("noop"), trait="HasSlug", tenant="acme", data={"n": 1}, record=True)
    running = jobs.claim(job.id, "w1")
    assert jobs.succeed(running, result={"ok": True})
    events = store.events.list(kind="job.*")
    assert [e.kind for e in events] == ["job.enqueued"]
    first = events[0]
    assert (first.actor, first.command, first.trait, first.tenant, first.path) == (
        "ana", "traitctl jobs enqueue noop", "HasSlug", "acme", ())
    assert first.data == {"job": job.id, "operation": "noop", "queue": "default", "attempt": 0, "worker": None}
    timeline = full_timeline(store.jobs.get(job.id))
    assert [(e["event"], e.get("attempt"), e.get("worker")) for e in timeline] == [
        ("enqueued", None, None), ("started", 1, "w1"), ("succeeded", 1, None)]
    assert timeline[0]["at"] <= timeline[1]["at"] <= timeline[2]["at"]
    # a job the system creates (no person asked) has its record only
    jobs.enqueue(builtin_operation("noop"))
    assert len(store.events.list(kind="job.*")) == 1


def test_a_success_is_recorded_with_the_next_claim(store, tmp_path):
    """The worker's one commit per job: the previous run's success and the next claim, both events."""
    from traitctl.engine.jobs import builtin_operation
    from traitctl.jobs.service import Jobs, Success

    jobs = Jobs(store, f"sqlite:///{tmp_path / 'queue.db'}", actor="ana", command="worker")
    first, second, third = (jobs.enqueue(builtin_operation("noop")) for _ in range(3))
    running = jobs.claim(first.id, "w1")
    ended = T0 + dt.timedelta(days=400)
    running_second = jobs.claim(second.id, "w1", done=[Success(running, ended, result={"ok": 1})])
    assert running_second.state == "running"
    got = store.jobs.get(first.id)
    assert (got.state, got.finished, got.result) == ("succeeded", ended, {"ok": 1})
    assert [e["event"] for e in got.timeline] == ["started", "succeeded"]
    assert got.timeline[1]["at"] == ended.isoformat(timespec="microseconds")
    assert [e["event"] for e in store.jobs.get(second.id).timeline] == ["started"]
    assert not store.events.list(kind="job.*")
    # A run cancelled meanwhile stays cancelled: no success for it; the cancel is audited.
    jobs.cancel(second.id)
    jobs.claim(third.id, "w1", done=[Success(running_second, ended)])
    assert store.jobs.get(second.id).state == "cancelled"
    assert [e["event"] for e in store.jobs.get(second.id).timeline] == ["started", "cancelled"]
    assert [(e.kind, e.data["job"]) for e in store.events.list(kind="job.*")] == [("job.cancelled", second.id)]


def test_write_waits_for_another_process_holding_the_lock(tmp_path):
    """The hot path's write transaction asks for SQLite's lock again while another connection
    holds it, then runs; the connection's busy timeout is back to the store's afterwards."""
    import sqlite3
    import threading

    from traitctl.store.db import Store

    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    other = sqlite3.connect(tmp_path / "store.db", isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    threading.Timer(0.3, lambda: other.execute("COMMIT")).start()
    with store.jobs.write():
        job = store.jobs.create(_job())
    assert store.jobs.get(job.id).operation == "audit"
    assert store.db.execute_sql("PRAGMA busy_timeout").fetchone()[0] == 10000
    other.close()
    store.close()


def test_fast_path_writes_and_reads_what_peewee_does(store):
    """The hot path's prepared SQL stores every column exactly as peewee's model would (date-times
    as the same text on SQLite) and reads a claimed row back as peewee reads it."""
    import peewee

    full = _job(trait="HasSlug", model="App\\Models\\Post", tenant="acme", data={"z": [1, {"a": None}], "b": "é"},
                priority=3, timeout=2.5, retry_delay=1.5, backoff=3.0, key="k:1",
                eta=dt.datetime(2026, 5, 1, 12, 0, 0, 123456), enqueued=dt.datetime(2026, 5, 1, 11, 59, 59, 7))
    fast = store.jobs.create(full)
    R = store.jobs.Row
    columns = {f.name: full.__dict__.get(f.name) for f in R._meta.sorted_fields if f.name != "id"}
    columns.update(key="k:2", data=json.dumps(full.data, sort_keys=True), result="{}", dispatched=full.enqueued,
                   timeline="")
    slow = R.create(**columns)
    names = ", ".join(f'"{f.column_name}"' for f in R._meta.sorted_fields if f.name not in ("id", "key"))
    raw = [store.db.execute_sql(f'SELECT {names} FROM "traitctl_job" WHERE "id" = {store.db.param}', [i]).fetchone()
           for i in (fast.id, slow.id)]
    assert raw[0] == raw[1]
    if isinstance(store.db, peewee.SqliteDatabase):
        assert "2026-05-01 12:00:00.123456" in raw[0]  # the text the sqlite3 adapter writes
    claimed = store.jobs.claim(fast.id, "w1", dt.datetime(2026, 5, 1, 12, 0, 1, 5))
    assert claimed == store.jobs.get(fast.id)
    assert (claimed.data, claimed.result, claimed.eta) == (full.data, {}, full.eta)


def test_claim_many_claims_each_queued_job_once(store):
    """A worker's batch: one statement claims the queued jobs among the ids, in the ids' order;
    a duplicate id (a duplicated message) and a job that is not queued are left out, and the
    earlier runs' finishes go in the same transaction."""
    from traitctl.engine.jobs import SUCCEEDED

    a, b, c, d = (store.jobs.create(_job()) for _ in range(4))
    running = store.jobs.claim(d.id, "w0", T0)
    finish = store.jobs.prepare_finish(running, SUCCEEDED, T0 + dt.timedelta(seconds=1))
    store.jobs.cancel(b, T0)
    got, _ = store.jobs.claim_many([c.id, a.id, c.id, b.id], "w1", T0, [finish])
    assert [job.id for job in got] == [c.id, a.id]
    assert all((job.state, job.worker, job.attempts, job.started) == ("running", "w1", 1, T0) for job in got)
    assert [e["event"] for e in store.jobs.get(a.id).timeline] == ["started"]
    assert store.jobs.get(a.id).timeline[0]["attempt"] == 1
    assert store.jobs.get(d.id).state == "succeeded" and store.jobs.get(b.id).state == "cancelled"
    again, _ = store.jobs.claim_many([a.id, c.id], "w2", T0)
    assert again == []


def test_hot_write_waits_for_another_process_holding_the_lock(tmp_path):
    """The hot path's own connection asks for SQLite's lock again while another connection holds
    it (its busy handler is off), then writes; peewee's connection keeps the store's timeout."""
    import sqlite3
    import threading

    from traitctl.store.db import Store

    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    other = sqlite3.connect(tmp_path / "store.db", isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    threading.Timer(0.3, lambda: other.execute("COMMIT")).start()
    with store.jobs.hot_write():
        job = store.jobs.create(_job())
    assert store.jobs.get(job.id).operation == "audit"
    assert store.db.execute_sql("PRAGMA busy_timeout").fetchone()[0] == 10000
    other.close()
    store.close()


def test_the_store_is_the_queue_beside_a_sqlite_queue(tmp_path):
    """A SQLite queue beside a SQLite store: a job is its record alone (no message), a delayed one
    is claimed once due; a worker's batch takes Huey's own messages (a message sent by another
    process) in its claim's transaction, claims the due jobs, each once; a claim that fails
    leaves every job queued and every message on the queue."""
    import datetime as dt

    import pytest

    from traitctl.engine.jobs import builtin_operation
    from traitctl.jobs.queue import message_job_ids
    from traitctl.jobs.service import Jobs, utcnow
    from traitctl.store.db import Store

    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    jobs = Jobs(store, f"sqlite:///{tmp_path / 'queue.db'}", actor="t", command="t", default_queue="q")
    huey = jobs.huey("q")
    assert jobs.store_is_queue(huey) and jobs.shared(huey)
    made = [jobs.enqueue(builtin_operation("noop")) for _ in range(3)]
    later = jobs.enqueue(builtin_operation("noop"), eta=utcnow() + dt.timedelta(seconds=0.5))
    assert message_job_ids(huey) == set() and store.jobs.count_by_state()["queued"] == 4
    huey.enqueue(huey.traitctl_run_job.s(made[2].id, 0.0))  # as a process without the store would

    def broken(*args, **kwargs):
        raise RuntimeError("claim refused")

    fast, real = store.jobs.fast, store.jobs.fast.claim_next
    fast.claim_next = broken
    with pytest.raises(RuntimeError):
        jobs.claim_batch(huey, None, "w1", limit=10, queue="q")
    fast.claim_next = real
    assert huey.pending_count() == 1 and store.jobs.count_by_state()["queued"] == 4
    claimed, others = jobs.claim_batch(huey, None, "w1", limit=10, queue="q")
    assert [j.id for j in claimed] == [made[2].id, made[0].id, made[1].id] and others == []
    assert huey.pending_count() == 0 and store.jobs.get(later.id).state == "queued"
    assert jobs.claim_batch(huey, None, "w1", limit=10, queue="q") == ([], [])
    import time

    time.sleep(0.6)
    claimed, _ = jobs.claim_batch(huey, None, "w1", limit=10, queue="q")
    assert [j.id for j in claimed] == [later.id]
    store.close()
