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
#: bytes at the head of a file whose hash tells the same file from a new one at a reused inode
HEAD_BYTES = 4096


class Tail:
    """The new complete lines of a file since its last ingest, for ``metrics ingest FILE``.

    Where an ingest stopped is saved per file (device and inode, a byte offset, a line count, a
    hash of the first 4 KiB) in the store, in the transaction that stores the points: each line
    is stored exactly once, under whatever name the file has when it is ingested (``app.jsonl``,
    then ``app.jsonl.1`` after a rotation). Only complete lines are read (a last line without its
    newline is still being written and waits, unless ``final``). When FILE is a new file since
    its last ingest and the old one is still beside it under another name (``app.jsonl.1``), the
    rest of the old one is read first.

    Example usage::

        tail = Tail(path, store.metrics.db, final=False)
        report = telemetry.ingest(repo, tail.lines(), "jsonl", now=now, first_line=tail.first_line,
                                  on_commit=tail.save)
    """

    def __init__(self, path: str, db: Any, *, final: bool = False, from_start: bool = False) -> None:
        import os

        from traitctl.store.metrics import read_cursor

        self.path = os.path.realpath(path)
        stat = os.stat(self.path)
        self.rotated_from: str | None = None
        #: (file, its stat, start offset, line count before it, read an unfinished last line)
        self.parts: list[list] = []
        self.held_back = 0
        mine = None if from_start else self._valid(self.path, stat, read_cursor(db, "file", _file_id(stat)))
        if mine is None and not from_start:
            before = read_cursor(db, "path", self.path)  # which file FILE was at its last ingest
            if before is not None and before.get("file") != _file_id(stat):
                old = self._find(before["file"])
                if old is not None:
                    old_stat = os.stat(old)
                    kept = self._valid(old, old_stat, read_cursor(db, "file", before["file"]))
                    if kept is not None:
                        self.rotated_from = old
                        self.parts.append([old, old_stat, int(kept["offset"]), int(kept.get("lines", 0)), True])
        start, lines = (int(mine["offset"]), int(mine.get("lines", 0))) if mine else (0, 0)
        self.parts.append([self.path, stat, start, lines, final])
        self.first_line = self.parts[0][3] + 1

    def _valid(self, path: str, stat: Any, cursor: dict | None) -> dict | None:
        """``cursor`` when ``path`` is still the file it was saved for (not truncated, same head)."""
        try:
            offset = int(cursor["offset"])
            return cursor if stat.st_size >= offset and _head(path, offset) == cursor.get("head") else None
        except (TypeError, KeyError, ValueError, OSError):
            return None

    def _find(self, file_id: str) -> str | None:
        """The file of ``file_id`` (``dev:ino``) beside FILE under a name starting with FILE's."""
        import os

        folder, name = os.path.split(self.path)
        try:
            entries = sorted(e for e in os.listdir(folder) if e.startswith(name) and e != name)
        except OSError:
            return None
        for entry in entries:
            candidate = os.path.join(folder, entry)
            try:
                if _file_id(os.stat(candidate)) == file_id:
                    return candidate
            except OSError:
                continue
        return None

    def lines(self) -> Iterator[str]:
        """Every complete new line, the rotated old file first; keeps count of what it read."""
        for part in self.parts:
            path, _stat, start, _lines, take_unfinished = part
            with open(path, "rb") as handle:
                handle.seek(start)
                for raw in handle:
                    if not raw.endswith(b"\n") and not take_unfinished:
                        self.held_back = len(raw)
                        break
                    part[2] += len(raw)
                    part[3] += 1
                    yield raw.decode("utf-8", "replace")

    def save(self, db: Any) -> None:
        """Save where this ingest stopped in each file read (inside the points' transaction)."""
        from traitctl.store.metrics import write_cursor

        for path, stat, offset, lines, _ in self.parts:
            write_cursor(db, "file", _file_id(stat), {"offset": offset, "lines": lines, "head": _head(path, offset),
                                                      "path": path})
        write_cursor(db, "path", self.path, {"file": _file_id(self.parts[-1][1])})


def _file_id(stat: Any) -> str:
    return f"{stat.st_dev}:{stat.st_ino}"


def _head(path: str, size: int) -> str:
    import hashlib

    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read(min(size, HEAD_BYTES))).hexdigest()
