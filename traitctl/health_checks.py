"""The I/O side of ``traitctl health``: each check measures something real, then asks
:mod:`traitctl.engine.health` what the measurement means.

A check never raises: whatever goes wrong while checking (a refused connection, a corrupt file) is
the finding, reported as ``fail`` with one sentence. Checks that need the store share one
connection per run; when the store cannot be opened they say so instead of retrying.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from traitctl.engine import health as rules
from traitctl.engine.errors import TraitctlError

Finding = tuple[str, str, dict]


class Context:
    """What the checks of one run share: settings (even when the configuration is broken), the
    thresholds, the time, and a lazily opened store.

    :param app: the running :class:`~traitctl.context.App`.
    :param now: naive UTC time of the run (the store keeps naive UTC).
    """

    def __init__(self, app: Any, now: dt.datetime) -> None:
        self.app = app
        self.now = now
        self.config_error: TraitctlError | None = None
        self.settings = self._settings()
        try:
            self.limits = rules.thresholds(self._section("health"))
        except TraitctlError:  # the configuration check reports it; the other checks use the defaults
            self.limits = dict(rules.DEFAULTS)
        self._store: Any = None
        self._store_error: str | None = None

    def _settings(self) -> Any:
        try:
            return self.app.settings
        except TraitctlError as exc:
            # A broken configuration must not hide the state of the store and queue: fall back to
            # the built-in locations beside the file (or report nothing when there is no file).
            self.config_error = exc
            from traitctl import settings

            try:
                path = self.app.config_path
            except TraitctlError:
                return None
            opts = self.app.options
            return settings.resolve(path, {}, self.app.env, store=opts.store, queue=opts.queue)

    def _section(self, name: str) -> dict:
        if self.config_error is not None or self.settings is None:
            return {}
        section = self.app.main_doc().get(name, {})
        return section if isinstance(section, dict) else {}

    def lost_after(self) -> float:
        """``[jobs] lost_after``: how old a heartbeat may be (the default when it cannot be read)."""
        from traitctl.engine import jobs

        try:
            return jobs.parse_jobs_settings(self._section("jobs")).lost_after
        except TraitctlError:
            return jobs.JobsSettings.lost_after

    def sqlite_missing(self) -> Path | None:
        """The embedded store's file when it does not exist yet (opening would create it)."""
        url = self.settings.store_url
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            path = Path(url[len("sqlite:///"):])
            return None if path.exists() else path
        return None

    def store(self) -> Any:
        """The opened store, ``None`` when it does not exist yet; raises ``RuntimeError`` with the
        reason when it cannot be opened (once per run)."""
        if self._store_error:
            raise RuntimeError(self._store_error)
        if self._store is None and self.settings is not None and self.sqlite_missing() is None:
            from traitctl.store.db import Store

            try:
                self._store = Store.open(self.settings.store_url)
            except Exception as exc:  # noqa: BLE001 - any failure is the finding
                self._store_error = "store unavailable: " + _sentence(exc, self.settings.store_url)
                raise RuntimeError(self._store_error) from None
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


def host_checks(app: Any) -> tuple[str, ...]:
    """The host checks ``[health]`` switches on (none when the configuration cannot be read: the
    configuration check reports that)."""
    try:
        section = app.main_doc().get("health", {})
    except TraitctlError:
        return ()
    on = rules.switches(section if isinstance(section, dict) else {})  # a bad switch is exit 2, as a bad threshold
    return tuple(name for name, wanted in on.items() if wanted)


def run(app: Any, names: tuple[str, ...], now: dt.datetime) -> rules.Report:
    """Run the named checks in order and build the report.

    :param names: from :func:`traitctl.engine.health.select`.
    :param now: aware UTC time of the run (the report's timestamp).
    """
    ctx = Context(app, now.astimezone(dt.timezone.utc).replace(tzinfo=None))
    try:
        checks = tuple(_timed(name, CHECKS[name], ctx) for name in names)
    finally:
        ctx.close()
    return rules.Report(rules.overall(checks), checks, now)


