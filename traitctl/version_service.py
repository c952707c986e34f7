"""What ``traitctl version --json`` reports: traitctl, Python, the libraries it runs on and the
store's schema version (read without creating a store)."""

from __future__ import annotations

import platform
import re
from importlib import metadata
from typing import Any

#: distribution name -> key in the document.
LIBRARIES = {"typer": "typer", "rich": "rich", "peewee": "peewee", "huey": "huey", "tree-sitter": "tree_sitter",
             "tree-sitter-php": "tree_sitter_php"}


def _installed(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def click_version() -> str | None:
    """The click the CLI runs on: typer 0.27 carries its own copy (``typer._click``, adapted from a
    click release named in its docstring); otherwise the installed click."""
    try:
        from typer import _click as vendored
    except ImportError:
        return _installed("click")
    found = re.search(r"releases/tag/([0-9][^\s/]*)", vendored.__doc__ or "")
    return f"{found.group(1) if found else 'unknown'} (vendored in typer)"


def versions() -> dict[str, Any]:
    """traitctl, Python and library versions (``None`` for a library that is not installed)."""
    from traitctl import __version__

    doc: dict[str, Any] = {"traitctl": __version__, "python": platform.python_version(),
                           "click": click_version()}
    doc.update({key: _installed(dist) for dist, key in LIBRARIES.items()})
    return doc


def store_schema(app: Any) -> dict[str, Any]:
    """The store's schema version and the one this traitctl writes. ``version`` is ``None`` when
    there is no configuration or no store yet; ``error`` says why a store could not be read."""
    from traitctl.engine.errors import TraitctlError
    from traitctl.store.db import SCHEMA_VERSION, peek_schema_version

    doc: dict[str, Any] = {"version": None, "expected": SCHEMA_VERSION}
    try:
        doc["version"] = peek_schema_version(app.settings.store_url)
    except TraitctlError as exc:
        doc["error"] = exc.message
    return doc
