"""`traitctl config …`, `tenants …`, `history` and `rollback` through real subprocesses."""

from __future__ import annotations

import json
import tomllib


def test_get_follows_every_layer(cli):
    assert cli("config", "get", "ttl", "--trait", "Cacheable").stdout == "3600\n"
    assert cli("config", "get", "ttl", "-t", "Cacheable", "-m", "App\\Models\\Product").stdout == "600\n"
    assert cli("config", "get", "ttl", "-t", "Cacheable", "-m", "Product", "--tenant", "acme").stdout == "60\n"
    assert cli("config", "get", "ttl", "-t", "Cacheable", "-m", "Product", "--tenant", "globex").stdout == "120\n"
    assert cli("config", "get", "max_length", "-t", "HasSlug").stdout == "80\n"  # schema default


def test_get_json_names_the_source(cli, config_file):
    result = cli("config", "get", "separator", "-t", "HasSlug", "--tenant", "globex", "--json")
    doc = json.loads(result.stdout)
    assert doc["value"] == "_" and doc["source"]["layer"] == "tenant"
    assert doc["source"]["file"].endswith("config/tenants/globex.toml")


def test_explain_lists_layers_with_lines(cli, config_file):
    result = cli("config", "explain", "ttl", "-t", "Cacheable", "-m", "Product", "--tenant", "acme", "--json")
    doc = json.loads(result.stdout)
    assert [row["layer"] for row in doc["layers"]] == ["tenant", "model", "global", "default"]
    assert doc["winner"] == "tenant" and doc["value"] == 60
    lines = config_file.read_text().splitlines()
    for row in doc["layers"]:
        assert row["line"] is not None
        assert "ttl" in lines[row["line"] - 1]
    human = cli("config", "explain", "ttl", "-t", "Cacheable", "-m", "Product", "--tenant", "acme").stdout
    assert "[wins]" in human and "Precedence: tenant+model > tenant > model > global > default" in human


def test_show_table_and_json(cli):
    doc = json.loads(cli("config", "show", "--json", "-m", "Product").stdout)
    assert doc["traits"]["Cacheable"]["ttl"] == {"value": 600, "source": {
        "layer": "model", "file": doc["traits"]["Cacheable"]["ttl"]["source"]["file"],
        "path": ["models", "App\\Models\\Product", "Cacheable"]}}
    table = cli("config", "show", "-t", "Cacheable").stdout
    assert "ttl" in table and "3600" in table and "global" in table


def test_set_validates_writes_and_records(cli, config_file):
    before = config_file.read_text()
    result = cli("config", "set", "ttl", "120", "-t", "Cacheable", "-m", "Product")
    assert result.exit_code == 0, result
    assert "600 -> 120" in result.stderr
    after = config_file.read_text()
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines()) if a != b]
    assert changed == [("ttl = 600", "ttl = 120")]
    history = json.loads(cli("history", "--json").stdout)["events"]
    assert history[0]["kind"] == "config.set" and history[0]["before"] == "600" and history[0]["after"] == "120"
    assert history[0]["actor"] == "tester" and history[0]["model"] == "App\\Models\\Product"


def test_dry_run_prints_diff_and_writes_nothing(cli, config_file):
    before = config_file.read_text()
    result = cli("config", "set", "retention_days", "30", "-t", "HasUserTracking", "--dry-run")
    assert result.exit_code == 0
    assert "-retention_days = 90\n+retention_days = 30\n" in result.stdout
    assert config_file.read_text() == before
    assert json.loads(cli("history", "--json").stdout)["events"] == []


def test_set_in_tenant_file_and_unset(cli, project):
    tenant_file = project / "config" / "tenants" / "globex.toml"
    assert cli("config", "set", "ttl", "90", "-t", "Cacheable", "--tenant", "globex").exit_code == 0
    assert tomllib.loads(tenant_file.read_text())["traits"]["Cacheable"]["ttl"] == 90
    assert cli("config", "unset", "ttl", "-t", "Cacheable", "--tenant", "globex").exit_code == 0
    assert "Cacheable" not in tomllib.loads(tenant_file.read_text())["traits"] or \
        "ttl" not in tomllib.loads(tenant_file.read_text())["traits"]["Cacheable"]
    missing = cli("config", "unset", "ttl", "-t", "Cacheable", "--tenant", "globex")
    assert missing.exit_code == 2 and "is not set in" in missing.stderr


