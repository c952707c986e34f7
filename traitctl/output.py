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
from collections.abc import Collection, Iterable, Mapping, Sequence
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


#: The end of a float in orjson's indented output: a fraction or an exponent, then the end of
#: the line (a line ending in a digit ends in a number: strings end in a quote).
_FLOAT_TAIL = re.compile(rb"(?:\.[0-9]+(?:e[-+]?[0-9]+)?|e[-+]?[0-9]+)(?=,?\n|\Z)")
_SIGN_AND_DIGITS = frozenset(b"-0123456789")


def json_document(obj: Any) -> str:
    """``obj`` as :meth:`Output.json` prints it: the text of ``json_text(obj, indent=2,
    sort_keys=True, ensure_ascii=False)`` character for character, written by orjson (the
    stdlib's indenting encoder is pure Python: seconds for a 5,000-tenant matrix).

    orjson escapes strings and sorts keys as ``json`` does; its floats are rewritten in Python's
    ``repr`` (``1e-05``, not ``0.00001``). Whatever orjson refuses (integers beyond 64 bits, keys
    that are not exact strings, lone surrogates, deep nesting, types ``to_jsonable`` leaves as
    they are) goes the ``json`` way, with its error if it has one.
    """
    import orjson

    # what orjson would not write as json.dumps(to_jsonable(...)) does goes to _orjson_default:
    # subclasses of str/int/dict/list, dates and times, dataclasses
    options = (orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_SUBCLASS
               | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS)
    try:
        data = orjson.dumps(obj, default=_orjson_default, option=options)
    except orjson.JSONEncodeError:
        return json_text(obj, indent=2, sort_keys=True, ensure_ascii=False)
    return _python_floats(data).decode("utf-8")