def _timed(name: str, fn: Callable[[Context], Finding], ctx: Context) -> rules.Check:
    start = time.perf_counter()
    try:
        status, message, details = fn(ctx)
    except RuntimeError as exc:
        urls = (ctx.settings.store_url, ctx.settings.queue_url) if ctx.settings is not None else ()
        status, message, details = rules.FAIL, _sentence(exc, *urls), {}
    except Exception as exc:  # noqa: BLE001 - a health check reports failures, it does not crash
        urls = (ctx.settings.store_url, ctx.settings.queue_url) if ctx.settings is not None else ()
        status, message, details = rules.FAIL, _sentence(exc, *urls), {"error": type(exc).__name__}
    return rules.Check(name, status, message, (time.perf_counter() - start) * 1000, details)


def _sentence(exc: BaseException, *urls: str) -> str:
    """The first line of an error, with every password (of any URL in it, and of ``urls``) hidden."""
    from traitctl.settings import redact

    text = (getattr(exc, "message", None) or str(exc)).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return redact(line, *urls)


def _blocked(path: Path) -> Path | None:
    """The nearest existing parent of a file not created yet, when it is not a folder (a file
    ``.traitctl`` where the store's folder must be); ``None`` otherwise."""
    for parent in path.parents:
        if parent.exists():
            return None if parent.is_dir() else parent
    return None


def _no_settings(ctx: Context) -> Finding | None:
    if ctx.settings is None:
        return rules.FAIL, f"no configuration: {ctx.config_error.message if ctx.config_error else 'not found'}", {}
    return None


# -- the checks ------------------------------------------------------------------------------------
def check_configuration(ctx: Context) -> Finding:
    """Parse the main file and every tenant file, then validate every section as ``traitctl config
    validate --no-source`` does."""
    if ctx.config_error is not None:
        return rules.FAIL, ctx.config_error.message, {}
    from traitctl import validation_service

    cfg = ctx.app.config(tenants="all")
    lines = [finding.text() for finding in validation_service.check(ctx.app)]
    files = 1 + sum(1 for t in cfg.tenants.values() if t.prefix == ())
    status, message = rules.configuration(lines, files)
    return status, message, {"files": files, "problems": lines}


def check_store(ctx: Context) -> Finding:
    """Connect, compare the schema version and tables, and write then read a row in a transaction
    that is rolled back (so the check leaves nothing behind)."""
    missing = _no_settings(ctx)
    if missing:
        return missing
    from traitctl.settings import redact_url

    url = ctx.settings.store_url
    details = {"url": redact_url(url)}
    absent = ctx.sqlite_missing()
    if absent is not None and _blocked(absent):
        return rules.FAIL, f"cannot be created at {absent}: {_blocked(absent)} is a file, not a folder", details
    if absent is not None:
        return rules.WARN, f"not created yet at {absent} (the first traitctl write creates it)", details
    try:
        version, missing_tables, damage = _probe(url)
    except Exception as exc:  # noqa: BLE001 - a refused connection is the finding
        return rules.FAIL, f"cannot use the store at {redact_url(url)}: {_sentence(exc, url)}", details
    from traitctl.store.db import SCHEMA_VERSION, newer_schema_message

    status, message = rules.store(version, SCHEMA_VERSION, missing_tables, damage)
    if not damage and version > SCHEMA_VERSION:  # the sentence every other command refuses with
        message = newer_schema_message(url, version)
    details.update(schema_version=version, expected_version=SCHEMA_VERSION, missing_tables=missing_tables,
                   integrity=damage or "ok")
    return status, message, details


