"""The ``audit`` and ``cleanup`` operations: what each checks or removes, with what exists.

``audit`` reports (it changes nothing): schema violations in the trait's settings, a configured
trait the code no longer has, model overrides for models that no longer use the trait (from the inventory, when it can scan), overrides in the
store for tenants that no longer exist, and flags that name the trait but are stale.
``cleanup`` removes expired flag overrides, telemetry past ``[telemetry] retention``, job records
past ``[jobs] retention_days``, job events in the history past ``[history] retention_days`` and
old worker heartbeats.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any


def run(app: Any, trait: str | None, now: dt.datetime) -> dict:
    """Audit one trait (or every configured trait when ``trait`` is ``None``).

    :returns: ``{"traits": [...], "findings": [{"check", "trait", "where", "message"}], "skipped": [...]}``.
    """
    cfg = app.config(tenants="all")
    traits = [trait] if trait else sorted(cfg.traits)
    findings: list[dict] = []
    skipped: list[str] = []
    findings += _schema_findings(cfg, set(traits))
    inventory = _inventory(app, skipped)
    for name in traits:
        if inventory is not None:
            findings += _not_in_code(name, inventory) + _unused_overrides(cfg, name, inventory)
        findings += _stale_flags(app, name, now, skipped)
    findings += _unknown_tenants(app, cfg, now, skipped)
    return {"traits": traits, "findings": findings, "count": len(findings), "skipped": sorted(set(skipped))}


def _finding(check: str, trait: str | None, where: str, message: str) -> dict:
    return {"check": check, "trait": trait, "where": where, "message": message}


def _trait_of_path(path: tuple[str, ...]) -> str | None:
    """The trait a problem's key path is about (``traits -> T``, ``models -> M -> T``, tenants …)."""
    parts = list(path)
    if parts[:1] == ["tenants"]:
        parts = parts[2:]
    if parts[:1] == ["traits"] and len(parts) > 1:
        return parts[1]
    if parts[:1] == ["models"] and len(parts) > 2:
        return parts[2]
    return None


def _schema_findings(cfg: Any, traits: set[str]) -> list[dict]:
    from traitctl.engine.config import validate

    out = []
    for problem in validate(cfg):
        trait = _trait_of_path(problem.path)
        if trait in traits:
            out.append(_finding("schema", trait, f"{problem.file}: {problem.location}", problem.message))
    return out


def _inventory(app: Any, skipped: list[str]) -> Any:
    try:
        from traitctl.scan import scan_for_app

        return scan_for_app(app)
    except ImportError:
        skipped.append("models (the inventory is not part of this build)")
    except Exception as exc:  # noqa: BLE001 - a source tree that cannot be scanned skips this check only
        skipped.append(f"models (the source could not be scanned: {exc})")
    return None


def _not_in_code(trait: str, inventory: Any) -> list[dict]:
    """A configured trait that no scanned class declares or uses."""
    if inventory.trait(trait) is not None or any(v.name == trait for v in inventory.vendor_traits):
        return []
    return [_finding("code", trait, f"traits -> {trait}", f"{trait} is configured but the source neither declares "
                                                           "nor uses it")]


def _unused_overrides(cfg: Any, trait: str, inventory: Any) -> list[dict]:
    """Overrides ``[models.'M'.T]`` for a model the code no longer has, or that no longer uses T."""
    out = []
    for model, by_trait in cfg.models.items():
        if not isinstance(by_trait, Mapping) or trait not in by_trait:
            continue
        info = inventory.model(model)
        if info is None:
            out.append(_finding("models", trait, f"models -> {model} -> {trait}",
                                f"override for model {model!r}, which the source no longer declares"))
        elif not any(t.rsplit("\\", 1)[-1].rsplit(".", 1)[-1] == trait for t in info.traits):
            out.append(_finding("models", trait, f"models -> {model} -> {trait}",
                                f"override for model {model!r}, which no longer uses {trait}"))
    return out


