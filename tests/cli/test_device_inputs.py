"""Input files that are devices (``/dev/zero``) are never read without end: a configuration file
(``-c``, ``--against``, ``flags import``) stops at the size limit with its sentence, the others
(``--batch``, ``--subjects``, ``inventory --check``) are refused by name; all exit 2. A pipe still
works (``--against <(git show main:config/traits.toml)``)."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Result, run_cli

pytestmark = pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")

LIMIT = ("error: /dev/zero has 16777217 bytes, more than the limit of 16777216; raise it with "
         "TRAITCTL_MAX_CONFIG_BYTES=16777217 if the file is meant to be this large.\n")


def _device(option: str, stdin: bool = True) -> str:
    return (f"error: {option} /dev/zero is a device, not a file: it would be read without end; give a file"
            + (" (or '-' for standard input).\n" if stdin else ".\n"))


def _run(args: list[str], cwd: Path) -> Result:
    def limit() -> None:  # 1.5 GB of address space: a read without end fails fast, not the machine
        resource.setrlimit(resource.RLIMIT_AS, (1_500_000_000, 1_500_000_000))

    return Result(subprocess.run([sys.executable, "-m", "traitctl", *args], cwd=cwd, capture_output=True, text=True,
                                 timeout=120, preexec_fn=limit))


@pytest.mark.parametrize("args,expected", [
    (["-c", "/dev/zero", "config", "show"], LIMIT),
    (["config", "diff", "--against", "/dev/zero"], LIMIT),
    (["flags", "import", "/dev/zero"], LIMIT),
    (["config", "get", "--batch", "/dev/zero"], _device("--batch")),
    (["flags", "eval", "trait_caching", "--subjects", "/dev/zero"], _device("--subjects")),
    (["inventory", "--check", "/dev/zero"], _device("--check", stdin=False)),
], ids=["config", "against", "flags-import", "batch", "subjects", "inventory-check"])
def test_a_device_is_not_read_without_end(project: Path, args: list[str], expected: str):
    result = _run(args, project)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", expected), result


def test_a_pipe_is_still_read(project: Path):
    text = (project / "config" / "traits.toml").read_text().replace("ttl = 3600", "ttl = 3599", 1)
    result = run_cli("--json", "config", "diff", "--against", "/dev/stdin", cwd=project, input=text)
    assert result.exit_code == 1, result  # they differ: the piped file was read
    assert '"ttl"' in result.stdout
