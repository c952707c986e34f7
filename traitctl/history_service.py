"""Record a command's writes as one history event, and undo one: the use cases behind every
configuration write, ``traitctl rollback EVENT`` and the dashboard's rollback button.

One command = one event: every key it changed (in one file or several) is listed in the event's
``data.changes``, with the edit's hunks (``data.patch``) so that a rollback puts back the exact
text. The configuration edit of a rollback is locked and re-checked; the rollback is itself recorded.

Also the audit log's reading side: listing with filters (:func:`list_events`), the stable export
(:func:`export_rows`), ``history purge`` (:func:`purge`, itself recorded) and the retention of job
events that the daily ``cleanup`` applies (:func:`apply_retention`).

Example usage::

    from traitctl.history_service import record_edits, rollback
    event = record_edits(store, "config.set", [edit], actor="alice", command="traitctl config set …")
    done = rollback(app, event.id, actor="alice", command=f"traitctl rollback {event.id}")
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from traitctl.engine.errors import Conflict, InputError, NotFound, TraitctlError


@dataclass
class Rollback:
    """What a rollback did (or, dry, would do).

    :param edit: the configuration :class:`~traitctl.store.toml_file.Edit` (its ``diff()``).
    :param events: the recorded ``rollback`` events (none when dry).
    """

    edit: Any
    message: str
    events: list = field(default_factory=list)
    #: every file's edit (a one-command event may have changed several files)
    edits: list = field(default_factory=list)
    #: flag overrides put back (``{user, action, on, expires}``), for override events
    overrides: list = field(default_factory=list)


def record_edits(store: Any, kind: str, edits: list, *, actor: str, command: str, trait: str | None = None,
                 model: str | None = None, tenant: str | None = None, data: dict | None = None,
                 reverts: int | None = None) -> Any:
    """Record the changes of ``edits`` (:class:`~traitctl.store.toml_file.Edit`, one per file) as ONE event.

    The event's ``path`` is the longest key path all changes share, ``before``/``after`` the TOML
    literals there (the changed keys only, as an inline table, when there are several);
    ``data.changes`` lists each change (file, path, before, after) and ``data.patch`` keeps each
    file's hunks (:func:`~traitctl.store.toml_file.hunks`) for an exact rollback.

    :param data: extra fields for ``data`` (``flag``, ``source``, ...).
    :returns: the recorded event, or ``None`` when no value changed.
    """
    from traitctl.store.toml_file import UNRECORDED

    try:
        return _record_edits(store, kind, edits, actor=actor, command=command, trait=trait, model=model,
                             tenant=tenant, data=data, reverts=reverts)
    finally:
        UNRECORDED.release()


def _record_edits(store: Any, kind: str, edits: list, *, actor: str, command: str, trait: str | None,
                  model: str | None, tenant: str | None, data: dict | None, reverts: int | None) -> Any:
    changes = [(edit, change, before, after) for edit in edits for change, before, after in _literals(edit)]
    if not changes:
        return None
    prefix = _common_prefix([change.path for _, change, _, _ in changes])
    if len(changes) == 1:
        _, change, before, after = changes[0]
    else:
        before, after = _summary(changes, prefix, "old"), _summary(changes, prefix, "value")
    files = list(dict.fromkeys(str(edit.file) for edit, _, _, _ in changes))
    extra = {"changes": [{"file": str(edit.file), "path": list(change.path), "before": b, "after": a}
                         for edit, change, b, a in changes],
             "patch": {str(edit.file): _hunks(edit) for edit in edits if edit.changed}}
    if len(files) > 1:
        extra["files"] = files
    try:
        return store.events.record(kind=kind, actor=actor, command=command, file=files[0], path=prefix,
                                   before=before, after=after, trait=trait, model=model, tenant=tenant,
                                   reverts=reverts, data={**(data or {}), **extra})
    except BaseException as exc:  # noqa: BLE001 - whatever the store says, the write must not stay unrecorded
        if not isinstance(exc, Exception):
            from traitctl.store import toml_file

            toml_file.undo_written(edits)
            raise
        raise unrecorded(edits, exc) from None


def unrecorded(edits: list, exc: BaseException) -> TraitctlError:
    """The error of a write whose event the store refused (full disk, server gone, locked):
    the written files are put back first (:func:`~traitctl.store.toml_file.undo_written`), so
    that no change is left unrecorded; the sentence says which, if any, could not be."""
    from traitctl.settings import redact
    from traitctl.store import toml_file

    reason = redact((getattr(exc, "message", None) or str(exc) or type(exc).__name__).strip().splitlines()[0])
    try:
        kept = toml_file.undo_written(edits)
    except TraitctlError as undo:
        return InputError(f"The change could not be recorded in the store ({reason}), nor undone ({undo.message}).")
    if kept:
        return InputError(f"The change could not be recorded in the store ({reason}); "
                          f"{', '.join(map(str, kept))} changed since and was left as it is.")
    return InputError(f"The change could not be recorded in the store ({reason}); nothing written: every file is "
                      "as it was.")


def _literals(edit: Any) -> list:
    from traitctl.store.toml_file import ABSENT, render_value

    out = []
    for change in edit.changes:
        before = None if change.old is ABSENT else render_value(change.old)
        after = None if change.value is ABSENT else render_value(change.value)
        if before != after:
            out.append((change, before, after))
    return out


def _hunks(edit: Any) -> list[dict]:
    from traitctl.store.toml_file import hunks

    return hunks(edit.before, edit.after)


def _common_prefix(paths: list[tuple[str, ...]]) -> tuple[str, ...]:
    first = paths[0]
    size = min(len(p) for p in paths)
    for depth in range(size):
        if any(p[depth] != first[depth] for p in paths):
            return first[:depth]
    return first[:size]


def _summary(changes: list, prefix: tuple[str, ...], side: str) -> str | None:
    """The changed keys below ``prefix`` on one side (``old`` or ``value``) as an inline-table
    literal; ``None`` when none of them is set on that side."""
    from traitctl.store.toml_file import ABSENT, render_value

    table: dict = {}
    for _, change, _, _ in changes:
        value = getattr(change, side)
        rest = change.path[len(prefix):]
        if value is ABSENT or not rest:
            continue
        node = table
        for key in rest[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                break
        else:
            node[rest[-1]] = value
    return render_value(table) if table else None


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
    if not event.file and event.kind in OVERRIDE_KINDS:
        return _rollback_overrides(app, event, actor, command, force, dry_run)
    if not event.file:
        raise InputError(f"Event #{event.id} ({event.kind}) changed no configuration file; it cannot be rolled back.")
    if event.data.get("file_created") or event.data.get("file_deleted"):
        return _rollback_file(app, event, actor, command, force, dry_run)
    if event.data.get("changes"):
        restored: list = []

        def overrides() -> dict:  # a flag deleted with its overrides gets them back too
            restored.extend(_restore(app, event, actor, force, dry_run))
            return {"overrides": restored} if restored else {}

        done = _rollback_changes(app, event, actor, command, force, dry_run,
                                 overrides if event.data.get("overrides") else None)
        done.overrides = restored
        return done
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


#: event kinds that changed flag overrides in the store (no file): a rollback puts the overrides back
OVERRIDE_KINDS = ("flag.override", "flag.clear-override")


def _rollback_overrides(app: Any, event: Any, actor: str, command: str, force: bool, dry_run: bool) -> Rollback:
    done = _restore(app, event, actor, force, dry_run)
    name, count = event.data.get("flag"), sum(1 for d in done if d["action"] != "expired")
    message = f"Rolled back event #{event.id}: {count} override(s) of {name} put back" + (
        f" ({len(done) - count} expired since)" if len(done) > count else "")
    if dry_run:
        return Rollback(None, message, overrides=done)
    recorded = app.store().events.record(kind="rollback", actor=actor, command=command, path=event.path,
                                         before=event.after, after=event.before, reverts=event.id,
                                         data={"flag": name, "reverts": event.id, "overrides": done})
    return Rollback(None, message, [recorded], overrides=done)


def _restore(app: Any, event: Any, actor: str, force: bool, dry_run: bool) -> list:
    from traitctl.flags_service import restore_overrides, utcnow

    return restore_overrides(app.store(), event, now=utcnow(), actor=actor, dry_run=dry_run, force=force)


def _rollback_changes(app: Any, event: Any, actor: str, command: str, force: bool, dry_run: bool,
                      also: Any = None) -> Rollback:
    """Undo every change of a one-command event: per file, one locked edit in reverse order (the
    recorded hunks put the text back exactly where the file is otherwise unchanged). All files are
    checked first, so a conflict in one of them writes nothing anywhere."""
    by_file: dict[str, list[dict]] = {}
    for change in event.data["changes"]:
        by_file.setdefault(change["file"], []).append(change)
    patches = event.data.get("patch") or {}
    several = len(by_file) > 1
    specs = [_revert_file(event, file, changes, patches.get(file), force, several=several)
             for file, changes in by_file.items()]
    from traitctl.store import toml_file

    # every file checked, then written all or nothing, under every file's lock
    edits = toml_file.edit_many(specs, lock_timeout=app.settings.lock_timeout, dry_run=dry_run)
    count = len(event.data["changes"])
    if count == 1:
        what = f"{event.target or next(iter(by_file))} = {event.before or '(unset)'}"
    elif event.target:
        what = f"{count} changes under {event.target}"
    else:  # several files with no common key path (a write across tenants)
        what = f"{count} key(s) in {len(by_file)} file(s) restored"
    message = f"Rolled back event #{event.id}: {what}"
    combined = _combined(edits)
    extra = also() if also is not None else {}  # what else the event changed (a deleted flag's overrides)
    if dry_run:
        return Rollback(combined, message)
    done = record_edits(app.store(), "rollback", edits, actor=actor, command=command, trait=event.trait,
                        model=event.model, tenant=event.tenant, data={"reverts": event.id, **extra},
                        reverts=event.id)
    return Rollback(combined, message, [done] if done else [], edits)


def _revert_file(event: Any, file: str, changes: list[dict], patch: list | None, force: bool,
                 several: bool = False) -> tuple:
    """What undoing ``changes`` in ``file`` edits: ``(path, changes, check, undo)`` for
    :func:`~traitctl.store.toml_file.edit_many`."""
    from traitctl.store import toml_file

    wanted = [(tuple(c["path"]), decode(c["before"]), decode(c["after"])) for c in reversed(changes)]
    removal_only = len(changes) == 1 and changes[0]["after"] is None and changes[0]["before"] is not None

    def check(data: dict) -> None:
        if force:
            return
        for path, _, expected in wanted:
            current = toml_file._get(data, path)
            if not _same(current, expected):
                now = "unset" if current is toml_file.ABSENT else toml_file.render_value(current)
                left = "unset" if expected is toml_file.ABSENT else toml_file.render_value(expected)
                where = f"{file}: " if several else ""
                nothing = "nothing rolled back; " if several else ""
                raise Conflict(f"{where}{' -> '.join(path)} is now {now}, not {left} as event #{event.id} left it; "
                               f"{nothing}pass --force to roll back anyway.")

    def restore(before: Any, expected: Any) -> list | None:
        # putting back what the event removed: its exact lines when it removed one key or table
        # (the hunks of its edit), else a normal table where the removed one was
        if expected is not toml_file.ABSENT or before is toml_file.ABSENT:
            return None
        return list(patch or []) if removal_only else []

    edits = [toml_file.Change(path, before, restore=restore(before, expected)) for path, before, expected in wanted]
    return Path(file), edits, check, patch


def _combined(edits: list) -> Any:
    """One object with ``diff()`` and ``changed`` over several files' edits."""
    if len(edits) == 1:
        return edits[0]
    return _Edits(edits)


