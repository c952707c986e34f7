"""Layered trait configuration: model the files' contents, resolve a key, validate against schemas.

Precedence, most specific first (the seeds' ``TraitConfig::get`` made exact)::

    tenant+model  >  tenant  >  model  >  global  >  schema default

Everything here works on already-parsed dictionaries; reading and writing files is the store's job.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from traitctl.engine import envvars
from traitctl.engine.cache import TTL_KEY as CACHE_TTL_KEY
from traitctl.engine.cache import ttl_problem
from traitctl.engine.errors import InputError, NotFound, ValidationError, literal

#: ``env = { key = "VARIABLE" }`` in a settings or flag table: the environment variable behind a key.
ENV_KEY = envvars.ENV_KEY
#: Sub-tables of ``[traits.<T>]`` that are not settings.
RESERVED_TRAIT_KEYS = frozenset({"schema", "operations", ENV_KEY})
#: Keys of ``[tenants.<id>]`` that describe the tenant rather than override traits.
TENANT_META_KEYS = frozenset({"name", "description", "traits", "models"})
#: Tenant ids become file names (``tenants/<id>.toml``): keep them inside their folder.
TENANT_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
SCHEMA_TYPES = ("string", "integer", "float", "boolean", "array", "table", "datetime")
SCHEMA_FIELDS = frozenset({"type", "default", "min", "max", "allowed", "description", "items"})

LAYER_ORDER = ("tenant+model", "tenant", "model", "global", "default")


@dataclass(frozen=True)
class TenantSource:
    """Where one tenant's overrides live: the main file's ``[tenants.<id>]`` or ``tenants/<id>.toml``.

    :param doc: the tenant's table (``name``, ``traits``, ``models``), ``None`` when not loaded.
    :param file: the file it came from.
    :param prefix: the key path of ``doc`` inside ``file`` (``("tenants", id)`` or ``()``).
    """

    id: str
    file: str
    prefix: tuple[str, ...]
    doc: Mapping[str, Any] | None


@dataclass(frozen=True)
class ConfigData:
    """The parsed configuration: the main file and the tenants known to this invocation."""

    main: Mapping[str, Any]
    main_file: str
    tenants: Mapping[str, TenantSource] = field(default_factory=dict)
    #: tenant ids that also appear in the main file while having their own file (a conflict).
    duplicated_tenants: tuple[str, ...] = ()

    @property
    def traits(self) -> Mapping[str, Any]:
        return _table(self.main, "traits")

    @property
    def models(self) -> Mapping[str, Any]:
        return _table(self.main, "models")

    def section(self, name: str) -> Mapping[str, Any]:
        """A top-level table (``traitctl``, ``multi_tenancy``, ``flags`` …), empty when absent."""
        return _table(self.main, name)

    def model_names(self) -> list[str]:
        """Every model named in an override, in the main file or a loaded tenant."""
        names = set(self.models)
        for tenant in self.tenants.values():
            if tenant.doc is not None:  # tenants not loaded (their own files) add nothing
                names.update(_table(tenant.doc, "models"))
        return sorted(names)


@dataclass(frozen=True)
class Layer:
    """One place that may define a trait's keys.

    :param kind: one of :data:`LAYER_ORDER`.
    :param file: the file holding it.
    :param path: the key path of the table inside ``file``.
    :param values: the table's settings (its ``env`` sub-table excluded).
    :param env: key -> environment variable name (the table's ``env`` sub-table).
    """

    kind: str
    file: str
    path: tuple[str, ...]
    values: Mapping[str, Any]
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Resolved:
    """The effective value of a key and where it came from.

    :param found: False when no layer (not even a schema default) defines the key.
    :param winner: the layer whose value is used.
    :param layers: every layer that defines the key, most specific first.
    :param variable: the environment variable the winning layer names for the key (``None``: none).
    :param from_env: True when ``value`` came from that variable (it is set in the environment).
    """

    key: str
    value: Any
    found: bool
    winner: Layer | None
    layers: tuple[Layer, ...]
    variable: str | None = None
    from_env: bool = False


@dataclass(frozen=True)
class Problem:
    """A finding of :func:`validate`: where (file and key path) and what is wrong."""

    file: str
    path: tuple[str, ...]
    message: str

    @property
    def location(self) -> str:
        return " -> ".join(self.path)


def _table(doc: Mapping[str, Any] | None, key: str) -> Mapping[str, Any]:
    value = (doc or {}).get(key)
    return value if isinstance(value, Mapping) else {}


# -- names --------------------------------------------------------------------------------------
def short_name(name: str) -> str:
    return name.rsplit("\\", 1)[-1].rsplit(".", 1)[-1]


def match_name(kind: str, name: str, known: Iterable[str]) -> str:
    """Find ``name`` among ``known``: exactly, then case-insensitively (PHP class names are),
    then by short name when that is unique.

    :raises NotFound: with the nearest names suggested.
    """
    known = list(known)
    if name in known:
        return name
    wanted = name.lstrip("\\").lower()
    for candidate in known:
        if candidate.lower() == wanted:
            return candidate
    by_short = [c for c in known if short_name(c).lower() == short_name(wanted).lower()]
    if len(by_short) == 1:
        return by_short[0]
    if len(by_short) > 1:
        raise InputError(f"{kind.capitalize()} '{name}' is ambiguous: " + ", ".join(sorted(by_short)) + ".")
    raise NotFound(kind, name, known)


def check_tenant_id(tenant: str) -> str:
    """Refuse tenant ids that could leave ``tenants/`` or are not portable file names."""
    if not TENANT_ID_RE.match(tenant) or tenant in (".", ".."):
        raise InputError(
            f"Invalid tenant id '{tenant}': use 1-64 letters, digits, '_', '-' or '.', starting with a letter or digit."
        )
    return tenant


#: Device names Windows reserves, whatever follows a dot (`con.toml` is the console there).
WINDOWS_DEVICES = frozenset({"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))})


def check_new_tenant_id(tenant: str) -> str:
    """:func:`check_tenant_id`, and for a tenant being added, no id whose file (``tenants/<id>.toml``)
    Windows could not hold: a checkout of the configuration there would miss it."""
    check_tenant_id(tenant)
    if tenant.split(".", 1)[0].lower() in WINDOWS_DEVICES:
        raise InputError(f"Invalid tenant id '{tenant}': {tenant.split('.', 1)[0]} is a device name on Windows, "
                         "so its file tenants/<id>.toml could not exist there; choose another id.")
    return tenant


# -- resolution ---------------------------------------------------------------------------------
def tenant_layers(cfg: ConfigData, trait: str, model: str | None, tenant: str | None) -> list[Layer]:
    """The tenant's own layers for (trait, model): tenant+model (with a model), then tenant; none
    for no tenant, an unknown one or one whose document is not loaded."""
    source = cfg.tenants.get(tenant) if tenant else None
    if source is None or source.doc is None:
        return []
    layers: list[Layer] = []
    if model:
        values = _table(_table(_table(source.doc, "models"), model), trait)
        layers.append(_layer("tenant+model", source.file, source.prefix + ("models", model, trait), values))
    values = _table(_table(source.doc, "traits"), trait)
    layers.append(_layer("tenant", source.file, source.prefix + ("traits", trait), values))
    return layers


def layers_for(cfg: ConfigData, trait: str, model: str | None = None, tenant: str | None = None) -> list[Layer]:
    """The layers that apply to (trait, model, tenant), most specific first; defaults excluded."""
    layers = tenant_layers(cfg, trait, model, tenant)
    if model:
        layers.append(_layer("model", cfg.main_file, ("models", model, trait), _table(cfg.models.get(model), trait)))
    table = cfg.traits.get(trait)
    layers.append(Layer("global", cfg.main_file, ("traits", trait), _settings(table), envvars.names(table)))
    return layers


def _layer(kind: str, file: str, path: tuple[str, ...], values: Mapping[str, Any]) -> Layer:
    if envvars.ENV_KEY not in values:
        return Layer(kind, file, path, values)
    return Layer(kind, file, path, envvars.without_env(values), envvars.names(values))


def _settings(trait_table: Any) -> Mapping[str, Any]:
    if not isinstance(trait_table, Mapping):
        return {}
    return {k: v for k, v in trait_table.items() if k not in RESERVED_TRAIT_KEYS}


def schema_of(cfg: ConfigData, trait: str) -> Mapping[str, Mapping[str, Any]]:
    """``[traits.<T>.schema]``: key → rule table."""
    return _table(cfg.traits.get(trait), "schema")


def resolve(key: str, layers: Iterable[Layer], schema: Mapping[str, Mapping[str, Any]] | None = None,
            environ: Mapping[str, str] | None = None) -> Resolved:
    """Return the effective value of ``key``: the first layer defining it, else the schema default.
    When the winning layer's ``env`` names a variable for ``key`` and ``environ`` sets it, the
    variable's text (converted as Laravel's ``env()`` does) is the value.

    :param key: a key of the trait's settings (may be dotted for nested tables: ``mail.from``).
    :param layers: from :func:`layers_for`, most specific first.
    :param schema: the trait's schema, for the default.
    :param environ: the environment (``None``: variables are not consulted).
    """
    defining = []
    for layer in layers:
        found, value = _lookup(layer.values, key)
        if found:
            defining.append((layer, value))
    rule = (schema or {}).get(key)
    if isinstance(rule, Mapping) and "default" in rule:
        defining.append((Layer("default", "", ("schema", key, "default"), {key: rule["default"]}), rule["default"]))
    if not defining:
        return Resolved(key, None, False, None, ())
    winner, value = defining[0]
    variable, from_env = envvars.lookup(winner.env, key, environ) if winner.env else (None, envvars.MISSING)
    if from_env is not envvars.MISSING:
        return Resolved(key, from_env, True, winner, tuple(layer for layer, _ in defining), variable, True)
    return Resolved(key, value, True, winner, tuple(layer for layer, _ in defining), variable)


def _lookup(values: Mapping[str, Any], key: str) -> tuple[bool, Any]:
    if key in values:
        return True, values[key]
    current: Any = values
    for part in key.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return False, None
        current = current[part]
    return True, current


def effective(cfg: ConfigData, trait: str, model: str | None = None, tenant: str | None = None,
              environ: Mapping[str, str] | None = None) -> dict[str, Resolved]:
    """Every key of a trait (from any layer or the schema) resolved for (model, tenant), sorted."""
    layers = layers_for(cfg, trait, model, tenant)
    schema = schema_of(cfg, trait)
    keys = set(schema)
    for layer in layers:
        keys.update(layer.values)
    return {key: resolve(key, layers, schema, environ) for key in sorted(keys)}


# -- values and schema rules ----------------------------------------------------------------------
def parse_value(raw: str, rule: Mapping[str, Any] | None) -> Any:
    """Turn a command-line VALUE into a typed value: TOML literal syntax (``42``, ``true``,
    ``"text"``, ``[1, 2]``, ``{a = 1}``). For a key whose schema type is ``string`` an unquoted
    word is taken as the string itself.

    :raises InputError: when ``raw`` is not a TOML value.
    """
    import tomllib

    from traitctl.engine.limits import check_value_text

    if isinstance(rule, Mapping) and rule.get("type") == "string" and not raw.lstrip().startswith(('"', "'")):
        return raw
    check_value_text(raw, f"VALUE {_short(raw)}")
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        raise InputError(
            f"{raw!r} is not a TOML value: quote strings (\"text\"), write numbers, true/false, [arrays] or {{tables}}."
        ) from None


def _short(text: str, width: int = 40) -> str:
    return repr(text if len(text) <= width else text[:width] + "…")


def check_value(path: tuple[str, ...], value: Any, rule: Mapping[str, Any] | None) -> str | None:
    """Return what is wrong with ``value`` under ``rule`` (a schema table), or ``None``."""
    if not isinstance(rule, Mapping):
        return None
    where = " -> ".join(path)
    kind = rule.get("type")
    if kind and not _is_type(value, kind):
        return f"{where}: expected {kind}, got {_type_name(value)} {literal(value)}"
    if "min" in rule and _is_number(value) and value < rule["min"]:
        return f"{where}: {literal(value)} is below the minimum {literal(rule['min'])}"
    if "max" in rule and _is_number(value) and value > rule["max"]:
        return f"{where}: {literal(value)} is above the maximum {literal(rule['max'])}"
    allowed = rule.get("allowed")
    if isinstance(allowed, list) and allowed:
        items = value if kind == "array" and isinstance(value, list) else [value]
        bad = [v for v in items if v not in allowed]
        if bad:
            return f"{where}: {literal(bad[0])} is not one of {', '.join(literal(a) for a in allowed)}"
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_type(value: Any, kind: str) -> bool:
    import datetime as dt

    checks = {
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "float": _is_number,
        "boolean": lambda v: isinstance(v, bool),
        "array": lambda v: isinstance(v, list),
        "table": lambda v: isinstance(v, Mapping),
        "datetime": lambda v: isinstance(v, (dt.datetime, dt.date, dt.time)),
    }
    return checks.get(kind, lambda v: True)(value)


def _type_name(value: Any) -> str:
    for kind in ("boolean", "integer", "float", "string", "array", "table", "datetime"):
        if _is_type(value, kind):
            return kind
    return type(value).__name__


def check_rule(path: tuple[str, ...], rule: Any) -> list[str]:
    """Problems with a schema rule itself (unknown type or field, default breaking the rule)."""
    where = " -> ".join(path)
    if not isinstance(rule, Mapping):
        return [f"{where}: a schema entry must be a table such as {{ type = \"integer\", default = 1 }}"]
    problems = []
    if rule.get("type") not in SCHEMA_TYPES:
        problems.append(f"{where} -> type: {literal(rule.get('type'))} is not one of {', '.join(SCHEMA_TYPES)}")
    for unknown in sorted(set(rule) - SCHEMA_FIELDS):
        problems.append(f"{where}: unknown schema field '{unknown}'")
    if "default" in rule and not problems:
        problem = check_value(path + ("default",), rule["default"], rule)
        if problem:
            problems.append(problem)
    return problems


def validate_set(cfg: ConfigData, trait: str, key: str, value: Any, path: tuple[str, ...]) -> None:
    """Check one value about to be written; raise :class:`ValidationError` (exit 2) when it breaks
    the trait's schema or the key is unknown to a declared schema."""
    schema = schema_of(cfg, trait)
    top = key.split(".", 1)[0]
    if schema and top not in schema:
        from traitctl.engine.errors import suggest

        raise ValidationError(f"{' -> '.join(path)}: unknown key '{key}' for trait {trait}.{suggest(key, schema)}")
    if key in RESERVED_TRAIT_KEYS:
        raise ValidationError(f"{' -> '.join(path)}: '{key}' is reserved; edit the file to change it.")
    problem = check_value(path, value, schema.get(key))
    if problem:
        raise ValidationError(problem)


