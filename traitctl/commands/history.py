"""``traitctl history`` (list, export, purge) and ``traitctl rollback``: who changed what, and undoing it."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from traitctl.commands.common import (CONTEXT_SETTINGS, DryRunOpt, JsonOpt, ModelOpt, OptTraitOpt, TenantOpt, app_for,
                                      command_line, event_ref, examples, limit_option, show_diff)

history_app = typer.Typer(add_completion=False, context_settings=CONTEXT_SETTINGS)
rollback_app = typer.Typer(help="Undo a recorded change.", add_completion=False, context_settings=CONTEXT_SETTINGS)

KindOpt = Annotated[Optional[list[str]], typer.Option(
    "--kind", "-k", help="Only kinds matching this glob (config.set, 'flag.*', 'job.*'); repeatable.")]
SinceOpt = Annotated[Optional[str], typer.Option(
    "--since", help="Only events at or after: 7d, 12h, 30m back, or 2026-11-01[T10:00] (UTC).")]
UntilOpt = Annotated[Optional[str], typer.Option(
    "--until", help="Only events before: 1d, 2h back, or 2026-11-01[T10:00] (UTC).")]


@history_app.callback(invoke_without_command=True,
                      epilog=examples("traitctl history --since 7d --actor ana", "traitctl history --key 'flags.beta*' --limit 0",
                                      "traitctl history --kind 'job.*' --since 1d",
                                      "traitctl history export --format csv --since 90d -o audit.csv"))
def history(ctx: typer.Context, trait: OptTraitOpt = None, tenant: TenantOpt = None, model: ModelOpt = None,
            actor: Annotated[Optional[str], typer.Option("--actor", help="Only this actor (glob ok).")] = None,
            key: Annotated[Optional[str], typer.Option(
                "--key", help="Only this key path, dotted, glob ok: traits.HasUuid.version, 'flags.beta*', version.")] = None,
            kind: KindOpt = None, since: SinceOpt = None, until: UntilOpt = None,
            everything: Annotated[bool, typer.Option("--all", help="Job events too (hidden unless --kind 'job.*').")] = False,
            limit: Annotated[int, limit_option("events, newest first")] = 50,
            json: JsonOpt = False) -> None:
    """List recorded changes, newest first: configuration, flag, tenant and override changes.

    Job events (job.enqueued, job.failed, job.retried, job.cancelled, job.purged) show with
    --kind 'job.*' or --all; their Key column names the job.
    """
    if ctx.invoked_subcommand is not None:
        return
    from traitctl.engine.history import event_tenants, job_id, key_summary, value_summary
    from traitctl.history_service import history_filter, list_events
    from traitctl.output import human_time

    app_ = app_for(json)
    where = history_filter(kinds=kind, everything=everything, actor=actor, trait=trait, model=model, tenant=tenant,
                           key=key, since=since, until=until)
    events = list_events(app_, where, limit=limit + 1 if limit else 0)
    more = bool(limit) and len(events) > limit  # one more fetched: is the list cut by --limit?
    events = events[:limit] if limit else events
    if app_.out.json_mode:
        app_.out.json({"events": events, "limit": limit or None, "more": more})
        return

    def tenant(e) -> str:
        found = event_tenants(e)
        return e.tenant or (found[0] if len(found) == 1 else f"{len(found)} tenants" if found else "")

    # an event of several keys (one command, several keys or tenants) is summed up in its Key cell,
    # elided to two lines of the room the other columns leave on the terminal; Before/After list
    # the distinct values
    rows = [[e.id, human_time(e.ts), e.actor, e.kind, tenant(e), None,
             value_summary(e, "before"), value_summary(e, "after")] for e in events]
    others = sum(max((len(str(row[i])) for row in rows), default=0) for i in (0, 1, 2, 3, 4, 6, 7))
    room = 2 * max(24, app_.out.width - others - 3 * 8 - 1)
    for row, e in zip(rows, events):
        job = job_id(e)
        row[5] = f"job {job}" if job is not None else key_summary(e, room) or e.target
    hint = "" if not where.hides_jobs else "; job events: --kind 'job.*' or --all"
    app_.out.table(["#", "Time (UTC)", "Actor", "Kind", "Tenant", "Key", "Before", "After"], rows,
                   caption=f"{len(rows)} events" + (" (limit reached: --limit N for more, 0 for all)"
                                                    if more else "") + hint)


@history_app.command("export")
def export(fmt: Annotated[str, typer.Option("--format", "-f", help="jsonl (one JSON object per line) or csv.")] = "jsonl",
           since: SinceOpt = None, until: UntilOpt = None, kind: KindOpt = None,
           output: Annotated[Optional[str], typer.Option("--output", "-o", help="Write to this file instead of stdout.")] = None,
           json: JsonOpt = False) -> None:
    """Export every event (job events included), oldest first, for an audit: id, time (ISO 8601 UTC),
    actor, command (passwords hidden), kind, keys, before, after, trait, model, tenant, job.

    The columns are stable (docs/history.md): new ones are only added at the end.

    Examples:

      traitctl history export --format csv --since 90d -o audit.csv

      traitctl history export --since 2026-10-01 --until 2026-11-01 | jq .
    """
    import csv
    import io
    import json as jsonlib

    from traitctl.commands.common import output_file
    from traitctl.engine.errors import InputError
    from traitctl.engine.history import EXPORT_COLUMNS
    from traitctl.history_service import export_rows, history_filter

    app_ = app_for(json)
    if fmt not in ("jsonl", "csv"):
        raise InputError(f"--format {fmt!r} is not one of jsonl, csv.")
    target = output_file(output, "--output", app_.cwd, app_) if output else None
    where = history_filter(kinds=kind, everything=True, since=since, until=until)
    rows = export_rows(app_, where)
    buffer = io.StringIO()
    if fmt == "csv":
        writer = csv.DictWriter(buffer, fieldnames=list(EXPORT_COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in row.items()} for row in rows)
    else:
        for row in rows:
            buffer.write(jsonlib.dumps(row, ensure_ascii=False, sort_keys=False) + "\n")
    if target is None:
        app_.out.stdout.write(buffer.getvalue())
        return
    from traitctl.store.toml_file import write_output

    try:
        write_output(target, buffer.getvalue())
    except OSError as exc:
        raise InputError(f"Cannot write {target}: {exc.strerror or exc}; nothing exported.") from None
    if app_.out.json_mode:
        app_.out.json({"output": str(target), "events": len(rows), "format": fmt})
    else:
        app_.out.success(f"Wrote {len(rows)} events to {target} ({fmt}).")


@history_app.command("purge")
def purge(older_than: Annotated[str, typer.Option("--older-than", help="Recorded before this long ago: 90d, 52w.")],
          yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask (needed off a terminal).")] = False,
          dry_run: DryRunOpt = False, json: JsonOpt = False) -> None:
    """Delete every event (configuration events included) recorded before --older-than. The purge
    is recorded (kind history.purged, with the count). Job events also expire by themselves after
    [history] retention_days (the daily cleanup job).

    Examples:

      traitctl history purge --older-than 90d --dry-run

      traitctl history purge --older-than 365d --yes
    """
    from traitctl.commands.common import confirm
    from traitctl.engine.jobs import parse_duration
    from traitctl.history_service import _utcnow
    from traitctl.history_service import purge as purge_events

    app_ = app_for(json)
    before = _utcnow() - parse_duration(older_than, "--older-than")
    if not dry_run:
        preview = purge_events(app_, before, actor=app_.settings.actor, command=command_line(), dry_run=True)
        if preview.count:
            confirm(f"Delete {preview.count} history event(s) recorded before {before:%Y-%m-%d %H:%M} UTC?", yes)
    done = purge_events(app_, before, actor=app_.settings.actor, command=command_line(), dry_run=dry_run)
    if app_.out.json_mode:
        app_.out.json({"dry_run": dry_run, "deleted": 0 if dry_run else done.count, "would_delete": done.count,
                       "before": before, "kinds": done.kinds, "event": done.event.id if done.event else None})
        return
    verb = "Would delete" if dry_run else "Deleted"
    tail = f" (event #{done.event.id})" if done.event else ""
    app_.out.success(f"{verb} {done.count} event(s) recorded before {before:%Y-%m-%d %H:%M:%S} UTC{tail}.")


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
