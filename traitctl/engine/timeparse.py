"""Durations (``30s``, ``10m``, ``12h``, ``7d``, ``2w``) and points in time given on the command line."""

from __future__ import annotations

import datetime as dt
import re

from traitctl.engine.errors import InputError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> dt.timedelta:
    """``30s``, ``10m``, ``12h``, ``7d``, ``2w`` -> timedelta.

    :raises InputError: naming the value when it does not parse.
    """
    match = _DURATION.match(text or "")
    if not match:
        raise InputError(f"{text!r} is not a duration: use a number and a unit, e.g. 30s, 10m, 12h, 7d, 2w.")
    return dt.timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


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
    if _DURATION.match(text or ""):
        return now - parse_duration(text)
    return parse_time(text)
