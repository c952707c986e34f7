"""A user id or an actor longer than the store keeps is one sentence, exit 2, before anything is
written, on every backend (PostgreSQL refused it half-way with a traceback, SQLite kept it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli


@pytest.fixture(params=["sqlite", "postgresql"])
def store_env(request, tmp_path: Path) -> dict:
    if request.param == "sqlite":
        return {"TRAITCTL_STORE": f"sqlite:///{tmp_path / 'store.db'}"}
    return {"TRAITCTL_STORE": request.getfixturevalue("pg_url")}


def test_a_user_id_longer_than_300_characters(project: Path, store_env: dict):
    result = run_cli("flags", "override", "trait_caching", "--user", "u" * 301, "--on", cwd=project, env=store_env)
    assert (result.exit_code, result.stdout) == (2, ""), result
    assert result.stderr == "error: User id of 301 characters: an override's user id has at most 300.\n", result
    kept = run_cli("--json", "flags", "override", "trait_caching", "--user", "u" * 300, "--on", cwd=project,
                   env=store_env)
    assert kept.exit_code == 0, kept
    assert run_cli("--json", "flags", "overrides", "trait_caching", cwd=project, env=store_env).stdout.count("u" * 300) == 1


def test_an_actor_longer_than_200_characters(project: Path, store_env: dict):
    config = project / "config" / "traits.toml"
    before = config.read_bytes()
    env = dict(store_env, TRAITCTL_ACTOR="a" * 201)
    for args in (["flags", "override", "trait_caching", "--user", "5", "--on"],
                 ["config", "set", "ttl", "6", "--trait", "Cacheable"]):
        result = run_cli(*args, cwd=project, env=env)
        assert (result.exit_code, result.stdout) == (2, ""), result
        assert result.stderr == ("error: TRAITCTL_ACTOR is 201 characters long; history records at most 200: use a "
                                 "shorter name.\n"), result
    assert config.read_bytes() == before
    assert run_cli("--json", "history", cwd=project, env=store_env).stdout.count('"id"') == 0
