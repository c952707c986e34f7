"""Per-file facts: the cacheable unit of a scan (a JSON-able dict per source file).

The facts of a file depend only on its bytes, its language and (Python) its module name, so the
scan caches them keyed by content; :data:`FACTS_VERSION` changes whenever their shape or meaning
does, which invalidates every cached entry.
"""

from __future__ import annotations

from typing import Any

FACTS_VERSION = 3


def prepare() -> None:
    """Load the parsers now (before forking parsing processes, so each starts with them)."""
    from traitctl.engine.inventory.php import _parser

    _parser()
    _parser(True)


def parse_file(source: bytes, rel: str, language: str, module: str = "") -> dict[str, Any]:
    """The facts of one file: ``language``, ``module``, ``classes``, ``warnings`` (and Python's
    ``declarative``). Blade templates (``*.blade.php``) hold no declarations and are not parsed.

    :param source: the file's bytes.
    :param rel: its path as shown (only its name is used here: ``__init__.py``, ``.blade.php``).
    :param language: ``php`` or ``python``.
    :param module: the Python module name.
    """
    base = {"language": language, "module": module}
    if language == "php":
        if rel.endswith(".blade.php"):
            return {**base, "classes": [], "warnings": []}
        from traitctl.engine.inventory.php import parse_php

        return {**base, **parse_php(source)}
    from traitctl.engine.inventory.python import parse_python

    return {**base, **parse_python(source, module, rel.endswith("__init__.py"))}
