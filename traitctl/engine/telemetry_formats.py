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
from dataclasses import dataclass
from typing import Any, NamedTuple

from traitctl.engine.errors import InputError
from traitctl.engine.timeparse import LATEST_EPOCH, check_epoch, duration_seconds

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
#: The labels the store keeps in their own columns, and their longest values there (a tenant id
#: has at most 64 characters, a model FQN 300, a trait 200).
CORE_LIMITS = {"trait": 200, "model": 300, "tenant": 64}
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
        limit = CORE_LIMITS.get(key, MAX_LABEL_VALUE)
        if len(text) > limit:
            raise InputError(f"Label {key} is longer than {limit} characters.")
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
    """The naive UTC datetime (the store's convention) of epoch seconds. A value stored before
    times were range-checked (epoch milliseconds, ``1e15``) is shown at the edge of ``datetime``'s
    range instead of breaking the reader."""
    try:
        return (_EPOCH + dt.timedelta(seconds=seconds)).replace(tzinfo=None)
    except (OverflowError, ValueError):
        return dt.datetime.max if seconds > 0 else dt.datetime.min


def parse_time(text: Any, now: float) -> float:
    """Epoch seconds from ISO 8601 (naive means UTC), epoch seconds, ``now``, or ``-1h`` (ago),
    from 1970 to 2200 (a number that fits as milliseconds is named so in the error).

    :param now: the current time (epoch seconds), used for ``now`` and relative times.
    :raises InputError: when the text is none of these, or out of range.
    """
    return check_epoch(_epoch(text, now), "Timestamp")


def _epoch(text: Any, now: float) -> float:
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(check_value(text))
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"Timestamp {str(text)[:40]!r} does not parse: use ISO 8601, epoch seconds or -1h.")
    raw = text.strip()
    if raw == "now":
        return now
    if raw.startswith("-"):
        return now - parse_duration(raw[1:])
    try:
        return check_value(raw)
    except InputError:
        pass
    try:
        return to_epoch(dt.datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "T", 1)))
    except (ValueError, OverflowError):
        raise InputError(f"Timestamp {raw[:40]!r} does not parse: use ISO 8601, epoch seconds or -1h.") from None


def parse_duration(text: str) -> float:
    """Seconds in ``"90s"``, ``"5m"``, ``"1h30m"``, ``"7d"``, ``"2w"`` (a bare number is seconds).

    :raises InputError: for anything else, or a zero duration.
    """
    seconds = duration_seconds(text, bare=True)
    if seconds is None:
        raise InputError(f"Duration {text!r} does not parse: write e.g. 30s, 5m, 1h, 7d.")
    if seconds <= 0:
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
    """JSON lines (decoded by orjson), with caches of the names and label keys already checked:
    this is the hot path of a big ingest."""

    def __init__(self, now: float) -> None:
        import orjson

        self.loads, self.decode_error = orjson.loads, orjson.JSONDecodeError
        self.now = now
        self.names: dict[str, str | None] = {}  # checked name -> trait derived from it
        self.keys: set[str] = set()

    def parse(self, line: str) -> Point | None:
        try:
            obj = self.loads(line)
        except self.decode_error as exc:
            if not line.strip():
                return None
            raise LineError(f"not JSON ({str(exc).split(':')[0]})") from None
        if type(obj) is not dict:
            raise LineError("not a JSON object")
        try:
            return self._point(obj)
        except KeyError as exc:
            raise LineError(f"missing {exc.args[0]!r}") from None
        except InputError as exc:
            raise _wrap(exc) from None

    def _point(self, obj: dict) -> Point:
        name = obj["name"]
        trait = self.names.get(name, False) if type(name) is str else False
        if trait is False:
            check_name(name)
            trait = self.names[name] = labels_with_trait(name, {}).get("trait")
        value = obj["value"]
        if type(value) is not float and type(value) is not int or not -_BIG < value < _BIG:
            value = check_value(value)
        kind = KIND_ALIASES.get(obj.get("kind", "counter")) or check_kind(obj.get("kind"))
        labels = obj.get("labels")
        labels = self._labels(labels) if labels else {}
        if "trait" in obj or "model" in obj or "tenant" in obj:
            labels.update(check_labels({k: obj[k] for k in CORE_LABELS if k in obj}))
        if trait and "trait" not in labels:
            labels["trait"] = trait
        ts = obj.get("ts")
        if ts is None:
            ts = obj.get("time", self.now)
        if type(ts) is not float and type(ts) is not int or not 0.0 <= ts <= LATEST_EPOCH:
            ts = parse_time(ts, self.now)
        return _new_point(Point, (name, kind, float(value), float(ts), labels))

    def _labels(self, labels: Any) -> dict[str, str]:
        if type(labels) is dict:
            for key, value in labels.items():
                if key not in self.keys or type(value) is not str or len(value) > MAX_LABEL_VALUE or (
                        len(value) > 64 and key in CORE_LIMITS):
                    break
            else:
                return labels
        labels = check_labels(labels)
        self.keys.update(labels)
        return labels


