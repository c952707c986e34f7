"""``traitctl inventory`` end to end in a real subprocess on a copy of the bundled example."""

from __future__ import annotations

import json
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "inventory"


def test_default_run_shows_summary_tables_and_config_notes(cli):
    result = cli("inventory")
    assert result.exit_code == 0, result
    assert result.stdout.startswith("31 files: 12 traits (2 vendor), 19 models, 50 model-trait pairs, "
                                    "8 method overrides\n")
    assert ("Configuration: 1 configured but not in the code, 6 traits in the code but not configured\n"
            in result.stdout)
    assert "App\\Models\\Traits\\BelongsToTenant" in result.stdout
    assert "statusTransitions() < HasStatus" in result.stdout
    assert "Configured but not in the code:\n  [traits.Versionable]: no trait in the code has that name\n" in result.stdout
    assert "  shop.mixins.TenantMixin: no [traits.TenantMixin] table, so no settings\n" in result.stdout
    assert "mismatch" not in result.stdout and " overrides," not in result.stdout


def test_json_document(cli):
    result = cli("inventory", "--json")
    assert result.exit_code == 0, result
    doc = json.loads(result.stdout)
    assert doc["schema"] == 2 and doc["summary"]["models"] == 19 and doc["summary"]["method_overrides"] == 8
    assert doc["summary"]["configured_not_in_code"] == 1 and doc["summary"]["in_code_not_configured"] == 6
    assert "overrides" not in doc["summary"] and "mismatches" not in doc["summary"]
    assert doc["audit"]["configured_only"] == ["Versionable"] and doc["audit"]["unused_model_layers"] == []
    assert {t["fqn"] for t in doc["vendor_traits"]} == {"Illuminate\\Database\\Eloquent\\SoftDeletes",
                                                        "Illuminate\\Notifications\\Notifiable"}
    again = cli("inventory", "--format", "json")
    assert again.stdout == result.stdout  # deterministic, and the same from the cache


def test_markdown_csv_and_focused_views(cli):
    md = cli("inventory", "--models", "--format", "markdown")
    assert md.exit_code == 0 and "## Models" in md.stdout and "## Traits" not in md.stdout
    assert ("- App\\Models\\Invoice::statusTransitions() (app/Models/Invoice.php:29) replaces "
            "App\\Models\\Traits\\HasStatus::statusTransitions() (line 20)") in md.stdout
    assert "HasUserTracking\\*" in md.stdout  # emphasis markers escaped in cells
    csv_out = cli("inventory", "--format", "csv")
    assert csv_out.stdout.splitlines()[0] == "model,trait,how,vendor,configured,method_overrides"
    assert "App\\Models\\Invoice,App\\Models\\Traits\\HasStatus,direct,no,HasStatus,statusTransitions" in csv_out.stdout
    traits_csv = cli("inventory", "--traits", "--format", "csv")
    assert traits_csv.stdout.splitlines()[0] == "Trait,Location,Uses,Laravel,Methods,Models,Config"
    model = cli("inventory", "--model", "Invoice")
    assert model.exit_code == 0
    assert "App\\Models\\Traits\\HasStatus::label insteadof App\\Models\\Traits\\Auditable" in model.stdout
    assert "Method overrides:\n  statusTransitions() line 29 replaces" in model.stdout
    assert "  Auditable:\n    enabled = true (global)\n" in model.stdout
    assert "    retention_days = 2555 (model)\n" in model.stdout
    trait = cli("inventory", "--trait", "HasStatus", "--json")
    trait_doc = json.loads(trait.stdout)
    assert trait_doc["trait"]["models"] == ["App\\Models\\Invoice", "App\\Models\\Order", "App\\Models\\Post"]
    assert [o["model"] for o in trait_doc["method_overrides"]] == ["App\\Models\\Invoice"]


def test_graphs(cli):
    mermaid = cli("inventory", "--graph", "mermaid")
    assert mermaid.exit_code == 0 and mermaid.stdout.startswith("flowchart LR\n")
    assert '(["Auditable"])' in mermaid.stdout and "|uses|" in mermaid.stdout
    dot = cli("inventory", "--graph", "dot")
    assert dot.stdout.startswith("digraph traits {")
    assert '"App\\\\Models\\\\Traits\\\\Auditable" -> "App\\\\Models\\\\Traits\\\\HasUserTracking" [label=uses' in dot.stdout


def test_bad_input_exits_2(cli):
    unknown = cli("inventory", "--trait", "HasStatis")
    assert unknown.exit_code == 2 and "HasStatus" in unknown.stderr and "Traceback" not in unknown.stderr
    fmt = cli("inventory", "--format", "xml")
    assert fmt.exit_code == 2 and "--format 'xml' is not one of" in fmt.stderr
    missing = cli("inventory", "no/such/dir")
    assert missing.exit_code == 2 and "no/such/dir does not exist" in missing.stderr


