"""``traitctl version``: the version line, or with ``--json`` the versions of Python, the libraries
and the store schema (for bug reports)."""

from __future__ import annotations

import typer

from traitctl.commands.common import CONTEXT_SETTINGS, JsonOpt, app_for, examples

app = typer.Typer(add_completion=False, context_settings=CONTEXT_SETTINGS)


@app.command("version", epilog=examples("traitctl version", "traitctl version --json", "traitctl --version"))
def version(json: JsonOpt = False) -> None:
    """traitctl's version; with --json also Python, click, typer, rich, peewee, huey, tree-sitter
    (and tree-sitter-php) and the store's schema version (null when no store exists yet)."""
    from traitctl import version_service

    state = app_for(json)
    if not state.out.json_mode:
        state.out.line(f"traitctl {version_service.versions()['traitctl']}")
        return
    state.out.json({**version_service.versions(), "store_schema": version_service.store_schema(state)})