@dataclass
class _Edits:
    edits: list

    @property
    def changed(self) -> bool:
        return any(e.changed for e in self.edits)

    def diff(self) -> str:
        return "".join(e.diff() for e in self.edits)


def _record(store: Any, edit: Any, event: Any, actor: str, command: str) -> list:
    from traitctl.store.toml_file import ABSENT, render_value

    done = []
    try:
        with store.db.atomic():
            for change in edit.changes:
                before = None if change.old is ABSENT else render_value(change.old)
                after = None if change.value is ABSENT else render_value(change.value)
                if before != after:
                    done.append(store.events.record(kind="rollback", actor=actor, command=command,
                                                    file=str(edit.file), path=change.path, before=before, after=after,
                                                    trait=event.trait, model=event.model, tenant=event.tenant,
                                                    data={"reverts": event.id}))
            for e in done:
                store.events.Row.update(reverts=event.id).where(store.events.Row.id == e.id).execute()
    except Exception as exc:  # noqa: BLE001 - the rollback must not stay unrecorded
        raise unrecorded([edit], exc) from None
    finally:
        from traitctl.store.toml_file import UNRECORDED

        UNRECORDED.release()
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
            created = _created_text(event)
            if before and before != created and not force:
                raise Conflict(f"{path} changed since event #{event.id} created it; pass --force to delete it "
                               "anyway (the rollback keeps its text in history).")
            if not dry_run and path.exists():
                os.unlink(path)
    edit = toml_file.Edit(path, before, after, [])
    message = f"Rolled back event #{event.id} ({'restored' if after else 'deleted'} {path})"
    if dry_run:
        return Rollback(edit, message)
    try:
        recorded = app.store().events.record(kind="rollback", actor=actor, command=command, file=str(path),
                                             tenant=event.tenant, reverts=event.id,
                                             data={"file_deleted": not after, "file_created": bool(after),
                                                   "text": before or after})
    except Exception as exc:  # noqa: BLE001 - the rollback must not stay unrecorded: put the file back
        with toml_file.lock_for(path, app.settings.lock_timeout):
            if after and path.exists() and toml_file.read_text(path) == after:
                if before:
                    toml_file.write_atomic(path, before)
                else:
                    os.unlink(path)
            elif not after and before and not path.exists():
                toml_file.write_atomic(path, before)
        raise unrecorded([], exc) from None
    return Rollback(edit, message, [recorded])


