"""The job queue: a Huey instance per named queue on one backend.

``sqlite:///PATH`` gives a :class:`huey.SqliteHuey` (the embedded default,
``config/.traitctl/queue.db``); ``redis://…`` gives a :class:`huey.PriorityRedisHuey`, so workers on
many machines share one queue and priorities work on both backends. A Huey message carries only the
job id: the job itself (operation, data, attempts) is the record in the store.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from typing import Any

from traitctl.engine.errors import InputError, StoreError
from traitctl.settings import redact, redact_url

#: Seconds to wait for a Redis server to accept a connection.
CONNECT_TIMEOUT = 5

_CACHE: dict[tuple[str, str], Any] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class QueueStats:
    """What is waiting on one named queue.

    :param pending: messages ready to run now.
    :param scheduled: messages waiting for their time (delayed jobs, retries after back-off).
    :param oldest_pending_age_s: seconds the oldest ready message has waited, ``None`` when empty.
    :param backend: ``sqlite`` or ``redis``.
    """

    pending: int
    scheduled: int
    oldest_pending_age_s: float | None
    backend: str
    name: str = "default"


def huey_name(name: str) -> str:
    """The Huey queue name of a traitctl queue (Redis keys use only letters, digits and ``_``)."""
    return "traitctl_" + name.replace("-", "_").replace(".", "_")


def backend_of(url: str) -> str:
    """``sqlite`` or ``redis`` for a queue URL.

    :raises InputError: for any other scheme (password never shown).
    """
    if url.startswith("sqlite:///"):
        return "sqlite"
    if url.startswith(("redis://", "rediss://", "unix://")):
        return "redis"
    raise InputError(f"Unsupported queue URL {redact_url(url)!r}: use sqlite:///PATH or redis://HOST:PORT/DB.")


def open_queue(url: str, name: str = "default") -> Any:
    """The Huey instance for queue ``name`` on ``url``, with traitctl's tasks registered (cached
    per process, so a worker's threads share it).

    :param url: ``sqlite:///path/queue.db`` or ``redis://host:port/db``.
    :param name: a traitctl queue name (``default``, ``slow`` …).
    """
    with _LOCK:
        huey = _CACHE.get((url, name))
        if huey is None:
            huey = _CACHE[(url, name)] = _create(url, name)
        return huey


def _create(url: str, name: str) -> Any:
    from pathlib import Path

    from traitctl.jobs import tasks

    # Job results live in the store, so Huey keeps none (results=False).
    if backend_of(url) == "sqlite":
        path = Path(url[len("sqlite:///"):])
        path.parent.mkdir(parents=True, exist_ok=True)
        huey = _huey_class("sqlite")(huey_name(name), filename=str(path), results=False, utc=True, timeout=30)
    else:
        _check_redis_url(url)
        from redis import ConnectionPool

        # A host that does not answer fails after CONNECT_TIMEOUT (redis-py would wait for ever).
        pool = ConnectionPool.from_url(url, **({} if "socket_connect_timeout=" in url
                                              else {"socket_connect_timeout": CONNECT_TIMEOUT}))
        huey = _huey_class("redis")(huey_name(name), connection_pool=pool, results=False, utc=True, read_timeout=1)
    tasks.register(huey)
    return huey


def _check_redis_url(url: str) -> None:
    """Refuse what redis-py cannot read (a host list, a port that is not 1-65535) in one sentence."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InputError(f"Queue URL {redact_url(url)}: the port must be one number from 1 to 65535 "
                         "(a Redis URL names one host: redis://HOST:PORT/DB).") from None
    if port == 0:
        raise InputError(f"Queue URL {redact_url(url)}: port 0 is not a port (1-65535).")


_CLASSES: dict[str, type] = {}


