"""History: every write recorded with who, when, what, before and after (the audit log)."""

from __future__ import annotations

import datetime as dt
import json
import operator
from collections.abc import Callable
from typing import Any

import peewee

from traitctl.engine.history import Event
from traitctl.store.db import model_base, retrying, storable_text


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class EventRepo:
    """Record and list history events.

    Only ``ts`` is indexed besides the id (schema version 2 dropped the indexes on kind, trait and
    tenant, when every job transition wrote an event; since version 4 jobs keep their transitions
    in their records and only audited job events are written): listings run newest first by id
    and stop at their limit, with the filters of :class:`traitctl.engine.history.Filter`.

    Listeners added with :meth:`subscribe` are called with each recorded :class:`Event` after it
    is stored (event delivery to subscribers hooks in here).
    """

    def __init__(self, db: peewee.Database) -> None:
        class EventRow(model_base(db)):
            ts = peewee.DateTimeField(index=True)
            actor = peewee.CharField(max_length=200)
            command = peewee.TextField()
            kind = peewee.CharField(max_length=64)
            file = peewee.TextField(null=True)
            path = peewee.TextField(default="[]")
            before = peewee.TextField(null=True)
            after = peewee.TextField(null=True)
            trait = peewee.CharField(max_length=300, null=True)
            model = peewee.CharField(max_length=300, null=True)
            tenant = peewee.CharField(max_length=64, null=True)
            reverts = peewee.IntegerField(null=True)
            data = peewee.TextField(default="{}")

            class Meta:
                table_name = "traitctl_event"

        self.db = db
        self.Row = EventRow
        self.models = [EventRow]
        self._listeners: list[Callable[[Event], None]] = []

    def subscribe(self, listener: Callable[[Event], None]) -> None:
        self._listeners.append(listener)

    def record(self, *, kind: str, actor: str, command: str, file: str | None = None,
               path: tuple[str, ...] = (), before: str | None = None, after: str | None = None,
               trait: str | None = None, model: str | None = None, tenant: str | None = None,
               reverts: int | None = None, data: dict[str, Any] | None = None,
               ts: dt.datetime | None = None) -> Event:
        """Store one event and return it with its id.

        :param before: TOML literal of the value before, ``None`` when absent.
        :param after: TOML literal of the value after, ``None`` when removed.
        """
        from traitctl.settings import redact

        values = dict(ts=ts or utcnow(), actor=storable_text(actor), command=storable_text(redact(command)), kind=kind,
                      file=storable_text(file), path=json.dumps(list(path)), before=storable_text(before),
                      after=storable_text(after), trait=trait,
                      model=model, tenant=tenant, reverts=reverts, data=json.dumps(data or {}, default=str))
        row = retrying(self.db, lambda: self.Row.create(**values))
        event = _to_event(row)
        for listener in self._listeners:
            listener(event)
        return event

    def get(self, event_id: int) -> Event | None:
        row = self.Row.get_or_none(self.Row.id == event_id)
        return _to_event(row) if row else None

    def list(self, *, kind: str | None = None, trait: str | None = None, tenant: str | None = None,
             since: dt.datetime | None = None, path_prefix: tuple[str, ...] | None = None,
             limit: int | None = 50) -> list[Event]:
        """Events newest first.

        :param kind: an exact kind, or a prefix ending in ``*`` (``config.*``).
        :param path_prefix: only events whose key path starts with this (e.g. ``("flags", "beta")``).
        """
        R = self.Row
        query = R.select().order_by(R.id.desc())
        if kind:
            query = query.where(R.kind.startswith(kind[:-1]) if kind.endswith("*") else R.kind == kind)
        if trait:
            query = query.where(R.trait == trait)
        if tenant:
            query = query.where(R.tenant == tenant)
        if since:
            query = query.where(R.ts >= since)
        if path_prefix:
            prefix = json.dumps(list(path_prefix))[:-1]
            query = query.where(R.path.startswith(prefix))
        if limit:
            query = query.limit(limit)
        return [_to_event(row) for row in query]

    def select(self, where: Any, limit: int | None = 50, newest_first: bool = True) -> list[Event]:
        """Events passing ``where`` (a :class:`traitctl.engine.history.Filter`), newest first (or
        oldest first). The kind, actor, trait, tenant and time filters run in SQL; globs and key
        paths are checked again on each row (:func:`traitctl.engine.history.matches`)."""
        from traitctl.engine.history import JOB_KIND_PREFIX, matches

        R = self.Row
        query = R.select().order_by(R.id.desc() if newest_first else R.id)
        if where.kinds:
            query = query.where(peewee.reduce(operator.or_, [R.kind ** _like(k) for k in where.kinds]))
        if where.hides_jobs:
            query = query.where(~R.kind.startswith(JOB_KIND_PREFIX))
        if where.actor is not None and not _has_glob(where.actor):
            query = query.where(R.actor == where.actor)
        if where.trait is not None:
            query = query.where(R.trait == where.trait)
        if where.tenant is not None:
            query = query.where(_touches_tenant(R, where.tenant))
        if where.model is not None:
            query = query.where(R.model.is_null(False))
        if where.since is not None:
            query = query.where(R.ts >= where.since)
        if where.until is not None:
            query = query.where(R.ts < where.until)
        out = []
        for row in query.iterator():
            event = _to_event(row)
            if matches(event, where):
                out.append(event)
                if limit and len(out) >= limit:
                    break
        return out

    def delete(self, ids: list[int]) -> int:
        """Delete the events with these ids (retention and ``history purge``)."""
        R, deleted = self.Row, 0
        for start in range(0, len(ids), 500):
            deleted += R.delete().where(R.id.in_(ids[start:start + 500])).execute()
        return deleted

    def purge_kind_prefix(self, prefix: str, before: dt.datetime) -> int:
        """Delete events whose kind starts with ``prefix`` recorded before ``before``."""
        R = self.Row
        newest = R.select(peewee.fn.MAX(R.id)).scalar() or 0  # kept: SQLite would give its id out again
        return R.delete().where(R.kind.startswith(prefix) & (R.ts < before) & (R.id < newest)).execute()

    def latest_for(self, file: str, path: tuple[str, ...]) -> Event | None:
        """The newest event that changed ``path`` in ``file``."""
        R = self.Row
        row = (R.select().where((R.file == file) & (R.path == json.dumps(list(path))))
               .order_by(R.id.desc()).first())
        return _to_event(row) if row else None

    def count(self) -> int:
        return self.Row.select().count()


