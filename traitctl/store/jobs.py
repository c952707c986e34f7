"""Job records: one row per job (what, state, attempts, times, worker, exit code, output, error) with
its timeline: every transition after the enqueue, appended to the record by the transition's own
update (a JSON object per line in ``timeline``), so a job's life needs no history event.

State changes are conditional updates (``WHERE state = …``) so that two workers, or a worker and a
``jobs cancel``, never both win the same transition. Dates are naive UTC.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import peewee

from traitctl.engine.jobs import FINISHED, QUEUED, RUNNING, Job, timeline_entry
from traitctl.store.db import model_base, storable_text

T = TypeVar("T")

#: peewee's translation of driver errors into its own (``sqlite3.OperationalError`` ->
#: ``peewee.OperationalError`` …), for statements run on the hot path's own connections.
_WRAP = peewee.__exception_wrapper__

#: Tries of a locked hot-path write that only yield the processor before the next (see
#: :meth:`JobRepo._retry_locked`).
QUICK_RETRIES = 20

#: The schema name under which a SQLite store's connection attaches a SQLite queue file (Huey's
#: ``task`` table), so a job's record and its message are written in one transaction.
QUEUE_SCHEMA = "traitctl_queue"

#: Columns copied from a :class:`Job` into its row (the rest are JSON or set by transitions).
_PLAIN = ("trait", "operation", "model", "tenant", "state", "queue", "priority", "attempts", "max_attempts",
          "lost", "timeout", "retry_delay", "backoff", "enqueued", "eta", "started", "finished", "worker",
          "exit_code", "output", "error", "key")


#: The condition of the partial index on active jobs, written out as its literal text: SQLite uses a
#: partial index only when the query repeats the index's condition term, and a bound parameter
#: (what ``state.in_(…)`` gives) does not count.
ACTIVE = peewee.SQL("\"state\" IN ('queued', 'running')")


def job_indexes(Row: Any) -> list[Any]:
    """The job table's indexes (schema version 3). Each index costs every job transition, so:

    - ``key`` is unique only where set (scheduled runs): an ordinary job, with no key, skips it;
    - ``state`` is indexed only for ``queued`` and ``running`` jobs (what recovery, redispatch and
      the oldest-waiting figure look for); a finished job leaves the index. After the state come
      the queue, the priority (highest first) and the id (schema version 5): a worker claiming
      the next jobs of its queue from the store reads them in order, without scanning or sorting
      every queued job;
    - ``finished`` only once set (purge and throughput ask for ranges of it);
    - nothing on ``trait`` or ``enqueued``: ``jobs list --trait`` walks newest first by id.
    """
    return [Row.index(Row.key, unique=True, name="job_key_unique").where(Row.key.is_null(False)),
            Row.index(Row.state, Row.queue, Row.priority.desc(), Row.id, name="job_active").where(ACTIVE),
            Row.index(Row.finished, name="job_finished").where(Row.finished.is_null(False))]


class JobRepo:
    """Create, transition, list and purge job records; count them by state for metrics and health."""

    def __init__(self, db: peewee.Database) -> None:
        class JobRow(model_base(db)):
            key = peewee.CharField(max_length=200, null=True)
            trait = peewee.CharField(max_length=300, null=True)
            operation = peewee.CharField(max_length=100)
            model = peewee.CharField(max_length=300, null=True)
            tenant = peewee.CharField(max_length=64, null=True)
            data = peewee.TextField(default="{}")
            state = peewee.CharField(max_length=16)
            queue = peewee.CharField(max_length=64, default="default")
            priority = peewee.IntegerField(default=0)
            attempts = peewee.IntegerField(default=0)
            max_attempts = peewee.IntegerField(default=1)
            lost = peewee.IntegerField(default=0)
            timeout = peewee.FloatField(null=True)
            retry_delay = peewee.FloatField(default=0)
            backoff = peewee.FloatField(default=2)
            enqueued = peewee.DateTimeField()
            eta = peewee.DateTimeField(null=True)
            dispatched = peewee.DateTimeField(null=True)
            started = peewee.DateTimeField(null=True)
            finished = peewee.DateTimeField(null=True)
            worker = peewee.CharField(max_length=200, null=True)
            exit_code = peewee.IntegerField(null=True)
            output = peewee.TextField(default="")
            error = peewee.TextField(null=True)
            result = peewee.TextField(default="{}")
            timeline = peewee.TextField(default="")

            class Meta:
                table_name = "traitctl_job"

        for index in job_indexes(JobRow):
            JobRow.add_index(index)

        class CursorRow(model_base(db)):
            name = peewee.CharField(primary_key=True, max_length=100)
            value = peewee.BigIntegerField(default=0)

            class Meta:
                table_name = "traitctl_job_cursor"

        self.db = db
        self.Row = JobRow
        self.Cursor = CursorRow
        self.models = [JobRow, CursorRow]
        self.fast = FastJobSql(db, JobRow)
        self.fast.execute = self._run
        #: id(connection) -> (connection, queue file) of the connections the queue is attached to.
        self._attached: dict[int, tuple[Any, str]] = {}
        # The hot path's own connection per thread (SQLite files only, see _hot).
        self._local = threading.local()
        self._hot_conns: list[Any] = []
        self._generation = 0
        name = getattr(db, "database", "") or ""
        self._hot_ok = isinstance(db, peewee.SqliteDatabase) and name not in ("", ":memory:") and \
            not name.startswith("file:")

    # -- the hot path's connection ------------------------------------------------------------------
    def _hot(self) -> Any:
        """This thread's connection for the hot path's statements (enqueue, claim, finish) on a
        SQLite store file, or ``None`` (PostgreSQL, an in-memory store, or inside one of peewee's
        transactions, whose connection must then run them).

        It is peewee's connection's twin (same file and pragmas) with SQLite's busy handler off for
        good: a write that finds the lock taken is asked for again every 50-2000 µs (see
        :meth:`write`), without the two ``PRAGMA busy_timeout`` statements per write that switching
        the handler off and on again on peewee's connection cost."""
        if not self._hot_ok or self.db.in_transaction():
            return None
        local = self._local
        conn = getattr(local, "conn", None)
        if conn is None or local.generation != self._generation:
            with _WRAP:
                conn = sqlite3.connect(self.db.database, timeout=0, isolation_level=None, check_same_thread=False)
                for key, value in self.db._pragmas or ():
                    if key != "busy_timeout":
                        conn.execute(f"PRAGMA {key} = {value}")
                conn.execute("PRAGMA busy_timeout = 0")
            local.conn, local.generation, local.txn = conn, self._generation, False
            self._hot_conns.append(conn)
        return conn

    def _run(self, sql: str, params: Sequence[Any]) -> Any:
        """Execute one hot-path statement on this thread's hot connection (inside its transaction,
        when one is open), else through peewee; driver errors come out as peewee's."""
        local = self._local
        conn = local.conn if getattr(local, "txn", False) else self._hot()
        if conn is None:
            return self.db.execute_sql(sql, params)
        with _WRAP:
            return conn.execute(sql, params)

    def close(self) -> None:
        """Close the hot path's connections (the store closes peewee's)."""
        self._generation += 1
        conns, self._hot_conns = self._hot_conns, []
        for conn in conns:
            with contextlib.suppress(Exception):
                conn.close()

    @contextlib.contextmanager
    def hot_write(self) -> Iterator[None]:
        """:meth:`write` for a transaction of hot-path statements only (:class:`FastJobSql`, the
        attached queue's messages): on a SQLite store file it runs on the hot connection. Anything
        written through peewee (history events) needs :meth:`write` instead."""
        conn = self._hot()
        local = self._local
        if conn is None or local.txn:
            with self.write():
                yield
            return
        self._retry_locked(lambda: self._begin_hot(conn))
        local.txn = True
        try:
            yield
        except BaseException:
            local.txn = False
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        local.txn = False
        try:
            with _WRAP:
                conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _begin_hot(self, conn: Any) -> None:
        with _WRAP:
            conn.execute("BEGIN IMMEDIATE")

    def _retry_locked(self, attempt: Callable[[], T]) -> T:
        """``attempt()`` on the hot connection (no busy handler), tried again while another
        process holds the write lock until the store's busy timeout: first after yielding the
        processor only (the other process's transactions on this path last some 50-500 µs), then
        every 50-2000 µs."""
        try:
            return attempt()
        except peewee.OperationalError as exc:
            if "locked" not in str(exc):
                raise
        timeout_ms = int(dict(self.db._pragmas or ()).get("busy_timeout", 5000))
        deadline, delay, tries = time.monotonic() + timeout_ms / 1000, 50e-6, 0
        while True:
            tries += 1
            if tries <= QUICK_RETRIES:
                time.sleep(0)
            else:
                time.sleep(delay)
                delay = min(delay * 2, 0.002)
            try:
                return attempt()
            except peewee.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise

    @contextlib.contextmanager
    def write(self) -> Iterator[None]:
        """One write transaction of the job system's hot path (enqueue, claim, finish).

        On SQLite the write lock is taken up front (``BEGIN IMMEDIATE``) and, while another
        process holds it, asked for again every 50-2000 µs until the store's busy timeout. SQLite's
        own busy handler sleeps 1, 2, 5, 10 … ms between tries; with an enqueuing process and a
        worker each committing about every millisecond, most of a wait was that sleep."""
        db = self.db
        if not isinstance(db, peewee.SqliteDatabase) or db.in_transaction():
            with db.atomic():
                yield
            return
        with self._immediate():
            yield

    @contextlib.contextmanager
    def _immediate(self) -> Iterator[None]:
        db = self.db
        txn = self._without_busy_wait(lambda: _begin(db.atomic(lock_type="IMMEDIATE")))
        try:
            yield
        except BaseException as exc:
            txn.__exit__(type(exc), exc, exc.__traceback__)
            raise
        txn.__exit__(None, None, None)

    def _alone(self, statement: Callable[[], T]) -> T:
        """Run ``statement``, one SQL statement, on its own: SQLite commits a single statement
        outside a transaction atomically (autocommit), so it needs no ``BEGIN`` and ``COMMIT`` of
        its own; the write lock is asked for as by :meth:`write`. Inside a transaction, or on
        PostgreSQL (autocommit too), it simply runs."""
        db = self.db
        if not isinstance(db, peewee.SqliteDatabase) or db.in_transaction() or getattr(self._local, "txn", False):
            return statement()
        if self._hot() is not None:
            return self._retry_locked(statement)
        return self._without_busy_wait(statement)

    def _without_busy_wait(self, attempt: Callable[[], T]) -> T:
        """``attempt()`` on SQLite with the busy handler off, tried again every 50-2000 µs while
        another process holds the write lock, until the store's busy timeout (see :meth:`write`).
        A try that finds the database locked has written nothing."""
        db = self.db
        timeout_ms = int(dict(db._pragmas or ()).get("busy_timeout", 5000))
        deadline, delay = time.monotonic() + timeout_ms / 1000, 50e-6
        conn = db.connection()  # the pragmas straight on the driver: two statements per write
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            while True:
                try:
                    return attempt()
                except peewee.OperationalError as exc:
                    if "locked" not in str(exc) or time.monotonic() > deadline:
                        raise
                time.sleep(delay)
                delay = min(delay * 2, 0.002)
        finally:
            conn.execute(f"PRAGMA busy_timeout = {timeout_ms}")

    # -- a SQLite queue in the store's transactions ----------------------------------------------
    def attach_queue(self, path: str) -> bool:
        """Attach the SQLite queue file ``path`` (Huey's tables, created by Huey) to this thread's
        store connection as :data:`QUEUE_SCHEMA`, with ``synchronous = NORMAL`` as Huey's own
        connections to it have. False when it cannot be (a PostgreSQL store, inside a transaction,
        or the file cannot be attached): the caller writes the queue through Huey then.

        Both files stay in WAL mode, so a transaction over both is atomic for each file, not across
        them: a process killed inside the commit can leave the record without its message (sent
        again by the workers' recovery) or the message without its record (dropped when claimed,
        as any message of a job that is not queued)."""
        db = self.db
        if not isinstance(db, peewee.SqliteDatabase) or db.in_transaction() or getattr(self._local, "txn", False):
            return False
        hot = self._hot()
        return self._attach(db.connection(), path) and (hot is None or self._attach(hot, path))

    def _attach(self, conn: Any, path: str) -> bool:
        known = self._attached.get(id(conn))
        if known is not None and known[0] is conn and known[1] == path:
            return True
        try:
            if known is not None and known[0] is conn:
                conn.execute(f"DETACH DATABASE {QUEUE_SCHEMA}")
            conn.execute(f"ATTACH DATABASE ? AS {QUEUE_SCHEMA}", (path,))
            conn.execute(f"PRAGMA {QUEUE_SCHEMA}.synchronous = NORMAL")
        except Exception:  # noqa: BLE001 - sqlite3.OperationalError: unreadable, too many attached …
            return False
        self._attached[id(conn)] = (conn, path)
        return True

    def can_hold_queue(self) -> bool:
        """Whether this store can be the queue of its jobs (a SQLite file, see
        :meth:`traitctl.jobs.service.Jobs.store_is_queue`)."""
        return self._hot_ok

    def has_ready(self, queue: str, now: dt.datetime) -> bool:
        """Whether queue ``queue`` has a queued job due at ``now`` (a read: an idle worker polls
        without taking the write lock)."""
        return self._run(self.fast.ready_sql, [QUEUED, queue, self.fast.to_db(now)]).fetchone() is not None

    def has_messages(self, queue: str) -> bool:
        """Whether the attached queue holds a ready message of Huey queue ``queue`` (a read only:
        an idle worker polls without taking the write lock)."""
        return self._run(f"SELECT 1 FROM {QUEUE_SCHEMA}.task WHERE queue = ? LIMIT 1", (queue,)).fetchone() is not None

    def pop_messages(self, queue: str, limit: int) -> list[bytes]:
        """Remove and return up to ``limit`` ready messages of Huey queue ``queue`` from the
        attached queue, in Huey's order (priority, then age); inside the caller's transaction."""
        rows = self._run(f"SELECT id, data FROM {QUEUE_SCHEMA}.task WHERE queue = ? "
                         f"ORDER BY priority DESC, id LIMIT ?", (queue, limit)).fetchall()
        if rows:
            self._run(f"DELETE FROM {QUEUE_SCHEMA}.task WHERE id IN ({', '.join('?' * len(rows))})",
                                [r[0] for r in rows])
        return [bytes(r[1]) for r in rows]

    # -- create and read ----------------------------------------------------------------------
    def create(self, job: Job) -> Job | None:
        """Insert ``job`` (its ``id`` is ignored) and return it with its id; ``None`` when a job
        with the same ``key`` exists already (a scheduled run another worker created)."""
        fast = self.fast
        params = fast.insert_params(job)
        if not self.db.in_transaction():  # one INSERT, atomic on its own (see _alone)
            try:
                return _with_id(job, self._alone(lambda: fast.insert(params)))
            except peewee.IntegrityError:
                return None
        if job.key is None:  # nothing unique to collide with: no savepoint needed
            return _with_id(job, fast.insert(params))
        try:
            with self.db.atomic():
                job_id = fast.insert(params)
        except peewee.IntegrityError:
            return None
        return _with_id(job, job_id)

    def get(self, job_id: int) -> Job | None:
        row = self.Row.get_or_none(self.Row.id == job_id)
        return _to_job(row) if row else None

    def list(self, *, state: str | None = None, trait: str | None = None, operation: str | None = None,
             limit: int | None = 50) -> list[Job]:
        """Jobs newest first, filtered by state, trait and operation."""
        R = self.Row
        query = R.select().order_by(R.id.desc())
        for column, value in ((R.state, state), (R.trait, trait), (R.operation, operation)):
            if value is not None:
                query = query.where(column == value)
        if limit:
            query = query.limit(limit)
        return [_to_job(row) for row in query]

    def running(self) -> list[Job]:
        """Every job in state ``running``."""
        return [_to_job(r) for r in self.Row.select().where(ACTIVE & (self.Row.state == RUNNING))]

    def undispatched(self, before: dt.datetime, limit: int = 1000) -> list[Job]:
        """Queued jobs due before ``before`` and last put on the queue before it (candidates for a
        message Huey lost)."""
        R = self.Row
        query = (R.select().where(ACTIVE & (R.state == QUEUED) & (R.dispatched < before)
                                  & (R.eta.is_null() | (R.eta < before))).order_by(R.id).limit(limit))
        return [_to_job(r) for r in query]

    # -- transitions (each returns whether it happened) ------------------------------------------
    def claim(self, job_id: int, worker: str, now: dt.datetime, finishing: Sequence[list] = ()) -> Job | None:
        """``queued -> running`` for ``worker``, counting the attempt (timeline: ``started``);
        ``None`` when the job is not queued (cancelled, already running elsewhere, finished: a
        duplicate message). Alone it is one statement, atomic on its own.

        :param finishing: finishes of earlier runs (:meth:`prepare_finish`) made in the same
            transaction, one commit for all (a finish whose run changed meanwhile does nothing).

        Everything but the statements (parameters, the claimed row as a :class:`Job`) is done
        outside the write lock, which an enqueuing process waits for meanwhile."""
        fast = self.fast
        params = fast.claim_params(job_id, worker, now)
        if not finishing:
            row = self._alone(lambda: fast.claim(params))
        else:
            with self.hot_write():
                for finish in finishing:
                    fast.finish(finish)
                row = fast.claim(params)
        return None if row is None else fast.job_of(row)

    def claim_many(self, job_ids: Sequence[int], worker: str, now: dt.datetime, finishing: Sequence[list] = (),
                   before: Callable[[], Any] | None = None, queue: str | None = None,
                   limit: int = 0) -> tuple[list[Job], Any]:
        """:meth:`claim` of several jobs in one statement and one transaction (with ``finishing``).
        ``before``, when given, runs first inside the same transaction and returns ``(ids, …)``,
        the ids to claim instead of ``job_ids`` (the worker pops the messages of an attached queue
        there); its value is returned too. ``queue``: then the due queued jobs of that queue are
        claimed as well, by priority then id, up to ``limit`` jobs in all (the store is the queue).
        Jobs come back in claim order; ids of jobs that are not queued (stale or duplicate
        messages) are left out."""
        fast = self.fast
        with self.hot_write():
            for finish in finishing:
                fast.finish(finish)
            got = before() if before is not None else None
            ids = list(dict.fromkeys(got[0] if got is not None else job_ids))
            rows = fast.claim_many(ids, worker, now) if ids else []
            if queue is not None and len(rows) < limit:
                more = fast.claim_next(queue, limit - len(rows), worker, now)
            else:
                more = []
        position = {job_id: i for i, job_id in enumerate(ids)}
        jobs = sorted((fast.job_of(row) for row in rows), key=lambda job: position[job.id])
        return jobs + sorted((fast.job_of(row) for row in more), key=lambda job: (-job.priority, job.id)), got

    def prepare_finish(self, job: Job, state: str, now: dt.datetime, *, exit_code: int | None = None,
                       output: str = "", error: str | None = None, result: dict | None = None,
                       note: dict | None = None) -> list:
        """The statement parameters of :meth:`finish` (for :meth:`claim`'s ``finishing``)."""
        entry = timeline_entry(state, now, attempt=job.attempts, exit_code=exit_code,
                               error=None if error is None else error[:500], **(note or {}))
        return self.fast.finish_params(job, state, now, exit_code, output, error, _dump(result or {}), entry)

    def finish(self, job: Job, state: str, now: dt.datetime, *, exit_code: int | None = None,
               output: str = "", error: str | None = None, result: dict | None = None,
               note: dict | None = None) -> bool:
        """``running -> state`` for the run ``job`` describes (same worker and attempt); the
        timeline gets ``state`` with the attempt, exit code, error and ``note``."""
        return self.fast.finish(self.prepare_finish(job, state, now, exit_code=exit_code, output=output, error=error,
                                                    result=result, note=note))

    def requeue(self, job: Job, now: dt.datetime, *, eta: dt.datetime | None = None, error: str | None = None,
                output: str | None = None, lost: bool = False, from_state: str = RUNNING,
                reset_attempts: bool = False, event: str = "requeued", note: dict | None = None) -> bool:
        """Back to ``queued`` (a retry, a put-back, a recovered job or ``jobs retry``); the timeline
        gets ``event`` (``retrying``, ``requeued``, ``retried``) with the error and ``note``."""
        R = self.Row
        entry = timeline_entry(event, now, attempt=job.attempts, worker=job.worker if from_state == RUNNING else None,
                               error=None if error is None else error[:500],
                               eta=eta.isoformat() if eta else None, **(note or {}))
        values: dict[str, Any] = {"state": QUEUED, "eta": eta, "dispatched": now, "error": storable_text(error),
                                  "finished": now if from_state == RUNNING else R.finished,
                                  "timeline": R.timeline.concat(timeline_line(entry))}
        if output is not None:
            values["output"] = storable_text(output)
        if lost:
            values["lost"] = R.lost + 1
        if reset_attempts:
            values.update(attempts=0, lost=0, finished=None, exit_code=None)
        cond = _same_run(R, job) if from_state == RUNNING else (R.id == job.id) & (R.state == from_state)
        return bool(R.update(**values).where(cond).execute())

    def cancel(self, job: Job, now: dt.datetime, actor: str | None = None) -> bool:
        """``queued`` or ``running`` -> ``cancelled`` (a running command is killed by its worker)."""
        R = self.Row
        entry = timeline_entry("cancelled", now, attempt=job.attempts, previous_state=job.state, by=actor)
        return bool(R.update(state="cancelled", finished=now, timeline=R.timeline.concat(timeline_line(entry)))
                    .where((R.id == job.id) & (R.state == job.state)).execute())

    def state_of(self, job_id: int) -> str | None:
        """The current state only (polled while a command runs, to notice a cancel)."""
        row = self.Row.select(self.Row.state).where(self.Row.id == job_id).first()
        return row.state if row else None

    def mark_dispatched(self, job_id: int, now: dt.datetime) -> None:
        self.Row.update(dispatched=now).where(self.Row.id == job_id).execute()

    # -- retention and statistics ---------------------------------------------------------------
    def purge(self, before: dt.datetime, trait: str | None = None) -> int:
        """Delete finished jobs that finished before ``before`` (only ``trait``'s when given)."""
        R = self.Row
        query = R.delete().where(R.state.in_(sorted(FINISHED)) & (R.finished < before))
        if trait is not None:
            query = query.where(R.trait == trait)
        return query.execute()

    def count_finished(self, before: dt.datetime, trait: str | None = None) -> int:
        """How many records :meth:`purge` would delete."""
        R = self.Row
        query = R.select().where(R.state.in_(sorted(FINISHED)) & (R.finished < before))
        if trait is not None:
            query = query.where(R.trait == trait)
        return query.count()

    def count_by_state(self, trait: str | None = None) -> dict[str, int]:
        """``{state: count}`` for every state (zeros included)."""
        from traitctl.engine.jobs import STATES

        R = self.Row
        query = R.select(R.state, peewee.fn.COUNT(R.id).alias("n")).group_by(R.state)
        if trait is not None:
            query = query.where(R.trait == trait)
        counts = dict.fromkeys(STATES, 0)
        counts.update({row.state: row.n for row in query})
        return counts

    def throughput(self, since: dt.datetime) -> dict[str, int]:
        """Jobs finished at or after ``since``, by final state (``succeeded``, ``failed``, ``cancelled``)."""
        R = self.Row
        query = (R.select(R.state, peewee.fn.COUNT(R.id).alias("n"))
                 .where(R.state.in_(sorted(FINISHED)) & (R.finished >= since)).group_by(R.state))
        counts = dict.fromkeys(sorted(FINISHED), 0)
        counts.update({row.state: row.n for row in query})
        return counts

    def oldest_queued(self, now: dt.datetime) -> dt.datetime | None:
        """When the oldest due queued job was put on the queue."""
        R = self.Row
        row = (R.select(peewee.fn.MIN(R.dispatched).alias("t"))
               .where(ACTIVE & (R.state == QUEUED) & (R.eta.is_null() | (R.eta <= now))).first())
        return row.t if row and row.t else None

    # -- cursors (event delivery) ----------------------------------------------------------------
    def cursor(self, name: str) -> int | None:
        """A cursor's position, ``None`` before it is first set."""
        row = self.Cursor.get_or_none(self.Cursor.name == name)
        return row.value if row else None

    def advance_cursor(self, name: str, old: int | None, new: int) -> bool:
        """Move a cursor from ``old`` (``None``: not set yet) to ``new``; False when another worker
        moved it first."""
        C = self.Cursor
        if old is None:
            try:
                with self.db.atomic():
                    C.create(name=name, value=new)
                return True
            except peewee.IntegrityError:
                return False
        return bool(C.update(value=new).where((C.name == name) & (C.value == old)).execute())

    def cursors(self, prefix: str) -> dict[str, int]:
        """Every cursor whose name starts with ``prefix``, by name."""
        C = self.Cursor
        return {row.name: row.value for row in C.select().where(C.name.startswith(prefix))}

    def drop_cursor(self, name: str) -> None:
        self.Cursor.delete().where(self.Cursor.name == name).execute()


