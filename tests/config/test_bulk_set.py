"""``traitctl config set/unset KEY --tenants a,b,c`` and ``--all-tenants``: checked once, one lock,
one history event with every key path, one rollback that restores every file byte for byte."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest


def test_set_across_tenants_is_one_event_and_one_rollback(run, fleet: Path, events, snapshot):
    before = snapshot()
    result = run("config", "set", "ttl", "90", "-t", "Cacheable", "--tenants", "acme,initech,umbrella", "--json")
    assert result.exit_code == 0, result
    doc = result.json()
    assert doc["tenants"] == ["acme", "initech", "umbrella"] and doc["dry_run"] is False
    assert [(c["path"], c["before"], c["after"]) for c in doc["changes"]] == [
        (["tenants", "acme", "traits", "Cacheable", "ttl"], "60", "90"),
        (["traits", "Cacheable", "ttl"], "30", "90"),
        (["traits", "Cacheable", "ttl"], None, "90"),
    ]
    recorded = events()
    assert len(recorded) == 1 and doc["event"] == recorded[0]["id"] and doc["events"] == [recorded[0]["id"]]
    event = recorded[0]
    assert event["kind"] == "config.set" and event["trait"] == "Cacheable" and event["actor"] == "tester"
    assert [Path(c["file"]).name for c in event["data"]["changes"]] == ["traits.toml", "initech.toml", "umbrella.toml"]
    assert event["data"]["tenants"] == ["acme", "initech", "umbrella"]
    after = snapshot()
    assert {name for name in before if before[name] != after[name]} == {
        "traits.toml", "tenants/initech.toml", "tenants/umbrella.toml"}
    assert "ttl = 90  # short" in after["tenants/initech.toml"].decode()  # the comment stays
    assert tomllib.loads(after["tenants/umbrella.toml"].decode())["traits"]["Cacheable"]["ttl"] == 90
    for tenant in ("acme", "initech", "umbrella"):
        assert run("config", "get", "ttl", "-t", "Cacheable", "--tenant", tenant).stdout == "90\n"

    undo = run("rollback", str(event["id"]))
    assert undo.exit_code == 0, undo
    assert undo.stderr == f"Rolled back event #{event['id']}: 3 key(s) in 3 file(s) restored (event #{event['id'] + 1}).\n"
    assert snapshot() == before  # every file, byte for byte
    rollback = events()[-1]
    assert rollback["kind"] == "rollback" and rollback["reverts"] == event["id"] and len(events()) == 2
    assert run("rollback", str(rollback["id"])).exit_code == 0  # and the rollback of the rollback redoes it all
    assert snapshot() == after


def test_all_tenants_and_a_model(run, fleet: Path, events, snapshot):
    before = snapshot()
    result = run("config", "set", "max_length", "64", "-t", "HasSlug", "-m", "Post", "--all-tenants")
    assert result.exit_code == 0, result
    assert result.stderr == "max_length: 5 tenant layer(s) changed in 4 file(s), 0 already as asked " \
                            "(event #1; `traitctl rollback 1` undoes all).\n"
    doc = run("config", "show", "-t", "HasSlug", "-m", "Post", "--all-tenants", "--json").json()
    assert {(r["tenant"], r["value"], r["source"]) for r in doc["rows"] if r["key"] == "max_length"} == {
        (t, 64, "tenant+model") for t in ("acme", "globex", "hooli", "initech", "umbrella")}
    again = run("config", "set", "max_length", "64", "-t", "HasSlug", "-m", "Post", "--all-tenants")
    assert again.stderr == "No change: every tenant already has that value.\n" and len(events()) == 1
    assert run("rollback", "1").exit_code == 0
    assert snapshot() == before


def test_unset_across_tenants_and_rollback_puts_the_lines_back(run, fleet: Path, events, snapshot):
    before = snapshot()
    result = run("config", "unset", "ttl", "-t", "Cacheable", "--tenants", "acme,initech,umbrella")
    assert result.exit_code == 0, result
    (event,) = events()
    assert event["kind"] == "config.unset" and [c["after"] for c in event["data"]["changes"]] == [None, None]
    assert event["data"]["tenants"] == ["acme", "initech"]  # umbrella never set it
    assert "[traits.Cacheable]" not in (fleet / "tenants" / "initech.toml").read_text()
    assert run("config", "get", "ttl", "-t", "Cacheable", "--tenant", "acme").stdout == "3600\n"
    assert run("rollback", str(event["id"])).exit_code == 0
    assert snapshot() == before
    nothing = run("config", "unset", "ttl", "-t", "Cacheable", "--tenants", "umbrella,hooli")
    assert nothing.exit_code == 2
    assert nothing.stderr == "error: 'ttl' is not set for Cacheable in any of the tenants named; nothing to unset.\n"


def test_dry_run_shows_every_file_and_writes_nothing(run, fleet: Path, events, snapshot):
    before = snapshot()
    result = run("config", "set", "ttl", "90", "-t", "Cacheable", "--tenants", "acme,umbrella", "--dry-run")
    assert result.exit_code == 0
    assert result.stdout == (
        "--- a/config/traits.toml\n+++ b/config/traits.toml\n"
        "@@ -133,7 +133,7 @@\n name = \"Acme Corporation\"\n \n [tenants.acme.traits.Cacheable]\n-ttl = 60\n+ttl = 90\n"
        " \n [tenants.acme.models.'App\\Models\\Invoice'.Auditable]\n retention_days = 3650\n"
        "--- a/config/tenants/umbrella.toml\n+++ b/config/tenants/umbrella.toml\n"
        "@@ -1 +1,4 @@\n name = \"Umbrella\"\n+\n+[traits.Cacheable]\n+ttl = 90\n")
    assert snapshot() == before and events() == []
    doc = run("config", "set", "ttl", "90", "-t", "Cacheable", "--all-tenants", "--dry-run", "--json").json()
    assert doc["dry_run"] is True and doc["event"] is None and len(doc["changes"]) == 5
    assert doc["diff"].count("+ttl = 90") == 5
    assert snapshot() == before and events() == []


@pytest.mark.parametrize("args, message", [
    (("--tenants", "acme,nope"), "error: Unknown tenant 'nope'."),
    (("--tenants", "acme,nope,zilch"), "error: Unknown tenants 'nope', 'zilch': nothing written (`traitctl tenants "
                                       "list` shows them).\n"),
    (("--tenants", "acme,../etc"), "error: Invalid tenant id '../etc'"),
    (("--tenants", ","), "error: --tenants needs at least one tenant id (a,b,c).\n"),
    (("--tenants", "acme", "--all-tenants"), "error: Give one of --tenant, --tenants a,b,c or --all-tenants.\n"),
    (("--tenants", "acme", "--tenant", "acme"), "error: Give one of --tenant, --tenants a,b,c or --all-tenants.\n"),
])
def test_bad_tenants_write_nothing(run, fleet: Path, events, snapshot, args, message):
    before = snapshot()
    result = run("config", "set", "ttl", "90", "-t", "Cacheable", *args)
    assert result.exit_code == 2 and result.stderr.startswith(message) and result.stderr.count("\n") == 1
    assert snapshot() == before and events() == []


def test_bad_value_is_refused_once_before_any_write(run, fleet: Path, events, snapshot):
    before = snapshot()
    result = run("config", "set", "ttl", "999999", "-t", "Cacheable", "--all-tenants")
    assert (result.exit_code, result.stderr) == (2, "error: tenants -> acme -> traits -> Cacheable -> ttl: 999999 is "
                                                    "above the maximum 86400\n")
    unknown = run("config", "set", "tll", "9", "-t", "Cacheable", "--all-tenants")
    assert unknown.exit_code == 2 and "unknown key 'tll' for trait Cacheable" in unknown.stderr
    assert snapshot() == before and events() == []


def test_a_file_that_cannot_be_edited_means_no_file_is_written(run, fleet: Path, events, snapshot):
    """acme (the main file) comes first; umbrella's file holds `traits` as a value: nothing is written."""
    (fleet / "tenants" / "umbrella.toml").write_text("name = \"Umbrella\"\ntraits = 1\n")
    before = snapshot()
    result = run("config", "set", "ttl", "90", "-t", "Cacheable", "--tenants", "acme,umbrella")
    assert result.exit_code == 2 and "'traits' is a value, not a table" in result.stderr
    assert snapshot() == before and events() == []


def test_rollback_refused_when_one_value_changed_since(run, fleet: Path, events, snapshot):
    assert run("config", "set", "ttl", "90", "-t", "Cacheable", "--tenants", "acme,initech").exit_code == 0
    assert run("config", "set", "ttl", "91", "-t", "Cacheable", "--tenant", "initech").exit_code == 0
    changed = snapshot()
    refused = run("rollback", "1")
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error: ") and "initech.toml: traits -> Cacheable -> ttl is now 91, not 90 as event #1 left it; " \
        "nothing rolled back; pass --force to roll back anyway.\n" in refused.stderr
    assert snapshot() == changed and len(events()) == 2
    assert run("rollback", "1", "--force").exit_code == 0
    assert run("config", "get", "ttl", "-t", "Cacheable", "--tenant", "initech").stdout == "30\n"
    assert run("config", "get", "ttl", "-t", "Cacheable", "--tenant", "acme").stdout == "60\n"
