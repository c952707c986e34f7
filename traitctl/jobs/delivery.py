"""Event delivery: every new history event whose kind matches a ``[[events.subscribers]]`` entry
becomes a ``deliver`` job (with retries) that runs the subscriber's command with the event as JSON
on its standard input.

A cursor in the store remembers the last event looked at; jobs are keyed
``deliver:<event id>:<subscriber>``, so two workers never deliver an event twice to one
subscriber. Events of delivery jobs themselves are never delivered (that would loop).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from traitctl.engine import jobs as rules

CURSOR = "events"
BATCH = 200


def dispatch_new(store: Any, jobs: Any, doc: Mapping[str, Any], queue: str) -> int:
    """Create delivery jobs for events after the cursor; returns how many jobs were created.

    The first time (no cursor yet) starts at the newest event: history from before the first
    worker is not replayed.
    """
    section = doc.get("events", {})
    subscribers = rules.parse_subscribers(section if isinstance(section, Mapping) else {})
    cursor = store.jobs.cursor(CURSOR)
    newest = _newest_event_id(store)
    if cursor is None:
        store.jobs.advance_cursor(CURSOR, None, newest)
        return 0
    if not subscribers or newest <= cursor:
        if newest > cursor:
            store.jobs.advance_cursor(CURSOR, cursor, newest)
        return 0
    created, last = 0, cursor
    for event in _events_after(store, cursor):
        last = event.id
        if event.data.get("delivery"):
            continue
        for sub in subscribers:
            if sub.wants(event.kind):
                created += _enqueue(jobs, sub, event, queue)
    store.jobs.advance_cursor(CURSOR, cursor, last)
    return created


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
    ids = [r.id for r in store.events.Row.select(store.events.Row.id)
           .where(store.events.Row.id > cursor).order_by(store.events.Row.id).limit(BATCH)]
    return [e for e in (store.events.get(i) for i in ids) if e is not None]
