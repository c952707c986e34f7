"""Limits on configuration text, checked before the full parse.

A TOML value nested thousands of levels deep (``[[[[…``, ``{a={a={…``) or a key of thousands of
dotted parts makes the parsers recurse until Python's stack runs out, or spend seconds and
hundreds of megabytes per read. :func:`nesting` measures the raw text cheaply (regular
expressions only; no parse), so a file or a command-line value past the limit is refused with one
sentence instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from traitctl.engine.errors import ConfigFileError, InputError

#: Default largest configuration file read (bytes); ``TRAITCTL_MAX_CONFIG_BYTES`` raises it.
DEFAULT_MAX_BYTES = 16 * 1024 * 1024
#: Default deepest nesting (arrays, inline tables, dotted-key parts); ``TRAITCTL_MAX_CONFIG_DEPTH``.
DEFAULT_MAX_DEPTH = 50
#: tomlkit (the editor) refuses values nested more than 100 levels; a higher limit could be read
#: but never edited.
HARD_MAX_DEPTH = 100

BYTES_VAR = "TRAITCTL_MAX_CONFIG_BYTES"
DEPTH_VAR = "TRAITCTL_MAX_CONFIG_DEPTH"


@dataclass(frozen=True)
class ConfigLimits:
    """How large and how deeply nested a configuration file may be.

    :param max_bytes: largest file size read.
    :param max_depth: deepest nesting of arrays and inline tables, and most parts of a dotted key.
    """

    max_bytes: int = DEFAULT_MAX_BYTES
    max_depth: int = DEFAULT_MAX_DEPTH


# Strings and comments, whose brackets and dots are text, not structure.
_OPAQUE = re.compile(r'"(?:""[\s\S]*?"""|[^"\\\n]*(?:\\.[^"\\\n]*)*")|\'(?:\'\'[\s\S]*?\'\'\'|[^\'\n]*\')|#[^\n]*')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_PAIR = re.compile(r"\[\]|\{\}")
_TOKEN = re.compile(_OPAQUE.pattern + r"|[\[\]{}\n]")


def _dotted(text: str, limit: int) -> bool:
    # A key of limit+1 parts is a run of key characters holding ``limit`` dots: find long runs
    # first (fast), then check the few found exactly (bare words or the "" left of a quoted part).
    exact = re.compile(r'(?:(?:[A-Za-z0-9_-]+|"")[ \t]*\.[ \t]*){%d}(?:[A-Za-z0-9_-]|")' % limit)
    for run in re.finditer(r'[A-Za-z0-9_"\-. \t]{%d,}' % (2 * limit + 1), text):
        if run.group().count(".") >= limit and exact.search(run.group()):
            return True
    return False


def nesting(text: str, limit: int) -> int:
    """How deep ``text`` (TOML) nests, counted up to ``limit + 1``: the deepest run of open
    brackets/braces outside strings and comments, or the most parts of a dotted key.

    :param limit: stop counting past this (the result is then ``limit + 1``).
    """
    plain = _OPAQUE.sub('""', text)
    if _dotted(plain, limit):
        return limit + 1
    brackets, depth = _NOT_BRACKET.sub("", plain), 0
    while brackets and depth <= limit:
        shorter = _PAIR.sub("", brackets)
        if shorter == brackets:  # unbalanced: the parser will say where
            break
        brackets, depth = shorter, depth + 1
    return depth


def deep_line(text: str, limit: int) -> int:
    """The line (1-based) where bracket nesting first passes ``limit``, else the first line."""
    depth, line = 0, 1
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token == "\n":
            line += 1
        elif token in "[{":
            depth += 1
            if depth > limit:
                return line
        elif token in "]}":
            depth -= 1
        else:
            line += token.count("\n")
    return 1


def check_file_text(text: str, where: str, limits: ConfigLimits) -> None:
    """Refuse configuration text nested deeper than the limit.

    :raises ConfigFileError: naming the file, the line, the limit and the variable that raises it.
    """
    limit = limits.max_depth
    if text.count("[") + text.count("{") <= limit and text.count(".") < limit:
        return  # too few brackets to nest past the limit, too few dots for a key of that many parts
    if nesting(text, limit) > limit:
        line = deep_line(text, limits.max_depth)
        raise ConfigFileError(f"{where}:{line}: nested more than {limits.max_depth} levels deep (arrays, inline tables "
                              f"or dotted-key parts); simplify it, or raise the limit with {DEPTH_VAR} "
                              f"(at most {HARD_MAX_DEPTH}).")


def check_file_size(size: int, where: str, limits: ConfigLimits) -> None:
    """Refuse a configuration file larger than the limit.

    :raises ConfigFileError: naming the file, both sizes and the variable that raises the limit.
    """
    if size > limits.max_bytes:
        raise ConfigFileError(f"{where} has {size} bytes, more than the limit of {limits.max_bytes}; "
                              f"raise it with {BYTES_VAR}={size} if the file is meant to be this large.")


def check_value_text(text: str, what: str, limit: int = DEFAULT_MAX_DEPTH) -> None:
    """Refuse a command-line TOML value (or dotted key) nested deeper than ``limit``.

    :raises InputError: naming the option or key.
    """
    if nesting(text, limit) > limit:
        raise InputError(f"{what} is nested more than {limit} levels deep (arrays, tables or dotted-key parts); "
                         "give a flatter value.")


def limits_from(raw_bytes: str | None, raw_depth: str | None) -> ConfigLimits:
    """:class:`ConfigLimits` from the two environment values (``None``: the default).

    :raises InputError: naming the variable when a value is not a positive whole number.
    """
    return ConfigLimits(max_bytes=_positive(BYTES_VAR, raw_bytes, DEFAULT_MAX_BYTES),
                        max_depth=min(_positive(DEPTH_VAR, raw_depth, DEFAULT_MAX_DEPTH), HARD_MAX_DEPTH))


def _positive(name: str, raw: str | None, default: int) -> int:
    if raw is None or not raw.strip():
        return default
    text = raw.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 18 or int(text) < 1:  # "²" is a digit int() refuses
        raise InputError(f"{name}={raw!r} is not a positive whole number.")
    return int(text)