def _orjson_default(obj: Any) -> Any:
    converted = to_jsonable(obj)
    if converted is not obj:
        return converted
    # what json.dumps writes of a subclass of str, int or float: its value as the base type has it
    if isinstance(obj, str):
        return str.__str__(obj)
    if isinstance(obj, int):
        return int.__int__(obj)
    if isinstance(obj, float):
        return float.__float__(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def _python_floats(data: bytes) -> bytes:
    """orjson's indented ``data`` with every float as ``json.dumps`` writes it (``float.__repr__``;
    orjson's shortest digits read back to the same float)."""
    parts, done = [], 0
    for match in _FLOAT_TAIL.finditer(data):
        start = match.start()
        while start and data[start - 1] in _SIGN_AND_DIGITS:
            start -= 1
        parts += (data[done:start], float.__repr__(float(data[start:match.end()])).encode())
        done = match.end()
    if not parts:
        return data
    parts.append(data[done:])
    return b"".join(parts)


def to_jsonable(obj: Any) -> Any:
    """Turn dates, sets, paths and dataclasses into what ``json.dumps`` accepts (and non-finite
    floats into ``None``, so the JSON stays valid)."""
    kind = type(obj)
    if kind is str or kind is int or kind is bool or obj is None:
        return obj
    if kind is float:
        return obj if math.isfinite(obj) else None
    if kind is dict:
        return {k if type(k) is str else str(k): to_jsonable(v) for k, v in obj.items()}
    if kind is list:
        return [to_jsonable(v) for v in obj]
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


#: Cells a boxed table adds per column (padding and a rule), and once (the left rule).
_BOX_PER_COLUMN, _BOX_ONCE = 3, 1
#: Cells a borderless table adds between two columns.
_GAP = 3


def table_layout(heads: Sequence[str], cells: Sequence[Sequence[str]], width: int,
                 no_wrap: Collection[str] = (), boxed: bool = True) -> tuple[str, list[int]] | None:
    """How a table of ``cells`` fits ``width`` terminal cells without breaking a word:
    ``("box", widths)`` (unless not ``boxed``), ``("compact", widths)`` (no borders), or ``None``
    (one record per row).

    A column needs its longest word (its longest line when in ``no_wrap``) and wants its longest
    line; :func:`share_widths` hands out the cells between the two.
    """
    from rich.cells import cell_len

    lines = [[line for cell in column for line in cell.split("\n")] for column in zip(heads, *cells)]
    wants = [max(cell_len(line) for line in column) for column in lines]
    needs = [want if head in no_wrap else max((cell_len(word) for line in column for word in line.split()), default=0)
             for head, want, column in zip(heads, wants, lines)]
    n = len(heads)
    styles = (("box", _BOX_PER_COLUMN * n + _BOX_ONCE),) if boxed else ()
    for style, overhead in styles + (("compact", _GAP * (n - 1)),):
        widths = share_widths(needs, wants, width - overhead)
        if widths is not None:
            return style, widths
    return None


def share_widths(needs: Sequence[int], wants: Sequence[int], available: int) -> list[int] | None:
    """Column widths within ``available`` cells: each its want when all fit, else each its need
    plus what the spare cells allow, the columns lacking least served whole first (so ids, states
    and times stay on one line and the longest lists wrap); ``None`` when the needs do not fit."""
    if sum(wants) <= available:
        return list(wants)
    if sum(needs) > available:
        return None
    widths, spare = list(needs), available - sum(needs)
    for index in sorted(range(len(widths)), key=lambda i: wants[i] - needs[i]):
        give = min(wants[index] - needs[index], spare)
        widths[index] += give
        spare -= give
    return widths


def wrap_text(text: str, width: int, indent: int = 0, hang: int = 2) -> list[str]:
    """``text`` as lines of at most ``width`` cells, broken at spaces (a word wider than a line is
    broken, as nothing else can hold it); ``indent`` spaces before the first line, ``indent + hang``
    before the others."""
    import textwrap

    first, rest = " " * indent, " " * (indent + hang)
    return textwrap.wrap(text, width=max(width, len(rest) + 1), initial_indent=first, subsequent_indent=rest,
                         break_on_hyphens=False, drop_whitespace=True) or [first.rstrip()]


def _cells(rows: Iterable[Sequence[Any]], width: int) -> list[list[str]]:
    # Values as shown (None empty, controls escaped); a short row is padded as Rich pads it.
    cells = [["" if v is None else printable(str(v)) for v in row] for row in rows]
    return [row + [""] * (width - len(row)) for row in cells]


def _rich_table(layout: tuple[str, list[int]], title: str | None, caption: str | None, justify: str) -> Any:
    from rich import box
    from rich.table import Table

    frame = {} if layout[0] == "box" else {"box": box.SIMPLE_HEAD, "show_edge": False, "pad_edge": False}
    return Table(title=title and printable(title, keep=""), caption=caption and printable(caption, keep=""),
                 show_lines=False, title_justify=justify, caption_justify=justify, **frame)


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
        """Print ``obj`` as indented, key-sorted JSON on stdout (always valid JSON: :func:`json_text`,
        written fast by :func:`json_document`; JSON escapes control characters itself, so strings
        stay exact)."""
        if self.quiet < 2:
            self.stdout.write(json_document(obj) + "\n")

    def table(self, columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str | None = None,
              caption: str | None = None, *, no_wrap: Iterable[str] = (), right: Iterable[str] = (),
              title_justify: str = "center", frame: str = "auto") -> None:
        """Draw a table on stdout that fits the terminal without breaking a word (values are shown
        with ``str``; ``None`` as empty).

        Layouts, the first that fits (:func:`table_layout`): a boxed table (columns as wide as
        their longest line, or narrowed to wrap at spaces); a borderless one (a rule under the
        headings, three spaces between columns); one record per row (``Heading: value`` lines, the
        row's first value first). A word is broken only when it is wider than the terminal itself.

        :param no_wrap: headings of columns whose values are never wrapped (names people copy).
        :param right: headings of columns aligned right (counts).
        :param title_justify: ``left``, ``center`` or ``right``.
        :param frame: ``auto``, or ``compact`` to skip the boxed layout (several tables of one
            output drawn alike).
        """
        if self.quiet >= 2:
            return
        heads = [printable(col, keep="") for col in columns]
        cells = _cells(rows, len(columns))
        keep_whole = {printable(col, keep="") for col in no_wrap}
        layout = table_layout(heads, cells, self.console.width, keep_whole, boxed=frame != "compact")
        if layout is None:
            return self._records(heads, cells, title, caption)
        table = _rich_table(layout, title, caption, title_justify)
        aligned = {printable(col, keep="") for col in right}
        for head, width in zip(heads, layout[1]):
            table.add_column(head, width=width, no_wrap=head in keep_whole, overflow="fold",
                             justify="right" if head in aligned else "left")
        for row in cells:
            table.add_row(*row)
        self.console.print(table)

    def fits(self, columns: Sequence[str], rows: Iterable[Sequence[Any]], no_wrap: Iterable[str] = (),
             frame: str = "box") -> bool:
        """Whether :meth:`table` would draw these rows as a table of that ``frame`` (``box`` or
        ``compact``), for a command that would rather drop a column than change layout."""
        cells = _cells(rows, len(columns))
        layout = table_layout([printable(c, keep="") for c in columns], cells, self.console.width,
                              {printable(c, keep="") for c in no_wrap}, boxed=frame == "box")
        return layout is not None and layout[0] == frame

    def paragraph(self, text: str, indent: int = 0, hang: int = 2) -> None:
        """Print ``text`` as data on stdout, wrapped at spaces to the terminal's width.

        :param indent: spaces before the first line.
        :param hang: further spaces before the following lines.
        """
        if self.quiet >= 2:
            return
        for line in wrap_text(printable(text, keep=""), self.console.width, indent, hang):
            self.stdout.write(line + "\n")

    def _records(self, heads: list[str], cells: list[list[str]], title: str | None, caption: str | None) -> None:
        # Too narrow for columns: one "Heading: value" line per value, the first one unindented.
        width = self.console.width
        out = [printable(title, keep="")] if title else []
        for row in cells:
            for index, (head, value) in enumerate(zip(heads, row)):
                if value or index == 0:
                    text = f"{head}: {' '.join(value.split())}" if head else value
                    out += wrap_text(text, width, 0 if index == 0 else 2, 2)
        out += [printable(caption, keep="")] if caption else []
        self.stdout.write("".join(line + "\n" for line in out))

    def grid(self, columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None,
             caption: str | None = None) -> bool:
        """Draw the table :meth:`table` would draw, without Rich's layout engine (which takes
        seconds for thousands of rows), when every cell fits on one line in the terminal; return
        ``False`` (drawing nothing) when some column would have to fold: then use :meth:`table`."""
        if self.quiet >= 2:
            return True
        shown: dict[Any, tuple[str, int]] = {}  # big tables repeat their values: escape and measure each once

        def cell(value: Any) -> tuple[str, int]:
            found = shown.get(value)
            if found is None:
                text = "" if value is None else printable(str(value))
                found = shown[value] = (text, len(text) if _plain(text) else -1)
            return found

        heads = [(printable(str(v), keep=""), _cell_width(printable(str(v), keep=""))) for v in columns]
        if any(text and not width for text, width in heads):
            return False  # a heading of zero-width characters only, which Rich leaves out
        measured = [heads] + [[cell(v) for v in row] + [("", 0)] * (len(columns) - len(row)) for row in rows]
        cells = [[text for text, _ in row] for row in measured]
        sizes = [[size for _, size in row] for row in measured]
        if any(size < 0 for row in sizes for size in row):
            return False  # a value of several lines, or not plain ASCII: the general layout
        # as :func:`table_layout` when every column gets its longest line
        widths = [max(row[i] for row in sizes) for i in range(len(columns))]
        total = sum(widths) + _BOX_PER_COLUMN * len(columns) + _BOX_ONCE
        if total > self.width or any(_cell_width(word) > total for text in (title, caption) if text
                                     for word in printable(text, keep="").split()):
            return False  # the boxed layout would not fit, or a word of the title wider than the table

        def line(left: str, fill: str, cross: str, right: str) -> str:
            return left + cross.join(fill * (w + 2) for w in widths) + right

        def row(values: list[str], lengths: list[int], bar: str) -> str:
            return bar + bar.join(f" {v}{' ' * (w - n)} " for v, n, w in zip(values, lengths, widths)) + bar

        out = [] if not title else _centred(printable(title, keep=""), total)
        out += [line("┏", "━", "┳", "┓"), row(cells[0], sizes[0], "┃"), line("┡", "━", "╇", "┩")]
        out += [row(values, lengths, "│") for values, lengths in zip(cells[1:], sizes[1:])]
        out.append(line("└", "─", "┴", "┘"))
        if caption:
            out += _centred(printable(caption, keep=""), total)
        self.stdout.write("\n".join(out) + "\n")
        return True

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

    @property
    def width(self) -> int:
        """The width tables are drawn to: the Rich console's, found without importing Rich
        before a console exists (``COLUMNS``, else the terminal's, else 160 off a terminal)."""
        if self._console is not None:
            return self._console.width
        columns = os.environ.get("COLUMNS", "")
        columns = columns.strip()
        if columns.isascii() and columns.isdigit() and int(columns) > 0:  # not "²", a digit int() refuses
            return int(columns)
        if getattr(self.stdout, "isatty", lambda: False)():
            import shutil

            return shutil.get_terminal_size().columns
        return 160

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

        # Rich reads COLUMNS and LINES with str.isdigit, which "²" passes and int() then refuses
        environ = {k: v for k, v in os.environ.items()
                   if k not in ("COLUMNS", "LINES") or v.isascii() or not v.isdigit()}
        width = None
        if not getattr(stream, "isatty", lambda: False)() and not environ.get("COLUMNS"):
            width = 160  # pipes and logs: Rich's 80 columns would fold most tables
        return Console(file=stream, markup=False, emoji=False, highlight=False, width=width,
                       no_color=not self.color, force_terminal=self.color or None,
                       color_system="auto" if self.color else None, _environ=environ)

    def progress(self, total: int, description: str):
        """A progress bar on stderr when stderr is a terminal; a no-op context otherwise."""
        if self.quiet or self.json_mode or not getattr(self.stderr, "isatty", lambda: False)():
            return _NoProgress()
        from rich.progress import Progress

        progress = Progress(console=self.err_console, transient=True)
        return _RichProgress(progress, total, description)


def _plain(text: str) -> bool:
    """Whether every character of ``text`` takes one terminal cell and Rich draws it as it is
    (printable ASCII, or a letter, digit, punctuation or symbol of width one such as ``…``): wide,
    zero-width, combining and space characters other than " " follow Rich's own rules."""
    if text.isascii():
        return text.isprintable()
    import unicodedata

    from rich.cells import cell_len

    return all(ch.isascii() and ch.isprintable()
               or unicodedata.category(ch)[0] in "LNPS" and cell_len(ch) == 1 for ch in text)


def _cell_width(text: str) -> int:
    """The terminal columns ``text`` takes (wide characters count two)."""
    if text.isascii():
        return len(text)
    from rich.cells import cell_len

    return cell_len(text)


def _centred(text: str, width: int) -> list[str]:
    """``text`` wrapped to ``width`` columns, each line centred, as Rich sets a table's title."""
    import textwrap

    out = []
    for part in textwrap.wrap(text, width) or [""]:
        room = max(0, width - _cell_width(part))
        out.append(" " * (room // 2) + part + " " * (room - room // 2))
    return out


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
