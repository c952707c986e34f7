"""Output options (``history export -o``, ``inventory --save``, ``export --output``) naming a file
that is not a regular one: a named pipe (as ``/dev/stdout`` or ``/dev/null`` are devices) is written
into, never replaced by a regular file through a rename, and never read first (a pipe would wait, a
device such as ``/dev/zero`` would give bytes without end); a symbolic link keeps pointing where it
did and its target gets the text."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest

from tests.conftest import run_cli


def _reader(fifo: Path) -> tuple[threading.Thread, list[bytes]]:
    got: list[bytes] = []

    def read() -> None:
        with open(fifo, "rb") as handle:
            got.append(handle.read())

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread, got


@pytest.mark.parametrize("args", [["history", "export", "--format", "jsonl", "-o"],
                                  ["export", "--format", "json", "--output"],
                                  ["inventory", "--save"]], ids=["history-export", "export", "inventory-save"])
def test_a_named_pipe_is_written_into(project: Path, args):
    assert run_cli("config", "set", "ttl", "61", "--trait", "Cacheable", cwd=project).exit_code == 0  # one event
    fifo = project / "out.pipe"
    os.mkfifo(fifo)
    thread, got = _reader(fifo)
    result = run_cli(*args, str(fifo), cwd=project, timeout=60)
    thread.join(timeout=30)
    assert result.exit_code == 0, result
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode), "the pipe was replaced by a regular file"
    assert got and got[0], result
    text = got[0].decode()
    if args[0] == "history":
        assert json.loads(text.splitlines()[0])["kind"] == "config.set"
    else:
        assert json.loads(text)["schema"] in ("traitctl.snapshot/1", 2)  # the snapshot, the inventory document
    assert sorted(p.name for p in project.iterdir() if p.name.startswith(".out.pipe")) == []  # no temporary file


def test_a_symbolic_link_keeps_pointing_at_its_target(project: Path):
    target = project / "audit" / "events.csv"
    target.parent.mkdir()
    link = project / "events.csv"
    link.symlink_to(target)
    result = run_cli("history", "export", "--format", "csv", "-o", str(link), cwd=project)
    assert result.exit_code == 0, result
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text().startswith("id,time,actor,command,kind,")