def test_bad_values_exit_2_and_write_nothing(cli, config_file):
    before = config_file.read_text()
    cases = {
        ("config", "set", "ttl", "99999", "-t", "Cacheable"): "traits -> Cacheable -> ttl: 99999 is above the maximum 86400",
        ("config", "set", "ttl", '"soon"', "-t", "Cacheable"): "expected integer, got string",
        ("config", "set", "store", '"disk"', "-t", "Cacheable"): 'is not one of "redis", "file", "array"',
        ("config", "set", "ttl", "not toml", "-t", "Cacheable"): "is not a TOML value",
        ("config", "set", "tll", "5", "-t", "Cacheable"): "unknown key 'tll' for trait Cacheable. Did you mean 'ttl'",
        ("config", "set", "ttl", "5", "-t", "Cachable"): "Unknown trait 'Cachable'. Did you mean 'Cacheable'",
        ("config", "set", "ttl", "5", "-t", "Cacheable", "-m", "Produkt"): "Did you mean 'App\\Models\\Product'",
        ("config", "set", "ttl", "5", "-t", "Cacheable", "--tenant", "acmee"): "Unknown tenant 'acmee'. Did you mean 'acme'",
        ("config", "set", "ttl", "5", "-t", "Cacheable", "--tenant", "../etc"): "Invalid tenant id '../etc'",
    }
    for args, message in cases.items():
        result = cli(*args)
        assert result.exit_code == 2, (args, result)
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert config_file.read_text() == before


def test_unparseable_config_exit_2_with_line(cli, config_file):
    config_file.write_text(config_file.read_text() + "\n[broken\n")
    result = cli("config", "get", "ttl", "-t", "Cacheable")
    assert result.exit_code == 2
    assert "traits.toml: invalid TOML" in result.stderr and "line" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_config_is_a_clear_error(cli, tmp_path_factory):
    empty = tmp_path_factory.mktemp("no-config")
    result = cli("config", "get", "ttl", "-t", "Cacheable", cwd=empty)
    assert result.exit_code == 2 and "No config/traits.toml found" in result.stderr


def test_config_found_walking_up_and_by_env(cli, project):
    deep = project / "examples" / "deep" / "er"
    deep.mkdir(parents=True)
    assert cli("config", "get", "ttl", "-t", "Cacheable", cwd=deep).stdout == "3600\n"
    other = project.parent / "elsewhere"
    other.mkdir(exist_ok=True)
    env = {"TRAITCTL_CONFIG": str(project / "config" / "traits.toml")}
    assert cli("config", "get", "ttl", "-t", "Cacheable", cwd=other, env=env).stdout == "3600\n"


def test_validate_clean_then_broken(cli, config_file):
    ok = cli("config", "validate", "--json")
    assert ok.exit_code == 0, ok
    assert json.loads(ok.stdout)["valid"] is True
    text = config_file.read_text().replace("ttl = 600", "ttl = -5").replace("max_length = 120", "max_lenght = 120")
    config_file.write_text(text + "\n[models.'App\\Models\\Ghost'.Cacheable]\nttl = 5\n")
    bad = cli("config", "validate", "--json")
    assert bad.exit_code == 1
    messages = [p["message"] for p in json.loads(bad.stdout)["problems"]]
    assert any("below the minimum 0" in m for m in messages)
    assert any("unknown key 'max_lenght'" in m for m in messages)
    problems = json.loads(bad.stdout)["problems"]
    assert all(p["line"] for p in problems)