def _created_text(event: Any) -> str | None:
    """The text the creation of ``event.file`` wrote: its ``text``, or for an event recorded without
    one, its patch (:func:`~traitctl.store.toml_file.hunks` of ``""`` and that text) applied to an
    empty file; ``None`` when that does not fit."""
    text = event.data.get("text")
    if isinstance(text, str):
        return text
    patch = (event.data.get("patch") or {}).get(event.file)
    old, new, at = [""], [], 0  # the lines of "", the lines made, how many of `old` they used
    try:
        for hunk in patch:
            equal = hunk["at"] - len(new)
            if equal < 0 or at + equal > len(old) or old[at + equal:at + equal + len(hunk["lines"])] != hunk["lines"]:
                return None
            new += old[at:at + equal] + list(hunk["new"])
            at += equal + len(hunk["lines"])
    except (KeyError, TypeError):
        return None
    return "\n".join(new + old[at:]) if patch else None


def change_list(edit: Any) -> list[dict]:
    """The changed keys of an edit (one :class:`~traitctl.store.toml_file.Edit` or a
    :class:`~traitctl.store.toml_file.MultiEdit`) as :func:`record_edits` lists them in
    ``data.changes``: file, key path, TOML literals before and after."""
    return [{"file": str(one.file), "path": list(change.path), "before": before, "after": after}
            for one in getattr(edit, "edits", [edit]) for change, before, after in _literals(one)]


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
