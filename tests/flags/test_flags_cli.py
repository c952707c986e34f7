"""``traitctl flags`` end to end: real subprocesses on a copy of the bundled configuration, a real
SQLite store beside it."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import pytest


def _toml(config_file: Path) -> dict:
    import tomllib

    return tomllib.loads(config_file.read_text())


def test_create_set_and_get_keep_comments_and_record_history(cli, config_file):
    before = config_file.read_text()
    result = cli("flags", "create", "beta-reports", "--description", "Reports v2", "--enable", "-p", "25",
                 "--bucketing", "crc32-seed")
    assert result.exit_code == 0, result
    assert "Flag beta-reports created" in result.stderr
    assert cli("flags", "rollout", "beta-reports", "30").exit_code == 0
    flag = _toml(config_file)["flags"]["beta-reports"]
    assert (flag["enabled"], flag["percentage"], flag["bucketing"]) == (True, 30, "crc32-seed")
    assert config_file.read_text().startswith(before.split("[flags.")[0])  # earlier text untouched
    got = json.loads(cli("flags", "get", "beta-reports", "--json").stdout)
    assert got["percentage"] == 30 and got["state"] == "partial"
    events = json.loads(cli("flags", "history", "beta-reports", "--json").stdout)["events"]
    assert events[0]["kind"] == "flag.set" and events[0]["before"] == "25" and events[0]["after"] == "30"
    assert events[0]["actor"] == "tester"


def test_dry_run_prints_the_diff_and_writes_nothing(cli, config_file):
    before = config_file.read_text()
    result = cli("flags", "set", "trait_caching", "--percentage", "40", "--dry-run")
    assert result.exit_code == 0, result
    assert "-percentage = 25\n+percentage = 40\n" in result.stdout
    assert config_file.read_text() == before


@pytest.mark.parametrize("args, message", [
    (("flags", "set", "trait_caching", "-p", "120"), "error: Percentage 120 is outside 0-100.\n"),
    (("flags", "set", "trait_caching", "-p", "abc"), "error: Percentage 'abc' is not a number"),
    (("flags", "set", "trait_cashing", "-p", "5"), "error: Unknown flag 'trait_cashing'. Did you mean 'trait_caching'?"),
    (("flags", "set", "trait_caching", "--bucketing", "md5"), "error: Unknown bucketing algorithm 'md5'"),
    (("flags", "schedule", "trait_caching", "10@2020-01-01"), "error: Schedule step 10@2020-01-01 is in the past"),
    (("flags", "schedule", "trait_caching", "50@2030-01-02", "10@2030-01-03"), "error: Schedule is not increasing"),
    (("flags", "override", "trait_caching", "--user", "1", "--on", "--ttl", "3x"), "error: Duration '3x' does not parse"),
    (("flags", "set", "trait_caching", "-p", "5", "--tenant", "../etc"), "error: Invalid tenant id '../etc'"),
])
def test_bad_input_exits_2_with_one_sentence_and_writes_nothing(cli, config_file, args, message):
    before = config_file.read_text()
    result = cli(*args)
    assert result.exit_code == 2, result
    assert result.stderr.startswith(message) and "Traceback" not in result.stderr
    assert config_file.read_text() == before


def test_tenant_settings_and_explain(cli):
    assert cli("flags", "set", "trait_caching", "--tenant", "globex", "--disable").exit_code == 0
    result = cli("flags", "eval", "trait_caching", "--tenant", "globex", "--explain")
    assert result.stdout.splitlines()[0] == "off"
    assert "tenant globex replaces enabled = false" in result.stdout
    acme = json.loads(cli("flags", "eval", "trait_caching", "--tenant", "acme", "--json").stdout)
    assert acme["on"] is True and acme["bucket"] == zlib.crc32(b"trait_caching:acme") % 100


def test_override_wins_expires_and_is_recorded(cli):
    subject = next(str(u) for u in range(1000) if zlib.crc32(f"traits_management_system:{u}".encode()) % 100 >= 10)
    assert cli("flags", "eval", "traits_management_system", "--user", subject).stdout == "off\n"
    result = cli("flags", "override", "traits_management_system", "--user", subject, "--on", "--ttl", "2d",
                 "--now", "2026-12-01T00:00")
    assert result.exit_code == 0, result
    assert cli("flags", "eval", "traits_management_system", "-u", subject, "--now", "2026-12-02").stdout == "on\n"
    assert cli("flags", "eval", "traits_management_system", "-u", subject, "--now", "2026-12-04").stdout == "off\n"
    listed = json.loads(cli("flags", "overrides", "traits_management_system", "--json", "--now", "2026-12-02").stdout)
    assert [(o["user"], o["on"]) for o in listed["overrides"]] == [(subject, True)]
    history = json.loads(cli("flags", "history", "traits_management_system", "--json").stdout)["events"]
    assert history[0]["kind"] == "flag.override" and history[0]["after"] == "true"
    cleared = cli("flags", "clear-override", "traits_management_system", "--user", subject, "--now", "2026-12-02")
    assert cleared.exit_code == 0 and "Cleared 1 override(s)" in cleared.stderr


def test_subjects_file_matches_single_evaluations(cli, project):
    ids = [str(i) for i in range(2000)] + ["user-a", "user-b"]
    (project / "ids.txt").write_text("\n".join(ids) + "\n")
    result = cli("flags", "eval", "traits_management_system", "--subjects", "ids.txt")
    lines = result.stdout.splitlines()
    assert len(lines) == len(ids)
    expected = {i: zlib.crc32(f"traits_management_system:{i}".encode()) % 100 < 10 for i in ids}
    assert all(line == f"{i}\t{'on' if expected[i] else 'off'}" for line, i in zip(lines, ids))
    summary = cli("flags", "eval", "traits_management_system", "--subjects", "-", "--summary", "--json",
                  input="\n".join(ids))
    data = json.loads(summary.stdout)
    assert (data["total"], data["on"]) == (len(ids), sum(expected.values()))


def test_schedule_advance_is_idempotent_and_recorded(cli, config_file):
    assert cli("flags", "schedule", "trait_caching", "30@2030-01-01", "60@2030-01-02", "100@2030-01-03",
               "--now", "2029-12-31").exit_code == 0
    listed = {f["name"]: f for f in json.loads(cli("flags", "list", "--json", "--now", "2029-12-31").stdout)["flags"]}
    assert listed["trait_caching"]["next_step"] == "30@2030-01-01" and listed["trait_caching"]["tenants"] == ["acme"]
    assert listed["traits_management_system"]["guard"] == "no data"
    first = json.loads(cli("flags", "advance", "--json", "--now", "2030-01-02T06:00").stdout)
    by_flag = {d["flag"]: d for d in first["decisions"]}
    assert by_flag["trait_caching"]["action"] == "advance" and by_flag["trait_caching"]["percentage"] == 60
    assert _toml(config_file)["flags"]["trait_caching"]["percentage"] == 60
    second = json.loads(cli("flags", "advance", "--json", "--now", "2030-01-02T06:00").stdout)
    assert {d["flag"]: d["action"] for d in second["decisions"]}["trait_caching"] == "none"
    events = json.loads(cli("flags", "history", "trait_caching", "--json").stdout)["events"]
    assert [e["kind"] for e in events[:1]] == ["flag.advance"]
    assert events[0]["data"]["step"] == "60@2030-01-02"


def test_guard_breach_rolls_back_with_evidence(cli, config_file, project):
    import datetime as dt

    from traitctl.engine.telemetry_formats import Point, to_epoch
    from traitctl.store.db import Store

    now = dt.datetime(2026, 12, 9, 12, 0)
    assert cli("flags", "rollout", "traits_management_system", "50").exit_code == 0
    store = Store.open(f"sqlite:///{project / 'config' / '.traitctl' / 'traitctl.db'}")
    store.metrics.write([Point("trait.errors", "counter", 40.0, to_epoch(now - dt.timedelta(minutes=5)), {}),
                         Point("trait.errors", "counter", 30.0, to_epoch(now - dt.timedelta(minutes=2)), {})])
    store.close()
    result = json.loads(cli("flags", "advance", "--json", "--now", now.isoformat()).stdout)
    decision = {d["flag"]: d for d in result["decisions"]}["traits_management_system"]
    assert (decision["action"], decision["percentage"]) == ("rollback", 10)
    assert decision["evidence"] == {"sum(trait.errors) over 15m > 50": 70.0}
    flag = _toml(config_file)["flags"]["traits_management_system"]
    assert (flag["percentage"], flag["paused"]) == (10, True)
    events = json.loads(cli("flags", "history", "traits_management_system", "--json").stdout)["events"]
    assert events[0]["kind"] == "flag.rollback" and events[0]["data"]["evidence"]
    again = json.loads(cli("flags", "advance", "--json", "--now", now.isoformat()).stdout)
    assert {d["flag"]: d["action"] for d in again["decisions"]}["traits_management_system"] == "none"


def test_stale_and_lint_exit_1_on_findings(cli):
    clean = cli("flags", "stale", "--now", "2026-11-20")
    assert clean.exit_code == 0 and "No stale flags" in clean.stderr
    assert cli("flags", "create", "old-switch", "--enable", "--expires", "2026-12-01").exit_code == 0
    stale = cli("flags", "stale", "--json", "--now", "2027-03-01")
    assert stale.exit_code == 1
    found = {s["flag"]: s["reason"] for s in json.loads(stale.stdout)["stale"]}
    assert found == {"old-switch": "temporary flag expired on 2026-12-01"}
    assert cli("flags", "lint").exit_code == 0
    assert cli("flags", "set", "trait_caching", "--bucketing", "crc32-seed").exit_code == 0
    lint = cli("flags", "lint")
    assert lint.exit_code == 1 and "flags.trait_caching uses crc32-seed" in lint.stdout


def test_flagd_export_evaluates_the_same_with_flagd_core(cli, project):
    pytest.importorskip("traitctl.engine.export_flagd")  # the flagd renderer of `traitctl export`
    from openfeature.contrib.tools.flagd.core import FlagdCore
    from openfeature.evaluation_context import EvaluationContext

    for name, args in (("fd-user", ["-p", "30"]), ("fd-tenant", ["-p", "40", "--stickiness", "tenant"])):
        assert cli("flags", "create", name, "--enable", "--bucketing", "flagd", *args).exit_code == 0
    assert cli("flags", "set", "fd-user", "--tenant", "acme", "-p", "70").exit_code == 0
    exported = cli("flags", "export", "--format", "flagd", "--allow-lossy")  # the crc32 flags differ in flagd
    assert exported.exit_code == 0, exported
    core = FlagdCore()
    core.set_flags(exported.stdout)
    ids = [str(i) for i in range(300)]
    (project / "ids.txt").write_text("\n".join(ids))
    for name, tenant in (("fd-user", "globex"), ("fd-user", "acme")):
        ours = cli("flags", "eval", name, "--tenant", tenant, "--subjects", "ids.txt").stdout.splitlines()
        theirs = [core.resolve_boolean_value(name, False, EvaluationContext(
            targeting_key=i, attributes={"tenant": tenant})).value for i in ids]
        assert ours == [f"{i}\t{'on' if v else 'off'}" for i, v in zip(ids, theirs)]
    for tenant in ("acme", "globex"):
        ours = json.loads(cli("flags", "eval", "fd-tenant", "--tenant", tenant, "--json").stdout)["on"]
        theirs = core.resolve_boolean_value("fd-tenant", False, EvaluationContext(
            targeting_key="u1", attributes={"tenant": tenant})).value
        assert ours is theirs


def test_laravel_import_keeps_env_names(cli, project, config_file):
    seed = project / "feature_flags.php"
    seed.write_text("<?php\nreturn [\n  'features' => ['trait_events' => env('FEATURE_TRAIT_EVENTS', true),\n"
                    "                   'trait_queues' => false],\n"
                    "  'percentages' => ['trait_events' => env('FEATURE_TRAIT_EVENTS_PERCENTAGE', 20)],\n];\n")
    result = cli("flags", "import", "--format", "laravel", str(seed))
    assert result.exit_code == 0, result
    flags = _toml(config_file)["flags"]
    assert flags["trait_events"] | {"created": None} == {
        "enabled": True, "percentage": 20, "bucketing": "crc32-seed", "created": None,
        "env": {"enabled": "FEATURE_TRAIT_EVENTS", "percentage": "FEATURE_TRAIT_EVENTS_PERCENTAGE"}}
    assert flags["trait_queues"]["enabled"] is False
    on = cli("flags", "eval", "trait_events", "--user", "1", env={"FEATURE_TRAIT_EVENTS_PERCENTAGE": "100"})
    assert on.stdout.strip() == "on"  # the variable's value, as Laravel's env() gives it
    off = cli("flags", "eval", "trait_events", "--user", "1", env={"FEATURE_TRAIT_EVENTS": "false"})
    assert off.stdout.strip() == "off"


def test_delete_force_drops_overrides_and_rollback_restores_the_flag(cli, config_file):
    assert cli("flags", "override", "trait_caching", "--user", "1", "--off").exit_code == 0
    refused = cli("flags", "delete", "trait_caching")
    assert refused.exit_code == 1 and "has 1 override(s)" in refused.stderr
    unconfirmed = cli("flags", "delete", "trait_caching", "--force")
    assert unconfirmed.exit_code == 2 and "Pass --yes" in unconfirmed.stderr
    assert cli("flags", "delete", "trait_caching", "--force", "--yes").exit_code == 0
    assert "trait_caching" not in _toml(config_file)["flags"]
    assert cli("flags", "lint").exit_code == 0  # no override left behind for the deleted flag
    events = json.loads(cli("flags", "history", "trait_caching", "--json").stdout)["events"]
    assert events[0]["kind"] == "flag.delete"  # one event: the table and the override it cleared
    assert [o["user"] for o in events[0]["data"]["overrides"]] == ["1"]
    assert cli("rollback", str(events[0]["id"])).exit_code == 0
    restored = _toml(config_file)["flags"]["trait_caching"]
    assert restored["percentage"] == 25 and restored["tenants"] == {"acme": {"percentage": 100}}
    overrides = json.loads(cli("flags", "overrides", "trait_caching", "--json").stdout)["overrides"]
    assert [(o["user"], o["on"]) for o in overrides] == [("1", False)]  # the override came back too


def test_every_flags_subcommand_has_help():
    from typer.testing import CliRunner

    import typer

    from traitctl.commands.flags import app

    command = typer.main.get_command(app)
    names = sorted(command.commands)
    assert {"list", "get", "set", "enable", "disable", "rollout", "create", "delete", "override", "overrides",
            "clear-override", "eval", "schedule", "advance", "stale", "lint", "history", "export",
            "import"} <= set(names)
    runner = CliRunner()
    for name in names:
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output, name


def test_overrides_in_a_postgresql_store(cli, pg_url):
    subject = next(str(u) for u in range(1000) if zlib.crc32(f"traits_management_system:{u}".encode()) % 100 >= 10)
    assert cli("--store", pg_url, "flags", "override", "traits_management_system", "--user", subject, "--on").exit_code == 0
    result = json.loads(cli("--store", pg_url, "flags", "eval", "traits_management_system", "-u", subject,
                            "--json").stdout)
    assert (result["on"], result["reason"]) == (True, "override")
    assert cli("flags", "eval", "traits_management_system", "-u", subject).stdout == "off\n"  # the SQLite store
