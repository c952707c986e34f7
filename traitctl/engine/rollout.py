"""Rollout schedules and guards, and the decision ``flags advance`` applies. Pure: ``now`` and the
telemetry evidence are passed in.

A schedule is a list of ``"PERCENT@WHEN"`` strings (``"10@2026-12-01"``, ``"50@2026-12-03T09:00"``;
times are UTC), percentages and times both strictly increasing. A guard names telemetry conditions
and what to do when one is breached::

    [flags.new-checkout.guard]
    metric = "checkout.errors"   # aggregated over the window from the metrics store
    agg = "sum"                  # sum | count | avg | min | max
    window = "15m"
    above = 20                   # breached when the aggregate is above this
    per = "checkout.requests"    # optional: compare metric / per (a rate) instead
    labels = { flag = "new-checkout" }
    action = "rollback"          # or "hold"

``conditions = [{ metric = …, above = … }, …]`` holds several conditions (any breach counts).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from traitctl.engine import timeparse
from traitctl.engine.errors import InputError, ValidationError, literal
from traitctl.engine.flags import Flag, percentage_problem

AGGREGATES = ("sum", "count", "avg", "min", "max")
ACTIONS = ("hold", "rollback")


@dataclass(frozen=True)
class ScheduleStep:
    """Reach ``percentage`` at ``at`` (naive UTC)."""

    percentage: int
    at: dt.datetime

    def __str__(self) -> str:
        return f"{self.percentage}@{format_time(self.at)}"


@dataclass(frozen=True)
class Condition:
    """One guard condition: ``agg(metric)`` (divided by ``sum(per)`` when given) over ``window`` above ``above``."""

    metric: str
    above: float
    window: dt.timedelta
    agg: str = "sum"
    per: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        value = f"{self.agg}({self.metric})" + (f" / sum({self.per})" if self.per else "")
        return f"{value} over {format_duration(self.window)} > {self.above:g}"


@dataclass(frozen=True)
class Guard:
    conditions: tuple[Condition, ...]
    action: str = "hold"


@dataclass(frozen=True)
class Query:
    """One aggregate the engine needs from the metrics store."""

    metric: str
    agg: str
    since: dt.datetime
    until: dt.datetime
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        labels = ",".join(f"{k}={v}" for k, v in sorted(self.labels.items()))
        return f"{self.agg}({self.metric}{{{labels}}})"


@dataclass(frozen=True)
class GuardResult:
    """``status`` is ``ok``, ``breached`` or ``no data``; ``evidence`` maps each condition to its value."""

    status: str
    evidence: Mapping[str, float | None]
    breached: tuple[str, ...] = ()


@dataclass(frozen=True)
class Decision:
    """What ``flags advance`` does with one flag.

    :param action: ``advance``, ``hold``, ``rollback`` or ``none``.
    :param percentage: the new percentage (``advance``/``rollback``), else the current one.
    """

    flag: str
    action: str
    reason: str
    percentage: int | None
    enabled: bool
    step: str | None = None
    evidence: Mapping[str, float | None] = field(default_factory=dict)


# -- parsing -------------------------------------------------------------------------------------------------
#: ``2026-12-01``, ``2026-12-01T09:00`` or with an offset, as naive UTC (one parser for the tool).
parse_time = timeparse.parse_time


def format_time(value: dt.datetime) -> str:
    """The shortest ISO text that :func:`parse_time` reads back to ``value``."""
    if value.time() == dt.time(0):
        return value.date().isoformat()
    return value.isoformat(timespec="minutes" if value.second == 0 and not value.microsecond else "seconds")


def parse_duration(text: str) -> dt.timedelta:
    """``30d``, ``12h``, ``15m``, ``45s``, ``2w``, ``1h30m`` (the grammar of
    :func:`traitctl.engine.timeparse.duration_seconds`, a unit required).

    :raises InputError: when it does not parse or is zero.
    """
    seconds = timeparse.duration_seconds(text)
    if not seconds:
        raise InputError(f"Duration {text!r} does not parse: use a positive number and a unit s, m, h, d or w "
                         "(30d, 12h, 15m).")
    return dt.timedelta(seconds=seconds)


def format_duration(value: dt.timedelta) -> str:
    """The shortest text :func:`parse_duration` reads back to ``value``."""
    if value.microseconds:
        return f"{value.total_seconds():g}s"
    seconds = int(value.total_seconds())
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def parse_step(text: str) -> ScheduleStep:
    """One ``PERCENT@WHEN`` step.

    :raises InputError: naming the step when either part is wrong.
    """
    pct_text, sep, when = str(text).partition("@")
    if not sep:
        raise InputError(f"Schedule step {text!r} is not PERCENT@DATE (e.g. 10@2026-12-01).")
    try:
        pct = int(pct_text)
    except ValueError:
        raise InputError(f"Schedule step {text!r}: {pct_text!r} is not a whole number from 0 to 100.") from None
    problem = percentage_problem(pct)
    if problem:
        raise InputError(f"Schedule step {text!r}: percentage {pct} {problem}")
    return ScheduleStep(pct, parse_time(when))


def parse_schedule(steps: list[str] | tuple[str, ...]) -> list[ScheduleStep]:
    """A checked schedule.

    :raises InputError: for a bad step, or percentages or times that do not strictly increase.
    """
    parsed = [parse_step(s) for s in steps]
    for before, after in zip(parsed, parsed[1:]):
        if after.at <= before.at:
            raise InputError(f"Schedule is not increasing: {after} is not after {before}.")
        if after.percentage <= before.percentage:
            raise InputError(f"Schedule is not increasing: {after} does not raise the percentage of {before}.")
    return parsed


def check_future(steps: list[ScheduleStep], now: dt.datetime) -> None:
    """Refuse a new schedule with a step at or before ``now``.

    :raises InputError: naming the first past step.
    """
    for step in steps:
        if step.at <= now:
            raise InputError(f"Schedule step {step} is in the past (now is {format_time(now)} UTC).")


def schedule_problems(name: str, steps: Any) -> list[str]:
    """Lint findings for ``flags.<name>.schedule`` (empty when fine)."""
    if not isinstance(steps, (list, tuple)):
        return []
    try:
        parse_schedule(list(steps))
    except InputError as exc:
        return [f"flags.{name}.schedule: {exc.message}"]
    return []


def parse_guard(name: str, table: Mapping[str, Any] | None) -> Guard | None:
    """The flag's guard, or ``None``.

    :raises ValidationError: naming the first broken key of ``flags.<name>.guard``.
    """
    if table is None:
        return None
    where = f"flags.{name}.guard"
    action = table.get("action", "hold")
    if action not in ACTIONS:
        raise ValidationError(f"{where}.action = {literal(action)} must be one of {', '.join(ACTIONS)}.")
    raw = table.get("conditions", [table])
    if not isinstance(raw, list) or not raw:
        raise ValidationError(f"{where}.conditions must be a non-empty list of tables.")
    return Guard(tuple(_condition(where, c) for c in raw), action)


def _condition(where: str, table: Any) -> Condition:
    if not isinstance(table, Mapping):
        raise ValidationError(f"{where}: each condition must be a table.")
    metric, above = table.get("metric"), table.get("above")
    if not isinstance(metric, str) or not metric:
        raise ValidationError(f"{where}.metric must name a metric.")
    if isinstance(above, bool) or not isinstance(above, (int, float)):
        raise ValidationError(f"{where}.above = {literal(above)} must be a number.")
    agg = table.get("agg", "sum")
    if agg not in AGGREGATES:
        raise ValidationError(f"{where}.agg = {literal(agg)} must be one of {', '.join(AGGREGATES)}.")
    try:
        window = parse_duration(table.get("window", "15m"))
    except InputError as exc:
        raise ValidationError(f"{where}.window: {exc.message}") from None
    labels = table.get("labels", {})
    if not isinstance(labels, Mapping):
        raise ValidationError(f"{where}.labels must be a table of strings.")
    return Condition(metric, float(above), window, agg, table.get("per"), {k: str(v) for k, v in labels.items()})


def guard_problems(name: str, table: Any) -> list[str]:
    """Lint findings for ``flags.<name>.guard``."""
    if not isinstance(table, Mapping):
        return []
    try:
        parse_guard(name, table)
    except InputError as exc:
        return [exc.message]
    return []


# -- guards ------------------------------------------------------------------------------------------------------
def queries(guard: Guard, now: dt.datetime) -> list[Query]:
    """The aggregates to fetch from the metrics store to check ``guard`` at ``now``."""
    out = []
    for c in guard.conditions:
        out.append(Query(c.metric, c.agg, now - c.window, now, c.labels))
        if c.per:
            out.append(Query(c.per, "sum", now - c.window, now, c.labels))
    return out


def check_guard(guard: Guard, now: dt.datetime, evidence: Mapping[str, float | None]) -> GuardResult:
    """Evaluate ``guard`` against the fetched aggregates (``Query.key`` -> value or ``None``).

    A condition without data does not breach (no telemetry is not an incident); the status then
    says ``no data`` so operators see it.
    """
    values: dict[str, float | None] = {}
    breached = []
    for c in guard.conditions:
        value = evidence.get(Query(c.metric, c.agg, now - c.window, now, c.labels).key)
        if c.per and value is not None:
            total = evidence.get(Query(c.per, "sum", now - c.window, now, c.labels).key)
            value = None if not total else value / total
        values[c.label] = value
        if value is not None and value > c.above:
            breached.append(c.label)
    status = "breached" if breached else "no data" if all(v is None for v in values.values()) else "ok"
    return GuardResult(status, values, tuple(breached))


# -- the decision ------------------------------------------------------------------------------------------------
def due_target(steps: list[ScheduleStep], now: dt.datetime) -> ScheduleStep | None:
    """The last step whose time has come, or ``None``."""
    due = [s for s in steps if s.at <= now]
    return due[-1] if due else None


def next_step(steps: list[ScheduleStep], now: dt.datetime) -> ScheduleStep | None:
    """The first step still to come, or ``None``."""
    return next((s for s in steps if s.at > now), None)


def decide(flag: Flag, now: dt.datetime, guard_result: GuardResult | None) -> Decision:
    """What ``flags advance`` does with ``flag`` at ``now``.

    Guards come first: a breach with ``rollback`` goes back to the previous scheduled percentage
    (or off) and pauses the schedule; a breach with ``hold`` withholds a due step. Otherwise the
    last due step is applied when it raises the percentage (applying is idempotent).

    :param guard_result: the checked guard, ``None`` when the flag has none.
    """
    current = flag.effective_percentage
    if flag.paused:
        return Decision(flag.name, "none", "paused after an automatic rollback", flag.percentage, flag.enabled)
    steps = parse_schedule(list(flag.schedule))
    target = due_target(steps, now)
    breach = guard_result is not None and guard_result.status == "breached"
    evidence = dict(guard_result.evidence) if guard_result else {}
    guard = parse_guard(flag.name, flag.guard)
    if breach and guard is not None and guard.action == "rollback" and current > 0:
        back = _previous(steps, current)
        reason = "guard breached: " + "; ".join(guard_result.breached)
        return Decision(flag.name, "rollback", reason, back, back > 0, evidence=evidence)
    if target is None or target.percentage <= current:
        return Decision(flag.name, "none", "no step due", flag.percentage, flag.enabled, evidence=evidence)
    if breach:
        reason = "guard breached, step withheld: " + "; ".join(guard_result.breached)
        return Decision(flag.name, "hold", reason, flag.percentage, flag.enabled, str(target), evidence)
    return Decision(flag.name, "advance", f"step {target} is due", target.percentage, True, str(target), evidence)


def _previous(steps: list[ScheduleStep], current: int) -> int:
    below = [s.percentage for s in steps if s.percentage < current]
    return below[-1] if below else 0
