"""Any text given to a numeric, duration or date option gives a value in range or an InputError,
never another exception (property tests, in-process on the parsing functions)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Optional

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from traitctl.engine import jobs, limits, plan, rollout, telemetry_formats, timeparse
from traitctl.engine.config import parse_value
from traitctl.engine.errors import InputError

NOW = dt.datetime(2026, 12, 1, 12, 0)
# Text shaped like the values people and fuzzers type: numbers with units, exponents, dates, junk.
NUMBERISH = st.from_regex(r"\A[+-]?\d{0,25}(\.\d{0,5})?([eE][+-]?\d{1,4})?(ms|s|m|h|d|w)?\Z", fullmatch=True)
DURATIONS = st.from_regex(r"\A(\d{1,20}(\.\d{1,3})?(ms|s|m|h|d|w)){1,3}\Z", fullmatch=True)
DATES = st.from_regex(r"\A\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2})?([+-]\d{2}:\d{2}|Z)?)?\Z", fullmatch=True)
TEXT = st.one_of(st.text(max_size=40), NUMBERISH, DURATIONS, DATES,
                 st.sampled_from(["nan", "inf", "-inf", "1e999", "Infinity", "", " ", "0", "-0", "1_000"]))


def _value_or_input_error(function, *args):
    try:
        return function(*args)
    except InputError as exc:
        assert exc.message and "\n" not in exc.message
        return None


@settings(max_examples=300, deadline=None)
@given(TEXT)
@example("9" * 400 + "s")
@example("99999999999999d")
def test_durations_are_bounded(text: str) -> None:
    for bare in (False, True):
        seconds = _value_or_input_error(lambda t: timeparse.duration_seconds(t, bare=bare), text)
        assert seconds is None or 0 <= seconds <= timeparse.MAX_DURATION_S
    for parse in (timeparse.parse_duration, jobs.parse_duration, rollout.parse_duration):
        delta = _value_or_input_error(parse, text)
        if delta is not None:
            NOW + delta, NOW - delta  # noqa: B018 - must not overflow
    seconds = _value_or_input_error(telemetry_formats.parse_duration, text)
    assert seconds is None or 0 < seconds <= timeparse.MAX_DURATION_S


@settings(max_examples=300, deadline=None)
@given(TEXT)
@example("0001-01-01T00:00:00")
@example("0001-01-01T00:00:00+01:00")
@example("9999-12-31T23:59:59-01:00")
def test_times_are_in_range(text: str) -> None:
    for parse in (timeparse.parse_time, lambda t: timeparse.parse_since(t, NOW), lambda t: jobs.parse_at(t, NOW)):
        value = _value_or_input_error(parse, text)
        assert value is None or timeparse.EARLIEST <= value <= timeparse.LATEST
    day = _value_or_input_error(plan.parse_date, text)
    assert day is None or 1970 <= day.year <= 2200
    epoch = _value_or_input_error(telemetry_formats.parse_time, text, NOW.timestamp())
    assert epoch is None or timeparse.EARLIEST_EPOCH <= epoch <= timeparse.LATEST_EPOCH


@settings(max_examples=300, deadline=None)
@given(st.one_of(TEXT, st.integers().map(str), st.floats().map(repr)))
@example("100000000000000000000")
@example("-9223372036854775809")
def test_numbers_fit_the_store(text: str) -> None:
    whole = _value_or_input_error(timeparse.parse_int, text)
    assert whole is None or timeparse.INT_MIN <= whole <= timeparse.INT_MAX
    number = _value_or_input_error(timeparse.parse_float, text)
    assert number is None or math.isfinite(number)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.integers(), st.floats(allow_nan=True, allow_infinity=True)))
def test_telemetry_epochs_in_range_or_refused(value: float) -> None:
    epoch = _value_or_input_error(timeparse.check_epoch, float(value) if not isinstance(value, float) else value)
    assert epoch is None or 0 <= epoch <= timeparse.LATEST_EPOCH


def test_milliseconds_are_named() -> None:
    with pytest.raises(InputError, match="milliseconds: divide by 1000"):
        timeparse.check_epoch(1_700_000_000_000.0)
    with pytest.raises(InputError, match="out of range"):
        timeparse.check_epoch(1e20)


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.sampled_from(["1", '"a]"', "'{'", "true", "# x\n"]),
                    lambda inner: st.one_of(st.lists(inner, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
                                            inner.map(lambda x: "{a = " + x + "}")), max_leaves=30))
def test_nesting_matches_the_parser(text: str) -> None:
    import tomllib

    depth = limits.nesting(f"v = {text}", 100)
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return

    def deepest(v) -> int:
        if isinstance(v, list):
            return 1 + max((deepest(x) for x in v), default=0)
        if isinstance(v, dict):
            return 1 + max((deepest(x) for x in v.values()), default=0)
        return 0

    assert depth == deepest(value)


@pytest.mark.parametrize("text", ["[" * 10_000 + "]" * 10_000, "{a = " * 10_000 + "1" + "}" * 10_000,
                                  ".".join(["k"] * 10_000)])
def test_deep_command_line_values_are_refused_before_the_parse(text: str) -> None:
    with pytest.raises(InputError, match="nested more than"):
        parse_value(text, None)
    with pytest.raises(InputError, match="nested more than"):
        jobs.parse_data([f"k={text}"])


def test_strings_and_comments_do_not_count() -> None:
    assert limits.nesting('v = "[[[[[[" # {{{{{{\nw = \'\'\'\n[[[[\n\'\'\'\n', 2) == 0
    assert limits.nesting('"a.b.c.d" = 1\n', 2) == 0
    assert limits.nesting("a.b.c.d = 1\n", 2) == 3  # four parts: past a limit of 2


def _guarded_command():
    import typer

    from traitctl.cli import guard_numbers

    app = typer.Typer()

    @app.command()
    def command(count: int = 0, limit: int = typer.Option(1, min=1), ratio: float = 0.0,
                maybe: Optional[float] = None) -> None:
        pass

    return guard_numbers(typer.main.get_command(app))


GUARDED = _guarded_command()


@settings(max_examples=200, deadline=None)
@given(st.one_of(TEXT, st.integers(min_value=-(2**80), max_value=2**80).map(str), st.floats().map(repr)))
@example("100000000000000000000")
@example("nan")
def test_number_options_give_a_value_in_range_or_a_usage_error(text: str) -> None:
    from typer import _click as click

    for option in ("--count", "--limit", "--ratio", "--maybe"):
        try:
            ctx = GUARDED.make_context("command", [option, text])
        except click.exceptions.UsageError:
            continue
        value = ctx.params[option[2:]]
        if isinstance(value, float):
            assert math.isfinite(value)
        else:
            assert timeparse.INT_MIN <= value <= timeparse.INT_MAX
