"""Open the store database and keep its schema current.

The store is one :class:`Store` object over one peewee database. Each area of traitctl (history,
flag overrides, jobs, telemetry, the inventory cache) is a *repository* class in its own module of
this package, built on the same database; its peewee models are created per store by a factory so
that two stores (say SQLite and PostgreSQL in one test run) never share model bindings.

To add a repository: write ``traitctl/store/<area>.py`` with a class taking ``(db)`` that exposes
``models`` (a list of peewee model classes bound to ``db``), then list it in :data:`REPOSITORIES`.
Tables missing from an existing database are created on open; column changes go in
:data:`MIGRATIONS` with a new :data:`SCHEMA_VERSION`.
"""

from __future__ import annotations

import importlib
import random
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import peewee

from traitctl.engine.errors import StoreError
from traitctl.settings import redact, redact_url

T = TypeVar("T")

SCHEMA_VERSION = 5

#: How long a SQLite connection waits for another process's write lock before giving up.
BUSY_TIMEOUT_MS = 10000

#: Bytes of a SQLite store read through a memory map instead of read calls. Each commit by another
#: process (a worker, an enqueuing command) empties a connection's page cache, so the next statement
#: reads again every page it touches; mapped, that is a memory access instead of a system call.
MMAP_SIZE = 256 * 1024 * 1024

#: Seconds to wait for a PostgreSQL server to accept a connection (libpq's ``connect_timeout``).
CONNECT_TIMEOUT = 5

#: Attempts of one unit of work that lost a race for a lock (see :func:`retrying`).
WRITE_ATTEMPTS = 5

#: The key of the PostgreSQL advisory lock held while the schema is created or upgraded.
SCHEMA_LOCK = 0x7472_6169_7463_746C  # "traitctl"

#: attribute name on Store -> "module:Class" of the repository.
REPOSITORIES: dict[str, str] = {
    "events": "traitctl.store.events:EventRepo",
    "workers": "traitctl.store.workers:WorkerRepo",
    "filecache": "traitctl.store.filecache:FileCacheRepo",
    "jobs": "traitctl.store.jobs:JobRepo",
    "metrics": "traitctl.store.metrics:MetricsRepo",
    "flag_overrides": "traitctl.store.flag_overrides:FlagOverrideRepo",
}

def _drop_event_indexes(db: peewee.Database) -> None:
    """Version 2: the history keeps only its time index (each index cost every job transition)."""
    for name in ("eventrow_kind", "eventrow_trait", "eventrow_tenant"):
        db.execute_sql(f"DROP INDEX IF EXISTS {name}")


def _partial_job_indexes(db: peewee.Database) -> None:
    """Version 3: the job table's full indexes give way to the partial ones of
    :func:`traitctl.store.jobs.job_indexes` (created with the tables, before the migrations run)."""
    for name in ("jobrow_key", "jobrow_trait", "jobrow_state", "jobrow_enqueued", "jobrow_finished"):
        db.execute_sql(f"DROP INDEX IF EXISTS {name}")


def _job_timeline(db: peewee.Database) -> None:
    """Version 4: a job's transitions are kept in its record (``timeline``), not as history events."""
    columns = {c.name for c in db.get_columns("traitctl_job")}
    if "timeline" not in columns:
        db.execute_sql("ALTER TABLE traitctl_job ADD COLUMN timeline TEXT NOT NULL DEFAULT ''")


def _job_queue_order(db: peewee.Database) -> None:
    """Version 5: the index of active jobs also orders them by queue, priority and id (a worker
    claims the next jobs of its queue from the store); the new index is created with the tables,
    before the migrations run, so only the old one is dropped."""
    db.execute_sql("DROP INDEX IF EXISTS job_active_state")


#: version -> function(db) upgrading from version-1 (run in order, inside a transaction).
MIGRATIONS: dict[int, Any] = {2: _drop_event_indexes, 3: _partial_job_indexes, 4: _job_timeline,
                              5: _job_queue_order}


def connect(url: str) -> peewee.Database:
    """Return an unopened peewee database for ``url``: ``sqlite:///path``, ``sqlite:///:memory:``
    or ``postgresql://user:password@host:port/db``.

    :raises StoreError: for an unsupported scheme or a missing driver.
    """
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # WAL lets readers (dashboards, health) run beside a writer (worker, ingest). Every
        # transaction takes the write lock when it begins (BEGIN IMMEDIATE): a transaction that
        # reads first and writes later cannot wait for the lock (SQLite answers "database is
        # locked" at once when another writer committed since its read), one that asks up front
        # waits up to the busy timeout like a single statement does.
        return peewee.SqliteDatabase(path, lock_type="IMMEDIATE",
                                     pragmas={"busy_timeout": BUSY_TIMEOUT_MS, "journal_mode": "wal",
                                              "synchronous": "normal", "foreign_keys": 1, "mmap_size": MMAP_SIZE})
    if url.startswith(("postgresql://", "postgres://")):
        from traitctl.store.driver import ensure_psycopg

        ensure_psycopg()
        return _postgresql(url.replace("postgres://", "postgresql://", 1))
    raise StoreError(f"Unsupported store URL {redact_url(url)!r}: use sqlite:///PATH or postgresql://…")


