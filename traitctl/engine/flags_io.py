"""Reading the seeds' Laravel ``config/feature_flags.php`` back (tree-sitter-php, never executed).
Pure: text in, data out. Writing the Laravel files is :mod:`traitctl.engine.export_laravel`, the flagd
export :mod:`traitctl.engine.export_flagd`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from traitctl.engine.errors import InputError


# -- PHP literals (for messages) -----------------------------------------------------------------------------------------
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
