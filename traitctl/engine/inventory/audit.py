"""Code against configuration: the effective settings of every (trait, model) pair, and what is
configured but absent from the code (or present but not configured). Pure.

Words kept apart: a *model layer* is configuration (``[models."<FQN>".<Trait>]``, one of the layers
global < model < tenant < tenant+model); a *method override* is code (a model method replacing a
trait's method, :class:`~traitctl.engine.inventory.model.Override`).

A ``[traits.<Name>]`` table names a trait by its short name (``HasUuid``) or by its FQN; model
layers ``[models."<FQN>".<Trait>]`` name the model by FQN.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from traitctl.engine.config import ConfigData, effective
from traitctl.engine.inventory.model import Inventory, short


@dataclass(frozen=True)
class Setting:
    """One effective key of a pair: its value and the layer it came from (``global``, ``model``,
    ``tenant``, ``tenant+model`` or ``default``)."""

    key: str
    value: Any
    source: str


@dataclass(frozen=True)
class Pair:
    """A model having a trait, with the trait's configuration name (``None`` when not configured)."""

    model: str
    trait: str
    config_name: str | None
    settings: tuple[Setting, ...] = ()


@dataclass(frozen=True)
class Audit:
    """The audit a migration needs.

    :param pairs: every (model, trait) of the code, sorted, with effective settings.
    :param configured_only: ``[traits.X]`` names that no trait of the code matches.
    :param code_only: trait FQNs (declared or vendor) with no ``[traits.X]`` table.
    :param unknown_models: ``[models."X"]`` names that are not models of the code.
    :param unused_model_layers: ``(model, trait)`` model layers (``[models."M".T]``) for a trait the
        model does not have.
    """

    pairs: tuple[Pair, ...] = ()
    configured_only: tuple[str, ...] = ()
    code_only: tuple[str, ...] = ()
    unknown_models: tuple[str, ...] = ()
    unused_model_layers: tuple[tuple[str, str], ...] = ()

    @property
    def configured_not_in_code(self) -> int:
        """How many tables and model layers apply to no code."""
        return len(self.configured_only) + len(self.unknown_models) + len(self.unused_model_layers)

    def to_dict(self) -> dict[str, Any]:
        return {"pairs": [{"model": p.model, "trait": p.trait, "config": p.config_name,
                           "settings": {s.key: {"value": s.value, "source": s.source} for s in p.settings}}
                          for p in self.pairs],
                "configured_only": list(self.configured_only), "code_only": list(self.code_only),
                "unknown_models": list(self.unknown_models),
                "unused_model_layers": [list(pair) for pair in self.unused_model_layers]}


def audit(inv: Inventory, cfg: ConfigData, tenant: str | None = None) -> Audit:
    """Compare the inventory with the configuration.

    :param inv: the scan result.
    :param cfg: the parsed configuration.
    :param tenant: resolve settings for this tenant too (tenant layers win).
    """
    configured = [name for name in cfg.traits if isinstance(cfg.traits[name], Mapping)]
    code = [t.fqn for t in inv.traits] + [t.fqn for t in inv.vendor_traits]
    names = {fqn.lower(): _config_name(fqn, configured) for fqn in code}
    matched = {n for n in names.values() if n is not None}
    pairs = tuple(_pair(cfg, m.fqn, t, names.get(t.lower()), tenant)
                  for m in inv.models for t in m.traits)
    return Audit(pairs=tuple(sorted(pairs, key=lambda p: (p.model.lower(), p.trait.lower()))),
                 configured_only=tuple(sorted(n for n in configured if n not in matched)),
                 code_only=tuple(sorted((f for f in code if names[f.lower()] is None), key=str.lower)),
                 unknown_models=_unknown_models(inv, cfg), unused_model_layers=_unused(inv, cfg, names))


def _config_name(fqn: str, configured: list[str]) -> str | None:
    for name in configured:  # an FQN key is exact; a short key matches the short name
        if name.lstrip("\\").lower() == fqn.lower():
            return name
    for name in configured:
        if name.lower() == short(fqn).lower():
            return name
    return None


def _pair(cfg: ConfigData, model: str, trait: str, name: str | None, tenant: str | None) -> Pair:
    if name is None:
        return Pair(model=model, trait=trait, config_name=None)
    resolved = effective(cfg, name, model, tenant)
    settings = tuple(Setting(key, r.value, r.winner.kind if r.winner else "") for key, r in resolved.items() if r.found)
    return Pair(model=model, trait=trait, config_name=name, settings=settings)


def _model_keys(cfg: ConfigData) -> list[str]:
    return [m for m in cfg.models if isinstance(cfg.models[m], Mapping)]


def _unknown_models(inv: Inventory, cfg: ConfigData) -> tuple[str, ...]:
    models = {m.fqn.lower() for m in inv.models}
    return tuple(sorted(m for m in cfg.model_names() if m.lstrip("\\").lower() not in models))


def _unused(inv: Inventory, cfg: ConfigData, names: dict[str, str | None]) -> tuple[tuple[str, str], ...]:
    out = []
    for model_name in _model_keys(cfg):
        model = inv.model(model_name) if "\\" in model_name or "." in model_name else None
        if model is None:
            continue  # reported as an unknown model
        having = {names.get(t.lower()) for t in model.traits}
        out += [(model_name, t) for t in cfg.models[model_name] if t not in having]
    return tuple(sorted(out))


def model_traits(inv: Inventory, cfg: ConfigData, model: str) -> tuple[str, ...] | None:
    """The configured trait names (``[traits.X]`` keys) ``model`` uses in the code, directly, through
    its traits or inherited, plus those it has overrides for (model or tenant+model tables of the
    loaded tenants); ``None`` when the inventory has no such model.

    :param model: the model's FQN (or unique short name).
    """
    found = inv.model(model)
    if found is None:
        return None
    configured = [name for name in cfg.traits if isinstance(cfg.traits[name], Mapping)]
    uses = {_config_name(t, configured) for t in found.traits} - {None}
    return tuple(sorted(uses | set(overridden_traits(cfg, found.fqn)), key=str.lower))


def overridden_traits(cfg: ConfigData, model: str) -> tuple[str, ...]:
    """Trait names with a ``[models.'<model>'.<T>]`` table, in the main file or a loaded tenant."""
    wanted = model.lstrip("\\").lower()
    tables = [cfg.models] + [t.doc.get("models") for t in cfg.tenants.values() if isinstance(t.doc, Mapping)]
    names: set[str] = set()
    for models in tables:
        for name, by_trait in (models.items() if isinstance(models, Mapping) else ()):
            if name.lstrip("\\").lower() == wanted and isinstance(by_trait, Mapping):
                names.update(by_trait)
    return tuple(sorted(names, key=str.lower))
