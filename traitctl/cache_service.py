"""``traitctl cache``: the application cache's keys under traitctl's key scheme (docs/cache.md).

One use case per function: :func:`stats`, :func:`keys`, :func:`flush`. The cache is ``--cache``, else
``$TRAITCTL_CACHE``, else ``[cache] url``; the prefix is ``[cache] prefix``
(:mod:`traitctl.engine.cache`). Redis access is :mod:`traitctl.store.cache` (SCAN, never KEYS; UNLINK
in batches).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from traitctl.engine import cache as scheme
from traitctl.engine.errors import InputError, literal

#: keys whose ``MEMORY USAGE`` is asked for (the total is the sample's mean times the key count).
MEMORY_SAMPLE = 1000
URL_SCHEMES = ("redis://", "rediss://", "unix://")


@dataclass(frozen=True)
class Target:
    """The cache one command works on: its URL (with password), the prefix and the key filter."""

    url: str
    prefix: str
    trait: str | None = None
    model: str | None = None
    tenant: str | None = None

    @property
    def shown_url(self) -> str:
        from traitctl.settings import redact_url

        return redact_url(self.url)

    @property
    def pattern(self) -> str:
        return scheme.pattern(self.prefix, self.trait, self.model, None, self.tenant)


def cache_section(app: Any) -> Mapping[str, Any]:
    section = app.main_doc().get("cache", {})
    return section if isinstance(section, Mapping) else {}


def cache_url(app: Any, option: str | None, section: Mapping[str, Any] | None = None) -> str | None:
    """``--cache``, ``$TRAITCTL_CACHE`` or ``[cache] url`` (``None`` when none is set).

    :raises InputError: for a URL that is not ``redis://``, ``rediss://`` or ``unix://``.
    """
    from traitctl.settings import redact_url

    if option is not None:
        url, where = option, "--cache"
    elif app.env.get("TRAITCTL_CACHE"):
        url, where = app.env["TRAITCTL_CACHE"], "$TRAITCTL_CACHE"
    else:
        section = cache_section(app) if section is None else section
        url, where = section.get("url"), "[cache] url"
        if url is None:
            return None
        if not isinstance(url, str):
            raise InputError(f"[cache] url must be a string, not {literal(url)}.")
    if not url.startswith(URL_SCHEMES):
        raise InputError(f"{where} {literal(redact_url(url))} is not a Redis URL (redis://host:port/db, rediss://…, "
                         "unix://…).")
    return url


def target(app: Any, option: str | None, trait: str | None = None, model: str | None = None,
           tenant: str | None = None) -> Target:
    """The cache and filter a command names.

    :raises InputError: when no cache is configured or the URL is not a Redis one.
    """
    section = cache_section(app)
    url = cache_url(app, option, section)
    if url is None:
        raise InputError("No cache is configured: give --cache redis://host:port/db, set $TRAITCTL_CACHE or "
                         "[cache] url.")
    prefix = section.get("prefix", scheme.DEFAULT_PREFIX)
    if not isinstance(prefix, str):
        raise InputError(f"[cache] prefix must be a string, not {literal(prefix)}.")
    return Target(url, prefix, trait, model, tenant)


def _open(t: Target) -> Any:
    from traitctl.store.cache import CacheError, CacheStore

    try:
        store = CacheStore(t.url)
        store.ping()
    except CacheError as exc:
        raise InputError(f"Cannot reach the cache at {t.shown_url}: {_clean(exc, t.url)}") from None
    return store


def _clean(exc: Exception, url: str) -> str:
    from traitctl.settings import redact

    text = redact(str(exc), url).rstrip(".")
    return text + "."


def _matching(store: Any, t: Target) -> list[bytes]:
    from traitctl.store.cache import CacheError

    try:
        # SCAN may return a key twice; a key under the prefix outside the scheme is not traitctl's
        return [k for k in dict.fromkeys(store.scan(t.pattern)) if scheme.parse(t.prefix, _text(k)) is not None]
    except CacheError as exc:
        raise InputError(f"The cache at {t.shown_url} refused SCAN: {_clean(exc, t.url)}") from None


def stats(app: Any, t: Target) -> dict[str, Any]:
    """Keys, approximate memory, TTL left (min/median/max seconds) and the hit ratio per trait."""
    store = _open(t)
    try:
        found = _matching(store, t)
        ttls = store.ttls(found)
        sample = found[:MEMORY_SAMPLE]
        sizes = [m for m in store.memory(sample) if isinstance(m, int)]
    finally:
        store.close()
    left = [v / 1000 for v in ttls if isinstance(v, int) and v >= 0]
    by_trait = Counter(p["trait"] for k in found if (p := scheme.parse(t.prefix, _text(k))) is not None)
    memory = round(statistics.fmean(sizes) * len(found)) if sizes else 0
    ratios = hit_ratios(app, sorted(by_trait) if t.trait is None else [t.trait], t.model, t.tenant)
    return {"cache": t.shown_url, "prefix": t.prefix, "pattern": t.pattern, "keys": len(found),
            "memory_bytes": memory, "memory_sampled": len(sizes),
            "ttl": {"min": min(left), "median": statistics.median(left), "max": max(left)} if left else None,
            "without_ttl": sum(1 for v in ttls if v == -1),
            "traits": {trait: {"keys": by_trait.get(trait, 0), **ratios.get(trait, {})}
                       for trait in sorted(set(by_trait) | set(ratios))}}


def hit_ratios(app: Any, traits: list[str], model: str | None, tenant: str | None) -> dict[str, dict[str, Any]]:
    """trait -> hits, misses and hit ratio from the stored telemetry (``trait.<T>.cache_hits`` /
    ``cache_misses``); empty when there is no store yet."""
    try:
        url = app.settings.store_url
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:" and not Path(url[len("sqlite:///"):]).exists():
            return {}  # no store yet: opening it would create it, and it holds no telemetry
        store = app.store()
    except Exception:  # noqa: BLE001 - a broken store: stats of the cache alone
        return {}
    metrics = getattr(store, "metrics", None)
    if metrics is None:
        return {}
    out = {}
    for trait in traits:
        counts = []
        for what in ("cache_hits", "cache_misses"):
            series = metrics.series(f"trait.{trait}.{what}", model=model, tenant=tenant)
            counts.append(sum(s.sum for s in metrics.summaries(series)) if series else 0.0)
        hits, misses = counts
        if hits or misses:
            out[trait] = {"hits": int(hits), "misses": int(misses), "hit_ratio": round(hits / (hits + misses), 4)}
    return out


def keys(t: Target, limit: int) -> dict[str, Any]:
    """The first ``limit`` matching keys (in SCAN order; 0: all) with their TTL left, and how many match."""
    if limit < 0:
        raise InputError(f"--limit must be at least 1 (or 0 for all), not {limit}.")
    store = _open(t)
    try:
        found = _matching(store, t)
        shown = found[:limit] if limit else found
        ttls = store.ttls(shown)
    finally:
        store.close()
    return {"cache": t.shown_url, "pattern": t.pattern, "total": len(found),
            "keys": [{"key": _text(k), "ttl": None if v is None or v < 0 else v / 1000} for k, v in zip(shown, ttls)]}


def flush(app: Any, t: Target, *, dry_run: bool, confirm: Any, command: str) -> dict[str, Any]:
    """Remove every key of the target's trait (narrowed by model and tenant) with UNLINK; recorded
    in history as ``cache.flush``.

    :param confirm: called with the question and the number of keys before anything is removed.
    :param command: the command line for the history event (passwords hidden).
    """
    if t.trait is None:
        raise InputError("cache flush needs --trait (and optionally --model, --tenant).")
    store = _open(t)
    try:
        found = _matching(store, t)
        result: dict[str, Any] = {"cache": t.shown_url, "pattern": t.pattern, "dry_run": dry_run,
                                  "matched": len(found), "removed": 0, "sample": [_text(k) for k in found[:10]],
                                  "events": []}
        if dry_run or not found:
            return result
        confirm(f"Remove {len(found)} cache keys matching {t.pattern} from {t.shown_url}?", len(found))
        from traitctl.store.cache import CacheError

        try:
            result["removed"] = store.unlink(found)
        except CacheError as exc:
            raise InputError(f"The cache at {t.shown_url} refused UNLINK: {_clean(exc, t.url)}") from None
    finally:
        store.close()
    event = app.store().events.record(
        kind="cache.flush", actor=app.settings.actor, command=command, trait=t.trait, model=t.model,
        tenant=t.tenant, data={"cache": t.shown_url, "pattern": t.pattern, "matched": len(found),
                               "removed": result["removed"]})
    result["event"] = event.id
    result["events"] = [event.id]
    return result


def _text(key: bytes) -> str:
    return key.decode("utf-8", "backslashreplace")
