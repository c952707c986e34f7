"""Telemetry points and the text formats they arrive in (pure: no I/O, no clock).

A point is a metric name, a kind, a value, a UTC timestamp (epoch seconds) and labels. Parsers
turn one line of a format into a :class:`Point` (or ``None`` for a line that carries no metric,
such as a comment or an unrelated log line) and raise :class:`LineError` for a line that is
malformed, so that callers can count bad lines by number and keep the good ones.

Formats:

``jsonl``
    ``{"name": "trait.HasUuid.generated", "value": 1, "kind": "counter", "labels": {"model": "…"},
    "ts": "2026-11-21T10:00:00Z"}``; ``trait``/``model``/``tenant`` may also be top-level keys;
    ``ts`` (or ``time``) is ISO 8601 or epoch seconds, absent means *now*.
``prometheus``
    the text exposition format. A scrape holds running totals, so every sample is stored as a
    ``gauge`` under its sample name (``http_requests_total``).
``statsd``
    ``name:value|c|@0.5|#tag:v,tag2:v2`` (``c`` counter, scaled by the sample rate; ``g``
    gauge; ``ms``/``h``/``d`` timing). Relative gauges (``+3``) and sets are rejected.
``laravel-log``
    Laravel log lines as the TelemetryService of the seeds writes them
    (``[2026-11-21 10:00:00] production.INFO: Telemetry: trait.HasUuid.generated = 1 (total: 42)``),
    each a counter point, and ``[TraitJob] <message> {"trait": …, "model": …, "operation": …}``
    lines, counted as ``trait.<Trait>.job_started|job_completed|job_failed|job_logged`` with
    ``model`` and ``operation`` labels. Other lines are skipped, not bad.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from traitctl.engine.errors import InputError

KINDS = ("counter", "gauge", "timing")
#: other names accepted for a kind (Prometheus and StatsD vocabulary).
KIND_ALIASES = {"counter": "counter", "gauge": "gauge", "timing": "timing", "histogram": "timing",
                "summary": "timing", "timer": "timing", "c": "counter", "g": "gauge", "ms": "timing",
                "h": "timing", "d": "timing"}
FORMATS = ("jsonl", "prometheus", "statsd", "laravel-log")
#: labels that have their own column in the store (filters of the dashboard).
CORE_LABELS = ("trait", "model", "tenant")

NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.:\-]{0,199}\Z")
LABEL_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}\Z")
MAX_LABEL_VALUE = 500
DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


class Point(NamedTuple):
    """One measurement.

    :param ts: UTC time as epoch seconds.
    :param labels: label name -> string value (``trait``, ``model``, ``tenant`` and free labels).
    """

    name: str
    kind: str
    value: float
    ts: float
    labels: dict


class LineError(InputError):
    """One line of an input cannot be read; the message says why (the caller adds the number)."""


# -- validation shared by every entry point ----------------------------------------------------
def check_name(name: Any) -> str:
    """Return ``name`` when it is a valid metric name.

    :raises InputError: for an empty, too long or oddly spelled name.
    """
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise InputError(f"Invalid metric name {name!r}: use letters, digits, '_', '.', ':' or '-', "
                         "starting with a letter or '_' (at most 200 characters).")
    return name


def check_kind(kind: Any) -> str:
    """The canonical kind (``counter``, ``gauge``, ``timing``) for ``kind`` or one of its aliases.

    :raises InputError: for an unknown kind.
    """
    canonical = KIND_ALIASES.get(kind) if isinstance(kind, str) else None
    if canonical is None:
        raise InputError(f"Unknown metric kind {kind!r}: use counter, gauge or timing (histogram).")
    return canonical


def check_value(value: Any) -> float:
    """A finite float from a number or a numeric string.

    :raises InputError: for booleans, non-numeric text, NaN and infinities.
    """
    if isinstance(value, bool):
        raise InputError(f"Metric value {value!r} is not a number.")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"Metric value {value!r} is not a number.") from None
    if not math.isfinite(number):
        raise InputError(f"Metric value {value!r} is not a finite number.")
    return number


def check_labels(labels: Any) -> dict[str, str]:
    """Labels as ``{name: str}``; numbers are turned into text.

    :raises InputError: for a non-object, a bad label name or a nested value.
    """
    if labels is None:
        return {}
    if not isinstance(labels, Mapping):
        raise InputError(f"Labels must be an object of name -> value, not {labels!r}.")
    out = {}
    for key, value in labels.items():
        if not isinstance(key, str) or not LABEL_RE.match(key):
            raise InputError(f"Invalid label name {key!r}: use letters, digits and '_'.")
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise InputError(f"Label {key} must be text or a number, not {value!r}.")
        text = str(value)
        if len(text) > MAX_LABEL_VALUE:
            raise InputError(f"Label {key} is longer than {MAX_LABEL_VALUE} characters.")
        out[key] = text
    return out


def parse_label_arg(text: str) -> tuple[str, str]:
    """``"k=v"`` (as given to ``--label``) -> ``("k", "v")``.

    :raises InputError: when ``=`` is missing or the name is invalid.
    """
    key, sep, value = text.partition("=")
    if not sep:
        raise InputError(f"Malformed label {text!r}: write NAME=VALUE.")
    check_labels({key.strip(): value})
    return key.strip(), value


def labels_with_trait(name: str, labels: dict[str, str]) -> dict[str, str]:
    """Add ``trait`` from a ``trait.<Trait>.<metric>`` name when the labels do not name one."""
    if "trait" not in labels and name.startswith("trait."):
        parts = name.split(".")
        if len(parts) >= 3 and parts[1]:
            labels = {**labels, "trait": parts[1]}
    return labels


def make_point(name: Any, value: Any, kind: Any = "counter", labels: Any = None, ts: float = 0.0) -> Point:
    """Validate every field and build a :class:`Point` (``trait`` derived from the name)."""
    name = check_name(name)
    return Point(name, check_kind(kind), check_value(value), ts, labels_with_trait(name, check_labels(labels)))


# -- time --------------------------------------------------------------------------------------
def to_epoch(moment: dt.datetime) -> float:
    """Epoch seconds of a datetime; a naive one is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return (moment - _EPOCH).total_seconds()


