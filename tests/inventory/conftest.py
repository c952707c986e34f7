"""Fixtures of the inventory tests: scans of the fixture trees (computed once per module)."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "inventory"
ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture(scope="module")
def tricky():
    from traitctl.scan import scan

    return scan([FIXTURES / "tricky" / "app"], model_bases=["Vendor\\Package\\BaseRecord"], excludes=["legacy"])


@pytest.fixture(scope="module")
def pyapp():
    from traitctl.scan import scan

    return scan([FIXTURES / "pyapp"], extra_traits=["Helper"])


@pytest.fixture(scope="module")
def example():
    from traitctl.scan import scan

    return scan([ROOT / "examples" / "laravel-app" / "app", ROOT / "examples" / "python-app"])