_BIG = 1.7e308  # finite floats only (NaN fails both comparisons)
_new_point = tuple.__new__  # skips NamedTuple's Python-level __new__ on the hot path
_NUMBERS = {int, float}  # exact types: a bool is an int subclass and not a metric value


class JsonRows:
    """JSON lines decoded a batch at a time into rows ``(id, ts, value)``: no :class:`Point` per
    line. :attr:`series` lists the distinct ``(name, kind, labels)``; a row's ``id`` is the one
    the caller gave that series with :meth:`resolve`, or ``-(its index + 1)`` until then.

    The first line of each spelling of a series goes through the checks of the ``jsonl`` parser
    (:func:`parser_for`); later lines with the same keys and text values besides ``value``,
    the time and ``labels``, and the same labels, only have their value and time checked. The result
    is the same as parsing every line with the ``jsonl`` parser (a property test compares them).

    :param now: time of lines without one (epoch seconds).
    :param kinds: metric name -> kind already stored; a line of another kind is bad. Updated with
        the kinds of new metrics.
    """

    def __init__(self, now: float, kinds: dict[str, str]) -> None:
        self.parser = _JsonLines(now)
        self.now = now
        self.kinds = kinds
        self.series: list[tuple[str, str, dict]] = []
        self._slots: dict[tuple, int] = {}  # (name, kind, sorted label items) -> index in series
        self._ids: list[int] = []  # index in series -> the caller's id (see resolve)
        self._fast: dict[tuple, int] = {}  # the line's own spelling (see _spelling) -> row id

    def resolve(self, ids: list[int]) -> None:
        """Give the first ``len(ids)`` series their ids; later rows of them carry these."""
        self._ids = list(ids)
        for spelling, temp in self._fast.items():
            if temp < 0 and -temp <= len(ids):
                self._fast[spelling] = ids[-temp - 1]

    def decode(self, lines: list[str], first: int = 1) -> tuple[list[tuple], list[tuple[int, str]], int]:
        """Rows of the good lines, ``(line number, reason)`` of the bad ones, count of empty lines.

        :param first: the number of ``lines[0]`` in the whole input.
        """
        loads, get_slot, now, numbers, latest = self.parser.loads, self._fast.get, self.now, _NUMBERS, LATEST_EPOCH
        rows: list[tuple] = []
        append = rows.append
        bad: list[tuple[int, str]] = []
        skipped = 0
        for number, line in enumerate(lines, first):
            # Inlined on purpose (runs once per line of millions); must match _spelling().
            try:
                obj = loads(line)
                pop = obj.pop
                value, ts = pop("value", None), pop("ts", None)
                if ts is None:
                    ts = pop("time", now)
                labels = pop("labels", None)
                slot = get_slot((tuple(obj.items()), tuple(labels.items()) if labels else None))
                # orjson gives finite numbers only (it refuses NaN, Infinity and overflows; tested):
                # check_value's other checks cannot fail on them.
                if slot is not None and type(value) in numbers and type(ts) in numbers and 0.0 <= ts <= latest:
                    append((slot, float(ts), float(value)))
                    continue
            except Exception:  # noqa: BLE001 - not JSON, not an object, unhashable: the full checks say why
                pass
            try:
                row = self._checked(line)
            except LineError as exc:
                bad.append((number, exc.message))
                continue
            if row is None:
                skipped += 1
            else:
                append(row)
        return rows, bad, skipped

    def _checked(self, line: str) -> tuple | None:
        """The row of a line through the full checks, remembering its series' spelling."""
        point = self.parser.parse(line)
        if point is None:
            return None
        name, kind, value, ts, labels = point
        if self.kinds.setdefault(name, kind) != kind:
            raise LineError(f"metric {name} is a {self.kinds[name]}, not a {kind}")
        key = (name, kind, tuple(sorted(labels.items())))
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = len(self.series)
            self.series.append((name, kind, labels))
        row_id = self._ids[slot] if slot < len(self._ids) else -slot - 1
        spelling = _spelling(self.parser.loads(line))
        if spelling is not None:
            self._fast[spelling] = row_id
        return row_id, ts, value


