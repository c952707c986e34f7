"""A tenant's table of the wrong shape (``traits = 3``, ``models = "x"``, a trait that is no table,
a tenant that is no table) is a violation of ``config validate``: file:line, key path, exit 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

TENANT = '[tenants.zed]\nname = "Zed"\n'

#: (id, text appended to the main file, expected line offset from the first appended line, expected text)
CASES = [
    ("traits-integer", TENANT + "traits = 3\n", 3, "tenants -> zed -> traits: must be a table of traits"
                                                   " (traits.<Trait> = { key = value }), not 3"),
    ("models-string", TENANT + 'models = "x"\n', 3, "tenants -> zed -> models: must be a table of models"
                                                    " (models.'<FQN>'.<Trait> = { key = value }), not \"x\""),
    ("traits-array", TENANT + "traits = []\n", 3, "tenants -> zed -> traits: must be a table of traits"
                                                  " (traits.<Trait> = { key = value }), not []"),
    ("trait-integer", TENANT + "traits = { Cacheable = 3 }\n", 3,
     "tenants -> zed -> traits -> Cacheable: must be a table of settings, not 3"),
    ("tenant-integer", "[tenants]\nzed = 3\n", 2,
     "tenants -> zed: must be a table ([tenants.zed] with name, traits, models), not 3"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_wrong_shape_in_a_tenant_table_is_a_violation(case, cli, config_file: Path):
    _, appended, offset, expected = case
    text = config_file.read_text()
    if not text.endswith("\n"):
        text += "\n"
    first = text.count("\n") + 2  # after the blank line below
    config_file.write_text(text + "\n" + appended)

    result = cli("config", "validate", "--no-source")
    assert result.exit_code == 1, result
    assert result.stdout.strip().splitlines() == [f"{config_file}:{first + offset - 1}: {expected}"], result
    assert "Traceback" not in result.stderr

    doc = json.loads(cli("config", "validate", "--json", "--no-source").stdout)
    assert doc["valid"] is False
    assert [(p["file"], p["line"]) for p in doc["problems"]] == [(str(config_file), first + offset - 1)]


def test_wrong_shape_in_a_tenant_file_names_that_file(cli, config_file: Path):
    tenant = config_file.parent / "tenants" / "globex.toml"
    tenant.write_text('# Tenant "globex"\nname = "Globex"\ntraits = "HasSlug"\n')
    line = 3
    result = cli("config", "validate", "--no-source")
    assert result.exit_code == 1, result
    assert result.stdout.strip().splitlines() == [
        f"{tenant}:{line}: traits: must be a table of traits (traits.<Trait> = {{ key = value }}), not \"HasSlug\""]


def test_tenant_tables_of_the_right_shape_stay_valid(cli, config_file: Path):
    config_file.write_text(config_file.read_text() + '\n[tenants.zed]\nname = "Zed"\ntraits = { Cacheable = { ttl = 5 } }\n'
                           "models = {}\n")
    result = cli("config", "validate", "--no-source")
    assert result.exit_code == 0, result
    assert result.stdout == ""
    assert result.stderr.strip() == f"{config_file}: valid (9 traits, 3 tenants)."