def validate(cfg: ConfigData, known_models: Iterable[str] | None = None) -> list[Problem]:
    """Every problem in the configuration: schema types and ranges, unknown keys, unknown traits,
    overrides for models that do not exist (when ``known_models`` is given) and bad tenants.

    :param known_models: model FQNs found in the source (the inventory), or ``None`` to skip.
    """
    problems: list[Problem] = []
    traits = cfg.traits
    for trait, table in traits.items():
        if not isinstance(table, Mapping):
            problems.append(Problem(cfg.main_file, ("traits", trait), "must be a table"))
            continue
        for key, rule in _table(table, "schema").items():
            for message in check_rule(("traits", trait, "schema", key), rule):
                problems.append(Problem(cfg.main_file, ("traits", trait, "schema", key), message))
        problems += _check_values(cfg, cfg.main_file, ("traits", trait), trait, _settings(table))
    problems += _check_model_tables(cfg, cfg.main_file, ("models",), cfg.models, known_models)
    for tenant in cfg.tenants.values():
        problems += _check_tenant(cfg, tenant, known_models)
    for tenant_id in cfg.duplicated_tenants:
        problems.append(Problem(cfg.main_file, ("tenants", tenant_id),
                                f"tenant '{tenant_id}' is defined here and in tenants/{tenant_id}.toml; keep one"))
    return sorted(problems, key=lambda p: (p.file, p.path, p.message))


