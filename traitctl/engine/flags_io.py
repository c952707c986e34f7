"""Reading the seeds' Laravel ``config/feature_flags.php`` back (tree-sitter-php, never executed).
Pure: text in, data out. Writing the Laravel files is :mod:`traitctl.engine.export_laravel`, the flagd
export :mod:`traitctl.engine.export_flagd`."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from traitctl.engine.errors import InputError, literal

#: Deepest nesting of arrays read from a flag file (its flags need three levels); deeper is refused
#: instead of running the reader out of stack.
MAX_PHP_DEPTH = 32


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
    number: float | None = None
    if isinstance(value, bool):
        number = float(value)
    elif isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            pass
    if number is not None and math.isfinite(number):
        return number
    raise InputError(f"{path}: percentages.{name} = {_php_literal(value)} is not a {'finite ' if number is not None else ''}"
                     "number.")


def _php_literal(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return "NAN" if math.isnan(value) else ("-INF" if value < 0 else "INF")
    return literal(value) if not isinstance(value, str) else "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _php_return_array(text: str, path: str, warnings: list[str]) -> Any:
    import tree_sitter as ts
    import tree_sitter_php as tsp

    parser = ts.Parser(ts.Language(tsp.language_php()))
    root = parser.parse(text.encode("utf-8")).root_node
    for node in root.named_children:
        if node.type == "return_statement" and node.named_children:
            return _php_node(node.named_children[0], path, warnings, 0)
    raise InputError(f"{path}: no `return [...]` statement found.")


def _php_node(node: Any, path: str, warnings: list[str], depth: int) -> Any:
    kind = node.type
    if depth >= MAX_PHP_DEPTH:
        raise InputError(f"{path}:{node.start_point[0] + 1}: values nested more than {MAX_PHP_DEPTH} deep; "
                         "a flag file has 'features' and 'percentages' arrays of flags.")
    if kind == "array_creation_expression":
        return _php_array(node, path, warnings, depth + 1)
    if kind in ("string", "encapsed_string"):
        return _php_string(node, path)
    if kind == "boolean":
        return node.text.decode().lower() == "true"
    if kind == "integer":
        digits = node.text.decode().replace("_", "")
        if len(digits) > 1 and digits[0] == "0" and digits[1:].isdigit():
            return int(digits, 8)  # 0755: PHP's octal
        return int(digits, 0)
    if kind == "float":
        return float(node.text.decode().replace("_", ""))
    if kind == "null":
        return None
    if kind == "unary_op_expression" and node.text.decode().startswith("-"):
        value = _php_node(node.named_children[-1], path, warnings, depth + 1)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return -value
    elif kind == "function_call_expression" and node.named_children[0].text.decode() == "env":
        return _php_env(node, path, warnings, depth + 1)
    line = node.start_point[0] + 1
    raise InputError(f"{path}:{line}: cannot read {node.text.decode()[:40]!r} (only literals, arrays and env()).")


def _php_array(node: Any, path: str, warnings: list[str], depth: int) -> Any:
    items = [c for c in node.named_children if c.type == "array_element_initializer"]
    keyed = [c.named_children for c in items]
    if keyed and all(len(k) == 2 for k in keyed):
        return {_php_key(k, path, warnings, depth): _php_node(v, path, warnings, depth) for k, v in keyed}
    return [_php_node(k[-1], path, warnings, depth) for k in keyed]


def _php_key(node: Any, path: str, warnings: list[str], depth: int) -> Any:
    """An array key: a string or a whole number (PHP's own rule; a float key is cut to its whole part)."""
    key = _php_node(node, path, warnings, depth)
    if isinstance(key, float) and math.isfinite(key):
        return int(key)
    if isinstance(key, (str, int)) and not isinstance(key, bool):
        return key
    raise InputError(f"{path}:{node.start_point[0] + 1}: {node.text.decode()[:40]!r} cannot be an array key "
                     "(use a string or a whole number).")


#: The escapes of a double-quoted PHP string (any other backslash stays as written, as in PHP).
_PHP_ESCAPE = re.compile(r"\\(?:([nrtvef\\$\"])|([0-7]{1,3})|x([0-9A-Fa-f]{1,2})|u\{([0-9A-Fa-f]+)\})")
_PHP_SIMPLE = {"n": b"\n", "r": b"\r", "t": b"\t", "v": b"\v", "e": b"\x1b", "f": b"\f", "\\": b"\\", "$": b"$",
               '"': b'"'}


def _php_string(node: Any, path: str) -> str:
    raw = "".join(c.text.decode() for c in node.named_children)
    if node.type == "string":  # single-quoted: only \' and \\ are escapes
        return raw.replace("\\\\", "\0").replace("\\'", "'").replace("\0", "\\")
    if "\\" not in raw:
        return raw
    # PHP strings are bytes: \xhh and octal escapes are bytes of the UTF-8 text, \u{…} a code point
    out, start = bytearray(), 0
    for match in _PHP_ESCAPE.finditer(raw):
        out += raw[start:match.start()].encode("utf-8")
        simple, octal, hexa, code = match.groups()
        if simple is not None:
            out += _PHP_SIMPLE[simple]
        elif octal is not None or hexa is not None:
            out.append(int(octal, 8) & 0xFF if octal is not None else int(hexa, 16))
        elif int(code, 16) <= 0x10FFFF and not 0xD800 <= int(code, 16) <= 0xDFFF:
            out += chr(int(code, 16)).encode("utf-8")
        else:
            raise InputError(f"{path}:{node.start_point[0] + 1}: {match.group(0)!r} is not a Unicode code point.")
        start = match.end()
    out += raw[start:].encode("utf-8")
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}:{node.start_point[0] + 1}: the string {node.text.decode()[:40]} is not UTF-8 "
                         f"text once its escapes are read (byte {exc.start}).") from None


def _php_env(node: Any, path: str, warnings: list[str], depth: int) -> Any:
    args = [a.named_children[0] for a in node.named_children[1].named_children if a.named_children]
    name = _php_node(args[0], path, warnings, depth) if args else None
    default = _php_node(args[1], path, warnings, depth) if len(args) > 1 else None
    if not isinstance(name, str):
        raise InputError(f"{path}:{node.start_point[0] + 1}: env() needs a variable name as its first argument.")
    return EnvCall(name, _plain(default))