def _spelling(obj: dict) -> tuple | None:
    """What decides a JSON line's series, as written: its keys and values but ``value``, the
    time and ``labels``, and the label items. ``None`` unless all of these are text (so that
    ``1``, ``1.0``, ``true`` and ``null``, alike or equal as dictionary keys, never share an
    entry). Changes ``obj``."""
    obj.pop("value", None)
    if obj.pop("ts", None) is None:
        obj.pop("time", None)
    labels = obj.pop("labels", None)
    items = tuple(labels.items()) if labels else None
    texts = [*(v for item in obj.items() for v in item), *(v for item in items or () for v in item)]
    return (tuple(obj.items()), items) if all(type(text) is str for text in texts) else None


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
        try:
            ts = check_epoch(int(raw_ts) / 1000, "Timestamp") if raw_ts else self.now
        except InputError as exc:
            raise _wrap(exc) from None
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


# -- stored series and their summaries ----------------------------------------------------------
@dataclass(frozen=True)
class Series:
    """A metric name with one label set, as stored."""

    id: int
    name: str
    kind: str
    labels: dict
    last_ts: float | None = None

    @property
    def trait(self) -> str | None:
        return self.labels.get("trait")


@dataclass(frozen=True)
class Summary:
    """Points of a series within a window: count, sum, min, max, and the newest value and time.

    A sum beyond the largest double is clamped to ``±MAX_SUM`` (:func:`clamp_sum`);
    :attr:`overflow` says so.
    """

    series: Series
    count: int
    sum: float
    min: float
    max: float
    last: float
    last_ts: float

    @property
    def avg(self) -> float:
        return self.sum / self.count if self.count else 0.0

    @property
    def overflow(self) -> bool:
        """True when the sum overflowed and was clamped (it is then not the exact sum)."""
        return abs(self.sum) >= MAX_SUM

    @property
    def shown(self) -> float:
        """The one number a dashboard shows: a counter's total, a gauge's latest value, a
        timing's mean."""
        return {"counter": self.sum, "gauge": self.last}.get(self.series.kind, self.avg)


#: The largest double: a sum that would go beyond it is stored and shown as ``±MAX_SUM``.
MAX_SUM = 1.7976931348623157e308


def clamp_sum(total: float) -> float:
    """A sum as stored: itself when finite, ``±MAX_SUM`` when it overflowed (``+MAX_SUM`` when
    both directions overflowed and the float arithmetic gave NaN)."""
    if -MAX_SUM <= total <= MAX_SUM:
        return total
    return -MAX_SUM if total < 0 else MAX_SUM


def combine(summaries: list[Summary], series: Series) -> Summary:
    """Several series' summaries as one (counts and sums added, extremes kept, newest last value).

    :param series: what the combined summary is labelled as.
    """
    newest = max(summaries, key=lambda s: s.last_ts)
    return Summary(series, sum(s.count for s in summaries), clamp_sum(sum(s.sum for s in summaries)),
                   min(s.min for s in summaries), max(s.max for s in summaries), newest.last, newest.last_ts)


