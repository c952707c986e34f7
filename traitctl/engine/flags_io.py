"""Flag definitions in other formats: the seeds' Laravel ``config/feature_flags.php``
(and ``config/traits.php``), plain JSON; and reading a Laravel flag file back (tree-sitter-php,
never executed). The flagd export is :mod:`traitctl.engine.export_flagd`. Pure: text in, text or data out; each export also returns its warnings (what the
target cannot express exactly)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from traitctl.engine.errors import InputError
from traitctl.engine.flags import Flag

# -- Laravel (the seeds' PHP) ---------------------------------------------------------------------------------------------
def to_laravel(flags: Mapping[str, Flag]) -> tuple[str, list[str]]:
    """``config/feature_flags.php`` as the seeds' ``FeatureFlagService`` reads it (``features``,
    ``percentages``); percentages are translated so that its ``bucket <= p`` rule gives traitctl's answer.

    :returns: the PHP text and warnings for what the seed code cannot express.
    """
    features, percentages, warnings = {}, {}, []
    for flag in flags.values():
        features[flag.name], percentages[flag.name] = _laravel_pair(flag, warnings)
        if flag.tenants:
            warnings.append(f"flag {flag.name}: tenant settings are not expressible in feature_flags.php.")
        if flag.stickiness not in ("user", "model"):
            warnings.append(f"flag {flag.name}: stickiness {flag.stickiness!r} is not expressible (the seed code "
                            "buckets by user id or by model).")
    body = {"features": features, "percentages": percentages}
    header = ("// config/feature_flags.php, written by `traitctl flags export --format laravel`.\n"
              "// Read by App\\Services\\FeatureFlagService: on iff crc32(seed) % 100 <= percentage.\n")
    return php_file(body, header), warnings


def _laravel_pair(flag: Flag, warnings: list[str]) -> tuple[bool, int]:
    share = flag.effective_percentage
    if share == 0:
        return False, 0
    if share >= 100:
        return True, 0
    if flag.bucketing == "crc32-seed":
        return True, share
    if flag.bucketing != "crc32":
        warnings.append(f"flag {flag.name} buckets with {flag.bucketing}; the seed code uses crc32, so the same "
                        "share but other subjects are on.")
        return True, share
    if share == 1:
        warnings.append(f"flag {flag.name}: 1% is not expressible with the seed code's `<=` (its percentage 0 "
                        "means no rollout); exported as off.")
        return False, 0
    return True, share - 1  # crc32: b < p  <=>  b <= p - 1


def traits_php(traits: Mapping[str, Any], multi_tenancy: Mapping[str, Any],
               tenants: Mapping[str, Mapping[str, Any]]) -> str:
    """``config/traits.php`` in the seeds' structure: ``traits.<Trait>.<key>``,
    ``traits.multi_tenancy.*`` and ``traits.tenant_overrides.<tenant>.<Trait>.<key>``.

    :param tenants: tenant id -> that tenant's ``traits`` table.
    """
    body: dict[str, Any] = {"multi_tenancy": dict(multi_tenancy)}
    for trait, table in traits.items():
        if isinstance(table, Mapping):
            body[trait] = {k: v for k, v in table.items() if k not in ("schema", "operations")}
    body["tenant_overrides"] = {t: dict(v) for t, v in sorted(tenants.items()) if v}
    return php_file(body, "// config/traits.php, written by `traitctl flags export --format laravel`.\n")


def php_file(body: Mapping[str, Any], header: str = "") -> str:
    """A PHP config file returning ``body`` as a nested array."""
    return f"<?php\n\n{header}\nreturn {php_value(body, 0)};\n"


def php_value(value: Any, indent: int = 0) -> str:
    """A PHP literal for a TOML value (arrays short syntax, strings single-quoted)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (dt.date, dt.time)):
        return php_value(value.isoformat())
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    pad, inner = "    " * indent, "    " * (indent + 1)
    if isinstance(value, Mapping):
        items = [f"{inner}{php_value(str(k))} => {php_value(v, indent + 1)}," for k, v in value.items()]
    else:
        items = [f"{inner}{php_value(v, indent + 1)}," for v in value]
    return "[\n" + "\n".join(items) + f"\n{pad}]" if items else "[]"


