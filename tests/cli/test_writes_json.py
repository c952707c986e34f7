"""Writes behave the same everywhere: one JSON answer (changed object, event ids, dry_run), a dry
run that writes nothing, confirmation for destructive bulk writes, one history event per command
and one rollback that puts the file back byte for byte."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest


def _json(result) -> dict:
    assert result.exit_code == 0, result
    return json.loads(result.stdout)


def _events(cli) -> list[dict]:
    return _json(cli("history", "--json", "--limit", "500"))["events"]


def test_flags_create_is_one_event_and_its_rollback_restores_the_file_exactly(cli, config_file: Path):
    original = config_file.read_bytes()
    before = len(_events(cli))
    answer = _json(cli("--json", "flags", "create", "beta", "--description", "Beta checkout", "--owner", "ana",
                       "--enable", "-p", "20", "--expires", "2099-06-01"))
    assert answer["dry_run"] is False and len(answer["events"]) == 1
    assert answer["flag"]["name"] == "beta" and answer["flag"]["percentage"] == 20 and answer["flag"]["temporary"]
    events = _events(cli)
    assert len(events) == before + 1
    event = events[0]
    assert (event["id"], event["kind"], event["path"]) == (answer["events"][0], "flag.create", ["flags", "beta"])
    assert sorted(c["path"][-1] for c in event["data"]["changes"]) == sorted(
        ["description", "owner", "enabled", "percentage", "bucketing", "stickiness", "created", "temporary",
         "expires"])
    done = _json(cli("--json", "rollback", str(event["id"])))
    assert done["reverts"] == event["id"] and len(done["events"]) == 1
    assert config_file.read_bytes() == original
    assert len(_events(cli)) == before + 2  # the rollback is one event too


def test_a_write_of_several_keys_is_one_event_and_one_rollback(cli, config_file: Path):
    original = config_file.read_bytes()
    answer = _json(cli("--json", "flags", "set", "trait_caching", "--disable", "-p", "60", "--bucketing", "unleash"))
    assert len(answer["events"]) == 1 and {c["path"][-1] for c in answer["changes"]} == {
        "enabled", "percentage", "bucketing"}
    assert (answer["flag"]["enabled"], answer["flag"]["percentage"]) == (False, 60)
    event = _events(cli)[0]
    assert event["before"] == "{enabled = true, percentage = 25}"  # the changed keys only
    assert event["after"] == '{enabled = false, percentage = 60, bucketing = "unleash"}'
    schedule = _json(cli("--json", "flags", "schedule", "trait_caching", "30@2099-01-01", "60@2099-02-01"))
    assert len(schedule["events"]) == 1
    for event_id in (schedule["events"][0], answer["events"][0]):
        assert cli("rollback", str(event_id)).exit_code == 0
    assert config_file.read_bytes() == original


def test_tenant_and_config_writes_answer_with_the_object_and_the_event(cli, config_file: Path):
    added = _json(cli("--json", "tenants", "add", "initech", "--name", "Initech"))
    assert added["tenant"] == {"id": "initech", "name": "Initech", "file": str(config_file)}
    assert len(added["events"]) == 1 and added["dry_run"] is False
    dry = _json(cli("--json", "config", "set", "ttl", "120", "-t", "Cacheable", "--tenant", "initech", "-n"))
    assert dry["dry_run"] is True and dry["events"] == [] and "+ttl = 120" in dry["diff"]
    assert dry["setting"] == {"trait": "Cacheable", "model": None, "tenant": "initech", "key": "ttl", "value": 120,
                              "set": True}
    removed = _json(cli("--json", "tenants", "remove", "initech", "--yes"))
    assert removed["removed"] == "initech" and len(removed["events"]) == 1
    assert "initech" not in tomllib.loads(config_file.read_text())["tenants"]


def test_dry_runs_write_nothing(cli, project: Path, config_file: Path):
    original = config_file.read_bytes()
    before = len(_events(cli))
    override = _json(cli("--json", "flags", "override", "trait_caching", "-u", "7", "--on", "-n"))
    assert override["dry_run"] is True and override["events"] == [] and override["override"]["user"] == "7"
    assert _json(cli("--json", "flags", "overrides", "trait_caching"))["overrides"] == []
    assert cli("flags", "override", "trait_caching", "-u", "7", "--on").exit_code == 0
    cleared = _json(cli("--json", "flags", "clear-override", "trait_caching", "--all", "-n"))
    assert [o["user"] for o in cleared["cleared"]] == ["7"] and cleared["events"] == []
    assert len(_json(cli("--json", "flags", "overrides", "trait_caching"))["overrides"]) == 1
    point = _json(cli("--json", "metrics", "record", "trait.HasUuid.generated", "3", "-n"))
    assert point["dry_run"] is True and point["value"] == 3
    (project / "points.jsonl").write_text('{"name": "trait.HasUuid.generated", "value": 2}\n' * 3)
    ingest = _json(cli("--json", "metrics", "ingest", "points.jsonl", "-n"))
    assert (ingest["dry_run"], ingest["stored"], ingest["would_store"]) == (True, 0, 3)
    assert _json(cli("--json", "metrics", "export", "-f", "json"))["series"] == []
    reset = _json(cli("--json", "metrics", "reset", "-n"))
    assert (reset["series"], reset["events"]) == (0, [])
    purge = _json(cli("--json", "jobs", "purge", "--older-than", "1d", "-n"))
    assert purge["dry_run"] is True and purge["would_delete"] == 0
    docs = _json(cli("--json", "docs", "generate", "-n"))
    assert docs["dry_run"] is True and docs["pages"] > 0 and not (project / "docs" / "traits").exists()
    assert config_file.read_bytes() == original
    assert len(_events(cli)) == before + 1  # only the real override


@pytest.mark.parametrize("args", [
    ("jobs", "purge", "--older-than", "1d"),
    ("flags", "clear-override", "trait_caching", "--all"),
    ("flags", "delete", "trait_caching"),
    ("tenants", "remove", "globex", "--force"),
])
def test_destructive_bulk_writes_need_yes_off_a_terminal(cli, config_file: Path, args):
    if args[1] == "clear-override":
        assert cli("flags", "override", "trait_caching", "-u", "1", "--off").exit_code == 0
    original = config_file.read_bytes()
    before = len(_events(cli))
    refused = cli(*args)
    assert refused.exit_code == 2, refused
    assert "Pass --yes to confirm" in refused.stderr and refused.stderr.count("\n") == 1
    assert config_file.read_bytes() == original and len(_events(cli)) == before
    assert cli(*args, "--yes").exit_code == 0


def test_clearing_every_override_is_one_event_that_rollback_puts_back(cli):
    for user, on in (("1", "--on"), ("2", "--off")):
        assert cli("flags", "override", "trait_caching", "-u", user, on).exit_code == 0
    cleared = _json(cli("--json", "flags", "clear-override", "trait_caching", "--all", "-y"))
    assert len(cleared["events"]) == 1
    event = _events(cli)[0]
    assert event["kind"] == "flag.clear-override" and event["before"] == "{1 = true, 2 = false}"
    assert _json(cli("--json", "flags", "overrides", "trait_caching"))["overrides"] == []
    done = _json(cli("--json", "rollback", str(event["id"])))
    assert [(o["user"], o["action"], o["on"]) for o in done["overrides"]] == [("1", "set", True), ("2", "set", False)]
    back = _json(cli("--json", "flags", "overrides", "trait_caching"))["overrides"]
    assert [(o["user"], o["on"]) for o in back] == [("1", True), ("2", False)]


def test_flags_get_and_messages_show_toml_values_not_python_reprs(cli, config_file: Path):
    shown = cli("flags", "get", "trait_caching")
    assert shown.exit_code == 0
    assert "enabled: true" in shown.stdout and "created: 2026-11-01" in shown.stdout
    assert "tenants: { acme = { percentage = 100 } }" in shown.stdout
    for python in ("True", "False", "{'", "datetime."):
        assert python not in shown.stdout
    config_file.write_text(config_file.read_text().replace('stickiness = "tenant"', 'stickiness = true', 1))
    broken = cli("flags", "get", "trait_caching")
    assert broken.exit_code == 2 and "stickiness = true must be a non-empty string" in broken.stderr


def test_one_event_over_several_files_rolls_back_every_file(project: Path, config_file: Path):
    """A command that edits several files (one edit per file) records one event; its rollback
    checks every file first, then puts each back byte for byte."""
    import os

    from traitctl.context import App, GlobalOptions
    from traitctl.engine.errors import Conflict
    from traitctl.history_service import record_edits, rollback
    from traitctl.output import Output
    from traitctl.store import toml_file

    tenant_file = config_file.parent / "tenants" / "globex.toml"
    originals = {path: path.read_bytes() for path in (config_file, tenant_file)}
    app = App(options=GlobalOptions(config=str(config_file)), env=os.environ, cwd=project, out=Output())
    try:
        edits = [toml_file.edit(config_file, [toml_file.Change(("tenants", "acme", "traits", "Cacheable", "ttl"), 7)]),
                 toml_file.edit(tenant_file, [toml_file.Change(("traits", "Cacheable", "ttl"), 7)])]
        event = record_edits(app.store(), "config.set", edits, actor="ana", command="traitctl config set ttl 7")
        assert event.data["files"] == [str(config_file), str(tenant_file)]
        assert [c["file"] for c in event.data["changes"]] == [str(config_file), str(tenant_file)]
        tenant_file.write_text(tenant_file.read_text().replace("ttl = 7", "ttl = 8"))
        with pytest.raises(Conflict, match="is now 8, not 7"):
            rollback(app, event.id, actor="ana", command=f"traitctl rollback {event.id}")
        assert b"ttl = 7" in config_file.read_bytes()  # the conflict in the second file wrote nothing
        tenant_file.write_text(tenant_file.read_text().replace("ttl = 8", "ttl = 7"))
        done = rollback(app, event.id, actor="ana", command=f"traitctl rollback {event.id}")
        assert len(done.events) == 1 and done.events[0].reverts == event.id
        assert {path: path.read_bytes() for path in originals} == originals
    finally:
        app.close()


def test_events_recorded_before_one_event_per_command_still_roll_back(project: Path, config_file: Path):
    """A store keeps events of the older layout (one key, no data.changes): they roll back as before."""
    import os

    from traitctl.context import App, GlobalOptions
    from traitctl.history_service import rollback
    from traitctl.output import Output
    from traitctl.store import toml_file

    original = config_file.read_bytes()
    app = App(options=GlobalOptions(config=str(config_file)), env=os.environ, cwd=project, out=Output())
    try:
        path = ("traits", "Cacheable", "ttl")
        toml_file.edit(config_file, [toml_file.Change(path, 99)])
        old = app.store().events.record(kind="config.set", actor="ana", command="traitctl config set ttl 99",
                                        file=str(config_file), path=path, before="3600", after="99")
        done = rollback(app, old.id, actor="ana", command=f"traitctl rollback {old.id}")
        assert done.message == f"Rolled back event #{old.id}: traits -> Cacheable -> ttl = 3600"
        assert config_file.read_bytes() == original
    finally:
        app.close()
