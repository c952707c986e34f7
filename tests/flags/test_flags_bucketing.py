"""Bucketing: the issue's worked examples bit-exactly, agreement with the reference
implementations over 10,000+ random subjects, and the rollout properties."""

from __future__ import annotations

import random
import string
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from traitctl.engine import flags as engine
from traitctl.engine import flags_lint

SUBJECT = st.text(alphabet=string.ascii_letters + string.digits + "-_:@.é", min_size=1, max_size=24)
PCT = st.integers(min_value=0, max_value=100)


def _flag(name="new-checkout", pct=50, algorithm="crc32", **kw) -> engine.Flag:
    return engine.Flag(name=name, enabled=True, percentage=pct, bucketing=algorithm, **kw)


def _on(flag: engine.Flag, user: str) -> bool:
    return engine.evaluate(flag, engine.Context(user=user)).on


def _random_ids(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    kinds = [lambda: str(rng.randrange(10**9)), lambda: f"user-{rng.randrange(10**6)}",
             lambda: "".join(rng.choices(string.ascii_letters + string.digits + "-:", k=rng.randint(1, 20)))]
    return [rng.choice(kinds)() for _ in range(n)]


# -- the examples --------------------------------------------------------------------------------
def test_crc32_seed_example_is_in_at_25_while_crc32_is_out():
    assert engine.raw_hash("crc32-seed", "beta-reports", "tenant-9:user-3") == ("beta-reports:tenant-9:user-3",
                                                                                4150694225)
    assert engine.bucket("crc32-seed", "beta-reports", "tenant-9:user-3") == 25
    assert _on(_flag("beta-reports", 25, "crc32-seed"), "tenant-9:user-3") is True
    assert _on(_flag("beta-reports", 25, "crc32"), "tenant-9:user-3") is False


def test_unleash_examples():
    assert engine.raw_hash("unleash", "new-checkout", "42")[1] == 4094389673
    assert engine.bucket("unleash", "new-checkout", "42") == 74
    assert _on(_flag(pct=50, algorithm="unleash"), "42") is False
    assert _on(_flag(pct=75, algorithm="unleash"), "42") is True
    assert engine.bucket("unleash", "new-checkout", "123") == 7
    assert _on(_flag(pct=10, algorithm="unleash"), "123") is True


def test_unleash_group_replaces_the_flag_name_in_the_key():
    key, _ = engine.raw_hash("unleash", "new-checkout", "42", group="checkout-group")
    assert key == "checkout-group:42"


def test_flagd_example():
    assert engine.raw_hash("flagd", "new-checkout", "1") == ("new-checkout1", 2889196556)
    assert engine.bucket("flagd", "new-checkout", "1") == 67
    assert _on(_flag(pct=10, algorithm="flagd"), "1") is False
    assert _on(_flag(pct=68, algorithm="flagd"), "1") is True


def test_crc32_seed_percentage_zero_lets_the_switch_decide():
    assert _on(_flag(pct=0, algorithm="crc32-seed"), "anyone") is True
    assert _on(_flag(pct=0, algorithm="crc32"), "anyone") is False


def test_explain_names_every_step_and_the_bucket():
    flag = _flag("beta-reports", 25, "crc32-seed", tenants={"acme": {"percentage": 30}})
    result = engine.evaluate(flag, engine.Context(user="tenant-9:user-3", tenant="acme"))
    assert [s.rule for s in result.steps] == ["override", "tenant", "enabled", "percentage"]
    assert result.bucket == 25 and result.on
    assert "tenant acme replaces percentage = 30" in result.steps[1].detail
    assert "4150694225 -> bucket 25; 25 <= 30 is true" in result.steps[3].detail


def test_override_comes_first_then_tenant_then_switch():
    flag = _flag(pct=100, tenants={"acme": {"enabled": False}})
    assert engine.evaluate(flag, engine.Context(user="7", tenant="acme")).reason == "disabled"
    forced = engine.evaluate(flag, engine.Context(user="7", tenant="acme"), {"7": True})
    assert forced.on is True and forced.reason == "override" and len(forced.steps) == 1
    assert engine.evaluate(flag, engine.Context(user="7", tenant="globex")).on is True


def test_stickiness_tenant_and_model_pick_the_subject():
    by_tenant = _flag(pct=50, stickiness="tenant")
    answers = {engine.evaluate(by_tenant, engine.Context(user=str(u), tenant="acme")).on for u in range(50)}
    assert len(answers) == 1  # every user of a tenant gets the same answer
    by_model = _flag("beta", 50, "crc32-seed", stickiness="model")
    result = engine.evaluate(by_model, engine.Context(model="App\\Models\\User:7"))
    assert result.steps[-1].detail.startswith("crc32-seed('beta:App\\\\Models\\\\User:7')")
    assert result.bucket == zlib.crc32(b"beta:App\\Models\\User:7") % 100


def test_missing_subject_is_off_below_everyone():
    assert engine.evaluate(_flag(pct=50, stickiness="tenant"), engine.Context(user="1")).on is False
    assert engine.evaluate(_flag(pct=100, stickiness="tenant"), engine.Context(user="1")).on is True


# -- reference implementations ---------------------------------------------------------------------------------
def _php_feature_flag_service(feature: str, user: str, percentage: int, features: bool) -> bool:
    """The seeds' FeatureFlagService::isEnabled (no overrides), transcribed line by line."""
    if percentage > 0:
        normalized = (zlib.crc32(f"{feature}:{user}".encode()) % 100) / 100
        return normalized <= (percentage / 100)
    return features


@pytest.mark.parametrize("pct", [0, 1, 25, 50, 99, 100])
def test_crc32_seed_agrees_with_the_seed_php_over_10000_subjects(pct):
    flag = _flag("trait_base", pct, "crc32-seed")
    decide = engine.compile(flag)
    for user in _random_ids(10_000, pct):
        expected = _php_feature_flag_service("trait_base", user, pct, True)
        assert decide(user) is expected and _on(flag, user) is expected


@pytest.fixture(scope="module")
def unleash_client(tmp_path_factory):
    from UnleashClient import UnleashClient
    from UnleashClient.cache import FileCache

    cache = FileCache("traitctl-test", directory=str(tmp_path_factory.mktemp("unleash")))
    features = [{"name": f"new-checkout-{p}", "enabled": True, "strategies": [
        {"name": "flexibleRollout", "parameters": {"rollout": str(p), "stickiness": "userId",
                                                    "groupId": "new-checkout"}}]} for p in (0, 10, 50, 75, 100)]
    cache.bootstrap_from_dict({"version": 1, "features": features})
    client = UnleashClient(url="http://127.0.0.1:9", app_name="traitctl-test", cache=cache,
                           disable_metrics=True, disable_registration=True)
    yield client
    client.destroy()


@pytest.mark.parametrize("pct", [0, 10, 50, 75, 100])
def test_unleash_agrees_with_unleash_client_over_10000_subjects(unleash_client, pct):
    flag = _flag("new-checkout", pct, "unleash")
    decide = engine.compile(flag)
    ids = _random_ids(10_000, 100 + pct)
    mismatches = [u for u in ids if unleash_client.is_enabled(f"new-checkout-{pct}", {"userId": u}) != decide(u)]
    assert mismatches == []
    assert all(_on(flag, u) == decide(u) for u in ids[:2000])


@pytest.mark.parametrize("pct", [0, 10, 33, 67, 100])
def test_flagd_agrees_with_flagd_core_over_10000_subjects(pct):
    from openfeature.contrib.tools.flagd.core import FlagdCore
    from openfeature.evaluation_context import EvaluationContext

    core = FlagdCore()
    core.set_flags({"flags": {"new-checkout": {"state": "ENABLED", "variants": {"on": True, "off": False},
                                               "defaultVariant": "off",
                                               "targeting": {"fractional": [["on", pct], ["off", 100 - pct]]}}}})
    decide = engine.compile(_flag("new-checkout", pct, "flagd"))
    ids = _random_ids(10_000, 200 + pct)
    mismatches = [u for u in ids
                  if core.resolve_boolean_value("new-checkout", False, EvaluationContext(targeting_key=u)).value
                  != decide(u)]
    assert mismatches == []


# -- properties -------------------------------------------------------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(algorithm=st.sampled_from(engine.ALGORITHMS), subject=SUBJECT, low=PCT, high=PCT)
def test_raising_the_percentage_never_turns_a_subject_off(algorithm, subject, low, high):
    low, high = sorted((low, high))
    if algorithm == "crc32-seed" and low == 0:
        low = 1  # 0 hands the decision to the switch (everyone on): not a rollout step
    if _on(_flag(pct=low, algorithm=algorithm), subject):
        assert _on(_flag(pct=high, algorithm=algorithm), subject)


@settings(max_examples=300, deadline=None)
@given(algorithm=st.sampled_from(engine.ALGORITHMS), subject=SUBJECT, pct=PCT)
def test_same_subject_same_answer_and_compile_agrees_with_evaluate(algorithm, subject, pct):
    flag = _flag(pct=pct, algorithm=algorithm)
    first = _on(flag, subject)
    assert _on(flag, subject) is first
    assert engine.compile(flag)(subject) is first


@pytest.mark.parametrize("algorithm", ["crc32", "unleash", "flagd"])
@pytest.mark.parametrize("pct", [1, 10, 37, 50, 90])
def test_share_over_100k_subjects_is_within_one_point(algorithm, pct):
    decide = engine.compile(_flag(pct=pct, algorithm=algorithm))
    on = sum(decide(str(i)) for i in range(100_000))
    assert abs(on / 1000 - pct) <= 1.0


def test_compile_applies_overrides_and_tenant_settings():
    flag = _flag(pct=0, tenants={"acme": {"percentage": 100}})
    decide = engine.compile(flag, {"7": True, "8": False})
    assert decide("7") is True and decide("8") is False and decide("9") is False
    assert engine.compile(flag, {"8": False}, tenant="acme")("9") is True
    assert engine.compile(flag, {"8": False}, tenant="acme")("8") is False


def test_parse_flag_rejects_bad_tables_naming_the_key():
    with pytest.raises(engine.ValidationError, match=r"flags.x.percentage = 120 is outside 0-100"):
        engine.parse_flag("x", {"enabled": True, "percentage": 120})
    with pytest.raises(engine.ValidationError, match=r'flags.x.bucketing = "md5" is not an algorithm'):
        engine.parse_flag("x", {"bucketing": "md5"})
    with pytest.raises(engine.ValidationError, match=r"flags.x.tenants.acme.owner cannot be set per tenant"):
        engine.parse_flag("x", {"tenants": {"acme": {"owner": "me"}}})


def test_lint_finds_the_seed_off_by_one_orphans_and_bad_schedules():
    found = flags_lint.lint({"a": {"bucketing": "crc32-seed", "percentage": 10},
                         "b": {"percentage": 101, "schedule": ["50@2026-12-02", "10@2026-12-03"]}},
                        {"gone": 2})
    text = "\n".join(found)
    assert "flags.a uses crc32-seed" in text and "lets 11% in" in text
    assert "flags.b.percentage = 101 is outside 0-100" in text
    assert "flags.b.schedule: Schedule is not increasing" in text
    assert "2 override(s) for unknown flag 'gone'" in text
