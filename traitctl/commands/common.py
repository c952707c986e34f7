"""Options and helpers shared by command modules (kept free of heavy imports)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from traitctl import completion
from traitctl.context import CONTEXT_SETTINGS, App, current  # noqa: F401  (CONTEXT_SETTINGS: for the groups)


def not_empty(value: Optional[str]) -> Optional[str]:
    """Option callback: an empty or blank name (``--tenant ''``) is a usage error, not "no filter"."""
    if value is not None and not value.strip():
        raise typer.BadParameter("must not be empty.")
    return value


JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", "-n", help="Show the diff; write nothing.")]
#: for writes that change the store rather than a file: a summary of what would change
DryRunSummaryOpt = Annotated[bool, typer.Option("--dry-run", "-n", help="Say what would change; write nothing.")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation (needed off a terminal).")]
TraitOpt = Annotated[str, typer.Option("--trait", "-t", help="Trait name (as in [traits.<Trait>]).", callback=not_empty,
                                       autocompletion=completion.trait_names)]
OptTraitOpt = Annotated[Optional[str], typer.Option("--trait", "-t", help="Only this trait.", callback=not_empty,
                                                    autocompletion=completion.trait_names)]
ModelOpt = Annotated[Optional[str], typer.Option("--model", "-m", help="Model FQN (or unique short name).",
                                                 callback=not_empty, autocompletion=completion.model_names)]
TenantOpt = Annotated[Optional[str], typer.Option("--tenant", help="Tenant id.", callback=not_empty,
                                                  autocompletion=completion.tenant_ids)]
FlagArg = Annotated[str, typer.Argument(help="Flag name (as in [flags.<name>]).", autocompletion=completion.flag_names)]


def limit_option(what: str) -> Any:
    """``--limit/-l N``: the same rule everywhere, N >= 1, or 0 for all. ``what`` says what is
    limited ("events, newest first")."""
    return typer.Option("--limit", "-l", min=0, metavar="N", help=f"At most N {what} (0: all).")


def format_option(*values: str, help: str | None = None) -> Any:
    """``--format/-f``: one of ``values`` (completed on TAB); the human view is always ``table``."""
    return typer.Option("--format", "-f", help=help or f"{', '.join(values[:-1])} or {values[-1]}.",
                        autocompletion=completion.choices(*values))


def output_option(help: str) -> Any:
    """``--output/-o``, with ``--out`` kept as a second spelling."""
    return typer.Option("--output", "-o", "--out", help=help)


def examples(*lines: str) -> str:
    """A ``--help`` epilog: an "Examples:" block of command lines, printed as written."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


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


def store_first(app: App, dry_run: bool = False) -> None:
    """Open the store before a write (not before a dry run), so that a store that cannot be
    opened (not SQLite, a newer schema, a server that is down) means nothing is written, rather
    than a file changed and its event lost."""
    if not dry_run:
        app.store()


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


def event_ids(events: list) -> list[int]:
    """The ids of recorded events (``None`` entries, for writes that changed nothing, left out)."""
    return [e.id for e in events if e is not None]


def event_ref(events: list) -> str:
    """How an answer names the events it recorded: `` (event #12)``, or nothing when none."""
    ids = event_ids(events)
    return f" (event {', '.join(f'#{i}' for i in ids)})" if ids else ""


def write_document(edit, events: list, dry_run: bool, **extra) -> dict:
    """The ``--json`` answer of a configuration write: ``dry_run``, the file, whether it changed,
    the diff, each changed key (TOML literals before and after), the recorded event ids and the
    changed object(s) in ``extra`` (``flag``, ``tenant``, ...). ``edit`` may be a list (one per file)."""
    from traitctl.store.toml_file import ABSENT, render_value

    edits = edit if isinstance(edit, list) else [edit]

    def toml(value):
        return None if value is ABSENT else render_value(value)

    changes = [{"file": str(e.file), "path": list(c.path), "before": toml(c.old), "after": toml(c.value)}
               for e in edits for c in e.changes if toml(c.old) != toml(c.value)]
    return {"dry_run": dry_run, "file": str(edits[0].file) if edits else None,
            "changed": any(e.changed for e in edits), "diff": "".join(e.diff() for e in edits),
            "changes": changes, "events": event_ids(events), **extra}


def refuse_device(path: str | Path, what: str, stdin: bool = True) -> None:
    """Refuse an input file that is a device (``/dev/zero``, ``/dev/urandom``, a terminal): it would
    be read without end. Regular files and pipes (``<(command)``) are read as they are.

    :raises InputError: naming it and ``what`` it was given as.
    """
    import os
    import stat

    from traitctl.engine.errors import InputError

    try:
        mode = os.stat(path).st_mode
    except OSError:
        return  # missing or unreadable: the reader says so
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        raise InputError(f"{what} {path} is a device, not a file: it would be read without end; give a file"
                         + (" (or '-' for standard input)." if stdin else "."))


def output_file(raw: str | Path, option: str, cwd: Path | None = None, app=None) -> Path:
    """The file an output option (``--save``, ``--output``) names, checked before anything is
    computed or written: not empty, not a folder, and in a folder that exists (traitctl creates no
    folders for output, so a typo never scatters files). With ``app``, it is not one of the files
    traitctl manages either: the configuration file, a tenant file, or what is under ``.traitctl/``
    (the embedded store and queue); an export written over them would lose the configuration.

    :raises InputError: naming the option and the missing folder or the managed file.
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
    if app is not None:
        from traitctl.settings import refuse_managed

        refuse_managed(path, app, f"{option} {text}")
    return path


def output_folder(raw: str, option: str, cwd: Path) -> Path:
    """The folder an output option (``docs generate --output``) names: it may be created, but only
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
