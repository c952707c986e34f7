"""Durations (``30s``, ``10m``, ``12h``, ``7d``, ``2w``, ``1h30m``), points in time and numbers given
on the command line, and the ranges they must stay in.

:func:`duration_seconds` is the one duration grammar of traitctl; the areas wrap it with their own
rules (a bare number of seconds allowed or not, zero allowed or not) and messages. Every value is
bounded here, once, so that no command meets a number the store, ``datetime`` or ``int()`` cannot
hold: integers stay in SQLite's 64-bit range, floats are finite, durations are at most
:data:`MAX_DURATION_DAYS` days and times lie between :data:`EARLIEST` and :data:`LATEST`."""

from __future__ import annotations

import datetime as dt
import math
import re

from traitctl.engine.errors import InputError

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_INTEGER = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
#: Seconds per unit.
UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
#: SQLite's INTEGER (PostgreSQL's BIGINT) range: an id or a count past it cannot be stored or compared.
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
#: The longest duration accepted (100 years): ``now`` plus or minus it stays a valid time.
MAX_DURATION_DAYS = 36500
MAX_DURATION_S = MAX_DURATION_DAYS * 86400.0
#: Times accepted from options, files and telemetry: 1970-01-01 (the epoch) to 2200-01-01, UTC.
EARLIEST = dt.datetime(1970, 1, 1)
LATEST = dt.datetime(2200, 1, 1)
EARLIEST_EPOCH, LATEST_EPOCH = 0.0, (LATEST - EARLIEST).total_seconds()


def duration_seconds(text: object, *, bare: bool = False, what: str = "") -> float | None:
    """Seconds in a duration: one or more number-and-unit parts (``30s``, ``10m``, ``1h30m``,
    ``1.5d``, ``250ms``; units ms, s, m, h, d, w; spaces ignored), or with ``bare`` also a plain
    number of seconds (``45``). ``None`` when ``text`` is not one (signs, other units, words).

    :param what: the option or key, named when the duration is too long.
    :raises InputError: for a duration longer than :data:`MAX_DURATION_DAYS` days.
    """
    raw = "".join(str(text).split())
    if bare and _NUMBER.fullmatch(raw):
        return _bounded_duration(float(raw), text, what)
    parts = _PART.findall(raw)
    if not parts or "".join(number + unit for number, unit in parts) != raw:
        return None
    return _bounded_duration(sum(float(number) * UNITS[unit] for number, unit in parts), text, what)


def _bounded_duration(seconds: float, text: object, what: str) -> float:
    if not seconds <= MAX_DURATION_S:
        shown = str(text) if len(str(text)) <= 40 else str(text)[:40] + "…"
        raise InputError(f"{what + ' ' if what else ''}{shown!r} is too long a duration: "
                         f"at most {MAX_DURATION_DAYS}d (100 years).")
    return seconds


def check_int(value: int, what: str = "The number") -> int:
    """``value`` when it fits a 64-bit integer column.

    :raises InputError: naming ``what`` and the range otherwise.
    """
    if not INT_MIN <= value <= INT_MAX:
        raise InputError(f"{what} {_short(value)} is out of range: use a whole number from {INT_MIN} to {INT_MAX}.")
    return value


def parse_int(text: str, what: str = "The number") -> int:
    """A whole number in the 64-bit range from text (``42``, ``-7``, ``+3``).

    :raises InputError: naming ``what`` when it is not one.
    """
    raw = str(text).strip()
    if not _INTEGER.fullmatch(raw) or len(raw) > 25:
        if _INTEGER.fullmatch(raw):
            raise InputError(f"{what} {_short(raw)} is out of range: use a whole number from {INT_MIN} to {INT_MAX}.")
        raise InputError(f"{what} {_short(raw)} is not a whole number.")
    return check_int(int(raw), what)


