"""``traitctl migrate-plan`` on the bundled example, end to end."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest


def _set(config_file: Path, path: tuple, value) -> None:
    """Set one key with the project's own safe TOML edit (the table may already exist)."""
    from traitctl.store.toml_file import Change, edit

    edit(config_file, [Change(path, value)])


@pytest.fixture
def plan_doc(cli):
    result = cli("migrate-plan", "--start", "2026-12-01", "--format", "json")
    assert result.exit_code == 0, result
    return json.loads(result.stdout)


def test_json_plan_of_the_bundled_example(plan_doc):
    doc = plan_doc
    assert doc["schema"] == 1
    assert [p["name"] for p in doc["phases"]] == ["Infrastructure setup", "Trait migration", "Model migration",
                                                  "Feature enablement"]
    order = [t["name"] for t in doc["traits"]]
    assert len(order) == 12
    assert order.index("HasUserTracking") < order.index("Auditable")  # Auditable uses HasUserTracking
    assert order.index("TimestampMixin") < order.index("AuditMixin")
    # one trait per working day, never on a weekend
    days = [dt.date.fromisoformat(t["date"]) for t in doc["traits"]]
    assert len(set(days)) == 12 and all(d.weekday() < 5 for d in days)
    assert all(b["date"] > doc["traits"][-1]["date"] for b in doc["batches"])
    assert all(len(b["models"]) <= 5 for b in doc["batches"])
    # every model after its traits, risks named
    trait_day = {t["trait"]: t["date"] for t in doc["traits"]}
    batch_of = {m: b for b in doc["batches"] for m in b["models"]}
    assert "App\\Models\\Invoice" in batch_of
    for trait in doc["traits"]:
        for model in trait["models"]:
            assert batch_of[model]["date"] > trait_day[trait["trait"]]
    risks = {(r["model"], r["method"]) for r in doc["risks"]}
    assert ("App\\Models\\Invoice", "statusTransitions") in risks
    assert ("App\\Models\\Setting", "cacheTtl") in risks


def test_markdown_is_a_reviewable_document(cli):
    result = cli("migrate-plan", "--start", "2026-12-01", "--format", "markdown")
    assert result.exit_code == 0, result
    md = result.stdout
    for heading in ("# Migration plan: 2026-12-01 to", "## Timeline", "## Phase 1: Infrastructure setup",
                    "## Phase 2: Trait migration", "## Phase 3: Model migration", "## Phase 4: Feature enablement",
                    "### Success criteria", "### Rollback triggers", "### Risks: custom overrides to review"):
        assert heading in md
    assert "| `App\\Models\\Invoice` | `statusTransitions()` |" in md
    assert "`traits_management_system` | 10 %" in md
    assert "[traits.Versionable] is configured but the code declares no such trait" in md
    assert cli("migrate-plan", "--start", "2026-12-01", "--format", "markdown").stdout == md


def test_table_output_shows_phases_and_timeline(cli):
    result = cli("migrate-plan", "--start", "2026-12-01")
    assert result.exit_code == 0, result
    assert "Migration plan 2026-12-01" in result.stdout
    assert "Phase 2: Trait migration" in result.stdout and "█" in result.stdout
    # "rich" was the human view's old name: still accepted, with a warning, and the same output.
    old = cli("migrate-plan", "--start", "2026-12-01", "--format", "rich")
    assert old.exit_code == 0 and old.stdout == result.stdout
    assert old.stderr == "warning: --format rich is deprecated: use --format table.\n"


def test_holidays_and_batch_size(cli, config_file):
    _set(config_file, ("migration", "holidays"), ["2026-12-08", dt.date(2026, 12, 9)])
    _set(config_file, ("migration", "batch_size"), 2)
    doc = json.loads(cli("migrate-plan", "--start", "2026-12-01", "--json").stdout)
    days = {t["date"] for t in doc["traits"]}
    assert "2026-12-08" not in days and "2026-12-09" not in days
    assert doc["traits"][0]["date"] == "2026-12-10"
    assert max(len(b["models"]) for b in doc["batches"]) == 2
    doc = json.loads(cli("migrate-plan", "--start", "2026-12-01", "--json", "--batch-size", "7").stdout)
    assert max(len(b["models"]) for b in doc["batches"]) == 7


@pytest.mark.parametrize("args, message", [
    (["--start", "2026-13-01"], "error: --start: '2026-13-01' is not a date; use YYYY-MM-DD"),
    (["--batch-size", "0"], "error: --batch-size must be at least 1, got 0."),
    (["--trait", "HasSlog"], "error: Unknown trait 'HasSlog'. Did you mean"),
    (["--model", "Nobody"], "error: Unknown model 'Nobody'."),
    (["--format", "pdf"], "error: --format 'pdf' is not one of table, markdown, json."),
    (["--flags", "model"], "error: migration -> flags: expected \"phase\" or \"trait\""),
])
def test_bad_input_exits_2(cli, args, message):
    result = cli("migrate-plan", *args)
    assert result.exit_code == 2, result
    assert result.stderr.startswith(message)
    assert "Traceback" not in result.stderr


def test_trait_cycle_exits_2_naming_it(cli, project: Path):
    folder = project / "examples" / "laravel-app" / "app" / "Models" / "Traits"
    (folder / "Ping.php").write_text("<?php\nnamespace App\\Models\\Traits;\ntrait Ping { use Pong; }\n")
    (folder / "Pong.php").write_text("<?php\nnamespace App\\Models\\Traits;\ntrait Pong { use Ping; }\n")
    result = cli("migrate-plan", "--start", "2026-12-01")
    assert result.exit_code == 2, result
    assert "Trait dependency cycle: App\\Models\\Traits\\Ping uses App\\Models\\Traits\\Pong uses " \
           "App\\Models\\Traits\\Ping" in result.stderr


