"""``metrics ingest FILE`` of a device or a named pipe is one sentence, exit 2: ``/dev/zero`` was
read without end until memory ran out (MemoryError, exit 70) and a pipe without a writer hung."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Result, run_cli


def _sentence(path: str) -> str:
    return (f"error: {path} is a device, pipe or socket, not a file: ingest FILE reads files (going on where the "
            f"last ingest stopped); stream anything else through standard input: traitctl metrics ingest - < "
            f"{path}.\n")


def test_a_named_pipe_is_refused(project: Path):
    fifo = project / "points.pipe"
    os.mkfifo(fifo)
    result = run_cli("metrics", "ingest", str(fifo), cwd=project, timeout=60)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", _sentence(str(fifo))), result


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_a_device_is_refused(project: Path):
    def limit() -> None:  # 1.5 GB of address space: reading /dev/zero without end fails fast, not the machine
        resource.setrlimit(resource.RLIMIT_AS, (1_500_000_000, 1_500_000_000))

    proc = subprocess.run([sys.executable, "-m", "traitctl", "metrics", "ingest", "/dev/zero"], cwd=project,
                          capture_output=True, text=True, timeout=120, preexec_fn=limit)
    result = Result(proc)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", _sentence("/dev/zero")), result
