"""The one duration grammar every area wraps (``traitctl.engine.timeparse.duration_seconds``)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from traitctl.engine import jobs, rollout, telemetry_formats, timeparse
from traitctl.engine.errors import InputError


@pytest.mark.parametrize("text,seconds", [("30s", 30), ("10m", 600), ("12h", 43200), ("7d", 604800), ("2w", 1209600),
                                          ("1h30m", 5400), ("1.5d", 129600), ("250ms", 0.25), (" 10 m ", 600)])
def test_one_grammar_everywhere(text, seconds):
    assert timeparse.duration_seconds(text) == seconds
    assert timeparse.parse_duration(text).total_seconds() == seconds
    assert rollout.parse_duration(text).total_seconds() == seconds
    assert jobs.parse_duration(text).total_seconds() == seconds
    assert telemetry_formats.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "m", "-5m", "10 minutes", "5y", "1e3s", "nan", "1h-30m", "h1"])
def test_what_is_not_a_duration_anywhere(text):
    assert timeparse.duration_seconds(text, bare=True) is None
    for parse in (timeparse.parse_duration, rollout.parse_duration, jobs.parse_duration,
                  telemetry_formats.parse_duration):
        with pytest.raises(InputError):
            parse(text)


def test_the_areas_rules_on_bare_numbers_and_zero():
    assert timeparse.duration_seconds("45") is None and timeparse.duration_seconds("45", bare=True) == 45
    assert jobs.parse_duration("45").total_seconds() == 45 and telemetry_formats.parse_duration("45") == 45
    for parse in (timeparse.parse_duration, rollout.parse_duration):
        with pytest.raises(InputError):
            parse("45")  # a command-line window or age needs its unit
    with pytest.raises(InputError, match="more than zero"):
        telemetry_formats.parse_duration("0s")
    with pytest.raises(InputError, match="positive"):
        rollout.parse_duration("0d")
    assert jobs.parse_duration("0s").total_seconds() == 0  # --delay 0s: now


@given(st.lists(st.tuples(st.integers(1, 999), st.sampled_from(["s", "m", "h", "d", "w"])), min_size=1, max_size=4))
def test_parts_add_up_and_rollout_formats_back(parts):
    text = "".join(f"{n}{u}" for n, u in parts)
    seconds = sum(n * timeparse.UNITS[u] for n, u in parts)
    assert timeparse.duration_seconds(text) == seconds
    value = rollout.parse_duration(text)
    assert rollout.parse_duration(rollout.format_duration(value)) == value