def _redis_storage() -> type:
    """Huey's priority Redis storage whose ``enqueue`` (the producer's one command) goes over a
    connection of the calling thread's own, not through the pool: redis-py's pool checks out,
    probes (a non-blocking read) and returns a connection on every command, which costs a
    producer about as much as the command's own work. Everything else (the workers' pops, stats)
    still uses the pool. A connection made before a fork is not used in the child."""
    import os
    import struct
    import threading
    import time

    from huey.storage import PriorityRedisStorage
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    class QueueStorage(PriorityRedisStorage):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._own = threading.local()

        def _connection(self) -> Any:
            own = self._own
            if getattr(own, "pid", None) != os.getpid():
                own.conn = self.pool.connection_class(**self.pool.connection_kwargs)
                own.pid = os.getpid()
            return own.conn

        def enqueue(self, data: bytes, priority: int | None = None) -> None:
            score = 0 if priority is None else -priority
            # as Huey's own: a time prefix keeps equal priorities in order and messages distinct
            member = struct.pack(">Q", int(time.time() * 1e6)) + data
            for attempt in (1, 2):  # a connection the server closed meanwhile is made again once
                conn = self._connection()
                try:
                    conn.send_command("ZADD", self.queue_key, score, member)
                    conn.read_response()
                    return
                except (RedisConnectionError, RedisTimeoutError, OSError):
                    conn.disconnect()
                    if attempt == 2:
                        raise

        def close(self) -> None:
            conn = getattr(self._own, "conn", None)
            if conn is not None:
                conn.disconnect()
            super_close = getattr(super(), "close", None)
            if super_close is not None:
                super_close()

    return QueueStorage


def _huey_class(backend: str) -> type:
    """traitctl's Huey class for ``sqlite`` or ``redis`` (built once: Huey is imported lazily).

    Two differences from Huey's own classes, both because the job record in the store is the
    truth about a job:

    - **No revocation.** A job is cancelled in the store (``traitctl jobs cancel``) and its message
      is dropped when a worker claims it, so Huey's per-message revocation lookup and clean-up (a
      query or a Redis round trip each, on every message) are skipped, and ``revoke`` raises.
    - **SQLite queue without an fsync per commit** (WAL with ``synchronous=NORMAL``, as the store):
      a commit survives a killed process; only a power cut or OS crash can lose the last messages,
      and a queued job whose message is gone is sent again by the workers
      (:meth:`traitctl.jobs.service.Jobs.redispatch_lost`).
    """
    cls = _CLASSES.get(backend)
    if cls is not None:
        return cls
    if backend == "sqlite":
        from huey import SqliteHuey as Base
        from huey.storage import SqliteStorage

        class QueueStorage(SqliteStorage):
            def _create_connection(self) -> Any:
                conn = super()._create_connection()
                conn.execute("pragma synchronous=normal")
                return conn

        storage: type | None = QueueStorage
    else:
        try:
            from huey import PriorityRedisHuey as Base
        except ImportError as exc:  # pragma: no cover - redis is a dependency of the redis extra
            raise StoreError(f"The Redis queue needs the redis package: pip install 'traitctl[redis]' ({exc}).")
        storage = _redis_storage()

    class TraitctlHuey(Base):  # type: ignore[misc, valid-type]
        if storage is not None:
            storage_class = storage

        def is_revoked(self, task: Any, timestamp: Any = None, peek: bool = True) -> bool:
            return False

        def delete(self, key: str) -> Any:
            if key.startswith("r:"):  # a revocation flag: never set here, so nothing to clear
                return False
            return super().delete(key)

        def enqueue_batch(self, tasks: list) -> None:
            """Put ready ``tasks`` on the queue in one write: one SQLite transaction, or one Redis
            pipeline (round trip), instead of one per message. Same rows as :meth:`enqueue`."""
            if not tasks:
                return
            for task in tasks:
                self._emit("enqueued", task)
            if backend == "sqlite":
                storage = self.storage
                rows = [(storage.name, storage.to_blob(self.serialize_task(t)), t.priority or 0) for t in tasks]
                with storage.db(commit=True) as curs:
                    curs.executemany("insert into task (queue, data, priority) values (?, ?, ?)", rows)
                return
            import struct
            import time

            pipe = self.storage.conn.pipeline(transaction=False)
            for task in tasks:
                prefix = struct.pack(">Q", int(time.time() * 1e6))
                pipe.zadd(self.storage.queue_key, {prefix + self.serialize_task(task): -(task.priority or 0)})
            pipe.execute()

        def revoke(self, *args: Any, **kwargs: Any) -> Any:
            raise InputError("traitctl queues do not revoke messages: cancel the job (traitctl jobs cancel ID).")

        revoke_all = revoke_by_id = revoke

    TraitctlHuey.__name__ = TraitctlHuey.__qualname__ = f"Traitctl{Base.__name__}"
    _CLASSES[backend] = TraitctlHuey
    return TraitctlHuey


