"""``traitctl history`` and ``traitctl rollback``: who changed what, and undoing it."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from traitctl.commands.common import (CONTEXT_SETTINGS, DryRunOpt, JsonOpt, OptTraitOpt, TenantOpt, app_for,
                                      command_line, examples, limit_option, show_diff)

history_app = typer.Typer(help="Show recorded changes.", add_completion=False, context_settings=CONTEXT_SETTINGS)
rollback_app = typer.Typer(help="Undo a recorded change.", add_completion=False, context_settings=CONTEXT_SETTINGS)


@history_app.command(epilog=examples("traitctl history --limit 20", "traitctl history --trait Cacheable --since 7d",
                                    "traitctl --json history --kind 'flag.*' --limit 0"))
def history(trait: OptTraitOpt = None, tenant: TenantOpt = None,
            since: Optional[str] = typer.Option(None, help="Only events since: 2026-11-01, 2026-11-01T10:00 or 7d, 12h, 30m."),
            kind: Optional[str] = typer.Option(None, help="Only this kind (config.set) or prefix (config.*, flag.*)."),
            limit: Annotated[int, limit_option("events, newest first")] = 50,
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


@rollback_app.command(epilog=examples("traitctl config set ttl 600 --trait Cacheable",
                                     "traitctl history --limit 1", "traitctl rollback 1 --dry-run",
                                     "traitctl rollback 1"))
def rollback(event_id: int = typer.Argument(..., metavar="EVENT", help="Event number from `traitctl history`."),
             force: bool = typer.Option(False, "--force", help="Roll back even if the value changed since."),
             dry_run: DryRunOpt = False, json: JsonOpt = False) -> None:
    """Restore the value an event replaced. Refused (exit 1) when the value changed since, unless --force.

    The rollback is itself recorded (kind `rollback`).
    """
    from traitctl.history_service import rollback as undo

    app_ = app_for(json)
    done = undo(app_, event_id, actor=app_.settings.actor, command=command_line(), force=force, dry_run=dry_run)
    if dry_run:
        show_diff(app_, done.edit)
        return
    _say(app_, done.events, done.message)


def _say(app_, events, message: str) -> None:
    if app_.out.json_mode:
        app_.out.json({"events": [e.id for e in events], "message": message})
    else:
        app_.out.success(message + (f" (event #{events[0].id})." if events else "."))