def _probe(url: str) -> tuple[int, list[str], list[str]]:
    import uuid

    from traitctl.store.db import Store, connect

    db = connect(url)
    store = Store(db, url)  # not Store.open: that would create tables and upgrade the schema
    try:
        db.connect()
        damage = _store_damage(url, db, store)
        if damage:  # the reads below may fail on the damaged pages: the damage is the finding
            return 0, [], damage
        present = set(db.get_tables())
        wanted = sorted(m._meta.table_name for m in store.models())
        if "traitctl_meta" not in present:
            return 0, [t for t in wanted if t not in present], []
        Meta, token = store._meta, uuid.uuid4().hex
        with db.atomic() as txn:
            Meta.insert(key=f"health-probe-{token[:8]}", value=token).execute()
            read = Meta.get(Meta.key == f"health-probe-{token[:8]}").value
            txn.rollback()
        if read != token:
            raise RuntimeError("a row written in a transaction read back different")
        return store.schema_version(), [t for t in wanted if t not in present], []
    finally:
        db.close()


def _store_damage(url: str, db: Any, store: Any) -> list[str]:
    """Damaged pages: ``PRAGMA quick_check`` of a SQLite file (read-only); on a server, one cheap
    read of every table (a damaged table fails it)."""
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        return [] if path == ":memory:" else sqlite_damage(Path(path))
    if not url.startswith("sqlite"):
        present = set(db.get_tables())
        damage = []
        for table in sorted(m._meta.table_name for m in store.models() if m._meta.table_name in present):
            try:
                with db.atomic():  # a savepoint: one failed read must not abort the others
                    db.execute_sql(f"SELECT 1 FROM {table} LIMIT 1")
            except Exception as exc:  # noqa: BLE001 - the failure is the finding
                damage.append(f"{table}: {_sentence(exc, url)}")
        return damage
    return []


#: seconds a process reuses a file's ``quick_check`` answer: it reads every page (about a second
#: per few GB), so a long-running process (``traitctl serve`` polling /health) checks at most this often.
INTEGRITY_EVERY = 300.0
_integrity: dict[str, tuple[float, list[str]]] = {}


def sqlite_damage(path: Path, limit: int = 5) -> list[str]:
    """What ``PRAGMA quick_check`` finds wrong in the SQLite file at ``path``, opened read-only
    (at most ``limit`` lines; empty when the file is sound). A process reuses the answer for
    :data:`INTEGRITY_EVERY` seconds."""
    import time

    key = str(path.resolve())
    now = time.monotonic()
    cached = _integrity.get(key)
    if cached is not None and now - cached[0] < INTEGRITY_EVERY:
        return cached[1]
    found = _quick_check(path, limit)
    _integrity[key] = (now, found)
    return found


def _quick_check(path: Path, limit: int) -> list[str]:
    import sqlite3

    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        return [f"cannot open {path}: {exc}"]
    try:
        rows = con.execute(f"PRAGMA quick_check({int(limit)})").fetchall()
    except sqlite3.DatabaseError as exc:  # "file is not a database", "database disk image is malformed"
        return [str(exc)]
    finally:
        con.close()
    found = [str(row[0]) for row in rows]
    return [] if found == ["ok"] else found


def check_history(ctx: Context) -> Finding:
    """Events are being recorded: how many, and the newest."""
    store = _store_or_none(ctx)
    if isinstance(store, tuple):
        return store
    count = store.events.count()
    newest = store.events.list(limit=1)
    ts = _naive(newest[0].ts) if newest else None
    status, message = rules.history(count, ts, ctx.now)
    return status, message, {"events": count, "newest": ts.isoformat() if ts else None}


def _store_or_none(ctx: Context) -> Any:
    missing = _no_settings(ctx)
    if missing:
        return missing
    store = ctx.store()
    if store is None:
        return rules.WARN, "no store yet (the first traitctl write creates it)", {}
    return store


