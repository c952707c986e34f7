"""Event delivery: every new history event whose kind matches a ``[[events.subscribers]]`` entry
becomes a ``deliver`` job (with retries) that runs the subscriber's command with the event as JSON
on its standard input.

A cursor in the store remembers the highest event id looked at; jobs are keyed
``deliver:<event id>:<subscriber>``, so two workers never deliver an event twice to one
subscriber. Events of delivery jobs themselves are never delivered (that would loop).

**Gaps.** Event ids are handed out when a row is inserted, not when its transaction commits. On
PostgreSQL a transaction that took id 41 can commit after one that took id 42 was read and the
cursor moved past 42. So an id the cursor passes without seeing is remembered as a *gap*
(``events.gap.<id>`` in the cursor table, with when it was first missed) and looked for again
every round until its event appears (then it is delivered) or :data:`GAP_WAIT` seconds pass (a
rolled-back transaction or a sequence that skipped: the gap is forgotten, with a warning in the
worker's log). SQLite runs one writer at a time, so its ids commit in order and no gap arises
there.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from traitctl.engine import jobs as rules

log = logging.getLogger("traitctl.worker")

CURSOR = "events"
GAP = CURSOR + ".gap."
BATCH = 200
#: Seconds a missed event id is looked for again before it is taken for a rolled-back transaction.
GAP_WAIT = 120
#: At most this many missed ids are remembered from one round (a sequence that jumped far is not
#: a run of transactions still open).
MAX_GAPS = 1000


def dispatch_new(store: Any, jobs: Any, doc: Mapping[str, Any], queue: str, now: float | None = None) -> int:
    """Create delivery jobs for events after the cursor, and for earlier ids that were missing when
    the cursor passed them and have appeared since; returns how many jobs were created.

    The first time (no cursor yet) starts at the newest event: history from before the first
    worker is not replayed.

    :param now: the time in seconds since the epoch (default: the clock), for gap ages.
    """
    now = time.time() if now is None else now
    section = doc.get("events", {})
    subscribers = rules.parse_subscribers(section if isinstance(section, Mapping) else {})
    cursor = store.jobs.cursor(CURSOR)
    newest = _newest_event_id(store)
    if cursor is None:
        store.jobs.advance_cursor(CURSOR, None, newest)
        return 0
    if not subscribers:  # nothing to deliver to: skip ahead, and forget any gaps
        if newest > cursor:
            store.jobs.advance_cursor(CURSOR, cursor, newest)
        for name in store.jobs.cursors(GAP):
            store.jobs.drop_cursor(name)
        return 0
    created = _late_events(store, jobs, subscribers, queue, now)
    if newest <= cursor:
        return created
    events = _events_after(store, cursor)
    missed: list[int] = []
    expected = cursor + 1
    for event in events:
        missed += range(expected, event.id)[:MAX_GAPS - len(missed)]
        expected = event.id + 1
        created += _deliver(jobs, subscribers, event, queue)
    last = events[-1].id if events else cursor
    with store.db.atomic():
        if store.jobs.advance_cursor(CURSOR, cursor, last):  # another worker moved it: it saw the gaps
            for event_id in missed:
                store.jobs.advance_cursor(f"{GAP}{event_id}", None, int(now))
    return created


def _late_events(store: Any, jobs: Any, subscribers: list, queue: str, now: float) -> int:
    """Deliver the events of remembered gaps that have appeared; forget gaps older than GAP_WAIT."""
    gaps = store.jobs.cursors(GAP)
    if not gaps:
        return 0
    ids = {int(name[len(GAP):]): since for name, since in gaps.items()}
    found = {e.id: e for e in _events_by_id(store, sorted(ids))}
    created = 0
    for event_id, since in sorted(ids.items()):
        event = found.get(event_id)
        if event is not None:
            created += _deliver(jobs, subscribers, event, queue)
        elif now - since < GAP_WAIT:
            continue
        else:
            log.warning("event id %s never appeared within %ss: taken for a rolled-back write", event_id, GAP_WAIT)
        store.jobs.drop_cursor(f"{GAP}{event_id}")
    return created


def _deliver(jobs: Any, subscribers: list, event: Any, queue: str) -> int:
    if event.data.get("delivery"):
        return 0
    return sum(_enqueue(jobs, sub, event, queue) for sub in subscribers if sub.wants(event.kind))


def _enqueue(jobs: Any, sub: rules.Subscriber, event: Any, queue: str) -> int:
    spec = rules.OperationSpec(name="deliver", kind="builtin", retries=sub.retries, retry_delay=sub.retry_delay,
                               timeout=sub.timeout, queue=queue)
    data = {"event": event.id, "kind": event.kind, "subscriber": sub.name, "command": list(sub.command),
            "timeout": sub.timeout}
    job = jobs.enqueue(spec, trait=event.trait, tenant=event.tenant, data=data, key=f"deliver:{event.id}:{sub.name}")
    return 0 if job is None else 1


def _newest_event_id(store: Any) -> int:
    latest = store.events.list(limit=1)
    return latest[0].id if latest else 0


def _events_after(store: Any, cursor: int) -> list:
    # The events repository lists newest first; delivery needs oldest first after an id.
    Row = store.events.Row
    ids = [r.id for r in Row.select(Row.id).where(Row.id > cursor).order_by(Row.id).limit(BATCH)]
    return _events_by_id(store, ids)


def _events_by_id(store: Any, ids: list[int]) -> list:
    return [e for e in (store.events.get(i) for i in ids) if e is not None]
