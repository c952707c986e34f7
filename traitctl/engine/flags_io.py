"""Reading the seeds' Laravel ``config/feature_flags.php`` back (tree-sitter-php, never executed).
Pure: text in, data out. Writing the Laravel files is :mod:`traitctl.engine.export_laravel`, the flagd
export :mod:`traitctl.engine.export_flagd`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from traitctl.engine.errors import InputError


# -- PHP literals (for messages) -----------------------------------------------------------------------------------------
# -- reading a Laravel flag file ------------------------------------------------------------------------------------------
def parse_laravel(text: str, path: str = "<php>") -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Flags of a ``feature_flags.php`` (``features`` and ``percentages``) parsed with tree-sitter-php
    (never executed), mapped so that traitctl answers exactly as the seeds' ``FeatureFlagService::isEnabled``
    does with the file's values: that code checks the percentage first (``percentage > 0``: on iff
    ``crc32(seed) % 100 <= percentage``, whatever the switch says), then the switch.

    ``env('NAME', default)`` keeps its name in the flag's ``env`` table; its default is the value.

    :returns: flag name -> its ``[flags.<name>]`` keys, and warnings.
    :raises InputError: when the file has no ``return [...]``, the value is not an array, or a
        percentage is not a number.
    """
    warnings: list[str] = []
    data = _php_return_array(text, path, warnings)
    if not isinstance(data, Mapping):
        raise InputError(f"{path}: the returned value is not an array of 'features' and 'percentages'.")
    features = _plain(data.get("features")) or {}
    percentages = _plain(data.get("percentages")) or {}
    if not isinstance(features, Mapping) or not isinstance(percentages, Mapping):
        raise InputError(f"{path}: 'features' and 'percentages' must be arrays keyed by flag name.")
    flags: dict[str, dict[str, Any]] = {}
    for name in list(features) + [n for n in percentages if n not in features]:
        flags[str(name)] = seed_flag(str(name), features.get(name, False), percentages.get(name), path, warnings)
    return flags, warnings


class EnvCall:
    """``env('NAME', default)`` in a PHP file: the variable's name and the default."""

    def __init__(self, name: Any, default: Any) -> None:
        self.name, self.default = name, default


def _plain(value: Any) -> Any:
    return value.default if isinstance(value, EnvCall) else value


def seed_flag(name: str, switch: Any, percentage: Any, path: str, warnings: list[str]) -> dict[str, Any]:
    """The ``[flags.<name>]`` keys equivalent to the seeds' ``features``/``percentages`` entries.

    The seeds decide ``percentage > 0 ? bucket <= percentage : (bool) switch`` with ``bucket =
    crc32("<flag>:<subject>") % 100``. traitctl's ``crc32-seed`` decides ``!enabled ? off :
    percentage == 0 ? on : bucket <= percentage``; the two agree when ``enabled`` is true whenever the
    percentage is above 0, and ``enabled`` is the switch when it is 0.
    """
    env: dict[str, str] = {}
    if isinstance(switch, EnvCall):
        env["enabled"] = str(switch.name)
    if isinstance(percentage, EnvCall):
        env["percentage"] = str(percentage.name)
    on, pct = _php_truthy(_plain(switch)), _seed_percentage(name, _plain(percentage), path)
    entry: dict[str, Any] = {"bucketing": "crc32-seed"}
    if pct is None or pct <= 0:
        entry["enabled"] = on
        if pct is not None:
            entry["percentage"] = 0
    elif pct < 1:  # bucket <= 0.5: bucket 0 alone, which crc32-seed (0 = the switch) cannot say
        entry.update(enabled=True, percentage=1, bucketing="crc32")
    else:
        entry.update(enabled=True, percentage=min(100, int(pct)))  # bucket <= 10.5 is bucket <= 10
    if env:
        entry["env"] = env
    if "percentage" in env and not entry["enabled"]:
        warnings.append(f"{path}: flag {name}: the seeds check the percentage before the switch, traitctl the "
                        f"switch first: they disagree if {env['percentage']} is set above 0 while the switch is off.")
    if "enabled" in env and entry["enabled"] and pct is not None and pct > 0:
        warnings.append(f"{path}: flag {name}: the percentage {pct:g} decides in the seeds' code whatever "
                        f"{env['enabled']} says, so the switch is imported as on; setting {env['enabled']} to false "
                        "turns the flag off in traitctl only.")
    return entry


def _php_truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value not in ("", "0")
    return bool(value)


def _seed_percentage(name: str, value: Any, path: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise InputError(f"{path}: percentages.{name} = {value!r} is not a number.")


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
    name = _php_node(args[0], path, warnings) if args else None
    default = _php_node(args[1], path, warnings) if len(args) > 1 else None
    if not isinstance(name, str):
        raise InputError(f"{path}:{node.start_point[0] + 1}: env() needs a variable name as its first argument.")
    return EnvCall(name, _plain(default))
