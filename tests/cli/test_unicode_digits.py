"""Numbers given as text that ``str.isdigit`` accepts but ``int`` refuses ("²", "³"): COLUMNS and
LINES, the configuration limits' variables and a PostgreSQL URL's port are read as the rule says
(ignored, or one sentence with exit 2), never a traceback."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_cli


def test_columns_and_lines_of_superscript_digits_are_ignored(project: Path):
    result = run_cli("config", "show", "--trait", "Cacheable", cwd=project, env={"COLUMNS": "²", "LINES": "³"})
    assert result.exit_code == 0, result
    assert "Cacheable" in result.stdout and result.stderr == ""


def test_a_limit_variable_of_superscript_digits_is_one_sentence(project: Path):
    result = run_cli("config", "get", "ttl", "--trait", "Cacheable", cwd=project,
                     env={"TRAITCTL_MAX_CONFIG_BYTES": "²"})
    assert (result.exit_code, result.stdout) == (2, ""), result
    assert result.stderr == "error: TRAITCTL_MAX_CONFIG_BYTES='²' is not a positive whole number.\n"


def test_a_store_port_of_superscript_digits_is_one_sentence(project: Path):
    result = run_cli("--store", "postgresql://bob:s3cretpw@127.0.0.1:²/db", "history", cwd=project)
    assert (result.exit_code, result.stdout) == (2, ""), result
    assert result.stderr == ("error: Store URL postgresql://bob:***@127.0.0.1:²/db: port '²' is not a number from 1 "
                             "to 65535.\n")