def test_save_then_check_detects_drift(cli, project):
    saved = cli("inventory", "--save", "baseline.json")
    assert saved.exit_code == 0 and (project / "baseline.json").exists()
    same = cli("inventory", "--check", "baseline.json")
    assert same.exit_code == 0 and same.stdout == "" and "No drift" in same.stderr

    invoice = project / "examples/laravel-app/app/Models/Invoice.php"
    text = invoice.read_text().replace("use BelongsToTenant;", "use BelongsToTenant, \\App\\Models\\Traits\\Cacheable;")
    invoice.write_text(text.replace("public function statusTransitions()", "public function workflow()"))
    drift = cli("inventory", "--check", "baseline.json")
    assert drift.exit_code == 1, drift
    assert "+ pair App\\Models\\Invoice uses App\\Models\\Traits\\Cacheable" in drift.stdout
    assert ("- override App\\Models\\Invoice::statusTransitions() overrides App\\Models\\Traits\\HasStatus"
            in drift.stdout)
    assert "drifted from baseline.json" in drift.stderr
    as_json = json.loads(cli("inventory", "--check", "baseline.json", "--json").stdout)
    assert as_json["equal"] is False and {"change": "added", "kind": "pair", "detail": "",
                                          "name": "App\\Models\\Invoice uses App\\Models\\Traits\\Cacheable"} in as_json["changes"]


def test_check_reads_a_schema_1_baseline(cli, project):
    # Schema 1 named the counts differently; the parts --check compares are the same.
    assert cli("inventory", "--save", "baseline.json").exit_code == 0
    doc = json.loads((project / "baseline.json").read_text())
    doc["schema"] = 1
    doc["summary"]["overrides"] = doc["summary"].pop("method_overrides")
    doc["audit"]["unused_overrides"] = doc["audit"].pop("unused_model_layers")
    (project / "baseline.json").write_text(json.dumps(doc))
    same = cli("inventory", "--check", "baseline.json")
    assert same.exit_code == 0 and "No drift" in same.stderr, same
    doc["schema"] = 3
    (project / "baseline.json").write_text(json.dumps(doc))
    future = cli("inventory", "--check", "baseline.json")
    assert future.exit_code == 2 and "is not an inventory baseline of schema 2" in future.stderr


def test_check_with_a_bad_baseline_exits_2(cli, project):
    (project / "bad.json").write_text("{not json")
    result = cli("inventory", "--check", "bad.json")
    assert result.exit_code == 2 and "bad.json is not an inventory baseline" in result.stderr


def test_strict_turns_parse_warnings_into_exit_1(cli, project):
    broken = FIXTURES / "tricky" / "app" / "Broken.php"
    relaxed = cli("inventory", str(broken))
    assert relaxed.exit_code == 0 and "warning: Broken.php:12:" in relaxed.stderr
    strict = cli("inventory", str(broken), "--strict")
    assert strict.exit_code == 1 and "could not be parsed fully (--strict)" in strict.stderr


def test_no_cache_gives_the_same_answer(cli):
    cached = cli("inventory", "--json")
    cold = cli("inventory", "--json", "--no-cache")
    assert cold.exit_code == 0 and cold.stdout == cached.stdout


def _run_with_tty_stderr(args: list[str], cwd: Path) -> tuple[int, bytes]:
    import os
    import pty
    import select
    import subprocess
    import sys

    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "traitctl", *args], cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=slave, env=dict(os.environ, COLUMNS="100"))
    os.close(slave)
    seen = b""
    while True:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    os.close(master)
    return proc.wait(), seen


def test_progress_bar_on_a_terminal_only_for_large_trees(cli, project):
    big = project / "big"
    big.mkdir()
    for i in range(210):
        (big / f"F{i}.php").write_text(f"<?php namespace P; trait T{i} {{}}\n")
    code, stderr = _run_with_tty_stderr(["inventory", "big", "--traits"], project)
    assert code == 0 and b"Scanning sources" in stderr and b"100%" in stderr
    piped = cli("inventory", "big", "--traits", "--no-cache")
    assert piped.exit_code == 0 and piped.stderr == ""
    small_code, small_stderr = _run_with_tty_stderr(["inventory", "--traits"], project)
    assert small_code == 0 and b"Scanning" not in small_stderr


def test_verbose_reports_what_the_cache_saved(cli, project):
    first = cli("-v", "inventory", "--traits")
    assert "Parsed 31 of 31 files (0 unchanged" in first.stderr
    second = cli("-v", "inventory", "--traits")
    assert "Parsed 0 of 31 files (31 unchanged" in second.stderr
    (project / "examples/python-app/shop/db.py").write_text("from sqlalchemy.orm import declarative_base\n\nBase = declarative_base()\n# edited\n")
    third = cli("-v", "inventory", "--traits")
    assert "Parsed 1 of 31 files (30 unchanged" in third.stderr


def test_tenant_settings(cli):
    result = cli("inventory", "--model", "Invoice", "--tenant", "acme", "--json")
    assert result.exit_code == 0, result
    auditable = json.loads(result.stdout)["traits"]["App\\Models\\Traits\\Auditable"]
    assert auditable["retention_days"] == {"value": 3650, "source": "tenant+model"}
    unknown = cli("inventory", "--tenant", "nobody")
    assert unknown.exit_code == 2 and "nobody" in unknown.stderr
    bad = cli("inventory", "--tenant", "../etc")
    assert bad.exit_code == 2 and "Traceback" not in bad.stderr
