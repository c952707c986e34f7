"""The flagd generations in the engine (worked examples, edges), the evaluation/planning split,
and the flagd renderer's rules and warnings."""

from __future__ import annotations

import subprocess
import sys

import pytest

from traitctl.engine import export_flagd
from traitctl.engine import flags as engine
from traitctl.engine.errors import ValidationError


def _flag(pct=50, algorithm="flagd-v3", **kw) -> engine.Flag:
    return engine.Flag(name=kw.pop("name", "new-checkout"), enabled=True, percentage=pct, bucketing=algorithm, **kw)


# -- worked examples (hashes checked with mmh3 and cbor2 in the flagd-core 2.x environment) -------------------------
def test_the_three_generations_bucket_the_same_subject_differently():
    assert engine.raw_hash("flagd", "new-checkout", "1") == ("new-checkout1", 2889196556)
    assert engine.bucket("flagd", "new-checkout", "1") == 67
    # v1 reads the same murmur3 as a signed int32: abs(-1405770740) / 2147483647 * 100 = 65.46…
    assert engine.raw_hash("flagd-v1", "new-checkout", "1") == ("new-checkout1", -1405770740)
    assert engine.bucket("flagd-v1", "new-checkout", "1") == 65
    # v3 hashes the CBOR array ["new-checkout", "1"] (shorthand) or the CBOR text (explicit value)
    assert engine.flagd_v3_bytes("new-checkout", "1") == b"\x82\x6cnew-checkout\x611"
    assert engine.raw_hash("flagd-v3", "new-checkout", "1") == ("cbor(['new-checkout', '1'])", 2135110373)
    assert engine.bucket("flagd-v3", "new-checkout", "1") == 49
    assert engine.flagd_v3_bytes("new-checkout", "1", "tenant") == b"\x6dnew-checkout1"
    assert engine.raw_hash("flagd-v3", "new-checkout", "1", stickiness="tenant")[1] == 998202829


@pytest.mark.parametrize(("length", "header"), [(0, b"\x60"), (23, b"\x77"), (24, b"\x78\x18"), (255, b"\x78\xff"),
                                                (256, b"\x79\x01\x00"), (65535, b"\x79\xff\xff"),
                                                (65536, b"\x7a\x00\x01\x00\x00")])
def test_cbor_text_headers_change_at_24_256_and_65536_bytes(length, header):
    assert engine.cbor_text(b"x" * length) == header + b"x" * length


def test_flagd_v1_edges_bucket_100_is_on_only_at_100():
    # abs(-2^31) / MaxInt32 > 1 and abs(±MaxInt32) / MaxInt32 == 1: flagd finds no variant below 100
    for hashed in (-2**31, 2**31 - 1, -(2**31 - 1)):
        assert engine.bucket_of("flagd-v1", hashed) == 100
        assert not engine.in_rollout("flagd-v1", 100, 99) and engine.in_rollout("flagd-v1", 100, 100)
    assert engine.bucket_of("flagd-v1", 2**31 - 2) == 99 and engine.bucket_of("flagd-v1", 0) == 0
    assert engine.bucket_of("flagd-v1", 21474837) == 1  # 21474837 / 2147483647 * 100 = 1.0000000…
    assert engine.bucket_of("flagd-v1", 21474836) == 0  # 0.99999997…


@pytest.mark.parametrize("algorithm", ["flagd-v1", "flagd-v3"])
def test_no_subject_is_on_only_at_100_and_explanations_name_the_key(algorithm):
    for pct, on in ((0, False), (1, False), (99, False), (100, True)):
        result = engine.evaluate(_flag(pct, algorithm, stickiness="tenant"), engine.Context(user="1"))
        assert result.on is on
    detail = engine.evaluate(_flag(50, algorithm), engine.Context(user="1")).steps[-1].detail
    assert detail == {"flagd-v1": "flagd-v1('new-checkout1') = -1405770740 -> bucket 65; 65 < 50 is false: off",
                      "flagd-v3": "flagd-v3(cbor(['new-checkout', '1'])) = 2135110373 -> bucket 49; 49 < 50 is "
                                  "true: on"}[algorithm]


@pytest.mark.parametrize("algorithm", ["flagd-v1", "flagd-v3"])
@pytest.mark.parametrize("pct", [1, 33, 90])
def test_share_over_100k_subjects_is_within_one_point(algorithm, pct):
    decide = engine.compile(_flag(pct, algorithm))
    assert abs(sum(decide(str(i)) for i in range(100_000)) / 1000 - pct) <= 1.0


def test_parse_flag_accepts_the_new_algorithms_and_names_them_when_wrong():
    assert engine.parse_flag("x", {"bucketing": "flagd-v3", "tenants": {"a": {"bucketing": "flagd-v1"}}})
    with pytest.raises(ValidationError, match=r"use crc32, crc32-seed, unleash, flagd, flagd-v1, flagd-v3"):
        engine.parse_flag("x", {"bucketing": "flagd-v4"})


