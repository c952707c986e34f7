"""``traitctl health``: real checks of configuration, store, history, queue, workers, telemetry,
flags and server, with CI exit codes."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from traitctl.commands.common import CONTEXT_SETTINGS, JsonOpt, app_for, examples

app = typer.Typer(add_completion=False, context_settings=CONTEXT_SETTINGS)

_STATUS_MARK = {"ok": "ok", "warn": "WARN", "fail": "FAIL"}


@app.command("health", epilog=examples("traitctl health", "traitctl health --only configuration,store --strict",
                                      "traitctl --json health"))
def health(
    only: Annotated[Optional[list[str]], typer.Option("--only", help="Run only this check (repeatable, or "
                    "comma-separated): configuration, store, history, queue, workers, telemetry, flags, "
                    "server (the machine's CPU, memory and disks: run only when named here or with "
                    "[health] server = true).")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 on warnings too.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Check that traitctl's configuration, store, queue, workers and telemetry are healthy.

    Exit 0 when every check is ok (warnings allowed unless --strict), 1 when any fails, 2 for bad input.
    """
    import datetime as dt

    from traitctl import health_checks
    from traitctl.engine import health as rules

    state = app_for(json_)
    names = rules.select(only or [], host=health_checks.host_checks(state))
    report = health_checks.run(state, names, dt.datetime.now(dt.timezone.utc))
    if state.out.json_mode:
        state.out.json(report.as_json())
    else:
        rows = [(c.name, _STATUS_MARK[c.status], c.message, f"{c.duration_ms:.0f} ms") for c in report.checks]
        state.out.table(["check", "status", "message", "time"], rows,
                        title=f"traitctl health: {report.status}",
                        caption=_when(report.timestamp))
    raise typer.Exit(rules.exit_code(report.status, strict))


def _when(value) -> str:
    from traitctl.output import human_time

    return human_time(value) + " UTC"
