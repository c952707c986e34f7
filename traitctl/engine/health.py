"""Health rules: measured facts in, ``ok`` / ``warn`` / ``fail`` out.

The I/O side (connecting, reading, timing) lives in :mod:`traitctl.health_checks`; everything here is
pure so each rule can be tested with plain values. Thresholds come from ``[health]`` in the
configuration, over :data:`DEFAULTS` (the server's are the seeds' queue-metrics thresholds).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from traitctl.engine.errors import InputError

OK, WARN, FAIL = "ok", "warn", "fail"
_RANK = {OK: 0, WARN: 1, FAIL: 2}

#: The checks, in the order they run and are shown.
CHECK_NAMES = ("configuration", "store", "history", "queue", "workers", "telemetry", "flags", "server")

#: ``[health]`` keys and their defaults (seconds, counts, percentages).
DEFAULTS: dict[str, float] = {
    "queue_pending_warn": 100, "queue_pending_fail": 1000,
    "queue_age_warn": 300, "queue_age_fail": 3600,
    "worker_max_age": 60,
    "telemetry_age_warn": 3600, "telemetry_age_fail": 86400,
    "cpu_warn": 70, "cpu_fail": 90,
    "memory_warn": 80, "memory_fail": 90,
    "disk_warn": 85, "disk_fail": 95,
    "load_warn": 1.5, "load_fail": 2.0,
}


@dataclass(frozen=True)
class Check:
    """The result of one health check.

    :param status: ``ok``, ``warn`` or ``fail``.
    :param message: one sentence saying what was found.
    :param duration_ms: how long the check took.
    :param details: the measured facts (counts, ages, versions) for ``--json``.
    """

    name: str
    status: str
    message: str
    duration_ms: float = 0.0
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Report:
    """All checks of one run, as the seeds' health endpoint shapes them."""

    status: str
    checks: tuple[Check, ...]
    timestamp: dt.datetime

    def as_json(self) -> dict[str, Any]:
        """``{"status", "checks": {name: {status, message, duration_ms, details}}, "timestamp"}``."""
        checks = {c.name: {"status": c.status, "message": c.message, "duration_ms": round(c.duration_ms, 1),
                           "details": dict(c.details)} for c in self.checks}
        return {"status": self.status, "checks": checks, "timestamp": self.timestamp.isoformat()}


