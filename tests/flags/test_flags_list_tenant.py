"""``traitctl flags list --tenant T``: each flag as that tenant's evaluation sees it (in-process CLI,
real SQLite store beside a copy of the bundled example)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import in_process

NOW = "2026-12-02T00:00:00"


@pytest.fixture
def run(project: Path, monkeypatch, capsys):
    monkeypatch.chdir(project)

    def _run(*args: str) -> tuple[int, str, str]:
        return in_process(list(args), capsys)

    return _run


def _rows(run, *args: str) -> dict[str, dict]:
    code, out, err = run("flags", "list", "--now", NOW, "--json", *args)
    assert code == 0, err
    return {row["name"]: row for row in json.loads(out)["flags"]}


def test_the_tenant_settings_are_applied(run):
    everyone = _rows(run)
    acme = _rows(run, "--tenant", "acme")
    assert (everyone["trait_caching"]["state"], everyone["trait_caching"]["percentage"]) == ("partial", 25)
    caching = acme["trait_caching"]
    assert (caching["state"], caching["percentage"], caching["tenant"], caching["tenant_keys"]) == \
        ("on", 100, "acme", ["percentage"])
    assert caching["stickiness"] == "tenant" and caching["schedule_applies"] is None
    rollout = acme["traits_management_system"]
    assert (rollout["state"], rollout["percentage"], rollout["tenant_keys"]) == ("partial", 10, [])
    assert rollout["next_step"] == "50@2026-12-08" and rollout["schedule_applies"] is True
    globex = _rows(run, "--tenant", "globex")  # a tenant with its own file and no flag settings
    assert globex["trait_caching"]["percentage"] == 25 and globex["trait_caching"]["tenant_keys"] == []


def test_the_schedule_does_not_reach_a_tenant_with_its_own_percentage(run):
    code, _, err = run("flags", "set", "traits_management_system", "-p", "30", "--tenant", "globex")
    assert code == 0, err
    globex = _rows(run, "--tenant", "globex")["traits_management_system"]
    assert (globex["percentage"], globex["tenant_keys"], globex["next_step"], globex["schedule_applies"]) == \
        (30, ["percentage"], None, False)
    code, _, err = run("flags", "disable", "traits_management_system", "--tenant", "acme")
    assert code == 0, err
    acme = _rows(run, "--tenant", "acme")["traits_management_system"]
    assert (acme["state"], acme["enabled"], acme["next_step"], acme["schedule_applies"]) == ("off", False, None, False)
    code, table, _ = run("flags", "list", "--now", NOW, "--tenant", "globex")
    assert "Flags as tenant globex sees them" in table
    line = next(x for x in table.splitlines() if "traits_management_system" in x)
    assert [c.strip() for c in line.split("│")[1:-1]] == ["traits_management_system", "partial", "30", "crc32",
                                                         "percentage", "0", "not for this tenant", "no data"]


@pytest.mark.parametrize("tenant, message", [
    ("acmee", "error: Unknown tenant 'acmee'. Did you mean 'acme'?\n"),
    ("../x", "error: Invalid tenant id '../x'"),
])
def test_unknown_tenant_exit_2(run, tenant, message):
    code, out, err = run("flags", "list", "--tenant", tenant)
    assert code == 2 and out == "" and err.startswith(message)
