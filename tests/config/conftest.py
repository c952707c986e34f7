"""The CLI run in this process (``traitctl.cli.main``) on a copy of the bundled example with extra
tenants: fast enough for many invocations per test, with a real SQLite store beside the copy."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import in_process


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


@pytest.fixture
def run(project: Path, monkeypatch, capsys):
    """``run("config", "show", ...)``: the CLI's entry point in this process, cwd = the project copy."""
    monkeypatch.chdir(project)

    def _run(*args: str) -> Run:
        return Run(*in_process(list(args), capsys))

    return _run


@pytest.fixture
def fleet(project: Path) -> Path:
    """The example plus two tenants with their own file (``initech`` with overrides, ``umbrella``
    without) and one more in the main file (``hooli``): tenants in both places, files of both kinds."""
    config = project / "config"
    (config / "tenants" / "initech.toml").write_text(
        "# Initech: its own file\nname = \"Initech\"\n\n[traits.Cacheable]\nttl = 30  # short\n\n"
        "[models.'App\\Models\\Post'.HasSlug]\nmax_length = 100\n")
    (config / "tenants" / "umbrella.toml").write_text("name = \"Umbrella\"\n")
    main = config / "traits.toml"
    main.write_text(main.read_text().replace(
        "[tenants.acme]\n", "[tenants.hooli]\nname = \"Hooli\"\n\n[tenants.acme]\n", 1))
    return config


@pytest.fixture
def events(project: Path):
    """The history rows of the project's SQLite store: ``events()`` -> list of dicts, oldest first."""

    def _events() -> list[dict]:
        path = project / "config" / ".traitctl" / "traitctl.db"
        if not path.exists():
            return []
        with sqlite3.connect(path) as db:
            db.row_factory = sqlite3.Row
            rows = db.execute("SELECT * FROM traitctl_event ORDER BY id").fetchall()
        return [{**dict(r), "data": json.loads(r["data"] or "{}"), "path": json.loads(r["path"])} for r in rows]

    return _events


@pytest.fixture
def snapshot(project: Path):
    """``snapshot()``: every configuration file's bytes (lock files and the store left out)."""
    config = project / "config"

    def _snapshot() -> dict[str, bytes]:
        return {str(p.relative_to(config)): p.read_bytes() for p in sorted(config.rglob("*.toml"))
                if not p.name.startswith(".")}

    return _snapshot
