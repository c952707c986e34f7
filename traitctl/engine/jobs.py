"""Jobs, pure: the job state machine, retry back-off, durations, cron schedules, operation specs,
event subscribers and the rule that decides when a running job has lost its worker.

No I/O, no clock: every function that needs the time takes ``now``.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from traitctl.engine.errors import InputError, NotFound, literal
from traitctl.engine.timeparse import duration_seconds

# -- states -------------------------------------------------------------------------------------
QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = "queued", "running", "succeeded", "failed", "cancelled"
STATES = (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED)
#: A worker's heartbeat state while its queue or store does not answer (it waits and tries again).
BACKING_OFF = "backing-off"
FINISHED = frozenset({SUCCEEDED, FAILED, CANCELLED})

#: state -> the states it may move to. ``running -> queued`` is a retry, a put-back on shutdown or a
#: job recovered from a dead worker; ``failed/cancelled -> queued`` is ``jobs retry``.
TRANSITIONS: Mapping[str, frozenset[str]] = {
    QUEUED: frozenset({RUNNING, CANCELLED}),
    RUNNING: frozenset({SUCCEEDED, FAILED, QUEUED, CANCELLED}),
    SUCCEEDED: frozenset({QUEUED}),
    FAILED: frozenset({QUEUED}),
    CANCELLED: frozenset({QUEUED}),
}


def check_transition(job_id: int, old: str, new: str) -> None:
    """Refuse a state change the machine does not allow.

    :raises InputError: e.g. cancelling a job that already succeeded.
    """
    if new not in TRANSITIONS.get(old, frozenset()):
        raise InputError(f"Job {job_id} is {old}; it cannot become {new}.")


@dataclass(frozen=True)
class Job:
    """One job record.

    :param attempts: runs started so far (a run lost with its worker counts).
    :param max_attempts: ``retries + 1``; a failure with attempts left is retried after back-off.
    :param lost: how many times the job was recovered from a worker that died.
    :param output: the last lines of the command's output (stdout and stderr merged).
    :param timeline: the transitions after the enqueue, oldest first (see :func:`timeline_entry`):
        each a dict with ``at`` (ISO time, UTC), ``event`` (``started``, ``succeeded``, ``failed``,
        ``retrying``, ``requeued``, ``cancelled``, ``retried``), ``attempt``, and per event
        ``worker``, ``exit_code``, ``error``, ``delay``, ``reason``.
    """

    id: int
    trait: str | None
    operation: str
    model: str | None = None
    tenant: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    state: str = QUEUED
    queue: str = "default"
    priority: int = 0
    attempts: int = 0
    max_attempts: int = 1
    lost: int = 0
    timeout: float | None = None
    retry_delay: float = 0.0
    backoff: float = 2.0
    enqueued: dt.datetime | None = None
    eta: dt.datetime | None = None
    started: dt.datetime | None = None
    finished: dt.datetime | None = None
    worker: str | None = None
    exit_code: int | None = None
    output: str = ""
    error: str | None = None
    result: dict[str, Any] = field(default_factory=dict)
    key: str | None = None
    timeline: tuple[dict[str, Any], ...] = ()

    @property
    def duration(self) -> float | None:
        """Seconds of the last run, when it finished."""
        if self.started and self.finished and self.finished >= self.started:
            return (self.finished - self.started).total_seconds()
        return None


# -- the timeline kept in a job's record -------------------------------------------------------------
def timeline_entry(event: str, at: dt.datetime, **details: Any) -> dict[str, Any]:
    """One transition of a job's timeline: ``event`` at ``at`` (naive UTC), with the details that
    are set (``None`` values are left out)."""
    entry: dict[str, Any] = {"at": at.isoformat(timespec="microseconds"), "event": event}
    entry.update((k, v) for k, v in details.items() if v is not None)
    return entry


def full_timeline(job: Job) -> list[dict[str, Any]]:
    """The whole life of ``job``, oldest first: its enqueue (from the record's ``enqueued`` and
    ``eta``) then every recorded transition (``jobs show``)."""
    first = timeline_entry("enqueued", job.enqueued, eta=job.eta.isoformat() if job.eta else None) \
        if job.enqueued else None
    return ([first] if first else []) + [dict(e) for e in job.timeline]


# -- durations and times --------------------------------------------------------------------------
def parse_duration(text: str, what: str = "duration") -> dt.timedelta:
    """``"10m"`` -> 10 minutes (the grammar of :func:`traitctl.engine.timeparse.duration_seconds`;
    a bare number is seconds).

    :raises InputError: naming the option and the value.
    """
    seconds = duration_seconds(text, bare=True, what=what)
    if seconds is None:
        raise InputError(f"{what} {text!r} is not a duration: write e.g. 30s, 10m, 2h or 7d.")
    return dt.timedelta(seconds=seconds)


def parse_at(text: str, now: dt.datetime) -> dt.datetime:
    """An ISO-8601 time (``2026-05-01T09:30``, ``2026-05-01 09:30:00+02:00``) as naive UTC.

    A time without offset is taken as UTC. ``now`` (naive UTC) bounds it: the past is refused.
    """
    from traitctl.engine.timeparse import check_time

    try:
        when = dt.datetime.fromisoformat(text.strip())
        if when.tzinfo is not None:
            when = when.astimezone(dt.timezone.utc).replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise InputError(f"--at {text[:40]!r} is not an ISO time such as 2026-05-01T09:30 or 2026-05-01T09:30+02:00.") from None
    check_time(when, "--at")
    if when < now - dt.timedelta(seconds=1):
        raise InputError(f"--at {text!r} is in the past (now is {now:%Y-%m-%dT%H:%M:%S} UTC).")
    return when


def retry_delay(attempt: int, base: float, backoff: float, cap: float = 3600.0) -> float:
    """Seconds to wait before run ``attempt + 1`` after run ``attempt`` (1-based) failed:
    ``base * backoff ** (attempt - 1)``, at most ``cap``.

    :param attempt: the run that just failed (1 for the first).
    """
    if base <= 0:
        return 0.0
    return min(cap, base * (max(backoff, 1.0) ** max(attempt - 1, 0)))


#: A worker's waits while its queue or store does not answer: first wait, longest wait (seconds).
OUTAGE_FIRST, OUTAGE_CAP = 0.5, 30.0


def outage_delay(attempt: int, jitter: float, first: float = OUTAGE_FIRST, cap: float = OUTAGE_CAP) -> float:
    """Seconds to wait after failed try ``attempt`` (1-based) to reach a dependency: doubling from
    ``first`` up to ``cap``, then spread over its upper half by ``jitter`` (0 <= jitter < 1, the
    caller's random number) so that many workers do not all ask again at the same moment."""
    delay = min(cap, first * 2.0 ** max(attempt - 1, 0))
    return delay * (0.5 + 0.5 * jitter)


def parse_data(items: Iterable[str]) -> dict[str, Any]:
    """``--data k=v`` pairs into a dict. ``v`` is a TOML literal when it parses as one
    (``3``, ``true``, ``[1, 2]``, ``"text"``), else the text itself.

    :raises InputError: for an item without ``=`` or with an empty key.
    """
    import tomllib

    from traitctl.engine.limits import check_value_text

    data: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip() or not re.match(r"^[A-Za-z0-9_.-]+$", key.strip()):
            raise InputError(f"--data {item[:60]!r} is not KEY=VALUE (a key of letters, digits, '_', '-' or '.').")
        check_value_text(raw, f"--data {key.strip()[:40]}")
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        data[key.strip()] = value
    return data


# -- operations ---------------------------------------------------------------------------------
#: Built-in operations every trait has.
TRAIT_OPERATIONS = ("audit", "cleanup")
#: Operations of the system, enqueued without a trait.
SYSTEM_OPERATIONS = ("audit", "cleanup", "flags-advance", "record-trends", "inventory", "noop")
#: Keys an ``[traits.<T>.operations.<name>]`` table may have.
OPERATION_KEYS = frozenset({"command", "callable", "cwd", "timeout", "retries", "retry_delay", "backoff",
                            "queue", "priority", "description"})
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class OperationSpec:
    """What running an operation means, and its queueing and retry settings.

    :param kind: ``builtin``, ``command`` or ``callable``.
    :param command: argument list (never run through a shell).
    :param target: ``package.module:function`` for a callable.
    :param retries: retries after the first failed run.
    """

    name: str
    kind: str
    command: tuple[str, ...] = ()
    target: str | None = None
    cwd: str | None = None
    timeout: float | None = None
    retries: int = 0
    retry_delay: float = 1.0
    backoff: float = 2.0
    queue: str = "default"
    priority: int = 0
    description: str = ""


def check_name(kind: str, name: str) -> str:
    """Refuse names (queues, operations, schedule entries) that are not plain identifiers."""
    if not _NAME_RE.match(name or ""):
        raise InputError(f"Invalid {kind} name {name!r}: use 1-64 letters, digits, '_', '-' or '.'.")
    return name


def parse_operation(where: str, name: str, table: Any) -> OperationSpec:
    """Validate one ``[traits.<T>.operations.<name>]`` table.

    :param where: the key path for messages (``traits -> HasSlug -> operations -> rebuild``).
    :raises InputError: naming the path and the bad key or value.
    """
    if not isinstance(table, Mapping):
        raise InputError(f"{where}: must be a table with command = [...] or callable = \"pkg.mod:fn\".")
    unknown = sorted(set(table) - OPERATION_KEYS)
    if unknown:
        raise InputError(f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(OPERATION_KEYS))}).")
    command, target = table.get("command"), table.get("callable")
    if (command is None) == (target is None):
        raise InputError(f"{where}: give exactly one of command = [\"prog\", \"arg\"] or callable = \"pkg.mod:fn\".")
    if command is not None and (not isinstance(command, list) or not command
                                or not all(isinstance(a, str) and a for a in command)):
        raise InputError(f"{where} -> command: must be a non-empty list of strings (no shell is used).")
    if target is not None and not re.match(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$", str(target)):
        raise InputError(f"{where} -> callable: {target!r} is not \"package.module:function\".")
    return OperationSpec(name=name, kind="command" if command is not None else "callable",
                         command=tuple(command or ()), target=target, cwd=_opt_str(where, table, "cwd"),
                         **_queue_settings(where, table))


def _opt_str(where: str, table: Mapping, key: str) -> str | None:
    value = table.get(key)
    if value is not None and not isinstance(value, str):
        raise InputError(f"{where} -> {key}: must be a string.")
    return value


def _number(where: str, table: Mapping, key: str, default: float, low: float, high: float) -> float:
    value = table.get(key, default)
    if isinstance(value, str) and key in ("timeout", "retry_delay"):
        value = parse_duration(value, f"{where} -> {key}").total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise InputError(f"{where} -> {key}: {literal(value)} must be a number from {low:g} to {high:g}.")
    return value


def _whole(where: str, table: Mapping, key: str, value: float) -> int:
    if value != int(value):
        raise InputError(f"{where} -> {key}: {literal(table.get(key))} must be a whole number.")
    return int(value)


def _queue_settings(where: str, table: Mapping) -> dict[str, Any]:
    timeout = table.get("timeout")
    return {
        "timeout": None if timeout is None else _number(where, table, "timeout", 0, 0.001, 7 * 86400),
        "retries": _whole(where, table, "retries", _number(where, table, "retries", 0, 0, 100)),
        "retry_delay": _number(where, table, "retry_delay", 1.0, 0, 86400),
        "backoff": _number(where, table, "backoff", 2.0, 1, 10),
        "queue": check_name("queue", str(table.get("queue", "default"))),
        "priority": _whole(where, table, "priority", _number(where, table, "priority", 0, -100, 100)),
        "description": str(table.get("description", "")),
    }


def builtin_operation(name: str, settings: Mapping[str, Any] | None = None) -> OperationSpec:
    """A built-in or system operation, with queue settings from ``[jobs.operations.<name>]``."""
    where = f"jobs -> operations -> {name}"
    return OperationSpec(name=name, kind="builtin", **_queue_settings(where, settings or {}))


def operations_of(traits: Mapping[str, Any], trait: str) -> dict[str, Any]:
    """The raw ``operations`` table of a trait (empty when none)."""
    table = traits.get(trait)
    ops = table.get("operations") if isinstance(table, Mapping) else None
    return dict(ops) if isinstance(ops, Mapping) else {}


def find_operation(traits: Mapping[str, Any], trait: str | None, name: str,
                   jobs_section: Mapping[str, Any] | None = None) -> OperationSpec:
    """Resolve ``name`` for ``trait`` (or the system when ``trait`` is ``None``).

    :raises NotFound: with the near names of the trait's (or the system's) operations.
    """
    settings = (jobs_section or {}).get("operations", {})
    settings = settings if isinstance(settings, Mapping) else {}
    if trait is None:
        if name not in SYSTEM_OPERATIONS:
            raise NotFound("system operation", name, SYSTEM_OPERATIONS)
        return builtin_operation(name, settings.get(name))
    user = operations_of(traits, trait)
    if name in user:
        return parse_operation(f"traits -> {trait} -> operations -> {name}", name, user[name])
    if name in TRAIT_OPERATIONS:
        return builtin_operation(name, settings.get(name))
    raise NotFound(f"operation of {trait}", name, [*TRAIT_OPERATIONS, *user])


# -- cron ---------------------------------------------------------------------------------------
_CRON_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day", 1, 31), ("month", 1, 12), ("day_of_week", 0, 7))


@dataclass(frozen=True)
class Cron:
    """A five-field cron expression, matched as Huey's ``crontab`` does: every field must match
    (day of month AND day of week), day of week 0 = Sunday."""

    expr: str
    minute: frozenset[int]
    hour: frozenset[int]
    day: frozenset[int]
    month: frozenset[int]
    day_of_week: frozenset[int]

    def matches(self, when: dt.datetime) -> bool:
        """True when ``when`` (to the minute) is a run time."""
        return (when.minute in self.minute and when.hour in self.hour and when.day in self.day
                and when.month in self.month and (when.isoweekday() % 7) in self.day_of_week)

    def next_after(self, now: dt.datetime, horizon_days: int = 366 * 4) -> dt.datetime | None:
        """The first run time strictly after ``now``, or ``None`` within the horizon."""
        when = now.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
        end = now + dt.timedelta(days=horizon_days)
        while when <= end:
            if when.month not in self.month or when.day not in self.day or (when.isoweekday() % 7) not in self.day_of_week:
                when = (when + dt.timedelta(days=1)).replace(hour=0, minute=0)
                continue
            if when.hour not in self.hour:
                when = (when + dt.timedelta(hours=1)).replace(minute=0)
                continue
            if when.minute in self.minute:
                return when
            when += dt.timedelta(minutes=1)
        return None


def parse_cron(expr: str) -> Cron:
    """Parse ``"*/5 * * * *"`` (minute hour day month day-of-week; ``*``, ``a-b``, ``a,b``, ``*/n``,
    ``a-b/n``).

    :raises InputError: naming the field and the value.
    """
    parts = str(expr).split()
    if len(parts) != 5:
        raise InputError(f"cron {expr!r} must have 5 fields: minute hour day month day-of-week.")
    sets = [_cron_field(expr, part, name, low, high) for part, (name, low, high) in zip(parts, _CRON_FIELDS)]
    return Cron(str(expr), *sets)


def _cron_field(expr: str, part: str, name: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for piece in part.split(","):
        match = re.match(r"^(\*|\d+(?:-\d+)?)(?:/(\d+))?$", piece)
        if not match:
            raise InputError(f"cron {expr!r}: {name} field {part!r} is not valid (use *, N, A-B, A,B or */N).")
        span, step = match.group(1), int(match.group(2) or 1)
        start, end = (low, high) if span == "*" else (int(span.split("-")[0]), int(span.split("-")[-1]))
        if not (low <= start <= end <= high) or step < 1:
            raise InputError(f"cron {expr!r}: {name} {piece!r} is outside {low}-{high}.")
        values.update(range(start, end + 1, step))
    # Day of week 7 is Sunday in many crons, as 0 is.
    return frozenset(v % 7 for v in values) if name == "day_of_week" else frozenset(values)


@dataclass(frozen=True)
class ScheduleEntry:
    """One ``[schedule.<name>]`` entry: run ``operation`` (for ``trait``, or the system) on ``cron``."""

    name: str
    cron: Cron
    operation: str
    trait: str | None = None
    model: str | None = None
    tenant: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


_SCHEDULE_KEYS = frozenset({"cron", "operation", "trait", "model", "tenant", "data", "description"})


def parse_schedule(section: Mapping[str, Any]) -> list[ScheduleEntry]:
    """Validate ``[schedule]``: a table of named entries with ``cron`` and ``operation``.

    :raises InputError: naming ``schedule -> <name> -> <key>``.
    """
    entries = []
    for name, table in section.items():
        where = f"schedule -> {name}"
        check_name("schedule entry", name)
        if not isinstance(table, Mapping) or "cron" not in table:
            raise InputError(f"{where}: must be a table with cron = \"* * * * *\" and operation = \"...\".")
        unknown = sorted(set(table) - _SCHEDULE_KEYS)
        if unknown:
            raise InputError(f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(_SCHEDULE_KEYS))}).")
        data = table.get("data", {})
        if not isinstance(data, Mapping):
            raise InputError(f"{where} -> data: must be a table.")
        entries.append(ScheduleEntry(name=name, cron=parse_cron(table["cron"]),
                                     operation=str(table.get("operation", name)), trait=table.get("trait"),
                                     model=table.get("model"), tenant=table.get("tenant"), data=dict(data)))
    return entries


