"""Commands that read a tenant refuse its tables of the wrong shape (``[tenants.zed] traits = 3``,
``models = "x"``, a tenant file whose ``traits`` is a string) with the file:line sentence of
``config validate``, exit 2, instead of reading them as empty."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli

REFUSAL = (": the configuration is invalid, so this command cannot run "
           "(`traitctl config validate --no-source` lists every problem).\n")

READERS = [
    ["config", "get", "ttl", "--trait", "Cacheable", "--tenant", "zed"],
    ["config", "explain", "ttl", "--trait", "Cacheable", "--tenant", "zed"],
    ["config", "show", "--tenant", "zed"],
    ["config", "show", "--all-tenants", "--trait", "Cacheable"],
    ["config", "set", "ttl", "5", "--trait", "Cacheable", "--tenant", "zed", "--dry-run"],
    ["flags", "eval", "trait_caching", "--tenant", "zed"],
    ["jobs", "enqueue", "HasUserTracking", "cleanup", "--tenant", "zed"],
    ["export", "--format", "json", "--output", "-"],
]


def _append(config_file: Path, text: str) -> int:
    """Append ``text`` after a blank line; the line number of its first line."""
    before = config_file.read_text()
    if not before.endswith("\n"):
        before += "\n"
    config_file.write_text(before + "\n" + text)
    return before.count("\n") + 2


@pytest.mark.parametrize("args", READERS, ids=lambda a: " ".join(a[:2]) + (" --all-tenants" if "--all-tenants" in a else ""))
@pytest.mark.parametrize("shape,offset,message", [
    ("traits = 3\n", 2, "tenants -> zed -> traits: must be a table of traits (traits.<Trait> = { key = value }), not 3"),
    ('models = "x"\n', 2, "tenants -> zed -> models: must be a table of models "
                          "(models.'<FQN>'.<Trait> = { key = value }), not \"x\""),
    ("traits = { Cacheable = 3 }\n", 2, "tenants -> zed -> traits -> Cacheable: must be a table of settings, not 3"),
], ids=["traits-integer", "models-string", "trait-integer"])
def test_a_main_file_tenant_of_the_wrong_shape_is_refused(project: Path, config_file: Path, args, shape, offset,
                                                          message):
    first = _append(config_file, '[tenants.zed]\nname = "Zed"\n' + shape)
    before = config_file.read_bytes()
    result = run_cli(*args, cwd=project)
    assert (result.exit_code, result.stdout) == (2, ""), result
    assert result.stderr == f"error: {config_file}:{first + offset}: {message}{REFUSAL}", result
    assert config_file.read_bytes() == before


def test_a_tenant_that_is_no_table_is_refused(project: Path, config_file: Path):
    text = config_file.read_text().replace("[tenants.acme]\n", "[tenants]\nzed = 3\n\n[tenants.acme]\n", 1)
    config_file.write_text(text)
    line = text.splitlines().index("zed = 3") + 1
    result = run_cli("config", "get", "ttl", "--trait", "Cacheable", "--tenant", "zed", cwd=project)
    assert (result.exit_code, result.stdout) == (2, ""), result
    assert result.stderr == (f"error: {config_file}:{line}: tenants -> zed: must be a table ([tenants.zed] with name, "
                             f"traits, models), not 3{REFUSAL}")


def test_a_tenant_file_of_the_wrong_shape_names_that_file(project: Path):
    tenant = project / "config" / "tenants" / "globex.toml"
    tenant.write_text('name = "Globex"\ntraits = "HasSlug"\n')
    for args in (["config", "get", "ttl", "--trait", "Cacheable", "--tenant", "globex"],
                 ["config", "show", "--tenant", "globex", "--json"],
                 ["export", "--format", "json", "--output", "-"]):
        result = run_cli(*args, cwd=project)
        assert (result.exit_code, result.stdout) == (2, ""), result
        assert result.stderr == (f"error: {tenant}:2: traits: must be a table of traits "
                                 f"(traits.<Trait> = {{ key = value }}), not \"HasSlug\"{REFUSAL}"), args


def test_the_other_tenants_are_still_read(project: Path, config_file: Path):
    _append(config_file, '[tenants.zed]\nname = "Zed"\ntraits = 3\n')
    result = run_cli("config", "get", "ttl", "--trait", "Cacheable", "--tenant", "acme", cwd=project)
    assert (result.exit_code, result.stdout) == (0, "60\n"), result


def test_a_batch_query_for_that_tenant_is_answered_with_the_sentence(project: Path, config_file: Path):
    first = _append(config_file, '[tenants.zed]\nname = "Zed"\ntraits = 3\n')
    queries = ('{"trait": "Cacheable", "key": "ttl", "tenant": "zed"}\n'
               '{"trait": "Cacheable", "key": "ttl", "tenant": "acme"}\n')
    result = run_cli("config", "get", "--batch", "-", cwd=project, input=queries)
    assert result.exit_code == 0, result
    import json

    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert answers[0]["found"] is False
    assert answers[0]["error"].startswith(f"{config_file}:{first + 2}: tenants -> zed -> traits: must be a table")
    assert answers[1] == {"value": 60, "found": True, "layer": "tenant"}
