"""Shell completion values: trait, model, tenant and flag names from the configuration file, job
states and ``--format`` values.

Completion runs on every TAB, so it stays cheap: the main configuration file is parsed once with
rtoml (never tomlkit, never Rich), tenant files are listed, not read,
and no store is opened and no source tree scanned. Any failure (no configuration, a file that does
not parse) completes nothing rather than printing an error into the user's shell.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

def _root_option(ctx: Any, name: str) -> Any:
    root = ctx.find_root() if ctx is not None else None
    return None if root is None else root.params.get(name)


def _config_path(ctx: Any) -> Path | None:
    from traitctl.settings import find_config

    try:
        return find_config(_root_option(ctx, "config"), os.environ, Path.cwd())
    except Exception:  # noqa: BLE001 - no configuration: nothing to complete
        return None


def _main_doc(ctx: Any) -> tuple[Path | None, dict]:
    path = _config_path(ctx)
    if path is None:
        return None, {}
    try:
        import rtoml

        return path, rtoml.loads(path.read_text(encoding="utf-8"))
    except Exception:  # noqa: BLE001 - unreadable or invalid TOML: nothing to complete
        return path, {}


def _table(doc: Any, key: str) -> dict:
    value = doc.get(key) if isinstance(doc, dict) else None
    return value if isinstance(value, dict) else {}


def _matching(values: Iterable[str], incomplete: str) -> list[str]:
    return sorted({v for v in values if v.startswith(incomplete)})


def trait_names(ctx: Any, incomplete: str) -> list[str]:
    """The traits of ``[traits.<Trait>]``."""
    return _matching(_table(_main_doc(ctx)[1], "traits"), incomplete)


def flag_names(ctx: Any, incomplete: str) -> list[str]:
    """The flags of ``[flags.<name>]``."""
    return _matching(_table(_main_doc(ctx)[1], "flags"), incomplete)


def tenant_ids(ctx: Any, incomplete: str) -> list[str]:
    """The tenants of ``[tenants.<id>]`` and of ``tenants/<id>.toml`` (listed, not read)."""
    path, doc = _main_doc(ctx)
    ids = set(_table(doc, "tenants"))
    if path is not None:
        try:
            names = os.listdir(path.parent / "tenants")
        except OSError:
            names = []
        ids.update(n[:-5] for n in names if n.endswith(".toml") and not n.startswith("."))
    return _matching(ids, incomplete)


def model_names(ctx: Any, incomplete: str) -> list[str]:
    """The models the configuration names (``[models.'FQN']`` and tenants' ``models``): the short
    name when it is unique (``Invoice``; commands accept it), else the fully-qualified one."""
    doc = _main_doc(ctx)[1]
    fqns = set(_table(doc, "models"))
    for tenant in _table(doc, "tenants").values():
        fqns.update(_table(tenant, "models"))
    short: dict[str, list[str]] = {}
    for fqn in fqns:
        short.setdefault(fqn.replace("\\", ".").rsplit(".", 1)[-1], []).append(fqn)
    names = [name if len(found) == 1 else fqn for name, found in short.items() for fqn in found]
    return _matching(names, incomplete)


def job_states(incomplete: str) -> list[str]:
    """The states of a job record (:data:`traitctl.engine.jobs.STATES`)."""
    from traitctl.engine.jobs import STATES

    return [s for s in STATES if s.startswith(incomplete)]


def choices(*values: str) -> Callable[[str], list[str]]:
    """A completion function offering ``values`` (a ``--format`` vocabulary, say)."""

    def complete(incomplete: str) -> list[str]:
        return [v for v in values if v.startswith(incomplete)]

    return complete
