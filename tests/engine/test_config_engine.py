"""The layered configuration engine: precedence, schema rules, validation (pure, no files)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from traitctl.engine import config as engine
from traitctl.engine.errors import InputError, NotFound, ValidationError


def make_cfg(global_=None, model=None, tenant=None, tenant_model=None, schema=None) -> engine.ConfigData:
    traits = {"T": dict(global_ or {}, schema=schema or {})}
    main = {"traits": traits, "models": {"App\\M": {"T": model}} if model is not None else {},
            "multi_tenancy": {"enabled": True}}
    doc = {"name": "Acme"}
    if tenant is not None:
        doc["traits"] = {"T": tenant}
    if tenant_model is not None:
        doc["models"] = {"App\\M": {"T": tenant_model}}
    tenants = {"acme": engine.TenantSource("acme", "main.toml", ("tenants", "acme"), doc)}
    return engine.ConfigData(main=main, main_file="main.toml", tenants=tenants)


LAYER_VALUES = st.one_of(st.none(), st.integers(-1000, 1000))


@given(g=LAYER_VALUES, m=LAYER_VALUES, t=LAYER_VALUES, tm=LAYER_VALUES, d=LAYER_VALUES)
def test_most_specific_layer_wins(g, m, t, tm, d):
    def layer(v):
        return {} if v is None else {"k": v}

    schema = {"k": {"type": "integer", "default": d}} if d is not None else {}
    cfg = make_cfg(layer(g), layer(m), layer(t), layer(tm), schema)
    resolved = engine.resolve("k", engine.layers_for(cfg, "T", "App\\M", "acme"), engine.schema_of(cfg, "T"))
    expected = next((v for v in (tm, t, m, g, d) if v is not None), None)
    assert resolved.found == (expected is not None)
    assert resolved.value == expected
    kinds = [layer.kind for layer in resolved.layers]
    assert kinds == [k for k, v in zip(engine.LAYER_ORDER, (tm, t, m, g, d)) if v is not None]


def test_without_model_or_tenant_only_global_and_default_apply():
    cfg = make_cfg({"k": 1}, {"k": 2}, {"k": 3}, {"k": 4})
    assert engine.resolve("k", engine.layers_for(cfg, "T")).value == 1
    assert engine.resolve("k", engine.layers_for(cfg, "T", model="App\\M")).value == 2
    assert engine.resolve("k", engine.layers_for(cfg, "T", tenant="acme")).value == 3


def test_schema_and_operations_are_not_settings():
    cfg = make_cfg({"k": 1, "operations": {"x": {}}}, schema={"k": {"type": "integer"}})
    values = engine.effective(cfg, "T")
    assert set(values) == {"k"}


@pytest.mark.parametrize("raw, rule, expected", [
    ("42", None, 42), ("true", None, True), ('"text"', None, "text"), ("[1, 2]", None, [1, 2]),
    ("{a = 1}", None, {"a": 1}), ("plain words", {"type": "string"}, "plain words"), ("1.5", None, 1.5),
])
def test_parse_value_reads_toml_literals(raw, rule, expected):
    assert engine.parse_value(raw, rule) == expected


def test_parse_value_refuses_non_toml():
    with pytest.raises(InputError, match="not a TOML value"):
        engine.parse_value("not quoted", {"type": "integer"})


@pytest.mark.parametrize("value, rule, message", [
    ("x", {"type": "integer"}, "expected integer, got string"),
    (True, {"type": "integer"}, "expected integer, got boolean"),
    (0, {"type": "integer", "min": 1}, "below the minimum 1"),
    (11, {"type": "integer", "max": 10}, "above the maximum 10"),
    ("b", {"type": "string", "allowed": ["a"]}, '"b" is not one of "a"'),
    (["a", "z"], {"type": "array", "allowed": ["a"]}, '"z" is not one of "a"'),
])
def test_check_value_names_the_rule(value, rule, message):
    problem = engine.check_value(("traits", "T", "k"), value, rule)
    assert problem is not None and message in problem and problem.startswith("traits -> T -> k")


def test_check_value_accepts_valid_values():
    assert engine.check_value(("k",), 5, {"type": "integer", "min": 1, "max": 10}) is None
    assert engine.check_value(("k",), 2.5, {"type": "float"}) is None


def test_validate_set_rejects_unknown_key_with_suggestion():
    cfg = make_cfg({"ttl": 1}, schema={"ttl": {"type": "integer"}})
    with pytest.raises(ValidationError, match="unknown key 'tll'.*Did you mean 'ttl'"):
        engine.validate_set(cfg, "T", "tll", 1, ("traits", "T", "tll"))


def test_validate_reports_every_problem_kind():
    cfg = engine.ConfigData(main={
        "traits": {"T": {"k": "x", "extra": 1, "schema": {"k": {"type": "integer"}, "bad": {"type": "nope"}}}},
        "models": {"App\\Gone": {"T": {"k": 1}}, "App\\M": {"Unknown": {"a": 1}}},
        "multi_tenancy": {"enabled": False},
    }, main_file="f.toml", tenants={"t1": engine.TenantSource("t1", "f.toml", ("tenants", "t1"), {"traits": {"T": {"k": 2}}})})
    messages = [p.message for p in engine.validate(cfg, known_models=["App\\M"])]
    joined = "\n".join(messages)
    assert "expected integer, got string" in joined
    assert "unknown key 'extra'" in joined
    assert '"nope" is not one of' in joined
    assert "override for model 'App\\Gone'" in joined
    assert "unknown trait 'Unknown'" in joined
    assert "[multi_tenancy] enabled is false" in joined


def test_validate_clean_config_has_no_problems():
    cfg = make_cfg({"k": 1}, {"k": 2}, schema={"k": {"type": "integer", "default": 0}})
    assert engine.validate(cfg, known_models=["App\\M"]) == []


@pytest.mark.parametrize("bad", ["../x", "a/b", "", ".", "..", "-x", "a" * 65, "a b"])
def test_tenant_ids_cannot_leave_their_folder(bad):
    with pytest.raises(InputError):
        engine.check_tenant_id(bad)


def test_match_name_case_insensitive_and_short_names():
    known = ["App\\Models\\User", "App\\Models\\Post"]
    assert engine.match_name("model", "app\\models\\user", known) == "App\\Models\\User"
    assert engine.match_name("model", "Post", known) == "App\\Models\\Post"
    with pytest.raises(NotFound, match="Did you mean 'App\\\\Models\\\\Post'"):
        engine.match_name("model", "Pots", known)
