"""``traitctl history`` on events of several keys: a bulk write across tenants (one event, no
tenant column) found by ``--tenant`` and ``--key`` and summed up readably in the table. The CLI
runs in this process on a copy of the example with a real SQLite store."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import in_process

from traitctl.engine.history import Event, elide_list, event_tenants, file_tenant, key_summary, touched, value_summary


@pytest.fixture
def run(project: Path, monkeypatch, capsys):
    monkeypatch.chdir(project)

    def _run(*args: str, columns: int = 200) -> tuple[int, str, str]:
        monkeypatch.setenv("COLUMNS", str(columns))
        return in_process(list(args), capsys)

    return _run


@pytest.fixture
def fleet(project: Path) -> Path:
    tenants = project / "config" / "tenants"
    (tenants / "initech.toml").write_text('name = "Initech"\n')
    (tenants / "umbrella.toml").write_text('name = "Umbrella"\n')
    return project


def _ids(run, *args) -> list[int]:
    code, out, err = run("history", *args, "--json")
    assert code == 0, err
    return [e["id"] for e in json.loads(out)["events"]]


def test_bulk_event_is_found_by_tenant_and_key_and_summed_up(run, fleet):
    code, _, err = run("config", "set", "ttl", "77", "--trait", "Cacheable", "--tenants", "acme,initech,umbrella")
    assert code == 0, err
    code, _, err = run("config", "set", "ttl", "78", "--trait", "Cacheable", "--tenant", "acme")
    assert code == 0, err
    code, _, err = run("config", "set", "ttl", "90", "--trait", "Cacheable")
    assert code == 0, err
    with sqlite3.connect(fleet / "config" / ".traitctl" / "traitctl.db") as db:
        rows = db.execute("SELECT id, tenant, data FROM traitctl_event ORDER BY id").fetchall()
    bulk, single, plain = (r[0] for r in rows)
    assert rows[0][1] is None and len(json.loads(rows[0][2])["changes"]) == 3  # one event, no tenant column

    assert _ids(run, "--tenant", "initech") == [bulk]
    assert _ids(run, "--tenant", "umbrella") == [bulk]
    assert _ids(run, "--tenant", "acme") == [single, bulk]
    assert _ids(run, "--tenant", "globex") == []
    assert _ids(run, "--key", "traits.Cacheable.ttl") == [plain, single, bulk]
    assert _ids(run, "--key", "Cacheable.ttl", "--tenant", "umbrella") == [bulk]

    code, table, _ = run("history")
    assert code == 0
    line = next(row for row in table.splitlines() if row.startswith(f"│ {bulk} "))
    cells = [c.strip() for c in line.strip("│").split("│")]
    assert cells[4:] == ["3 tenants", "traits.Cacheable.ttl in 3 tenants: acme, initech, umbrella", "60, -", "77"]
    line = next(row for row in table.splitlines() if row.startswith(f"│ {single} "))
    assert [c.strip() for c in line.strip("│").split("│")][4:] == [
        "acme", "tenants -> acme -> traits -> Cacheable -> ttl", "77", "78"]

    code, narrow, _ = run("history", columns=100)
    assert code == 0
    assert "…" in narrow and "umbrella" not in narrow  # elided to the room left on the terminal
    assert all(len(row) <= 100 for row in narrow.splitlines())


def _event(changes, **fields) -> Event:
    import datetime as dt

    return Event(id=1, ts=dt.datetime(2026, 1, 1), actor="ana", command="traitctl x", kind="config.set",
                 data={"changes": changes}, **fields)


def test_key_summary_names_keys_and_tenants():
    several = _event([{"file": "/c/traits.toml", "path": ["traits", "Cacheable", "ttl"], "before": "1", "after": "2"},
                      {"file": "/c/traits.toml", "path": ["traits", "Cacheable", "driver"], "before": None,
                       "after": '"redis"'},
                      {"file": "/c/tenants/acme.toml", "path": ["traits", "Cacheable", "ttl"], "before": "1",
                       "after": "2"}])
    assert key_summary(several, 200) == ("3 keys: traits.Cacheable.ttl, traits.Cacheable.driver, "
                                         "tenants.acme.traits.Cacheable.ttl")
    assert key_summary(several, 40) == "3 keys: traits.Cacheable.ttl, …"
    assert value_summary(several, "before") == "1, -" and value_summary(several, "after") == '2, "redis"'
    assert event_tenants(several) == ["acme"]
    assert [t.tenant for t in touched(several)] == [None, None, "acme"]
    one = _event([{"file": "/c/traits.toml", "path": ["traits", "A", "x"], "before": None, "after": "1"}])
    assert key_summary(one) is None and value_summary(one, "before") == "-"
    assert file_tenant("C:\\cfg\\tenants\\t1.toml") == "t1" and file_tenant("/c/traits.toml") is None
    assert file_tenant("/c/tenants/.toml") is None and file_tenant("/c/other/acme.toml") is None
    assert elide_list("2 keys: ", ["averyveryverylongkey", "b"], 14) == "2 keys: avery…"