def metric_label(series: Series) -> str:
    """The column name of a series in the per-trait dashboard: ``generated`` for
    ``trait.HasUuid.generated``, else the full name."""
    prefix = f"trait.{series.trait}."
    return series.name[len(prefix):] if series.name.startswith(prefix) else series.name


def dashboard(summaries: list[Summary]) -> dict[str, dict[str, Summary]]:
    """Group summaries by trait, then by metric (series of one metric with different labels, such
    as one per model, are combined). Series without a trait are left out."""
    grouped: dict[str, dict[str, list[Summary]]] = {}
    for summary in summaries:
        trait = summary.series.trait
        if trait:
            grouped.setdefault(trait, {}).setdefault(metric_label(summary.series), []).append(summary)
    return {trait: {metric: combine(items, items[0].series) for metric, items in sorted(metrics.items())}
            for trait, metrics in sorted(grouped.items())}


def labels_text(labels: Mapping[str, str]) -> str:
    """Labels as canonical JSON (sorted keys, no spaces): the identity of a series."""
    return json.dumps(labels, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def summary_dict(summary: Summary) -> dict:
    """A summary as JSON-ready data (times as epoch seconds)."""
    return {"kind": summary.series.kind, "value": summary.shown, "count": summary.count, "sum": summary.sum,
            "min": summary.min, "max": summary.max, "avg": summary.avg, "last": summary.last,
            "last_ts": summary.last_ts, "overflow": summary.overflow}


# -- Prometheus text exposition -----------------------------------------------------------------
_PROM_TYPES = {"counter": "counter", "gauge": "gauge", "timing": "summary"}
_PROM_SUFFIXES = {"counter": ("_total",), "gauge": ("",), "timing": ("_count", "_sum")}
#: Name parts that are units, and what they become: the base unit and the factor to it.
#: Prometheus wants base units spelled out (promtool: "use base unit", "abbreviated units").
#: ``kb`` ... ``pb`` are binary (1024), as traitctl's own ``rss_mb``.
_UNITS: dict[str, tuple[str, float]] = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), ("seconds", 1.0)),
    **dict.fromkeys(("ms", "msec", "msecs", "millis", "millisecond", "milliseconds"), ("seconds", 1e-3)),
    **dict.fromkeys(("us", "usec", "usecs", "microsecond", "microseconds"), ("seconds", 1e-6)),
    **dict.fromkeys(("ns", "nsec", "nanosecond", "nanoseconds"), ("seconds", 1e-9)),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), ("seconds", 60.0)),
    **dict.fromkeys(("h", "hour", "hours"), ("seconds", 3600.0)),
    **dict.fromkeys(("d", "day", "days"), ("seconds", 86400.0)),
    **dict.fromkeys(("b", "byte", "bytes"), ("bytes", 1.0)),
    **dict.fromkeys(("kb", "kib", "kilobyte", "kilobytes", "kibibytes"), ("bytes", 1024.0)),
    **dict.fromkeys(("mb", "mib", "megabyte", "megabytes", "mebibytes"), ("bytes", 1024.0 ** 2)),
    **dict.fromkeys(("gb", "gib", "gigabyte", "gigabytes", "gibibytes"), ("bytes", 1024.0 ** 3)),
    **dict.fromkeys(("tb", "tib", "terabyte", "terabytes", "tebibytes"), ("bytes", 1024.0 ** 4)),
    **dict.fromkeys(("pb", "pib", "petabyte", "petabytes", "pebibytes"), ("bytes", 1024.0 ** 5)),
    **dict.fromkeys(("percent", "pct"), ("ratio", 0.01)),
}
#: Suffixes Prometheus gives a meaning; dropped from a traitctl name before the kind's own is added.
_RESERVED_ENDINGS = ("total", "count", "sum", "bucket")
#: Metric type names, which promtool refuses in a metric name ("should not include type").
_TYPE_WORDS = ("counter", "gauge", "histogram", "summary", "untyped")
#: Label names reserved for histograms and summaries.
_RESERVED_LABELS = ("le", "quantile")


def _snake(text: str) -> str:
    text = re.sub(r"[^A-Za-z0-9_]", "_", text)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", text)
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text).lower()
    return re.sub(r"_+", "_", text).strip("_")


