"""Large histories: no record lost or cut without saying so. ``--json history`` says when --limit
cut the list (``more``); ``--limit 0`` and ``history export`` (jsonl and csv, to stdout through a
pipe and to a file) carry every event."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from tests.conftest import run_cli
from traitctl.store.db import Store

COUNT = 3000


def _fill(project: Path) -> None:
    store = Store.open(f"sqlite:///{project / 'config' / '.traitctl' / 'traitctl.db'}")
    try:
        with store.db.atomic():
            for i in range(COUNT):
                store.events.record(kind="config.set", actor="bulk", command=f"traitctl config set k {i} ☃",
                                    file=str(project / "config" / "traits.toml"), path=("traits", "Big", "k"),
                                    before=str(i - 1), after=str(i), trait="Big")
    finally:
        store.close()


def test_json_history_says_when_the_limit_cut_it(project: Path):
    (project / "config" / ".traitctl").mkdir()
    _fill(project)
    cut = json.loads(run_cli("--json", "history", cwd=project).stdout)
    assert (len(cut["events"]), cut["limit"], cut["more"]) == (50, 50, True)
    exact = json.loads(run_cli("--json", "history", "--limit", str(COUNT), cwd=project).stdout)
    assert (len(exact["events"]), exact["more"]) == (COUNT, False)
    everything = json.loads(run_cli("--json", "history", "--limit", "0", cwd=project).stdout)
    assert (len(everything["events"]), everything["limit"], everything["more"]) == (COUNT, None, False)
    assert [e["after"] for e in everything["events"]] == [str(i) for i in reversed(range(COUNT))]


def test_export_has_every_event(project: Path, tmp_path: Path):
    (project / "config" / ".traitctl").mkdir()
    _fill(project)
    lines = run_cli("history", "export", cwd=project)
    assert lines.exit_code == 0, lines
    rows = [json.loads(line) for line in lines.stdout.splitlines()]
    assert [r["after"] for r in rows] == [str(i) for i in range(COUNT)]
    assert rows[-1]["command"].endswith("☃")
    out = tmp_path / "audit.csv"
    written = run_cli("history", "export", "--format", "csv", "-o", str(out), cwd=project)
    assert written.exit_code == 0, written
    table = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [r["after"] for r in table] == [str(i) for i in range(COUNT)]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
