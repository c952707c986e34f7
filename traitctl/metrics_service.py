"""The JSON documents of ``traitctl metrics`` (dashboard, series, trends, workers, export), built
from the metrics store. The CLI prints them with ``--json``; ``traitctl serve`` shows the same.

Example usage::

    from traitctl import metrics_service
    doc = metrics_service.dashboard_document(store.metrics, start, now)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from traitctl.engine.errors import InputError, NotFound, literal


def iso(ts: float | None) -> str | None:
    """Epoch seconds as ``2026-12-01T10:00:00Z`` (``None`` stays ``None``)."""
    from traitctl.engine.telemetry_formats import from_epoch

    return None if ts is None else from_epoch(ts).isoformat(timespec="seconds") + "Z"


def since(text: str, now: float) -> float:
    """A window start from ``1h`` (back from now) or a time.

    :raises InputError: when ``text`` is neither.
    """
    from traitctl.engine import telemetry_formats as tf
    from traitctl.engine.timeparse import duration_seconds

    if duration_seconds(text, bare=True, what="--since") is not None:  # a duration, maybe zero: say so
        return now - tf.parse_duration(text)
    return tf.parse_time(text, now)


def dashboard(repo: Any, start: float, *, trait: str | None = None, model: str | None = None,
              tenant: str | None = None) -> dict:
    """``{trait: {metric: Summary}}`` over the window from ``start``."""
    from traitctl.engine import telemetry_formats as tf

    return tf.dashboard(repo.summaries(repo.series(trait=trait, model=model, tenant=tenant), start, None))


def dashboard_document(repo: Any, start: float, now: float, *, trait: str | None = None,
                       model: str | None = None, tenant: str | None = None, grouped: dict | None = None) -> dict:
    """The ``traitctl metrics --json`` document: per trait, per metric, the window's summary."""
    from traitctl.engine import telemetry_formats as tf

    if grouped is None:
        grouped = dashboard(repo, start, trait=trait, model=model, tenant=tenant)
    return {"since": iso(start), "until": iso(now), "filters": {"trait": trait, "model": model, "tenant": tenant},
            "traits": {t: {m: tf.summary_dict(s) for m, s in ms.items()} for t, ms in grouped.items()}}


def series_of(repo: Any, name: str, labels: dict) -> list:
    """The series of metric ``name`` with ``labels``.

    :raises NotFound: for an unknown metric (near names suggested).
    :raises InputError: when no series has those labels.
    """
    found = repo.series(name, labels=labels)
    if not found:
        if name not in repo.names():
            raise NotFound("metric", name, repo.names())
        raise InputError(f"Metric {name!r} has no series with labels {literal(labels)}.")
    return found


def interval_points(repo: Any, series: list, name: str, now: float, period: float,
                    step: float) -> tuple[list[tuple[float, float]], bool]:
    """``(interval_start, value)`` pairs of all ``series`` merged, and whether any point exists."""
    from traitctl.engine import trends as engine

    start, count = engine.aligned_window(now, period, step)
    cells = repo.buckets(series, start, start + count * step, step)
    merged = engine.group_cells(cells, {s.id: name for s in series}).get(name, {})
    return engine.interval_values(series[0].kind, merged, start, step, count), bool(merged)


def trends_document(repo: Any, name: str, now: float, *, period: float, interval: float,
                    labels: dict | None = None, period_text: str = "") -> dict:
    """The ``traitctl metrics trends --json`` document.

    :raises InputError: when the window has no points or too few intervals for a trend.
    """
    from traitctl.engine import trends as engine

    series = series_of(repo, name, labels or {})
    points, any_point = interval_points(repo, series, name, now, period, interval)
    if not any_point:  # a counter's intervals would all be zeros: say there is nothing instead
        raise InputError(f"No points of {name} in the last {period_text or f'{period:g}s'}: nothing to analyse. "
                         "Widen --period.")
    result = engine.analyse(points, period=period, interval=interval)
    return {"metric": name, "kind": series[0].kind, **result.as_dict()}


def workers_document(beats: list, now: dt.datetime, max_age: float) -> dict:
    """The ``traitctl metrics workers --json`` document (``now`` naive UTC): each heartbeat judged by
    the one liveness rule (:func:`traitctl.jobs.liveness.lost_reasons`; ``max_age`` is ``[jobs] lost_after``)."""
    import dataclasses

    from traitctl.jobs import liveness

    lost = liveness.lost_reasons(beats, now, max_age)
    return {"workers": [{**dataclasses.asdict(b), "age_s": round(b.age(now), 1), "alive": lost[b.worker_id] is None,
                         "lost": lost[b.worker_id]} for b in beats]}