@dataclass(frozen=True)
class PromName:
    """Where a traitctl series goes in the Prometheus export.

    :param family: the family name (a counter's samples add ``_total``, a summary's ``_count`` and ``_sum``).
    :param scale: factor from the series' unit to the base unit (``index_ms`` values times 0.001).
    :param labels: labels the name carried (``trait``).
    :param unit: the name's unit part as written, when it was converted (``ms``).
    """

    family: str
    scale: float = 1.0
    labels: tuple[tuple[str, str], ...] = ()
    unit: str | None = None


def prometheus_name(name: str, kind: str = "gauge") -> PromName:
    """The Prometheus family for a traitctl metric name and kind.

    ``trait.<Trait>.<metric>`` becomes ``traitctl_trait_<metric>`` with the label ``trait="<Trait>"``
    (one family per metric, the traits as its series); other names keep their words. Names are
    snake_case (``.``, ``-``, ``:`` and camelCase become ``_``); a unit part is spelled out in its
    base unit (``_ms`` -> ``_seconds``, values scaled; ``_mb`` -> ``_bytes``; ``_percent`` -> ``_ratio``);
    a trailing ``_total``, ``_count``, ``_sum`` or ``_bucket`` is dropped (the kind adds its own), and
    so are the words ``counter``, ``gauge``, ``histogram``, ``summary`` and ``untyped``.
    """
    labels: tuple[tuple[str, str], ...] = ()
    match = re.fullmatch(r"trait\.([^.]+)\.(.+)", name)
    if match:
        labels, name = (("trait", match.group(1)),), "traitctl_trait_" + match.group(2)
    words = _snake(name).split("_")
    while len(words) > 1 and words[-1] in _RESERVED_ENDINGS:
        words.pop()
    words = [w for w in words if w not in _TYPE_WORDS] or ["metric"]
    scale, unit = 1.0, None
    for i in range(len(words) - 1, 0, -1):
        if words[i] in _UNITS:
            unit = words[i]
            words[i], scale = _UNITS[unit]
            break
    family = "_".join(w for w in words if w) or "metric"
    if family[0].isdigit():
        family = "traitctl_" + family
    return PromName(family, scale, labels, unit if scale != 1.0 else None)


def prometheus_label(key: str, kind: str = "gauge") -> str:
    """A label name promtool accepts: snake_case; names Prometheus reserves (``__…``, ``le``,
    ``quantile``) get an ``l`` prefix."""
    if key.startswith("__"):
        return "l" + key
    clean = re.sub(r"[^A-Za-z0-9_]", "_", key)
    clean = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", clean)).lower()
    return "l" + clean if clean in _RESERVED_LABELS or clean[:1].isdigit() or not clean else clean