def thresholds(section: Mapping[str, Any]) -> dict[str, float]:
    """Merge ``[health]`` over :data:`DEFAULTS`.

    :param section: the ``[health]`` table (may be empty).
    :raises InputError: for an unknown key or a value that is not a non-negative number.
    """
    merged = dict(DEFAULTS)
    for key, value in section.items():
        if key not in DEFAULTS:
            from traitctl.engine.errors import suggest

            raise InputError(f"[health] {key}: unknown threshold.{suggest(key, DEFAULTS)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise InputError(f"[health] {key}: expected a non-negative number, got {value!r}.")
        merged[key] = float(value)
    return merged


def level(value: float, warn: float, fail: float) -> str:
    """``fail`` above ``fail``, ``warn`` above ``warn``, else ``ok`` (a value equal to a limit is
    still within it, as the seeds' ``>`` comparisons have it).

    :param value: the measured value.
    """
    if value > fail:
        return FAIL
    if value > warn:
        return WARN
    return OK


def worst(statuses: Iterable[str]) -> str:
    """The most severe of ``statuses`` (``ok`` when there are none)."""
    return max(statuses, key=_RANK.__getitem__, default=OK)


def overall(checks: Iterable[Check]) -> str:
    """The report's status: the worst of its checks."""
    return worst(c.status for c in checks)


def exit_code(status: str, strict: bool = False) -> int:
    """0 when healthy, 1 when a check failed (or warned, with ``strict``)."""
    return 1 if status == FAIL or (strict and status == WARN) else 0


def select(only: Iterable[str]) -> tuple[str, ...]:
    """The checks to run for ``--only`` (all when empty), in the canonical order.

    :raises NotFound: for a name that is not a check.
    """
    from traitctl.engine.errors import NotFound

    wanted = set()
    for name in only:
        for part in filter(None, (p.strip() for p in name.split(","))):
            if part not in CHECK_NAMES:
                raise NotFound("health check", part, CHECK_NAMES)
            wanted.add(part)
    return tuple(n for n in CHECK_NAMES if not wanted or n in wanted)


# -- rules per check ---------------------------------------------------------------------------
def configuration(problems: list[str], files: int) -> tuple[str, str]:
    """Problems found by validation -> ``fail`` naming the first, else ``ok``.

    :param problems: ``"file: key -> path: message"`` lines.
    :param files: how many files were read.
    """
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        return FAIL, f"{len(problems)} problem(s): {problems[0]}{more}"
    return OK, f"{files} file(s) parse and validate"


def store(version: int, expected: int, missing_tables: list[str]) -> tuple[str, str]:
    """Schema version and tables of the store against what this traitctl expects.

    :param version: the version recorded in the store (0 when never initialised).
    :param expected: :data:`traitctl.store.db.SCHEMA_VERSION`.
    """
    if version > expected:
        return FAIL, f"schema version {version} is newer than this traitctl's {expected}: upgrade traitctl"
    if version < expected:
        return WARN, f"schema version {version}, expected {expected}: the next traitctl write upgrades it"
    if missing_tables:
        return WARN, f"tables missing: {', '.join(missing_tables)} (created on the next traitctl write)"
    return OK, f"connected, schema version {version}, write and read rolled back"


def history(count: int, newest: dt.datetime | None, now: dt.datetime) -> tuple[str, str]:
    """Events recorded: none yet is a warning (nothing has been audited)."""
    if count == 0 or newest is None:
        return WARN, "no events recorded yet (every traitctl write records one)"
    age = (now - newest).total_seconds()
    return OK, f"{count} event(s), newest {_age_text(age)} ago"


def queue(pending: int, oldest_age: float | None, limits: Mapping[str, float]) -> tuple[str, str]:
    """Pending jobs and the age of the oldest one against the queue thresholds."""
    by_count = level(pending, limits["queue_pending_warn"], limits["queue_pending_fail"])
    by_age = level(oldest_age or 0.0, limits["queue_age_warn"], limits["queue_age_fail"])
    status = worst([by_count, by_age])
    oldest = f", oldest waiting {_age_text(oldest_age)}" if oldest_age else ""
    return status, f"{pending} pending{oldest}"


def workers(ages: list[tuple[str, str, float]], max_age: float) -> tuple[str, str]:
    """Worker heartbeats: ``ok`` when one is fresher than ``max_age`` seconds.

    :param ages: ``(worker_id, state, seconds since its last heartbeat)`` per known worker.
    """
    alive = [w for w, state, age in ages if state != "stopped" and age <= max_age]
    if alive:
        return OK, f"{len(alive)} worker(s) alive (heartbeat within {max_age:g} s)"
    if not ages:
        return WARN, "no worker has reported; start one with traitctl worker"
    freshest = min(age for _, _, age in ages)
    return FAIL, f"no live worker: {len(ages)} known, last heartbeat {_age_text(freshest)} ago (limit {max_age:g} s)"


def telemetry(newest: dt.datetime | None, now: dt.datetime, limits: Mapping[str, float]) -> tuple[str, str]:
    """Age of the newest telemetry point against the telemetry thresholds."""
    if newest is None:
        return WARN, "no telemetry recorded yet"
    age = max(0.0, (now - newest).total_seconds())
    status = level(age, limits["telemetry_age_warn"], limits["telemetry_age_fail"])
    return status, f"newest point {_age_text(age)} ago"


def server(cpu: float, memory: float, disks: Mapping[str, float], load_per_core: float | None,
           limits: Mapping[str, float]) -> tuple[str, str]:
    """The seeds' server thresholds: CPU 70/90 %, memory 80/90 %, disk 85/95 %, load per core 1.5/2.0.

    :param disks: mount point -> percent used.
    :param load_per_core: 1-minute load average divided by the core count (``None`` where unknown).
    """
    found = [("cpu", f"CPU {cpu:.0f} %", level(cpu, limits["cpu_warn"], limits["cpu_fail"])),
             ("memory", f"memory {memory:.0f} %", level(memory, limits["memory_warn"], limits["memory_fail"]))]
    for mount, used in sorted(disks.items()):
        found.append(("disk", f"disk {mount} {used:.0f} %", level(used, limits["disk_warn"], limits["disk_fail"])))
    if load_per_core is not None:
        found.append(("load", f"load/core {load_per_core:.2f}",
                      level(load_per_core, limits["load_warn"], limits["load_fail"])))
    status = worst(s for _, _, s in found)
    issues = [f"{text} ({s})" for _, text, s in found if s != OK]
    if issues:
        return status, "; ".join(issues)
    return OK, ", ".join(text for _, text, _ in found[:2]) + (f", {len(disks)} disk(s) below limits" if disks else "")


def _age_text(seconds: float | None) -> str:
    seconds = max(0.0, seconds or 0.0)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"
