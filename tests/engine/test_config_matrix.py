"""The pure views across tenants (traitctl.engine.config_matrix) against plain per-tenant resolution."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from traitctl.engine import config as engine
from traitctl.engine import config_matrix

KEYS = ("a", "b", "c")
MODEL = "App\\Models\\M"
values = st.dictionaries(st.sampled_from(KEYS), st.integers(0, 3), max_size=3)


@st.composite
def configs(draw) -> engine.ConfigData:
    schema = {k: {"type": "integer", "default": 9} for k in draw(st.lists(st.sampled_from(KEYS), unique=True))}
    main = {"traits": {"T": {**draw(values), "schema": schema}}, "models": {MODEL: {"T": draw(values)}}}
    tenants = {}
    for index in range(draw(st.integers(0, 5))):
        doc = {"traits": {"T": draw(values)}, "models": {MODEL: {"T": draw(values)}}}
        tenants[f"t{index}"] = engine.TenantSource(f"t{index}", f"tenants/t{index}.toml", (), doc)
    return engine.ConfigData(main=main, main_file="traits.toml", tenants=tenants)


@settings(max_examples=150, deadline=None)
@given(configs(), st.sampled_from([None, MODEL]))
def test_matrix_cells_equal_each_tenants_own_resolution(cfg, model):
    grid = config_matrix.matrix(cfg, "T", model, sorted(cfg.tenants))
    for index, tenant in enumerate(grid.tenants):
        layers = engine.layers_for(cfg, "T", model, tenant)
        for cell in grid.row(index):
            resolved = engine.resolve(cell.key, layers, engine.schema_of(cfg, "T"))
            assert (cell.found, cell.value) == (resolved.found, resolved.value)
            assert cell.source == (resolved.winner.kind if resolved.winner else None)


@settings(max_examples=150, deadline=None)
@given(configs())
def test_tenant_diff_lists_exactly_the_keys_whose_values_differ(cfg):
    if len(cfg.tenants) < 2:
        return
    a, b = sorted(cfg.tenants)[:2]
    found = config_matrix.diff_tenants(cfg, a, b, ["T"], model=MODEL)
    expected = set()
    for key in KEYS:
        left = engine.resolve(key, engine.layers_for(cfg, "T", MODEL, a), engine.schema_of(cfg, "T"))
        right = engine.resolve(key, engine.layers_for(cfg, "T", MODEL, b), engine.schema_of(cfg, "T"))
        if (left.found, left.value) != (right.found, right.value):
            expected.add(key)
    assert {d.key for d in found} == expected
    assert all(d.model == MODEL for d in found)
    # and a configuration against itself has no difference
    assert config_matrix.diff_configs(cfg, cfg, ["T"], [None, *sorted(cfg.tenants)]) == []


@settings(max_examples=200, deadline=None)
@given(configs(), configs())
def test_environment_diff_reports_or_implies_every_difference(left, right):
    """Every (tenant, model, key) whose values differ is a row, or is said by the row without that
    tenant (or model) with the same two values; every row is a real difference."""
    tenants = [None, *config_matrix.tenants_of(left, right)]
    found = config_matrix.diff_configs(left, right, ["T"], tenants)

    def value(cfg, tenant, model, key):
        resolved = engine.resolve(key, engine.layers_for(cfg, "T", model, tenant), engine.schema_of(cfg, "T"))
        return (resolved.found, resolved.value)

    for d in found:
        assert value(left, d.tenant, d.model, d.key) != value(right, d.tenant, d.model, d.key)
    for tenant in tenants:
        for model in (None, MODEL):
            for key in KEYS:
                a, b = value(left, tenant, model, key), value(right, tenant, model, key)
                if a == b:
                    continue
                assert any(d.key == key and d.tenant in (tenant, None) and d.model in (model, None)
                           and ((d.left.found, d.left.value), (d.right.found, d.right.value)) == (a, b)
                           for d in found), (tenant, model, key, a, b)