def escape_label_value(value: str) -> str:
    """Escape ``\\``, ``"`` and newlines as the text format requires."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _prom_number(value: float) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def _scaled(summary: Summary, scale: float) -> Summary:
    if scale == 1.0:
        return summary
    return Summary(summary.series, summary.count, clamp_sum(summary.sum * scale), summary.min * scale,
                   summary.max * scale, summary.last * scale, summary.last_ts)


def prometheus_text(summaries: list[Summary]) -> str:
    """The Prometheus text format (0.0.4) for all-time summaries, clean under ``promtool check metrics``.

    Families are named by :func:`prometheus_name`. Counters are exposed as ``<family>_total``
    (their running total), gauges as their latest value, timings as summaries (``_count``, ``_sum``),
    each family with HELP and TYPE lines. Names that map to the same family are merged when their
    kinds agree and get a ``_2``, ``_3`` … suffix when not; series whose labels collide are
    combined, so no TYPE line or series appears twice. Ends with a newline.
    """
    families: dict[str, tuple[str, dict[tuple, list[Summary]], set[str], set[str]]] = {}
    taken: dict[str, str] = {}  # sample name -> family
    for summary in sorted(summaries, key=lambda s: (s.series.name, sorted(s.series.labels.items()))):
        kind = summary.series.kind
        where = prometheus_name(summary.series.name, kind)
        family = _family_for(where.family, kind, families, taken)
        labels: dict[str, str] = {}
        for key, value in [*where.labels, *summary.series.labels.items()]:
            labels.setdefault(prometheus_label(key, kind), str(value))
        entry = families[family]
        entry[1].setdefault(tuple(sorted(labels.items())), []).append(_scaled(summary, where.scale))
        entry[2].add(summary.series.name)
        if where.unit:
            entry[3].add(where.unit)
    lines: list[str] = []
    for family in sorted(families):
        kind, series, origins, units = families[family]
        # The 0.0.4 text format names a counter by its sample (``x_total``), as prometheus_client does.
        typed = family + "_total" if kind == "counter" else family
        lines.append(f"# HELP {typed} {_help(kind, origins, units)}")
        lines.append(f"# TYPE {typed} {_PROM_TYPES[kind]}")
        for labels, items in sorted(series.items()):
            merged = combine(items, items[0].series)
            lines += _prom_samples(family, kind, labels, merged)
    return "\n".join(lines) + "\n" if lines else ""


def _help(kind: str, origins: set[str], units: set[str]) -> str:
    names = sorted(origins)
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    converted = f"; converted from {', '.join(sorted(units))}" if units else ""
    text = f"traitctl {kind} {shown}{converted}"
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _family_for(base: str, kind: str, families: dict, taken: dict) -> str:
    family, n = base, 1
    while True:
        existing = families.get(family)
        if existing is not None and existing[0] == kind:
            return family
        samples = [family + suffix for suffix in _PROM_SUFFIXES[kind]]
        if existing is None and family not in taken and not any(s in taken for s in samples):
            families[family] = (kind, {}, set(), set())
            taken.update({s: family for s in samples + [family]})
            return family
        n += 1
        family = f"{base}_{n}"


def _prom_samples(family: str, kind: str, labels: tuple, merged: Summary) -> list[str]:
    text = ",".join(f'{k}="{escape_label_value(v)}"' for k, v in labels)
    braces = "{" + text + "}" if text else ""
    if kind == "counter":
        return [f"{family}_total{braces} {_prom_number(merged.sum)}"]
    if kind == "gauge":
        return [f"{family}{braces} {_prom_number(merged.last)}"]
    return [f"{family}_count{braces} {merged.count}", f"{family}_sum{braces} {_prom_number(merged.sum)}"]


# -- configuration -----------------------------------------------------------------------------
DEFAULT_RETENTION = {"counter": "30d", "gauge": "7d", "timing": "7d"}
#: The longest retention ``[telemetry] retention`` may name (a hundred years).
MAX_RETENTION_DAYS = 36500


def retention_from(section: Mapping[str, Any] | None) -> dict[str, dt.timedelta]:
    """How long each kind's points are kept, from ``[telemetry] retention`` (durations such as
    ``"30d"``, or a number of days), with :data:`DEFAULT_RETENTION` for kinds not named.

    :raises InputError: naming the key for an unknown kind or a bad duration.
    """
    table = (section or {}).get("retention") or {}
    if not isinstance(table, Mapping):
        raise InputError("telemetry -> retention: write { counter = \"30d\", gauge = \"7d\", timing = \"7d\" }.")
    out = {}
    for kind, raw in {**DEFAULT_RETENTION, **table}.items():
        if kind not in KINDS:
            raise InputError(f"telemetry -> retention -> {kind}: unknown kind; use {', '.join(KINDS)}.")
        try:
            seconds = raw * 86400.0 if isinstance(raw, (int, float)) and not isinstance(raw, bool) \
                else parse_duration(str(raw))
        except InputError as exc:
            raise InputError(f"telemetry -> retention -> {kind}: {exc.message}") from None
        if not 0 < seconds <= MAX_RETENTION_DAYS * 86400.0:  # also refuses nan and inf
            raise InputError(f"telemetry -> retention -> {kind}: {raw!r} must be more than zero and at most "
                             f"{MAX_RETENTION_DAYS} days (a number is days; or a duration such as \"30d\").")
        out[kind] = dt.timedelta(seconds=seconds)
    return out