def from_epoch(seconds: float) -> dt.datetime:
    """The naive UTC datetime (the store's convention) of epoch seconds."""
    return (_EPOCH + dt.timedelta(seconds=seconds)).replace(tzinfo=None)


def parse_time(text: Any, now: float) -> float:
    """Epoch seconds from ISO 8601 (naive means UTC), epoch seconds, ``now``, or ``-1h`` (ago).

    :param now: the current time (epoch seconds), used for ``now`` and relative times.
    :raises InputError: when the text is none of these.
    """
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(check_value(text))
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"Timestamp {text!r} does not parse: use ISO 8601, epoch seconds or -1h.")
    raw = text.strip()
    if raw == "now":
        return now
    if raw.startswith("-"):
        return now - parse_duration(raw[1:])
    try:
        return float(raw)
    except ValueError:
        pass
    try:
        return to_epoch(dt.datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "T", 1)))
    except ValueError:
        raise InputError(f"Timestamp {text!r} does not parse: use ISO 8601, epoch seconds or -1h.") from None


def parse_duration(text: str) -> float:
    """Seconds in ``"90s"``, ``"5m"``, ``"1h30m"``, ``"7d"``, ``"2w"`` (a bare number is seconds).

    :raises InputError: for anything else, or a zero duration.
    """
    raw = text.strip()
    try:
        seconds = float(raw)
    except ValueError:
        parts = DURATION_RE.findall(raw)
        if not parts or "".join(n + u for n, u in parts) != raw:
            raise InputError(f"Duration {text!r} does not parse: write e.g. 30s, 5m, 1h, 7d.") from None
        seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if not math.isfinite(seconds) or seconds <= 0:
        raise InputError(f"Duration {text!r} must be more than zero.")
    return seconds


# -- line parsers ------------------------------------------------------------------------------
LineParser = Callable[[str], "Point | None"]


