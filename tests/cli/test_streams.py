"""Standard output cut short: a reader that goes away (``| head -1``) ends traitctl quietly with
141 (128 + SIGPIPE, what a shell reports for git, cat or grep there), a full disk is one sentence
and 74; a message that cannot be written to standard error never changes the command's exit code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

#: enough traits that every view below is far larger than a pipe's buffer (64 KiB)
TRAITS = 900


@pytest.fixture
def big_project(project: Path) -> Path:
    config = project / "config" / "traits.toml"
    extra = "".join(f"\n[traits.Big{i}]\nlabel = \"{'x' * 40}{i}\"\nlimit = {i}\n" for i in range(TRAITS))
    extra += "".join(f"\n[flags.big_flag_{i}]\nenabled = true\npercentage = {i % 100}\n" for i in range(300))
    config.write_text(config.read_text() + extra)
    return project


def _closed(args: list[str], cwd: Path) -> tuple[int, str]:
    """Run traitctl with stdout on a real pipe whose reader has already gone (what ``| head -1``
    leaves once head has exited): (exit code, stderr)."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        proc = subprocess.run([sys.executable, "-m", "traitctl", *args], cwd=cwd, stdout=writer,
                              stderr=subprocess.PIPE, text=True, timeout=120,
                              env=dict(os.environ, PYTHONWARNINGS="error::ResourceWarning"))
    finally:
        os.close(writer)
    return proc.returncode, proc.stderr


@pytest.mark.parametrize("args", [
    ["config", "show"],
    ["--json", "config", "show"],
    ["config", "show", "-t", "Cacheable", "--all-tenants"],
    ["config", "get", "version", "-t", "HasUuid"],
    ["flags", "list"],
    ["--json", "flags", "list"],
    ["inventory"],
    ["--json", "inventory"],
    ["history"],
    ["--json", "history"],
    ["jobs", "list"],
    ["--json", "health", "--only", "configuration"],
    ["--help"],
    ["--version"],
], ids=lambda a: " ".join(a))
def test_a_closed_pipe_ends_quietly_with_141(big_project: Path, args):
    assert _closed(args, big_project) == (141, "")


def test_a_reader_that_stops_early_leaves_no_message(big_project: Path):
    # head -1 closes while traitctl writes: the status is 141, or 0 when the last write was
    # already in the pipe (as for git); never a traceback or Python's "Exception ignored".
    for args in (["config", "show"], ["--json", "config", "show"], ["flags", "list"]):
        reader, writer = os.pipe()
        proc = subprocess.Popen([sys.executable, "-m", "traitctl", *args], cwd=big_project, stdout=writer,
                                stderr=subprocess.PIPE)
        os.close(writer)
        assert len(os.read(reader, 1)) == 1
        os.close(reader)
        _, err = proc.communicate(timeout=120)
        assert (proc.returncode in (0, 141), err) == (True, b""), (args, proc.returncode, err)


def test_the_whole_output_still_comes_through_a_pipe_read_to_the_end(big_project: Path):
    proc = subprocess.run([sys.executable, "-m", "traitctl", "--json", "config", "show"], cwd=big_project,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    import json

    assert f"Big{TRAITS - 1}" in json.loads(proc.stdout)["traits"] or f"Big{TRAITS - 1}" in proc.stdout


def test_a_shell_pipeline_into_head(big_project: Path):
    proc = subprocess.run(["bash", "-c", "set -o pipefail; traitctl_py() { \"$PY\" -m traitctl \"$@\"; }; "
                           "traitctl_py config show | head -1; echo \"status ${PIPESTATUS[0]}\" >&2"],
                          cwd=big_project, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PY=sys.executable))
    assert proc.stdout.count("\n") == 1
    assert proc.stderr in ("status 141\n", "status 0\n")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_on_stdout_is_one_sentence_and_74(big_project: Path):
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "traitctl", "config", "show"], cwd=big_project, stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    assert proc.returncode == 74
    assert proc.stderr == "error: cannot write to standard output: No space left on device.\n"


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_an_unwritable_stderr_keeps_the_commands_exit_code(big_project: Path):
    with open("/dev/full", "w") as full:
        bad = subprocess.run([sys.executable, "-m", "traitctl", "config", "get", "nope", "-t", "HasUuid"],
                             cwd=big_project, stdout=subprocess.PIPE, stderr=full, text=True, timeout=120)
        good = subprocess.run([sys.executable, "-m", "traitctl", "config", "get", "version", "-t", "HasUuid"],
                              cwd=big_project, stdout=subprocess.PIPE, stderr=full, text=True, timeout=120)
    assert (bad.returncode, bad.stdout) == (2, "")
    assert (good.returncode, good.stdout) == (0, "4\n")
