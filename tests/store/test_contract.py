"""One contract suite for the store, run on SQLite (memory and file) and the real PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from traitctl.engine.errors import StoreError
from traitctl.engine.workers import WorkerBeat
from traitctl.store.db import SCHEMA_VERSION, Store


def record(store, **kw):
    base = dict(kind="config.set", actor="ana", command="traitctl config set", file="/c/traits.toml",
                path=("traits", "HasUuid", "version"), before="4", after="7", trait="HasUuid")
    base.update(kw)
    return store.events.record(**base)


def test_schema_version_is_current(store):
    assert store.schema_version() == SCHEMA_VERSION


def test_event_round_trip(store):
    event = record(store, data={"why": "test"}, tenant="acme", model="App\\Models\\User")
    loaded = store.events.get(event.id)
    assert loaded == event
    assert loaded.path == ("traits", "HasUuid", "version") and loaded.data == {"why": "test"}
    assert loaded.target == "traits -> HasUuid -> version"


def test_events_list_newest_first_with_filters(store):
    first = record(store)
    second = record(store, kind="tenant.add", trait=None, tenant="acme", path=("tenants", "acme", "name"))
    third = record(store, kind="config.unset", ts=dt.datetime(2020, 1, 1))
    assert [e.id for e in store.events.list()] == [third.id, second.id, first.id]
    assert [e.id for e in store.events.list(kind="config.*")] == [third.id, first.id]
    assert [e.id for e in store.events.list(tenant="acme")] == [second.id]
    assert [e.id for e in store.events.list(trait="HasUuid", since=dt.datetime(2021, 1, 1))] == [first.id]
    assert [e.id for e in store.events.list(path_prefix=("tenants",))] == [second.id]
    assert len(store.events.list(limit=2)) == 2
    assert store.events.count() == 3


def test_latest_for_a_key(store):
    record(store, after="5")
    last = record(store, before="5", after="6")
    record(store, path=("traits", "Other", "x"))
    assert store.events.latest_for("/c/traits.toml", ("traits", "HasUuid", "version")).id == last.id
    assert store.events.get(10**6) is None


def test_listeners_see_each_recorded_event(store):
    seen = []
    store.events.subscribe(seen.append)
    event = record(store)
    assert seen == [event]


def test_worker_heartbeats_upsert_and_purge(store):
    t0 = dt.datetime(2026, 1, 1, 12, 0, 0)
    beat = WorkerBeat("h:1:1", "h", 1, "idle", "default", t0, t0)
    store.workers.beat(beat)
    store.workers.beat(WorkerBeat("h:1:1", "h", 1, "busy", "default", t0, t0 + dt.timedelta(seconds=5), jobs_done=3))
    store.workers.beat(WorkerBeat("h:2:1", "h", 2, "idle", "default", t0, t0 - dt.timedelta(hours=1)))
    beats = store.workers.list()
    assert [b.worker_id for b in beats] == ["h:1:1", "h:2:1"]
    assert beats[0].state == "busy" and beats[0].jobs_done == 3
    assert beats[0].alive(t0 + dt.timedelta(seconds=10), max_age=30)
    assert not beats[1].alive(t0, max_age=30)
    assert store.workers.purge(t0 - dt.timedelta(minutes=1)) == 1
    assert [b.worker_id for b in store.workers.list()] == ["h:1:1"]


def test_reopening_keeps_data(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    first = Store.open(url)
    event = record(first)
    first.close()
    again = Store.open(url)
    assert again.events.get(event.id) == event
    again.close()


def test_unreachable_postgres_is_one_sentence_without_password():
    with pytest.raises(StoreError) as info:
        Store.open("postgresql://admin:s3cret@127.0.0.1:1/nowhere")
    message = info.value.message
    assert "s3cret" not in message and "admin:***@127.0.0.1:1" in message
    assert message.startswith("Cannot open the store at postgresql://")
    assert "\n" not in message


def test_unsupported_url():
    with pytest.raises(StoreError, match="Unsupported store URL 'mysql://u:\\*\\*\\*@h/db'"):
        Store.open("mysql://u:pw@h/db")


def test_version_1_store_is_upgraded_on_open(tmp_path):
    """A store written by schema version 1 (indexes on kind, trait and tenant) opens as the current
    version."""
    url = f"sqlite:///{tmp_path / 'v1.db'}"
    first = Store.open(url)
    record(first)
    for column in ("kind", "trait", "tenant"):
        first.db.execute_sql(f"CREATE INDEX eventrow_{column} ON traitctl_event ({column})")
    first.db.execute_sql("UPDATE traitctl_meta SET value = '1' WHERE key = 'schema_version'")
    first.close()
    again = Store.open(url)
    indexes = {row[0] for row in again.db.execute_sql(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'traitctl_event'")}
    assert again.schema_version() == SCHEMA_VERSION
    assert not indexes & {"eventrow_kind", "eventrow_trait", "eventrow_tenant"}
    assert again.events.count() == 1
    again.close()


def _indexes(store, table):
    return {row[0] for row in store.db.execute_sql(
        f"SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = '{table}' AND sql IS NOT NULL")}


def test_version_2_store_gets_partial_job_indexes(tmp_path):
    """Version 3: the job table's full indexes (key, trait, state, enqueued, finished) are replaced by
    partial ones; records survive and a key stays unique."""
    import datetime as dt

    from traitctl.engine.jobs import Job
    from traitctl.store.jobs import ACTIVE

    url = f"sqlite:///{tmp_path / 'v2.db'}"
    first = Store.open(url)
    job = first.jobs.create(Job(id=0, trait="A", operation="audit", key="k1", enqueued=dt.datetime(2026, 5, 1)))
    for name in list(_indexes(first, "traitctl_job")):
        first.db.execute_sql(f"DROP INDEX {name}")
    first.db.execute_sql('CREATE UNIQUE INDEX jobrow_key ON traitctl_job ("key")')
    for column in ("trait", "state", "enqueued", "finished"):
        first.db.execute_sql(f'CREATE INDEX jobrow_{column} ON traitctl_job ("{column}")')
    first.db.execute_sql("UPDATE traitctl_meta SET value = '2' WHERE key = 'schema_version'")
    first.close()
    again = Store.open(url)
    assert again.schema_version() == SCHEMA_VERSION
    assert _indexes(again, "traitctl_job") == {"job_key_unique", "job_active", "job_finished"}
    assert again.jobs.get(job.id).key == "k1"
    assert again.jobs.create(Job(id=0, trait="A", operation="audit", key="k1", enqueued=dt.datetime(2026, 5, 1))) is None
    # SQLite uses the partial index for the active-state queries (recovery polls them).
    sql, params = again.jobs.Row.select().where(ACTIVE & (again.jobs.Row.state == "running")).sql()
    plan = " ".join(str(row) for row in again.db.execute_sql("EXPLAIN QUERY PLAN " + sql, params))
    assert "job_active" in plan
    again.close()


def test_version_4_store_orders_its_active_jobs_by_queue_and_priority(tmp_path):
    """Version 5: the index of active jobs is (state, queue, priority desc, id), so a worker claims
    the next jobs of its queue from the store in order, reading no other row and sorting nothing."""
    url = f"sqlite:///{tmp_path / 'v4.db'}"
    first = Store.open(url)
    first.db.execute_sql("DROP INDEX job_active")
    first.db.execute_sql('CREATE INDEX job_active_state ON traitctl_job ("state") '
                         "WHERE \"state\" IN ('queued', 'running')")
    first.db.execute_sql("UPDATE traitctl_meta SET value = '4' WHERE key = 'schema_version'")
    first.close()
    again = Store.open(url)
    assert again.schema_version() == SCHEMA_VERSION
    assert _indexes(again, "traitctl_job") == {"job_key_unique", "job_active", "job_finished"}
    fast = again.jobs.fast
    params = ["running", "w", "2026-05-01 12:00:00", "{", "}", "queued", "default", "2026-05-01 12:00:00", 32, "queued"]
    plan = " ".join(str(row) for row in again.db.execute_sql("EXPLAIN QUERY PLAN " + fast.claim_next_sql, params))
    assert "job_active" in plan and "TEMP B-TREE" not in plan, plan
    again.close()


def test_version_3_store_gets_the_job_timeline(tmp_path):
    """Version 4: job records keep their transitions (``timeline``); older records read as having
    none, and their next transition is appended."""
    import datetime as dt

    from traitctl.engine.jobs import Job

    url = f"sqlite:///{tmp_path / 'v3.db'}"
    first = Store.open(url)
    job = first.jobs.create(Job(id=0, trait="A", operation="audit", enqueued=dt.datetime(2026, 5, 1)))
    first.db.execute_sql("ALTER TABLE traitctl_job DROP COLUMN timeline")
    first.db.execute_sql("UPDATE traitctl_meta SET value = '3' WHERE key = 'schema_version'")
    first.close()
    again = Store.open(url)
    assert again.schema_version() == SCHEMA_VERSION
    assert again.jobs.get(job.id).timeline == ()
    claimed = again.jobs.claim(job.id, "w1", dt.datetime(2026, 5, 1, 0, 1))
    assert [(e["event"], e["attempt"], e["worker"]) for e in claimed.timeline] == [("started", 1, "w1")]
    again.close()
