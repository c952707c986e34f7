"""Job transitions, kept in the job's record, and the Huey messages that carry them.

Each transition is one conditional update of the job record, which also appends the transition to
the record's timeline (``jobs show`` prints it); the Huey message (only the job id and the dispatch
time) is sent after it commits. Beside a SQLite store a SQLite queue needs no message: the queued
records are the queue (:meth:`Jobs.store_is_queue`), and workers claim them in batches. A message whose job is no longer ``queued`` is dropped by
:meth:`Jobs.claim`, so a duplicate message never runs a job twice; a job whose message was lost is
found by :meth:`Jobs.redispatch_lost`.

The history (``traitctl history``) gets an event, in the same transaction, only for what an
operator audits (:data:`AUDITED`): a job enqueued by a person (``Jobs.enqueue(..., record=True)``:
``jobs enqueue``, the dashboard), a job that failed for good, ``jobs retry``, ``jobs cancel`` and
``jobs purge``. Runs, successes, automatic retries and recoveries are in the timeline only.

A worker may hand the success of its previous run (:class:`Success`) to its next :meth:`Jobs.claim`:
both transitions are then one transaction, one commit per job instead of two. The record says
``running`` until that commit (or :meth:`Jobs.settle`, when the queue is empty), and a crash before
it runs the job again, as for any run not yet recorded.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from traitctl.engine import jobs as rules
from traitctl.engine.jobs import CANCELLED, FAILED, QUEUED, SUCCEEDED, Job, OperationSpec


#: WAL pages between automatic checkpoints on a SQLite store used for jobs (SQLite's default: 1000).
#: A job writes about a dozen pages per transaction, so the default checkpoints (an fsync of the WAL
#: and of the database) every 50-80 jobs; measured, that was a third of a job's store time. The WAL
#: grows to at most this many pages (4 KiB each, 40 MB) before it is copied back.
WAL_AUTOCHECKPOINT = 10000


#: Seconds a worker thread that waited on an empty Redis queue lets more messages arrive after the
#: first, before it claims them together (only while its runs are quick, see ``Jobs.pop``): one
#: store commit for the messages a producer sends meanwhile instead of one each, at the price of
#: starting the first of them that much later. Below ``worker.SETTLE_AFTER``, so the successes
#: waiting meanwhile still go with the claim.
GATHER = 0.004

#: The job events written to the history (the rest of a job's life is its record's timeline).
AUDITED = ("job.enqueued", "job.failed", "job.retried", "job.cancelled", "job.purged")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def tune_store(store: Any) -> None:
    """Checkpoint a SQLite store's WAL less often (see :data:`WAL_AUTOCHECKPOINT`), on this
    connection and those the store opens later (a worker's threads); nothing for PostgreSQL."""
    import peewee

    db = store.db
    if isinstance(db, peewee.SqliteDatabase) and dict(db._pragmas or ()).get("wal_autocheckpoint") is None:
        db.pragma("wal_autocheckpoint", WAL_AUTOCHECKPOINT, permanent=True)


@dataclass(frozen=True)
class Success:
    """A run that succeeded and is not recorded yet (a worker records it with its next claim).

    :param at: when the run ended (the record's ``finished`` and the event's time).
    """

    job: Job
    at: dt.datetime
    exit_code: int | None = None
    output: str = ""
    result: dict | None = None


class Jobs:
    """The job lifecycle over one store and one queue URL.

    Example usage::

        jobs = Jobs(app.store(), app.settings.queue_url, actor="ana", command="traitctl jobs enqueue …")
        job = jobs.enqueue(spec, trait="HasSlug", data={"batch": 10})

    :param queue_for: returns the Huey instance of a queue name (default :func:`open_queue`).
    """

    def __init__(self, store: Any, queue_url: str, *, actor: str, command: str,
                 queue_for: Callable[[str], Any] | None = None, default_queue: str = "default") -> None:
        self.store = store
        self.repo = store.jobs
        self.queue_url = queue_url
        self.actor = actor
        self.command = command
        self.default_queue = default_queue
        self._queue_for = queue_for
        #: ``(job id, sentence)`` per message that could not be sent (see :meth:`dispatch`).
        self.undelivered: list[tuple[int, str]] = []
        self._hueys: dict[str, Any] = {}
        #: Whether a SQLite queue may be attached to the store's connection (see :meth:`shared`).
        self._may_attach = queue_for is None and queue_url.startswith("sqlite:///")
        self._noted: set[str] = set()
        tune_store(store)

    def huey(self, name: str) -> Any:
        huey = self._hueys.get(name)
        if huey is None:
            if self._queue_for is not None:
                return self._queue_for(name)
            from traitctl.jobs.queue import open_queue

            huey = self._hueys[name] = open_queue(self.queue_url, name)
        return huey

    def store_is_queue(self, huey: Any) -> bool:
        """Whether the job records are ``huey``'s queue: a SQLite queue beside a SQLite store file
        (the embedded default). A job then needs no Huey message: a worker claims the queued jobs
        of its queue straight from the store (due ones, by priority then age), so a job costs one
        commit to enqueue and one, shared by a batch, to claim. Huey's queue file still carries the
        periodic tick (and messages sent by processes that use it otherwise)."""
        if not self._may_attach or not self.repo.can_hold_queue():
            return False
        filename = getattr(huey.storage, "filename", None)
        if filename is None:
            return False
        if huey.storage.name not in self._noted:
            from traitctl.jobs.queue import note_store

            try:
                note_store(huey, self.repo.db.database)  # for queue.stats, which knows only the queue
                self._noted.add(huey.storage.name)
            except Exception:  # noqa: BLE001 - an unwritable queue file: the jobs need it not; tried again later
                pass
        return True

    def shared(self, huey: Any) -> bool:
        """Whether ``huey``'s messages can be taken in the store's own transactions (a queue that
        :meth:`store_is_queue`, attached to the store's connection: :meth:`JobRepo.attach_queue`)."""
        return self.store_is_queue(huey) and self.repo.attach_queue(huey.storage.filename)

    # -- creating -------------------------------------------------------------------------------
    def enqueue(self, spec: OperationSpec, *, trait: str | None = None, model: str | None = None,
                tenant: str | None = None, data: dict | None = None, eta: dt.datetime | None = None,
                priority: int | None = None, key: str | None = None, now: dt.datetime | None = None,
                record: bool = False) -> Job | None:
        """Record a job and put its message on its queue. ``None`` when ``key`` exists already.

        :param eta: run at this time (naive UTC) instead of now.
        :param key: a unique key (scheduled runs use one per entry and minute).
        :param record: a person asked for it (``jobs enqueue``): a ``job.enqueued`` history event
            too. Jobs the system creates (schedule, event delivery) have their record only.
        """
        now = now or utcnow()
        job = self._new(spec, dict(trait=trait, model=model, tenant=tenant, data=data, eta=eta, priority=priority,
                                   key=key), now)
        if record:
            with self.repo.write():
                job = self.repo.create(job)
                if job is not None:
                    self._event("job.enqueued", job, ts=now)
        else:
            job = self.repo.create(job)  # one INSERT, atomic on its own: no transaction of its own
        if job is None:
            return None
        self.dispatch(job, now)
        return job

    def enqueue_many(self, spec: OperationSpec, items: list[dict[str, Any]], now: dt.datetime | None = None,
                     record: bool = False) -> list[Job]:
        """Record many jobs of one operation in one transaction, then send their messages.

        :param items: per job, any of ``trait``, ``model``, ``tenant``, ``data``, ``eta``, ``priority``.
        :param record: as for :meth:`enqueue` (one ``job.enqueued`` event per job).
        """
        now = now or utcnow()
        with self.repo.write() if record else self.repo.hot_write():
            jobs = [self.repo.create(self._new(spec, item, now)) for item in items]
            if record:
                for job in jobs:
                    self._event("job.enqueued", job, ts=now)
        self.dispatch_many(jobs, now)
        return jobs

    def _new(self, spec: OperationSpec, item: dict[str, Any], now: dt.datetime) -> Job:
        priority = item.get("priority")
        return Job(id=0, trait=item.get("trait"), operation=spec.name, model=item.get("model"),
                   tenant=item.get("tenant"), data=dict(item.get("data") or {}),
                   queue=spec.queue if spec.queue != "default" else self.default_queue,
                   priority=spec.priority if priority is None else priority, max_attempts=spec.retries + 1,
                   timeout=spec.timeout, retry_delay=spec.retry_delay, backoff=spec.backoff, enqueued=now,
                   eta=item.get("eta"), key=item.get("key"))

    def dispatch(self, job: Job, now: dt.datetime | None = None) -> bool:
        """Send the job's message (at its ``eta`` when in the future).

        A queue that cannot be reached is not an error: the job is recorded (``queued``) and a
        worker's recovery sends its message once the queue answers (:meth:`redispatch_lost`), so
        a caller that retries never creates a second job. The job and the reason are added to
        :attr:`undelivered` (``jobs enqueue`` and ``jobs retry`` print them as warnings).

        When the store is the queue (:meth:`store_is_queue`) there is no message to send.

        :returns: whether the message was sent (or needed none).
        """
        huey = self.huey(job.queue)
        if self.store_is_queue(huey):
            return True
        options: dict[str, Any] = {"priority": job.priority or None}
        if job.eta is not None and job.eta > (now or utcnow()):
            # An aware time: Huey would read a naive one as local time.
            options["eta"] = job.eta.replace(tzinfo=dt.timezone.utc)
        task = huey.traitctl_run_job.s(job.id, time.time(), **options)
        try:
            if task.eta is not None:
                huey.add_schedule(task)
            else:
                huey.enqueue(task)
        except Exception as exc:  # redis.ConnectionError, sqlite3.OperationalError …
            from traitctl.settings import redact_url

            self.undelivered.append((job.id, f"Job {job.id} is recorded but the queue at {redact_url(self.queue_url)} "
                                             f"cannot be reached ({type(exc).__name__}); a worker sends it once the "
                                             f"queue answers."))
            return False
        return True

    def dispatch_many(self, jobs: list[Job], now: dt.datetime | None = None) -> int:
        """Send the messages of ``jobs``: those due now in one write per queue (one SQLite
        transaction or one Redis round trip), delayed ones one by one. An unreachable queue is
        handled as by :meth:`dispatch`. Returns how many were sent."""
        now = now or utcnow()
        ready: dict[str, list[Job]] = {}
        sent = 0
        for job in jobs:
            if self.store_is_queue(self.huey(job.queue)):
                sent += 1
            elif job.eta is not None and job.eta > now:
                sent += self.dispatch(job, now)
            else:
                ready.setdefault(job.queue, []).append(job)
        for name, batch in ready.items():
            huey = self.huey(name)
            stamp = time.time()
            tasks = [huey.traitctl_run_job.s(job.id, stamp, priority=job.priority or None) for job in batch]
            try:
                huey.enqueue_batch(tasks)
            except Exception as exc:  # redis.ConnectionError, sqlite3.OperationalError …
                from traitctl.settings import redact_url

                for job in batch:
                    self.undelivered.append((job.id, f"Job {job.id} is recorded but the queue at "
                                                     f"{redact_url(self.queue_url)} cannot be reached "
                                                     f"({type(exc).__name__}); a worker sends it once the queue answers."))
                continue
            sent += len(batch)
        return sent

    # -- the worker's side ----------------------------------------------------------------------
    def claim(self, job_id: int, worker: str, done: Sequence[Success] = ()) -> Job | None:
        """Start a run; ``None`` when the message is stale (job cancelled, running, finished).

        :param done: previous runs' successes, recorded in the same transaction.
        """
        return self.repo.claim(job_id, worker, utcnow(), [self._success(item) for item in done])

    def pop(self, huey: Any, limit: int, wait: bool = False) -> list[Any]:
        """Remove up to ``limit`` ready messages from a queue that is not :meth:`shared` and
        return them as Huey tasks: one ``ZPOPMIN`` on Redis (waiting up to the read timeout for
        one when the queue is empty; ``wait``: the last pop emptied the queue, so wait for one
        message at once; when ``limit`` allows more, :data:`GATHER` later those that came
        meanwhile are taken too), one transaction on SQLite. As with Huey's own dequeue, a
        message is gone once taken: a worker killed before its claim leaves the job ``queued``
        without a message, and the recovery sends it again (:meth:`redispatch_lost`)."""
        storage = huey.storage
        if hasattr(storage, "queue_key") and getattr(storage, "priority", False):  # PriorityRedisStorage
            raw = []
            if not (wait and storage.blocking):
                raw = [data[8:] for data, _ in storage.conn.zpopmin(storage.queue_key, count=limit)]
            if not raw and storage.blocking:  # messages carry an 8-byte time prefix, dequeue strips it
                one = storage.dequeue()
                raw = [] if one is None else [one]
                if raw and limit > 1 and GATHER:
                    time.sleep(GATHER)
                    raw += [data[8:] for data, _ in storage.conn.zpopmin(storage.queue_key, count=limit - 1)]
        elif hasattr(storage, "filename") and hasattr(storage, "db"):  # SqliteStorage
            with storage.db(commit=True) as curs:
                curs.execute("select id, data from task where queue = ? order by priority desc, id limit ?",
                             (storage.name, limit))
                rows = curs.fetchall()
                if rows:
                    curs.execute(f"delete from task where id in ({', '.join('?' * len(rows))})", [r[0] for r in rows])
            raw = [bytes(r[1]) for r in rows]
        else:
            one = storage.dequeue()
            raw = [] if one is None else [one]
        return [huey.deserialize_task(data) for data in raw]

    def claim_batch(self, huey: Any, tasks: list[Any] | None, worker: str, done: Sequence[Success] = (),
                    limit: int = 1, queue: str | None = None) -> tuple[list[Job], list[Any]]:
        """Claim the jobs of the ``run_job`` messages ``tasks`` in one transaction, which also
        records ``done`` (earlier runs' successes). ``tasks`` is ``None`` for a :meth:`shared`
        queue: up to ``limit`` messages are then taken from it inside that same transaction.
        ``queue`` (when the store is the queue, :meth:`store_is_queue`): the traitctl queue whose
        due jobs are claimed from the store as well, up to ``limit`` in all. A worker killed at any
        point leaves each job either queued (with its message, if it had one) or claimed.

        :returns: the claimed jobs, in queue order (stale and duplicate messages left out), and
            the other messages (the periodic tick, a message not due yet), for ``huey.execute``.
        """
        if tasks is None and not self.shared(huey):  # not attached: Huey's own take, before
            tasks = self.pop(huey, limit)
        now = utcnow()
        finishing = [self._success(item) for item in done]
        if tasks is not None and queue is None:
            ids, others = _split(huey, tasks, now)
            if not ids and not finishing:
                return [], others
            jobs, _ = self.repo.claim_many(ids, worker, now, finishing)
            return jobs, others
        name = huey.storage.name

        def take() -> tuple[list[int], list[Any]]:
            if tasks is not None:
                return _split(huey, tasks, now)
            return _split(huey, [huey.deserialize_task(data) for data in self.repo.pop_messages(name, limit)], now)

        jobs, (_, others) = self.repo.claim_many((), worker, now, finishing, before=take, queue=queue, limit=limit)
        return jobs, others

    def succeed(self, job: Job, *, exit_code: int | None = None, output: str = "", result: dict | None = None) -> bool:
        """``running -> succeeded``; False when the run was cancelled or put back meanwhile."""
        with self.repo.hot_write():
            return self._record_success(Success(job, utcnow(), exit_code, output, result))

    def settle(self, done: list[Success]) -> int:
        """Record runs' successes in one transaction. Returns how many were still running."""
        with self.repo.hot_write():
            return sum(self._record_success(item) for item in done)

    def _record_success(self, done: Success) -> bool:
        """False when the run was cancelled or put back meanwhile (that transition has its own entry)."""
        return self.repo.finish(done.job, SUCCEEDED, done.at, exit_code=done.exit_code, output=done.output,
                                result=done.result)

    def _success(self, done: Success) -> list:
        """The finish of a successful run, prepared for :meth:`JobRepo.claim` (outside its lock)."""
        return self.repo.prepare_finish(done.job, SUCCEEDED, done.at, exit_code=done.exit_code, output=done.output,
                                        result=done.result)

    def fail_unrecorded(self, done: Success, reason: str) -> bool:
        """A run that succeeded but whose result the store refused: ``failed`` with ``reason``,
        without its output or result (no retry: the run itself went well and may not be idempotent).
        False when the run was cancelled or put back meanwhile."""
        job = done.job
        with self.repo.write():
            if not self.repo.finish(job, FAILED, done.at, exit_code=done.exit_code, error=reason[:500],
                                    note={"worker": job.worker}):
                return False
            self._event("job.failed", job, extra={"error": reason[:500], "exit_code": done.exit_code}, ts=done.at)
        return True

    def fail(self, job: Job, error: str, *, exit_code: int | None = None, output: str = "") -> str | None:
        """A failed run: back to ``queued`` after back-off while attempts remain, else ``failed``.

        :returns: the new state, or ``None`` when the run was cancelled or put back meanwhile.
        """
        now = utcnow()
        if job.attempts < job.max_attempts:
            delay = rules.retry_delay(job.attempts, job.retry_delay, job.backoff)
            eta = now + dt.timedelta(seconds=delay) if delay else None
            if not self.repo.requeue(job, now, eta=eta, error=error, output=output, event="retrying",
                                     note={"exit_code": exit_code, "delay": delay}):
                return None
            self.dispatch(replace(job, eta=eta), now)
            return QUEUED
        with self.store.db.atomic():
            if not self.repo.finish(job, FAILED, now, exit_code=exit_code, output=output, error=error,
                                    note={"worker": job.worker}):
                return None
            self._event("job.failed", job, extra={"error": error, "exit_code": exit_code})
        return FAILED

    def put_back(self, job: Job, reason: str) -> bool:
        """A run interrupted by a worker shutting down goes back to the queue (the attempt counts)."""
        now = utcnow()
        if not self.repo.requeue(job, now, error=reason, note={"reason": reason}):
            return False
        self.dispatch(replace(job, eta=None), now)
        return True

    def recover_lost(self, job: Job, reason: str, max_lost: int) -> str | None:
        """A job left ``running`` by a dead worker: queued again (or ``failed`` after ``max_lost``)."""
        now = utcnow()
        if job.lost >= max_lost:
            with self.store.db.atomic():
                if not self.repo.finish(job, FAILED, now, error=f"{reason}; given up after {job.lost} recoveries",
                                        note={"worker": job.worker, "lost": job.lost}):
                    return None
                self._event("job.failed", job, extra={"error": reason, "lost": job.lost})
            return FAILED
        if not self.repo.requeue(job, now, error=reason, lost=True, note={"reason": reason, "lost": job.lost + 1}):
            return None
        self.dispatch(replace(job, eta=None), now)
        return QUEUED

    def redispatch_lost(self, older_than: float) -> list[int]:
        """Queued jobs without a message (Huey deletes a message before running it; a worker killed
        between the two loses it): send their message again. Returns their ids."""
        now = utcnow()
        candidates = [job for job in self.repo.undispatched(now - dt.timedelta(seconds=older_than))
                      if not self.store_is_queue(self.huey(job.queue))]  # those need no message
        if not candidates:
            return []
        from traitctl.jobs.queue import message_job_ids

        present: set[int] = set()
        for queue in {job.queue for job in candidates}:
            present |= message_job_ids(self.huey(queue))
        lost = [job for job in candidates if job.id not in present and self.repo.state_of(job.id) == QUEUED]
        for job in lost:
            self.repo.mark_dispatched(job.id, now)
            self.dispatch(replace(job, eta=None), now)
        return [job.id for job in lost]

    # -- the operator's side ---------------------------------------------------------------------
    def cancel(self, job_id: int) -> Job:
        """Cancel a queued or running job (a running command is killed by its worker).

        :raises NotFound: unknown id. :raises InputError: the job already finished.
        """
        job = self.get(job_id)
        rules.check_transition(job.id, job.state, CANCELLED)
        with self.store.db.atomic():
            if not self.repo.cancel(job, utcnow(), actor=self.actor):
                raise rules.InputError(f"Job {job.id} changed state meanwhile; look again with jobs show {job.id}.")
            self._event("job.cancelled", job)
        return self.get(job_id)

    def retry(self, job_id: int) -> Job:
        """Run a finished job again from its first attempt.

        :raises InputError: when the job is queued or running.
        """
        job = self.get(job_id)
        rules.check_transition(job.id, job.state, QUEUED)
        now = utcnow()
        with self.store.db.atomic():
            if not self.repo.requeue(job, now, from_state=job.state, reset_attempts=True, event="retried",
                                     note={"previous_state": job.state, "by": self.actor}):
                raise rules.InputError(f"Job {job.id} changed state meanwhile; look again with jobs show {job.id}.")
            self._event("job.retried", job, extra={"previous_state": job.state})
        fresh = self.get(job_id)
        self.dispatch(fresh, now)
        return fresh

    def get(self, job_id: int) -> Job:
        """:raises NotFound: when there is no such job."""
        job = self.repo.get(job_id)
        if job is None:
            raise rules.NotFound("job", str(job_id))
        return job

    def purge(self, before: dt.datetime, trait: str | None = None, dry_run: bool = False) -> int:
        """Delete the records of jobs that finished before ``before`` (only ``trait``'s when given);
        one ``job.purged`` history event says who did it and how many (none when dry or nothing
        matched). Returns the count (that would be) deleted."""
        if dry_run:
            return self.repo.count_finished(before, trait=trait)
        with self.repo.write():
            count = self.repo.purge(before, trait=trait)
            if count:
                self.store.events.record(kind="job.purged", actor=self.actor, command=self.command, trait=trait,
                                         data={"deleted": count, "before": before.isoformat()})
        return count

    def _event(self, kind: str, job: Job, extra: dict | None = None, ts: dt.datetime | None = None) -> None:
        """One audited history event about ``job`` (:data:`AUDITED`)."""
        data = {"job": job.id, "operation": job.operation, "queue": job.queue, "attempt": job.attempts,
                "worker": job.worker}
        if job.operation == "deliver":
            data["delivery"] = True  # never delivered to subscribers again (no event loops)
        data.update(extra or {})
        self.store.events.record(kind=kind, actor=self.actor, command=self.command, trait=job.trait,
                                 model=job.model, tenant=job.tenant, data=data, ts=ts or utcnow())



def _split(huey: Any, tasks: list[Any], now: dt.datetime) -> tuple[list[int], list[Any]]:
    """The job ids of ``tasks``' ready ``run_job`` messages, and the other tasks."""
    from traitctl.jobs.tasks import RUN_JOB

    ids, others = [], []
    for task in tasks:
        if task.name == RUN_JOB and task.args and (task.eta is None or huey.ready_to_run(task, now)):
            ids.append(int(task.args[0]))
        else:
            others.append(task)
    return ids, others


def job_document(job: Job) -> dict[str, Any]:
    """The ``--json`` shape of one job (every record field plus ``duration_s``)."""
    from traitctl.output import to_jsonable

    from traitctl.engine.jobs import full_timeline

    doc = to_jsonable(job)
    doc["timeline"] = full_timeline(job)
    doc["duration_s"] = None if job.duration is None else round(job.duration, 3)
    return doc
