"""The root command: global options, the command groups (registered here, loaded lazily), and the
crash guard.

Each group lives in ``traitctl/commands/<module>.py`` and is imported only when it is invoked, so
``traitctl config get`` does not pay for the imports of ``metrics`` or ``jobs``.
"""

from __future__ import annotations

import os

# Rich help costs ~100 ms per invocation (CONVENTIONS.md 20); plain Click help is used instead.
os.environ.setdefault("TYPER_USE_RICH", "0")

import importlib  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Annotated, Optional  # noqa: E402

from typer import _click as click  # noqa: E402  (typer 0.27 vendors click)
import typer  # noqa: E402
from typer.core import TyperGroup  # noqa: E402
from typer.exceptions import Abort, Exit  # noqa: E402

from traitctl.context import CONTEXT_SETTINGS, App, GlobalOptions  # noqa: E402
from traitctl.engine.errors import TraitctlError  # noqa: E402
from traitctl.output import Output, color_wanted  # noqa: E402

#: command name -> "module:attribute" (a Typer app or a click command). The one place groups are registered.
COMMANDS: dict[str, str] = {
    "inventory": "traitctl.commands.inventory:app",
    "flags": "traitctl.commands.flags:app",
    "config": "traitctl.commands.config:app",
    "tenants": "traitctl.commands.tenants:app",
    "history": "traitctl.commands.history:history_app",
    "rollback": "traitctl.commands.history:rollback_app",
    "health": "traitctl.commands.health:app",
    "migrate-plan": "traitctl.commands.plan:app",
    "docs": "traitctl.commands.docs:app",
    "jobs": "traitctl.commands.jobs:app",
    "worker": "traitctl.commands.worker:app",
    "metrics": "traitctl.commands.metrics:app",
    "export": "traitctl.commands.export:app",
    "serve": "traitctl.commands.serve:app",
    "cache": "traitctl.commands.cache:app",
    "version": "traitctl.commands.version:app",
}


#: one line per command for the root --help, so that listing them imports none of their modules.
SUMMARIES: dict[str, str] = {
    "config": "Read, explain, edit and validate trait configuration.",
    "tenants": "List, add and remove tenants.",
    "history": "Show recorded changes (who, when, what, before, after).",
    "rollback": "Undo a recorded change.",
    "inventory": "Inventory traits and models from PHP and Python source; --check for CI.",
    "flags": "Feature flags: percentage rollouts, overrides, schedules, guards, export.",
    "jobs": "Enqueue, list, retry and cancel trait operations run as background jobs.",
    "worker": "Run a job worker (Huey consumer) with heartbeats.",
    "metrics": "Telemetry: dashboard by trait, series, trends, workers, queues, server, export.",
    "health": "Check configuration, store, queue, workers, telemetry, flags, caching, events and server.",
    "migrate-plan": "Plan the migration of a code base onto the traits system.",
    "docs": "Generate and check Markdown pages for traits and models.",
    "export": "Export configuration and flags for applications: laravel, json (snapshot), flagd.",
    "serve": "Serve the dashboard, /health and /metrics as a local web app (token, read-only by default).",
    "cache": "The application cache (Redis): stats, keys and flush of one trait, model or tenant.",
    "version": "traitctl's version; with --json also Python, libraries and the store schema.",
}


def _guarded(cls: type) -> type:
    """``cls`` (a click number type) whose values must also fit the store: 64-bit integers and
    finite floats, checked by :mod:`traitctl.engine.timeparse` for every option and argument."""
    if cls not in _GUARDED:
        def convert(self, value, param, ctx):
            from traitctl.engine import timeparse

            value = super(guarded, self).convert(value, param, ctx)
            try:
                if isinstance(value, float):
                    return timeparse.check_float(value, "Value")
                if isinstance(value, int) and not isinstance(value, bool):
                    return timeparse.check_int(value, "Value")
            except TraitctlError as exc:
                self.fail(exc.message, param, ctx)
            return value

        guarded = type(cls.__name__, (cls,), {"convert": convert})
        _GUARDED[cls] = guarded
    return _GUARDED[cls]


