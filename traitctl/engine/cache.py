"""The cache key scheme shared by applications and ``traitctl cache`` (pure: strings in, strings out).

A cached result of a trait operation lives under::

    <prefix>traitctl:<trait>:<model>:<id>:<tenant>:<name>

- ``prefix`` is ``[cache] prefix`` (default :data:`DEFAULT_PREFIX`, Laravel's cache store prefix
  ``config('cache.prefix')`` for an app named ``laravel``): everything that precedes traitctl's part of
  the key in Redis. With a Laravel Redis *connection* prefix (``database.redis.options.prefix``, e.g.
  ``laravel_database_``) the prefix is both together: ``laravel_database_laravel_cache_``.
- ``model`` is the FQN without a leading backslash; ``model``, ``id`` and ``tenant`` are empty when not
  given. Each part has ``%``, ``:`` and ASCII control/space characters written as ``%XX`` (UTF-8
  bytes, upper-case hex), so a part never contains ``:`` and a ``SCAN MATCH`` pattern selects exactly
  the keys of one trait, model or tenant.

The TTL is the trait's ``cache_ttl`` setting (seconds, resolved through every layer like any other
key); a trait without it (or with a value that is not a positive whole number) is not cached.

Example usage::

    cache.key("laravel_cache_", "Cacheable", "price", model="App\\\\Models\\\\Product", id=7, tenant="acme")
    # 'laravel_cache_traitctl:Cacheable:App\\\\Models\\\\Product:7:acme:price'
    cache.pattern("laravel_cache_", "Cacheable", tenant="acme")
    # 'laravel_cache_traitctl:Cacheable:*:*:acme:*'
"""

from __future__ import annotations

import re
from typing import Any

from traitctl.engine.errors import literal

#: Laravel's default ``cache.prefix`` (``Str::slug(env('APP_NAME', 'laravel'), '_').'_cache_'``).
DEFAULT_PREFIX = "laravel_cache_"
NAMESPACE = "traitctl"
TTL_KEY = "cache_ttl"
_ENCODE = re.compile(r"[%:\x00-\x20\x7f]")
_GLOB = re.compile(r"([*?\[\]\\])")
_DIGITS = re.compile(r"[0-9]+\Z")


def part(value: Any) -> str:
    """One key part: ``None`` is empty, anything else its text with ``%``, ``:`` and control
    characters percent-encoded."""
    if value is None:
        return ""
    if isinstance(value, bool):
        value = "1" if value else "0"  # PHP's (string) true; never meant, but the same on both sides
    return _ENCODE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode("utf-8")), str(value))


def _model(model: str | None) -> str | None:
    return None if model is None else model.lstrip("\\")


def name(trait: str, key_name: str, model: str | None = None, id: Any = None, tenant: Any = None) -> str:
    """The key without the prefix (what an application hands to Laravel's cache repository, whose
    store adds ``cache.prefix``)."""
    return ":".join([NAMESPACE, part(trait), part(_model(model)), part(id), part(tenant), part(key_name)])


def key(prefix: str, trait: str, key_name: str, model: str | None = None, id: Any = None, tenant: Any = None) -> str:
    """The full key as it appears in Redis."""
    return prefix + name(trait, key_name, model, id, tenant)


def glob_escape(text: str) -> str:
    """``text`` as a literal in a Redis glob pattern."""
    return _GLOB.sub(r"\\\1", text)


def pattern(prefix: str, trait: str | None = None, model: str | None = None, id: Any = None,
            tenant: Any = None) -> str:
    """The ``SCAN MATCH`` pattern of every key of ``trait`` (all traits when ``None``), narrowed to
    ``model``, ``id`` and ``tenant`` when given."""
    head = glob_escape(prefix) + NAMESPACE + ":"
    if trait is None and model is None and id is None and tenant is None:
        return head + "*"
    parts = [trait, _model(model), id, tenant]
    return head + ":".join("*" if p is None else glob_escape(part(p)) for p in parts) + ":*"


def parse(prefix: str, full_key: str) -> dict[str, str] | None:
    """The parts of a key of this scheme (decoded), or ``None`` when it is not one."""
    if not full_key.startswith(prefix + NAMESPACE + ":"):
        return None
    pieces = full_key[len(prefix) + len(NAMESPACE) + 1:].split(":")
    if len(pieces) != 5:
        return None
    from urllib.parse import unquote

    trait, model, id_, tenant, key_name = (unquote(p) for p in pieces)
    return {"trait": trait, "model": model, "id": id_, "tenant": tenant, "name": key_name}


def ttl(value: Any) -> int | None:
    """A ``cache_ttl`` value as whole seconds, or ``None`` (not cached) when it is absent, not a
    positive whole number, or a string of something else than digits (an ``env()`` value is text)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        value = int(value) if _DIGITS.match(value) else None
    if isinstance(value, int) and value > 0:
        return value
    return None


def ttl_problem(value: Any) -> str | None:
    """Why a configured ``cache_ttl`` is not usable (``None`` when it is)."""
    if ttl(value) is None:
        return f"must be a whole number of seconds of at least 1, not {literal(value)}"
    return None


def prefix_of(section: Any) -> str:
    """``[cache] prefix`` (the default when absent or not a string: validation reports the latter)."""
    from collections.abc import Mapping

    value = section.get("prefix") if isinstance(section, Mapping) else None
    return value if isinstance(value, str) else DEFAULT_PREFIX