def _postgresql(url: str) -> peewee.Database:
    """A PostgreSQL database for a libpq URL, which libpq itself parses: several hosts
    (``postgresql://u@h1:5432,h2:5432/db``), percent-encoded passwords and query parameters
    (``?sslmode=require``) work as in psql. A URL libpq refuses, or a port outside 1-65535, is an
    error naming the URL (password hidden)."""
    try:
        from psycopg.conninfo import conninfo_to_dict
    except ImportError as exc:
        raise StoreError(f"The PostgreSQL store needs psycopg: pip install 'traitctl[postgres]' ({exc}).")
    try:
        params = conninfo_to_dict(url)
    except Exception as exc:  # psycopg.ProgrammingError: libpq's own sentence
        raise StoreError(f"Store URL {redact_url(url)} is not a valid PostgreSQL URL: "
                         f"{redact(_first_line(exc), url)}.") from None
    for port in str(params.get("port") or "").split(","):
        if port and not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
            raise StoreError(f"Store URL {redact_url(url)}: port {port!r} is not a number from 1 to 65535.")
    # libpq waits for ever for a host that does not answer: give up after CONNECT_TIMEOUT (a worker
    # then backs off and tries again) unless the URL sets its own.
    extra = {} if "connect_timeout" in params else {"connect_timeout": CONNECT_TIMEOUT}
    return peewee.PostgresqlDatabase(url, **extra)  # the URL goes to libpq as it is


class Store:
    """The store every command uses: one database, one repository per area.

    Example usage::

        store = Store.open("sqlite:///:memory:")
        store.events.record(kind="config.set", actor="ana", ...)
        store.close()
    """

    def __init__(self, db: peewee.Database, url: str) -> None:
        self.db = db
        self.url = url
        self._repos: dict[str, Any] = {}
        self._meta = _meta_model(db)
        for name, target in REPOSITORIES.items():
            module, cls = target.split(":")
            self._repos[name] = getattr(importlib.import_module(module), cls)(db)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["_repos"][name]
        except KeyError:
            raise AttributeError(name) from None

    @classmethod
    def open(cls, url: str) -> "Store":
        """Connect, create missing tables and upgrade the schema.

        :raises StoreError: when the database cannot be reached (password never shown).
        """
        db = connect(url)
        store = cls(db, url)
        try:
            db.connect(reuse_if_open=True)
            retrying(db, store._prepare)
        except StoreError:
            db.close()  # a schema newer than this traitctl: refused, nothing written
            raise
        except peewee.PeeweeException as exc:
            raise StoreError(f"Cannot open the store at {redact_url(url)}: {redact(_first_line(exc), url)}") from None
        except Exception as exc:  # driver errors (psycopg.OperationalError …) are not peewee's
            if "psycopg" in type(exc).__module__ or isinstance(exc, OSError):
                raise StoreError(f"Cannot open the store at {redact_url(url)}: {redact(_first_line(exc), url)}") from None
            raise
        return store

    def models(self) -> list[type[peewee.Model]]:
        out = [self._meta]
        for repo in self._repos.values():
            out += list(repo.models)
        return out

    def _prepare(self) -> None:
        """Create missing tables and run the migrations, safe to race: many processes opening a
        fresh store at once (workers, CLI calls) serialise on a lock and all but the first find the
        schema current. SQLite: the transaction's ``BEGIN IMMEDIATE`` is the lock. PostgreSQL:
        ``CREATE TABLE IF NOT EXISTS`` is not safe to race (``pg_type_typname_nsp_index``, deadlocks
        between index builds), so a transaction-scoped advisory lock is taken first.

        A store written by a newer traitctl (a schema version above :data:`SCHEMA_VERSION`) is
        refused before anything is created or written (:class:`StoreError`, exit 2).
        """
        if self._is_current():
            return  # the common case: no write, so concurrent openers never contend
        Meta = self._meta
        with self.db.atomic():
            if isinstance(self.db, peewee.PostgresqlDatabase):
                self.db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
                if self._is_current():
                    return  # another process did it while this one waited
            row = Meta.get_or_none(Meta.key == "schema_version") if Meta.table_exists() else None
            if row is not None and int(row.value) > SCHEMA_VERSION:  # written since _is_current looked
                raise StoreError(newer_schema_message(self.url, int(row.value)))
            self.db.create_tables(self.models(), safe=True)
            version = int(row.value) if row else SCHEMA_VERSION
            for target in range(version + 1, SCHEMA_VERSION + 1):
                MIGRATIONS[target](self.db)
            upsert(Meta, {"key": "schema_version", "value": str(SCHEMA_VERSION)}, Meta.key)

    def _is_current(self) -> bool:
        """True when every table exists at :data:`SCHEMA_VERSION`.

        :raises StoreError: when the store's schema is newer than this traitctl's.
        """
        tables = set(self.db.get_tables())
        version = self.schema_version() if self._meta._meta.table_name in tables else 0
        if version > SCHEMA_VERSION:
            raise StoreError(newer_schema_message(self.url, version))
        if not all(m._meta.table_name in tables for m in self.models()):
            return False
        return version == SCHEMA_VERSION

    def schema_version(self) -> int:
        Meta = self._meta
        row = Meta.get_or_none(Meta.key == "schema_version")
        return int(row.value) if row else 0

    def close(self) -> None:
        for repo in self._repos.values():
            close = getattr(repo, "close", None)
            if close is not None:  # a repository's own connections (the job hot path's)
                close()
        if not self.db.is_closed():
            self.db.close()