def _to_event(row: Any) -> Event:
    return Event(id=row.id, ts=row.ts, actor=row.actor, command=row.command, kind=row.kind, file=row.file,
                 path=tuple(json.loads(row.path or "[]")), before=row.before, after=row.after,
                 trait=row.trait, model=row.model, tenant=row.tenant, reverts=row.reverts,
                 data=json.loads(row.data or "{}"))


def _touches_tenant(R: Any, tenant: str) -> Any:
    """Rows that may be about ``tenant``: its ``tenant`` column, or a key path under
    ``tenants.<id>`` or a file ``tenants/<id>.toml`` in the row's own columns or its
    ``data.changes`` (a bulk write across tenants names none in its column). A superset (LIKE
    reads ``_`` as any character); :func:`traitctl.engine.history.matches` decides on each row."""
    under = json.dumps(["tenants", tenant])[:-1]  # '["tenants", "acme"' as the JSON of a path has it
    own_file = f"{tenant}.toml"
    return ((R.tenant == tenant) | R.path.startswith(under) | R.file.endswith(own_file)
            | (R.data.contains(under[1:]) | R.data.contains(own_file)))


def _has_glob(text: str) -> bool:
    return any(c in text for c in "*?[")


def _like(pattern: str) -> str:
    """A glob as a LIKE pattern matching at least what the glob matches (``[…]`` becomes any one
    character; ``%`` and ``_`` in the glob only widen it): rows are checked again exactly."""
    import re

    out = re.sub(r"\[[^\]]*\]", "_", pattern)
    return out.replace("*", "%").replace("?", "_")