def _check_values(cfg: ConfigData, file: str, path: tuple[str, ...], trait: str,
                  values: Mapping[str, Any]) -> list[Problem]:
    if trait not in cfg.traits:
        from traitctl.engine.errors import suggest

        return [Problem(file, path, f"unknown trait '{trait}'.{suggest(trait, cfg.traits)}")]
    schema = schema_of(cfg, trait)
    problems = []
    for key, value in values.items():
        if key == envvars.ENV_KEY:
            continue  # checked by env_problems
        if key == CACHE_TTL_KEY and key not in schema:  # every trait may be cached (docs/cache.md)
            if (ttl_message := ttl_problem(value)) is not None:
                problems.append(Problem(file, path + (key,), f"{' -> '.join(path + (key,))}: {ttl_message}"))
            continue
        if schema and key not in schema:
            problems.append(Problem(file, path + (key,), f"unknown key '{key}' (not in the schema of {trait})"))
            continue
        message = check_value(path + (key,), value, schema.get(key))
        if message:
            problems.append(Problem(file, path + (key,), message))
    return problems


def _check_model_tables(cfg: ConfigData, file: str, path: tuple[str, ...], models: Mapping[str, Any],
                        known_models: Iterable[str] | None) -> list[Problem]:
    known = {m.lower() for m in known_models} if known_models is not None else None
    problems = _model_shapes(file, path, models)
    for model, by_trait in models.items():
        if known is not None and model.lstrip("\\").lower() not in known:
            problems.append(Problem(file, path + (model,), f"override for model '{model}', which the source does not declare"))
        if not isinstance(by_trait, Mapping):
            continue
        for trait, values in by_trait.items():
            if isinstance(values, Mapping):
                problems += _check_values(cfg, file, path + (model, trait), trait, values)
    return problems