def check_float(value: float, what: str = "The number") -> float:
    """``value`` when it is finite (not ``nan``, ``inf`` or an overflow such as ``1e999``).

    :raises InputError: naming ``what`` otherwise.
    """
    if not math.isfinite(value):
        raise InputError(f"{what} {_short(value)} is not a finite number.")
    return value


def parse_float(text: str, what: str = "The number") -> float:
    """A finite number from text (``1.5``, ``-2``, ``1e3``); ``nan``, ``inf`` and ``1e999`` are refused.

    :raises InputError: naming ``what`` when it is not one.
    """
    raw = str(text).strip()
    if not _FLOAT.fullmatch(raw):
        if raw.lower().lstrip("+-") in ("nan", "inf", "infinity"):
            raise InputError(f"{what} {_short(raw)} is not a finite number.")
        raise InputError(f"{what} {_short(raw)} is not a number.")
    value = float(raw)
    if not math.isfinite(value):
        raise InputError(f"{what} {_short(raw)} is not a finite number (it overflows).")
    return value


def check_time(value: dt.datetime, what: str = "The time") -> dt.datetime:
    """``value`` (naive UTC) when it lies between :data:`EARLIEST` and :data:`LATEST`.

    :raises InputError: naming ``what`` otherwise.
    """
    if not EARLIEST <= value <= LATEST:
        raise InputError(f"{what} {value.isoformat()} is out of range: use a time from 1970-01-01 to 2200-01-01 (UTC).")
    return value


def check_epoch(seconds: float, what: str = "The time") -> float:
    """Epoch ``seconds`` when they lie between 1970 and 2200; a value that would fit as
    milliseconds (or microseconds) is named as such.

    :raises InputError: naming ``what`` otherwise.
    """
    if EARLIEST_EPOCH <= seconds <= LATEST_EPOCH:
        return seconds
    hint = ""
    if math.isfinite(seconds):
        for unit, factor in (("milliseconds", 1e3), ("microseconds", 1e6), ("nanoseconds", 1e9)):
            if EARLIEST_EPOCH < seconds / factor <= LATEST_EPOCH:
                hint = f"; it looks like {unit}: divide by {int(factor)}"
                break
    raise InputError(f"{what} {_short(seconds)} is out of range: epoch seconds must be from 0 (1970) to "
                     f"{LATEST_EPOCH:.0f} (2200){hint}.")


def _short(value: object) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        value = int(value)
    text = repr(value) if isinstance(value, str) else f"{value:g}" if isinstance(value, float) else str(value)
    return text if len(text) <= 40 else text[:40] + "…"


def parse_duration(text: str) -> dt.timedelta:
    """``30s``, ``10m``, ``12h``, ``7d``, ``2w``, ``1h30m`` -> timedelta (a unit is required).

    :raises InputError: naming the value when it does not parse.
    """
    seconds = duration_seconds(text or "")
    if seconds is None:
        raise InputError(f"{_short(str(text))} is not a duration: use a number and a unit, e.g. 30s, 10m, 12h, 7d, 2w.")
    return dt.timedelta(seconds=seconds)


def parse_time(text: str, what: str = "The time") -> dt.datetime:
    """An ISO 8601 date or date-time from 1970 to 2200; naive values are UTC, aware ones are
    converted to naive UTC.

    :raises InputError: when it does not parse or is out of range.
    """
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise InputError(f"{_short(text)} is not a date or time: use 2026-11-01 or 2026-11-01T10:00[:00][+01:00].") from None
    return check_time(value, what)


def parse_since(text: str, now: dt.datetime, what: str = "--since") -> dt.datetime:
    """A duration back from ``now`` (``7d``; never before :data:`EARLIEST`) or an absolute time.

    :param what: the option named in errors (``--until`` reads the same way).
    """
    seconds = duration_seconds(text or "", what=what)
    if seconds is not None:
        return max(EARLIEST, now - dt.timedelta(seconds=seconds))
    return parse_time(text, what)