def test_apply_schedule_dry_run_then_write(cli, config_file):
    before = config_file.read_text()
    result = cli("migrate-plan", "--start", "2099-01-05", "--apply-schedule", "--dry-run")
    assert result.exit_code == 0, result
    # the bundled flag exists: only its schedule line changes
    assert '-schedule = ["10@2026-12-01", "50@2026-12-08", "100@2026-12-15"]' in result.stdout
    assert '+schedule = ["10@2099-02-03", "50@2099-02-05", "100@2099-02-09"]' in result.stdout
    assert config_file.read_text() == before
    result = cli("migrate-plan", "--start", "2099-01-05", "--apply-schedule")
    assert result.exit_code == 0, result
    assert "Schedule of traits_management_system set" in result.stderr
    flag = json.loads(cli("flags", "get", "traits_management_system", "--json").stdout)
    assert flag["schedule"] == ["10@2099-02-03", "50@2099-02-05", "100@2099-02-09"]
    assert flag["enabled"] is True and flag["percentage"] == 10  # the rest of the flag untouched
    after = config_file.read_text()
    assert after.replace('"10@2099-02-03", "50@2099-02-05", "100@2099-02-09"',
                         '"10@2026-12-01", "50@2026-12-08", "100@2026-12-15"') == before
    events = json.loads(cli("history", "--json").stdout)["events"]
    assert [(e["kind"], e["path"], e["command"]) for e in events] == [
        ("flag.schedule", ["flags", "traits_management_system", "schedule"],
         "traitctl migrate-plan --start 2099-01-05 --apply-schedule")]


def test_apply_schedule_creates_a_missing_flag(cli, config_file):
    _set(config_file, ("migration", "flag"), "tms_rollout")
    result = cli("migrate-plan", "--start", "2099-01-05", "--apply-schedule")
    assert result.exit_code == 0, result
    flag = json.loads(cli("flags", "get", "tms_rollout", "--json").stdout)
    assert flag["enabled"] is False and flag["percentage"] == 0
    assert flag["schedule"] == ["10@2099-02-03", "50@2099-02-05", "100@2099-02-09"]


def test_apply_schedule_refuses_past_dates(cli, config_file):
    before = config_file.read_text()
    result = cli("migrate-plan", "--start", "2020-01-06", "--apply-schedule")
    assert result.exit_code == 2
    assert "is in the past" in result.stderr
    assert config_file.read_text() == before


def test_flag_per_trait(cli):
    doc = json.loads(cli("migrate-plan", "--start", "2026-12-01", "--flags", "trait", "--json").stdout)
    flags = {f["flag"] for f in doc["flags"]}
    assert "trait_has_user_tracking" in flags and "trait_timestamp_mixin" in flags
    assert len(doc["flags"]) == 12 * 3


def test_telemetry_baselines(cli, project: Path):
    import time

    from traitctl.engine.telemetry_formats import Point
    from traitctl.store.db import Store

    store = Store.open(f"sqlite:///{project / 'config' / '.traitctl' / 'traitctl.db'}")
    now = time.time()
    store.metrics.write([Point("trait.HasUuid.operations", "counter", 200.0, now - 60, {}),
                         Point("trait.HasUuid.errors", "counter", 1.0, now - 60, {}),
                         Point("trait.HasUuid.duration_ms", "timing", 12.0, now - 60, {}),
                         Point("trait.HasUuid.duration_ms", "timing", 18.0, now - 30, {}),
                         Point("trait.HasSlug.errors", "counter", 5.0, now - 3 * 86400, {})])  # outside 24h
    store.close()
    doc = json.loads(cli("migrate-plan", "--start", "2026-12-01", "--json").stdout)
    step = next(t for t in doc["traits"] if t["name"] == "HasUuid")
    assert step["baseline"] == {"operations": 200.0, "error_rate": 0.5, "duration_ms": 15.0}
    assert all(t["baseline"] == {} for t in doc["traits"] if t["name"] != "HasUuid")
    doc = json.loads(cli("migrate-plan", "--start", "2026-12-01", "--json", "--no-telemetry").stdout)
    assert next(t for t in doc["traits"] if t["name"] == "HasUuid")["baseline"] == {}


def test_phase_one_lists_each_cached_traits_ttl_per_layer(cli, config_file: Path):
    _set(config_file, ("traits", "Cacheable", "cache_ttl"), 600)
    _set(config_file, ("models", "App\\Models\\Product", "Cacheable", "cache_ttl"), 120)
    _set(config_file, ("tenants", "acme", "traits", "Cacheable", "cache_ttl"), 30)
    result = cli("migrate-plan", "--start", "2026-12-01", "--format", "json")
    assert result.exit_code == 0, result
    items = json.loads(result.stdout)["phases"][0]["items"]
    cached = [i for i in items if i["title"].startswith("Cache of ")]
    assert [i["title"] for i in cached] == ["Cache of Cacheable: cache_ttl per layer"]  # no other trait is cached
    assert cached[0]["details"] == ["global 600", "model App\\Models\\Product 120", "tenant acme 30"]
    assert cached[0]["command"] == "traitctl config explain cache_ttl --trait Cacheable"
    dates = [i["date"] for i in items]
    assert dates == sorted(dates)
