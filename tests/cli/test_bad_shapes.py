"""Values of the wrong shape, folders in the way, a store that cannot be reached: one sentence
naming the file, line or key, exit 2 (or a failed health check), never a traceback (exit 70)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli

SHAPES = [
    ("[traits]\nA = 3\n", ["config", "get", "ttl", "-t", "A"], ":2: traits -> A: must be a table"),
    ("[traits]\nA = 3\n", ["config", "show"], ":2: traits -> A: must be a table"),
    ("[traits]\nA = 3\n", ["config", "set", "ttl", "5", "-t", "A"], ":2: traits -> A: must be a table"),
    ("[traitctl]\nstore = 5\n", ["history"], ':2: traitctl -> store: must be a URL string ("" = the embedded default), not 5'),
    ("[traitctl]\nqueue = 5\n", ["jobs", "list"], ":2: traitctl -> queue: must be a URL string"),
    ("[flags.f]\ntenants = 3\n", ["flags", "lint"], ":2: flags.f.tenants must be a table of tenant ids."),
    ("[traitctl]\nsource = 7\n", ["export", "--format", "laravel"], ":2: traitctl -> source must be a list of strings"),
]


@pytest.mark.parametrize("text,args,found", SHAPES, ids=lambda v: v if isinstance(v, str) and " " not in v else None)
def test_a_value_of_the_wrong_shape_is_named(tmp_path: Path, text, args, found):
    config = tmp_path / "config"
    config.mkdir()
    (config / "traits.toml").write_text(text)
    result = run_cli(*args, cwd=tmp_path)
    assert result.exit_code == 2, result
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1, result
    assert result.stderr.startswith(f"error: {config / 'traits.toml'}{found}"), result
    assert result.stderr.endswith("the configuration is invalid, so this command cannot run "
                                  "(`traitctl config validate --no-source` lists every problem).\n")


def test_a_tenant_table_of_the_wrong_shape_is_listed(tmp_path: Path):
    config = tmp_path / "config"
    config.mkdir()
    (config / "traits.toml").write_text("[tenants.acme]\nname = \"Acme\"\ntraits = 3\n")
    result = run_cli("--json", "tenants", "list", cwd=tmp_path)
    assert result.exit_code == 0, result
    assert [t["id"] for t in json.loads(result.stdout)["tenants"]] == ["acme"]


def test_a_file_where_the_state_folder_must_be(project: Path):
    state = project / "config" / ".traitctl"
    state.write_text("not a folder\n")
    before = (project / "config" / "traits.toml").read_bytes()
    for args in (["history"], ["jobs", "list"], ["config", "set", "ttl", "5", "-t", "Cacheable"]):
        result = run_cli(*args, cwd=project)
        assert (result.exit_code, result.stderr) == (
            2, f"error: {state}: a file is in the way of a folder traitctl needs (File exists); move it away.\n"), args
    assert (project / "config" / "traits.toml").read_bytes() == before
    health = run_cli("--json", "health", "--only", "store,queue", cwd=project)
    assert health.exit_code == 1
    checks = json.loads(health.stdout)["checks"]
    assert checks["store"]["status"] == checks["queue"]["status"] == "fail"
    assert checks["store"]["message"].endswith(f"{state} is a file, not a folder")


def test_a_postgresql_store_that_is_down_hides_the_password(project: Path):
    env = {"TRAITCTL_STORE": "postgresql://bob:s3cr3tPW@127.0.0.1:1/db"}
    before = (project / "config" / "traits.toml").read_bytes()
    for args in (["history"], ["config", "set", "ttl", "5", "-t", "Cacheable"], ["flags", "rollout", "trait_caching", "40"],
                 ["--json", "health", "--only", "store"]):
        result = run_cli(*args, cwd=project, env=dict(env, TRAITCTL_DEBUG="1"))
        assert "s3cr3tPW" not in result.stdout + result.stderr, args
        assert result.exit_code == (1 if "health" in args else 2), result
    assert (project / "config" / "traits.toml").read_bytes() == before