def _model_shapes(file: str, path: tuple[str, ...], models: Mapping[str, Any]) -> list[Problem]:
    """A model override that is not a table of traits, or a trait of it that is not a table of settings."""
    problems = []
    for model, by_trait in models.items():
        if not isinstance(by_trait, Mapping):
            problems.append(Problem(file, path + (model,), "must be a table of traits"))
            continue
        problems += [Problem(file, path + (model, trait), "must be a table of settings")
                     for trait, values in by_trait.items() if not isinstance(values, Mapping)]
    return problems


def tenant_shape_problems(cfg: ConfigData, tenant: TenantSource) -> list[Problem]:
    """The tables of a tenant that are of the wrong shape (the tenant itself, its ``traits`` or
    ``models``, a trait or model of them that is no table): resolution would read each as empty,
    so every command that reads the tenant refuses them as ``config validate`` reports them."""
    base = tenant.prefix
    if base:  # [tenants.<id>] of the main file: the loader reads a value that is no table as {}
        raw = _table(cfg.main, "tenants").get(tenant.id)
        if raw is not None and not isinstance(raw, Mapping):
            return [Problem(tenant.file, base, f"tenants -> {tenant.id}: must be a table ([tenants.{tenant.id}] "
                                               f"with name, traits, models), not {literal(raw)}")]
    doc = tenant.doc or {}
    problems = []
    for key, shape in (("traits", "<Trait> = { key = value }"), ("models", "'<FQN>'.<Trait> = { key = value }")):
        if key in doc and not isinstance(doc[key], Mapping):
            problems.append(Problem(tenant.file, base + (key,), f"{' -> '.join(base + (key,))}: must be a table "
                                                                f"of {key} ({key}.{shape}), not {literal(doc[key])}"))
    for trait, values in _table(doc, "traits").items():
        if not isinstance(values, Mapping):
            where = " -> ".join(base + ("traits", trait))
            problems.append(Problem(tenant.file, base + ("traits", trait),
                                    f"{where}: must be a table of settings, not {literal(values)}"))
    return problems + _model_shapes(tenant.file, base + ("models",), _table(doc, "models"))


