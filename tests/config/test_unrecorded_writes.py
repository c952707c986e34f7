"""A write whose event cannot be recorded is not left in the files: a store that cannot be opened
(not SQLite) is found before anything is written, and a store that refuses the event (a real
SQLite trigger raising, as a full or read-only database would) gets the files put back. Either
way: one sentence, exit 2, every file byte for byte as it was, no temporary file left."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest


def _refusing(project: Path, run) -> Path:
    assert run("history").exit_code == 0  # creates the store
    db = project / "config" / ".traitctl" / "traitctl.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON traitctl_event "
                     "BEGIN SELECT RAISE(ABORT, 'the store refuses writes'); END")
    return db


def _leftovers(config: Path) -> list[str]:
    return sorted(p.name for p in config.rglob(".*") if p.name.endswith((".tmp", ".old")))


REFUSED = "error: The change could not be recorded in the store (the store refuses writes); nothing written: " \
          "every file is as it was.\n"

WRITES = [
    ["config", "set", "ttl", "77", "-t", "Cacheable"],
    ["config", "set", "ttl", "77", "-t", "Cacheable", "--all-tenants"],
    ["config", "unset", "ttl", "-t", "Cacheable", "--tenants", "acme,initech"],
    ["tenants", "add", "newco", "--file"],
    ["tenants", "add", "newco2"],
    ["tenants", "remove", "umbrella", "--yes"],
    ["flags", "rollout", "trait_caching", "40"],
]


@pytest.mark.parametrize("args", WRITES, ids=lambda a: " ".join(a))
def test_a_refused_event_puts_the_files_back(run, project: Path, fleet: Path, snapshot, args):
    _refusing(project, run)
    before = snapshot()
    result = run(*args)
    assert (result.exit_code, result.stderr) == (2, REFUSED)
    assert snapshot() == before
    assert _leftovers(fleet) == []


def test_a_refused_rollback_puts_the_files_back(run, project: Path, fleet: Path, snapshot, events):
    done = run("config", "set", "ttl", "78", "-t", "Cacheable", "--all-tenants")
    assert done.exit_code == 0, done
    _refusing(project, run)
    before = snapshot()
    result = run("rollback", "1")
    assert (result.exit_code, result.stderr) == (2, REFUSED)
    assert snapshot() == before and _leftovers(fleet) == []
    assert [e["kind"] for e in events()] == ["config.set"]


@pytest.mark.parametrize("args", WRITES, ids=lambda a: " ".join(a))
def test_a_store_that_is_not_sqlite_means_nothing_written(run, project: Path, fleet: Path, snapshot, args):
    db = project / "config" / ".traitctl" / "traitctl.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    db.write_bytes(b"this is not an SQLite database " * 100)
    before = snapshot()
    result = run(*args)
    assert result.exit_code == 2
    assert result.stderr == f"error: Cannot open the store at sqlite:///{db}: file is not a database\n"
    assert snapshot() == before and _leftovers(fleet) == []
