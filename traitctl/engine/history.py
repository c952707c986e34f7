"""History events: what every write records (who, when, what, before, after)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    """One recorded change or transition.

    ``before`` and ``after`` are TOML literals (``42``, ``"text"``, ``[1, 2]``) or ``None`` when the
    value was absent, so that a rollback can write back exactly the type it read.

    :param kind: dotted name, e.g. ``config.set``, ``config.unset``, ``tenant.add``, ``flag.set``,
        ``job.failed``, ``rollback``.
    :param path: the key path inside ``file`` (``("traits", "HasUuid", "version")``).
    :param reverts: the id of the event a rollback undid.
    """

    id: int
    ts: dt.datetime
    actor: str
    command: str
    kind: str
    file: str | None = None
    path: tuple[str, ...] = ()
    before: str | None = None
    after: str | None = None
    trait: str | None = None
    model: str | None = None
    tenant: str | None = None
    reverts: int | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def target(self) -> str:
        return " -> ".join(self.path)


# -- what a listing shows ------------------------------------------------------------------------
#: Kinds of job events: a listing shows them only when asked (``--kind 'job.*'`` or ``--all``).
JOB_KIND_PREFIX = "job."

#: The columns of ``traitctl history export``, in order. Stable: new columns are only ever added
#: at the end, and none is renamed or removed.
EXPORT_COLUMNS = ("id", "time", "actor", "command", "kind", "keys", "before", "after", "trait", "model",
                  "tenant", "job")


@dataclass(frozen=True)
class Filter:
    """What ``traitctl history`` lists (every field optional; all given ones must match).

    :param kinds: globs on the kind (``config.*``, ``job.failed``); any one matching suffices.
    :param everything: job events too without naming them in ``kinds``.
    :param key: a glob on the dotted key path (``traits.HasUuid.version``, ``flags.beta*``); it may
        also match the path's tail (``version``).
    :param model: the model's FQN or its short name (``Post`` for ``App\\Models\\Post``).
    :param since: at or after (naive UTC). :param until: before (naive UTC).
    """

    kinds: tuple[str, ...] = ()
    everything: bool = False
    actor: str | None = None
    trait: str | None = None
    model: str | None = None
    tenant: str | None = None
    key: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    @property
    def hides_jobs(self) -> bool:
        """Job events are left out unless ``--all`` or a ``--kind`` that can match one."""
        return not self.everything and not any(_may_match_job(k) for k in self.kinds)


def _may_match_job(pattern: str) -> bool:
    from fnmatch import fnmatchcase

    return pattern.startswith(("job", "*", "?", "[")) or fnmatchcase("job.x", pattern)


def event_paths(event: Event) -> list[tuple[str, ...]]:
    """Every key path an event changed: its ``path``, and the paths of ``data["changes"]`` (an
    event of one command that changed several keys), without repeats."""
    out = [event.path] if event.path else []
    for change in event.data.get("changes") or ():
        extra = change.get("path") if isinstance(change, dict) else None
        if isinstance(extra, (list, tuple)) and all(isinstance(p, str) for p in extra) and tuple(extra) not in out:
            out.append(tuple(extra))
    return out


def dotted(path: tuple[str, ...]) -> str:
    return ".".join(path)


def key_matches(paths: list[tuple[str, ...]], pattern: str) -> bool:
    """True when ``pattern`` (a glob) matches one of ``paths`` written dotted, whole or a tail of it."""
    from fnmatch import fnmatchcase

    return any(fnmatchcase(dotted(path[i:]), pattern) for path in paths for i in range(len(path)))


def short_name(model: str) -> str:
    return model.replace("\\", ".").rsplit(".", 1)[-1]


def matches(event: Event, where: Filter) -> bool:
    """True when ``event`` passes every filter of ``where``."""
    from fnmatch import fnmatchcase

    if where.kinds and not any(fnmatchcase(event.kind, k) for k in where.kinds):
        return False
    if where.hides_jobs and event.kind.startswith(JOB_KIND_PREFIX):
        return False
    if where.actor is not None and not fnmatchcase(event.actor, where.actor):
        return False
    if where.trait is not None and event.trait != where.trait:
        return False
    if where.tenant is not None and event.tenant != where.tenant:
        return False
    if where.model is not None and (event.model is None or where.model not in (event.model, short_name(event.model))):
        return False
    if where.key is not None and not key_matches(event_paths(event), where.key):
        return False
    if where.since is not None and event.ts < where.since:
        return False
    return where.until is None or event.ts < where.until


def job_id(event: Event) -> int | None:
    """The job a job event is about (``data["job"]``)."""
    value = event.data.get("job") if event.kind.startswith(JOB_KIND_PREFIX) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def export_row(event: Event, redact: Any) -> dict[str, Any]:
    """One event as a row of the audit export (:data:`EXPORT_COLUMNS`). ``time`` is ISO 8601 UTC
    (``2026-11-01T10:00:00.123456Z``); ``keys`` the dotted key paths, ``; ``-separated; ``before`` and
    ``after`` the TOML literals (empty when absent); the command goes through ``redact``.
    """
    return {"id": event.id, "time": event.ts.isoformat(timespec="microseconds") + "Z", "actor": event.actor,
            "command": redact(event.command), "kind": event.kind,
            "keys": "; ".join(dotted(p) for p in event_paths(event)),
            "before": event.before, "after": event.after, "trait": event.trait, "model": event.model,
            "tenant": event.tenant, "job": job_id(event)}


# -- retention -----------------------------------------------------------------------------------
#: Days job events are kept when ``[history] retention_days`` is not set.
DEFAULT_RETENTION_DAYS = 14


def retention_days(section: Any) -> int:
    """``[history] retention_days``: how long job events are kept (configuration events are kept
    until ``history purge``).

    :raises InputError: naming the key for anything but a whole number of at least 1.
    """
    from collections.abc import Mapping

    from traitctl.engine.errors import InputError

    days = section.get("retention_days") if isinstance(section, Mapping) else None
    if days is None:
        return DEFAULT_RETENTION_DAYS
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 36500:
        import json

        raise InputError(f"history -> retention_days: must be a whole number of days from 1 to 36500, not "
                         f"{json.dumps(days, default=str)}")
    return days
