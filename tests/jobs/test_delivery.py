"""Event delivery to subscribers on every store backend: the cursor, and ids that commit out of order
(on PostgreSQL a transaction holding an earlier id can commit after a later one was read)."""

from __future__ import annotations

import datetime as dt

from traitctl.jobs import delivery

DOC = {"events": {"subscribers": [{"name": "audit-log", "on": ["config.*"], "command": ["true"]}]}}


def _jobs(store, tmp_path):
    from traitctl.jobs.service import Jobs

    return Jobs(store, f"sqlite:///{tmp_path / 'queue.db'}", actor="w", command="worker")


def _event(store, kind="config.set", event_id=None):
    """Record an event (with ``event_id``: at that id, into a hole :func:`_holes` left)."""
    values = dict(ts=dt.datetime(2026, 11, 1), actor="ana", command="traitctl config set", kind=kind)
    if event_id is None:
        return store.events.record(**values).id
    store.events.Row.insert(id=event_id, path="[]", data="{}", **values).execute()
    return event_id


def _holes(store, count):
    """Record ``count`` + 1 events and remove all but the last: ids that are taken but not (yet)
    visible, as those of a transaction still open or rolled back. Returns (hole ids, last id)."""
    ids = [_event(store) for _ in range(count + 1)]
    store.events.Row.delete().where(store.events.Row.id.in_(ids[:-1])).execute()
    return ids[:-1], ids[-1]


def _delivered(store):
    return sorted(job.data["event"] for job in store.jobs.list(operation="deliver", limit=None))


def test_new_events_are_delivered_once(store, tmp_path):
    jobs = _jobs(store, tmp_path)
    _event(store)  # before the first round: not replayed
    assert delivery.dispatch_new(store, jobs, DOC, "default") == 0
    first, _other, second = _event(store), _event(store, kind="flag.set"), _event(store)
    assert delivery.dispatch_new(store, jobs, DOC, "default") == 2
    assert delivery.dispatch_new(store, jobs, DOC, "default") == 0
    assert _delivered(store) == [first, second]


def test_an_id_that_appears_late_is_delivered(store, tmp_path):
    jobs = _jobs(store, tmp_path)
    _event(store)
    delivery.dispatch_new(store, jobs, DOC, "default", now=1000.0)
    (late, never), later = _holes(store, 2)
    assert delivery.dispatch_new(store, jobs, DOC, "default", now=1000.0) == 1
    assert set(store.jobs.cursors(delivery.GAP)) == {f"{delivery.GAP}{late}", f"{delivery.GAP}{never}"}
    _event(store, event_id=late)  # commits late
    assert delivery.dispatch_new(store, jobs, DOC, "default", now=1010.0) == 1
    assert _delivered(store) == [late, later]
    # The other never comes (a rolled-back write): looked for until GAP_WAIT, then forgotten.
    assert delivery.dispatch_new(store, jobs, DOC, "default", now=1000.0 + delivery.GAP_WAIT - 1) == 0
    assert set(store.jobs.cursors(delivery.GAP)) == {f"{delivery.GAP}{never}"}
    delivery.dispatch_new(store, jobs, DOC, "default", now=1000.0 + delivery.GAP_WAIT)
    assert store.jobs.cursors(delivery.GAP) == {} and _delivered(store) == [late, later]


def test_a_late_commit_on_postgresql_is_delivered(pg_url, tmp_path):
    """The real case: a second connection holds an event id in an open transaction while a later
    event commits and is read."""
    import psycopg

    from traitctl.store.db import Store

    store = Store.open(pg_url)
    jobs = _jobs(store, tmp_path)
    delivery.dispatch_new(store, jobs, DOC, "default")
    with psycopg.connect(pg_url) as other:
        held = other.execute(
            "INSERT INTO traitctl_event (ts, actor, command, kind, path, data) "
            "VALUES (now(), 'bob', 'traitctl config set', 'config.set', '[]', '{}') RETURNING id").fetchone()[0]
        after = _event(store)
        assert after > held
        assert delivery.dispatch_new(store, jobs, DOC, "default") == 1
        assert _delivered(store) == [after]
        other.commit()
    assert delivery.dispatch_new(store, jobs, DOC, "default") == 1
    assert _delivered(store) == [held, after]
    store.close()


def test_without_subscribers_the_cursor_skips_ahead(store, tmp_path):
    jobs = _jobs(store, tmp_path)
    _event(store)
    delivery.dispatch_new(store, jobs, DOC, "default", now=0.0)
    _holes(store, 1)
    delivery.dispatch_new(store, jobs, DOC, "default", now=0.0)
    assert store.jobs.cursors(delivery.GAP)
    newest = _event(store)
    assert delivery.dispatch_new(store, jobs, {"events": {"subscribers": []}}, "default") == 0
    assert store.jobs.cursor(delivery.CURSOR) == newest and store.jobs.cursors(delivery.GAP) == {}
