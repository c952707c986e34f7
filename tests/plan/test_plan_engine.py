"""The pure planning engine: calendar, order, score, batches, flags, settings."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from traitctl.engine import plan
from traitctl.engine.config import ConfigData
from traitctl.engine.errors import InputError, NotFound
from traitctl.engine.inventory.model import Inventory, MethodInfo, ModelInfo, Override, TraitInfo

MONDAY = dt.date(2026, 11, 30)


def trait(fqn: str, methods: int = 1, uses: tuple[str, ...] = (), models: tuple[str, ...] = ()) -> TraitInfo:
    return TraitInfo(fqn=fqn, language="php", file="t.php", line=1,
                     methods=tuple(MethodInfo(f"m{i}", 2 + i) for i in range(methods)),
                     uses=uses, uses_all=uses, models=models)


def model(fqn: str, traits: tuple[str, ...], overrides: tuple[Override, ...] = ()) -> ModelInfo:
    return ModelInfo(fqn=fqn, language="php", file="m.php", line=1, traits=traits, overrides=overrides)


def config(main: dict | None = None) -> ConfigData:
    return ConfigData(main=main or {}, main_file="traits.toml")


def small_inventory() -> Inventory:
    a, b, c = "App\\T\\A", "App\\T\\B", "App\\T\\C"
    traits = (trait(a, methods=9), trait(b, methods=1, uses=(a,)), trait(c, methods=3))
    over = Override("m0", c, 12, 2, "App\\M\\Two")
    models = (model("App\\M\\One", (a, b)), model("App\\M\\Two", (c,), (over,)), model("App\\M\\Three", (c,)),
              model("App\\M\\None", ()))
    return Inventory(roots=("app",), traits=traits, models=models)


# -- calendar -----------------------------------------------------------------------------------------
def test_calendar_skips_weekends_and_holidays():
    cal = plan.Calendar(frozenset({dt.date(2026, 12, 25)}))
    assert cal.first(dt.date(2026, 12, 5)) == dt.date(2026, 12, 7)  # Saturday -> Monday
    assert cal.add(dt.date(2026, 12, 24), 1) == dt.date(2026, 12, 28)  # over Christmas and the weekend
    assert cal.add(MONDAY, 4) == dt.date(2026, 12, 4)
    assert cal.add(MONDAY, 5) == dt.date(2026, 12, 7)


@given(st.dates(dt.date(2024, 1, 1), dt.date(2030, 1, 1)), st.integers(0, 60),
       st.sets(st.dates(dt.date(2024, 1, 1), dt.date(2030, 12, 31)), max_size=20))
def test_calendar_add_counts_working_days(start, n, holidays):
    cal = plan.Calendar(frozenset(holidays))
    end = cal.add(start, n)
    assert cal.working(end)
    first = cal.first(start)
    between = sum(cal.working(first + dt.timedelta(days=i)) for i in range(1, (end - first).days + 1))
    assert between == n


# -- order ---------------------------------------------------------------------------------------------
@settings(max_examples=60)
@given(st.data())
def test_order_respects_uses_and_picks_simplest_ready(data):
    n = data.draw(st.integers(1, 12))
    names = [f"T{i}" for i in range(n)]
    # edges only to lower indices: a DAG
    uses = {name: tuple(sorted(data.draw(st.sets(st.sampled_from(names[:i]), max_size=3)) if i else ()))
            for i, name in enumerate(names)}
    scores = {name: data.draw(st.integers(0, 20)) for name in names}
    ordered = plan.order_traits([trait(x, uses=uses[x]) for x in names], scores)
    position = {t.fqn: i for i, t in enumerate(ordered)}
    assert sorted(position) == sorted(names)
    for name in names:
        assert all(position[u] < position[name] for u in uses[name])
    done: set[str] = set()
    for t in ordered:  # each pick is the lowest score among the traits ready at that moment
        ready = [x for x in names if x not in done and set(uses[x]) <= done]
        assert scores[t.fqn] == min(scores[x] for x in ready)
        done.add(t.fqn)


def test_cycle_is_named():
    traits = [trait("A", uses=("B",)), trait("B", uses=("C",)), trait("C", uses=("A",)), trait("D")]
    with pytest.raises(InputError, match=r"Trait dependency cycle: A uses B uses C uses A"):
        plan.order_traits(traits, {"A": 1, "B": 1, "C": 1, "D": 1})


def test_score_parts():
    t = TraitInfo(fqn="X", language="php", file="x.php", line=10, methods=(MethodInfo("a", 12), MethodInfo("b", 31)),
                  uses_all=("Y",), models=("M1", "M2"))
    total, parts = plan.score(t, overrides=2, config_count=1)
    assert parts == {"methods": 2, "span": 3, "uses": 1, "models": 2, "overrides": 2, "config_overrides": 1}
    assert total == 2 + 3 + 2 + 2 + 6 + 1


def test_config_overrides_counted_per_trait():
    cfg = config({"models": {"App\\M\\One": {"A": {"x": 1}, "B": {"y": 2}}, "App\\M\\Two": {"A": {"x": 2}}}})
    assert plan.config_overrides(cfg) == {"A": 2, "B": 1}


# -- build ---------------------------------------------------------------------------------------------
def test_build_small_inventory():
    p = plan.build(small_inventory(), config(), MONDAY, options=plan.settings({}, batch_size=2))
    assert [ph.number for ph in p.phases] == [1, 2, 3, 4]
    assert p.phases[0].start == MONDAY and p.phases[0].end == dt.date(2026, 12, 4)
    # C (3 methods) is simplest once A's 9 methods count; B uses A so it comes after A
    assert [s.name for s in p.traits] == ["C", "A", "B"]
    assert [s.date for s in p.traits] == [dt.date(2026, 12, 7), dt.date(2026, 12, 8), dt.date(2026, 12, 9)]
    assert p.phases[2].start == dt.date(2026, 12, 10)
    # Two and Three are ready after C (first); Three has no risk so it goes before Two; One waits for B
    assert [b.models for b in p.batches] == [("App\\M\\Three", "App\\M\\Two"), ("App\\M\\One",)]
    assert p.risks == (plan.Risk("App\\M\\Two", "App\\T\\C", "m0", 12, "App\\M\\Two"),)
    assert [(f.flag, f.percentage, f.date) for f in p.flags] == [
        ("traits_management_system", 10, dt.date(2026, 12, 14)),
        ("traits_management_system", 50, dt.date(2026, 12, 16)),
        ("traits_management_system", 100, dt.date(2026, 12, 18))]
    assert p.end == dt.date(2026, 12, 18)


def test_every_model_after_all_its_traits_on_bundled_shapes():
    p = plan.build(small_inventory(), config(), MONDAY, options=plan.settings({}, batch_size=1))
    trait_day = {s.trait: s.date for s in p.traits}
    inv = small_inventory()
    for batch in p.batches:
        for fqn in batch.models:
            assert all(batch.date > trait_day[t] for t in inv.model(fqn).traits)


def test_flags_per_trait_and_holidays():
    options = plan.settings({"flags": "trait", "holidays": ["2026-12-08"], "steps": [25, 100], "step_days": 1})
    p = plan.build(small_inventory(), config(), MONDAY, options=options)
    assert dt.date(2026, 12, 8) not in {s.date for s in p.traits}
    assert [s.date for s in p.traits] == [dt.date(2026, 12, 7), dt.date(2026, 12, 9), dt.date(2026, 12, 10)]
    assert [b.date for b in p.batches] == [dt.date(2026, 12, 11)]
    # one flag per trait, in trait order, each starting a working day after the previous one
    assert plan.schedules(p) == {"trait_c": ["25@2026-12-14", "100@2026-12-15"],
                                 "trait_a": ["25@2026-12-15", "100@2026-12-16"],
                                 "trait_b": ["25@2026-12-16", "100@2026-12-17"]}


def test_flag_names_are_snake_case():
    s = plan.settings({})
    assert plan.flag_name(s, "App\\Traits\\HasUserTracking") == "trait_has_user_tracking"
    assert plan.flag_name(s, "shop.mixins.HTTPCacheMixin") == "trait_http_cache_mixin"
    assert plan.flag_name(s, None) == "traits_management_system"


def test_selection_includes_used_traits_and_rejects_unknown_names():
    p = plan.build(small_inventory(), config(), MONDAY, traits=["B"])
    assert [s.name for s in p.traits] == ["A", "B"]
    assert [m for b in p.batches for m in b.models] == ["App\\M\\One"]
    with pytest.raises(NotFound, match="Unknown trait 'Q'"):
        plan.build(small_inventory(), config(), MONDAY, traits=["Q"])
    with pytest.raises(NotFound, match="Unknown model 'Onee'. Did you mean"):
        plan.build(small_inventory(), config(), MONDAY, models=["Onee"])


def test_notes_name_configured_traits_missing_from_code():
    p = plan.build(small_inventory(), config({"traits": {"Ghost": {}}}), MONDAY)
    assert "[traits.Ghost] is configured but the code declares no such trait" in p.notes


@pytest.mark.parametrize("section, message", [
    ({"batch_size": 0}, "migration -> batch_size: expected a whole number of at least 1, got 0."),
    ({"flags": "model"}, "migration -> flags: expected \"phase\" or \"trait\""),
    ({"steps": [50, 10, 100]}, "migration -> steps: expected increasing percentages"),
    ({"steps": [10, 50]}, "ending at 100"),
    ({"holidays": ["2026-02-30"]}, "migration -> holidays: '2026-02-30' is not a date"),
    ({"batchsize": 3}, "migration -> batchsize: unknown setting. Did you mean 'batch_size'?"),
    ({"flag": "no spaces"}, "migration -> flag: 'no spaces' is not a flag name"),
    ({"error_rate_max": "high"}, "migration -> error_rate_max: expected a finite non-negative number"),
])
def test_bad_settings(section, message):
    with pytest.raises(InputError) as info:
        plan.settings(section)
    assert message in info.value.message


def test_parse_date():
    assert plan.parse_date("2026-12-01") == dt.date(2026, 12, 1)
    assert plan.parse_date(dt.datetime(2026, 12, 1, 9)) == dt.date(2026, 12, 1)
    with pytest.raises(InputError, match=r"--start: 'tomorrow' is not a date; use YYYY-MM-DD"):
        plan.parse_date("tomorrow")


def test_json_and_markdown_are_deterministic():
    one = plan.build(small_inventory(), config(), MONDAY)
    two = plan.build(small_inventory(), config(), MONDAY)
    assert one.to_dict() == two.to_dict()
    assert plan.markdown(one) == plan.markdown(two)
    doc = one.to_dict()
    assert doc["schema"] == plan.SCHEMA_VERSION and doc["start"] == "2026-11-30"
    md = plan.markdown(one)
    assert "## Phase 3: Model migration (2026-12-10 to 2026-12-10)" in md
    assert "| `App\\M\\Two` | `m0()` | 12 | `App\\T\\C` | `App\\M\\Two` |" in md


def test_baseline_from_aggregates():
    assert plan.baseline({"operations": 200.0, "errors": 3.0, "duration_ms": 15.0}) == {
        "operations": 200.0, "error_rate": 1.5, "duration_ms": 15.0}
    assert plan.baseline({"operations": 10.0, "errors": None, "duration_ms": None}) == {
        "operations": 10.0, "error_rate": 0.0}
    assert plan.baseline({"operations": None, "errors": 4.0, "duration_ms": None}) == {}
    assert plan.baseline_queries(plan.settings({}), "HasUuid") == {
        "errors": ("trait.HasUuid.errors", "sum"), "operations": ("trait.HasUuid.operations", "sum"),
        "duration_ms": ("trait.HasUuid.duration_ms", "avg")}


def test_baselines_shown_and_noted_when_above_the_limit():
    p = plan.build(small_inventory(), config(), MONDAY,
                   baselines={"C": {"operations": 100.0, "error_rate": 2.0, "duration_ms": 7.5}})
    step = next(s for s in p.traits if s.name == "C")
    assert step.baseline == {"operations": 100.0, "error_rate": 2.0, "duration_ms": 7.5}
    assert "baseline: error rate 2 % of 100 operations, mean duration 7.5 ms" in p.phases[1].items[0].details
    assert "C: baseline error rate 2 % is already above error_rate_max 1 %; fix it or raise the limit " \
           "before migrating" in p.notes
    assert "| error rate 2 % of 100 operations, mean duration 7.5 ms |" in plan.markdown(p)


def test_observe_must_be_a_duration():
    with pytest.raises(InputError, match="migration -> observe: 'a day' is not a duration"):
        plan.settings({"observe": "a day"})