# -- layout ------------------------------------------------------------------------------------------------------------
def test_evaluation_imports_nothing_of_rollout_planning():
    code = ("import sys, traitctl.engine.flags, traitctl.engine.export_flagd;"
            "print(sorted(m for m in sys.modules if m.startswith('traitctl.engine.')))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "rollout" not in loaded and "flags_lint" not in loaded and "timeparse" not in loaded
    import traitctl.engine.flags_lint as lint_module
    import traitctl.engine.rollout as rollout_module

    assert lint_module.rollout is rollout_module  # planning depends on evaluation, never the reverse


# -- the renderer --------------------------------------------------------------------------------------------------------
def _render(**entry) -> tuple[dict, list[str]]:
    return export_flagd.render({"schema": "traitctl.snapshot/1", "flags": {"f": entry}})


def test_shorthand_for_v3_users_cat_for_the_other_generations_and_stickiness():
    targeting = _render(enabled=True, percentage=25, bucketing="flagd-v3")[0]["flags"]["f"]["targeting"]
    assert targeting == {"if": [{"var": "targetingKey"}, {"fractional": [["on", 25], ["off", 75]]}, "off"]}
    for algorithm, stickiness, var in (("flagd-v3", "tenant", "tenant"), ("flagd-v1", "user", "targetingKey"),
                                       ("flagd", "plan", "plan")):
        targeting = _render(enabled=True, percentage=25, bucketing=algorithm, stickiness=stickiness)[0]
        assert targeting["flags"]["f"]["targeting"] == {"if": [{"!=": [{"var": var}, None]}, {"fractional": [
            {"cat": ["f", {"var": var}]}, ["on", 25], ["off", 75]]}, "off"]}


def test_overrides_come_first_grouped_by_answer_and_expiry():
    doc, _ = _render(enabled=False, bucketing="flagd", overrides={
        "7": {"on": True, "expires": "2026-12-31T00:00:00Z"}, "8": {"on": True, "expires": "2026-12-31T00:00:00Z"},
        "9": {"on": False, "expires": None}, "10": {"on": True, "expires": None}})
    assert doc["flags"]["f"]["targeting"] == {"if": [
        {"and": [{"in": [{"var": "targetingKey"}, ["7", "8"]]}, {"<": [{"var": "$flagd.timestamp"}, 1798675200]}]},
        "on", {"==": [{"var": "targetingKey"}, "10"]}, "on", {"==": [{"var": "targetingKey"}, "9"]}, "off", "off"]}


def test_constants_tenants_and_the_seed_share():
    doc, _ = _render(enabled=True, percentage=100, bucketing="flagd",
                     tenants={"acme": {"enabled": False}, "b2": {"percentage": 0}})
    entry = doc["flags"]["f"]
    assert entry["defaultVariant"] == "off" and entry["targeting"] == {
        "if": [{"==": [{"var": "tenant"}, "acme"]}, "off", {"==": [{"var": "tenant"}, "b2"]}, "off", "on"]}
    assert _render(enabled=True, percentage=None)[0]["flags"]["f"] == {
        "state": "ENABLED", "variants": {"on": True, "off": False}, "defaultVariant": "on",
        "metadata": {"bucketing": "crc32", "exactFor": "none"}}
    seeded, warnings = _render(enabled=True, percentage=10, bucketing="crc32-seed")
    assert seeded["flags"]["f"]["targeting"]["if"][1]["fractional"][1:] == [["on", 11], ["off", 89]]
    assert 'bucketing = "crc32-seed", which flagd cannot compute' in warnings[0]
    assert "same share (11%), but other subjects are on" in warnings[0]


def test_warnings_for_other_hashes_env_values_and_mixed_generations():
    _, warnings = _render(enabled=True, percentage=30, bucketing="unleash", env={"enabled": "FEATURE_F"},
                          tenants={"acme": {"bucketing": "flagd-v3"}, "b": {"bucketing": "flagd"}})
    text = "\n".join(warnings)
    assert "flags.f.enabled comes from the environment variable FEATURE_F" in text
    assert 'flags.f.bucketing = "unleash", which flagd cannot compute' in text
    assert "(tenant acme)" not in text  # flagd-v3 for acme is exact
    assert "flag f mixes flagd generations (flagd, flagd-v3) across tenants" in text
    assert len(warnings) == 3


def test_a_broken_override_or_setting_is_named():
    with pytest.raises(ValidationError, match=r'flags\.f\.overrides\.7\.expires = "soon" is not an ISO 8601 time'):
        _render(enabled=True, overrides={"7": {"on": True, "expires": "soon"}})
    with pytest.raises(ValidationError, match=r"flags\.f\.overrides\.7 must be"):
        _render(enabled=True, overrides={"7": {"on": "yes"}})
    with pytest.raises(ValidationError, match=r"flags\.f\.percentage = 120 is outside 0-100"):
        _render(enabled=True, percentage=120)
