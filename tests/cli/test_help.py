"""The root help lists the commands without importing them; usage errors exit 2. (Every command's
--help is walked in-process by test_help_walk.py.)"""

from __future__ import annotations

import subprocess
import sys

from traitctl.cli import COMMANDS


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
