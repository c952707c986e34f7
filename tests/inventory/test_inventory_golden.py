"""Golden output of the first ``traitctl inventory`` on the bundled example, at 80 and 120 columns.

The run is a real subprocess in a fresh copy of the example (no store yet: the first run a new
user sees), with ``COLUMNS`` set and ``NO_COLOR=1``. Lines are compared without trailing spaces
(Rich pads titles and cells; editors strip them). The output holds no time, no absolute path and
nothing that depends on the cache, and the test checks that it is the same on a second (warm) run.

To regenerate the files after an intended change of the output, run::

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/inventory/test_inventory_golden.py

and review ``git diff tests/inventory/golden``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

GOLDEN = Path(__file__).resolve().parent / "golden"


def _normalised(text: str) -> str:
    return "".join(line.rstrip() + "\n" for line in text.splitlines())


@pytest.mark.parametrize("columns", [80, 120])
def test_first_inventory_matches_the_golden_file(cli, project, columns):
    env = {"COLUMNS": str(columns), "NO_COLOR": "1"}
    first = cli("inventory", env=env)
    assert first.exit_code == 0 and first.stderr == "", first
    got = _normalised(first.stdout)
    assert all(len(line) <= columns for line in got.splitlines())
    assert str(project) not in got
    golden = GOLDEN / f"inventory-{columns}.txt"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_text(got, encoding="utf-8")
    assert got == golden.read_text(encoding="utf-8"), f"differs from {golden.name} (UPDATE_GOLDEN=1 rewrites it)"
    doc = json.loads(cli("inventory", "--json").stdout)
    names = [t["fqn"] for t in doc["traits"] + doc["vendor_traits"]] + [m["fqn"] for m in doc["models"]]
    names += [f"{o['method']}()" for m in doc["models"] for o in m["overrides"]]
    assert [name for name in names if name not in got] == []  # no name broken across lines
    again = cli("inventory", env=env)
    assert _normalised(again.stdout) == got  # the warm run (from the store's cache) says the same