def message_job_ids(huey: Any, limit: int | None = None) -> set[int]:
    """Ids of the jobs that have a message on ``huey`` (ready or scheduled)."""
    ids = set()
    for task in [*huey.pending(limit), *huey.scheduled(limit)]:
        if getattr(task, "name", "").endswith("run_job") and task.args:
            ids.add(int(task.args[0]))
    return ids


#: The key, in a SQLite queue's Huey ``kv`` table, of the store file whose job records are that
#: queue's jobs (written by :meth:`traitctl.jobs.service.Jobs.store_is_queue`).
STORE_KEY = "traitctl.store"


def note_store(huey: Any, path: str) -> None:
    """Record in ``huey``'s SQLite file that the store at ``path`` holds its jobs (so that
    :func:`stats`, which is given only the queue, counts them)."""
    import os

    value = os.path.abspath(path).encode()
    storage = huey.storage
    rows = storage.sql("select value from kv where queue = ? and key = ?", (storage.name, STORE_KEY), results=True)
    if not rows or bytes(rows[0][0]) != value:
        storage.sql("insert or replace into kv (queue, key, value) values (?, ?, ?)", (storage.name, STORE_KEY, value),
                    commit=True)


def _store_jobs(huey: Any, name: str, now: dt.datetime) -> tuple[int, int, list[dt.datetime]]:
    """Queued jobs of queue ``name`` held by the store noted in ``huey``'s SQLite file (see
    :func:`note_store`): due now, due later, and when the oldest due one was put on the queue."""
    import sqlite3
    from pathlib import Path
    from urllib.parse import quote

    storage = huey.storage
    rows = storage.sql("select value from kv where queue = ? and key = ?", (storage.name, STORE_KEY), results=True)
    path = Path(bytes(rows[0][0]).decode()) if rows else None
    if path is None or not path.exists():
        return 0, 0, []
    stamp = now.isoformat(" ")
    conn = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, timeout=5)
    try:
        due, later, oldest = conn.execute(
            "SELECT COALESCE(SUM(\"eta\" IS NULL OR \"eta\" <= ?), 0), COALESCE(SUM(\"eta\" > ?), 0), "
            "MIN(CASE WHEN \"eta\" IS NULL OR \"eta\" <= ? THEN \"dispatched\" END) FROM \"traitctl_job\" "
            "WHERE \"state\" IN ('queued', 'running') AND \"state\" = 'queued' AND \"queue\" = ?",
            (stamp, stamp, stamp, name)).fetchone()
    finally:
        conn.close()
    return int(due), int(later), [dt.datetime.fromisoformat(oldest)] if oldest else []


def stats(url: str, name: str = "default", now: dt.datetime | None = None) -> QueueStats:
    """Counts of queue ``name`` on ``url`` for ``metrics queues`` and ``health``. On a SQLite queue
    whose jobs live in a SQLite store (the embedded default, where the store is the queue) the
    store's queued jobs are counted: ``pending`` those due, ``scheduled`` those due later.

    :raises StoreError: when the backend cannot be reached (password never shown).
    """
    huey = open_queue(url, name)
    now = now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    try:
        pending, scheduled = huey.pending_count(), huey.scheduled_count()
        stamps = [t.args[1] for t in huey.pending(200) if len(getattr(t, "args", ())) > 1]
        sent = [dt.datetime.fromtimestamp(s, dt.timezone.utc).replace(tzinfo=None) for s in stamps]
        if backend_of(url) == "sqlite":
            due, later, oldest = _store_jobs(huey, name, now)
            pending, scheduled, sent = pending + due, scheduled + later, sent + oldest
    except Exception as exc:  # redis.ConnectionError, sqlite3.OperationalError …
        raise StoreError(f"Cannot read the queue at {redact_url(url)}: "
                         f"{redact(str(exc).splitlines()[0] if str(exc) else repr(exc), url)}")
    oldest = (now - min(sent)).total_seconds() if sent else None
    return QueueStats(pending=pending, scheduled=scheduled, backend=backend_of(url), name=name,
                      oldest_pending_age_s=None if oldest is None else max(oldest, 0.0))


def delete_queue(url: str, name: str) -> None:
    """Remove every message and key of queue ``name`` (tests, and ``jobs purge --queue``)."""
    huey = open_queue(url, name)
    huey.storage.flush_all()