def check_queue(ctx: Context) -> Finding:
    """Reach the queue; pending jobs and the oldest one's wait against the thresholds."""
    missing = _no_settings(ctx)
    if missing:
        return missing
    from traitctl.jobs import queue as job_queue
    from traitctl.settings import redact_url

    url = ctx.settings.queue_url
    details: dict[str, Any] = {"url": redact_url(url)}
    if url.startswith("sqlite:///") and _blocked(Path(url[len("sqlite:///"):])):
        where = url[len("sqlite:///"):]
        return rules.FAIL, f"cannot be created at {where}: {_blocked(Path(where))} is a file, not a folder", details
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
        # opening would create it: an embedded queue nobody has used yet is not broken
        return rules.WARN, f"not created yet at {url[len('sqlite:///'):]} (the first enqueue creates it)", details
    if url.startswith("sqlite:///"):
        damage = sqlite_damage(Path(url[len("sqlite:///"):]))
        if damage:
            details["integrity"] = damage
            return rules.FAIL, f"the queue file is damaged (PRAGMA quick_check): {damage[0]}", details
    try:
        stats = job_queue.stats(url)
    except Exception as exc:  # noqa: BLE001 - an unreachable queue is the finding
        return rules.FAIL, f"cannot reach the queue at {redact_url(url)}: {_sentence(exc, url)}", details
    status, message = rules.queue(stats.pending, stats.oldest_pending_age_s, ctx.limits)
    details.update(backend=stats.backend, pending=stats.pending, scheduled=stats.scheduled,
                   oldest_pending_age_s=stats.oldest_pending_age_s)
    return status, message, details


def check_workers(ctx: Context) -> Finding:
    """At least one live worker, by the rule recovery uses (same host: its pid; any host: a heartbeat
    within ``[jobs] lost_after``), and no ``running`` job whose worker is dead."""
    store = _store_or_none(ctx)
    if isinstance(store, tuple):
        return store
    from traitctl.jobs import liveness

    max_age = ctx.limits["worker_max_age"] if "worker_max_age" in ctx.limits else ctx.lost_after()
    beats = store.workers.list()
    lost = liveness.lost_reasons(beats, ctx.now, max_age)
    ages = [(b.worker_id, b.state, (ctx.now - _naive(b.last_seen)).total_seconds(), lost[b.worker_id])
            for b in beats]
    orphans = _orphaned_jobs(store, lost, ctx.now, max_age)
    status, message = rules.workers(ages, max_age, orphans)
    details = {"workers": [{"id": w, "state": s, "age_s": round(a, 1), "alive": why is None, "lost": why}
                           for w, s, a, why in ages],
               "lost_after": max_age, "orphaned_jobs": orphans}
    return status, message, details


def _orphaned_jobs(store: Any, lost: dict[str, str | None], now: dt.datetime, max_age: float) -> list[int]:
    """Ids of ``running`` jobs whose worker is dead (a worker that claimed a job before its first
    heartbeat gets ``max_age`` seconds, as recovery gives it)."""
    orphans = []
    for job in store.jobs.running():
        if job.worker in lost:
            dead = lost[job.worker] is not None
        else:
            dead = not job.started or (now - _naive(job.started)).total_seconds() >= max_age
        orphans += [job.id] if dead else []
    return sorted(orphans)


def check_telemetry(ctx: Context) -> Finding:
    """The newest telemetry point is recent enough."""
    store = _store_or_none(ctx)
    if isinstance(store, tuple):
        return store
    metrics = getattr(store, "metrics", None)
    if metrics is None:
        return rules.WARN, "not available: the telemetry store (metrics) is not part of this build yet", {}
    newest = metrics.newest_point_time()
    newest = _naive(newest) if newest is not None else None
    status, message = rules.telemetry(newest, ctx.now, ctx.limits)
    return status, message, {"newest": newest.isoformat() if newest else None}


