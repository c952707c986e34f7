"""``run_cli``: traitctl in a real subprocess (module-scoped fixtures cannot use the ``cli`` fixture)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    def __repr__(self) -> str:
        return f"<Result exit={self.exit_code} stdout={self.stdout[-1500:]!r} stderr={self.stderr[-1500:]!r}>"


def run_cli(*args: str, cwd, env: dict, input: str | None = None, timeout: float = 120) -> Result:
    """Run ``python -m traitctl ARGS`` with exactly ``env``."""
    proc = subprocess.run([sys.executable, "-m", "traitctl", *args], cwd=cwd, env=env, input=input,
                          capture_output=True, text=True, timeout=timeout)
    return Result(proc.returncode, proc.stdout, proc.stderr)
