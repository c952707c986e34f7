"""Options and helpers shared by command modules (kept free of heavy imports)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from traitctl.context import App, current

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", "-n", help="Show the diff; write nothing.")]
TraitOpt = Annotated[str, typer.Option("--trait", "-t", help="Trait name (as in [traits.<Trait>]).")]
OptTraitOpt = Annotated[Optional[str], typer.Option("--trait", "-t", help="Only this trait.")]
ModelOpt = Annotated[Optional[str], typer.Option("--model", "-m", help="Model FQN (or unique short name).")]
TenantOpt = Annotated[Optional[str], typer.Option("--tenant", help="Tenant id.")]


def app_for(json_flag: bool = False) -> App:
    """The running :class:`App`; a command's own ``--json`` turns JSON mode on as the root's does."""
    state = current()
    if json_flag:
        state.out.json_mode = True
        state.options.json = True
    return state


def command_line() -> str:
    """The command as typed (``traitctl config set …``), for history, with every password of a
    URL or connection string in it hidden (``--store postgresql://u:***@h/db``)."""
    import sys

    from traitctl.settings import redact

    return redact("traitctl " + " ".join(sys.argv[1:]))


def record_edit(app: App, kind: str, edit, *, trait: str | None = None, model: str | None = None,
                tenant: str | None = None, data: dict | None = None) -> list:
    """Record one history event per change of a written :class:`~traitctl.store.toml_file.Edit`.

    ``before``/``after`` are stored as TOML literals (``None`` when absent) so a rollback can
    restore the exact value; a removal also keeps the lines it took out (``data.removed``), so a
    rollback puts back the same text. Returns the recorded events.
    """
    from traitctl.store.toml_file import ABSENT, render_value

    store = app.store()
    events = []
    for change in edit.changes:
        before = None if change.old is ABSENT else render_value(change.old)
        after = None if change.value is ABSENT else render_value(change.value)
        if before == after:
            continue
        extra = {"removed": change.removed} if change.removed else {}
        events.append(store.events.record(kind=kind, actor=app.settings.actor, command=command_line(),
                                          file=str(edit.file), path=change.path, before=before, after=after,
                                          trait=trait, model=model, tenant=tenant, data={**(data or {}), **extra} or None))
    return events


def show_diff(app: App, edit) -> None:
    """Print an edit's unified diff on stdout (the ``--dry-run`` output), or say nothing changes."""
    if edit.changed:
        app.out.stdout.write(edit.diff())
    else:
        app.out.success("No change: the file already has that value.")