def check_flags(ctx: Context) -> Finding:
    """Flag definitions valid, no guard breached now, no stale flag (as ``flags stale`` sees it)."""
    if ctx.config_error is not None or ctx.settings is None:
        return rules.FAIL, "flags cannot be read: the configuration is broken", {}
    from traitctl import flags_service
    from traitctl.engine import flags as engine
    from traitctl.engine.errors import TraitctlError

    try:
        flags = flags_service.load(ctx.app.main_doc())
    except TraitctlError as exc:
        return rules.FAIL, exc.message, {}
    store = _store_or_none(ctx)
    store = None if isinstance(store, tuple) else store
    breached, stale, guarded = [], [], 0
    for flag in flags.values():
        result = flags_service.check_guard(store, flag, ctx.now) if flag.guard else None
        guarded += result is not None
        breached += [f"{flag.name}: {c}" for c in (result.breached if result else ())]
        last = _last_flag_change(store, flag)
        why = engine.is_stale(flag, last, ctx.now, int(ctx.limits["flag_stale_days"]))
        stale += [f"{flag.name}: {why}"] if why else []
    status, message = rules.flags([], breached, stale, len(flags), guarded)
    return status, message, {"flags": len(flags), "breached": breached, "stale": stale}


def _last_flag_change(store: Any, flag: Any) -> dt.datetime | None:
    from traitctl.engine import flags as engine

    events = store.events.list(path_prefix=("flags", flag.name), limit=1) if store is not None else []
    return _naive(events[0].ts) if events else engine.created_at(flag)


def check_server(ctx: Context) -> Finding:
    """CPU, memory, disks and load per core against the seeds' thresholds (``[telemetry.server]``,
    shared with ``traitctl metrics server``)."""
    from traitctl.engine import serverstats

    section = ctx._section("telemetry").get("server")
    checks = serverstats.evaluate(_server_snapshot(), serverstats.thresholds_from(section))
    status, message = rules.server(checks)
    details = {f"{c.name}:{c.subject}": {"value": c.value, "status": c.status} for c in checks}
    return status, message, details


def _server_snapshot() -> dict:
    import os

    import psutil

    disks = []
    for part in psutil.disk_partitions(all=False):
        try:
            disks.append({"mount": part.mountpoint, "percent": psutil.disk_usage(part.mountpoint).percent})
        except OSError:  # unreadable or vanished mounts say nothing about this host's health
            continue
    try:
        load = list(os.getloadavg())
    except (AttributeError, OSError):
        load = []
    return {"cpu": {"percent": psutil.cpu_percent(interval=0.2), "cores": psutil.cpu_count() or 1, "load": load},
            "memory": {"percent": psutil.virtual_memory().percent}, "disks": disks}


def check_caching(ctx: Context) -> Finding:
    """The configured cache (``$TRAITCTL_CACHE`` or ``[cache] url``) answers a write with a TTL, a
    read and a delete of a probe key within ``[health] cache_probe_fail`` seconds."""
    if ctx.config_error is not None or ctx.settings is None:
        return rules.FAIL, "the cache cannot be named: the configuration is broken", {}
    from traitctl import cache_service
    from traitctl.engine import cache as scheme
    from traitctl.settings import redact_url
    from traitctl.store.cache import CacheError, CacheStore

    url = cache_service.cache_url(ctx.app, None)
    if url is None:
        status, message = rules.caching(False, None, False, None, 0, ctx.limits)
        return status, message, {"url": None, "configured": False}
    prefix = scheme.prefix_of(ctx._section("cache"))
    details: dict[str, Any] = {"url": redact_url(url), "prefix": prefix, "configured": True}
    ttl_ms = 60_000
    start = time.perf_counter()
    try:
        store = CacheStore(url, timeout=max(0.2, ctx.limits["cache_probe_fail"]))
        try:
            read_back, left = store.probe(f"{prefix}traitctl-health-probe:{uuid_hex()}", ttl_ms)
        finally:
            store.close()
    except CacheError as exc:
        return rules.FAIL, f"cannot use the cache at {redact_url(url)}: {_sentence(exc, url)}", details
    seconds = time.perf_counter() - start
    status, message = rules.caching(True, seconds, read_back, left, ttl_ms, ctx.limits)
    details.update(probe_ms=round(seconds * 1000, 2), ttl_ms=left)
    return status, message, details


