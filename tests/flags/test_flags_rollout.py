"""Schedules, guards and the advance decision (pure engine, evidence passed in)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from traitctl.engine import rollout
from traitctl.engine.errors import InputError, ValidationError
from traitctl.engine.flags import Flag

SCHEDULE = ("10@2026-12-01", "50@2026-12-03", "100@2026-12-05")
GUARD = {"metric": "checkout.errors", "agg": "sum", "window": "15m", "above": 20, "action": "rollback"}


def _flag(pct=0, enabled=False, schedule=SCHEDULE, guard=None, paused=False) -> Flag:
    return Flag("new-checkout", enabled=enabled, percentage=pct, schedule=schedule, guard=guard, paused=paused)


def _at(text: str) -> dt.datetime:
    return rollout.parse_time(text)


def _guard_result(flag: Flag, now: dt.datetime, value: float | None) -> rollout.GuardResult:
    guard = rollout.parse_guard(flag.name, flag.guard)
    return rollout.check_guard(guard, now, {q.key: value for q in rollout.queries(guard, now)})


def test_parse_schedule_and_times():
    steps = rollout.parse_schedule(["10@2026-12-01", "50@2026-12-03T09:30", "100@2026-12-05T10:00:00+02:00"])
    assert [s.percentage for s in steps] == [10, 50, 100]
    assert steps[1].at == dt.datetime(2026, 12, 3, 9, 30) and steps[2].at == dt.datetime(2026, 12, 5, 8, 0)
    assert [str(s) for s in steps] == ["10@2026-12-01", "50@2026-12-03T09:30", "100@2026-12-05T08:00"]


@pytest.mark.parametrize("steps, message", [
    (["10@2026-12-03", "50@2026-12-01"], "is not after"),
    (["50@2026-12-01", "50@2026-12-03"], "does not raise the percentage"),
    (["120@2026-12-01"], "is outside 0-100"),
    (["ten@2026-12-01"], "is not a whole number"),
    (["10@someday"], "is not a date or time"),
    (["10-2026-12-01"], "is not PERCENT@DATE"),
])
def test_bad_schedules_say_why(steps, message):
    with pytest.raises(InputError, match=message):
        rollout.parse_schedule(steps)


def test_a_schedule_in_the_past_is_refused():
    with pytest.raises(InputError, match=r"10@2026-12-01 is in the past"):
        rollout.check_future(rollout.parse_schedule(["10@2026-12-01"]), _at("2026-12-02"))


@pytest.mark.parametrize("text, seconds", [("30d", 2592000), ("12h", 43200), ("15m", 900), ("45s", 45),
                                           ("2w", 1209600)])
def test_durations(text, seconds):
    assert rollout.parse_duration(text).total_seconds() == seconds
    assert rollout.parse_duration(rollout.format_duration(rollout.parse_duration(text))) == \
        rollout.parse_duration(text)


@pytest.mark.parametrize("text", ["30", "0d", "3x", "-1d", ""])
def test_bad_durations(text):
    with pytest.raises(InputError, match="does not parse"):
        rollout.parse_duration(text)


def test_decide_applies_the_last_due_step_once():
    flag = _flag()
    assert rollout.decide(flag, _at("2026-11-30"), None).action == "none"
    first = rollout.decide(flag, _at("2026-12-03T12:00"), None)
    assert (first.action, first.percentage, first.enabled, first.step) == ("advance", 50, True, "50@2026-12-03")
    again = rollout.decide(_flag(50, True), _at("2026-12-03T12:00"), None)
    assert again.action == "none"


def test_rollback_goes_to_the_previous_step_or_off():
    now = _at("2026-12-04")
    flag = _flag(50, True, guard=GUARD)
    decision = rollout.decide(flag, now, _guard_result(flag, now, 21))
    assert (decision.action, decision.percentage, decision.enabled) == ("rollback", 10, True)
    assert decision.evidence == {"sum(checkout.errors) over 15m > 20": 21}
    first = _flag(10, True, guard=GUARD)
    back = rollout.decide(first, now, _guard_result(first, now, 99))
    assert (back.action, back.percentage, back.enabled) == ("rollback", 0, False)


def test_guard_below_threshold_or_without_data_lets_the_step_through():
    now = _at("2026-12-05T01:00")
    flag = _flag(50, True, guard=GUARD)
    assert _guard_result(flag, now, 20).status == "ok"
    assert rollout.decide(flag, now, _guard_result(flag, now, 20)).percentage == 100
    assert _guard_result(flag, now, None).status == "no data"
    assert rollout.decide(flag, now, _guard_result(flag, now, None)).action == "advance"


def test_hold_withholds_a_due_step_and_paused_flags_stay():
    now = _at("2026-12-05T01:00")
    held = _flag(50, True, guard=dict(GUARD, action="hold"))
    decision = rollout.decide(held, now, _guard_result(held, now, 500))
    assert (decision.action, decision.percentage, decision.step) == ("hold", 50, "100@2026-12-05")
    assert rollout.decide(_flag(10, True, paused=True), now, None).action == "none"


def test_rate_guard_divides_by_the_denominator():
    guard = rollout.parse_guard("f", {"metric": "errors", "per": "requests", "above": 0.05, "window": "1h"})
    now = _at("2026-12-01")
    keys = [q.key for q in rollout.queries(guard, now)]
    assert rollout.check_guard(guard, now, {keys[0]: 6, keys[1]: 100}).status == "breached"
    assert rollout.check_guard(guard, now, {keys[0]: 4, keys[1]: 100}).status == "ok"


@pytest.mark.parametrize("table, message", [
    ({"metric": "e", "above": 1, "action": "panic"}, 'action = "panic"'),
    ({"above": 1}, "metric must name a metric"),
    ({"metric": "e", "above": "x"}, 'above = "x" must be a number'),
    ({"metric": "e", "above": 1, "agg": "p99"}, 'agg = "p99"'),
    ({"metric": "e", "above": 1, "window": "soon"}, "window: Duration 'soon' does not parse"),
])
def test_bad_guards(table, message):
    with pytest.raises(ValidationError, match=message):
        rollout.parse_guard("f", table)


@settings(max_examples=200, deadline=None)
@given(pcts=st.lists(st.integers(1, 100), min_size=1, max_size=5, unique=True), hours=st.integers(0, 24 * 12))
def test_advancing_twice_changes_nothing_the_second_time(pcts, hours):
    base = dt.datetime(2026, 12, 1)
    steps = tuple(f"{p}@{(base + dt.timedelta(days=i)).date()}" for i, p in enumerate(sorted(pcts)))
    now = base + dt.timedelta(hours=hours)
    first = rollout.decide(_flag(schedule=steps), now, None)
    after = _flag(first.percentage, first.enabled, schedule=steps)
    assert rollout.decide(after, now, None).action == "none"