def _stale_flags(app: Any, trait: str, now: dt.datetime, skipped: list[str]) -> list[dict]:
    """Flags grouped under the trait (``group = T``) or named after it that expired, or are temporary
    and fully on or off with no schedule left."""
    try:
        from traitctl import flags_service

        flags = flags_service.load(app.main_doc())
    except ImportError:
        skipped.append("flags (not part of this build)")
        return []
    out = []
    for flag in flags.values():
        if flag.group != trait and trait.lower() not in flag.name.lower():
            continue
        expired = _expired(flag.expires, now)
        settled = flag.temporary and not flag.schedule and flag.effective_percentage in (0, 100)
        if expired or settled:
            why = f"expired on {flag.expires}" if expired else f"temporary and at {flag.effective_percentage}% with no schedule"
            out.append(_finding("flags", trait, f"flags -> {flag.name}", f"flag {flag.name!r} is stale: {why}"))
    return out


def _expired(expires: Any, now: dt.datetime) -> bool:
    if isinstance(expires, dt.datetime):
        value = expires.astimezone(dt.timezone.utc).replace(tzinfo=None) if expires.tzinfo else expires
        return value < now
    if isinstance(expires, dt.date):
        return expires < now.date()
    return False


def _unknown_tenants(app: Any, cfg: Any, now: dt.datetime, skipped: list[str]) -> list[dict]:
    """Tenant-scoped records in the store (flag overrides) for tenants the configuration lacks."""
    repo = getattr(app.store(), "flag_overrides", None)
    if repo is None:
        skipped.append("tenants (flag overrides are not part of this build)")
        return []
    out = []
    for override in repo.list(now=now):
        if getattr(override, "kind", "user") == "tenant" and override.subject not in cfg.tenants:
            out.append(_finding("tenants", None, f"flag override {override.flag} -> {override.subject}",
                                f"override for tenant {override.subject!r}, which no longer exists"))
    return out


# -- cleanup ----------------------------------------------------------------------------------------------
def retention_days(app: Any, section: str, key: str, default: int) -> int:
    """``[<section>] <key>`` as whole days (``[jobs] retention_days = 30``)."""
    table = app.main_doc().get(section, {})
    value = table.get(key, default) if isinstance(table, Mapping) else default
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 else default


def cleanup(app: Any, trait: str | None, now: dt.datetime, data: Mapping[str, Any]) -> dict:
    """Remove what is past its time; counts per kind, and what this build cannot clean yet."""
    store = app.store()
    done: dict[str, Any] = {"skipped": []}
    jobs_days = int(data.get("retention_days", retention_days(app, "jobs", "retention_days", 30)))
    done["jobs"] = store.jobs.purge(now - dt.timedelta(days=jobs_days), trait=trait)
    done["workers"] = store.workers.purge(now - dt.timedelta(days=max(jobs_days, 1)))
    overrides = getattr(store, "flag_overrides", None)
    if overrides is not None:
        done["flag_overrides"] = overrides.purge_expired(now)
    else:
        done["skipped"].append("flag overrides (not part of this build)")
    done["telemetry"] = _telemetry(app, store, now, done["skipped"])
    from traitctl.history_service import apply_retention

    done["history"] = apply_retention(app, now)  # job events past [history] retention_days
    return done


def _telemetry(app: Any, store: Any, now: dt.datetime, skipped: list[str]) -> int | None:
    """Points past ``[telemetry] retention`` (per kind), as ``metrics`` defines it."""
    metrics = getattr(store, "metrics", None)
    try:
        from traitctl.engine.telemetry_formats import retention_from
    except ImportError:
        retention_from = None
    if metrics is None or retention_from is None or not hasattr(metrics, "apply_retention"):
        skipped.append("telemetry (the metrics store is not part of this build)")
        return None
    section = app.main_doc().get("telemetry", {})
    deleted = metrics.apply_retention(retention_from(section if isinstance(section, Mapping) else {}), now)
    return sum(deleted.values())
