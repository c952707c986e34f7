"""Options and helpers shared by command modules (kept free of heavy imports)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from traitctl.context import App, current


def not_empty(value: Optional[str]) -> Optional[str]:
    """Option callback: an empty or blank name (``--tenant ''``) is a usage error, not "no filter"."""
    if value is not None and not value.strip():
        raise typer.BadParameter("must not be empty.")
    return value


JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", "-n", help="Show the diff; write nothing.")]
TraitOpt = Annotated[str, typer.Option("--trait", "-t", help="Trait name (as in [traits.<Trait>]).", callback=not_empty)]
OptTraitOpt = Annotated[Optional[str], typer.Option("--trait", "-t", help="Only this trait.", callback=not_empty)]
ModelOpt = Annotated[Optional[str], typer.Option("--model", "-m", help="Model FQN (or unique short name).",
                                                 callback=not_empty)]
TenantOpt = Annotated[Optional[str], typer.Option("--tenant", help="Tenant id.", callback=not_empty)]


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
    """Record a written :class:`~traitctl.store.toml_file.Edit` (or a list of them, one per file)
    as ONE history event holding every changed key (:func:`traitctl.history_service.record_edits`),
    so that ``traitctl rollback EVENT`` undoes the whole command. Returns ``[event]``, or ``[]``
    when nothing changed."""
    from traitctl.history_service import record_edits

    edits = edit if isinstance(edit, list) else [edit]
    event = record_edits(app.store(), kind, edits, actor=app.settings.actor, command=command_line(), trait=trait,
                         model=model, tenant=tenant, data=data)
    return [event] if event is not None else []


def output_file(raw: str | Path, option: str, cwd: Path | None = None) -> Path:
    """The file an output option (``--save``, ``--output``) names, checked before anything is
    computed or written: not empty, not a folder, and in a folder that exists (traitctl creates no
    folders for output, so a typo never scatters files).

    :raises InputError: naming the option and the missing folder.
    """
    from traitctl.engine.errors import InputError

    text = str(raw)
    if not text.strip() or text == ".":
        raise InputError(f"{option} needs a file name, not {text!r}.")
    path = Path(text).expanduser()
    path = path if path.is_absolute() or cwd is None else cwd / path
    if path.is_dir():
        raise InputError(f"{option} {text} is a folder; give a file name.")
    if not path.parent.is_dir():
        raise InputError(f"{option} {text}: the folder {path.parent} does not exist; create it first.")
    return path


def output_folder(raw: str, option: str, cwd: Path) -> Path:
    """The folder an output option (``docs generate --out``) names: it may be created, but only
    inside a folder that exists.

    :raises InputError: naming the option and the missing parent folder.
    """
    from traitctl.engine.errors import InputError

    if not raw.strip():
        raise InputError(f"{option} needs a folder name, not {raw!r}.")
    folder = cwd / Path(raw).expanduser()
    if not folder.exists() and not folder.parent.is_dir():
        raise InputError(f"{option} {raw}: the folder {folder.parent} does not exist; create it first.")
    return folder


def show_diff(app: App, edit) -> None:
    """Print an edit's unified diff on stdout (the ``--dry-run`` output), or say nothing changes."""
    if edit.changed:
        app.out.stdout.write(edit.diff())
    else:
        app.out.success("No change: the file already has that value.")


def confirm(question: str, yes: bool) -> None:
    """Ask before a destructive bulk write: ``--yes`` skips the question; off a terminal it is
    required (never prompt a script), and a "no" on a terminal exits 1."""
    import sys

    from traitctl.engine.errors import InputError

    if yes:
        return
    if not sys.stdin.isatty():
        raise InputError(f"{question} Pass --yes to confirm (standard input is not a terminal).")
    if not typer.confirm(question):
        raise typer.Exit(1)
