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


#: The folder of one-file-per-tenant configuration files (``config/tenants/<id>.toml``).
TENANT_FOLDER = "tenants"


def file_tenant(file: str | None) -> str | None:
    """The tenant whose own file ``file`` is (``…/tenants/acme.toml`` -> ``acme``), else ``None``."""
    if not file:
        return None
    parts = file.replace("\\", "/").rsplit("/", 2)
    if len(parts) < 2 or parts[-2] != TENANT_FOLDER or not parts[-1].endswith(".toml") or parts[-1] == ".toml":
        return None
    return parts[-1][:-len(".toml")]


@dataclass(frozen=True)
class Touched:
    """One key an event changed, where it lives: ``tenant`` (``None``: no tenant's layer) and
    ``key``, the path inside that tenant's table (``("traits", "Cacheable", "ttl")``)."""

    tenant: str | None
    key: tuple[str, ...]
    before: str | None = None
    after: str | None = None

    @property
    def address(self) -> str:
        """The key as one dotted address, the tenant's layer spelled as in the main file."""
        return dotted((TENANT_FOLDER, self.tenant, *self.key) if self.tenant else self.key)


def touched(event: Event) -> list[Touched]:
    """The keys ``event`` changed, each with its tenant: from ``data["changes"]`` when the event
    lists them (a command that changed several keys or files), else its own file and path. A key
    of a tenant's own file (``tenants/<id>.toml``) or under ``tenants.<id>`` of the main file
    belongs to that tenant."""
    changes = [c for c in event.data.get("changes") or () if isinstance(c, dict)]
    entries = [(c.get("file"), c.get("path"), c.get("before"), c.get("after")) for c in changes] or \
        ([(event.file, list(event.path), event.before, event.after)] if event.path else [])
    out = []
    for file, path, before, after in entries:
        if not isinstance(path, (list, tuple)) or not all(isinstance(p, str) for p in path):
            continue
        path, tenant = tuple(path), file_tenant(file if isinstance(file, str) else None)
        if tenant is None and len(path) >= 2 and path[0] == TENANT_FOLDER:
            tenant, path = path[1], path[2:]
        out.append(Touched(tenant, path, before if isinstance(before, str) else None,
                           after if isinstance(after, str) else None))
    return out


def event_tenants(event: Event) -> list[str]:
    """Every tenant an event is about: its ``tenant`` column and the tenants of the keys it
    changed (:func:`touched`; a bulk write across tenants names none in its column)."""
    out = [event.tenant] if event.tenant else []
    for item in touched(event):
        if item.tenant and item.tenant not in out:
            out.append(item.tenant)
    return out


def elide_list(head: str, items: list[str], width: int) -> str:
    """``head`` and ``items`` joined with ", " within ``width`` characters: the items that fit,
    then "…" for the rest (the first item itself cut when even it does not fit)."""
    text = head
    for index, item in enumerate(items):
        piece = ("" if index == 0 else ", ") + item
        rest = index + 1 < len(items)
        if len(text) + len(piece) + (3 if rest else 0) > width:
            if index == 0:
                room = max(1, width - len(text) - 1)
                return text + item[:room] + "…"
            return text + ", …"
        text += piece
    return text


def key_summary(event: Event, width: int = 60) -> str | None:
    """How a listing names the keys of an event that changed several (``None`` for one key or
    none: its path says it): ``traits.Cacheable.ttl in 3 tenants: acme, globex, initech`` for
    one key across tenants, else ``3 keys: traits.Cacheable.ttl, traits.Cacheable.driver, …``;
    elided to ``width`` characters (:func:`elide_list`)."""
    items = touched(event)
    if len(items) < 2:
        return None
    keys = list(dict.fromkeys(dotted(i.key) for i in items))
    tenants = list(dict.fromkeys(i.tenant for i in items if i.tenant))
    if len(keys) == 1 and all(i.tenant for i in items):
        return elide_list(f"{keys[0]} in {len(tenants)} tenants: ", tenants, width)
    addresses = list(dict.fromkeys(i.address for i in items))
    return elide_list(f"{len(addresses)} keys: ", addresses, width)


def value_summary(event: Event, side: str, width: int = 32) -> str:
    """The ``before`` or ``after`` column of a listing: the event's literal (``-`` when absent);
    for an event of several keys, their distinct literals (``60, -``), elided to ``width``."""
    items = touched(event)
    if len(items) < 2:
        value = getattr(event, side)
        return "-" if value is None else value
    values = list(dict.fromkeys("-" if getattr(i, side) is None else getattr(i, side) for i in items))
    return elide_list("", values, width)


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
    if where.tenant is not None and event.tenant != where.tenant and where.tenant not in event_tenants(event):
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
