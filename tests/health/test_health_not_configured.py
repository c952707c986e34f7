"""An optional component that is not configured (no cache, no event subscriber) is a state, not
a fault: ``health --strict`` passes on it, and the JSON says ``configured: false``."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.conftest import run_cli


def _env() -> dict:
    env = dict(os.environ)
    env.pop("TRAITCTL_CACHE", None)
    return env


def test_strict_passes_without_a_cache(project: Path):
    result = run_cli("health", "--only", "configuration,caching,events", "--strict", "--json", cwd=project,
                     env=_env())
    doc = json.loads(result.stdout)
    assert result.exit_code == 0, result
    caching = doc["checks"]["caching"]
    assert caching["status"] == "ok" and caching["details"]["configured"] is False
    assert caching["message"].startswith("not configured")
    assert doc["checks"]["events"]["details"]["configured"] is False
    assert doc["status"] == "ok"


def test_strict_table_says_not_configured(project: Path):
    result = run_cli("health", "--only", "caching", "--strict", cwd=project, env=_env())
    assert result.exit_code == 0, result
    assert "not configured" in result.stdout and "FAIL" not in result.stdout and "WARN" not in result.stdout


def test_a_configured_cache_that_is_down_still_fails(project: Path):
    env = dict(_env(), TRAITCTL_CACHE="redis://127.0.0.1:1/0")
    result = run_cli("health", "--only", "caching", "--json", cwd=project, env=env)
    assert result.exit_code == 1, result
    check = json.loads(result.stdout)["checks"]["caching"]
    assert check["status"] == "fail" and check["details"]["configured"] is True
