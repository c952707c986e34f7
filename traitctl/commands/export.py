"""``traitctl export``: write what applications read (the JSON snapshot, Laravel config files, flagd
definitions), check them in CI, or show the diff."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from traitctl.commands.common import (CONTEXT_SETTINGS, DryRunOpt, JsonOpt, app_for, examples, format_option,
                                      output_option)
from traitctl.context import App
from traitctl.engine.errors import InputError

app = typer.Typer(help="Export configuration and flags for applications (laravel, json, flagd).",
                  add_completion=False, context_settings=CONTEXT_SETTINGS)

FormatsOpt = Annotated[Optional[list[str]], format_option(
    "laravel", "json", "flagd", help="laravel, json or flagd (repeatable; default: [export] formats).")]
OutOpt = Annotated[Optional[str], output_option(
    "File (json, flagd; '-' for stdout) or folder (laravel: gets traits.php and feature_flags.php). "
    "Default: [export] in the configuration.")]
CheckOpt = Annotated[bool, typer.Option("--check", help="Exit 1 with the diff when the files on disk differ "
                                                        "(nothing written; the snapshot's time is ignored).")]
LossyOpt = Annotated[bool, typer.Option("--allow-lossy", help="Export what the format cannot express as "
                                                              "warnings instead of exit 2.")]


@app.command(epilog=examples("traitctl export --format json --output -",
                            "traitctl export --format flagd --output flags.flagd.json --allow-lossy --dry-run",
                            "traitctl export --format json --output snapshot.json --check"))
def export(format_: FormatsOpt = None, out: OutOpt = None, dry_run: DryRunOpt = False, check: CheckOpt = False,
           allow_lossy: LossyOpt = False, json: JsonOpt = False) -> None:
    """Export the configuration and flags for applications: every layer (schema defaults, global, model,
    tenant, tenant+model), env() names, flag tenant settings and active user overrides with their expiry."""
    app_ = app_for(json)
    run(app_, format_ or [], out, dry_run=dry_run, check=check, allow_lossy=allow_lossy)


def run(app_: App, formats: list[str], out: Optional[str], *, dry_run: bool = False, check: bool = False,
        allow_lossy: bool = False) -> None:
    """Export each format and render the result (shared with ``traitctl flags export``)."""
    from traitctl import export_service

    formats = formats or export_service.configured_formats(app_.main_doc())
    if not formats:
        raise InputError("Nothing to export: give --format laravel|json|flagd or set [export] formats.")
    if out is not None and len(formats) > 1:
        raise InputError("--output names one target: export one --format at a time with it.")
    from traitctl.engine.errors import LossyExport

    snap = export_service.build_snapshot(app_)
    try:
        results = [export_service.export(app_, fmt, out, dry_run=dry_run, check=check,
                                         allow_lossy=allow_lossy or None, snap=snap) for fmt in formats]
    except LossyExport as exc:
        for loss in exc.losses:
            app_.out.warn(loss)
        raise
    _render(app_, results, dry_run, check)
    if check and any(r.changed for r in results):
        raise typer.Exit(1)


def _render(app_: App, results: list, dry_run: bool, check: bool) -> None:
    if app_.out.json_mode:
        app_.out.json({"dry_run": dry_run, "check": check, "events": [], "exports": [
            {"format": r.format, "losses": r.losses, "files": [
                {"path": str(f.path) if f.path else None, "changed": f.changed, "written": f.written,
                 **({"content": f.text} if f.path is None else {}), **({"diff": f.diff} if f.diff else {})}
                for f in r.files]} for r in results]})
        return
    for result in results:
        for loss in result.losses:
            app_.out.warn(f"{result.format}: {loss}")
        for item in result.files:
            _render_file(app_, item, dry_run or check)


def _render_file(app_: App, item, compare_only: bool) -> None:
    if item.path is None:
        app_.out.stdout.write(item.text)
    elif compare_only:
        if item.changed:
            app_.out.stdout.write(item.diff)
        else:
            app_.out.success(f"{item.path} is up to date.")
    elif item.written:
        app_.out.success(f"Wrote {item.path}.")
    else:
        app_.out.success(f"{item.path} is up to date.")
