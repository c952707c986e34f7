"""``metrics ingest FILE`` of a file that is still being written: complete lines only (a last line
without its newline waits), each line stored exactly once however often the file is ingested
(the read position is saved with the points, in one transaction), rotation followed (the rest of
the renamed old file first), and a writer appending while ingests run loses nothing."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import run_cli


def _line(value: int) -> str:
    return json.dumps({"name": "trait.Tail.seen", "value": value}) + "\n"


def _totals(project: Path) -> tuple[float, int]:
    with sqlite3.connect(project / "config" / ".traitctl" / "traitctl.db") as db:
        total, count = db.execute("SELECT COALESCE(SUM(value), 0), COUNT(*) FROM traitctl_metric_point").fetchone()
    return total, count


def _ingest(project: Path, path: Path, *extra: str, env: dict | None = None) -> dict:
    result = run_cli("--json", "metrics", "ingest", str(path), *extra, cwd=project, env=env)
    assert result.exit_code == 0, result
    return json.loads(result.stdout)


def test_an_unfinished_last_line_waits_and_is_stored_once(project: Path):
    path = project / "app.jsonl"
    whole = _line(4)
    path.write_text(_line(1) + _line(2) + whole[:15])
    first = _ingest(project, path)
    assert (first["stored"], first["unfinished_bytes"], first["bad"]) == (2, 15, 0)
    with path.open("a") as handle:
        handle.write(whole[15:])
    assert _ingest(project, path)["stored"] == 1
    assert _ingest(project, path)["stored"] == 0  # nothing new: nothing stored twice
    assert _totals(project) == (7, 3)


def test_the_message_says_a_line_waits(project: Path):
    path = project / "app.jsonl"
    path.write_text(_line(1) + '{"name": "trait.Tail.seen", "va')
    result = run_cli("metrics", "ingest", str(path), cwd=project)
    assert result.exit_code == 0, result
    assert result.stderr == ("Stored 1 point(s) from {0}; 0 line(s) without a metric.\nwarning: {0}: its last line has "
                             "no newline yet (31 bytes): left for the next ingest (--final reads it now).\n"
                             ).format(path)
    final = run_cli("--json", "metrics", "ingest", str(path), "--final", cwd=project)
    assert json.loads(final.stdout)["bad"] == 1  # read now, and it is not JSON: a bad line, not a half point


def test_rotation_reads_the_rest_of_the_old_file_first(project: Path):
    path = project / "app.jsonl"
    path.write_text(_line(1))
    assert _ingest(project, path)["stored"] == 1
    with path.open("a") as handle:
        handle.write(_line(2))
    path.rename(project / "app.jsonl.1")  # logrotate's rename, then a new file
    path.write_text(_line(4) + _line(8))
    doc = _ingest(project, path)
    assert doc["stored"] == 3 and doc["rotated_from"] == str(project / "app.jsonl.1")
    assert _ingest(project, path)["stored"] == 0
    assert _totals(project) == (15, 4)


def test_a_truncated_file_is_read_from_its_start(project: Path):
    path = project / "app.jsonl"
    path.write_text(_line(1) + _line(2))
    assert _ingest(project, path)["stored"] == 2
    path.write_text(_line(4))  # copytruncate: same inode, shorter
    assert _ingest(project, path)["stored"] == 1
    assert _totals(project) == (7, 3)


def test_from_start_reads_everything_again(project: Path):
    path = project / "app.jsonl"
    path.write_text(_line(1) + _line(2))
    assert _ingest(project, path)["stored"] == 2
    assert _ingest(project, path, "--from-start")["stored"] == 2
    assert _ingest(project, path)["stored"] == 0


def test_bad_lines_keep_their_numbers_in_the_file(project: Path):
    path = project / "app.jsonl"
    path.write_text(_line(1) + _line(2))
    _ingest(project, path)
    with path.open("a") as handle:
        handle.write(_line(3) + "not json\n")
    doc = _ingest(project, path)
    assert doc["bad_lines"][0]["line"] == 4


WRITER = r"""
import json, os, sys, time
path, count = sys.argv[1], int(sys.argv[2])
fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
for i in range(count):
    line = (json.dumps({"name": "trait.Tail.seen", "value": 1}) + "\n").encode()
    os.write(fd, line[:11])          # half a line on disk while an ingest may be reading
    time.sleep(0.003)
    os.write(fd, line[11:])
os.close(fd)
"""


def test_ingests_while_a_writer_appends_lose_and_double_nothing(project: Path):
    path = project / "app.jsonl"
    path.write_text("")
    count = 1000
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(count)])
    runs = 0
    while writer.poll() is None:
        _ingest(project, path)
        runs += 1
    assert writer.wait() == 0
    _ingest(project, path)
    assert runs >= 2
    assert _totals(project) == (count, count)


def test_a_killed_ingest_stores_nothing_and_the_next_one_everything(project: Path):
    path = project / "app.jsonl"
    path.write_text("".join(_line(1) for _ in range(300_000)))
    assert run_cli("metrics", "record", "trait.Other.x", "1", cwd=project).exit_code == 0  # the store exists
    env = dict(os.environ)
    proc = subprocess.Popen([sys.executable, "-m", "traitctl", "metrics", "ingest", str(path)], cwd=project, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.5)
    proc.kill()
    proc.wait()
    stored = _totals(project)[1] - 1
    assert stored in (0, 300_000)  # one transaction: all of it or none
    _ingest(project, path)
    assert _totals(project) == (300_001, 300_001)


@pytest.mark.parametrize("kind", ["postgresql"])
def test_the_position_is_kept_in_postgresql_too(project: Path, pg_url, kind):
    path = project / "app.jsonl"
    path.write_text(_line(1) + _line(2))
    env = {"TRAITCTL_STORE": pg_url}
    assert _ingest(project, path, env=env)["stored"] == 2
    with path.open("a") as handle:
        handle.write(_line(4))
    assert _ingest(project, path, env=env)["stored"] == 1
    assert _ingest(project, path, env=env)["stored"] == 0


def test_ingesting_the_moved_file_after_the_live_one_adds_only_its_rest(project: Path):
    # the PHP companion's advice: rotate by a rename, then ingest the moved file
    path = project / "app.jsonl"
    path.write_text(_line(1) + _line(2))
    assert _ingest(project, path)["stored"] == 2
    with path.open("a") as handle:
        handle.write(_line(4))
    moved = project / "app.jsonl.1"
    path.rename(moved)
    assert _ingest(project, moved)["stored"] == 1  # the same file: only what was added since
    assert _ingest(project, moved)["stored"] == 0
    path.write_text(_line(8))
    assert _ingest(project, path)["stored"] == 1
    assert _totals(project) == (15, 4)
