"""Telemetry in the store: series, raw points and per-minute roll-ups.

Layout (three tables):

``traitctl_metric_series``
    one row per metric name + label set, with its kind and the ``trait``/``model``/``tenant``
    labels in their own columns (the dashboard's filters), and the newest point's time.
``traitctl_metric_point``
    every point: series id, time (epoch seconds, UTC), value. Index ``(series_id, ts)``.
``traitctl_metric_rollup`` and ``traitctl_metric_rollup_hour``
    per series and minute (and hour): count, sum, min, max, last time and last value, kept up to
    date in the same transaction as the points. Views over windows read whole hours, then whole
    minutes at the edges, then the points of the partial minutes, so they do not scan millions of rows.

Writes are one transaction per batch. On SQLite each statement reads its rows from one JSON
array (``json_each``), so SQLite runs it without the interpreter lock and an ingest's writer
thread (:class:`ThreadedBatchWriter`) overlaps the parsing of the next batch; elsewhere the
DB-API cursor's ``executemany`` (peewee's ``insert_many`` builds SQL text and is ~10x slower).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from operator import itemgetter
from typing import Any

import peewee

from traitctl.engine.errors import InputError
from traitctl.engine.telemetry_formats import (CORE_LABELS, MAX_SUM, Point, Series, Summary, clamp_sum, from_epoch,
                                               labels_text, to_epoch)
from traitctl.store.db import model_base, retrying

AGGREGATES = ("sum", "count", "avg", "min", "max")
#: roll-up levels, coarsest first: (bucket seconds, table).
LEVELS = ((3600, "traitctl_metric_rollup_hour"), (60, "traitctl_metric_rollup"))
MINUTE_TABLE = LEVELS[-1][1]
_CHUNK = 500  # series ids per IN (...) list: well under SQLite's variable limit
_SERIES_ID = itemgetter(0)


class MetricsRepo:
    """Store and query telemetry points (see the module docstring for the layout)."""

    def __init__(self, db: peewee.Database) -> None:
        Base = model_base(db)

        class SeriesRow(Base):
            name = peewee.CharField(max_length=200, index=True)
            kind = peewee.CharField(max_length=16)
            trait = peewee.CharField(max_length=200, null=True, index=True)
            model = peewee.CharField(max_length=300, null=True)
            tenant = peewee.CharField(max_length=64, null=True)
            labels = peewee.TextField()
            last_ts = peewee.DoubleField(null=True)

            class Meta:
                table_name = "traitctl_metric_series"
                indexes = ((("name", "labels"), True),)

        class PointRow(Base):
            id = peewee.BigAutoField()
            series_id = peewee.IntegerField()
            ts = peewee.DoubleField()
            value = peewee.DoubleField()

            class Meta:
                table_name = "traitctl_metric_point"
                indexes = ((("series_id", "ts"), False),)

        def rollup(table: str) -> type[peewee.Model]:
            class RollupRow(Base):
                series_id = peewee.IntegerField()
                bucket = peewee.BigIntegerField()
                n = peewee.BigIntegerField()
                total = peewee.DoubleField()
                lo = peewee.DoubleField()
                hi = peewee.DoubleField()
                last_ts = peewee.DoubleField()
                last_value = peewee.DoubleField()

                class Meta:
                    table_name = table
                    primary_key = peewee.CompositeKey("series_id", "bucket")

            return RollupRow

        self.db = db
        self._sqlite = isinstance(db, peewee.SqliteDatabase)
        self.SeriesRow, self.PointRow = SeriesRow, PointRow
        self.models = [SeriesRow, PointRow] + [rollup(table) for _, table in LEVELS]
        # (name, kind, tuple(labels.items())) -> series id. Labels in another order miss the cache
        # but resolve to the same series through its canonical text (see _create_series).
        self._ids: dict | None = None
        self._kinds: dict[str, str] = {}

    # -- writing ---------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction; on failure the series cache is dropped with the rolled-back rows."""
        try:
            with self.db.atomic():
                yield
        except BaseException:
            self._ids = None
            raise

    def write(self, points: Iterable[Point]) -> int:
        """Store points (one transaction, nested in an outer one when there is one); return how many.

        :raises InputError: when a point's kind differs from its metric's stored kind.
        """
        slots: dict[tuple, int] = {}
        series: list[tuple[str, str, dict]] = []
        rows: list[tuple] = []
        for name, kind, value, ts, labels in points:
            key = (name, kind, tuple(labels.items()))
            slot = slots.get(key)
            if slot is None:
                slot = slots[key] = len(series)
                series.append((name, kind, labels))
            rows.append((slot, ts, value))

        def work() -> int:
            with self.transaction():
                sids = self.series_ids(series)
                return self.write_rows([(sids[slot], ts, value) for slot, ts, value in rows])

        return retrying(self.db, work)

    def batch_writer(self, *, one_transaction: bool = False, background: bool | None = None) -> "BatchWriter":
        """A writer for a stream of batches (``put(batch)`` or ``put_rows``, then ``close(commit)``),
        with the settings of :meth:`bulk_load` on its connection.

        :param one_transaction: all batches in one transaction, committed or rolled back by
            ``close``; otherwise each batch is its own transaction.
        :param background: write in a thread of its own while the caller prepares the next
            batch; by default on SQLite files (see :meth:`_many`), not on other databases.
        """
        if background is None:
            background = self._sqlite and self.db.database != ":memory:"
        return (ThreadedBatchWriter if background else BatchWriter)(self, one_transaction)

    @contextmanager
    def bulk_load(self) -> Iterator[None]:
        """Settings of this connection for a long stream of batches, put back afterwards.

        On SQLite: a 64 MiB page cache (memory only) and no automatic checkpoint between the
        batches, then one passive checkpoint at the end. Each batch still commits to the
        write-ahead log under the store's own ``synchronous`` setting, so what a commit promises
        is unchanged; only the copying of the log into the database file is done once instead of
        every 1,000 pages. Other databases: nothing.
        """
        if not isinstance(self.db, peewee.SqliteDatabase):
            yield
            return
        saved = {name: self.db.pragma(name) for name in ("cache_size", "wal_autocheckpoint")}
        self.db.pragma("cache_size", -65536)
        self.db.pragma("wal_autocheckpoint", 0)
        try:
            yield
        finally:
            for name, value in saved.items():
                self.db.pragma(name, value)
            if not self.db.in_transaction():
                self.db.execute_sql("PRAGMA wal_checkpoint(PASSIVE)")

    def series_ids(self, series: Sequence[tuple[str, str, dict]]) -> list[int]:
        """The store id of each ``(name, kind, labels)``, creating the series not stored yet (call
        it in the transaction that writes their points).

        :raises InputError: when a new series' kind differs from its metric's stored kind.
        """
        ids = self._series_ids()
        out = [ids.get((name, kind, tuple(labels.items()))) for name, kind, labels in series]
        missing = [i for i, sid in enumerate(out) if sid is None]
        if missing:
            for i, sid in zip(missing, self._create_series([series[i] for i in missing])):
                out[i] = sid
        return out

    def write_rows(self, rows: list[tuple]) -> int:
        """Store rows ``(series id, ts, value)`` (ids from :meth:`series_ids`) and merge them into
        the roll-ups, in one transaction; return how many."""
        return self.write_prepared(prepare_rows(rows))

    def write_prepared(self, prepared: tuple[list, dict], sids: Sequence[int] | None = None) -> int:
        """Store what :func:`prepare_rows` made, in one transaction; return how many points.

        :param sids: when given, ids ``-(i + 1)`` in the rows stand for ``sids[i]``.
        """
        rows, minutes = prepared
        if sids is not None:
            rows = [(sids[-sid - 1] if sid < 0 else sid, ts, value) for sid, ts, value in rows]
            real: dict[tuple, list] = {}
            for (sid, minute), acc in minutes.items():
                key = (sids[-sid - 1] if sid < 0 else sid, minute)
                _merge_acc(real[key], acc) if key in real else real.__setitem__(key, acc)
            minutes = real
        rollups = {(sid, int(minute) * 60): acc for (sid, minute), acc in minutes.items()}
        newest: dict[int, float] = {}
        for (sid, _), acc in rollups.items():
            if acc[4] > newest.get(sid, -math.inf):
                newest[sid] = acc[4]
        if rows:
            with self.transaction():
                self._insert(rows, rollups, newest)
        return len(rows)

    def _create_series(self, new: list[tuple[str, str, dict]]) -> list[int]:
        """Insert new series at once; return their ids in order."""
        for name, kind, _ in new:
            known = self._kinds.setdefault(name, kind)
            if known != kind:
                raise InputError(f"Metric {name!r} is a {known}; it cannot take {kind} points.")
        p = self.db.param
        texts = [labels_text(labels) for _, _, labels in new]
        self._many("INSERT INTO traitctl_metric_series (name, kind, trait, model, tenant, labels)", 6,
                   [(name, kind, *(labels.get(k) for k in CORE_LABELS), text) for (name, kind, labels), text in zip(new, texts)],
                   "ON CONFLICT (name, labels) DO NOTHING")
        names = sorted({name for name, _, _ in new})
        found = {}
        for i in range(0, len(names), _CHUNK):
            part = names[i:i + _CHUNK]
            where = f"FROM traitctl_metric_series WHERE name IN ({', '.join([p] * len(part))})"
            if self._sqlite:  # one result row (see _many)
                text = self._sql(f"SELECT json_group_array(json_array(id, name, labels)) {where}", part)[0][0]
                found.update({(name, labels): sid for sid, name, labels in json.loads(text)})
            else:
                found.update({(r[1], r[2]): r[0] for r in self._sql(f"SELECT id, name, labels {where}", part)})
        ids = [found[(name, text)] for (name, _, _), text in zip(new, texts)]
        if self._ids is not None:
            self._ids.update({(name, kind, tuple(labels.items())): sid for (name, kind, labels), sid in zip(new, ids)})
        return ids

    def _insert(self, rows: list, rollups: dict, newest: dict) -> None:
        self._many("INSERT INTO traitctl_metric_point (series_id, ts, value)", 3, rows)
        self._upsert(MINUTE_TABLE, [(sid, bucket, *acc) for (sid, bucket), acc in rollups.items()])
        for size, table in LEVELS[:-1]:
            coarse: dict[tuple[int, int], list] = {}
            for (sid, bucket), acc in rollups.items():
                _merge_acc(coarse.setdefault((sid, bucket // size * size), [0, 0.0, math.inf, -math.inf, -math.inf, None]), acc)
            self._upsert(table, [(sid, bucket, *acc) for (sid, bucket), acc in coarse.items()])
        p = self.db.param
        if self._sqlite:  # one statement, for the reason given in _many
            newest_ts = "json_extract(j.value, '$[1]')"
            self._exec(f"UPDATE traitctl_metric_series AS s SET last_ts = {newest_ts} FROM json_each(?) AS j "
                       f"WHERE s.id = json_extract(j.value, '$[0]') AND (s.last_ts IS NULL OR s.last_ts < {newest_ts})",
                       [_json_text(list(newest.items()))])
        else:
            self.db.cursor().executemany(f"UPDATE traitctl_metric_series SET last_ts = {p} WHERE id = {p} "
                                         f"AND (last_ts IS NULL OR last_ts < {p})",
                                         [(ts, sid, ts) for sid, ts in newest.items()])

    def _many(self, head: str, columns: int, rows: list, tail: str = "") -> None:
        """Run ``head VALUES (…) tail`` for each row.

        On SQLite it is one statement reading the rows from a JSON array (``json_each``):
        the sqlite3 module lets other threads run during a statement, so an ingest's writer
        thread overlaps the parsing, whereas ``executemany`` takes the interpreter lock back
        after every row. Floats survive the text exactly (orjson writes the shortest text that
        reads back as the same double; tested).
        """
        if not rows:
            return
        if self._sqlite:
            picks = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(columns))  # ->> needs SQLite 3.38
            self._exec(f"{head} SELECT {picks} FROM json_each(?) WHERE true {tail}", [_json_text(rows)])
        else:
            self.db.cursor().executemany(f"{head} VALUES ({', '.join([self.db.param] * columns)}) {tail}", rows)

    def _upsert(self, t: str, rows: list) -> None:
        """Insert roll-up rows, or merge them into the rows already there (see :meth:`_many`)."""
        self._many(f"INSERT INTO {t} (series_id, bucket, n, total, lo, hi, last_ts, last_value)", 8, rows,
                   f"ON CONFLICT (series_id, bucket) DO UPDATE SET "
                   f"n = {t}.n + excluded.n, total = {_clamped_add(f'{t}.total', 'excluded.total')}, "
                   f"lo = CASE WHEN excluded.lo < {t}.lo THEN excluded.lo ELSE {t}.lo END, "
                   f"hi = CASE WHEN excluded.hi > {t}.hi THEN excluded.hi ELSE {t}.hi END, "
                   f"last_value = CASE WHEN excluded.last_ts >= {t}.last_ts THEN excluded.last_value ELSE {t}.last_value END, "
                   f"last_ts = CASE WHEN excluded.last_ts >= {t}.last_ts THEN excluded.last_ts ELSE {t}.last_ts END")

    def _series_ids(self) -> dict:
        if self._ids is None:
            self._ids, self._kinds = {}, {}
            for row in self.SeriesRow.select(self.SeriesRow.id, self.SeriesRow.name, self.SeriesRow.kind,
                                             self.SeriesRow.labels).tuples():
                self._ids[(row[1], row[2], tuple(json.loads(row[3]).items()))] = row[0]
                self._kinds[row[1]] = row[2]
        return self._ids

    def known_kinds(self) -> dict[str, str]:
        """Metric name -> kind, for every stored metric."""
        self._series_ids()
        return dict(self._kinds)

    # -- series ----------------------------------------------------------------------------
    def series(self, name: str | None = None, *, trait: str | None = None, model: str | None = None,
               tenant: str | None = None, labels: dict | None = None) -> list[Series]:
        """Series matching a name and filters; ``labels`` must all be present with equal values.

        :param model: a model FQN, or its short name (``User`` matches ``App\\Models\\User``).
        """
        S = self.SeriesRow
        query = S.select(S.id, S.name, S.kind, S.labels, S.last_ts).order_by(S.name, S.labels)
        if name is not None:
            query = query.where(S.name == name)
        if trait is not None:
            query = query.where(S.trait == trait)
        if tenant is not None:
            query = query.where(S.tenant == tenant)
        if model is not None:
            query = query.where((S.model == model) | S.model.endswith("\\" + model))
        found = [Series(r[0], r[1], r[2], json.loads(r[3]), r[4]) for r in query.tuples()]
        wanted = (labels or {}).items()
        return [s for s in found if all(s.labels.get(k) == str(v) for k, v in wanted)]

    def names(self) -> list[str]:
        """Every stored metric name, sorted."""
        S = self.SeriesRow
        return [r[0] for r in S.select(S.name).distinct().order_by(S.name).tuples()]

    # -- reading ---------------------------------------------------------------------------
    def summaries(self, series: Sequence[Series], since: float | None = None,
                  until: float | None = None) -> list[Summary]:
        """Each series' points in ``[since, until)`` (epoch seconds; ``None`` = unbounded),
        leaving out series without points there."""
        stats = self._window(list(series), since, until)
        return [Summary(s, int(a[0]), a[1], a[2], a[3], a[5], a[4]) for s in series if (a := stats.get(s.id))]

    def aggregate(self, name: str, *, since: dt.datetime, until: dt.datetime, labels: dict | None = None,
                  agg: str = "sum") -> float | None:
        """One number over every series of ``name`` whose labels include ``labels``, for points in
        ``[since, until)``; ``None`` when there are none. Naive datetimes are UTC.

        :param agg: ``sum``, ``count``, ``avg``, ``min`` or ``max``.
        :raises InputError: for another ``agg``.
        """
        if agg not in AGGREGATES:
            raise InputError(f"Unknown aggregate {agg!r}: use {', '.join(AGGREGATES)}.")
        found = self.summaries(self.series(name, labels=labels), to_epoch(since), to_epoch(until))
        if not found:
            return None
        count, total = sum(s.count for s in found), sum(s.sum for s in found)
        return {"sum": total, "count": float(count), "avg": total / count,
                "min": min(s.min for s in found), "max": max(s.max for s in found)}[agg]

    def _window(self, series: list[Series], since: float | None, until: float | None) -> dict[int, list]:
        return self._span([s.id for s in series], since, until, 0)

    def _span(self, sids: list[int], since: float | None, until: float | None, level: int) -> dict[int, list]:
        """``[since, until)`` from the whole buckets of roll-up ``level``, the partial buckets at
        the edges from the finer levels, and finally from the points: exact at any boundary."""
        if level == len(LEVELS):
            return self._raw(sids, since, until)
        size, table = LEVELS[level]
        start = None if since is None else math.ceil(since / size) * size
        end = None if until is None else math.floor(until / size) * size
        if start is not None and end is not None and start >= end:
            return self._span(sids, since, until, level + 1)
        acc = self._rollup_window(table, sids, start, end)
        if since is not None and since < start:
            _merge_into(acc, self._span(sids, since, start, level + 1))
        if until is not None and end < until:
            _merge_into(acc, self._span(sids, end, until, level + 1))
        return acc

    def _rollup_window(self, table: str, sids: list[int], start: int | None, end: int | None) -> dict[int, list]:
        out: dict[int, list] = {}
        p = self.db.param
        for chunk, params in self._chunks(sids):
            where, args = f"series_id IN ({chunk})", list(params)
            if start is not None:
                where, args = where + f" AND bucket >= {p}", args + [start]
            if end is not None:
                where, args = where + f" AND bucket < {p}", args + [end]
            newest = []
            for sid, n, total, lo, hi, last_ts, bucket in self._sums(
                    f"SELECT series_id, SUM(n), {{sum:total}}, MIN(lo), MAX(hi), MAX(last_ts), MAX(bucket) "
                    f"FROM {table} WHERE {where} GROUP BY series_id", args):
                out[sid] = [n, clamp_sum(total), lo, hi, last_ts, None]
                newest += [sid, bucket]
            # The last value sits in each series' newest bucket: primary-key lookups (an OR of
            # equalities; SQLite scans the table for a row-value IN over VALUES).
            for i in range(0, len(newest), 2 * _CHUNK):
                pairs = newest[i:i + 2 * _CHUNK]
                terms = " OR ".join([f"(series_id = {p} AND bucket = {p})"] * (len(pairs) // 2))
                for sid, last in self._sql(f"SELECT series_id, last_value FROM {table} WHERE {terms}", pairs):
                    out[sid][5] = last
        return out

    def _raw(self, sids: list[int], since: float, until: float | None) -> dict[int, list]:
        out: dict[int, list] = {}
        p = self.db.param
        for chunk, params in self._chunks(sids):
            sql = f"SELECT series_id, ts, value FROM traitctl_metric_point WHERE series_id IN ({chunk}) AND ts >= {p}"
            args = [*params, since] + ([] if until is None else [until])
            for sid, ts, value in self._sql(sql + ("" if until is None else f" AND ts < {p}"), args):
                acc = out.get(sid)
                if acc is None:
                    out[sid] = [1, value, value, value, ts, value]
                else:
                    _add(acc, ts, value)
        return out

    def buckets(self, series: Sequence[Series], start: float, end: float, step: float) -> dict[tuple[int, int], list]:
        """Per series and interval: ``{(series_id, k): [count, sum, min, max]}`` for points in
        ``[start, end)``, interval ``k`` covering ``[start + k*step, start + (k+1)*step)``.

        Intervals of whole hours (or minutes) on their boundaries are read from the roll-ups;
        others from the points.
        """
        p = self.db.param
        table = next((t for size, t in LEVELS if step % size == 0 and start % size == 0 and end % size == 0), None)
        if table:
            select = (f"SELECT series_id, (bucket - {p}) / {p} AS k, SUM(n), {{sum:total}}, MIN(lo), MAX(hi) "
                      f"FROM {table} WHERE series_id IN (%s) AND bucket >= {p} AND bucket < {p}")
            lead = [int(start), int(step)]
        else:
            k = (f"CAST((ts - {p}) / {p} AS INTEGER)" if isinstance(self.db, peewee.SqliteDatabase)
                 else f"FLOOR((ts - {p}) / {p})::bigint")
            select = (f"SELECT series_id, {k} AS k, COUNT(*), {{sum:value}}, MIN(value), MAX(value) "
                      f"FROM traitctl_metric_point WHERE series_id IN (%s) AND ts >= {p} AND ts < {p}")
            lead = [float(start), float(step)]
        out: dict[tuple[int, int], list] = {}
        for chunk, params in self._chunks([s.id for s in series]):
            rows = self._sums(select.replace("(%s)", f"({chunk})") + " GROUP BY series_id, k",
                              [*lead, *params, start, end])
            for sid, k, n, total, lo, hi in rows:
                out[(sid, int(k))] = [int(n), clamp_sum(total), lo, hi]
        return out

    def newest_point_time(self) -> dt.datetime | None:
        """Time of the newest stored point (naive UTC), ``None`` when there is none."""
        from traitctl.engine.timeparse import LATEST_EPOCH

        S = self.SeriesRow  # a point past 2200 (stored before times were checked) is no sign of life
        newest = S.select(peewee.fn.MAX(S.last_ts)).where(S.last_ts <= LATEST_EPOCH).scalar()
        return None if newest is None else from_epoch(newest)

    def count_points(self) -> int:
        """How many points are stored."""
        return self.PointRow.select().count()

    # -- deleting --------------------------------------------------------------------------
    def purge(self, before: dt.datetime, kind: str | None = None) -> int:
        """Delete points older than ``before`` (of one kind, or all); return how many.

        Roll-ups of whole minutes before it go too; the minute that straddles ``before`` is
        recomputed from the points that remain, so views stay exact.
        """
        cut = to_epoch(before)
        minute = math.floor(cut / 60) * 60
        p = self.db.param
        kind_sql, kind_args = ("", []) if kind is None else (
            f" AND series_id IN (SELECT id FROM traitctl_metric_series WHERE kind = {p})", [kind])
        with self.transaction():
            deleted = self._exec(f"DELETE FROM traitctl_metric_point WHERE ts < {p}{kind_sql}", [cut, *kind_args])
            self._exec(f"DELETE FROM {MINUTE_TABLE} WHERE bucket <= {p}{kind_sql}", [minute, *kind_args])
            self._rebuild_minute(minute, kind_sql, kind_args)
            for size, table in LEVELS[:-1]:
                bucket = math.floor(cut / size) * size
                self._exec(f"DELETE FROM {table} WHERE bucket <= {p}{kind_sql}", [bucket, *kind_args])
                self._rebuild_coarse(table, bucket, size, kind_sql, kind_args)
            self._drop_empty_series()
        return deleted

    def _rebuild_coarse(self, table: str, bucket: int, size: int, kind_sql: str, kind_args: list) -> None:
        """Recompute one coarse bucket from the minute roll-ups left in it."""
        p = self.db.param
        acc: dict[int, list] = {}
        for sid, *minute in self._sql(f"SELECT series_id, n, total, lo, hi, last_ts, last_value FROM {MINUTE_TABLE} "
                                      f"WHERE bucket >= {p} AND bucket < {p}{kind_sql}", [bucket, bucket + size, *kind_args]):
            _merge_acc(acc.setdefault(sid, [0, 0.0, math.inf, -math.inf, -math.inf, None]), minute)
        if acc:
            self._upsert(table, [(sid, bucket, *a) for sid, a in acc.items()])

    def _rebuild_minute(self, minute: int, kind_sql: str, kind_args: list) -> None:
        p = self.db.param
        rows = self._sql(f"SELECT series_id, ts, value FROM traitctl_metric_point WHERE ts >= {p} AND ts < {p}"
                         f"{kind_sql} ORDER BY ts", [minute, minute + 60, *kind_args])
        acc: dict[int, list] = {}
        for sid, ts, value in rows:
            if sid in acc:
                _add(acc[sid], ts, value)
            else:
                acc[sid] = [1, value, value, value, ts, value]
        if acc:
            cursor = self.db.cursor()
            cursor.executemany(f"INSERT INTO {MINUTE_TABLE} (series_id, bucket, n, total, lo, hi, last_ts, "
                               f"last_value) VALUES ({', '.join([p] * 8)})",
                               [(sid, minute, *a) for sid, a in acc.items()])

    def _drop_empty_series(self) -> None:
        self._exec("DELETE FROM traitctl_metric_series WHERE id NOT IN "
                   f"(SELECT DISTINCT series_id FROM {MINUTE_TABLE})", [])
        self._ids = None

    def apply_retention(self, retention: dict[str, dt.timedelta], now: dt.datetime) -> dict[str, int]:
        """Purge each kind's points older than its retention; return ``{kind: points deleted}``.

        :param retention: kind (``counter``, ``gauge``, ``timing``) -> how long points are kept.
        :param now: the current time (naive UTC or aware).
        """
        return {kind: self.purge(now - keep, kind) for kind, keep in sorted(retention.items())}

    def delete(self, series: Sequence[Series]) -> int:
        """Delete these series with all their points and roll-ups; return the points deleted."""
        deleted = 0
        with self.transaction():
            for chunk, params in self._chunks([s.id for s in series]):
                deleted += self._exec(f"DELETE FROM traitctl_metric_point WHERE series_id IN ({chunk})", params)
                for _, table in LEVELS:
                    self._exec(f"DELETE FROM {table} WHERE series_id IN ({chunk})", params)
                self._exec(f"DELETE FROM traitctl_metric_series WHERE id IN ({chunk})", params)
        self._ids = None
        return deleted

    # -- helpers ---------------------------------------------------------------------------
    def _chunks(self, sids: list[int]) -> Iterator[tuple[str, list[int]]]:
        for i in range(0, len(sids), _CHUNK):
            part = sids[i:i + _CHUNK]
            yield ", ".join([self.db.param] * len(part)), part

    def _sql(self, sql: str, args: list) -> list[tuple]:
        return list(self.db.execute_sql(sql, args).fetchall())

    def _sums(self, sql: str, args: list) -> list[tuple]:
        """Run ``sql`` whose ``{sum:col}`` stand for ``SUM(col)``; sums beyond the largest double
        come back as infinities (SQLite) for :func:`clamp_sum`. PostgreSQL refuses such a sum
        ("value out of range"), so there the query is tried again summing exact numerics, clamped."""
        plain = re.sub(r"\{sum:(\w+)\}", r"SUM(\1)", sql)
        if self._sqlite:
            return self._sql(plain, args)
        try:
            with self.db.atomic():  # a savepoint inside a transaction: the failure must not abort it
                return self._sql(plain, args)
        except peewee.DataError:
            exact = re.sub(r"\{sum:(\w+)\}", rf"LEAST(GREATEST(SUM(\1::numeric), -{MAX_SUM!r}), {MAX_SUM!r})::float8", sql)
            return self._sql(exact, args)

    def _exec(self, sql: str, args: list) -> int:
        return self.db.execute_sql(sql, args).rowcount


def prepare_rows(rows: list[tuple]) -> tuple[list[tuple], dict]:
    """Rows ``(series id, ts, value)`` grouped by series, and their minute roll-ups: the part of
    a write that needs no database (an ingest does it while its writer thread writes).

    The sort is stable, so a series' rows keep their order (ties in time still go to the later
    row); SQLite then fills the ``(series_id, ts)`` index a series at a time, with less work
    than for rows of many series interleaved.
    """
    rows = sorted(rows, key=_SERIES_ID)
    return rows, _minutes(rows)


def _minutes(rows: list[tuple]) -> dict[tuple, list]:
    """Per ``(series id, minute number)`` of rows ``(series id, ts, value)``, the roll-up
    ``[count, sum, min, max, last_ts, last_value]`` (the last at the newest time, later rows
    winning ties)."""
    minutes: dict[tuple, list] = {}
    for sid, ts, value in rows:
        acc = minutes.get((sid, ts // 60))
        if acc is None:
            minutes[(sid, ts // 60)] = [1, value, value, value, ts, value]
            continue
        acc[0] += 1  # _add, inlined: this loop runs once per point of every ingest
        acc[1] += value
        if value < acc[2]:
            acc[2] = value
        elif value > acc[3]:
            acc[3] = value
        if ts >= acc[4]:
            acc[4] = ts
            acc[5] = value
    for acc in minutes.values():  # once per minute, not per point: overflowed sums are clamped
        if not -MAX_SUM <= acc[1] <= MAX_SUM:
            acc[1] = clamp_sum(acc[1])
    return minutes


def _clamped_add(a: str, b: str) -> str:
    """SQL for ``a + b`` clamped to ``±MAX_SUM``. The halves are compared first: they cannot
    overflow, and PostgreSQL raises an error for a sum that does."""
    half = f"{a} / 2 + {b} / 2"
    return (f"CASE WHEN {half} >= {MAX_SUM / 2!r} THEN {MAX_SUM!r} WHEN {half} <= {-MAX_SUM / 2!r} "
            f"THEN {-MAX_SUM!r} ELSE {a} + {b} END")


def _json_text(rows: list) -> str:
    import orjson

    return orjson.dumps(rows).decode()


def _add(acc: list, ts: float, value: float) -> None:
    acc[0] += 1
    total = acc[1] + value
    acc[1] = total if -MAX_SUM <= total <= MAX_SUM else clamp_sum(total)
    if value < acc[2]:
        acc[2] = value
    if value > acc[3]:
        acc[3] = value
    if ts >= acc[4]:
        acc[4], acc[5] = ts, value


def _merge_acc(mine: list, other: Sequence) -> None:
    """Merge ``[count, sum, min, max, last_ts, last_value]`` ``other`` into ``mine``."""
    mine[0] += other[0]
    mine[1] = clamp_sum(mine[1] + other[1])
    mine[2], mine[3] = min(mine[2], other[2]), max(mine[3], other[3])
    if other[4] >= mine[4]:
        mine[4], mine[5] = other[4], other[5]


def _merge_into(acc: dict[int, list], more: dict[int, list]) -> None:
    for sid, other in more.items():
        if sid in acc:
            _merge_acc(acc[sid], other)
        else:
            acc[sid] = other


class _Rollback(Exception):
    """Raised inside the ingest transaction to roll it back."""


class BatchWriter:
    """Writes each ``put`` batch at once (see :meth:`MetricsRepo.batch_writer`)."""

    def __init__(self, repo: MetricsRepo, one_transaction: bool) -> None:
        self.repo = repo
        self.stored = 0
        self._sids: list[int] = []  # store id of each series given to put_rows, in order
        self._bulk = repo.bulk_load()
        self._bulk.__enter__()
        self._txn = repo.db.atomic() if one_transaction else None
        if self._txn is not None:
            self._txn.__enter__()

    def put(self, batch: list[Point]) -> None:
        """Store one batch (the list may be reused by the caller afterwards)."""
        self.stored += self.repo.write(batch)

    def put_rows(self, series: list[tuple[str, str, dict]], rows: list[tuple]) -> list[int]:
        """Store rows ``(id, ts, value)`` as :class:`~traitctl.engine.telemetry_formats.JsonRows`
        makes them: ``id`` is a series id, or ``-(i + 1)`` for ``series[i]`` (``series`` only grows
        between calls). Return the id of every series so far."""
        self._write(series, prepare_rows(rows))
        return list(self._sids)

    def _write(self, series: list[tuple[str, str, dict]], prepared: tuple[list, dict]) -> None:
        known = len(self._sids)
        try:
            with self.repo.transaction():
                self._sids += self.repo.series_ids(series[known:])
                placeholders = prepared[0] and prepared[0][0][0] < 0  # sorted: the smallest id first
                self.stored += self.repo.write_prepared(prepared, self._sids if placeholders else None)
        except BaseException:
            del self._sids[known:]  # those series went with the rolled-back batch
            raise

    def call(self, fn: Callable[[Any], None]) -> None:
        """Run ``fn(db)`` on the writer's connection, after the batches put so far and within the
        same transaction when there is one (a read position saved with the points it covers)."""
        fn(self.repo.db)

    def close(self, commit: bool = True) -> int:
        """Commit (or roll back) the single transaction; return the points stored."""
        try:
            if self._txn is not None and commit:
                self._txn.__exit__(None, None, None)
            elif self._txn is not None:
                self._txn.__exit__(_Rollback, _Rollback(), None)
                self.repo._ids, self.stored, self._sids = None, 0, []
        finally:
            self._bulk.__exit__(None, None, None)
        return self.stored


class ThreadedBatchWriter(BatchWriter):
    """Writes the batches in a thread with its own connection, in order, while the caller
    prepares the next ones (at most two wait). An error of the writer is raised by the next
    ``put``/``put_rows`` or by ``close``; the batches after it are dropped."""

    def __init__(self, repo: MetricsRepo, one_transaction: bool) -> None:  # noqa: super().__init__ runs in the thread
        import queue
        import threading

        self.repo, self.stored, self._sids = repo, 0, []
        self.error: BaseException | None = None
        self._ended = False  # the writer has taken the caller's ("end", commit)
        self._one = one_transaction
        self._queue: queue.Queue = queue.Queue(maxsize=2)
        self._thread = threading.Thread(target=self._run, name="traitctl-metrics-writer", daemon=True)
        self._thread.start()

    def put(self, batch: list[Point]) -> None:
        """Hand a copy of the batch to the writer (raises the writer's error, if any)."""
        self._raise()
        self._queue.put(("points", list(batch)))

    def put_rows(self, series: list[tuple[str, str, dict]], rows: list[tuple]) -> list[int]:
        """Hand the rows to the writer (see :meth:`BatchWriter.put_rows`); return the ids of the
        series written so far (the later ones the writer resolves itself)."""
        prepared = prepare_rows(rows)  # here, while the writer thread writes the previous batch
        self._raise()
        self._queue.put(("rows", list(series), prepared))
        return list(self._sids)

    def call(self, fn: Callable[[Any], None]) -> None:
        """Hand ``fn`` to the writer: run with its connection after the batches before it."""
        self._raise()
        self._queue.put(("call", fn))

    def close(self, commit: bool = True) -> int:
        """Wait for the writer to finish, commit or roll back; return the points stored.

        :raises Exception: the writer's error, when committing.
        """
        self._queue.put(("end", commit))
        self._thread.join()
        if commit:
            self._raise()
        return self.stored

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        db = self.repo.db
        try:
            db.connect(reuse_if_open=True)
            with self.repo.bulk_load(), self.repo.transaction() if self._one else nullcontext():
                self._drain()
        except _Rollback:
            self.stored = self.stored if not self._one else 0
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread by put/close
            self.error = exc
            while not self._ended:  # wake a caller blocked on a full queue; wait for its close
                self._ended = self._queue.get()[0] == "end"
        finally:
            db.close()

    def _drain(self) -> None:
        while True:
            item = self._queue.get()
            if item[0] == "end":
                self._ended = True
                if not item[1]:
                    raise _Rollback()
                return
            if item[0] == "points":
                self.stored += self.repo.write(item[1])
            elif item[0] == "call":
                item[1](self.repo.db)
            else:
                self._write(item[1], item[2])


# -- where the last ingest of a file stopped --------------------------------------------------------------------------
def _cursor_key(kind: str, name: str) -> str:
    import hashlib

    return f"ingest-{kind}:" + hashlib.sha1(name.encode("utf-8", "surrogateescape")).hexdigest()


def read_cursor(db: peewee.Database, kind: str, name: str) -> dict | None:
    """A saved ingest position in ``traitctl_meta``: ``kind`` ``file`` (by ``dev:ino``: where the
    last ingest of that file stopped, whatever its name now) or ``path`` (which file a path was).
    ``None`` when there is none."""
    if "traitctl_meta" not in db.get_tables():
        return None
    row = db.execute_sql(f"SELECT value FROM traitctl_meta WHERE key = {db.param}",
                         (_cursor_key(kind, name),)).fetchone()
    if row is None:
        return None
    try:
        value = json.loads(row[0])
    except ValueError:
        return None
    return value if isinstance(value, dict) and value.get("name") == name else None


def write_cursor(db: peewee.Database, kind: str, name: str, value: dict) -> None:
    """Save an ingest position (run inside the transaction of the points it covers)."""
    p = db.param
    db.execute_sql(f"INSERT INTO traitctl_meta (key, value) VALUES ({p}, {p}) "
                   "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                   (_cursor_key(kind, name), json.dumps({**value, "name": name}, sort_keys=True)))
