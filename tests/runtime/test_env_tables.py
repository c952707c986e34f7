"""`env` tables: validation, `config get`/`explain`/`show` reading the environment, flags reading it."""

from __future__ import annotations

import json


def _add(config_file, text: str) -> None:
    config_file.write_text(config_file.read_text() + "\n" + text)


def test_env_value_wins_only_in_its_layer_and_only_when_set(cli, config_file):
    text = config_file.read_text().replace("[traits.Cacheable]\nttl = 3600\n",
                                           '[traits.Cacheable]\nttl = 3600\nenv = { ttl = "CACHE_TTL" }\n')
    config_file.write_text(text)
    assert cli("config", "get", "ttl", "--trait", "Cacheable").stdout.strip() == "3600"
    assert cli("config", "get", "ttl", "--trait", "Cacheable", env={"CACHE_TTL": "90"}).stdout.strip() == "90"
    got = json.loads(cli("config", "get", "ttl", "--trait", "Cacheable", "--json", env={"CACHE_TTL": "(null)"}).stdout)
    assert got["value"] is None and got["source"]["env"] == {"name": "CACHE_TTL", "set": True}
    # the model layer wins for Product and names no variable: the environment does not reach it
    model = cli("config", "get", "ttl", "--trait", "Cacheable", "--model", "App\\Models\\Product",
                env={"CACHE_TTL": "90"})
    assert model.stdout.strip() == "600"
    explain = cli("config", "explain", "ttl", "--trait", "Cacheable", env={"CACHE_TTL": "'5'"})
    assert explain.exit_code == 0 and "environment variable CACHE_TTL" in explain.stdout and '"5"' in explain.stdout
    unset = cli("config", "explain", "ttl", "--trait", "Cacheable")
    assert "CACHE_TTL is not set" in unset.stdout
    shown = json.loads(cli("config", "show", "--trait", "Cacheable", "--json", env={"CACHE_TTL": "true"}).stdout)
    assert shown["traits"]["Cacheable"]["ttl"]["value"] is True
    assert "env" not in shown["traits"]["Cacheable"]  # a reserved key, not a setting
    assert cli("config", "validate", "--no-source").exit_code == 0


def test_validate_reports_broken_env_tables(cli, config_file):
    _add(config_file, "[models.'App\\Models\\Post'.Cacheable]\nttl = 5\nenv = { ttl = \"1BAD\", store = \"STORE_X\" }\n")
    result = cli("config", "validate", "--no-source", "--json")
    assert result.exit_code == 1
    messages = [p["message"] for p in json.loads(result.stdout)["problems"]]
    assert any("'1BAD' is not an environment variable name" in m for m in messages), messages
    assert any("names STORE_X for key 'store', which the table does not set" in m for m in messages), messages
    refused = cli("config", "set", "env", "1", "--trait", "Cacheable")
    assert refused.exit_code == 2


def test_flag_env_tables_are_checked_and_applied(cli, config_file):
    _add(config_file, '[flags.env-flag]\nenabled = false\npercentage = 100\nenv = { enabled = "FEATURE_ENV_FLAG" }\n')
    assert cli("flags", "eval", "env-flag", "--user", "1").stdout.strip() == "off"
    assert cli("flags", "eval", "env-flag", "--user", "1", env={"FEATURE_ENV_FLAG": "true"}).stdout.strip() == "on"
    assert cli("flags", "eval", "env-flag", "--user", "1", env={"FEATURE_ENV_FLAG": "0"}).stdout.strip() == "off"
    _add(config_file, '[flags.bad-env]\nenabled = true\nenv = { percentage = "PCT", enabled = "9X" }\n')
    lint = cli("flags", "lint")
    assert lint.exit_code == 1
    assert "flags.bad-env.env.percentage: names PCT for key 'percentage'" in lint.stdout
    assert "'9X' is not an environment variable name" in lint.stdout
