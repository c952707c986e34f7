"""traitctl: administration tool for a Traits Management System.

The Python API for applications (:mod:`traitctl.runtime`) is imported lazily (``from traitctl import Flags``) so that the CLI's
start-up does not pay for it.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: public name -> "module:attribute" (or "module" for a module).
_LAZY = {
    "Flags": "traitctl.runtime.flags:Flags",
    "TraitConfig": "traitctl.runtime.config:TraitConfig",
    "telemetry": "traitctl.runtime.telemetry",
}


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'traitctl' has no attribute {name!r}")
    module, _, attr = target.partition(":")
    loaded = importlib.import_module(module)
    return getattr(loaded, attr) if attr else loaded
