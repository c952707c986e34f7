"""Domain exceptions. The CLI catches :class:`TraitctlError` only; each carries its exit code."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def literal(value: object) -> str:
    """How messages show a value: as TOML writes it (``true``, ``"text"``, ``[1, 2]``,
    ``{ a = 1 }``, ``2026-12-01``), never as a Python repr (``True``, ``'text'``, ``datetime.date(…)``)."""
    import datetime as dt
    import json
    from collections.abc import Mapping

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, Mapping):
        inner = ", ".join(f"{k} = {literal(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    if value is None:
        return "nothing"
    return repr(value) if isinstance(value, float) else str(value)


class TraitctlError(Exception):
    """Base of every error traitctl reports to a user.

    :param message: one sentence that names the file, line, key or value at fault.
    :param exit_code: 1 for a failed check or operation, 2 for usage or bad input.
    """

    exit_code = 1

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if exit_code is not None:
            self.exit_code = exit_code


class InputError(TraitctlError):
    """Bad input from the user or a file: a parse error, a wrong type, an out-of-range value."""

    exit_code = 2


class LossyExport(InputError):
    """An export format cannot express part of the configuration (each part in ``losses``)."""

    def __init__(self, message: str, losses: list[str]) -> None:
        super().__init__(message)
        self.losses = losses


class ConfigFileError(InputError):
    """A configuration file cannot be read or parsed."""


class ValidationError(InputError):
    """A value breaks its schema rule."""


class NotFound(InputError):
    """A named trait, model, tenant, flag, metric or event does not exist."""

    def __init__(self, kind: str, name: str, known: Iterable[str] = ()) -> None:
        super().__init__(f"Unknown {kind} '{name}'.{suggest(name, known)}")
        self.kind = kind
        self.name = name


class Conflict(TraitctlError):
    """An operation was refused because the state changed (rollback of a value edited since)."""

    exit_code = 1


class StoreError(TraitctlError):
    """The store (database) cannot be reached or used."""

    exit_code = 2


class LockTimeout(TraitctlError):
    """Another writer holds the configuration lock for longer than the timeout."""

    exit_code = 3


def suggest(name: str, known: Iterable[str]) -> str:
    """Return ' Did you mean X, Y?' for the nearest known names, or '' when none is near.

    :param name: the name the user typed.
    :param known: the names that exist.
    """
    known = list(known)
    lowered = {k.lower(): k for k in known}
    # PHP FQNs are compared by their short name too: 'Produkt' is near 'App\Models\Product'.
    for k in known:
        lowered.setdefault(k.rsplit("\\", 1)[-1].lower(), k)
    close = difflib.get_close_matches(name.lower().rsplit("\\", 1)[-1], list(lowered), n=3, cutoff=0.6)
    close = list(dict.fromkeys(lowered[c].lower() for c in close))
    if not close:
        close = [k for k in lowered if name.lower() in k or k.endswith("\\" + name.lower())][:3]
    if not close:
        return ""
    return " Did you mean " + ", ".join(f"'{lowered[c]}'" for c in close) + "?"
