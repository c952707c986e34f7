"""``env`` tables: an environment variable behind a configured value.

In any settings table (``[traits.<T>]``, ``[models.'<FQN>'.<T>]``, the tenant tables) and in flag
tables (``[flags.<name>]``, ``[flags.<name>.tenants.<id>]``) a sub-table ``env`` maps a key of the
same table to a variable name::

    [traits.Cacheable]
    ttl = 3600
    env = { ttl = "CACHE_TTL" }

The table's value is the default; when the variable is set in the environment passed in, its text
converted as Laravel's ``env()`` converts it (:func:`laravel_value`) is the value instead. Pure: the
environment is always a parameter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

#: the sub-table naming the variables (a reserved key, never a setting).
ENV_KEY = "env"
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

_LITERALS = {"true": True, "(true)": True, "false": False, "(false)": False, "empty": "", "(empty)": "",
             "null": None, "(null)": None}


def laravel_value(text: str) -> Any:
    """The value Laravel's ``env()`` (``Illuminate\\Support\\Env``) gives for a variable's text:
    ``true``/``false``/``empty``/``null`` (optionally in parentheses, any case) become ``True``,
    ``False``, ``""`` and ``None``; a value in matching quotes loses them; anything else stays the
    string it is (numbers are not converted, as in Laravel)."""
    literal = _LITERALS.get(text.lower(), _LITERALS)
    if literal is not _LITERALS:
        return literal
    if len(text) > 1 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def names(table: Any) -> Mapping[str, str]:
    """The ``env`` sub-table of a settings or flag table (empty when absent or malformed)."""
    if not isinstance(table, Mapping):
        return {}
    found = table.get(ENV_KEY)
    if not isinstance(found, Mapping):
        return {}
    return {k: v for k, v in found.items() if isinstance(v, str)}


def lookup(variables: Mapping[str, str], key: str, environ: Mapping[str, str] | None) -> tuple[str | None, Any]:
    """``(variable name, converted value)`` for ``key``: the name is ``None`` when the table names no
    variable for it; the value is :data:`MISSING` when ``environ`` does not set the variable."""
    name = variables.get(key)
    if name is None:
        return None, MISSING
    if environ is None or name not in environ:
        return name, MISSING
    return name, laravel_value(environ[name])


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


#: marks "the variable is not set" (``None`` is a real value: ``null``).
MISSING: Any = _Missing()


def problems(table: Any, where: str) -> list[str]:
    """What is wrong with the ``env`` sub-table of ``table``, each naming ``where -> env -> key``."""
    if not isinstance(table, Mapping) or ENV_KEY not in table:
        return []
    found = table[ENV_KEY]
    if not isinstance(found, Mapping):
        return [f"{where} -> env: must be a table of key = \"VARIABLE_NAME\" (e.g. env = {{ ttl = \"CACHE_TTL\" }})."]
    out = []
    for key, name in found.items():
        if not isinstance(name, str) or not NAME_RE.match(name):
            out.append(f"{where} -> env -> {key}: {name!r} is not an environment variable name "
                       "(letters, digits and '_', not starting with a digit).")
        elif key not in table or key == ENV_KEY:
            out.append(f"{where} -> env -> {key}: names {name} for key '{key}', which the table does not set "
                       "(the table's value is the default).")
    return out


def without_env(table: Mapping[str, Any]) -> dict[str, Any]:
    """``table`` without its ``env`` sub-table."""
    return {k: v for k, v in table.items() if k != ENV_KEY}


def apply_flag(table: Any, environ: Mapping[str, str] | None) -> Any:
    """A flag table (and its tenant tables) with the values of set variables in place of the
    defaults, ``env`` removed. ``enabled`` from a variable follows PHP truthiness of ``env()``'s
    answer (``""``, ``"0"``, ``null`` and ``false`` are off); ``percentage`` from a variable is read
    as a whole number when its text is one."""
    if not isinstance(table, Mapping):
        return table
    out = _apply_flag_level(table, environ)
    tenants = out.get("tenants")
    if isinstance(tenants, Mapping):
        out["tenants"] = {t: _apply_flag_level(v, environ) if isinstance(v, Mapping) else v
                          for t, v in tenants.items()}
    return out


def _apply_flag_level(table: Mapping[str, Any], environ: Mapping[str, str] | None) -> dict[str, Any]:
    variables = names(table)
    out = without_env(table)
    for key in variables:
        _, value = lookup(variables, key, environ)
        if value is not MISSING:
            out[key] = flag_value(key, value)
    return out


def flag_value(key: str, value: Any) -> Any:
    """A flag key's value taken from ``env()``'s answer (see :func:`apply_flag`)."""
    if key == "enabled" and not isinstance(value, bool):
        return value not in (None, "", "0")
    if key == "percentage" and isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value.strip()):
        return int(value.strip())
    return value
