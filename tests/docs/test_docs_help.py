"""Every command of this area answers --help (commands load lazily, so a broken import shows here)."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("args, words", [
    (("health", "--help"), ["--only", "--strict", "--json"]),
    (("migrate-plan", "--help"), ["--start", "--batch-size", "--format", "--apply-schedule", "--dry-run"]),
    (("docs", "--help"), ["generate", "check"]),
    (("docs", "generate", "--help"), ["--output", "--dry-run"]),
    (("docs", "check", "--help"), ["--output", "--json"]),
])
def test_help(cli, args, words):
    result = cli(*args)
    assert result.exit_code == 0, result
    for word in words:
        assert word in result.stdout
