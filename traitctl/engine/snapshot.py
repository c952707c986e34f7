"""The JSON snapshot ``traitctl.snapshot/1``: every layer of the configuration and every flag in one
document, the form every renderer (json, laravel, flagd) and every runtime reads.

Pure: the parsed configuration, the flags, the active overrides, the source path, digest and time
come in; a plain ``dict`` (JSON-ready: dates as ISO 8601 strings) goes out. :func:`to_config` and
:func:`flag_section` read a snapshot back into the shapes :mod:`traitctl.engine.config` and
:mod:`traitctl.engine.flags` work on, so a reader of the snapshot answers exactly as the TOML does.

Example usage::

    doc = snapshot.build(cfg, flags_section, overrides, source="config/traits.toml",
                         digest=snapshot.digest(files), generated=now, generator="traitctl 0.1.0")
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from traitctl.engine import envvars
from traitctl.engine.cache import prefix_of as cache_prefix_of
from traitctl.engine.config import RESERVED_TRAIT_KEYS, ConfigData, TenantSource, schema_of
from traitctl.engine.errors import InputError, literal

SCHEMA = "traitctl.snapshot/1"
#: keys of a flag's (or a flag tenant's) table the snapshot carries.
FLAG_FIELDS = ("enabled", "percentage", "bucketing", "stickiness", "group")


def digest(files: Iterable[tuple[str, bytes]]) -> str:
    """``sha256:<hex>`` over each file's path (relative to the main file's folder), a NUL and its bytes:
    the main file first, then the tenant files in sorted id order."""
    h = hashlib.sha256()
    for path, data in files:
        h.update(path.encode("utf-8") + b"\0")
        h.update(data)
    return "sha256:" + h.hexdigest()


def iso_utc(moment: dt.datetime) -> str:
    """A naive-UTC (or aware) datetime as ``2026-12-01T23:00:00Z``."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment.isoformat() + "Z"


