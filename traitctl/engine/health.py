"""Health rules: measured facts in, ``ok`` / ``warn`` / ``fail`` out.

The I/O side (connecting, reading, timing) lives in :mod:`traitctl.health_checks`; everything here is
pure so each rule can be tested with plain values. Thresholds come from ``[health]`` in the
configuration, over :data:`DEFAULTS` (the server's are the seeds' queue-metrics thresholds).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from traitctl.engine.errors import InputError

OK, WARN, FAIL = "ok", "warn", "fail"
_RANK = {OK: 0, WARN: 1, FAIL: 2}

#: The checks, in the order they run and are shown.
CHECK_NAMES = ("configuration", "store", "history", "queue", "workers", "telemetry", "flags", "caching", "events",
               "server")
#: Checks of the machine the CLI runs on rather than of traitctl: run only when named with ``--only``
#: or switched on in ``[health]`` (``server = true``), so a busy CI runner does not fail ``health``.
HOST_CHECKS = ("server",)

#: ``[health]`` keys and their defaults (seconds, counts). The server's thresholds are the metrics
#: area's (``[telemetry.server]``, :mod:`traitctl.engine.serverstats`), so both views agree.
DEFAULTS: dict[str, float] = {
    "queue_pending_warn": 100, "queue_pending_fail": 1000,
    "queue_age_warn": 300, "queue_age_fail": 3600,
    "telemetry_age_warn": 3600, "telemetry_age_fail": 86400,
    "flag_stale_days": 30,
    "cache_probe_warn": 0.5, "cache_probe_fail": 2.0,
    "events_lag_warn": 300, "events_lag_fail": 3600,
}
#: ``[health]`` numbers without a default: ``worker_max_age`` (seconds) overrides ``[jobs] lost_after``
#: for this check only.
OPTIONAL = ("worker_max_age",)
#: ``[health]`` switches (booleans) and their defaults: one per host check.
SWITCHES: dict[str, bool] = {name: False for name in HOST_CHECKS}


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
        return {"status": self.status, "checks": checks, "timestamp": self.timestamp.isoformat(timespec="seconds")}


def thresholds(section: Mapping[str, Any]) -> dict[str, float]:
    """Merge ``[health]`` over :data:`DEFAULTS`.

    :param section: the ``[health]`` table (may be empty).
    :raises InputError: for an unknown key or a value that is not a non-negative number.
    """
    merged = dict(DEFAULTS)
    for key, value in section.items():
        if key in SWITCHES:
            continue  # see switches()
        if key not in DEFAULTS and key not in OPTIONAL:
            from traitctl.engine.errors import suggest

            raise InputError(f"[health] {key}: unknown threshold."
                             f"{suggest(key, [*DEFAULTS, *OPTIONAL, *SWITCHES])}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
            raise InputError(f"[health] {key}: expected a finite non-negative number, got {value!r}.")
        merged[key] = float(value)
    return merged


def switches(section: Mapping[str, Any]) -> dict[str, bool]:
    """The ``[health]`` switches over :data:`SWITCHES` (``server = true`` runs the server check).

    :raises InputError: for a switch that is not ``true`` or ``false``.
    """
    merged = dict(SWITCHES)
    for key in SWITCHES.keys() & section.keys():
        if not isinstance(section[key], bool):
            raise InputError(f"[health] {key}: expected true or false, got {section[key]!r}.")
        merged[key] = section[key]
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


def select(only: Iterable[str], host: Iterable[str] = ()) -> tuple[str, ...]:
    """The checks to run for ``--only``, in the canonical order. Without ``--only``: every check
    but the :data:`HOST_CHECKS`, of which only those in ``host`` (switched on in ``[health]``).

    :raises NotFound: for a name that is not a check.
    """
    from traitctl.engine.errors import NotFound

    wanted = set()
    for name in only:
        for part in filter(None, (p.strip() for p in name.split(","))):
            if part not in CHECK_NAMES:
                raise NotFound("health check", part, CHECK_NAMES)
            wanted.add(part)
    if not wanted:
        wanted = {n for n in CHECK_NAMES if n not in HOST_CHECKS or n in set(host)}
    return tuple(n for n in CHECK_NAMES if n in wanted)


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


def store(version: int, expected: int, missing_tables: list[str], damage: list[str] = ()) -> tuple[str, str]:
    """Schema version, tables and integrity of the store against what this traitctl expects.

    :param version: the version recorded in the store (0 when never initialised).
    :param expected: :data:`traitctl.store.db.SCHEMA_VERSION`.
    :param damage: what the integrity check found (``PRAGMA quick_check`` lines, tables that
        cannot be read); empty when sound.
    """
    if damage:
        more = f" (and {len(damage) - 1} more)" if len(damage) > 1 else ""
        return FAIL, f"the store is damaged: {damage[0]}{more}"
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


def workers(beats: list[tuple], max_age: float, orphans: list[int] = ()) -> tuple[str, str]:
    """Worker heartbeats: ``ok`` when a worker is alive, runs jobs, and no running job has lost its worker.

    A live worker whose queue or store does not answer says ``backing-off`` in its heartbeat: alone,
    that is a failure (no job runs); beside a worker that runs jobs, a warning.

    :param beats: ``(worker_id, state, seconds since its last heartbeat, why it is dead or None)``
        per known worker (:func:`traitctl.engine.workers.lost_reason`).
    :param max_age: the heartbeat age limit the reasons were judged by.
    :param orphans: ids of ``running`` jobs whose worker is dead.
    """
    alive = [(w, state) for w, state, _, why in beats if why is None]
    stuck = ""
    if orphans:
        ids = ", ".join(f"#{i}" for i in orphans[:5]) + (f" (and {len(orphans) - 5} more)" if len(orphans) > 5 else "")
        stuck = f"{len(orphans)} running job(s) without a live worker: {ids}"
    waiting = [w for w, state in alive if state == "backing-off"]
    if waiting:
        working = len(alive) - len(waiting)
        names = ", ".join(waiting[:3]) + (" …" if len(waiting) > 3 else "")
        text = f"{len(waiting)} worker(s) backing off, their queue or store does not answer ({names})"
        if not working:
            return FAIL, f"{stuck}; no worker runs jobs: {text}" if stuck else f"no worker runs jobs: {text}"
        return (FAIL, f"{stuck}; {working} worker(s) alive; {text}") if stuck else (
            WARN, f"{working} worker(s) alive; {text}")
    if alive:
        found = f"{len(alive)} worker(s) alive (heartbeat within {max_age:g} s, process running)"
        return (FAIL, f"{stuck}; {found}, recovering them") if stuck else (OK, found)
    if not beats:
        return (FAIL, stuck + "; no worker has reported") if stuck else (
            WARN, "no worker has reported; start one with traitctl worker")
    freshest = min(age for _, _, age, _ in beats)
    why = "; ".join(f"{w}: {reason}" for w, _, _, reason in beats[:3])
    text = f"no live worker: {len(beats)} known, last heartbeat {_age_text(freshest)} ago (limit {max_age:g} s); {why}"
    return FAIL, f"{stuck}; {text}" if stuck else text


def telemetry(newest: dt.datetime | None, now: dt.datetime, limits: Mapping[str, float]) -> tuple[str, str]:
    """Age of the newest telemetry point against the telemetry thresholds."""
    if newest is None:
        return WARN, "no telemetry recorded yet"
    age = max(0.0, (now - newest).total_seconds())
    status = level(age, limits["telemetry_age_warn"], limits["telemetry_age_fail"])
    return status, f"newest point {_age_text(age)} ago"


def server(checks: Iterable[Any]) -> tuple[str, str]:
    """Server checks of :func:`traitctl.engine.serverstats.evaluate` (``warning`` -> ``warn``,
    ``critical`` -> ``fail``), naming each one beyond its threshold."""
    checks = list(checks)
    mapped = {"ok": OK, "warning": WARN, "critical": FAIL}
    status = worst(mapped[c.status] for c in checks)
    issues = [f"{c.subject} {c.value:g} > {c.critical if c.status == 'critical' else c.warning:g} ({c.status})"
              for c in checks if c.status != "ok"]
    if issues:
        return status, "; ".join(issues)
    return OK, f"{len(checks)} resource(s) within thresholds"


def flags(invalid: list[str], breached: list[str], stale: list[str], total: int, guarded: int) -> tuple[str, str]:
    """Flags: a broken definition or a breached guard fails; a stale flag warns.

    :param invalid: problems of flag definitions.
    :param breached: ``"flag: condition"`` per breached guard condition.
    :param stale: ``"flag: why"`` per stale flag.
    """
    if invalid or breached:
        found = invalid + [f"guard breached: {b}" for b in breached]
        return FAIL, "; ".join(found)
    if stale:
        return WARN, f"{len(stale)} stale flag(s): " + "; ".join(stale)
    return OK, f"{total} flag(s), {guarded} guard(s) not breached, none stale"


def caching(configured: bool, seconds: float | None, read_back: bool, ttl_ms: int | None, expected_ms: int,
            limits: Mapping[str, float]) -> tuple[str, str]:
    """The cache probe (write with a TTL, read, delete): ``ok`` when no cache is configured (the cache
    is optional: "not configured" is a state, not a fault, so ``--strict`` passes), ``fail`` when the
    value or its TTL did not come back or the round took longer than ``cache_probe_fail``."""
    if not configured:
        return OK, "not configured (optional: [cache] url or $TRAITCTL_CACHE); nothing to probe"
    if not read_back:
        return FAIL, "the probe key written to the cache did not read back"
    if ttl_ms is None or not 0 < ttl_ms <= expected_ms:
        return FAIL, f"the probe key came back without its TTL (PTTL {ttl_ms})"
    status = level(seconds or 0.0, limits["cache_probe_warn"], limits["cache_probe_fail"])
    return status, f"write, read and delete of a probe key with a TTL took {(seconds or 0.0) * 1000:.1f} ms"


def events(subscribers: list[Mapping[str, Any]], limits: Mapping[str, float]) -> tuple[str, str]:
    """Event delivery per subscriber: ``fail`` when a delivery failed for good or an event older than
    ``events_lag_fail`` is undelivered, ``warn`` past ``events_lag_warn``.

    :param subscribers: ``{"name", "lag_s" (age of the oldest undelivered event or None), "failed"
        (deliveries given up), "undelivered", "last_failure" (text or None)}`` per subscriber.
    """
    if not subscribers:
        return OK, "no event subscribers configured"
    found, statuses = [], []
    for sub in subscribers:
        lag = sub.get("lag_s")
        status = level(lag, limits["events_lag_warn"], limits["events_lag_fail"]) if lag is not None else OK
        if sub.get("failed"):
            status = FAIL
        statuses.append(status)
        if status != OK:
            why = f"{sub['undelivered']} undelivered, oldest {_age_text(lag)} old" if lag is not None else ""
            if sub.get("failed"):
                why = (why + "; " if why else "") + f"{sub['failed']} delivery(ies) failed"
                if sub.get("last_failure"):
                    why += f" (last: {sub['last_failure']})"
            found.append(f"{sub['name']}: {why}")
    if found:
        return worst(statuses), "; ".join(found)
    return OK, f"{len(subscribers)} subscriber(s) up to date"


def _age_text(seconds: float | None) -> str:
    seconds = max(0.0, seconds or 0.0)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"
