"""The labels the store keeps in their own columns (trait, model, tenant) are checked against
those columns' lengths: a longer one is a bad line (ingest goes on with the good ones) or one
sentence (``metrics record``, exit 2) on every store, instead of PostgreSQL's traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli


@pytest.fixture(params=["sqlite", "postgresql"])
def store_env(request, tmp_path: Path) -> dict:
    if request.param == "sqlite":
        return {"TRAITCTL_STORE": f"sqlite:///{tmp_path / 'store.db'}"}
    return {"TRAITCTL_STORE": request.getfixturevalue("pg_url")}


@pytest.mark.parametrize("label,limit", [("tenant", 64), ("model", 300), ("trait", 200)])
def test_a_core_label_longer_than_its_column(project: Path, store_env: dict, label: str, limit: int):
    long = "x" * (limit + 1)
    result = run_cli("metrics", "record", "trait.Cacheable.hit", "1", "--label", f"{label}={long}", cwd=project,
                     env=store_env)
    assert (result.exit_code, result.stdout) == (2, ""), result
    assert result.stderr == f"error: Label {label} is longer than {limit} characters.\n", result

    lines = project / "points.jsonl"
    lines.write_text(json.dumps({"name": "trait.Cacheable.hit", "value": 1, "labels": {label: long}}) + "\n"
                     + json.dumps({"name": "trait.Cacheable.hit", "value": 2, "labels": {label: "x" * limit}}) + "\n")
    ingest = run_cli("--json", "metrics", "ingest", str(lines), cwd=project, env=store_env)
    assert ingest.exit_code == 0, ingest
    doc = json.loads(ingest.stdout)
    assert (doc["stored"], doc["bad"]) == (1, 1), doc
    assert doc["bad_lines"] == [{"line": 1, "reason": f"Label {label} is longer than {limit} characters."}]
