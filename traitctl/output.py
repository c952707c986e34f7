"""The one output object: data to stdout, messages to stderr, Rich only when a table is drawn.

Rich is imported lazily so that commands printing a value or JSON stay off its import cost.
``markup=False`` everywhere: PHP names such as ``App\\Traits\\HasUuid`` and user values with ``[...]``
must never be read as Rich markup.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any


def color_wanted(no_color_flag: bool, env: Mapping[str, str], stream: Any) -> bool:
    """Colour only on a terminal, never with ``NO_COLOR``, ``TERM=dumb`` or ``--no-color``.

    ``FORCE_COLOR`` / ``CLICOLOR_FORCE`` turn it on even when the stream is not a terminal.
    """
    if no_color_flag or env.get("NO_COLOR") or env.get("TERM") == "dumb":
        return False
    if env.get("FORCE_COLOR") or env.get("CLICOLOR_FORCE", "0") not in ("", "0"):
        return True
    return bool(getattr(stream, "isatty", lambda: False)())


#: Characters a terminal could act on: C0 controls but tab and newline, DEL, C1 controls (U+009B is
#: a one-character escape sequence on some terminals), and the bidirectional overrides and
#: isolates that reorder what is shown.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\r": "\\r", "\x1b": "\\e", "\x07": "\\a", "\b": "\\b", "\f": "\\f", "\v": "\\v", "\x00": "\\0"}


def _escape_one(match: re.Match) -> str:
    char = match.group()
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


def printable(text: str, keep: str = "\n\t") -> str:
    """``text`` safe to show on a terminal: control characters (ESC, BEL, CR, NUL, C1, bidi
    overrides) become visible escapes such as ``\\e``, ``\\a``, ``\\r``, ``\\x9b``.

    :param keep: the layout characters left as they are (newline and tab by default; pass ``""``
        to escape them too, for text that must stay on one line).
    """
    out = _CONTROL.sub(_escape_one, text)
    for char in "\n\t":
        if char not in keep:
            out = out.replace(char, "\\n" if char == "\n" else "\\t")
    return out


def json_text(obj: Any, **options: Any) -> str:
    """``obj`` as JSON text that is always valid JSON: non-finite floats (which ``json.dumps``
    would write as the non-JSON ``Infinity`` / ``NaN``) become ``null``.

    :param options: passed to ``json.dumps`` (``indent``, ``sort_keys``, ...).
    """
    return json.dumps(to_jsonable(obj), allow_nan=False, **options)


def to_jsonable(obj: Any) -> Any:
    """Turn dates, sets, paths and dataclasses into what ``json.dumps`` accepts (and non-finite
    floats into ``None``, so the JSON stays valid)."""
    import dataclasses
    import datetime as dt
    from pathlib import PurePath

    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {k: to_jsonable(v) for k, v in dataclasses.asdict(obj).items()}
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        items = sorted(obj, key=str) if isinstance(obj, (set, frozenset)) else obj
        return [to_jsonable(v) for v in items]
    if isinstance(obj, (dt.datetime, dt.date, dt.time)):
        return obj.isoformat()
    if isinstance(obj, PurePath):
        return str(obj)
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def human_time(value: Any) -> str:
    """The one time format of tables and sentences: ``2026-12-01 10:00:00`` (UTC; headings say so).

    JSON carries ISO 8601 instead (:func:`to_jsonable`). ``value`` is a naive UTC datetime (the
    store's convention), an aware one (converted to UTC), a date, epoch seconds, or ``None`` (``""``).
    """
    import datetime as dt

    if value is None:
        return ""
    if isinstance(value, (int, float)):
        value = dt.datetime.fromtimestamp(value, dt.timezone.utc)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


class Output:
    """Where every command writes.

    :param json_mode: print machine-readable JSON instead of tables.
    :param quiet: 1 hides messages, 2 also hides data on stdout.
    :param verbose: show info-level messages on stderr.
    :param color: allow colour (decided once by :func:`color_wanted`).
    """

    def __init__(self, json_mode: bool = False, quiet: int = 0, verbose: int = 0,
                 color: bool = False, stdout: Any = None, stderr: Any = None) -> None:
        self.json_mode = json_mode
        self.quiet = quiet
        self.verbose = verbose
        self.color = color
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self._console = None
        self._err_console = None

    # -- data on stdout ---------------------------------------------------------------------
    def line(self, text: str = "") -> None:
        """Print one line of data on stdout (control characters escaped: :func:`printable`)."""
        if self.quiet < 2:
            self.stdout.write(printable(text) + "\n")

    def text(self, text: str) -> None:
        """Print a human-readable document (Markdown, CSV, a graph) as it is, control characters
        escaped (:func:`printable`)."""
        if self.quiet < 2:
            self.stdout.write(printable(text))

    def json(self, obj: Any) -> None:
        """Print ``obj`` as indented, key-sorted JSON on stdout (always valid JSON: :func:`json_text`;
        JSON escapes control characters itself, so strings stay exact)."""
        if self.quiet < 2:
            self.stdout.write(json_text(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n")

    def table(self, columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str | None = None,
              caption: str | None = None) -> None:
        """Draw a Rich table on stdout (values are shown with ``str``; ``None`` as empty)."""
        if self.quiet >= 2:
            return
        from rich.table import Table

        table = Table(title=title and printable(title, keep=""), caption=caption and printable(caption, keep=""),
                      show_lines=False)
        cells = [["" if v is None else printable(str(v)) for v in row] for row in rows]
        wanted = [min(max(len(col), max((len(row[i]) for row in cells), default=0)), 20)
                  for i, col in enumerate(columns)]
        # Columns keep their heading and short values (ids, states, times) whole and fold long
        # values, unless the terminal is too narrow for that: then everything folds (never cropped).
        fits = sum(wanted) + 3 * len(columns) + 1 <= self.console.width
        for col, width in zip(columns, wanted):
            table.add_column(printable(col, keep=""), overflow="fold", min_width=width if fits else None)
        for row in cells:
            table.add_row(*row)
        self.console.print(table)

    def render(self, renderable: Any) -> None:
        """Print any Rich renderable on stdout."""
        if self.quiet < 2:
            self.console.print(renderable)

    # -- messages on stderr -----------------------------------------------------------------
    def info(self, text: str) -> None:
        """A progress or context message, shown with ``-v``."""
        if self.verbose and not self.quiet:
            self.stderr.write(printable(text) + "\n")

    def success(self, text: str) -> None:
        """A short confirmation of a write, hidden by ``-q``."""
        if not self.quiet:
            self.stderr.write(printable(text) + "\n")

    def warn(self, text: str) -> None:
        """A warning, hidden only by ``-q``."""
        if not self.quiet:
            self.stderr.write(f"warning: {printable(text)}\n")

    def error(self, text: str) -> None:
        """An error message; always shown."""
        self.stderr.write(f"error: {printable(text)}\n")

    # -- Rich consoles, created on first use ------------------------------------------------
    @property
    def console(self):
        if self._console is None:
            self._console = self._make_console(self.stdout)
        return self._console

    @property
    def err_console(self):
        if self._err_console is None:
            self._err_console = self._make_console(self.stderr)
        return self._err_console

    def _make_console(self, stream: Any):
        from rich.console import Console

        width = None
        if not getattr(stream, "isatty", lambda: False)() and not os.environ.get("COLUMNS"):
            width = 160  # pipes and logs: Rich's 80 columns would fold most tables
        return Console(file=stream, markup=False, emoji=False, highlight=False, width=width,
                       no_color=not self.color, force_terminal=self.color or None,
                       color_system="auto" if self.color else None)

    def progress(self, total: int, description: str):
        """A progress bar on stderr when stderr is a terminal; a no-op context otherwise."""
        if self.quiet or self.json_mode or not getattr(self.stderr, "isatty", lambda: False)():
            return _NoProgress()
        from rich.progress import Progress

        progress = Progress(console=self.err_console, transient=True)
        return _RichProgress(progress, total, description)


class _NoProgress:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def advance(self, n: int = 1) -> None:
        pass


class _RichProgress:
    def __init__(self, progress, total: int, description: str) -> None:
        self.progress = progress
        self.total = total
        self.description = description
        self.task = None

    def __enter__(self):
        self.progress.__enter__()
        self.task = self.progress.add_task(self.description, total=self.total)
        return self

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)

    def advance(self, n: int = 1) -> None:
        self.progress.advance(self.task, n)