#: PostgreSQL errors that mean "lost a race, try again": serialization failure, deadlock detected.
_RETRY_SQLSTATES = {"40001", "40P01"}


def is_contention(exc: BaseException) -> bool:
    """True for an error that only says another transaction was in the way: SQLite's
    ``database is locked``/``busy`` (the busy timeout ran out), PostgreSQL's serialization
    failures and deadlocks. Such a unit of work can be run again as a whole."""
    if not isinstance(exc, peewee.DatabaseError) and "psycopg" not in type(exc).__module__:
        return False
    for candidate in (exc, *exc.args[:1], exc.__cause__, exc.__context__):
        if getattr(candidate, "sqlstate", None) in _RETRY_SQLSTATES:
            return True
    text = str(exc).lower()
    return isinstance(exc, peewee.OperationalError) and ("database is locked" in text or "database is busy" in text
                                                         or "deadlock detected" in text)


def retrying(db: peewee.Database, work: Callable[[], T], attempts: int = WRITE_ATTEMPTS) -> T:
    """Run ``work()`` (one unit of work: its own transaction, or single statements) again when it
    fails on contention (:func:`is_contention`), at most ``attempts`` times, with a short
    jittered pause between tries. Inside an outer transaction nothing is retried: the error goes
    to the outer unit, which alone can run again as a whole."""
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except Exception as exc:
            if attempt == attempts or db.in_transaction() or not is_contention(exc):
                raise
        time.sleep(random.uniform(0.005, 0.05) * attempt)
    raise AssertionError("unreachable")


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable_text(text: str | None) -> str | None:
    """``text`` in a form every backend stores: NUL (PostgreSQL text cannot hold it) and lone
    surrogates (what undecodable bytes become with ``surrogateescape``; no UTF-8 encoder accepts
    them) are replaced by U+FFFD. Other text, ``None`` included, is returned as is."""
    if not text or (text.isascii() and "\x00" not in text):
        return text
    return _UNSTORABLE.sub("\ufffd", text)


def upsert(model: type[peewee.Model], row: dict[str, Any], key: peewee.Field) -> None:
    """Insert ``row`` or update the existing row with the same ``key`` (SQLite and PostgreSQL)."""
    updates = {getattr(model, name): value for name, value in row.items() if name != key.name}
    model.insert(**row).on_conflict(conflict_target=[key], update=updates).execute()


def model_base(db: peewee.Database) -> type[peewee.Model]:
    """A fresh peewee base model bound to ``db``; repositories derive their models from it."""

    class Base(peewee.Model):
        class Meta:
            database = db

    return Base


def newer_schema_message(url: str, version: int) -> str:
    """The sentence for a store whose schema ``version`` is newer than :data:`SCHEMA_VERSION`."""
    return (f"The store at {redact_url(url)} was written by a newer traitctl (schema {version}; "
            f"this one knows {SCHEMA_VERSION}): upgrade traitctl.")


def peek_schema_version(url: str) -> int | None:
    """The schema version of the store at ``url``, read without creating or upgrading anything:
    ``None`` when there is no store yet (no SQLite file, or no ``traitctl_meta`` table).

    :raises StoreError: when the database cannot be reached (password never shown).
    """
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        if path == ":memory:" or not Path(path).is_file():
            return None
    db = connect(url)
    try:
        db.connect()
        if "traitctl_meta" not in db.get_tables():
            return None
        Meta = _meta_model(db)
        row = Meta.get_or_none(Meta.key == "schema_version")
        return int(row.value) if row else None
    except peewee.PeeweeException as exc:
        raise StoreError(f"Cannot read the store at {redact_url(url)}: {redact(_first_line(exc), url)}") from None
    finally:
        db.close()


def _meta_model(db: peewee.Database) -> type[peewee.Model]:
    class Meta(model_base(db)):
        """Key/value facts about the store itself (schema version)."""

        key = peewee.CharField(primary_key=True, max_length=64)
        value = peewee.TextField()

        class Meta:
            table_name = "traitctl_meta"

    return Meta


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