def jsonable(value: Any) -> Any:
    """A TOML value as JSON: dates, datetimes and times as ISO 8601 strings (as ``config get --json``)."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    return value


def build(cfg: ConfigData, flags: Mapping[str, Any], overrides: Iterable[Any], *, source: str, digest: str,
          generated: dt.datetime, generator: str) -> dict[str, Any]:
    """The snapshot document.

    :param cfg: the configuration with every tenant loaded.
    :param flags: the raw ``[flags]`` section (already checked).
    :param overrides: objects with ``flag``, ``subject``, ``on``, ``expires`` (naive UTC) and ``kind``;
        only user overrides unexpired at ``generated`` are kept.
    :param source: the main file's path as the document names it.
    :param generated: the build time (naive UTC); the only field that differs between two builds.
    """
    return {
        "schema": SCHEMA,
        "generator": generator,
        "source": source,
        "digest": digest,
        "generated": iso_utc(generated),
        "multi_tenancy": jsonable(cfg.section("multi_tenancy")),
        "cache": {"prefix": cache_prefix_of(cfg.section("cache"))},
        "traits": {t: _trait(cfg, t) for t, table in cfg.traits.items() if isinstance(table, Mapping)},
        "models": _models(cfg.models),
        "tenants": {t: _tenant(cfg.tenants[t]) for t in sorted(cfg.tenants) if cfg.tenants[t].doc is not None},
        "flags": _flags(flags, overrides, generated),
    }


def _entry(table: Mapping[str, Any], reserved: frozenset[str] = frozenset({envvars.ENV_KEY})) -> dict[str, Any]:
    out: dict[str, Any] = {"settings": jsonable({k: v for k, v in table.items() if k not in reserved})}
    variables = envvars.names(table)
    if variables:
        out["env"] = dict(variables)
    return out


def _trait(cfg: ConfigData, trait: str) -> dict[str, Any]:
    defaults = {k: rule["default"] for k, rule in schema_of(cfg, trait).items()
                if isinstance(rule, Mapping) and "default" in rule}
    return {"defaults": jsonable(defaults), **_entry(cfg.traits[trait], RESERVED_TRAIT_KEYS)}


def _models(models: Mapping[str, Any]) -> dict[str, Any]:
    return {m: {t: _entry(v) for t, v in by_trait.items() if isinstance(v, Mapping)}
            for m, by_trait in models.items() if isinstance(by_trait, Mapping)}


def _tenant(source: TenantSource) -> dict[str, Any]:
    doc = source.doc or {}
    out: dict[str, Any] = {}
    if isinstance(doc.get("name"), str):
        out["name"] = doc["name"]
    traits = doc.get("traits")
    out["traits"] = {t: _entry(v) for t, v in traits.items() if isinstance(v, Mapping)} \
        if isinstance(traits, Mapping) else {}
    models = doc.get("models")
    out["models"] = _models(models) if isinstance(models, Mapping) else {}
    return out


def _flags(flags: Mapping[str, Any], overrides: Iterable[Any], now: dt.datetime) -> dict[str, Any]:
    by_flag: dict[str, dict[str, Any]] = {}
    for o in sorted(overrides, key=lambda o: (o.flag, o.subject)):
        if getattr(o, "kind", "user") != "user" or (o.expires is not None and o.expires <= now):
            continue
        by_flag.setdefault(o.flag, {})[o.subject] = {
            "on": bool(o.on), "expires": None if o.expires is None else iso_utc(o.expires)}
    return {name: _flag(table, by_flag.get(name, {})) for name, table in flags.items() if isinstance(table, Mapping)}


def _flag(table: Mapping[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"enabled": bool(table.get("enabled", False)), "percentage": _pct(table.get("percentage")),
                           "bucketing": table.get("bucketing", "crc32"), "stickiness": table.get("stickiness", "user"),
                           "group": table.get("group")}
    if table.get("description"):
        out["description"] = table["description"]
    out["env"] = dict(envvars.names(table))
    tenants = table.get("tenants") if isinstance(table.get("tenants"), Mapping) else {}
    out["tenants"] = {t: _flag_tenant(v) for t, v in sorted(tenants.items()) if isinstance(v, Mapping)}
    out["overrides"] = overrides
    return out


def _flag_tenant(table: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: (_pct(table[k]) if k == "percentage" else table[k]) for k in FLAG_FIELDS if k in table}
    out["env"] = dict(envvars.names(table))
    return out


def _pct(value: Any) -> int | None:
    return None if value is None else int(value)


# -- reading a snapshot back -------------------------------------------------------------------------------------------
def check(doc: Any, path: str = "<snapshot>") -> Mapping[str, Any]:
    """The snapshot if it is one this version reads.

    :raises InputError: naming ``path`` when it is not a ``traitctl.snapshot/1`` document.
    """
    if not isinstance(doc, Mapping) or doc.get("schema") != SCHEMA:
        found = doc.get("schema") if isinstance(doc, Mapping) else type(doc).__name__
        raise InputError(f"{path}: not a {SCHEMA} document (schema {literal(found)}).")
    return doc


def _table(doc: Any, key: str) -> Mapping[str, Any]:
    value = doc.get(key) if isinstance(doc, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def _settings_table(entry: Any) -> dict[str, Any]:
    out = dict(_table(entry, "settings"))
    variables = _table(entry, "env")
    if variables:
        out[envvars.ENV_KEY] = dict(variables)
    return out


def _models_doc(models: Mapping[str, Any]) -> dict[str, Any]:
    return {m: {t: _settings_table(e) for t, e in by_trait.items()} for m, by_trait in models.items()
            if isinstance(by_trait, Mapping)}


def to_config(doc: Mapping[str, Any], main_file: str = "") -> ConfigData:
    """The :class:`ConfigData` a snapshot describes (schema defaults become ``schema`` rules with
    only a ``default``), so :func:`traitctl.engine.config.resolve` answers as on the TOML."""
    traits = {}
    for trait, entry in _table(doc, "traits").items():
        table = _settings_table(entry)
        table["schema"] = {k: {"default": v} for k, v in _table(entry, "defaults").items()}
        traits[trait] = table
    main = {"multi_tenancy": dict(_table(doc, "multi_tenancy")), "cache": dict(_table(doc, "cache")), "traits": traits,
            "models": _models_doc(_table(doc, "models"))}
    tenants = {}
    for tenant, entry in _table(doc, "tenants").items():
        tdoc = {"traits": {t: _settings_table(e) for t, e in _table(entry, "traits").items()},
                "models": _models_doc(_table(entry, "models"))}
        if "name" in entry:
            tdoc["name"] = entry["name"]
        tenants[tenant] = TenantSource(tenant, main_file, ("tenants", tenant), tdoc)
    return ConfigData(main=main, main_file=main_file, tenants=tenants)


def flag_section(doc: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The ``[flags]`` section a snapshot describes (with ``env`` sub-tables, overrides excluded)."""
    section = {}
    for name, entry in _table(doc, "flags").items():
        table = {k: entry[k] for k in FLAG_FIELDS if entry.get(k) is not None}
        table["enabled"] = bool(entry.get("enabled", False))
        if entry.get("description"):
            table["description"] = entry["description"]
        if _table(entry, "env"):
            table[envvars.ENV_KEY] = dict(_table(entry, "env"))
        tenants = {}
        for tenant, t_entry in _table(entry, "tenants").items():
            t_table = {k: t_entry[k] for k in FLAG_FIELDS if t_entry.get(k) is not None}
            if _table(t_entry, "env"):
                t_table[envvars.ENV_KEY] = dict(_table(t_entry, "env"))
            tenants[tenant] = t_table
        if tenants:
            table["tenants"] = tenants
        section[name] = table
    return section


def overrides_of(doc: Mapping[str, Any]) -> dict[str, dict[str, tuple[bool, dt.datetime | None]]]:
    """flag -> user id -> (on, expiry as naive UTC or ``None``), as the snapshot lists them."""
    out: dict[str, dict[str, tuple[bool, dt.datetime | None]]] = {}
    for name, entry in _table(doc, "flags").items():
        for subject, o in _table(entry, "overrides").items():
            expires = o.get("expires")
            out.setdefault(name, {})[subject] = (bool(o.get("on")), _parse_utc(expires) if expires else None)
    return out


def _parse_utc(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment
