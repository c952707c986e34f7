"""The JSON document behind each page (served as-is under ``/api/…``), built from the middle-tier
functions the CLI's ``--json`` uses: a page is a view of its document.

Each function takes the server's :class:`~traitctl.context.App` (configuration re-read per request)
and plain parameters; domain errors (:class:`~traitctl.engine.errors.TraitctlError`) propagate.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from traitctl.engine.errors import InputError, NotFound

#: Charts drawn on the metrics page at most (one per metric name).
MAX_CHARTS = 24
#: Points per chart: the window is cut into this many intervals.
CHART_INTERVALS = 60


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def health(app: Any) -> dict:
    """``traitctl health --json``: ``{status, checks, timestamp}``."""
    from traitctl import health_checks
    from traitctl.engine import health as rules

    return health_checks.run(app, rules.select([]), dt.datetime.now(dt.timezone.utc)).as_json()


def _inventory(app: Any, tenant: str | None = None) -> tuple[Any, Any]:
    from traitctl.engine.config import check_tenant_id
    from traitctl.engine.inventory.audit import audit
    from traitctl.scan import scan_for_app

    if tenant:
        check_tenant_id(tenant)
    inv = scan_for_app(app, [])
    cfg = app.config(tenants={tenant} if tenant else None)
    from traitctl.validation_service import require_tenant

    require_tenant(cfg, tenant)
    return inv, audit(inv, cfg, tenant)


def overview(app: Any) -> dict:
    """Health checks, counts, flags rolling out and recent changes."""
    from traitctl import flags_service
    from traitctl.engine.inventory import report

    now = utcnow()
    inv, aud = _inventory(app)
    store = app.store()
    flags = flags_service.list_document(store, app.main_doc(), now)["flags"]
    jobs = store.jobs.count_by_state()
    live = [b for b in store.workers.list() if b.alive(now, 30.0)]
    counts = {"traits": report.summary(inv, aud)["traits"], "models": len(inv.models),
              "tenants": len(app.config("all").tenants), "flags": len(flags),
              "jobs_queued": jobs.get("queued", 0), "jobs_running": jobs.get("running", 0),
              "jobs_failed": jobs.get("failed", 0), "workers_live": len(live)}
    return {"health": health(app), "counts": counts,
            "rolling_out": [f for f in flags if f["state"] == "partial" or f["next_step"]],
            "recent_changes": [_event(e) for e in store.events.list(limit=10)]}


def traits(app: Any, tenant: str | None = None) -> dict:
    """``traitctl inventory --json`` (traits, models, audit) with the tenants to choose from."""
    from traitctl.engine.inventory import report

    inv, aud = _inventory(app, tenant)
    doc = report.document(inv, aud)
    doc["tenant"] = tenant
    doc["tenants"] = sorted(app.config("all").tenants)
    return doc


def trait(app: Any, name: str, tenant: str | None = None) -> dict:
    """``traitctl inventory --trait NAME --json`` plus ``config explain`` of each configured key."""
    from traitctl import config_service
    from traitctl.engine import config as engine
    from traitctl.engine.inventory import details

    inv, aud = _inventory(app, tenant)
    found = inv.trait(name)
    if found is None:
        raise NotFound("trait", name, [t.fqn for t in inv.traits + inv.vendor_traits])
    doc = details.trait_detail(inv, aud, found)
    cfg = app.config(tenants={tenant} if tenant else None)
    configured = doc["trait"].get("config")
    keys = sorted(engine.effective(cfg, configured, None, tenant)) if configured in cfg.traits else []
    doc["explain"] = {key: config_service.explain_document(cfg, configured, None, tenant, key) for key in keys
                      if engine.effective(cfg, configured, None, tenant)[key].found}
    doc["tenant"] = tenant
    doc["tenants"] = sorted(app.config("all").tenants)
    return doc


def model(app: Any, name: str, tenant: str | None = None) -> dict:
    """``traitctl inventory --model NAME --json``: traits, adaptations, overrides, settings."""
    from traitctl.engine.inventory import details

    inv, aud = _inventory(app, tenant)
    found = inv.model(name)
    if found is None:
        raise NotFound("model", name, [m.fqn for m in inv.models])
    doc = details.model_detail(inv, aud, found)
    doc["tenant"] = tenant
    doc["tenants"] = sorted(app.config("all").tenants)
    return doc


def flags(app: Any) -> dict:
    """``traitctl flags list --json``, each flag with its settings, overrides and guard evidence."""
    from traitctl import flags_service

    now = utcnow()
    store = app.store()
    doc = flags_service.list_document(store, app.main_doc(), now)
    loaded = flags_service.load(app.main_doc())
    for row in doc["flags"]:
        flag = loaded[row["name"]]
        row["settings"] = flags_service.flag_json(flag)
        row["overrides_active"] = [_override(o) for o in store.flag_overrides.list(flag.name, now=now)]
        guard = flags_service.check_guard(store, flag, now)
        row["guard_result"] = None if guard is None else _guard(guard)
    doc["tenants"] = sorted(app.config("all").tenants)
    return doc


def evaluate(app: Any, name: str, user: str | None, tenant: str | None) -> dict:
    """``traitctl flags eval NAME --user U --tenant T --explain --json``."""
    from traitctl import flags_service
    from traitctl.engine import flags as engine

    flag = flags_service.get(app.main_doc(), name)
    active = app.store().flag_overrides.active(name, now=utcnow())
    result = engine.evaluate(flag, engine.Context(user=user or None, tenant=tenant or None), active)
    return flags_service.evaluation_json(result)


def jobs(app: Any) -> dict:
    """Job counts (``jobs stats``), queue depth per queue, running and failed jobs (with error and
    output tail) and worker heartbeats (``metrics workers``)."""
    from traitctl import metrics_service
    from traitctl.engine.jobs import parse_jobs_settings
    from traitctl.jobs import queue as job_queue
    from traitctl.jobs.service import job_document
    from traitctl.settings import redact_url

    now = utcnow()
    store = app.store()
    beats = store.workers.list()
    configured = parse_jobs_settings(app.config().section("jobs")).queue
    names = sorted({configured} | {b.queue for b in beats})
    return {"states": store.jobs.count_by_state(), "last_hour": store.jobs.throughput(now - dt.timedelta(hours=1)),
            "queue_url": redact_url(app.settings.queue_url),
            "queues": [_plain(job_queue.stats(app.settings.queue_url, n, now)) for n in names],
            "running": [job_document(j) for j in store.jobs.list(state="running", limit=50)],
            "failed": [job_document(j) for j in store.jobs.list(state="failed", limit=50)],
            "recent": [job_document(j) for j in store.jobs.list(limit=20)],
            **metrics_service.workers_document(beats, now, parse_jobs_settings(app.config().section("jobs")).lost_after)}


def metrics(app: Any, since: str = "1h", trait: str | None = None) -> dict:
    """``traitctl metrics --json`` over ``since``, with a chart per metric: its interval values
    and, when there are enough, the ``metrics trends --json`` analysis (trend line, forecast)."""
    from traitctl import metrics_service

    now = time.time()
    start = metrics_service.since(since, now)
    if start >= now:
        raise InputError(f"since {since!r} is not in the past.")
    repo = app.store().metrics
    doc = metrics_service.dashboard_document(repo, start, now, trait=trait)
    period = now - start
    step = max(1.0, round(period / CHART_INTERVALS))
    doc["since_text"] = since
    doc["store_url"] = _redacted_store(app)
    doc["charts"] = [_chart(repo, name, now, period, step) for name in repo.names()[:MAX_CHARTS]]
    return doc


def _chart(repo: Any, name: str, now: float, period: float, step: float) -> dict:
    from traitctl import metrics_service
    from traitctl.engine.errors import TraitctlError

    series = metrics_service.series_of(repo, name, {})
    points, any_point = metrics_service.interval_points(repo, series, name, now, period, step)
    trend = None
    if any_point:
        try:
            trend = metrics_service.trends_document(repo, name, now, period=period, interval=step)
        except TraitctlError:  # too few points for a line: the chart is drawn without one
            trend = None
    return {"name": name, "kind": series[0].kind, "interval_seconds": step,
            "points": [{"ts": t, "value": v} for t, v in points] if any_point else [], "trend": trend}


def history(app: Any, *, trait: str | None = None, tenant: str | None = None, kind: str | None = None,
            since: str | None = None, limit: int = 50) -> dict:
    """``traitctl history --json`` with the same filters (job events only when ``kind`` asks)."""
    from traitctl.history_service import history_filter, list_events

    where = history_filter(kinds=[kind] if kind else None, trait=trait or None, tenant=tenant or None,
                           since=since or None, now=utcnow())
    events = list_events(app, where, limit=limit)
    return {"events": [_event(e) for e in events],
            "filters": {"trait": trait, "tenant": tenant, "kind": kind, "since": since, "limit": limit}}


def _event(e: Any) -> dict:
    from traitctl.output import to_jsonable

    doc = to_jsonable(e)
    doc["target"] = e.target
    from traitctl.history_service import OVERRIDE_KINDS

    doc["can_rollback"] = (bool(e.file) and (bool(e.path) or bool(e.data.get("file_created") or e.data.get("file_deleted")
                                                                  or e.data.get("changes")))
                           or (not e.file and e.kind in OVERRIDE_KINDS))
    return doc


def _override(o: Any) -> dict:
    return {"user": o.subject, "on": o.on, "expires": o.expires, "created": o.created, "actor": o.actor}


def _guard(result: Any) -> dict:
    from traitctl.output import to_jsonable

    return to_jsonable(result)


def _plain(obj: Any) -> dict:
    from traitctl.output import to_jsonable

    return to_jsonable(obj)


def _redacted_store(app: Any) -> str:
    from traitctl.settings import redact_url

    return redact_url(app.settings.store_url)
