"""One validation of the whole configuration: every section's problems in one list.

``traitctl config validate``, the ``configuration`` check of ``traitctl health`` and ``traitctl
worker`` at start-up all call :func:`problems`. Each section is checked by the parser its consumer
uses (``[jobs]`` by :func:`traitctl.engine.jobs.parse_jobs_settings`, ``[health]`` by
:func:`traitctl.engine.health.thresholds`, flags by :func:`traitctl.engine.flags.problems` …), so
a value validation accepts is one its consumer accepts, and the other way round. Sections without
another home (``[traitctl]``, ``[multi_tenancy]``, ``[inventory]``, ``[export]``, ``[cache]``,
``[history]``, ``env`` tables) have their rules here, and their consumers call them.

Pure: the parsed configuration in, :class:`~traitctl.engine.config.Problem` values out.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from traitctl.engine.config import ENV_KEY, ConfigData, Problem, TenantSource
from traitctl.engine.config import validate as validate_traits
from traitctl.engine.errors import InputError, literal, suggest

#: Top-level tables of ``traits.toml``, with the document that describes each.
SECTIONS: Mapping[str, str] = {
    "traitctl": "docs/config.md", "multi_tenancy": "docs/config.md", "traits": "docs/config.md",
    "models": "docs/config.md", "tenants": "docs/config.md", "flags": "docs/flags.md", "jobs": "docs/jobs.md",
    "schedule": "docs/jobs.md", "events": "docs/jobs.md", "health": "docs/health.md",
    "telemetry": "docs/metrics.md", "migration": "docs/migrate-plan.md", "inventory": "docs/inventory.md",
    "export": "docs/runtime.md", "cache": "docs/config.md", "history": "docs/history.md",
}
#: ``[traitctl]`` keys (read by :mod:`traitctl.settings` and :mod:`traitctl.scan`).
TRAITCTL_KEYS = ("store", "queue", "source", "lock_timeout")
#: URL schemes the store (:func:`traitctl.store.db.connect`) and the queue
#: (:func:`traitctl.jobs.queue.backend_of`) open; tests check that both agree with these.
STORE_SCHEMES = ("sqlite:///", "postgresql://", "postgres://")
QUEUE_SCHEMES = ("sqlite:///", "redis://", "rediss://", "unix://")
MULTI_TENANCY_KEYS = ("enabled", "column", "tenant_model")
INVENTORY_KEYS = ("exclude", "model_bases", "traits", "libraries")
#: ``[inventory]`` keys that are not lists: a folder (``python_env``) and a switch (``vendor``).
INVENTORY_OTHER_KEYS = ("python_env", "vendor")
EXPORT_FORMATS = ("laravel", "json", "flagd")
EXPORT_KEYS = ("formats", *EXPORT_FORMATS, "allow_lossy")
JOBS_KEYS = ("queue", "retention_days", "heartbeat", "lost_after", "max_lost", "operations")
#: Longest wait for the configuration lock (seconds) a file or ``$TRAITCTL_LOCK_TIMEOUT`` may ask for.
MAX_LOCK_TIMEOUT = 86400.0
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def problems(cfg: ConfigData, known_models: Iterable[str] | None = None) -> list[Problem]:
    """Every problem of the configuration, sorted by file and key path.

    :param cfg: the configuration with every tenant loaded (``tenants="all"``).
    :param known_models: model FQNs of the source (the inventory), or ``None`` to skip that check.
    """
    found = list(validate_traits(cfg, known_models))
    found += _top_level(cfg)
    for name, check in _CHECKS.items():
        section = cfg.main.get(name)
        if section is None:
            continue
        if not isinstance(section, Mapping):
            found.append(Problem(cfg.main_file, (name,), f"[{name}] must be a table, not {_kind(section)}"))
            continue
        found += [Problem(cfg.main_file, path, message) for path, message in check(cfg, section)]
    found += _env_everywhere(cfg)
    for tenant in cfg.tenants.values():
        found += _tenant_meta(tenant)
    return sorted(set(found), key=lambda p: (p.file, p.path, p.message))


def shape_problems(cfg: ConfigData) -> list[Problem]:
    """The tables a configuration's readers take as empty when they are of the wrong shape:
    ``[traits]``, ``[models]`` and ``[tenants]`` themselves, each trait's table, each model's table
    of traits and their settings, and every loaded tenant's tables (what an export carries)."""
    from traitctl.engine.config import _model_shapes, tenant_shape_problems

    found = [Problem(cfg.main_file, (name,), f"[{name}] must be a table, not {_kind(cfg.main[name])}")
             for name in ("traits", "models", "tenants")
             if cfg.main.get(name) is not None and not isinstance(cfg.main[name], Mapping)]
    found += [Problem(cfg.main_file, ("traits", trait), "must be a table") for trait, table in cfg.traits.items()
              if not isinstance(table, Mapping)]
    found += _model_shapes(cfg.main_file, ("models",), cfg.models)
    for tenant in cfg.tenants.values():
        if tenant.doc is not None:
            found += tenant_shape_problems(cfg, tenant)
    return found