def prometheus_text(repo: Any, trait: str | None = None) -> str:
    """The ``traitctl metrics export`` text: every series' running total in the Prometheus format."""
    from traitctl.engine import telemetry_formats as tf

    return tf.prometheus_text(repo.summaries(repo.series(trait=trait), None, None))


# -- ingesting a file that is still being written -----------------------------------------------------------------------
#: bytes at the head of a file whose hash tells the same file from a new one at the same inode
HEAD_BYTES = 4096


class Tail:
    """The new complete lines of a JSON-lines (or any line) file since its last ingest.

    ``metrics ingest FILE`` goes on where the previous ingest of FILE stopped (its position is
    saved in the store, in the transaction that stores the points: exactly once), reads only
    complete lines (a last line without its newline is still being written: it is left for the
    next ingest, unless ``final``), and follows rotation: when FILE is a new file (another inode,
    shorter than the position, or other first bytes) the rest of the old one is read first if it
    is still beside it under another name (``app.jsonl.1``), then FILE from its start.

    Example usage::

        tail = Tail(path, store.metrics.db, final=False)
        report = telemetry.ingest(repo, tail.lines(), "jsonl", now=now, first_line=tail.first_line,
                                  on_commit=tail.save)
    """

    def __init__(self, path: str, db: Any, *, final: bool = False) -> None:
        import os

        from traitctl.store.metrics import read_cursor

        self.path = os.path.realpath(path)
        self.final = final
        self.cursor = read_cursor(db, self.path)
        stat = os.stat(self.path)
        self.parts: list[tuple[str, int, bool]] = []  # (file, start offset, read its last unfinished line)
        self.first_line = 1
        self.rotated_from: str | None = None
        start = 0
        c = self.cursor
        if c is not None:
            if self._same(self.path, stat, c):
                start, self.first_line = int(c["offset"]), int(c.get("lines", 0)) + 1
            else:
                old = self._rotated(stat, c)
                if old is not None:
                    self.rotated_from = old
                    self.first_line = int(c.get("lines", 0)) + 1
                    self.parts.append((old, int(c["offset"]), True))
        self.parts.append((self.path, start, final))
        self.offset, self.held_back = start, 0
        self.lines_read = self.first_line - 1 if start else 0
        self._stat = stat

    @staticmethod
    def _head(path: str, size: int) -> str:
        import hashlib

        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read(min(size, HEAD_BYTES))).hexdigest()

    def _same(self, path: str, stat: Any, c: dict) -> bool:
        try:
            return ((stat.st_dev, stat.st_ino) == (c.get("dev"), c.get("ino")) and stat.st_size >= int(c["offset"])
                    and self._head(path, int(c["offset"])) == c.get("head"))
        except (OSError, ValueError, TypeError, KeyError):
            return False

    def _rotated(self, stat: Any, c: dict) -> str | None:
        """The old file under its new name beside FILE (same inode as saved), if there."""
        import os

        folder, name = os.path.split(self.path)
        try:
            siblings = sorted(e for e in os.listdir(folder) if e.startswith(name) and e != name)
        except OSError:
            return None
        for entry in siblings:
            candidate = os.path.join(folder, entry)
            try:
                other = os.stat(candidate)
            except OSError:
                continue
            if (other.st_ino, other.st_dev) != (stat.st_ino, stat.st_dev) and self._same(candidate, other, c):
                return candidate
        return None

    def lines(self) -> Iterator[str]:
        """Every complete new line, old rotated file first; counts what it read."""
        for path, start, take_unfinished in self.parts:
            current = path == self.path
            with open(path, "rb") as handle:
                handle.seek(start)
                consumed = start
                for raw in handle:
                    if not raw.endswith(b"\n") and not take_unfinished:
                        self.held_back = len(raw)
                        break
                    consumed += len(raw)
                    if current:
                        self.offset, self.lines_read = consumed, self.lines_read + 1
                    yield raw.decode("utf-8", "replace")
            if not current:
                self.first_line = 1  # FILE itself starts at its line 1
                self.lines_read = 0

    def save(self, db: Any) -> None:
        """Save where this ingest stopped in FILE (called inside the points' transaction)."""
        from traitctl.store.metrics import write_cursor

        write_cursor(db, self.path, {"dev": self._stat.st_dev, "ino": self._stat.st_ino, "offset": self.offset,
                                     "lines": self.lines_read, "head": self._head(self.path, self.offset)})
