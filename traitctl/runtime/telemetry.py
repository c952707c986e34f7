"""Telemetry for applications and for ``traitctl metrics ingest``.

Applications record points through a buffer that is written to the store in batches::

    from traitctl import telemetry

    telemetry.record("trait.HasUuid.generated")                  # a counter, +1
    telemetry.record("trait.Cacheable.hit_ratio", 0.93, kind="gauge", model="App\\Models\\Product")
    with telemetry.timer("trait.Searchable.index_ms", model="App\\Models\\Post"):
        index(post)
    telemetry.flush()                                           # also done at exit

The store is the one of the configuration found from the current folder (as the CLI finds it),
``$TRAITCTL_STORE``, or the URL given to :func:`configure`. Bad input (an invalid name, kind,
value or label) raises :class:`~traitctl.engine.errors.InputError` at the ``record`` call, so a
batch never fails because of one bad point.
"""

from __future__ import annotations

import atexit
import gc
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from traitctl.engine.errors import InputError
from traitctl.engine.telemetry_formats import JsonRows, LineError, Point, make_point, parse_time, parser_for

#: bad lines whose number and reason are kept for the report.
BAD_LINES_SHOWN = 5


# -- ingestion of text formats ------------------------------------------------------------------
@dataclass
class IngestReport:
    """What an ingest did: points stored, lines skipped (no metric on them), bad lines."""

    stored: int = 0
    skipped: int = 0
    bad: int = 0
    examples: list[tuple[int, str]] = field(default_factory=list)

    def add_bad(self, line_no: int, reason: str) -> None:
        self.bad += 1
        if len(self.examples) < BAD_LINES_SHOWN:
            self.examples.append((line_no, reason))

    def bad_summary(self) -> str:
        """``3 bad lines (line 2: not JSON; line 7: …)``."""
        shown = "; ".join(f"line {n}: {reason}" for n, reason in self.examples)
        more = f"; {self.bad - len(self.examples)} more" if self.bad > len(self.examples) else ""
        return f"{self.bad} bad line{'s' if self.bad != 1 else ''} ({shown}{more})"


def ingest(repo: Any, lines: Iterable[str], fmt: str, *, now: float, strict: bool = False,
           batch_size: int = 50_000, dry_run: bool = False, first_line: int = 1,
           on_commit: Any = None) -> IngestReport:
    """Parse ``lines`` of ``fmt`` and store the points, one transaction per batch.

    Bad lines are counted (the first few kept with their numbers) and skipped. With ``strict``
    the whole input is one transaction and any bad line stores nothing.

    :param repo: the store's ``metrics`` repository.
    :param now: time given to points without a timestamp (epoch seconds).
    :param batch_size: lines (``jsonl``) or points (other formats) per batch.
    :param dry_run: parse and write in one transaction that is rolled back: ``stored`` says how
        many points would be stored, and nothing is.
    :param first_line: the number of the first line (an ingest that goes on where the last stopped).
    :param on_commit: called with the store's database inside the transaction that stores the
        points, just before it commits (a file's read position saved with them, exactly once);
        the whole input is then one transaction.
    :raises InputError: with ``strict`` when a line is bad (nothing is stored then).
    """
    parse = parser_for(fmt, now)
    report = IngestReport()
    kinds = repo.known_kinds()
    with _without_gc():
        writer = repo.batch_writer(one_transaction=strict or dry_run or on_commit is not None,
                                   background=False if dry_run else None)
        try:
            if fmt == "jsonl":
                _ingest_json(JsonRows(now, kinds), lines, report, writer, strict, batch_size, first_line)
            else:
                _ingest_lines(parse, lines, kinds, report, writer, strict, batch_size, first_line)
            if on_commit is not None and not dry_run and not (strict and report.bad):
                writer.call(on_commit)
        except BaseException:
            writer.close(commit=False)
            raise
        would = writer.stored
        report.stored = writer.close(commit=not (strict and report.bad) and not dry_run)
        if dry_run and not (strict and report.bad):
            report.stored = would
    if strict and report.bad:
        raise InputError(f"Nothing stored (--strict): {report.bad_summary()}.")
    return report


