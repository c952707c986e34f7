"""The inventory's parse cache: per-file facts keyed by path, checked by size + mtime, then by content.

One row per scanned file: ``path`` (absolute), ``size``, ``mtime_ns``, ``digest`` (BLAKE2b of the
bytes), ``version`` (facts format + Python module name, so a format change or a different module
name is a miss) and ``data`` (the facts as JSON).

Besides, one row per scan scope (the roots and options of a scan, see :mod:`traitctl.scan`) holds the
last whole inventory built for it: ``state`` (a digest of the code versions and of every file's
path, size, mtime and module) and ``data`` (the inventory in the packed JSON form of
:mod:`traitctl.engine.inventory.codec`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import peewee

from traitctl.store.db import model_base

#: Rows per statement; SQLite allows 32k parameters, older builds 999.
CHUNK = 500


class CachedFile(NamedTuple):
    """A cached entry: what the file looked like when parsed, and its facts (a tuple in the table's
    column order: a cold scan makes one per file, and the upsert takes them as they are)."""

    path: str
    size: int
    mtime_ns: int
    digest: str
    version: str
    data: str

    def facts(self) -> dict[str, Any]:
        return json.loads(self.data)


class FileCacheRepo:
    """Read and write cached per-file facts (the ``filecache`` repository of the store)."""

    def __init__(self, db: peewee.Database) -> None:
        class FileRow(model_base(db)):
            path = peewee.TextField(primary_key=True)
            size = peewee.BigIntegerField()
            mtime_ns = peewee.BigIntegerField()
            digest = peewee.CharField(max_length=64, index=True)
            version = peewee.TextField()
            data = peewee.TextField()

            class Meta:
                table_name = "traitctl_filecache"

        class ResultRow(model_base(db)):
            scope = peewee.CharField(max_length=64, primary_key=True)
            state = peewee.CharField(max_length=64)
            data = peewee.TextField()

            class Meta:
                table_name = "traitctl_inventorycache"

        self.db = db
        self.Row = FileRow
        self.Result = ResultRow
        self.models = [FileRow, ResultRow]

    def get_many(self, paths: Sequence[str]) -> dict[str, CachedFile]:
        """Cached entries for these paths (missing paths are absent from the result)."""
        # Plain SQL: peewee builds a 500-value IN list in about as much time as the database
        # needs to answer it.
        left, right = self.db.quote[0], self.db.quote[-1]
        table = f"{left}{self.Row._meta.table_name}{right}"
        out: dict[str, CachedFile] = {}
        for start in range(0, len(paths), CHUNK):
            chunk = list(paths[start:start + CHUNK])
            marks = ", ".join([self.db.param] * len(chunk))
            cursor = self.db.execute_sql(f"SELECT path, size, mtime_ns, digest, version, data FROM {table} "
                                         f"WHERE path IN ({marks})", chunk)
            for row in cursor.fetchall():
                out[row[0]] = CachedFile(*row)
        return out

    def by_digest(self, digests: Iterable[str]) -> dict[tuple[str, str], str]:
        """``{(digest, version): data}`` for any path with that content (a moved or copied file)."""
        R = self.Row
        wanted = sorted(set(digests))
        out: dict[tuple[str, str], str] = {}
        for start in range(0, len(wanted), CHUNK):
            query = R.select(R.digest, R.version, R.data).where(R.digest.in_(wanted[start:start + CHUNK]))
            for digest, version, data in query.tuples():
                out[(digest, version)] = data
        return out

    def put_many(self, entries: Iterable[CachedFile], *, rows_per_statement: int = 1) -> int:
        """Insert or replace entries (one transaction). Returns how many were written.

        :param rows_per_statement: rows each statement holds (the paths must differ): from a thread
            of its own, many, so that it takes the GIL back once a statement, not once a row.
        """
        # One prepared upsert run by the driver's executemany: peewee's multi-row INSERT costs
        # more to build in Python than the database needs to store the rows (measured).
        rows = entries if isinstance(entries, list) else list(entries)
        if not rows:
            return 0
        left, right = self.db.quote[0], self.db.quote[-1]
        table = f"{left}{self.Row._meta.table_name}{right}"
        marks = "(" + ", ".join([self.db.param] * 6) + ")"

        def upsert(count: int) -> str:
            return (f"INSERT INTO {table} (path, size, mtime_ns, digest, version, data) VALUES "
                    + ", ".join([marks] * count)
                    + " ON CONFLICT (path) DO UPDATE SET size = EXCLUDED.size, mtime_ns = EXCLUDED.mtime_ns, "
                    "digest = EXCLUDED.digest, version = EXCLUDED.version, data = EXCLUDED.data")

        with self.db.atomic():
            cursor = self.db.cursor()
            if rows_per_statement <= 1:
                cursor.executemany(upsert(1), rows)
            else:
                full = upsert(rows_per_statement)
                for start in range(0, len(rows), rows_per_statement):
                    chunk = rows[start:start + rows_per_statement]
                    cursor.execute(full if len(chunk) == rows_per_statement else upsert(len(chunk)),
                                   [value for row in chunk for value in row])
        return len(rows)

    def rows_per_statement(self) -> int:
        """The most rows one statement of :meth:`put_many` can hold on this connection (six values a
        row: SQLite takes 32,766 values a statement since 3.32, 999 before; PostgreSQL 65,535)."""
        limit = 65535
        if isinstance(self.db, peewee.SqliteDatabase):
            getlimit = getattr(self.db.connection(), "getlimit", None)  # Python 3.11+
            limit = getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) if getlimit is not None else 999
        return max(1, limit // 6)

    def get_result(self, scope: str, state: str) -> str | None:
        """The inventory cached for ``scope`` when it was built from the tree ``state``, else ``None``."""
        R = self.Result
        row = R.select(R.data).where((R.scope == scope) & (R.state == state)).tuples().first()
        return row[0] if row else None

    def put_result(self, scope: str, state: str, data: str) -> None:
        """Keep ``data`` as the inventory of ``scope`` for the tree ``state`` (replacing the last one)."""
        R = self.Result
        (R.insert(scope=scope, state=state, data=data)
         .on_conflict(conflict_target=[R.scope], update={R.state: peewee.EXCLUDED.state, R.data: peewee.EXCLUDED.data})
         .execute())

    def clear(self) -> int:
        """Forget every cached entry and inventory. Returns how many file entries were removed."""
        with self.db.atomic():
            self.Result.delete().execute()
            return self.Row.delete().execute()

    def empty(self) -> bool:
        """Whether no file entry is cached at all."""
        return self.Row.select(self.Row.path).limit(1).tuples().first() is None

    def count(self) -> int:
        return self.Row.select().count()
