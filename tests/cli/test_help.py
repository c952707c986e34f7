"""Every registered command and subcommand answers --help (commands load lazily)."""

from __future__ import annotations

import subprocess
import sys

from typer.main import get_command

from traitctl.cli import COMMANDS, app


def walk(command, path=()):
    yield path
    for name, sub in getattr(command, "commands", {}).items():
        yield from walk(sub, path + (name,))


def all_paths():
    root = get_command(app)
    from typer._click.core import Context

    ctx = Context(root)
    for name in COMMANDS:
        yield from walk(root.get_command(ctx, name), (name,))


def test_every_command_has_help():
    paths = list(all_paths())
    assert ("config", "set") in paths and ("history",) in paths
    script = "import sys\nfrom traitctl.cli import main\nmain(sys.argv[1:])"
    for path in paths:
        proc = subprocess.run([sys.executable, "-c", script, *path, "--help"], capture_output=True, text=True)
        assert proc.returncode == 0, (path, proc.stderr)
        assert "Usage:" in proc.stdout, path


def test_root_help_lists_groups():
    proc = subprocess.run([sys.executable, "-m", "traitctl", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0
    for name in ("config", "tenants", "history", "rollback"):
        assert name in proc.stdout


def test_usage_error_exits_2():
    proc = subprocess.run([sys.executable, "-m", "traitctl", "config", "get"], capture_output=True, text=True)
    assert proc.returncode == 2 and "Missing" in proc.stderr


def test_root_help_summarises_every_command_without_importing_it():
    from traitctl.cli import SUMMARIES

    assert set(SUMMARIES) == set(COMMANDS)
    script = ("import sys\nfrom traitctl.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
              "print(sorted(m for m in sys.modules if m.startswith('traitctl.commands.')))")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.stdout.strip().endswith("[]"), proc.stdout[-300:]
