"""Undo a recorded change: the use case behind ``traitctl rollback EVENT`` and the dashboard's
rollback button. The configuration edit is locked and re-checked; the rollback is itself recorded.

Also the audit log's reading side: listing with filters (:func:`list_events`), the stable export
(:func:`export_rows`), ``history purge`` (:func:`purge`, itself recorded) and the retention of job
events that the daily ``cleanup`` applies (:func:`apply_retention`).

Example usage::

    from traitctl.history_service import rollback
    done = rollback(app, 42, actor="alice", command="traitctl rollback 42")
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from traitctl.engine.errors import Conflict, InputError, NotFound


@dataclass
class Rollback:
    """What a rollback did (or, dry, would do).

    :param edit: the configuration :class:`~traitctl.store.toml_file.Edit` (its ``diff()``).
    :param events: the recorded ``rollback`` events (none when dry).
    """

    edit: Any
    message: str
    events: list = field(default_factory=list)


def rollback(app: Any, event_id: int, *, actor: str, command: str, force: bool = False,
             dry_run: bool = False) -> Rollback:
    """Restore the value event ``event_id`` replaced.

    :param app: the :class:`~traitctl.context.App` (store, lock timeout).
    :raises NotFound: for an unknown event.
    :raises InputError: when the event changed no file or key.
    :raises Conflict: when the value changed since, unless ``force``.
    """
    from traitctl.store import toml_file

    store = app.store()
    event = store.events.get(event_id)
    if event is None:
        raise NotFound("event", str(event_id))
    if event.data.get("changes"):
        return _rollback_changes(app, event, actor, command, force, dry_run)
    if not event.file:
        raise InputError(f"Event #{event.id} ({event.kind}) changed no configuration file; it cannot be rolled back.")
    if event.data.get("file_created") or event.data.get("file_deleted"):
        return _rollback_file(app, event, actor, command, force, dry_run)
    if not event.path:
        raise InputError(f"Event #{event.id} ({event.kind}) names no key; it cannot be rolled back.")
    before = decode(event.before)

    def check(data: dict) -> None:
        current = toml_file._get(data, event.path)
        expected = decode(event.after)
        if not force and not _same(current, expected):
            now = "unset" if current is toml_file.ABSENT else toml_file.render_value(current)
            raise Conflict(f"{event.target} is now {now}, not {event.after or 'unset'} as event #{event.id} left it; "
                           "pass --force to roll back anyway.")

    # a removal's lines come back exactly where their surroundings are unchanged
    restore = list(event.data.get("removed") or []) if event.before is not None and event.after is None else None
    edit = toml_file.edit(Path(event.file), [toml_file.Change(event.path, before, restore=restore)], check=check,
                          dry_run=dry_run, lock_timeout=app.settings.lock_timeout)
    message = f"Rolled back event #{event.id}: {event.target} = {event.before or '(unset)'}"
    if dry_run:
        return Rollback(edit, message)
    done = _record(store, edit, event, actor, command)
    return Rollback(edit, message, done)


def _record(store: Any, edit: Any, event: Any, actor: str, command: str) -> list:
    from traitctl.store.toml_file import ABSENT, render_value

    done = []
    for change in edit.changes:
        before = None if change.old is ABSENT else render_value(change.old)
        after = None if change.value is ABSENT else render_value(change.value)
        if before != after:
            done.append(store.events.record(kind="rollback", actor=actor, command=command, file=str(edit.file),
                                            path=change.path, before=before, after=after, trait=event.trait,
                                            model=event.model, tenant=event.tenant, data={"reverts": event.id}))
    for e in done:
        store.events.Row.update(reverts=event.id).where(store.events.Row.id == e.id).execute()
    return done


def _rollback_file(app: Any, event: Any, actor: str, command: str, force: bool, dry_run: bool) -> Rollback:
    """Undo the creation or deletion of a whole tenant file."""
    from traitctl.store import toml_file

    path = Path(event.file)
    with toml_file.lock_for(path, app.settings.lock_timeout):
        if event.data.get("file_deleted"):
            if path.exists() and not force:
                raise Conflict(f"{path} exists again; pass --force to overwrite it with the removed contents.")
            before, after = (path.read_text() if path.exists() else ""), event.data.get("text", "")
            if not dry_run:
                toml_file.write_atomic(path, after)
        else:
            before = toml_file.read_text(path) if path.exists() else ""
            after = ""
            if not dry_run and path.exists():
                os.unlink(path)
    edit = toml_file.Edit(path, before, after, [])
    message = f"Rolled back event #{event.id} ({'restored' if after else 'deleted'} {path})"
    if dry_run:
        return Rollback(edit, message)
    recorded = app.store().events.record(kind="rollback", actor=actor, command=command, file=str(path),
                                         tenant=event.tenant, reverts=event.id,
                                         data={"file_deleted": not after, "file_created": bool(after),
                                               "text": before or after})
    return Rollback(edit, message, [recorded])


def change_list(edit: Any) -> list[dict]:
    """The changed keys of an edit (one :class:`~traitctl.store.toml_file.Edit` or a
    :class:`~traitctl.store.toml_file.MultiEdit`) as ``data.changes`` of one event: file, key path,
    TOML literals before and after, and for a removal the lines it took out."""
    from traitctl.store.toml_file import ABSENT, render_value

    out = []
    for one in getattr(edit, "edits", [edit]):
        for change in one.changes:
            before = None if change.old is ABSENT else render_value(change.old)
            after = None if change.value is ABSENT else render_value(change.value)
            if before != after:
                out.append({"file": str(one.file), "path": list(change.path), "before": before, "after": after,
                            **({"removed": change.removed} if change.removed and after is None else {})})
    return out


def record_changes(store: Any, kind: str, edit: Any, *, actor: str, command: str, trait: str | None = None,
                   model: str | None = None, tenant: str | None = None, reverts: int | None = None,
                   data: dict | None = None) -> Any:
    """Record one event for every key a command changed, in one file or many: ``data.changes``
    lists them all (see :func:`change_list`), and the event's own file, path, before and after are
    those of the first. ``None`` when nothing changed.

    A rollback of the event restores every change at once (:func:`rollback`).
    """
    changes = change_list(edit)
    if not changes:
        return None
    first = changes[0]
    return store.events.record(kind=kind, actor=actor, command=command, file=first["file"],
                               path=tuple(first["path"]), before=first["before"], after=first["after"],
                               trait=trait, model=model, tenant=tenant, reverts=reverts,
                               data={**(data or {}), "changes": changes})


def _rollback_changes(app: Any, event: Any, actor: str, command: str, force: bool, dry_run: bool) -> Rollback:
    """Undo every change of a multi-key event (``data.changes``) as one locked operation."""
    from traitctl.store import toml_file

    files: dict[Path, list] = {}
    expected: dict[tuple[str, tuple[str, ...]], Any] = {}
    for item in event.data["changes"]:
        path, key = Path(item["file"]), tuple(item["path"])
        restore = list(item.get("removed") or []) if item["before"] is not None and item["after"] is None else None
        files.setdefault(path, []).append(toml_file.Change(key, decode(item["before"]), restore=restore))
        expected[(str(path), key)] = decode(item["after"])

    def check(path: Path, data: dict) -> None:
        for change in files[path]:
            current = toml_file._get(data, change.path)
            if not force and not _same(current, expected[(str(path), change.path)]):
                now = "unset" if current is toml_file.ABSENT else toml_file.render_value(current)
                raise Conflict(f"{path}: {' -> '.join(change.path)} is now {now}, not as event #{event.id} left it; "
                               "nothing rolled back; pass --force to roll back anyway.")

    edit = toml_file.edit_files(app.settings.config_path, files, check=check, dry_run=dry_run,
                                lock_timeout=app.settings.lock_timeout)
    count = len(event.data["changes"])
    message = f"Rolled back event #{event.id}: {count} key(s) in {len(files)} file(s) restored"
    if dry_run:
        return Rollback(edit, message)
    done = record_changes(app.store(), "rollback", edit, actor=actor, command=command, trait=event.trait,
                          model=event.model, tenant=event.tenant, reverts=event.id, data={"reverts": event.id})
    return Rollback(edit, message, [done] if done else [])


def decode(literal: str | None) -> Any:
    """A stored TOML literal back to its value (``ABSENT`` for ``None``)."""
    from traitctl.store.toml_file import ABSENT

    if literal is None:
        return ABSENT
    import tomllib

    return tomllib.loads(f"v = {literal}")["v"]


def _same(current: Any, expected: Any) -> bool:
    from traitctl.store.toml_file import ABSENT

    if current is ABSENT or expected is ABSENT:
        return current is expected
    return current == expected


# -- listing, export, purge and retention ------------------------------------------------------------------
def history_filter(*, kinds: list[str] | None = None, everything: bool = False, actor: str | None = None,
                   trait: str | None = None, model: str | None = None, tenant: str | None = None,
                   key: str | None = None, since: str | None = None, until: str | None = None,
                   now: Any = None) -> Any:
    """A :class:`traitctl.engine.history.Filter` from the options of ``history`` as typed
    (``--since 7d``, ``--until 2026-11-01T10:00``).

    :raises InputError: for a time that does not parse, or ``--until`` before ``--since``.
    """
    from traitctl.engine.history import Filter
    from traitctl.engine.timeparse import parse_since

    now = now or _utcnow()
    start = parse_since(since, now) if since else None
    end = parse_since(until, now, "--until") if until else None
    if start is not None and end is not None and end <= start:
        raise InputError(f"--until {until} is not after --since {since}.")
    return Filter(kinds=tuple(k for k in kinds or () if k), everything=everything, actor=actor, trait=trait,
                  model=model, tenant=tenant, key=key, since=start, until=end)


def retention(app: Any) -> int:
    """``[history] retention_days`` (default 14), checked: the ``history`` commands refuse to run on
    a bad value, as the cleanup job does, so it is noticed before job events pile up.

    :raises InputError: naming ``history -> retention_days``.
    """
    from traitctl.engine.history import retention_days

    return retention_days(app.main_doc().get("history", {}))


def list_events(app: Any, where: Any, limit: int | None = 50) -> list:
    """The events ``history`` shows, newest first (``limit`` 0 or ``None``: all)."""
    retention(app)
    return app.store().events.select(where, limit=limit or None)


def export_rows(app: Any, where: Any) -> Any:
    """The audit export's rows (:data:`traitctl.engine.history.EXPORT_COLUMNS`), oldest first,
    every command line redacted again (an event stored before a redaction rule existed is
    redacted too)."""
    from traitctl.engine.history import export_row
    from traitctl.settings import redact

    retention(app)
    sources = (app.settings.store_url, app.settings.queue_url)
    return [export_row(e, lambda text: redact(text, *sources))
            for e in app.store().events.select(where, limit=None, newest_first=False)]


@dataclass
class Purge:
    """What ``history purge`` removed (or, dry, would remove).

    :param event: the recorded ``history.purged`` event (``None`` when dry or nothing matched).
    """

    count: int
    before: Any
    kinds: dict = field(default_factory=dict)
    event: Any = None


def purge(app: Any, before: Any, *, actor: str, command: str, dry_run: bool = False) -> Purge:
    """Delete every event recorded before ``before`` (naive UTC), configuration events included;
    the purge itself is then recorded (kind ``history.purged``, with the count and the cut-off)."""
    from traitctl.engine.history import Filter

    retention(app)
    store = app.store()
    doomed = store.events.select(Filter(everything=True, until=before), limit=None)
    kinds: dict[str, int] = {}
    for event in doomed:
        kinds[event.kind] = kinds.get(event.kind, 0) + 1
    done = Purge(len(doomed), before, dict(sorted(kinds.items())))
    if dry_run or not doomed:
        return done
    with store.db.atomic():
        # recorded first: its id follows the newest event's, so no id is ever given out twice
        # (SQLite reuses the highest id once it is deleted; event delivery follows ids)
        done.event = store.events.record(kind="history.purged", actor=actor, command=command,
                                         data={"deleted": done.count, "before": before.isoformat(),
                                               "kinds": done.kinds})
        store.events.delete([e.id for e in doomed])
    return done


def apply_retention(app: Any, now: Any) -> int:
    """Delete job events older than ``[history] retention_days`` (default 14); configuration,
    flag, tenant and override events are kept (``history purge`` removes them). The daily
    ``cleanup`` job calls this. Returns how many were deleted.

    :raises InputError: naming ``history -> retention_days`` for a bad value.
    """
    import datetime as dt

    from traitctl.engine.history import JOB_KIND_PREFIX

    days = retention(app)
    return app.store().events.purge_kind_prefix(JOB_KIND_PREFIX, now - dt.timedelta(days=days))


def _utcnow() -> Any:
    import datetime as dt

    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
