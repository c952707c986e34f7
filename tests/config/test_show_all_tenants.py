"""``traitctl config show --trait T --all-tenants``: the tenant x key matrix and its sources."""

from __future__ import annotations

from pathlib import Path


def _cells(doc: dict) -> dict[tuple[str, str], tuple]:
    return {(r["tenant"], r["key"]): (r["value"], r["source"]) for r in doc["rows"]}


def test_matrix_names_every_source_layer(run, fleet: Path):
    assert run("config", "set", "max_length", "90", "-t", "HasSlug", "-m", "Post", "--tenant", "acme").exit_code == 0
    doc = run("config", "show", "-t", "HasSlug", "--all-tenants", "-m", "Post", "--json").json()
    assert doc["trait"] == "HasSlug" and doc["model"] == "App\\Models\\Post"
    assert doc["keys"] == ["max_length", "separator", "source"] and doc["tenants"] == 5
    cells = _cells(doc)
    assert cells[("acme", "max_length")] == (90, "tenant+model")
    assert cells[("initech", "max_length")] == (100, "tenant+model")
    assert cells[("globex", "max_length")] == (120, "model")
    assert cells[("globex", "separator")] == ("_", "tenant")
    assert cells[("hooli", "separator")] == ("-", "global")
    assert [r["tenant"] for r in doc["rows"]][::3] == ["acme", "globex", "hooli", "initech", "umbrella"]
    files = {r["tenant"]: r["file"] for r in doc["rows"] if r["key"] == "max_length"}
    assert files["initech"].endswith("config/tenants/initech.toml")
    assert files["acme"].endswith("config/traits.toml")

    plain = _cells(run("config", "show", "-t", "HasSlug", "--all-tenants", "--json").json())
    assert plain[("umbrella", "max_length")] == (80, "default")  # no model: the schema default
    assert plain[("acme", "max_length")] == (80, "default")
    cacheable = _cells(run("config", "show", "-t", "Cacheable", "--all-tenants", "--json").json())
    assert cacheable[("acme", "ttl")] == (60, "tenant") and cacheable[("initech", "ttl")] == (30, "tenant")
    assert cacheable[("umbrella", "ttl")] == (3600, "global")


def test_matrix_equals_one_config_get_per_tenant(run, fleet: Path):
    """Tenants that share a value share a cell in the matrix: it must still equal each tenant's own answer."""
    doc = run("config", "show", "-t", "Cacheable", "--all-tenants", "-m", "Product", "--json").json()
    for row in doc["rows"]:
        got = run("config", "get", row["key"], "-t", "Cacheable", "-m", "Product", "--tenant", row["tenant"],
                  "--json").json()
        assert (got["value"], got["source"]["layer"], got["source"]["file"]) == (row["value"], row["source"],
                                                                                 row["file"])


def test_matrix_table_fits_the_terminal(run, fleet: Path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")
    wide = run("config", "show", "-t", "Auditable", "--all-tenants", "-m", "Invoice").stdout
    lines = wide.splitlines()
    assert lines[0].strip() == "Auditable across 5 tenants for App\\Models\\Invoice"
    header = next(line for line in lines if "Tenant" in line)
    assert header.split("┃")[1:-1] == [" Tenant   ", " enabled       ", " events                                   ",
                                        " retention_days      "]
    assert any("3650 (tenant+model)" in line and "acme" in line for line in lines)
    assert max(len(line) for line in lines) <= 120
    monkeypatch.setenv("COLUMNS", "60")
    narrow = run("config", "show", "-t", "Auditable", "--all-tenants", "-m", "Invoice").stdout
    assert max(len(line) for line in narrow.splitlines()) <= 60
    assert "┃ Key" in narrow and "┃ Source" in narrow  # one row per tenant and key
    assert "…" in narrow  # the long events array is elided, not wrapped across lines


def test_matrix_refuses_a_missing_trait_and_a_tenant(run, fleet: Path):
    for args in (("config", "show", "--all-tenants"), ("config", "show", "-t", "Cacheable", "--all-tenants",
                                                          "--tenant", "acme")):
        result = run(*args)
        assert result.exit_code == 2 and result.stdout == ""
        assert result.stderr == "error: --all-tenants shows one trait for every tenant: give --trait T (and no --tenant).\n"
    unknown = run("config", "show", "-t", "Cachable", "--all-tenants")
    assert unknown.exit_code == 2 and unknown.stderr.startswith("error: Unknown trait 'Cachable'. Did you mean 'Cacheable'")
