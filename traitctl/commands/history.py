"""``traitctl history`` and ``traitctl rollback``: who changed what, and undoing it."""

from __future__ import annotations

from typing import Optional

import typer

from traitctl.commands.common import DryRunOpt, JsonOpt, OptTraitOpt, TenantOpt, app_for, command_line, show_diff
from traitctl.engine.errors import Conflict, InputError, NotFound

history_app = typer.Typer(help="Show recorded changes.")
rollback_app = typer.Typer(help="Undo a recorded change.")


@history_app.command()
def history(trait: OptTraitOpt = None, tenant: TenantOpt = None,
            since: Optional[str] = typer.Option(None, help="Only events since: 2026-11-01, 2026-11-01T10:00 or 7d, 12h, 30m."),
            kind: Optional[str] = typer.Option(None, help="Only this kind (config.set) or prefix (config.*, flag.*)."),
            limit: int = typer.Option(50, min=1, help="At most this many events, newest first."),
            json: JsonOpt = False) -> None:
    """List recorded changes, newest first: time, actor, what, before and after."""
    import datetime as dt

    from traitctl.engine.timeparse import parse_since

    app_ = app_for(json)
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    start = parse_since(since, now) if since else None
    events = app_.store().events.list(trait=trait, tenant=tenant, since=start, kind=kind, limit=limit)
    if app_.out.json_mode:
        app_.out.json({"events": events})
        return
    rows = [(e.id, e.ts.strftime("%Y-%m-%d %H:%M:%S"), e.actor, e.kind, e.tenant or "", e.target,
             e.before if e.before is not None else "-", e.after if e.after is not None else "-") for e in events]
    app_.out.table(["#", "Time (UTC)", "Actor", "Kind", "Tenant", "Key", "Before", "After"], rows,
                   caption=f"{len(rows)} events" + (" (limit reached: --limit N for more)" if len(rows) == limit else ""))


@rollback_app.command()
def rollback(event_id: int = typer.Argument(..., metavar="EVENT", help="Event number from `traitctl history`."),
             force: bool = typer.Option(False, "--force", help="Roll back even if the value changed since."),
             dry_run: DryRunOpt = False, json: JsonOpt = False) -> None:
    """Restore the value an event replaced. Refused (exit 1) when the value changed since, unless --force.

    The rollback is itself recorded (kind `rollback`).
    """
    from pathlib import Path

    from traitctl.store import toml_file

    app_ = app_for(json)
    store = app_.store()
    event = store.events.get(event_id)
    if event is None:
        raise NotFound("event", str(event_id))
    if not event.file:
        raise InputError(f"Event #{event.id} ({event.kind}) changed no configuration file; it cannot be rolled back.")
    if event.data.get("file_created") or event.data.get("file_deleted"):
        return _rollback_file(app_, event, force, dry_run)
    if not event.path:
        raise InputError(f"Event #{event.id} ({event.kind}) names no key; it cannot be rolled back.")
    before = _decode(event.before)

    def check(data: dict) -> None:
        current = toml_file._get(data, event.path)
        expected = _decode(event.after)
        if not force and not _same(current, expected):
            now = "unset" if current is toml_file.ABSENT else toml_file.render_value(current)
            raise Conflict(f"{event.target} is now {now}, not {event.after or 'unset'} as event #{event.id} left it; "
                           "pass --force to roll back anyway.")

    # a removal's lines come back exactly where their surroundings are unchanged
    restore = list(event.data.get("removed") or []) if event.before is not None and event.after is None else None
    edit = toml_file.edit(Path(event.file), [toml_file.Change(event.path, before, restore=restore)], check=check,
                          dry_run=dry_run, lock_timeout=app_.settings.lock_timeout)
    if dry_run:
        show_diff(app_, edit)
        return
    from traitctl.commands.common import record_edit

    done = record_edit(app_, "rollback", edit, trait=event.trait, model=event.model, tenant=event.tenant,
                       data={"reverts": event.id})
    _reverts(store, done, event.id)
    _say(app_, done, f"Rolled back event #{event.id}: {event.target} = {event.before or '(unset)'}")


def _reverts(store, events, reverted: int) -> None:
    for e in events:
        store.events.Row.update(reverts=reverted).where(store.events.Row.id == e.id).execute()


def _rollback_file(app_, event, force: bool, dry_run: bool) -> None:
    """Undo the creation or deletion of a whole tenant file."""
    import os
    from pathlib import Path

    from traitctl.store import toml_file

    path = Path(event.file)
    with toml_file.lock_for(path, app_.settings.lock_timeout):
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
    if dry_run:
        return show_diff(app_, toml_file.Edit(path, before, after, []))
    recorded = app_.store().events.record(kind="rollback", actor=app_.settings.actor, command=command_line(),
                                          file=str(path), tenant=event.tenant, reverts=event.id,
                                          data={"file_deleted": not after, "file_created": bool(after), "text": before or after})
    _say(app_, [recorded], f"Rolled back event #{event.id} ({'restored' if after else 'deleted'} {path})")


def _decode(literal):
    from traitctl.store.toml_file import ABSENT

    if literal is None:
        return ABSENT
    import tomllib

    return tomllib.loads(f"v = {literal}")["v"]


def _same(current, expected) -> bool:
    from traitctl.store.toml_file import ABSENT

    if current is ABSENT or expected is ABSENT:
        return current is expected
    return current == expected


def _say(app_, events, message: str) -> None:
    if app_.out.json_mode:
        app_.out.json({"events": [e.id for e in events], "message": message})
    else:
        app_.out.success(message + (f" (event #{events[0].id})." if events else "."))