# -- reading a Laravel flag file ------------------------------------------------------------------------------------------
def parse_laravel(text: str, path: str = "<php>") -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Flags of a ``feature_flags.php`` (``features`` and ``percentages``) parsed with tree-sitter-php.

    ``env('NAME', default)`` reads as its default (with a warning naming the variable).

    :returns: flag name -> ``{"enabled", "percentage"}`` (``bucketing = "crc32-seed"``, as that code
        runs), and warnings.
    :raises InputError: when the file has no ``return [...]`` or the value is not an array.
    """
    warnings: list[str] = []
    data = _php_return_array(text, path, warnings)
    if not isinstance(data, Mapping):
        raise InputError(f"{path}: the returned value is not an array of 'features' and 'percentages'.")
    features = data.get("features") or {}
    percentages = data.get("percentages") or {}
    flags: dict[str, dict[str, Any]] = {}
    for name in list(features) + [n for n in percentages if n not in features]:
        entry: dict[str, Any] = {"enabled": bool(features.get(name, False)), "bucketing": "crc32-seed"}
        if name in percentages:
            entry["percentage"] = percentages[name]
        flags[str(name)] = entry
    return flags, warnings


def _php_return_array(text: str, path: str, warnings: list[str]) -> Any:
    import tree_sitter as ts
    import tree_sitter_php as tsp

    parser = ts.Parser(ts.Language(tsp.language_php()))
    root = parser.parse(text.encode("utf-8")).root_node
    for node in root.named_children:
        if node.type == "return_statement" and node.named_children:
            return _php_node(node.named_children[0], path, warnings)
    raise InputError(f"{path}: no `return [...]` statement found.")


def _php_node(node: Any, path: str, warnings: list[str]) -> Any:
    kind = node.type
    if kind == "array_creation_expression":
        return _php_array(node, path, warnings)
    if kind in ("string", "encapsed_string"):
        return _php_string(node)
    if kind == "boolean":
        return node.text.decode().lower() == "true"
    if kind == "integer":
        return int(node.text.decode().replace("_", ""), 0)
    if kind == "float":
        return float(node.text.decode().replace("_", ""))
    if kind == "null":
        return None
    if kind == "unary_op_expression" and node.text.decode().startswith("-"):
        return -_php_node(node.named_children[-1], path, warnings)
    if kind == "function_call_expression" and node.named_children[0].text.decode() == "env":
        return _php_env(node, path, warnings)
    line = node.start_point[0] + 1
    raise InputError(f"{path}:{line}: cannot read {node.text.decode()[:40]!r} (only literals, arrays and env()).")


def _php_array(node: Any, path: str, warnings: list[str]) -> Any:
    items = [c for c in node.named_children if c.type == "array_element_initializer"]
    keyed = [c.named_children for c in items]
    if keyed and all(len(k) == 2 for k in keyed):
        return {_php_node(k, path, warnings): _php_node(v, path, warnings) for k, v in keyed}
    return [_php_node(k[-1], path, warnings) for k in keyed]


def _php_string(node: Any) -> str:
    raw = "".join(c.text.decode() for c in node.named_children)
    if node.type == "string":  # single-quoted: only \' and \\ are escapes
        return raw.replace("\\\\", "\0").replace("\\'", "'").replace("\0", "\\")
    return raw.encode("utf-8").decode("unicode_escape") if "\\" in raw else raw


def _php_env(node: Any, path: str, warnings: list[str]) -> Any:
    args = [a.named_children[0] for a in node.named_children[1].named_children if a.named_children]
    name = _php_node(args[0], path, warnings) if args else "?"
    default = _php_node(args[1], path, warnings) if len(args) > 1 else None
    warnings.append(f"{path}:{node.start_point[0] + 1}: env({name!r}) read as its default {php_value(default)}; "
                    "check the value the environment sets.")
    return default