def due(entries: Iterable[ScheduleEntry], minute: dt.datetime) -> list[ScheduleEntry]:
    """The entries whose cron matches ``minute``."""
    return [e for e in entries if e.cron.matches(minute)]


def schedule_key(entry: ScheduleEntry, minute: dt.datetime) -> str:
    """A key unique per entry and minute: many workers ticking the same minute create one job."""
    return f"schedule:{entry.name}:{minute:%Y%m%d%H%M}"


# -- event subscribers ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Subscriber:
    """One ``[[events.subscribers]]`` entry: events whose kind matches a pattern of ``on`` are
    delivered to ``command`` (the event JSON on its stdin)."""

    name: str
    on: tuple[str, ...]
    command: tuple[str, ...]
    timeout: float | None = 30.0
    retries: int = 3
    retry_delay: float = 1.0

    def wants(self, kind: str) -> bool:
        """True when ``kind`` matches one of the ``on`` patterns (``flag.*``, ``job.failed``)."""
        return any(fnmatch.fnmatchcase(kind, pattern) for pattern in self.on)


def parse_subscribers(events_section: Mapping[str, Any]) -> list[Subscriber]:
    """Validate ``[[events.subscribers]]``.

    :raises InputError: naming ``events -> subscribers -> <n>`` and the key.
    """
    raw = events_section.get("subscribers", [])
    if not isinstance(raw, list):
        raise InputError("events -> subscribers: must be an array of tables ([[events.subscribers]]).")
    return [parse_subscriber(index, table) for index, table in enumerate(raw)]


