"""``traitctl history`` and ``traitctl rollback``: who changed what, and undoing it."""

from __future__ import annotations

from typing import Optional

import typer

from traitctl.commands.common import (DryRunOpt, JsonOpt, OptTraitOpt, TenantOpt, app_for, command_line, event_ref,
                                      show_diff)

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
    from traitctl.history_service import rollback as undo

    app_ = app_for(json)
    done = undo(app_, event_id, actor=app_.settings.actor, command=command_line(), force=force, dry_run=dry_run)
    if app_.out.json_mode:
        app_.out.json({"dry_run": dry_run, "reverts": event_id, "events": [e.id for e in done.events],
                       "message": done.message, "diff": done.edit.diff() if done.edit is not None else "",
                       "overrides": done.overrides})
        return
    if dry_run:
        if done.edit is not None:
            show_diff(app_, done.edit)
        for item in done.overrides:
            app_.out.line(f"{item['action']}\t{item['user']}" + (
                f"\t{'on' if item['on'] else 'off'}" if "on" in item else ""))
        app_.out.success(done.message + " (dry run: nothing written).")
        return
    app_.out.success(done.message + event_ref(done.events) + ".")