def parser_for(fmt: str, now: float) -> LineParser:
    """A function parsing one line of ``fmt`` into a :class:`Point` or ``None`` (nothing to store).

    The returned function raises :class:`LineError` for a malformed line.

    :param fmt: one of :data:`FORMATS`.
    :param now: timestamp for lines without one (epoch seconds).
    :raises InputError: for an unknown format.
    """
    if fmt == "jsonl":
        return _JsonLines(now).parse
    if fmt == "prometheus":
        return _Prometheus(now).parse
    if fmt == "statsd":
        return lambda line: _statsd(line, now)
    if fmt == "laravel-log":
        return lambda line: _laravel(line, now)
    raise InputError(f"Unknown format {fmt!r}: use {', '.join(FORMATS)}.")


def _wrap(exc: InputError) -> LineError:
    return LineError(exc.message)


class _JsonLines:
    """JSON lines, with caches of names already checked (the hot path of a big ingest)."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.names: set[str] = set()

    def parse(self, line: str) -> Point | None:
        if not line.strip():
            return None
        try:
            obj = json.loads(line)
        except ValueError as exc:
            raise LineError(f"not JSON ({exc.msg})") from None
        if not isinstance(obj, dict):
            raise LineError("not a JSON object")
        try:
            return self._point(obj)
        except KeyError as exc:
            raise LineError(f"missing {exc.args[0]!r}") from None
        except InputError as exc:
            raise _wrap(exc) from None

    def _point(self, obj: dict) -> Point:
        name = obj["name"]
        if name not in self.names:
            self.names.add(check_name(name))
        value = obj["value"]
        if type(value) is not float and type(value) is not int or not math.isfinite(value):
            value = check_value(value)
        kind = KIND_ALIASES.get(obj.get("kind", "counter")) or check_kind(obj.get("kind"))
        labels = check_labels(obj["labels"]) if obj.get("labels") else {}
        for key in CORE_LABELS:
            if key in obj:
                labels[key] = check_labels({key: obj[key]})[key]
        raw_ts = obj.get("ts", obj.get("time"))
        ts = self.now if raw_ts is None else (float(raw_ts) if type(raw_ts) in (int, float)
                                              else parse_time(raw_ts, self.now))
        return Point(name, kind, float(value), ts, labels_with_trait(name, labels))


_PROM_SAMPLE = re.compile(r"([A-Za-z_:][A-Za-z0-9_:]*)\s*(\{.*\})?\s+(\S+)(?:\s+(-?\d+))?\s*\Z")
_PROM_LABEL = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|\Z)')
_PROM_VALUES = {"+Inf": math.inf, "-Inf": -math.inf, "NaN": math.nan}


class _Prometheus:
    """The Prometheus text format, one sample per line; ``# TYPE``/``# HELP`` lines are noted."""

    def __init__(self, now: float) -> None:
        self.now = now

    def parse(self, line: str) -> Point | None:
        text = line.strip()
        if not text or text.startswith("#"):
            return None
        match = _PROM_SAMPLE.match(text)
        if not match:
            raise LineError("not a Prometheus sample (name{labels} value [timestamp_ms])")
        name, label_text, raw_value, raw_ts = match.groups()
        try:
            value = check_value(_PROM_VALUES.get(raw_value, raw_value))
        except InputError as exc:
            raise _wrap(exc) from None
        labels = _prom_labels(label_text[1:-1]) if label_text else {}
        ts = int(raw_ts) / 1000 if raw_ts else self.now
        # A scrape holds running totals and current values: both are stored as gauges.
        return Point(name, "gauge", value, ts, labels_with_trait(name, labels))


def _prom_labels(text: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    pos = 0
    while pos < len(text.rstrip()):
        match = _PROM_LABEL.match(text, pos)
        if not match:
            raise LineError(f"malformed labels near {text[pos:pos + 30]!r}")
        labels[match.group(1)] = _unescape(match.group(2))
        pos = match.end()
    try:
        return check_labels(labels)
    except InputError as exc:
        raise _wrap(exc) from None


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), value)