@contextmanager
def _without_gc() -> Iterator[None]:
    """The cyclic garbage collector paused: a batch makes ~10^5 containers (decoded objects,
    rows) without reference cycles, and the collector's passes over them took about a third
    of a big ingest (measured)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _ingest_json(decoder: JsonRows, lines: Iterable[str], report: IngestReport, writer, strict: bool,
                 batch_size: int, first: int = 1) -> None:
    """JSON lines a batch at a time, straight into rows (no :class:`Point` per line)."""
    lines = iter(lines)
    while batch := list(islice(lines, batch_size)):
        rows, bad, skipped = decoder.decode(batch, first)
        first += len(batch)
        report.skipped += skipped
        for number, reason in bad:
            report.add_bad(number, reason)
        # Under --strict, once a line is bad nothing will be kept: skip the writes.
        if rows and not (strict and report.bad):
            decoder.resolve(writer.put_rows(decoder.series, rows))


def _ingest_lines(parse, lines: Iterable[str], kinds: dict, report: IngestReport, writer, strict: bool,
                  batch_size: int, first: int = 1) -> None:
    batch: list[Point] = []
    for line_no, line in enumerate(lines, first):
        # Inline on purpose: this loop runs once per line of inputs of millions of lines.
        try:
            point = parse(line)
        except LineError as exc:
            report.add_bad(line_no, exc.message)
            continue
        if point is None:
            report.skipped += 1
        elif kinds.setdefault(point[0], point[1]) != point[1]:
            report.add_bad(line_no, f"metric {point[0]} is a {kinds[point[0]]}, not a {point[1]}")
        else:
            batch.append(point)
            if len(batch) >= batch_size:
                _hand_over(writer, batch, report, strict)
    _hand_over(writer, batch, report, strict)


def _hand_over(writer, batch: list[Point], report: IngestReport, strict: bool) -> None:
    # Under --strict, once a line is bad nothing will be kept: skip the writes.
    if batch and not (strict and report.bad):
        writer.put(batch)
    batch.clear()


# -- the buffered recorder of the Python API --------------------------------------------------
class Recorder:
    """Buffer points and write them to a store in batches.

    :param store_url: the store; ``None`` opens the one the CLI would use from the current folder.
    :param batch_size: flush when this many points are buffered.
    :param max_delay: flush at the next ``record`` once the oldest buffered point is this old (s).
    :param clock: the time source (epoch seconds), replaceable in tests.
    """

    def __init__(self, store_url: str | None = None, *, batch_size: int = 1000, max_delay: float = 5.0,
                 clock=time.time) -> None:
        self.store_url = store_url
        self.batch_size = batch_size
        self.max_delay = max_delay
        self.clock = clock
        self._buffer: list[Point] = []
        self._oldest = 0.0
        self._lock = threading.Lock()
        self._store = None

    def record(self, name: str, value: float = 1, *, kind: str = "counter", at: Any = None,
               labels: dict | None = None, **more_labels: Any) -> None:
        """Buffer one point (``trait``/``model``/``tenant`` and free labels as keywords).

        :param at: when it happened: a datetime, epoch seconds or ISO text (default now).
        :raises InputError: for an invalid name, kind, value, label or time.
        """
        now = self.clock()
        ts = now if at is None else _when(at, now)
        point = make_point(name, value, kind, {**(labels or {}), **more_labels}, ts)
        with self._lock:
            if not self._buffer:
                self._oldest = now
            self._buffer.append(point)
            due = len(self._buffer) >= self.batch_size or now - self._oldest >= self.max_delay
        if due:
            self.flush()

    def flush(self) -> int:
        """Write the buffered points in one transaction; return how many.

        When the store refuses them (down, locked, full) they stay buffered, ahead of the points
        recorded since, and the error is raised: the next ``flush`` (or ``close``) tries again.
        """
        with self._lock:
            points, self._buffer = self._buffer, []
            if points:
                try:
                    self.store().metrics.write(points)
                except BaseException:
                    self._buffer[:0] = points
                    raise
        return len(points)

    def pending(self) -> int:
        """Points buffered and not yet written."""
        return len(self._buffer)

    def store(self):
        if self._store is None:
            from traitctl.store.db import Store

            self._store = Store.open(self.store_url or _default_store_url())
        return self._store

    def close(self) -> None:
        """Flush and close the store (closed even when the flush fails; the error is raised)."""
        try:
            self.flush()
        finally:
            if self._store is not None:
                self._store.close()
                self._store = None

    def __enter__(self) -> "Recorder":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        # a recorder dropped without close() must not keep its store's connection open
        store, self._store = getattr(self, "_store", None), None
        if store is not None:
            try:
                store.close()
            except Exception:  # noqa: BLE001 - nothing to tell at collection time
                pass


def _when(at: Any, now: float) -> float:
    import datetime as dt

    from traitctl.engine.telemetry_formats import to_epoch

    return to_epoch(at) if isinstance(at, dt.datetime) else parse_time(at, now)


def _default_store_url() -> str:
    from pathlib import Path

    from traitctl import settings
    from traitctl.store import toml_file

    env = settings.environ()
    if env.get("TRAITCTL_STORE"):
        return env["TRAITCTL_STORE"]
    path = settings.find_config(None, env, Path.cwd())
    section = toml_file.read(path).get("traitctl", {})
    return settings.resolve(path, section if isinstance(section, dict) else {}, env).store_url


_default: Recorder | None = None
_default_lock = threading.Lock()


def configure(store_url: str | None = None, *, batch_size: int = 1000, max_delay: float = 5.0) -> Recorder:
    """Replace the module's recorder (flushing the old one) and return the new one.

    :param store_url: ``sqlite:///PATH`` or ``postgresql://…``; ``None`` finds it like the CLI.
    """
    global _default
    with _default_lock:
        if _default is not None:
            _default.close()
        _default = Recorder(store_url, batch_size=batch_size, max_delay=max_delay)
        return _default


def recorder() -> Recorder:
    """The module's recorder, created on first use (flushed at interpreter exit)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Recorder()
        return _default


def record(name: str, value: float = 1, *, kind: str = "counter", at: Any = None, labels: dict | None = None,
           **more_labels: Any) -> None:
    """Record one point with the module's recorder (see :meth:`Recorder.record`)."""
    recorder().record(name, value, kind=kind, at=at, labels=labels, **more_labels)


def gauge(name: str, value: float, **labels: Any) -> None:
    """Record the current value of something (a gauge)."""
    record(name, value, kind="gauge", **labels)


@contextmanager
def timer(name: str, **labels: Any) -> Iterator[None]:
    """Record the block's duration in milliseconds as a ``timing`` point."""
    start = time.perf_counter()
    try:
        yield
    finally:
        record(name, (time.perf_counter() - start) * 1000.0, kind="timing", **labels)


def flush() -> int:
    """Write what the module's recorder has buffered; return how many points."""
    return recorder().flush() if _default is not None else 0


@atexit.register
def _flush_at_exit() -> None:
    if _default is not None and _default.pending():
        try:
            _default.close()
        except Exception:  # noqa: BLE001 - at exit there is no caller left to tell
            pass