class FastJobSql:
    """The hot path (insert, claim, finish) as SQL text built once from the model's metadata and run
    with DB-API parameters on the driver's cursor.

    peewee builds every query anew, about 1 ms for this 26-column table, which capped a worker near
    150 jobs/s (bench/jobs.py). Values are converted as peewee's fields convert them: on SQLite a
    date-time is stored as ``isoformat(" ")`` text (what the sqlite3 adapter peewee relies on
    writes) and read back with ``fromisoformat``; other columns pass through the field's
    ``python_value``. Rows therefore read the same as through peewee (tested on both backends).
    """

    def __init__(self, db: peewee.Database, Row: Any) -> None:
        p, table = db.param, f'"{Row._meta.table_name}"'
        self.db = db
        #: Runs one statement with its parameters (:meth:`JobRepo._run`; peewee's by default).
        self.execute: Callable[[str, Sequence[Any]], Any] = db.execute_sql
        self.fields = {f.name: f for f in Row._meta.sorted_fields}
        self.insert_names = [n for n in self.fields if n != "id"]
        sqlite = isinstance(db, peewee.SqliteDatabase)
        # (Job attribute, to the column's value) per inserted column, in column order.
        self._writers = [(name, _writer(field, sqlite)) for name, field in self.fields.items() if name != "id"]
        # (Job attribute, its column's position in a claimed row, from the column's value).
        job_fields = set(Job.__dataclass_fields__)
        readers = [(name, i, _reader(field)) for i, (name, field) in enumerate(self.fields.items())
                   if name in job_fields]
        assert {name for name, _, _ in readers} == job_fields, "a Job field without a column"
        # Columns whose driver value is already the Job's (ints, strings, floats, NULL) are copied as
        # they are; the others (dates on SQLite, JSON, the timeline) go through their reader.
        self._copied = [(name, i) for name, i, read in readers if read is _SAME]
        self._converted = [(name, i, read) for name, i, read in readers if read is not _SAME]
        self._to_db = _writer(self.fields["started"], sqlite)
        columns = ", ".join(f'"{self.fields[n].column_name}"' for n in self.insert_names)
        every = ", ".join(f'"{f.column_name}"' for f in self.fields.values())
        self.insert_sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join([p] * len(self.insert_names))}) RETURNING \"id\""
        # The claim's timeline entry ends with the new attempt number, which only the row knows:
        # ``"timeline" || '{…"attempt": ' || ("attempts" + 1) || '}\n'`` (the right-hand sides of an
        # UPDATE read the row as it was).
        self.claim_sql = (f"UPDATE {table} SET \"state\" = {p}, \"attempts\" = \"attempts\" + 1, \"worker\" = {p}, "
                          f"\"started\" = {p}, \"finished\" = NULL, \"exit_code\" = NULL, \"error\" = NULL, "
                          f"\"timeline\" = \"timeline\" || {p} || (\"attempts\" + 1) || {p} "
                          f"WHERE \"id\" = {p} AND \"state\" = {p} RETURNING {every}")
        self._claim_many: dict[int, str] = {}
        # The due queued jobs of one queue, by priority then age (the store as the queue).
        due = (f"\"state\" IN ('queued', 'running') AND \"state\" = {p} AND \"queue\" = {p} "
               f"AND (\"eta\" IS NULL OR \"eta\" <= {p})")
        self.ready_sql = f"SELECT 1 FROM {table} WHERE {due} LIMIT 1"
        self.claim_next_sql = self.claim_sql.replace(
            f'"id" = {p}', f'"id" IN (SELECT "id" FROM {table} WHERE {due} ORDER BY "priority" DESC, "id" LIMIT {p})', 1)
        self.to_db = self._to_db
        self.finish_sql = (f"UPDATE {table} SET \"state\" = {p}, \"finished\" = {p}, \"exit_code\" = {p}, "
                           f"\"output\" = {p}, \"error\" = {p}, \"result\" = {p}, "
                           f"\"timeline\" = \"timeline\" || {p} WHERE \"id\" = {p} AND "
                           f"\"state\" = {p} AND \"worker\" = {p} AND \"attempts\" = {p}")

    def insert_params(self, job: Job) -> list:
        """The parameters inserting ``job`` (its ``id`` ignored; ``dispatched`` = ``enqueued``)."""
        values = job.__dict__
        return [to_db(values[name] if name in values else job.enqueued) for name, to_db in self._writers]

    def insert(self, params: list) -> int:
        """Insert a row (:meth:`insert_params`) and return its id."""
        return self.execute(self.insert_sql, params).fetchone()[0]

    def claim_params(self, job_id: int, worker: str, now: dt.datetime) -> list:
        head = timeline_line(timeline_entry("started", now, worker=worker))[:-2] + ', "attempt": '
        return [RUNNING, worker, self._to_db(now), head, "}\n", job_id, QUEUED]

    def claim(self, params: list) -> tuple | None:
        """The claimed row (every column), ``None`` when the job was not queued."""
        return self.execute(self.claim_sql, params).fetchone()

    def claim_many(self, job_ids: Sequence[int], worker: str, now: dt.datetime) -> list[tuple]:
        """The claimed rows of ``job_ids`` (one ``UPDATE … WHERE id IN (…) RETURNING``); jobs
        that were not queued are not among them. Rows come in no particular order."""
        sql = self._claim_many.get(len(job_ids))
        if sql is None:
            marks = ", ".join([self.db.param] * len(job_ids))
            sql = self._claim_many[len(job_ids)] = self.claim_sql.replace(
                f'"id" = {self.db.param}', f'"id" IN ({marks})', 1)
        params = self.claim_params(0, worker, now)
        return self.execute(sql, [*params[:5], *job_ids, params[6]]).fetchall()

    def claim_next(self, queue: str, limit: int, worker: str, now: dt.datetime) -> list[tuple]:
        """Claim up to ``limit`` due queued jobs of ``queue`` (priority, then id), one statement."""
        params = self.claim_params(0, worker, now)
        return self.execute(self.claim_next_sql, [*params[:5], QUEUED, queue, params[2], limit, QUEUED]).fetchall()

    def job_of(self, row: tuple) -> Job:
        values = {name: row[i] for name, i in self._copied}
        for name, i, read in self._converted:
            values[name] = read(row[i])
        job = object.__new__(Job)  # every field is a column: no __init__ needed (as _with_id)
        job.__dict__.update(values)
        return job

    def finish_params(self, job: Job, state: str, now: dt.datetime, exit_code: int | None, output: str,
                      error: str | None, result: str, entry: dict) -> list:
        return [state, self._to_db(now), exit_code, storable_text(output), storable_text(error), result,
                timeline_line(entry), job.id, RUNNING, job.worker, job.attempts]

    def finish(self, params: list) -> bool:
        return self.execute(self.finish_sql, params).rowcount == 1


