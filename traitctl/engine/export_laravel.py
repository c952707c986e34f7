"""The Laravel export: ``config/traits.php`` and ``config/feature_flags.php`` from a
``traitctl.snapshot/1`` document (see :mod:`traitctl.engine.snapshot`). Pure: a dict in, PHP text out.

Each file has two parts:

- **the seeds' keys**, so the seeds' own ``TraitConfig::get`` and ``FeatureFlagService`` keep working:
  ``traits.<Trait>.<key>`` (the global value, schema default included), ``traits.multi_tenancy``,
  ``traits.tenant_overrides.<tenant>.<Trait>.<key>``, ``feature_flags.features.<flag>`` and
  ``feature_flags.percentages.<flag>`` (translated so that the seeds' ``crc32 % 100 <= percentage``
  gives traitctl's share). Names with dots are nested one array level per dot segment, so Laravel's
  ``config('feature_flags.features.Feature.flexibleRollout.10')`` finds them. What that shape cannot hold
  (model layers, tenant flag settings, other algorithms' subjects, a name that is also the prefix of
  another) is listed in the file's header comment.
- **``'@traitctl'``**: every layer exactly, for ``Traitctl\\TraitConfig`` and ``Traitctl\\FeatureFlags``
  (``integrations/laravel``). No trait can be named ``@traitctl`` (PHP class names cannot contain ``@``).
  Trait settings are one resolved lookup cell per (trait, lookup key) (see :func:`_cells`), for every
  key traitctl's dotted-key rule can reach (the literal key, then nested paths ``mail.from``), with
  the schema defaults folded into the global values.

An ``env`` table becomes ``env('NAME', <value>)`` where the value sits. The returned losses are what
the PHP arrays cannot express exactly (the companion would answer differently); they do not include
what only the seeds' shape lacks (the header says that).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from traitctl.engine.cache import DEFAULT_PREFIX as DEFAULT_CACHE_PREFIX
from traitctl.engine.errors import literal

#: the version of the ``'@traitctl'`` layout; readers refuse other versions.
FORMAT = 1
#: the version of ``traits.php``'s ``'@traitctl'`` layout (2: lookup cells).
TRAITS_FORMAT = 2
EXACT_KEY = "@traitctl"
FLAG_SETTINGS = ("enabled", "percentage", "bucketing", "stickiness", "group")
FLAG_DEFAULTS: dict[str, Any] = {"enabled": False, "percentage": None, "bucketing": "crc32", "stickiness": "user",
                                 "group": None}
_INT_MIN = -(2 ** 63)
_PHP_INT_KEY = re.compile(r"(0|-?[1-9][0-9]*)\Z")


@dataclass(frozen=True)
class Env:
    """A value an environment variable may replace: rendered as ``env('NAME', default)``."""

    name: str
    default: Any


def render(snapshot: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
    """``traits.php`` and ``feature_flags.php`` for ``snapshot``.

    :param snapshot: a ``traitctl.snapshot/1`` document.
    :returns: file name -> PHP text (byte-identical for the same snapshot), and the losses.
    """
    losses: list[str] = []
    notes: list[str] = []
    traits = _render_file("traits.php", snapshot, _traits_body(snapshot, losses, notes), notes)
    notes = []
    flags = _render_file("feature_flags.php", snapshot, _flags_body(snapshot, losses, notes), notes)
    return {"traits.php": traits, "feature_flags.php": flags}, sorted(set(losses))


# -- traits.php ---------------------------------------------------------------------------------------------------------------
def _traits_body(snap: Mapping[str, Any], losses: list[str], notes: list[str]) -> dict[str, Any]:
    traits, models, tenants = _obj(snap, "traits"), _obj(snap, "models"), _obj(snap, "tenants")
    seed: dict[str, Any] = {}
    exact_global = {}
    for trait in sorted(traits):
        table = traits[trait]
        defaults = _obj(table, "defaults")
        _check_values(defaults, f"traits.{trait}.schema", losses)
        exact_global[trait] = _layer(table, f"traits.{trait}", losses, defaults)
        seed[trait] = _seed_table(_with_env(_obj(table, "settings"), _obj(table, "env")), defaults)
    exact_models = {model: {trait: _layer(t, f"models.{model}.{trait}", losses) for trait, t in sorted(by.items())}
                    for model, by in sorted(models.items())}
    exact_tenants, exact_tenant_models, overrides = {}, {}, {}
    for tenant in sorted(tenants):
        doc = tenants[tenant]
        by_trait = _obj(doc, "traits")
        exact_tenants[tenant] = {trait: _layer(t, f"tenants.{tenant}.traits.{trait}", losses)
                                 for trait, t in sorted(by_trait.items())}
        exact_tenant_models[tenant] = {
            model: {trait: _layer(t, f"tenants.{tenant}.models.{model}.{trait}", losses) for trait, t in sorted(by.items())}
            for model, by in sorted(_obj(doc, "models").items())}
        raw = {trait: _with_env(_obj(t, "settings"), _obj(t, "env")) for trait, t in sorted(by_trait.items())}
        if any(raw.values()):
            overrides[tenant] = {trait: v for trait, v in raw.items() if v}
    seed_paths: list[tuple[str, Any]] = [("multi_tenancy", dict(_obj(snap, "multi_tenancy")))]
    for name in ("multi_tenancy", "tenant_overrides", EXACT_KEY):
        if name in seed:
            notes.append(f"trait {name} is shadowed by the key of the same name in traits.php; read it with "
                         "Traitctl\\TraitConfig.")
            seed.pop(name)
    body = _nest(seed_paths, notes, "traits") | _nest(list(seed.items()), notes, "traits")
    tenant_tree = _nest([(t, {trait: _expand(table, notes, f"traits.tenant_overrides.{t}.{trait}")
                              for trait, table in v.items()}) for t, v in overrides.items()],
                        notes, "traits.tenant_overrides")
    if models or any(_obj(d, "models") for d in tenants.values()):
        notes.append("model and tenant+model overrides are only in '@traitctl' (the seeds' TraitConfig has no key for "
                     "them): read them with Traitctl\\TraitConfig::get.")
    body["tenant_overrides"] = tenant_tree
    for model in exact_models:
        if _PHP_INT_KEY.match(model):
            losses.append(f"models.{model}: PHP reads this model name as an integer key of the lookup cells.")
    cells, nullable = _cells(exact_global, exact_models, exact_tenants, exact_tenant_models)
    body[EXACT_KEY] = {"format": TRAITS_FORMAT, "source": snap.get("source"), "digest": snap.get("digest"),
                       "cells": cells, "nullable": nullable, "cache": {"prefix": _cache_prefix(snap)}}
    return body


def _cells(exact_global: Mapping[str, Any], exact_models: Mapping[str, Any], exact_tenants: Mapping[str, Any],
           exact_tenant_models: Mapping[str, Any]) -> tuple[dict[str, Any], list[list[str]]]:
    """The layers as one resolved lookup cell per (trait, lookup key), and the cells holding ``env()``.

    A cell is ``[0 => global value (schema default folded in), '<Model FQN>' => model value, ...,
    1 => [tenant => tenant cell]]``; a tenant cell is ``[0 => tenant value (when the tenant has one),
    '<Model FQN>' => tenant+model value, ...]``. ``get`` reads the tenant cell's model entry, its
    ``0``, then the cell's model entry and its ``0``: tenant+model > tenant > model > global.
    """
    cells: dict[str, dict[str, dict[Any, Any]]] = {}
    for trait, table in exact_global.items():
        for key, value in table.items():
            cells.setdefault(trait, {}).setdefault(key, {})[0] = value
    for model, by_trait in exact_models.items():
        for trait, table in by_trait.items():
            for key, value in table.items():
                cells.setdefault(trait, {}).setdefault(key, {})[model] = value
    own: dict[tuple[str, str], dict[str, Any]] = {}
    pairs: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for tenant, by_trait in exact_tenants.items():
        for trait, table in by_trait.items():
            for key, value in table.items():
                own.setdefault((trait, key), {})[tenant] = value
    for tenant, by_model in exact_tenant_models.items():
        for model, by_trait in by_model.items():
            for trait, table in by_trait.items():
                for key, value in table.items():
                    pairs.setdefault((trait, key), {}).setdefault(tenant, {})[model] = value
    for trait, key in sorted(set(own) | set(pairs)):
        base = cells.setdefault(trait, {}).setdefault(key, {})
        tenants = {}
        for tenant in sorted(set(own.get((trait, key), {})) | set(pairs.get((trait, key), {}))):
            entry: dict[Any, Any] = {}
            if tenant in own.get((trait, key), {}):
                entry[0] = own[(trait, key)][tenant]
            entry.update(sorted(pairs.get((trait, key), {}).get(tenant, {}).items()))
            tenants[tenant] = entry
        base[1] = tenants
    out: dict[str, Any] = {}
    nullable: list[list[str]] = []
    for trait in sorted(cells):
        out[trait] = {}
        for key in sorted(cells[trait]):
            cell = cells[trait][key]
            ordered = {k: cell[k] for k in sorted((k for k in cell if k not in (0, 1)), key=str)}
            if 0 in cell:
                ordered = {0: cell[0], **ordered}
            if 1 in cell:
                ordered[1] = cell[1]
            out[trait][key] = ordered
            if any(isinstance(v, Env) for v in cell.values()) \
                    or any(isinstance(v, Env) for entry in cell.get(1, {}).values() for v in entry.values()):
                nullable.append([trait, key])
    return out, nullable


def _cache_prefix(snap: Mapping[str, Any]) -> str:
    """``[cache] prefix`` as the snapshot carries it (Laravel's default for an older snapshot)."""
    prefix = _obj(snap, "cache").get("prefix")
    return prefix if isinstance(prefix, str) else DEFAULT_CACHE_PREFIX


def _layer(table: Any, where: str, losses: list[str], defaults: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One layer's lookup map; a key its ``env`` names takes the variable's value where the layer
    defines that key (traitctl consults the variable of the winning layer for the key looked up)."""
    settings = _obj(table, "settings")
    _check_values(settings, where, losses)
    out = lookup_map(settings, {})
    for key, name in _obj(table, "env").items():
        if key in out:
            out[key] = Env(str(name), out[key])
    for key, value in (defaults or {}).items():
        out.setdefault(key, value)
    return out


def lookup_map(settings: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """Every key traitctl's lookup finds in ``settings`` (the literal key first, then a nested path of
    dot-free parts through tables), then the ``defaults`` of keys not found, as one flat map."""
    out: dict[str, Any] = dict(settings)  # literal keys win over nested paths
    for key, value in settings.items():
        if isinstance(value, Mapping) and "." not in key:
            _nested_paths(key, value, out)
    for key, value in defaults.items():
        out.setdefault(key, value)
    return out


def _nested_paths(prefix: str, table: Mapping[str, Any], out: dict[str, Any]) -> None:
    for key, value in table.items():
        if "." in key:
            continue  # a part with a dot is never reached: the lookup splits on every dot
        path = f"{prefix}.{key}"
        out.setdefault(path, value)
        if isinstance(value, Mapping):
            _nested_paths(path, value, out)


def _seed_table(settings: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The global table as ``config('traits.<T>.<key>')`` reads it: settings, then schema defaults for
    keys the settings do not reach (dotted keys are nested by :func:`_nest`)."""
    reach = lookup_map(settings, {})
    out = dict(settings)
    for key, value in defaults.items():
        if key not in reach:
            out[key] = value
    return out


def _with_env(settings: Mapping[str, Any], env: Mapping[str, Any]) -> dict[str, Any]:
    """``settings`` with ``env()`` where ``config('traits.<T>.<key>')`` reads each named key (the
    literal key, else its nested path)."""
    out = dict(settings)
    for key, name in env.items():
        if key in out:
            out[key] = Env(str(name), out[key])
            continue
        parts, current = key.split("."), out
        for part in parts[:-1]:
            nxt = current.get(part)
            if not isinstance(nxt, Mapping):
                break
            current[part] = nxt = dict(nxt)
            current = nxt
        else:
            if parts[-1] in current:
                current[parts[-1]] = Env(str(name), current[parts[-1]])
    return out


# -- feature_flags.php ----------------------------------------------------------------------------------------------------------
def _flags_body(snap: Mapping[str, Any], losses: list[str], notes: list[str]) -> dict[str, Any]:
    flags = _obj(snap, "flags")
    features, percentages, exact, overrides = [], [], {}, {}
    for name in sorted(flags):
        table = flags[name]
        base = _flag_settings(table, FLAG_DEFAULTS, f"flags.{name}", losses)
        tenants = {t: _flag_settings(o, base, f"flags.{name}.tenants.{t}", losses)
                   for t, o in sorted(_obj(table, "tenants").items())}
        exact[name] = dict(base, tenants=tenants)
        on, pct = _seed_pair(name, base, notes)
        features.append((name, on))
        percentages.append((name, pct))
        if tenants:
            notes.append(f"flag {name}: tenant settings ({', '.join(tenants)}) are only in '@traitctl'.")
        if base["stickiness"] not in ("user", "model"):
            notes.append(f"flag {name}: stickiness {base['stickiness']} (the seeds' code buckets by user or model).")
        users = {}
        for user, o in sorted(_obj(table, "overrides").items()):
            users[str(user)] = {"on": bool(o.get("on")), "until": _epoch(o.get("expires"), f"flags.{name}.overrides.{user}",
                                                                      losses)}
        if users:
            overrides[name] = users
            notes.append(f"flag {name}: user overrides are only in '@traitctl'.")
    body = {"features": _nest(features, notes, "feature_flags.features"),
            "percentages": _nest(percentages, notes, "feature_flags.percentages"),
            EXACT_KEY: {"format": FORMAT, "source": snap.get("source"), "digest": snap.get("digest"),
                        "flags": exact, "overrides": overrides}}
    return body


def _flag_settings(table: Any, base: Mapping[str, Any], where: str, losses: list[str]) -> dict[str, Any]:
    table = table if isinstance(table, Mapping) else {}
    env = _obj(table, "env")
    out = {}
    for key in FLAG_SETTINGS:
        value = table[key] if key in table else base.get(key)
        if key in table and key in env:
            value = Env(str(env[key]), value)
        elif key not in table and isinstance(base.get(key), Env):
            value = base[key]
        out[key] = value
    for key in env:
        if key not in FLAG_SETTINGS or key not in table:
            losses.append(f"{where}.env.{key}: names {env[key]}, but only a present {'/'.join(FLAG_SETTINGS)} "
                          "key can come from the environment.")
    return out


def _seed_pair(name: str, flag: Mapping[str, Any], notes: list[str]) -> tuple[Any, int]:
    """``(features, percentages)`` so that the seeds' ``percentage > 0 ? crc32 % 100 <= percentage :
    features`` turns on traitctl's share (the same subjects for crc32 and crc32-seed)."""
    enabled, pct, algorithm = flag["enabled"], flag["percentage"], flag["bucketing"]
    if isinstance(pct, Env) or (isinstance(enabled, Env) and pct is not None and pct < 100
                                and not (algorithm == "crc32-seed" and pct == 0)):
        notes.append(f"flag {name}: its environment variables are not read by the seeds' keys (the exported "
                     "defaults are).")
        enabled = enabled.default if isinstance(enabled, Env) else enabled
        pct = pct.default if isinstance(pct, Env) else pct
    if isinstance(enabled, Env):  # the switch alone decides: keep its env()
        return enabled, 0
    share = 0 if not enabled else 100 if pct is None or (algorithm == "crc32-seed" and pct == 0) else int(pct)
    if share <= 0:
        return False, 0
    if share >= 100 or (algorithm == "crc32-seed" and share >= 99):
        return True, 0
    if algorithm == "crc32-seed":
        return True, share
    if algorithm != "crc32":
        notes.append(f"flag {name}: buckets with {algorithm}; the seeds' crc32 turns on the same share of other "
                     "subjects.")
    if share == 1:
        notes.append(f"flag {name}: 1% cannot be said with the seeds' `<=` (percentage 0 means no rollout): off there.")
        return False, 0
    return True, share - 1  # b < p  <=>  b <= p - 1


# -- the dot rule, values, text -----------------------------------------------------------------------------------------------
def _nest(items: list[tuple[str, Any]], notes: list[str], where: str) -> dict[str, Any]:
    """One array level per dot segment of each name (and of the dotted keys of table values), so
    Laravel's dot lookup finds ``<where>.<name>``; literal dotted keys win over nested ones."""
    tree: dict[str, Any] = {}
    ordered = sorted(items, key=lambda kv: (kv[0].count("."), kv[0]))
    for name, value in ordered:
        _insert(tree, name.split("."), _expand(value, notes, f"{where}.{name}"), notes, f"{where}.{name}")
    return tree


def _expand(value: Any, notes: list[str], where: str) -> Any:
    if not isinstance(value, Mapping) or isinstance(value, Env):
        return value
    plain = [(k, v) for k, v in value.items() if "." not in k]
    dotted = sorted(((k, v) for k, v in value.items() if "." in k), key=lambda kv: (kv[0].count("."), kv[0]))
    out: dict[str, Any] = {k: v for k, v in plain}
    for key, item in dotted:
        _insert(out, key.split("."), item, notes, f"{where}.{key}")
    return out


def _insert(tree: dict[str, Any], parts: list[str], value: Any, notes: list[str], where: str) -> None:
    current = tree
    for part in parts[:-1]:
        nxt = current.get(part)
        if nxt is None:
            nxt = current[part] = {}
        elif isinstance(nxt, Mapping) and not isinstance(nxt, Env):
            nxt = current[part] = dict(nxt)
        else:
            notes.append(f"{where}: config() cannot reach it ({part} holds a value); Traitctl classes read it.")
            return
        current = nxt
    if parts[-1] in current and isinstance(current[parts[-1]], Mapping) and current[parts[-1]]:
        notes.append(f"{where}: replaces the nested table of the same path for config() (the literal key wins).")
    current[parts[-1]] = value


def _check_values(values: Mapping[str, Any], where: str, losses: list[str]) -> None:
    for key, value in values.items():
        _check_value(value.default if isinstance(value, Env) else value, f"{where}.{key}", losses)


def _check_value(value: Any, where: str, losses: list[str]) -> None:
    if isinstance(value, Mapping):
        if not value:
            losses.append(f"{where}: an empty table is an empty PHP array, the same as an empty list.")
        elif _php_int_keys(value):
            losses.append(f"{where}: table keys {', '.join(_php_int_keys(value))} become PHP integer keys"
                          + (" (the table reads as a list)" if [str(i) for i in range(len(value))] == list(value)
                             else "") + ".")
        for key, item in value.items():
            _check_value(item, f"{where}.{key}", losses)
    elif isinstance(value, list):
        for number, item in enumerate(value):
            _check_value(item, f"{where}[{number}]", losses)
    elif isinstance(value, float) and math.isnan(value):
        losses.append(f"{where}: nan is not equal to itself in PHP either, but JSON cannot carry it.")


def _php_int_keys(table: Mapping[str, Any]) -> list[str]:
    """Keys PHP turns into integers (canonical decimal integers in the int64 range)."""
    return [key for key in table if _PHP_INT_KEY.match(key) and _INT_MIN <= int(key) < 2 ** 63]


def _epoch(value: Any, where: str, losses: list[str]) -> float | int | None:
    if value is None:
        return None
    try:
        moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    except ValueError:
        losses.append(f"{where}.expires: {literal(value)} is not an ISO 8601 time; exported as never expiring.")
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    seconds = moment.timestamp()
    return int(seconds) if seconds == int(seconds) else seconds


def _obj(doc: Any, key: str) -> Mapping[str, Any]:
    value = doc.get(key) if isinstance(doc, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def _render_file(name: str, snap: Mapping[str, Any], body: Mapping[str, Any], notes: list[str]) -> str:
    lines = [f"// config/{name}: generated by traitctl; do not edit.",
             f"// Source: {snap.get('source', '?')} ({snap.get('digest', 'no digest')})",
             "// Re-create it with `traitctl export --format laravel`. Traitctl\\TraitConfig and",
             "// Traitctl\\FeatureFlags (integrations/laravel) read '@traitctl', every layer exactly;",
             "// the other keys are the shape the seeds' TraitConfig and FeatureFlagService read."]
    if notes:
        lines.append("// Not in the seeds' shape (only in '@traitctl'):")
        lines += [f"//   - {_comment(note)}" for note in sorted(set(notes))]
    return "<?php\n\n" + "\n".join(lines) + f"\n\nreturn {php_literal(body)};\n"


def _comment(text: str) -> str:
    return text.replace("\n", " ").replace("?>", "? >")


def php_literal(value: Any, indent: int = 0) -> str:
    """A PHP literal for a snapshot value: short arrays, single-quoted strings, ``env()`` calls."""
    if isinstance(value, Env):
        return f"env({php_literal(value.name)}, {php_literal(value.default, indent)})"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return "PHP_INT_MIN" if value == _INT_MIN else str(value)
    if isinstance(value, float):
        return _php_float(value)
    if isinstance(value, (dt.date, dt.time)):
        return php_literal(value.isoformat())
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    pad, inner = "    " * indent, "    " * (indent + 1)
    if isinstance(value, Mapping):
        items = [f"{inner}{k if type(k) is int else php_literal(str(k))} => {php_literal(v, indent + 1)},"
                 for k, v in value.items()]
    else:
        items = [f"{inner}{php_literal(v, indent + 1)}," for v in value]
    return "[\n" + "\n".join(items) + f"\n{pad}]" if items else "[]"


def _php_float(value: float) -> str:
    if math.isnan(value):
        return "NAN"
    if math.isinf(value):
        return "INF" if value > 0 else "-INF"
    text = repr(value)
    return text if any(c in text for c in ".en") else text + ".0"
