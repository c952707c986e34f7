"""``export`` refuses a configuration whose ``[traits]``, ``[models]`` or ``[tenants]`` tables are
of the wrong shape (each would be exported as empty, and applications would run without it): the
sentence ``config validate`` prints, exit 2, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli

REFUSAL = (": the configuration is invalid, so this command cannot run "
           "(`traitctl config validate --no-source` lists every problem).\n")


@pytest.mark.parametrize("text,line,message", [
    ("traits = 3\n", 1, "[traits] must be a table, not an integer"),
    ("models = 3\n", 1, "[models] must be a table, not an integer"),
    ("tenants = 3\n", 1, "[tenants] must be a table, not an integer"),
    ("[traits]\nA = 3\n", 2, "traits -> A: must be a table"),
    ("[models]\nX = 3\n", 2, "models -> X: must be a table of traits"),
    ("[models.X]\nA = 3\n", 2, "models -> X -> A: must be a table of settings"),
], ids=["traits", "models", "tenants", "trait", "model", "model-trait"])
def test_a_table_of_the_wrong_shape_is_not_exported(tmp_path: Path, text: str, line: int, message: str):
    config = tmp_path / "config" / "traits.toml"
    config.parent.mkdir()
    config.write_text(text)
    out = tmp_path / "snapshot.json"
    result = run_cli("export", "--format", "json", "--output", str(out), cwd=tmp_path)
    assert (result.exit_code, result.stdout) == (2, ""), result
    assert result.stderr == f"error: {config}:{line}: {message}{REFUSAL}", result
    assert not out.exists()
    valid = run_cli("config", "validate", "--no-source", cwd=tmp_path)
    assert valid.exit_code == 1 and valid.stdout == f"{config}:{line}: {message}\n", valid