def _writer(field: Any, sqlite: bool) -> Any:
    """The field's ``db_value``; on SQLite a date-time becomes the text the sqlite3 adapter writes."""
    if sqlite and isinstance(field, peewee.DateTimeField):
        def to_db(value: Any) -> Any:
            return value.isoformat(" ") if isinstance(value, dt.datetime) else field.db_value(value)

        return to_db
    if field.name in ("data", "result"):  # JSON text, from the Job's dict
        return lambda value: _EMPTY if not value else _dump(value)
    if field.name == "timeline":
        return lambda entries: "".join(timeline_line(e) for e in entries or ())
    exact = _PASS_THROUGH.get(type(field))
    if exact is None:
        return field.db_value
    db_value = field.db_value

    def plain(value: Any) -> Any:  # what db_value returns for None and for a value of the column's type
        return value if value is None or type(value) is exact else db_value(value)

    return plain


#: Field classes whose ``db_value`` returns a value of this exact type unchanged (skipped per call).
_PASS_THROUGH = {peewee.IntegerField: int, peewee.BigIntegerField: int, peewee.FloatField: float,
                 peewee.CharField: str, peewee.TextField: str}


_EMPTY = "{}"


def _SAME(value: Any) -> Any:
    """The reader of a column whose driver value is the Job's value."""
    return value