def describe(problem: Problem) -> str:
    """The problem's message, led by its key path when the message does not name it."""
    location = problem.location
    head = problem.message.split(": ", 1)[0]
    dotted = ".".join(problem.path[:2])  # the flags module's form: flags.<name>.<key> …
    if not location or location in head or head.startswith((f"[{problem.path[0]}]", dotted)):
        return problem.message
    return f"{location}: {problem.message}"


# -- helpers -------------------------------------------------------------------------------------
Found = list[tuple[tuple[str, ...], str]]


def _kind(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a float", str: "a string", list: "an array"}
    return next((n for t, n in names.items() if type(value) is t), "a table" if isinstance(value, Mapping)
                else type(value).__name__)


def _raised(fn: Callable[..., Any], *args: Any) -> str | None:
    """The message of the :class:`InputError` ``fn(*args)`` raises, or ``None``."""
    try:
        fn(*args)
    except InputError as exc:
        return exc.message
    return None


def _path_of(message: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """The key path a parser's message starts with (``jobs -> heartbeat: …``, ``[health] key: …``),
    when it lies inside ``default``'s section; else ``default``."""
    bracket = re.match(r"^\[([\w.-]+)\] ([\w.-]+):", message)
    if bracket:
        path: tuple[str, ...] = (bracket.group(1), bracket.group(2))
    else:
        head = message.split(": ", 1)[0]
        if " -> " not in head:
            return default
        path = tuple(part.split(" ", 1)[0] for part in head.split(" -> "))
    return path if path[:1] == default[:1] and len(path) >= len(default) else default


def _unknown_keys(section: Mapping[str, Any], known: Iterable[str], where: tuple[str, ...]) -> Found:
    known = tuple(known)
    return [(where + (key,), f"{' -> '.join(where + (key,))}: unknown key.{suggest(key, known)} "
             f"Known: {', '.join(known)}.") for key in section if key not in known]


def _each(parser: Callable[[Mapping[str, Any]], Any], section: Mapping[str, Any], where: tuple[str, ...]) -> Found:
    """Run a section's parser again and again, leaving out the key each error names, so that every
    bad key is reported (and rules between keys still see the user's other values)."""
    rest, found = dict(section), []
    for _ in range(len(section) + 1):
        message = _raised(parser, rest)
        if message is None:
            break
        path = _path_of(message, where)
        found.append((path, message))
        key = path[len(where)] if len(path) > len(where) else None
        if key not in rest:
            break
        del rest[key]
    return found


# -- rules of sections without another home (their consumers call these) --------------------------------
def string_list(value: Any, where: str) -> tuple[str, ...]:
    """A string or a list of strings (``[traitctl] source``, ``[inventory] exclude`` …) as a tuple.

    :raises InputError: naming ``where`` for anything else.
    """
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f"{where} must be a list of strings, not {literal(value)}.")
    return tuple(value)


def lock_timeout(raw: Any, where: str = "[traitctl] lock_timeout") -> float:
    """Seconds to wait for the configuration lock: a finite number from 0 to a day.

    :raises InputError: naming ``where`` and the value.
    """
    try:
        value = float(raw) if not isinstance(raw, bool) else math.nan
    except (TypeError, ValueError, OverflowError):
        value = math.nan
    if not math.isfinite(value) or not 0 <= value <= MAX_LOCK_TIMEOUT:
        raise InputError(f"{where} must be a finite number of seconds from 0 to {MAX_LOCK_TIMEOUT:g}, not {literal(raw)}.")
    return value


def env_problems(table: Mapping[str, Any], path: tuple[str, ...]) -> Found:
    """``env = { key = "VARIABLE" }`` in a settings or flag table, by the one rule of
    :func:`traitctl.engine.envvars.problems`."""
    from traitctl.engine import envvars

    return [(_path_of(message, path), message) for message in envvars.problems(table, " -> ".join(path))]


def export_problems(section: Mapping[str, Any]) -> Found:
    """``[export]``: ``formats`` a list of distinct formats, a non-empty path per format,
    ``allow_lossy`` a boolean."""
    found = _unknown_keys(section, EXPORT_KEYS, ("export",))
    formats = section.get("formats", [])
    if not isinstance(formats, list) or not all(isinstance(f, str) for f in formats):
        found.append((("export", "formats"), f"export -> formats: must be a list such as [\"laravel\", \"json\"], "
                                             f"not {literal(formats)}"))
    else:
        for fmt in formats:
            if fmt not in EXPORT_FORMATS:
                found.append((("export", "formats"), f"export -> formats: {literal(fmt)} is not a format "
                                                     f"(use {', '.join(EXPORT_FORMATS)}).{suggest(fmt, EXPORT_FORMATS)}"))
        if len(set(formats)) != len(formats):
            found.append((("export", "formats"), "export -> formats: a format is listed twice"))
    for key in EXPORT_FORMATS:
        if key in section and not (isinstance(section[key], str) and section[key].strip()):
            found.append((("export", key), f"export -> {key}: must be a non-empty path (relative to this file), "
                                           f"not {literal(section[key])}"))
    if "allow_lossy" in section and not isinstance(section["allow_lossy"], bool):
        found.append((("export", "allow_lossy"), f"export -> allow_lossy: must be true or false, "
                                                 f"not {literal(section['allow_lossy'])}"))
    return found


# -- the sections ----------------------------------------------------------------------------------------
def _top_level(cfg: ConfigData) -> list[Problem]:
    return [Problem(cfg.main_file, (key,), f"[{key}]: unknown top-level key.{suggest(key, SECTIONS)} "
                                           f"Known: {', '.join(SECTIONS)}.")
            for key in cfg.main if key not in SECTIONS]


def _traitctl(cfg: ConfigData, section: Mapping[str, Any]) -> Found:
    found = _unknown_keys(section, TRAITCTL_KEYS, ("traitctl",))
    for key, schemes in (("store", STORE_SCHEMES), ("queue", QUEUE_SCHEMES)):
        value = section.get(key, "")
        if not isinstance(value, str):
            found.append((("traitctl", key), f"traitctl -> {key}: must be a URL string (\"\" = the embedded "
                                             f"default), not {literal(value)}"))
        elif value and not value.startswith(schemes):
            shown = value.split("://", 1)[0] + "://…" if "://" in value else "a URL without a scheme"
            found.append((("traitctl", key), f"traitctl -> {key}: {shown} is not a supported URL; use "
                                             + " or ".join(f"{s}…" for s in schemes)))
    if "source" in section and (message := _raised(string_list, section["source"], "traitctl -> source")):
        found.append((("traitctl", "source"), message))
    if "lock_timeout" in section and (message := _raised(lock_timeout, section["lock_timeout"])):
        found.append((("traitctl", "lock_timeout"), message))
    return found


def _multi_tenancy(cfg: ConfigData, section: Mapping[str, Any]) -> Found:
    found = _unknown_keys(section, MULTI_TENANCY_KEYS, ("multi_tenancy",))
    if "enabled" in section and not isinstance(section["enabled"], bool):
        found.append((("multi_tenancy", "enabled"), f"multi_tenancy -> enabled: must be true or false, "
                                                    f"not {literal(section['enabled'])}"))
    for key in ("column", "tenant_model"):
        if key in section and not (isinstance(section[key], str) and section[key]):
            found.append((("multi_tenancy", key), f"multi_tenancy -> {key}: must be a non-empty string, "
                                                  f"not {literal(section[key])}"))
    return found


def _traits(cfg: ConfigData, section: Mapping[str, Any]) -> Found:
    found: Found = []
    for trait, table in section.items():
        if not isinstance(table, Mapping):
            continue  # reported by the schema checks
        where = ("traits", trait)
        for key in ("schema", "operations"):
            if key in table and not isinstance(table[key], Mapping):
                found.append((where + (key,), f"{' -> '.join(where + (key,))}: must be a table, "
                                              f"not {_kind(table[key])}"))
        operations = table.get("operations")
        for name, op in (operations.items() if isinstance(operations, Mapping) else ()):
            found += _operation(where + ("operations", name), name, op)
    return found


def _operation(path: tuple[str, ...], name: str, op: Any) -> Found:
    """What runs (command or callable, unknown keys: the first problem), then every bad queue
    setting (timeout, retries, retry_delay, backoff, queue, priority, cwd), all by
    :func:`traitctl.engine.jobs.parse_operation`."""
    from traitctl.engine import jobs

    text = " -> ".join(path)
    if message := _raised(jobs.check_name, "operation", name):
        return [(path, message)]
    if not isinstance(op, Mapping):
        return [(path, _raised(jobs.parse_operation, text, name, op) or "")]
    settings = {k: v for k, v in op.items() if k in jobs.OPERATION_KEYS - {"command", "callable"}}
    found: Found = []
    if message := _raised(jobs.parse_operation, text, name, {k: v for k, v in op.items() if k not in settings}):
        found.append((_path_of(message, path), message))
    found += _each(lambda table: jobs.parse_operation(text, name, {**table, "command": ["true"]}), settings, path)
    return found


def _flags(cfg: ConfigData, section: Mapping[str, Any]) -> Found:
    from traitctl.engine import flags, rollout

    found: Found = []
    for name, table in section.items():
        if isinstance(table, Mapping):
            # ``env`` is checked by env_problems; the flag rules see the table without it.
            table = {k: v for k, v in table.items() if k != ENV_KEY}
            tenants = table.get("tenants")
            if isinstance(tenants, Mapping):
                table["tenants"] = {t: ({k: v for k, v in o.items() if k != ENV_KEY} if isinstance(o, Mapping) else o)
                                    for t, o in tenants.items()}
        messages = flags.problems(name, table)
        if isinstance(table, Mapping):
            messages += rollout.schedule_problems(name, table.get("schedule", []))
            messages += rollout.guard_problems(name, table.get("guard"))
        found += [(_flag_path(message, name), message) for message in messages]
    return found


def _flag_path(message: str, name: str) -> tuple[str, ...]:
    prefix = f"flags.{name}"
    rest = message[len(prefix):] if message.startswith(prefix) else ""
    if not rest.startswith("."):
        return ("flags", name)
    dotted = re.split(r"[\s:=]", rest[1:], maxsplit=1)[0]
    return ("flags", name, *filter(None, dotted.split(".")))


def _jobs(cfg: ConfigData, section: Mapping[str, Any]) -> Found:
    from traitctl.engine import jobs

    found = _unknown_keys(section, JOBS_KEYS, ("jobs",))
    scalars = {k: v for k, v in section.items() if k != "operations" and k in JOBS_KEYS}
    found += _each(jobs.parse_jobs_settings, scalars, ("jobs",))
    operations = section.get("operations", {})
    if not isinstance(operations, Mapping):
        return found + [(("jobs", "operations"), "jobs -> operations: must be a table of [jobs.operations.<name>]")]
    builtin = sorted(set(jobs.SYSTEM_OPERATIONS) | set(jobs.TRAIT_OPERATIONS))
    allowed = sorted(jobs.OPERATION_KEYS - {"command", "callable", "cwd"})
    for name, settings in operations.items():
        path = ("jobs", "operations", name)
        if name not in builtin:
            found.append((path, f"jobs -> operations -> {name}: not a built-in operation (these settings apply to "
                                f"{', '.join(builtin)}; a trait's own operations live under "
                                f"[traits.<T>.operations]).{suggest(name, builtin)}"))
            continue
        if not isinstance(settings, Mapping):
            found.append((path, f"jobs -> operations -> {name}: must be a table"))
            continue
        found += _unknown_keys(settings, allowed, path)
        if message := _raised(jobs.builtin_operation, name, settings):
            found.append((_path_of(message, path), message))
    return found


def _schedule(cfg: ConfigData, section: Mapping[str, Any]) -> Found:
    import datetime as dt

    from traitctl.engine import jobs

    found: Found = []
    jobs_section = cfg.section("jobs")
    for name, table in section.items():
        path = ("schedule", name)
        try:
            entry = jobs.parse_schedule({name: table})[0]
        except InputError as exc:
            found.append((_schedule_path(exc.message, path), exc.message))
            continue
        if entry.trait is not None and entry.trait not in cfg.traits:
            found.append((path + ("trait",), f"schedule -> {name} -> trait: unknown trait {entry.trait!r}."
                                             f"{suggest(str(entry.trait), cfg.traits)}"))
            continue
        if message := _raised(jobs.find_operation, cfg.traits, entry.trait, entry.operation, jobs_section):
            found.append((path + ("operation",), f"schedule -> {name} -> operation: {message}"))
        if entry.tenant is not None and entry.tenant not in cfg.tenants:
            found.append((path + ("tenant",), f"schedule -> {name} -> tenant: unknown tenant {entry.tenant!r}."
                                              f"{suggest(str(entry.tenant), cfg.tenants)}"))
        if entry.cron.next_after(dt.datetime(2000, 1, 1)) is None:  # 2000-2003 holds every calendar day
            found.append((path + ("cron",), f"schedule -> {name} -> cron: {entry.cron.expr!r} never matches a date"))
    return found


def _schedule_path(message: str, path: tuple[str, ...]) -> tuple[str, ...]:
    if message.startswith("cron "):
        return path + ("cron",)
    return _path_of(message, path)


def _events(cfg: ConfigData, section: Mapping[str, Any]) -> Found:
    from traitctl.engine import jobs

    found = _unknown_keys(section, ("subscribers",), ("events",))
    raw = section.get("subscribers", [])
    if not isinstance(raw, list):
        return found + [(("events", "subscribers"), _raised(jobs.parse_subscribers, section) or "")]
    names: dict[str, int] = {}
    for index, table in enumerate(raw):
        path = ("events", "subscribers", str(index))
        try:
            subscriber = jobs.parse_subscriber(index, table)
        except InputError as exc:
            found.append((_path_of(exc.message, path), exc.message))
            continue
        if subscriber.name in names:
            found.append((path + ("name",), f"events -> subscribers -> {index} -> name: {subscriber.name!r} is also "
                                            f"the name of subscriber {names[subscriber.name]}; names must differ"))
        names.setdefault(subscriber.name, index)
    return found


def _health(cfg: ConfigData, section: Mapping[str, Any]) -> Found:
    from traitctl.engine import health

    return _each(health.thresholds, section, ("health",)) + _each(health.switches, section, ("health",))


def _telemetry(cfg: ConfigData, section: Mapping[str, Any]) -> Found:
    from traitctl.engine import serverstats, telemetry_formats

    found = _unknown_keys(section, ("retention", "server"), ("telemetry",))
    retention = section.get("retention")
    if isinstance(retention, Mapping):
        for kind, value in retention.items():
            if message := _raised(telemetry_formats.retention_from, {"retention": {kind: value}}):
                found.append((("telemetry", "retention", kind), message))
    elif retention is not None and (message := _raised(telemetry_formats.retention_from, section)):
        found.append((("telemetry", "retention"), message))
    server = section.get("server")
    if server is not None and not isinstance(server, Mapping):
        found.append((("telemetry", "server"), "telemetry -> server: must be a table of "
                                               "<check> = { warning = N, critical = M }"))
    elif server:
        found += _each(serverstats.thresholds_from, server, ("telemetry", "server"))
    return found


def _migration(cfg: ConfigData, section: Mapping[str, Any]) -> Found:
    from traitctl.engine import plan

    return _each(plan.settings, section, ("migration",))


def _inventory(cfg: ConfigData, section: Mapping[str, Any]) -> Found:
    found = _unknown_keys(section, INVENTORY_KEYS + INVENTORY_OTHER_KEYS, ("inventory",))
    for key in INVENTORY_KEYS:
        if key in section and (message := _raised(string_list, section[key], f"inventory -> {key}")):
            found.append((("inventory", key), message))
    env = section.get("python_env")
    if env is not None and not (isinstance(env, str) and env):
        found.append((("inventory", "python_env"), f"inventory -> python_env: must be a folder name, not {literal(env)}"))
    if "vendor" in section and not isinstance(section["vendor"], bool):
        found.append((("inventory", "vendor"), f"inventory -> vendor: must be true or false, not {literal(section['vendor'])}"))
    return found


def _export(cfg: ConfigData, section: Mapping[str, Any]) -> Found:
    return export_problems(section)


CACHE_KEYS = ("url", "prefix")


def _cache(cfg: ConfigData, section: Mapping[str, Any]) -> Found:
    """``[cache]`` (docs/cache.md): ``url`` a Redis URL, ``prefix`` a string without spaces or control
    characters (a Redis key prefix)."""
    found = _unknown_keys(section, CACHE_KEYS, ("cache",))
    found += [(("cache", key), f"cache -> {key}: must be a string, not {literal(section[key])}")
              for key in CACHE_KEYS if key in section and not isinstance(section[key], str)]
    url = section.get("url")
    if isinstance(url, str) and not url.startswith(("redis://", "rediss://", "unix://")):
        scheme = url.split("://", 1)[0] + "://" if "://" in url else repr(url.split("@")[-1])
        found.append((("cache", "url"), f"cache -> url: must be a Redis URL (redis://host:port/db, rediss://…, "
                                        f"unix://…), not {scheme}…"))
    prefix = section.get("prefix")
    if isinstance(prefix, str) and any(ord(c) <= 0x20 or ord(c) == 0x7f for c in prefix):
        found.append((("cache", "prefix"), f"cache -> prefix: must not contain spaces or control characters, "
                                           f"not {literal(prefix)}"))
    return found



def _history(cfg: ConfigData, section: Mapping[str, Any]) -> Found:
    from traitctl.engine import history

    found = _unknown_keys(section, ("retention_days",), ("history",))
    if message := _raised(history.retention_days, section):
        found.append((("history", "retention_days"), message))
    return found


def _nothing(cfg: ConfigData, section: Mapping[str, Any]) -> Found:
    return []  # models and tenants: checked by traitctl.engine.config.validate


_CHECKS: Mapping[str, Callable[[ConfigData, Mapping[str, Any]], Found]] = {
    "traitctl": _traitctl, "multi_tenancy": _multi_tenancy, "traits": _traits, "models": _nothing,
    "tenants": _nothing, "flags": _flags, "jobs": _jobs, "schedule": _schedule, "events": _events,
    "health": _health, "telemetry": _telemetry, "migration": _migration, "inventory": _inventory,
    "export": _export, "cache": _cache, "history": _history,
}


# -- env tables and tenant files ---------------------------------------------------------------------------
def _env_everywhere(cfg: ConfigData) -> list[Problem]:
    """``env`` in every table SPEC'd to carry one: traits, models, tenants' traits and models, flags
    and their tenant tables."""
    found: list[Problem] = []

    def check(file: str, table: Any, path: tuple[str, ...]) -> None:
        if isinstance(table, Mapping):
            found.extend(Problem(file, p, m) for p, m in env_problems(table, path))

    for trait, table in cfg.traits.items():
        check(cfg.main_file, table, ("traits", trait))
    for file, prefix, models in [(cfg.main_file, (), cfg.models)] + [
            (t.file, t.prefix, _mapping(t.doc, "models")) for t in cfg.tenants.values()]:
        for model, by_trait in models.items():
            for trait, table in (by_trait.items() if isinstance(by_trait, Mapping) else ()):
                check(file, table, prefix + ("models", model, trait))
    for tenant in cfg.tenants.values():
        for trait, table in _mapping(tenant.doc, "traits").items():
            check(tenant.file, table, tenant.prefix + ("traits", trait))
    for name, table in cfg.section("flags").items():
        check(cfg.main_file, table, ("flags", name))
        for tenant, override in _mapping(table, "tenants").items():
            check(cfg.main_file, override, ("flags", name, "tenants", tenant))
    return found


def _mapping(doc: Any, key: str) -> Mapping[str, Any]:
    value = doc.get(key) if isinstance(doc, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def _tenant_meta(tenant: TenantSource) -> list[Problem]:
    """``name`` and ``description`` are strings; keys that are neither those nor a section."""
    from traitctl.engine.config import TENANT_META_KEYS

    doc = tenant.doc or {}
    found = []
    for key in ("name", "description"):
        if key in doc and not isinstance(doc[key], str):
            found.append(Problem(tenant.file, tenant.prefix + (key,),
                                 f"{' -> '.join(tenant.prefix + (key,)) or key}: must be a string, not {literal(doc[key])}"))
    for key in sorted(k for k in doc if k not in TENANT_META_KEYS and not isinstance(doc[k], Mapping)):
        found.append(Problem(tenant.file, tenant.prefix + (key,),
                             f"{' -> '.join(tenant.prefix + (key,))}: unknown tenant key.{suggest(key, TENANT_META_KEYS)}"
                             f" Known: {', '.join(sorted(TENANT_META_KEYS))}."))
    return found