def uuid_hex() -> str:
    import uuid

    return uuid.uuid4().hex[:16]


def check_events(ctx: Context) -> Finding:
    """Per ``[[events.subscribers]]`` entry: undelivered events (not dispatched yet, or whose
    delivery job has not succeeded), the oldest one's age and the last failed delivery."""
    if ctx.config_error is not None or ctx.settings is None:
        return rules.FAIL, "subscribers cannot be read: the configuration is broken", {}
    from traitctl.engine import jobs as job_rules

    section = ctx._section("events")
    try:
        subscribers = job_rules.parse_subscribers(section)
    except TraitctlError as exc:
        return rules.FAIL, exc.message, {}
    if not subscribers:
        status, message = rules.events([], ctx.limits)
        return status, message, {"subscribers": {}, "configured": False}
    store = _store_or_none(ctx)
    if isinstance(store, tuple):
        return store
    rows = _event_delivery(store, subscribers, ctx.now)
    status, message = rules.events(rows, ctx.limits)
    return status, message, {"subscribers": {r["name"]: {k: v for k, v in r.items() if k != "name"} for r in rows},
                             "cursor": store.jobs.cursor("events")}


def _event_delivery(store: Any, subscribers: list, now: dt.datetime, limit: int = 5000) -> list[dict]:
    from traitctl.engine.jobs import SUCCEEDED, FAILED
    from traitctl.jobs.delivery import CURSOR

    cursor = store.jobs.cursor(CURSOR)
    R = store.jobs.Row
    jobs = list(R.select(R.key, R.state, R.error, R.finished, R.data).where(
        (R.operation == "deliver") & R.key.startswith("deliver:")
        & ((R.state != SUCCEEDED) | R.error.is_null(False))).order_by(R.id.desc()).limit(limit).tuples())
    E = store.events.Row
    pending_events = [] if cursor is None else list(
        E.select(E.id, E.kind, E.ts, E.data).where(E.id > cursor).order_by(E.id).limit(limit).tuples())
    out = []
    for sub in subscribers:
        undelivered: set[int] = set()
        failed, last_failure = 0, None
        for key, state, error, finished, _data in jobs:
            event_id, _, name = key[len("deliver:"):].partition(":")
            if name != sub.name:
                continue
            if error and last_failure is None:
                last_failure = {"event": int(event_id), "error": error.strip().splitlines()[-1][:200] if error.strip()
                                else error, "at": _naive(finished).isoformat() if finished else None}
            if state != SUCCEEDED:
                undelivered.add(int(event_id))
                failed += state == FAILED
        for event_id, kind, _ts, data in pending_events:
            if sub.wants(kind) and '"delivery"' not in (data or ""):
                undelivered.add(event_id)
        oldest = None
        if undelivered:
            first = store.events.get(min(undelivered))
            oldest = max(0.0, (now - _naive(first.ts)).total_seconds()) if first is not None else None
        out.append({"name": sub.name, "undelivered": len(undelivered), "failed": failed,
                    "lag_s": None if oldest is None else round(oldest, 1),
                    "last_failure": last_failure["error"] if last_failure else None,
                    "last_failure_event": last_failure["event"] if last_failure else None,
                    "last_failure_at": last_failure["at"] if last_failure else None})
    return out


def _naive(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is not None:
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


CHECKS: dict[str, Callable[[Context], Finding]] = {
    "configuration": check_configuration, "store": check_store, "history": check_history,
    "queue": check_queue, "workers": check_workers, "telemetry": check_telemetry,
    "flags": check_flags, "caching": check_caching, "events": check_events, "server": check_server,
}