def _reader(field: Any) -> Any:
    """The field's ``python_value`` (JSON columns decoded); for date-times a quicker parse of
    SQLite's ISO text (peewee tries ``strptime`` formats in turn), falling back to peewee for
    anything else."""
    if field.name in ("data", "result"):
        return lambda value: json.loads(value) if value and value != _EMPTY else {}
    if field.name == "timeline":
        return read_timeline
    if not isinstance(field, peewee.DateTimeField):
        if type(field) in _PASS_THROUGH or isinstance(field, peewee.AutoField):
            return _SAME  # both drivers return these columns as int, str or float already
        return field.python_value

    def read(value: Any) -> Any:
        if isinstance(value, str):
            try:
                return dt.datetime.fromisoformat(value)
            except ValueError:
                pass
        return field.python_value(value)

    return read


def _begin(txn: Any) -> Any:
    txn.__enter__()
    return txn


def _with_id(job: Job, job_id: int) -> Job:
    """``dataclasses.replace(job, id=job_id)`` without re-running ``__init__`` (a tenth of the time;
    ``Job`` is a plain frozen dataclass, so copying its ``__dict__`` is the whole state)."""
    new = object.__new__(Job)
    new.__dict__.update(job.__dict__, id=job_id)
    return new


def _same_run(R: Any, job: Job) -> Any:
    return (R.id == job.id) & (R.state == RUNNING) & (R.worker == job.worker) & (R.attempts == job.attempts)


def _dump(value: Any) -> str:
    if not value and type(value) is dict:
        return _EMPTY
    return json.dumps(value, default=str, sort_keys=True)


def timeline_line(entry: dict) -> str:
    """One timeline entry as stored: compact JSON and a newline (only ASCII: JSON escapes the rest)."""
    return json.dumps(entry, default=str, separators=(", ", ": ")) + "\n"


def read_timeline(text: str | None) -> tuple[dict, ...]:
    """The stored timeline text back to its entries (a line that is not JSON is skipped)."""
    if not text:
        return ()
    out = []
    for line in text.splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return tuple(out)


def _to_job(row: Any) -> Job:
    fields = {name: getattr(row, name) for name in _PLAIN}
    return Job(id=row.id, data=json.loads(row.data or "{}"), result=json.loads(row.result or "{}"),
               timeline=read_timeline(row.timeline), **fields)
