"""Durations (``30s``, ``10m``, ``12h``, ``7d``, ``2w``, ``1h30m``) and points in time given on the
command line.

:func:`duration_seconds` is the one duration grammar of traitctl; the areas wrap it with their own
rules (a bare number of seconds allowed or not, zero allowed or not) and messages."""

from __future__ import annotations

import datetime as dt
import re

from traitctl.engine.errors import InputError

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
#: Seconds per unit.
UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def duration_seconds(text: object, *, bare: bool = False) -> float | None:
    """Seconds in a duration: one or more number-and-unit parts (``30s``, ``10m``, ``1h30m``,
    ``1.5d``, ``250ms``; units ms, s, m, h, d, w; spaces ignored), or with ``bare`` also a plain
    number of seconds (``45``). ``None`` when ``text`` is not one (signs, other units, words)."""
    raw = "".join(str(text).split())
    if bare and _NUMBER.fullmatch(raw):
        return float(raw)
    parts = _PART.findall(raw)
    if not parts or "".join(number + unit for number, unit in parts) != raw:
        return None
    return sum(float(number) * UNITS[unit] for number, unit in parts)


def parse_duration(text: str) -> dt.timedelta:
    """``30s``, ``10m``, ``12h``, ``7d``, ``2w``, ``1h30m`` -> timedelta (a unit is required).

    :raises InputError: naming the value when it does not parse.
    """
    seconds = duration_seconds(text or "")
    if seconds is None:
        raise InputError(f"{text!r} is not a duration: use a number and a unit, e.g. 30s, 10m, 12h, 7d, 2w.")
    return dt.timedelta(seconds=seconds)


def parse_time(text: str) -> dt.datetime:
    """An ISO 8601 date or date-time; naive values are UTC, aware ones are converted to naive UTC."""
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"{text!r} is not a date or time: use 2026-11-01 or 2026-11-01T10:00[:00][+01:00].") from None
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


def parse_since(text: str, now: dt.datetime) -> dt.datetime:
    """A duration back from ``now`` (``7d``) or an absolute time."""
    seconds = duration_seconds(text or "")
    if seconds is not None:
        return now - dt.timedelta(seconds=seconds)
    return parse_time(text)
