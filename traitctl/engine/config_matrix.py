"""The effective configuration across tenants and environments: the tenant x key matrix of one
trait, and the values that differ between two tenants or two configurations (staging against
production), each with the layer it comes from on each side.

Everything here works on parsed :class:`~traitctl.engine.config.ConfigData`; no files are read.

Example usage::

    from traitctl.engine import config_matrix
    grid = config_matrix.matrix(cfg, "Cacheable", None, sorted(cfg.tenants))
    found = config_matrix.diff_tenants(cfg, "acme", "globex", ["Cacheable"])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from traitctl.engine import config as engine


@dataclass(frozen=True)
class Cell:
    """One effective value: ``source`` is the winning layer (one of ``LAYER_ORDER``), ``None`` when
    no layer (not even a schema default) sets the key. Tenants that see the same value from the
    same layer share one cell."""

    key: str
    value: Any
    found: bool
    source: str | None
    file: str | None


@dataclass(frozen=True)
class Matrix:
    """The tenant x key matrix of one trait (``cells`` row by row: tenants, then keys, sorted;
    the ``i``-th tenant's cells are ``row(i)``)."""

    trait: str
    model: str | None
    keys: tuple[str, ...]
    tenants: tuple[str, ...]
    cells: tuple[Cell, ...]

    def row(self, index: int) -> tuple[Cell, ...]:
        """The cells of the ``index``-th tenant, in the order of :attr:`keys`."""
        width = len(self.keys)
        return self.cells[index * width:(index + 1) * width]


@dataclass(frozen=True)
class Difference:
    """A key whose effective value differs between the two sides of a diff.

    :param tenant: the tenant both sides were resolved for (``None``: no tenant).
    :param model: the model both sides were resolved for (``None``: no model).
    """

    trait: str
    key: str
    model: str | None
    tenant: str | None
    left: Cell
    right: Cell


def _cell(resolved: engine.Resolved) -> Cell:
    winner = resolved.winner
    return Cell(resolved.key, resolved.value, resolved.found, winner.kind if winner else None,
                (winner.file or None) if winner else None)


def _keys(layers: Iterable[engine.Layer], schema: Mapping[str, Any]) -> set[str]:
    keys = set(schema)
    for layer in layers:
        keys.update(layer.values)
    return keys


def matrix(cfg: engine.ConfigData, trait: str, model: str | None, tenants: Sequence[str],
           environ: Mapping[str, str] | None = None) -> Matrix:
    """Every key of ``trait`` resolved for each of ``tenants`` (and ``model``, when given).

    The keys are those any tenant's layers, the shared layers or the schema define; a key a tenant
    does not see at all is an unset cell (``found`` false).

    :param tenants: tenant ids of ``cfg`` whose documents are loaded.
    :param environ: the environment ``env`` tables read (``None``: the files' values).
    """
    schema = engine.schema_of(cfg, trait)
    shared = engine.layers_for(cfg, trait, model, None)  # model, global: the same for every tenant
    own = [engine.tenant_layers(cfg, trait, model, tenant) if _mentions(cfg, tenant, trait, model) else []
           for tenant in tenants]
    keys = _keys(shared, schema)
    for layers in own:
        keys |= _keys(layers, ())
    ordered = tuple(sorted(keys))
    common = [_cell(engine.resolve(key, shared, schema, environ)) for key in ordered]
    cells: list[Cell] = []
    for layers in own:
        values = [layer.values for layer in layers if layer.values]
        if not values:
            cells += common
            continue
        for key, cell in zip(ordered, common):
            if any(engine._lookup(v, key)[0] for v in values):
                cell = _cell(engine.resolve(key, layers + shared, schema, environ))
            cells.append(cell)
    return Matrix(trait, model, ordered, tuple(tenants), tuple(cells))


def _mentions(cfg: engine.ConfigData, tenant: str, trait: str, model: str | None) -> bool:
    """Whether the tenant's document may hold a layer of ``trait`` (a quick look before building it)."""
    doc = cfg.tenants[tenant].doc or {}
    traits = doc.get("traits")
    if isinstance(traits, Mapping) and trait in traits:
        return True
    models = doc.get("models")
    by_trait = models.get(model) if model and isinstance(models, Mapping) else None
    return isinstance(by_trait, Mapping) and trait in by_trait


def models_for(cfg: engine.ConfigData, trait: str, tenants: Iterable[str | None],
               index: "Index | None" = None) -> set[str]:
    """The models with an override of ``trait`` in the main file or in one of ``tenants``: the
    models for which the effective values of ``trait`` may differ from the model-less ones.

    :param index: ``Index(cfg)``, when several traits are asked about.
    """
    found = set((index or Index(cfg)).main_models.get(trait, ()))
    for tenant in tenants:
        found.update(_tenant_models(cfg, tenant, trait))
    return found


def _tenant_models(cfg: engine.ConfigData, tenant: str | None, trait: str) -> list[str]:
    source = cfg.tenants.get(tenant) if tenant else None
    models = engine._table(source.doc, "models") if source is not None else {}
    return [m for m, by_trait in models.items() if isinstance(by_trait, Mapping) and trait in by_trait]


class Index:
    """What a diff over thousands of tenants asks again and again, computed once per configuration:
    trait -> models the main file overrides it for, and tenant -> the traits its document sets."""

    def __init__(self, cfg: engine.ConfigData) -> None:
        self.main_models: dict[str, set[str]] = {}
        for model, by_trait in cfg.models.items():
            if isinstance(by_trait, Mapping):
                for trait in by_trait:
                    self.main_models.setdefault(trait, set()).add(model)
        self.tenant_traits: dict[str, set[str]] = {}
        for tenant, source in cfg.tenants.items():
            doc = source.doc or {}
            traits = set(engine._table(doc, "traits"))
            for by_trait in engine._table(doc, "models").values():
                if isinstance(by_trait, Mapping):
                    traits.update(by_trait)
            self.tenant_traits[tenant] = traits


def pairs(left: engine.ConfigData, right: engine.ConfigData, trait: str, model: str | None,
          left_tenant: str | None, right_tenant: str | None) -> dict[str, tuple[Cell, Cell]]:
    """Every key of ``trait`` either side defines, resolved on ``left`` (for ``left_tenant``) and on
    ``right`` (for ``right_tenant``), both for ``model``. A trait or tenant one side lacks resolves
    there as if no layer of it existed (unset, or the next layer)."""
    sides = []
    for cfg, tenant in ((left, left_tenant), (right, right_tenant)):
        layers = engine.layers_for(cfg, trait, model, tenant) if trait in cfg.traits else []
        sides.append((layers, engine.schema_of(cfg, trait), tenant))
    keys = sorted(_keys(sides[0][0], sides[0][1]) | _keys(sides[1][0], sides[1][1]))
    return {key: (_cell(engine.resolve(key, sides[0][0], sides[0][1])),
                  _cell(engine.resolve(key, sides[1][0], sides[1][1]))) for key in keys}


def compare(left: engine.ConfigData, right: engine.ConfigData, trait: str, models: Iterable[str | None],
            left_tenant: str | None, right_tenant: str | None) -> list[Difference]:
    """The keys of ``trait`` whose effective value differs between the two sides (see :func:`pairs`),
    without a model and for each of ``models``. A model's row is left out when both of its sides
    are those of the model-less row (same value, same layer; when that row is compared too): it says
    nothing new."""
    tenant = left_tenant if left_tenant == right_tenant else None
    models = list(models)
    base = pairs(left, right, trait, None, left_tenant, right_tenant) if None in models else {}
    out = []
    for model in models:
        found = base if model is None else pairs(left, right, trait, model, left_tenant, right_tenant)
        for key, (a, b) in found.items():
            if _equal(a, b):
                continue
            if model is not None and key in base and _same_cell(base[key][0], a) and _same_cell(base[key][1], b):
                continue
            out.append(Difference(trait, key, model, tenant, a, b))
    return out


def _equal(a: Cell, b: Cell) -> bool:
    return a.found == b.found and _same(a.value, b.value)


def _same_cell(a: Cell, b: Cell) -> bool:
    return _equal(a, b) and a.source == b.source and a.file == b.file


def _same(a: Any, b: Any) -> bool:
    # 1 == 1.0 == true in Python; a configuration value of another type is another value
    return type(a) is type(b) and a == b


def diff_tenants(cfg: engine.ConfigData, a: str, b: str, traits: Iterable[str],
                 model: str | None = None) -> list[Difference]:
    """Every effective value that differs between tenants ``a`` and ``b`` of one configuration:
    for each trait, without a model and for each model either tenant (or the main file) overrides
    it for (only for ``model`` when given).

    :param cfg: with the documents of ``a`` and ``b`` loaded.
    """
    out: list[Difference] = []
    index = Index(cfg)
    for trait in traits:
        models = [model] if model else [None, *sorted(models_for(cfg, trait, (a, b), index))]
        out += compare(cfg, cfg, trait, models, a, b)
    return out


def diff_configs(left: engine.ConfigData, right: engine.ConfigData, traits: Iterable[str],
                 tenants: Sequence[str | None], model: str | None = None) -> list[Difference]:
    """Every effective value that differs between two configurations (this one against another
    environment's), for each of ``tenants`` (``None``: no tenant) and each model that has an
    override on either side (only ``model`` when given).

    :param left: / :param right: with the documents of ``tenants`` loaded where they exist.
    """
    out: list[Difference] = []
    summarised = None in tenants  # tenant rows equal to the rows without a tenant are left out
    indexes = (Index(left), Index(right))
    for trait in traits:
        shared: dict[str | None, dict[str, tuple[Cell, Cell]]] = {}
        for tenant in tenants:
            if summarised and tenant is not None and _same_own_layers(left, right, indexes, tenant, trait):
                continue  # its own layers are alike on both sides: what differs is in the row without a tenant
            scope = (tenant,)
            models = [model] if model else \
                [None, *sorted(models_for(left, trait, scope, indexes[0]) | models_for(right, trait, scope, indexes[1]))]
            for found in compare(left, right, trait, models, tenant, tenant):
                if summarised and tenant is not None and _as_without_tenant(left, right, found, shared):
                    continue  # the tenant sees what every tenant sees: the row without a tenant says it
                out.append(found)
    return out


def _same_own_layers(left: engine.ConfigData, right: engine.ConfigData, indexes: tuple[Index, Index],
                     tenant: str, trait: str) -> bool:
    """Whether ``tenant`` sets the same values for ``trait`` on both sides (or none on either). Its
    cells then either agree or fall through to the shared layers, where they are the cells of the
    row without a tenant."""
    if not any(trait in index.tenant_traits.get(tenant, ()) for index in indexes):
        return True
    return _own_tables(left, tenant, trait) == _own_tables(right, tenant, trait)


def _own_tables(cfg: engine.ConfigData, tenant: str, trait: str) -> tuple[Any, dict[str, Any]]:
    source = cfg.tenants.get(tenant)
    doc = (source.doc if source is not None else None) or {}
    models = {m: by_trait[trait] for m, by_trait in engine._table(doc, "models").items()
              if isinstance(by_trait, Mapping) and trait in by_trait}
    return engine._table(doc, "traits").get(trait), models


def _as_without_tenant(left: engine.ConfigData, right: engine.ConfigData, found: Difference,
                       shared: dict[str | None, dict[str, tuple[Cell, Cell]]]) -> bool:
    if found.model not in shared:
        shared[found.model] = pairs(left, right, found.trait, found.model, None, None)
    base = shared[found.model].get(found.key)
    return base is not None and _same_cell(base[0], found.left) and _same_cell(base[1], found.right)


def tenants_of(*configs: engine.ConfigData) -> list[str]:
    """The tenant ids of every configuration, sorted and without repeats."""
    return sorted({t for cfg in configs for t in cfg.tenants})