def parse_subscriber(index: int, table: Any) -> Subscriber:
    """Validate the ``index``-th ``[[events.subscribers]]`` table.

    :raises InputError: naming ``events -> subscribers -> <index>`` and the key.
    """
    where = f"events -> subscribers -> {index}"
    if not isinstance(table, Mapping):
        raise InputError(f"{where}: must be a table.")
    on = table.get("on")
    if not isinstance(on, list) or not on or not all(isinstance(p, str) and p for p in on):
        raise InputError(f"{where} -> on: must be a list of event kinds or patterns, e.g. [\"flag.*\"].")
    spec = parse_operation(where, "deliver", {k: v for k, v in table.items() if k not in ("on", "name")})
    if spec.kind != "command":
        raise InputError(f"{where}: a subscriber needs command = [\"prog\", \"arg\"].")
    name = table.get("name", f"subscriber-{index}")
    if not isinstance(name, str):
        raise InputError(f"{where} -> name: must be a string, not {literal(name)}.")
    check_name("subscriber", name)
    return Subscriber(name=name, on=tuple(on), command=spec.command,
                      timeout=spec.timeout if spec.timeout is not None else 30.0,
                      retries=spec.retries if "retries" in table else 3, retry_delay=spec.retry_delay)


# -- [jobs] settings ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class JobsSettings:
    """``[jobs]``: the default queue, record retention, heartbeat and recovery timing (seconds).

    :param max_lost: recoveries of one job from dead workers before it fails (a job that kills
        every worker must stop somewhere).
    """

    queue: str = "default"
    retention_days: int = 30
    heartbeat: float = 2.0
    lost_after: float = 15.0
    max_lost: int = 5