def _statsd(line: str, now: float) -> Point | None:
    text = line.strip()
    if not text:
        return None
    head, _, rest = text.partition("|")
    name, sep, raw_value = head.rpartition(":")
    if not sep or not rest:
        raise LineError("not a StatsD line (name:value|type)")
    fields = rest.split("|")
    if fields[0] == "s" or raw_value[:1] in "+-" and fields[0] == "g":
        raise LineError("sets and relative gauges are not stored")
    try:
        point = make_point(name, raw_value, fields[0], _statsd_tags(fields[1:]), now)
    except InputError as exc:
        raise _wrap(exc) from None
    rate = _statsd_rate(fields[1:])
    return point._replace(value=point.value / rate) if point.kind == "counter" and rate != 1 else point


def _statsd_rate(fields: list[str]) -> float:
    for field in fields:
        if field.startswith("@"):
            try:
                rate = float(field[1:])
            except ValueError:
                raise LineError(f"bad sample rate {field!r}") from None
            if not 0 < rate <= 1:
                raise LineError(f"sample rate {field!r} must be in (0, 1]")
            return rate
    return 1.0


def _statsd_tags(fields: list[str]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for field in fields:
        if field.startswith("#"):
            for tag in filter(None, field[1:].split(",")):
                key, _, value = tag.partition(":")
                tags[key] = value
    return tags


_LARAVEL = re.compile(r"\[(?P<ts>[^\]]+)\]\s+(?P<env>[\w-]+)\.(?P<level>[A-Z]+):\s?(?P<msg>.*)\Z")
_TELEMETRY = re.compile(r"Telemetry: (?P<name>\S+) = (?P<value>\S+)(?: \(total: [^)]*\))?")
_TRAITJOB = re.compile(r"\[TraitJob\] (?P<text>.*?)\s*(?P<ctx>\{.*\})?(?:\s*\[\])?\s*\Z")


def _laravel(line: str, now: float) -> Point | None:
    match = _LARAVEL.match(line.rstrip("\r\n"))
    if not match:
        return None
    message = match.group("msg")
    if message.startswith("Telemetry: "):
        return _laravel_telemetry(match, message)
    if message.startswith("[TraitJob] "):
        return _laravel_job(match, message)
    return None


def _laravel_time(match: re.Match) -> float:
    try:
        return parse_time(match.group("ts"), 0.0)
    except InputError as exc:
        raise _wrap(exc) from None


def _laravel_telemetry(match: re.Match, message: str) -> Point:
    found = _TELEMETRY.match(message)
    if not found:
        raise LineError("Telemetry line without 'name = value'")
    try:
        return make_point(found.group("name"), found.group("value"), "counter", None, _laravel_time(match))
    except LineError:
        raise
    except InputError as exc:
        raise _wrap(exc) from None


def _laravel_job(match: re.Match, message: str) -> Point:
    found = _TRAITJOB.match(message)
    context = _json_object(found.group("ctx")) if found and found.group("ctx") else {}
    trait = context.get("trait")
    if not isinstance(trait, str) or not trait:
        raise LineError("[TraitJob] line without a trait in its context")
    labels = {k: context[k] for k in ("model", "operation", "tenant") if isinstance(context.get(k), (str, int))}
    metric = _job_outcome(found.group("text"), match.group("level"))
    try:
        return make_point(f"trait.{trait}.{metric}", 1, "counter", labels, _laravel_time(match))
    except InputError as exc:
        raise _wrap(exc) from None


def _json_object(text: str) -> dict:
    try:
        obj = json.loads(text)
    except ValueError:
        raise LineError("[TraitJob] context is not JSON") from None
    return obj if isinstance(obj, dict) else {}


def _job_outcome(text: str, level: str) -> str:
    lowered = text.lower()
    if level in ("ERROR", "CRITICAL", "ALERT", "EMERGENCY") or "fail" in lowered or "error" in lowered:
        return "job_failed"
    if "complet" in lowered or "finish" in lowered or "done" in lowered:
        return "job_completed"
    if "start" in lowered:
        return "job_started"
    return "job_logged"