def _check_tenant(cfg: ConfigData, tenant: TenantSource, known_models: Iterable[str] | None) -> list[Problem]:
    base = tenant.prefix
    if not TENANT_ID_RE.match(tenant.id):
        return [Problem(tenant.file, base or (tenant.id,), f"invalid tenant id '{tenant.id}'")]
    raw = _table(cfg.main, "tenants").get(tenant.id) if base else None
    if base and raw is not None and not isinstance(raw, Mapping):
        return tenant_shape_problems(cfg, tenant)
    doc = tenant.doc or {}
    problems = []
    for key in sorted(set(doc) - TENANT_META_KEYS):
        if not isinstance(doc[key], Mapping):
            continue
        problems.append(Problem(tenant.file, base + (key,), f"unknown tenant section '{key}': use traits or models"))
    models = base + ("models",)  # the shapes of its model tables: with the rest of them, below
    problems += [p for p in tenant_shape_problems(cfg, tenant) if not (p.path[:len(models)] == models
                                                                          and len(p.path) > len(models))]
    for trait, values in _table(doc, "traits").items():
        if isinstance(values, Mapping):
            problems += _check_values(cfg, tenant.file, base + ("traits", trait), trait, values)
    problems += _check_model_tables(cfg, tenant.file, base + ("models",), _table(doc, "models"), known_models)
    if not cfg.section("multi_tenancy").get("enabled", False) and (_table(doc, "traits") or _table(doc, "models")):
        problems.append(Problem(tenant.file, base, "tenant overrides exist but [multi_tenancy] enabled is false"))
    return problems


