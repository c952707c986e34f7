"""``traitctl config diff``: two tenants, or this configuration against another environment's."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


def _rows(doc: dict) -> list[tuple]:
    return [(d["trait"], d["model"], d["tenant"], d["key"], d["left"]["value"], d["left"]["source"],
             d["right"]["value"], d["right"]["source"]) for d in doc["differences"]]


def test_two_tenants_every_difference_with_both_sources(run, fleet: Path):
    result = run("config", "diff", "--tenant", "acme", "--tenant", "globex", "--json")
    assert result.exit_code == 1
    doc = result.json()
    assert doc["equal"] is False and doc["left"]["tenant"] == "acme" and doc["right"]["tenant"] == "globex"
    assert _rows(doc) == [
        ("Auditable", "App\\Models\\Invoice", None, "retention_days", 3650, "tenant+model", 2555, "model"),
        ("Cacheable", None, None, "ttl", 60, "tenant", 3600, "global"),
        ("Cacheable", "App\\Models\\Product", None, "ttl", 60, "tenant", 120, "tenant+model"),
        ("HasSlug", None, None, "separator", "-", "global", "_", "tenant"),
    ]  # HasSlug for Post repeats the model-less row on both sides: left out
    assert doc["differences"][2]["right"]["file"].endswith("config/tenants/globex.toml")
    table = run("config", "diff", "--tenant", "acme", "--tenant", "globex")
    assert table.exit_code == 1
    assert "│ Cacheable │ App\\Models\\Product │ ttl            │ 60 (tenant)         │ 120 (tenant+model) │" \
        in table.stdout
    assert "4 difference(s): tenant acme against tenant globex" in table.stdout


def test_narrowed_by_trait_and_model(run, fleet: Path):
    doc = run("config", "diff", "--tenant", "acme", "--tenant", "initech", "-t", "Cacheable", "--json").json()
    # for Product both tenants still see their tenant layer: the model-less row says it all
    assert _rows(doc) == [("Cacheable", None, None, "ttl", 60, "tenant", 30, "tenant")]
    doc = run("config", "diff", "--tenant", "umbrella", "--tenant", "initech", "-m", "Post", "--json").json()
    assert _rows(doc) == [("Cacheable", "App\\Models\\Post", None, "ttl", 3600, "global", 30, "tenant"),
                          ("HasSlug", "App\\Models\\Post", None, "max_length", 120, "model", 100, "tenant+model")]


def test_equal_tenants_exit_0(run, fleet: Path):
    result = run("config", "diff", "--tenant", "umbrella", "--tenant", "hooli")
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == "No differences: tenant umbrella against tenant hooli.\n"
    assert run("config", "diff", "--tenant", "acme", "--tenant", "globex", "--exit-zero").exit_code == 0


@pytest.fixture
def production(project: Path, fleet: Path) -> Path:
    """A copy of the configuration as another environment would have it (its own tenants/ folder)."""
    other = project / "production" / "config"
    shutil.copytree(fleet, other, ignore=shutil.ignore_patterns(".traitctl", ".*.lock"))
    return other / "traits.toml"


def test_against_an_identical_environment_exit_0(run, production: Path):
    result = run("config", "diff", "--against", str(production), "--json")
    assert result.exit_code == 0 and result.json()["equal"] is True and result.json()["differences"] == []


def test_against_another_environment(run, production: Path):
    text = production.read_text()
    production.write_text(text.replace("ttl = 3600\n", "ttl = 1800\n", 1).replace("[traits.Versionable]\nkeep_versions = 10\n",
                                                                                  "[traits.Versionable]\n", 1))
    (production.parent / "tenants" / "initech.toml").write_text("name = \"Initech\"\n\n[traits.Cacheable]\nttl = 45\n")
    (production.parent / "tenants" / "umbrella.toml").unlink()
    result = run("config", "diff", "--against", "production/config/traits.toml", "--json")
    assert result.exit_code == 1
    # Versionable's 10 now comes from the default: the same value, no difference; the tenants that
    # see the global ttl change are not repeated (the row without a tenant says it); umbrella, gone
    # from production, sees the global layers there
    assert _rows(result.json()) == [
        ("Cacheable", None, None, "ttl", 3600, "global", 1800, "global"),
        ("Cacheable", None, "initech", "ttl", 30, "tenant", 45, "tenant"),
        ("HasSlug", "App\\Models\\Post", "initech", "max_length", 100, "tenant+model", 120, "model"),
    ]
    assert result.json()["right"]["file"] == str(production)
    one = run("config", "diff", "--against", str(production), "--tenant", "umbrella", "-t", "Cacheable", "--json").json()
    assert _rows(one) == [("Cacheable", None, "umbrella", "ttl", 3600, "global", 1800, "global")]
    table = run("config", "diff", "--against", str(production), "-t", "HasSlug").stdout
    assert "│ HasSlug │ App\\Models\\Post │ initech │ max_length │ 100 (tenant+model) │ 120 (model) │" in table


@pytest.mark.parametrize("content, message", [
    (None, "error: {path}: no such file.\n"),
    ("x = [\n", "error: {path}: invalid TOML: "),
    ("[flags]\n", "error: {path} has no [traits] table; give the traits.toml of another environment.\n"),
])
def test_against_a_missing_or_invalid_file_exit_2(run, project: Path, fleet: Path, content, message):
    path = project / "other.toml"
    if content is not None:
        path.write_text(content)
    result = run("config", "diff", "--against", str(path))
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(message.format(path=path)) and result.stderr.count("\n") == 1


@pytest.mark.parametrize("args, message", [
    (("--tenant", "acme"), "error: config diff compares two tenants (--tenant a --tenant b) or this configuration "
                           "--against another traits.toml.\n"),
    (("--tenant", "acme", "--tenant", "acme2"), "error: Unknown tenant 'acme2'. Did you mean 'acme'?\n"),
    (("--tenant", "acme", "--tenant", "../x"), "error: Invalid tenant id '../x'"),
    (("--tenant", "acme", "--tenant", "globex", "-t", "Nope"), "error: Unknown trait 'Nope'."),
])
def test_bad_tenants_exit_2(run, fleet: Path, args, message):
    result = run("config", "diff", *args)
    assert result.exit_code == 2 and result.stdout == "" and result.stderr.startswith(message)