def test_tenants_add_list_remove_and_rollback(cli, project):
    assert cli("tenants", "add", "initech", "--name", "Initech", "--file").exit_code == 0
    assert (project / "config" / "tenants" / "initech.toml").exists()
    assert cli("tenants", "add", "umbrella").exit_code == 0
    doc = json.loads(cli("tenants", "list", "--json").stdout)
    assert {t["id"] for t in doc["tenants"]} == {"acme", "globex", "initech", "umbrella"}
    assert cli("tenants", "add", "acme").exit_code == 2
    assert cli("tenants", "add", "../x").exit_code == 2
    for device in ("CON", "nul", "com1.eu", "Lpt9"):  # no file tenants/<id>.toml on Windows
        result = cli("tenants", "add", device, "--file")
        assert result.exit_code == 2 and "device name on Windows" in result.stderr, (device, result)
    assert not list((project / "config" / "tenants").glob("[cClLnN]*.toml"))
    assert cli("tenants", "add", "console", "--file").exit_code == 0  # a longer name is a name
    refused = cli("tenants", "remove", "acme")
    assert refused.exit_code == 1 and "--force" in refused.stderr
    assert cli("tenants", "remove", "globex", "--force", "--yes").exit_code == 0
    assert not (project / "config" / "tenants" / "globex.toml").exists()
    removed = json.loads(cli("history", "--json", "--kind", "tenant.remove").stdout)["events"][0]
    assert cli("rollback", str(removed["id"])).exit_code == 0
    assert cli("config", "get", "separator", "-t", "HasSlug", "--tenant", "globex").stdout == "_\n"


def test_rollback_restores_and_refuses_when_changed(cli, config_file):
    original = config_file.read_text()
    cli("config", "set", "ttl", "100", "-t", "Cacheable")
    first = json.loads(cli("history", "--json").stdout)["events"][0]["id"]
    cli("config", "set", "ttl", "200", "-t", "Cacheable")
    refused = cli("rollback", str(first))
    assert refused.exit_code == 1
    assert "is now 200, not 100 as event #" in refused.stderr
    latest = json.loads(cli("history", "--json").stdout)["events"][0]["id"]
    assert cli("rollback", str(latest)).exit_code == 0
    assert cli("rollback", str(first)).exit_code == 0
    assert config_file.read_text() == original
    events = json.loads(cli("history", "--json").stdout)["events"]
    assert events[0]["kind"] == "rollback" and events[0]["reverts"] == first
    forced = cli("config", "set", "ttl", "5", "-t", "Cacheable")
    assert forced.exit_code == 0
    assert cli("rollback", str(first), "--force").exit_code == 0
    assert cli("config", "get", "ttl", "-t", "Cacheable").stdout == "3600\n"
    assert cli("rollback", "9999").exit_code == 2


def test_rollback_of_a_new_key_removes_it(cli, config_file):
    original = tomllib.loads(config_file.read_text())
    cli("config", "set", "index", "posts", "-t", "Searchable", "-m", "Post")
    event = json.loads(cli("history", "--json").stdout)["events"][0]
    assert event["before"] is None and event["after"] == '"posts"'
    assert cli("rollback", str(event["id"])).exit_code == 0
    now = tomllib.loads(config_file.read_text())
    assert now["models"]["App\\Models\\Post"].get("Searchable", {}) == {}
    assert now["traits"] == original["traits"]


def test_history_filters(cli):
    cli("config", "set", "ttl", "100", "-t", "Cacheable")
    cli("config", "set", "ttl", "50", "-t", "Cacheable", "--tenant", "acme")
    cli("config", "set", "source", "name", "-t", "HasSlug")
    assert len(json.loads(cli("history", "--json", "--trait", "Cacheable").stdout)["events"]) == 2
    assert len(json.loads(cli("history", "--json", "--tenant", "acme").stdout)["events"]) == 1
    assert len(json.loads(cli("history", "--json", "--limit", "1").stdout)["events"]) == 1
    assert len(json.loads(cli("history", "--json", "--since", "1h").stdout)["events"]) == 3
    bad = cli("history", "--since", "yesterday")
    assert bad.exit_code == 2 and "'yesterday' is not a date" in bad.stderr


def test_unreachable_store_is_one_sentence(cli):
    result = cli("--store", "postgresql://admin:s3cret@127.0.0.1:1/db", "history")
    assert result.exit_code == 2
    assert "s3cret" not in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: Cannot open the store at postgresql://admin:***@127.0.0.1:1/db")


def test_store_on_postgresql(cli, pg_url):
    assert cli("--store", pg_url, "config", "set", "ttl", "10", "-t", "Cacheable").exit_code == 0
    events = json.loads(cli("--store", pg_url, "history", "--json").stdout)["events"]
    assert events[0]["after"] == "10"
    assert cli("--store", pg_url, "rollback", str(events[0]["id"])).exit_code == 0