_GUARDED: dict[type, type] = {}


def guard_numbers(command: click.Command) -> click.Command:
    """Bound every integer and float parameter of ``command`` and of its loaded subcommands, so a
    value such as ``100000000000000000000`` or ``nan`` is a usage error (exit 2), never a crash."""
    import copy

    for param in command.params:
        if isinstance(param.type, (click.types.IntParamType, click.types.FloatParamType)):
            bounded = copy.copy(param.type)
            bounded.__class__ = _guarded(type(param.type))
            param.type = bounded
    for sub in (getattr(command, "commands", None) or {}).values():
        guard_numbers(sub)
    return command


class LazyGroup(TyperGroup):
    """A group whose subcommands are imported on first use."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, SUMMARIES.get(name, "")) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMANDS))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return super().get_command(ctx, name)
        module, attr = COMMANDS[name].split(":")
        target = getattr(importlib.import_module(module), attr)
        command = typer.main.get_command(target) if isinstance(target, typer.Typer) else target
        command.name = name
        return guard_numbers(command)


def _show_version(value: bool) -> None:
    """``--version``: one line, no configuration read and nothing heavy imported."""
    if value:
        from traitctl import __version__

        typer.echo(f"traitctl {__version__}")
        raise Exit()


app = typer.Typer(cls=LazyGroup, no_args_is_help=True, add_completion=True, context_settings=CONTEXT_SETTINGS,
                  pretty_exceptions_show_locals=False,
                  help="traitctl: inventory, configure, flag, run and watch the traits of your models.",
                  epilog="\b\nExamples:\n  traitctl inventory\n  traitctl config get ttl --trait Cacheable\n"
                         "  traitctl flags list\n  traitctl health\n\n"
                         "Conventions (short options, --format, --limit, exit codes): docs/cli.md.")


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[Optional[str], typer.Option("--config", "-c", envvar="TRAITCTL_CONFIG", show_envvar=True,
        help="Configuration file (default: config/traits.toml found walking up from the current folder).")] = None,
    store: Annotated[Optional[str], typer.Option("--store", envvar="TRAITCTL_STORE", show_envvar=True,
        help="Store URL: sqlite:///PATH (default .traitctl/traitctl.db beside the config) or postgresql://…")] = None,
    queue: Annotated[Optional[str], typer.Option("--queue", envvar="TRAITCTL_QUEUE", show_envvar=True,
        help="Queue URL: sqlite:///PATH (default .traitctl/queue.db) or redis://…")] = None,
    json_: Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")] = False,
    quiet: Annotated[int, typer.Option("--quiet", "-q", count=True, help="Less output (-qq: nothing on stdout).")] = 0,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More messages on stderr.")] = 0,
    no_color: Annotated[bool, typer.Option("--no-color", help="No colour (also NO_COLOR=1).")] = False,
    lock_timeout: Annotated[Optional[float], typer.Option("--lock-timeout", envvar="TRAITCTL_LOCK_TIMEOUT",
        show_envvar=True, help="Seconds to wait for the configuration lock (default 10).")] = None,
    version: Annotated[bool, typer.Option("--version", "-V", is_eager=True, callback=_show_version,
        help="Print traitctl's version and exit (`traitctl version --json` for more).")] = False,
) -> None:
    env = os.environ
    out = Output(json_mode=json_, quiet=quiet, verbose=verbose, color=color_wanted(no_color, env, sys.stdout))
    options = GlobalOptions(config=config, store=store, queue=queue, json=json_, quiet=quiet, verbose=verbose,
                            no_color=no_color, lock_timeout=lock_timeout)
    state = App(options=options, env=env, cwd=Path.cwd(), out=out)
    ctx.obj = state
    _RUNNING[:] = [state]
    ctx.call_on_close(state.close)


#: The :class:`App` of the command running in this process (for :func:`_config_problem`).
_RUNNING: list[App] = []


def _config_problem() -> str | None:
    """After a crash: the first problem ``config validate --no-source`` finds in the configuration,
    as one sentence, when there is one (a command met a value of the wrong shape that validation
    names with its file and line); ``None`` when the configuration is valid (a real bug) or
    cannot be checked."""
    if not _RUNNING:
        return None
    from traitctl import validation_service

    state = _RUNNING[0]
    try:
        fresh = App(options=state.options, env=state.env, cwd=state.cwd, out=state.out)
        problems = validation_service.check(fresh, known_models=None)
    except Exception:  # noqa: BLE001 - only a clear finding replaces the crash report
        return None
    if not problems:
        return None
    return validation_service.refusal(problems)


#: Exit code of an internal error (EX_SOFTWARE in sysexits.h).
EXIT_INTERNAL = 70
#: Exit code when standard output or error cannot be written (disk full, I/O error: EX_IOERR).
EXIT_IO = 74
#: Exit code when the reader of standard output went away (``traitctl inventory | head -1``): what
#: a shell reports for a program ended by SIGPIPE (128 + 13), as git, cat and grep end there.
EXIT_PIPE = 128 + 13


class StreamError(Exception):
    """Standard output could not be written. Not an :class:`OSError`, so that no handler on the
    way (Click's, a command's) mistakes it for a file of the user's; :func:`main` ends the run with
    :data:`EXIT_PIPE` (the reader went away) or :data:`EXIT_IO`."""

    def __init__(self, error: OSError) -> None:
        super().__init__(f"cannot write to standard output: {error.strerror or error}")
        self.error = error

    @property
    def reader_gone(self) -> bool:
        import errno

        return isinstance(self.error, BrokenPipeError) or self.error.errno in (errno.EPIPE, errno.ECONNRESET)


class _GuardedStream:
    """``sys.stdout`` / ``sys.stderr`` as :func:`main` installs them.

    Standard output: a write or flush that fails raises :class:`StreamError` instead of an
    ``OSError`` (a closed pipe must end the run quietly, not as a crash or as Click's exit 1).
    Standard error: a failed write is dropped (its descriptor then points at /dev/null), so that
    a message nobody can read never stops a command half-way; the exit code stays the command's.
    """

    def __init__(self, stream, name: str) -> None:
        self._stream = stream
        self._name = name

    def _failed(self, exc: OSError) -> None:
        if self._name == "output":
            raise StreamError(exc) from None
        _silence(self._stream)
        try:
            self._stream.flush()  # the buffered rest goes to /dev/null
        except (OSError, ValueError):
            pass

    def write(self, text):
        try:
            return self._stream.write(text)
        except OSError as exc:
            self._failed(exc)
            return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as exc:
            self._failed(exc)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def _silence(stream) -> None:
    """Point ``stream``'s file descriptor at /dev/null, so that what is still buffered for it (and
    the interpreter's last flush) goes nowhere instead of raising again at exit."""
    try:
        fd = stream.fileno()
        null = os.open(os.devnull, os.O_WRONLY)
    except (OSError, ValueError, AttributeError):
        return
    try:
        os.dup2(null, fd)
    except OSError:
        pass
    finally:
        os.close(null)


def _stream_failed(exc: StreamError) -> int:
    """End a run whose output could not be written: silently with :data:`EXIT_PIPE` when the
    reader went away, else one sentence on standard error and :data:`EXIT_IO`."""
    _silence(sys.__stdout__)
    if exc.reader_gone:
        return EXIT_PIPE
    sys.stderr.write(f"error: {exc}.\n")
    return EXIT_IO


def os_error_sentence(exc: OSError) -> str:
    """An operating-system error as one sentence naming the file (and what it means for a folder
    traitctl needs): ``/p/.traitctl: a file is in the way of a folder traitctl needs (File exists).``"""
    import errno

    reason = exc.strerror or str(exc) or type(exc).__name__
    names = [str(n) for n in (exc.filename, exc.filename2) if n not in (None, "")]
    where = " -> ".join(names)
    if exc.errno in (errno.EEXIST, errno.ENOTDIR) and names:
        return f"{where}: a file is in the way of a folder traitctl needs ({reason}); move it away."
    return f"{where}: {reason}." if where else f"{reason}."


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the CLI, turn domain errors into one line and an exit code,
    and show a traceback without locals only for real crashes (full detail with TRAITCTL_DEBUG=1),
    which exit with :data:`EXIT_INTERNAL` so that a crash never reads as a failed check (1).

    Standard output and error are guarded for the run (:class:`_GuardedStream`): a reader that
    goes away (``| head``) ends it with :data:`EXIT_PIPE` and nothing on standard error; a write
    that fails otherwise (``> /dev/full``) is one sentence and :data:`EXIT_IO`."""
    saved = sys.stdout, sys.stderr
    _RUNNING.clear()
    sys.stdout, sys.stderr = _GuardedStream(saved[0], "output"), _GuardedStream(saved[1], "error")
    previous = _install_interrupt_handler()
    try:
        code = _run(argv)
        try:
            sys.stdout.flush()
        except StreamError as exc:
            code = _stream_failed(exc)
        sys.stderr.flush()
    finally:
        sys.stdout, sys.stderr = saved
        _restore_interrupt_handler(previous)
    sys.exit(code)


def _install_interrupt_handler():
    """Ctrl-C (SIGINT) raises KeyboardInterrupt as usual, except between a configuration write
    and the recording of its event (:data:`traitctl.store.toml_file.UNRECORDED`): then it waits
    for the event to be stored, so an interrupt never leaves a change in the files unrecorded
    (a second Ctrl-C does not wait)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None

    def on_interrupt(signum, frame):
        # not imported (or half-imported): nothing written yet
        guard = getattr(sys.modules.get("traitctl.store.toml_file"), "UNRECORDED", None)
        if guard is not None and guard.held and not guard.interrupted:
            guard.interrupted = True  # a second Ctrl-C does not wait
            return
        raise KeyboardInterrupt

    try:
        return signal.signal(signal.SIGINT, on_interrupt)
    except (ValueError, OSError):
        return None


def _restore_interrupt_handler(previous) -> None:
    import signal

    if previous is not None:
        try:
            signal.signal(signal.SIGINT, previous)
        except (ValueError, OSError):
            pass
    guard = getattr(sys.modules.get("traitctl.store.toml_file"), "UNRECORDED", None)
    if guard is not None:
        guard.held = guard.interrupted = False


def _run(argv: list[str] | None) -> int:
    """Run the command; its exit code (every error already reported on standard error)."""
    try:
        return _invoke(argv)
    except StreamError as exc:
        return _stream_failed(exc)


def _invoke(argv: list[str] | None) -> int:
    command = guard_numbers(typer.main.get_command(app))
    try:
        code = command.main(args=argv, prog_name="traitctl", standalone_mode=False)
        return code if isinstance(code, int) else 0
    except TraitctlError as exc:
        from traitctl.settings import redact

        sys.stderr.write(f"error: {redact(exc.message)}\n")
        return exc.exit_code
    except Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except Abort:
        sys.stderr.write("Aborted.\n")
        return 130
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted.\n")
        return 130
    except StreamError:
        raise
    except OSError as exc:
        # the machine refused a file or folder (a file where a folder must be, a full disk, no
        # permission): one sentence naming it, exit 2, as for any other bad input
        from traitctl.settings import redact

        if os.environ.get("TRAITCTL_DEBUG"):
            import traceback

            sys.stderr.write(redact(traceback.format_exc()))
        sys.stderr.write(f"error: {redact(os_error_sentence(exc))}\n")
        return 2
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Exception:
        import traceback

        from traitctl.settings import redact

        problem = _config_problem()
        if problem is not None:
            if os.environ.get("TRAITCTL_DEBUG"):
                sys.stderr.write(redact(traceback.format_exc()))
            sys.stderr.write(f"error: {redact(problem)}\n")
            return 2
        if os.environ.get("TRAITCTL_DEBUG"):
            sys.stderr.write(redact(traceback.format_exc()))
        else:
            sys.stderr.write("traitctl crashed; this is a bug. Details (no local variables):\n")
            sys.stderr.write(redact(traceback.format_exc(limit=-8)))
        return EXIT_INTERNAL