def parse_jobs_settings(section: Mapping[str, Any]) -> JobsSettings:
    """Validate ``[jobs]``.

    :raises InputError: naming ``jobs -> <key>`` and the value.
    """
    where = {"retention_days": (1, 36500), "heartbeat": (0.05, 3600), "lost_after": (0.1, 86400),
             "max_lost": (0, 1000)}
    values: dict[str, Any] = {"queue": check_name("queue", str(section.get("queue", "default")))}
    for key, (low, high) in where.items():
        default = getattr(JobsSettings, key)
        number = _number("jobs", section, key, default, low, high)
        values[key] = int(number) if isinstance(default, int) else float(number)
    if values["lost_after"] <= values["heartbeat"]:
        raise InputError(f"jobs -> lost_after ({values['lost_after']:g}) must be longer than jobs -> heartbeat "
                         f"({values['heartbeat']:g}), or every worker would look dead.")
    return JobsSettings(**values)


# -- lost jobs ------------------------------------------------------------------------------------
def worker_lost(beat: Any, now: dt.datetime, max_age: float, pid_gone: bool = False) -> bool:
    """True when a job's worker is gone: no heartbeat, stopped, silent for ``max_age`` seconds, or
    (same host) its process no longer exists.

    :param beat: the worker's :class:`~traitctl.engine.workers.WorkerBeat`, or ``None``.
    :param pid_gone: the caller saw that the worker's pid is not running on this host.
    """
    from traitctl.engine.workers import lost_reason

    return lost_reason(beat, now, max_age, pid_gone) is not None
