"""What applications import from traitctl: trait settings, feature flags and telemetry.

Example usage::

    from traitctl.runtime import Flags, TraitConfig, telemetry

    config = TraitConfig.load("config/traits.toml")
    flags = Flags.load("config/traits.toml", store="sqlite:///config/.traitctl/traitctl.db")
    if flags.is_enabled("new-checkout", user=42, tenant="acme"):
        ttl = config.get("Cacheable", "ttl", model="App\\Models\\Product", tenant="acme")
    telemetry.record("trait.Cacheable.hit")

Stability (docs/runtime.md): the names exported here (``TraitConfig``, ``Flags``, ``telemetry`` and
their documented methods and parameters) and the ``traitctl.snapshot/1`` schema keep working across
traitctl 0.x minor releases; anything else under ``traitctl`` is internal and may change. A change
that breaks them gets a new name or schema version, with the old one kept for one minor release.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["Flags", "TraitConfig", "telemetry"]

_LAZY = {"Flags": "traitctl.runtime.flags:Flags", "TraitConfig": "traitctl.runtime.config:TraitConfig",
         "telemetry": "traitctl.runtime.telemetry"}


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'traitctl.runtime' has no attribute {name!r}")
    module, _, attr = target.partition(":")
    loaded = importlib.import_module(module)
    return getattr(loaded, attr) if attr else loaded