def settings_tables(cfg: ConfigData) -> list[tuple[str, tuple[str, ...], Mapping[str, Any]]]:
    """Every settings table of the configuration: (file, key path, table); global, model, and the
    loaded tenants' trait and model tables."""
    found = [(cfg.main_file, ("traits", t), v) for t, v in cfg.traits.items() if isinstance(v, Mapping)]
    found += _model_tables(cfg.main_file, ("models",), cfg.models)
    for tenant in cfg.tenants.values():
        doc = tenant.doc or {}
        found += [(tenant.file, tenant.prefix + ("traits", t), v) for t, v in _table(doc, "traits").items()
                  if isinstance(v, Mapping)]
        found += _model_tables(tenant.file, tenant.prefix + ("models",), _table(doc, "models"))
    return found


def _model_tables(file: str, path: tuple[str, ...], models: Mapping[str, Any]) -> list:
    return [(file, path + (m, t), v) for m, by_trait in models.items() if isinstance(by_trait, Mapping)
            for t, v in by_trait.items() if isinstance(v, Mapping)]


def env_problems(cfg: ConfigData) -> list[Problem]:
    """``env`` sub-tables that name a key the table does not set or an invalid variable name."""
    return [Problem(file, path + (envvars.ENV_KEY,), message)
            for file, path, table in settings_tables(cfg)
            for message in envvars.problems(table, " -> ".join(path))]


def table_path(trait: str, model: str | None, tenant: TenantSource | None) -> tuple[str, ...]:
    """The key path of the table an override is written to, inside the tenant's file or the main file."""
    if tenant is not None:
        return tenant.prefix + (("models", model, trait) if model else ("traits", trait))
    return ("models", model, trait) if model else ("traits", trait)


def format_value(value: Any) -> str:
    """A value as a TOML literal, for display (strings quoted, tables inline): :func:`~traitctl.engine.errors.literal`."""
    return literal(value)


def plain_value(value: Any) -> str:
    """A value as ``config get`` prints it: strings bare (like ``git config``), others as TOML."""
    return value if isinstance(value, str) else format_value(value)
