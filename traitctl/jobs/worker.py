"""``traitctl worker``: the Huey consumer, plus what Huey does not give.

- Every job run is claimed in the store first (``queued -> running``), so a stale or duplicate
  message does nothing, and its end is recorded (``succeeded``, ``failed`` or a retry).
- A heartbeat every ``heartbeat`` seconds (pid, host, state, jobs done, RSS, CPU, peak RSS).
- Recovery (at-least-once): Huey deletes a message before running it, so a worker killed with
  SIGKILL loses the job it was running. Every worker looks for jobs left ``running`` by a worker
  whose heartbeat stopped (or whose process is gone, on this host) and queues them again, and for
  queued jobs whose message is missing (killed between dequeue and claim) and sends it again.
- SIGINT/SIGTERM: stop taking jobs; running commands are stopped and put back on the queue.
- Event delivery: new history events matching ``[[events.subscribers]]`` become ``deliver`` jobs.
- Batches: a thread claims up to ``MAX_BATCH`` quick jobs in one transaction (with the embedded
  default, straight from the store, which is the queue); a run's success is recorded in the
  transaction of the thread's next claim, or by a settler thread once it has waited
  ``SETTLE_AFTER`` seconds (the queue is empty), or at the heartbeat and at shutdown.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from traitctl.engine import jobs as rules
from traitctl.engine.errors import TraitctlError
from traitctl.engine.workers import WorkerBeat
from traitctl.jobs import operations
from traitctl.jobs.liveness import pid_gone
from traitctl.jobs.service import Jobs, Success, utcnow

log = logging.getLogger("traitctl.worker")

#: Seconds a success waits for the next claim to carry it before the settler records it alone.
SETTLE_AFTER = 0.005

#: Most jobs a worker thread claims at once (one transaction), and the run time under which every
#: run of a batch must stay for the next batch to be larger (doubling from 1). A thread whose runs
#: take longer claims one job at a time, so a claimed job waits behind others of its batch for at
#: most about ``MAX_BATCH * BATCH_FAST`` seconds.
MAX_BATCH = 32
BATCH_FAST = 0.002

#: Why the rest of a batch goes back to the queue after a run that was not quick.
RELEASED = "put back unstarted: claimed in a batch behind a run that was not quick"


class Outage:
    """Back-off for one dependency (the queue, the store) that does not answer: each failed try is
    one line in the log (no traceback) and a wait of :func:`traitctl.engine.jobs.outage_delay`
    (0.5 s doubling up to 30 s, jittered); the first success after an outage is logged too.

    :param name: what is unreachable (``queue``, ``store``), as the log says it.
    """

    def __init__(self, name: str, where: str) -> None:
        self.name, self.where = name, where
        self.attempts = 0
        self._lock = threading.Lock()

    def failed(self, exc: BaseException) -> float:
        """Count a failed try, log it, and return the seconds to wait before the next."""
        import random

        with self._lock:
            self.attempts += 1
            attempt = self.attempts
        delay = rules.outage_delay(attempt, random.random())
        log.warning("%s at %s unreachable (%s); try %d, next in %.1f s", self.name, self.where, one_line(exc),
                    attempt, delay)
        return delay

    def ok(self) -> None:
        """A try succeeded: the outage, if any, is over."""
        if self.attempts:
            with self._lock:
                attempts, self.attempts = self.attempts, 0
            if attempts:
                log.warning("%s at %s answers again after %d failed tr%s", self.name, self.where, attempts,
                            "y" if attempts == 1 else "ies")


class Runtime:
    """One worker process's state: identity, store, configuration, counters, running jobs.

    :param options: the global options (``--config``, ``--store``, ``--queue``) jobs resolve with.
    :param queue: the queue this worker consumes.
    """

    def __init__(self, options: Any, env: Mapping[str, str], cwd: Path, *, queue: str | None = None) -> None:
        from traitctl.context import App
        from traitctl.output import Output

        self.options, self.env, self.cwd = options, env, cwd
        self._doc: tuple[Any, dict] | None = None
        self._probe = App(options=options, env=env, cwd=cwd, out=Output(quiet=2))
        self.settings = self._probe.settings
        self.store = self._probe.store()
        conf = rules.parse_jobs_settings(self.jobs_section())
        self.queue = rules.check_name("queue", queue or conf.queue)
        self.default_queue = conf.queue
        self.heartbeat_every, self.lost_after, self.max_lost = conf.heartbeat, conf.lost_after, conf.max_lost
        self.host = socket.gethostname()
        self.started = utcnow()
        self.worker_id = f"{self.host}:{os.getpid()}:{int(time.time() * 1000)}"
        self.current: dict[int, Any] = {}
        #: Ids of claimed jobs still waiting behind others of their batch (in ``current`` too).
        self.waiting: set[int] = set()
        self.children: dict[int, int] = {}
        self.stopping = False
        self.done = self.failed = 0
        self.peak_rss = 0.0
        self._lock = threading.Lock()
        self._next_redispatch = 0.0
        self._process: Any = None
        self._jobs: Jobs | None = None
        #: Resolved operations of one parsed configuration (``spec`` runs for every job).
        self._specs: tuple[Any, dict] = (None, {})
        #: Successes not recorded yet, with their monotonic time (see :meth:`settle`); only
        #: ``traitctl worker`` defers them, a bare :meth:`run_job` records each at once.
        self.defer_success = False
        self._pending: list[tuple[float, Success]] = []
        self._has_pending = threading.Event()
        self._delivery_problem: str | None = None
        from traitctl.settings import redact_url

        self._settle_wait = 0.0
        self.queue_outage = Outage("queue", redact_url(self.settings.queue_url))
        self.store_outage = Outage("store", redact_url(self.settings.store_url))

    @classmethod
    def from_environment(cls) -> "Runtime":
        """A runtime for tasks run outside ``traitctl worker`` (configuration from ``TRAITCTL_*``)."""
        from traitctl.context import GlobalOptions
        from traitctl.settings import environ

        return cls(GlobalOptions(), environ(), Path.cwd())

    # -- configuration, read again when the file changes -------------------------------------------
    def main_doc(self) -> dict:
        from traitctl.store import toml_file

        path = self.settings.config_path
        stat = path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
        if self._doc is None or self._doc[0] != stamp:
            self._doc = (stamp, toml_file.read(path))
        return self._doc[1]

    def jobs_section(self) -> Mapping[str, Any]:
        section = self.main_doc().get("jobs", {})
        return section if isinstance(section, Mapping) else {}

    def app(self) -> Any:
        """A fresh invocation-like :class:`App` for one job, sharing this worker's store."""
        from traitctl.context import App
        from traitctl.output import Output

        app = App(options=self.options, env=self.env, cwd=self.cwd, out=Output(quiet=2))
        app._settings, app._store, app._main_doc = self.settings, self.store, self.main_doc()
        return app

    def jobs(self) -> Jobs:
        if self._jobs is None:  # stateless apart from its settings: one per worker
            self._jobs = Jobs(self.store, self.settings.queue_url, actor=self.settings.actor,
                              command=f"traitctl worker ({self.worker_id})", default_queue=self.default_queue)
        return self._jobs

    # -- running one job ----------------------------------------------------------------------------
    def run_job(self, job_id: int) -> None:
        """Claim, run and record job ``job_id``; a message for a job that is not queued is dropped.

        The claim also records the successes still pending (one commit per job). When that
        transaction fails, each pending success is recorded alone (:meth:`_record_alone`), so one
        unrecordable result never blocks the claims after it, then the claim is tried alone. A
        claim the store refuses (the store is unreachable) is logged in one line: the job stays
        ``queued`` and its message is sent again by the recovery once the store is back."""
        jobs = self.jobs()
        done = self._take_pending()
        try:
            job = jobs.claim(job_id, self.worker_id, done=done)
        except (KeyboardInterrupt, SystemExit):
            self._keep_pending(*done)
            raise
        except Exception as exc:  # noqa: BLE001 - sorted out below
            if not done:
                self._claim_failed(job_id, exc)
                return
            self._record_alone(done)
            try:
                job = jobs.claim(job_id, self.worker_id)
            except Exception as again:  # noqa: BLE001
                self._claim_failed(job_id, again)
                return
        if job is None:
            return
        with self._lock:
            self.current[job.id] = job
        try:
            self._execute(jobs, job)
        finally:
            with self._lock:
                self.current.pop(job.id, None)

    def work(self, huey: Any, limit: int = 1, drained: bool = False) -> tuple[int, bool]:
        """One round of a worker thread: claim up to ``limit`` jobs from ``huey`` in one
        transaction (which also records the pending successes), then run them in turn; other
        messages (the periodic tick) go to ``huey.execute``.

        :param drained: the thread's last round took fewer than it asked for (see :meth:`Jobs.pop`).
        :returns: how many messages were taken, and whether every run was quicker than
            :data:`BATCH_FAST` (the thread may then take a larger batch next time).
        :raises Exception: when the queue cannot be read (the thread backs off); nothing is taken.
        """
        jobs = self.jobs()
        tasks = None
        # The store is the queue (the embedded default): its due jobs are claimed from it, and
        # Huey's file carries only the tick (taken in the same transaction when attached).
        queue = self.queue if jobs.store_is_queue(huey) else None
        if queue is None or not jobs.shared(huey):
            tasks = jobs.pop(huey, limit, wait=drained)
            if not tasks and (queue is None or not jobs.repo.has_ready(queue, utcnow())):
                return 0, True
        elif not jobs.repo.has_ready(queue, utcnow()) and not jobs.repo.has_messages(huey.storage.name):
            return 0, True
        done = self._take_pending()
        try:
            claimed, others = jobs.claim_batch(huey, tasks, self.worker_id, done, limit, queue)
        except (KeyboardInterrupt, SystemExit):
            self._keep_pending(*done)
            raise
        except Exception as exc:  # noqa: BLE001 - sorted out below
            failure: BaseException | None = exc
            if done:  # as in run_job: each success alone, then the claim alone
                self._record_alone(done)
                try:
                    claimed, others = jobs.claim_batch(huey, tasks, self.worker_id, (), limit, queue)
                    failure = None
                except Exception as again:  # noqa: BLE001
                    failure = again
            if failure is not None:
                if not tasks:  # nothing was taken: the jobs and messages are still there
                    raise failure
                for task in tasks:
                    if task.args:
                        self._claim_failed(task.args[0], failure)
                return len(tasks), False
        with self._lock:
            for job in claimed:
                self.current[job.id] = job
            self.waiting.update(job.id for job in claimed)
        quick = True
        for i, job in enumerate(claimed):
            if self.stopping:  # the rest stay in ``current``: shutdown puts them back
                break
            with self._lock:
                self.waiting.discard(job.id)
            began = time.monotonic()
            try:
                self._execute(jobs, job)
            finally:
                with self._lock:
                    self.current.pop(job.id, None)
            if time.monotonic() - began >= BATCH_FAST:
                quick = False
                self._release(jobs, claimed[i + 1:])  # they would wait behind slow runs
                break
        for task in others:
            try:
                huey.execute(task)
            except Exception:  # noqa: BLE001 - as Huey: a task's bug is logged, the thread goes on
                log.exception("unhandled error while running task %s", task.id)
        return max(len(claimed) + len(others), len(tasks or ())), quick and not others

    def _release(self, jobs: Jobs, waiting: list[rules.Job]) -> None:
        """Put the not yet started jobs of a batch back on the queue (after a run that was not
        quick, so that they do not wait for slow runs while another worker could take them)."""
        for job in waiting:
            try:
                jobs.put_back(job, RELEASED)
            except Exception as exc:  # noqa: BLE001 - left running: the heartbeat's recovery has it
                log.warning("job %s could not be put back (%s)", job.id, one_line(exc))
                continue
            with self._lock:
                self.current.pop(job.id, None)
                self.waiting.discard(job.id)

    def _claim_failed(self, job_id: int, exc: BaseException) -> None:
        log.warning("job %s could not be claimed (%s); it is sent again once the store answers", job_id,
                    one_line(exc))

    def _record_alone(self, done: list[Success]) -> None:
        """Record each success in its own transaction. A result the store refuses for what it
        contains (not for being unreachable) makes its job ``failed`` with a short reason and
        without its output; when the store cannot be written at all, the rest stay pending."""
        jobs = self.jobs()
        for i, item in enumerate(done):
            try:
                jobs.settle([item])
                continue
            except Exception as exc:  # noqa: BLE001
                if store_unreachable(exc):
                    self._keep_pending(*done[i:])
                    self._settle_wait = self.store_outage.failed(exc)
                    return
                reason = f"the run ended but its result could not be stored: {one_line(exc)}"
            try:
                jobs.fail_unrecorded(item, reason)
                log.warning("job %s: %s", item.job.id, reason)
            except Exception as exc:  # noqa: BLE001
                self._keep_pending(*done[i:])
                self._settle_wait = self.store_outage.failed(exc)
                return

    def _execute(self, jobs: Jobs, job: rules.Job) -> None:
        try:
            # Inside the try: a configuration broken since the claim fails the run, not the worker.
            app = self.app()
            ctx = operations.RunContext(app=app, job=job, now=utcnow, children=self.children,
                                        should_stop=lambda: self._stop_reason(job.id))
            outcome = operations.run(ctx, self.spec(app, job))
        except operations.Interrupted as exc:
            if str(exc) != "cancelled":
                jobs.put_back(job, str(exc))
            return
        except operations.JobError as exc:
            self._failed(jobs.fail(job, exc.message, exit_code=exc.exit_code, output=exc.output))
        except TraitctlError as exc:
            self._failed(jobs.fail(job, exc.message))
        except Exception as exc:  # noqa: BLE001 - a bug in an operation fails the job, not the worker
            log.exception("job %s crashed", job.id)
            self._failed(jobs.fail(job, f"{type(exc).__name__}: {exc}"))
        else:
            success = Success(job, utcnow(), outcome.exit_code, outcome.output, outcome.result)
            if self.defer_success:
                self._keep_pending(success)
            else:
                jobs.settle([success])
            self.done += 1

    # -- successes recorded with the next claim ---------------------------------------------------
    def _keep_pending(self, *done: Success) -> None:
        if done:
            with self._lock:
                self._pending.extend((time.monotonic(), item) for item in done)
            self._has_pending.set()

    def _take_pending(self, older_than: float | None = None) -> list[Success]:
        """Remove and return the pending successes (only those waiting ``older_than`` seconds)."""
        with self._lock:
            if older_than is None:
                taken, self._pending = self._pending, []
            else:
                limit = time.monotonic() - older_than
                taken = [p for p in self._pending if p[0] <= limit]
                self._pending = [p for p in self._pending if p[0] > limit]
            if not self._pending:
                self._has_pending.clear()
        return [item for _, item in taken]

    def settle(self, older_than: float | None = None) -> int:
        """Record pending successes in one transaction (all, or those waiting ``older_than`` s);
        when that fails, each alone (see :meth:`_record_alone`).

        :returns: how many were recorded in the one transaction.
        """
        done = self._take_pending(older_than)
        if not done:
            return 0
        try:
            return self.jobs().settle(done)
        except Exception:  # noqa: BLE001 - one bad result must not hold back the others
            self._record_alone(done)
            return 0

    def settler(self, stop: threading.Event) -> None:
        """Record successes no claim has carried within ``SETTLE_AFTER`` (the queue went empty),
        until ``stop`` is set."""
        while not stop.is_set():
            if not self._has_pending.wait(timeout=0.5):
                continue
            stop.wait(SETTLE_AFTER)
            self._settle_wait = 0.0
            self.settle(older_than=SETTLE_AFTER)
            if self._settle_wait:  # kept: the store is not answering; wait before asking again
                stop.wait(self._settle_wait)

    def _failed(self, state: str | None) -> None:
        if state == rules.FAILED:  # a retry (QUEUED) is not a finished job yet
            self.failed += 1

    def spec(self, app: Any, job: rules.Job) -> rules.OperationSpec:
        """The operation to run, resolved against the configuration as it is now."""
        if job.operation == "deliver":
            return rules.builtin_operation("deliver")
        doc = app.main_doc()
        if self._specs[0] is not doc:  # the file changed: resolve again
            self._specs = (doc, {})
        known = self._specs[1]
        key = (job.trait, job.operation)
        if key not in known:  # errors are not kept: raised again for every job
            known[key] = self._resolve(doc, job)
        return known[key]

    def _resolve(self, doc: Mapping[str, Any], job: rules.Job) -> rules.OperationSpec:
        traits = doc.get("traits", {}) if job.trait else {}
        if job.trait and job.trait not in traits:
            raise TraitctlError(f"trait {job.trait!r} is no longer in {self.settings.config_path}")
        section = doc.get("jobs", {})
        return rules.find_operation(traits, job.trait, job.operation, section if isinstance(section, Mapping) else {})

    def _stop_reason(self, job_id: int) -> str | None:
        if self.stopping:
            return "worker shutting down"
        return "cancelled" if self.store.jobs.state_of(job_id) == rules.CANCELLED else None

    # -- the schedule ---------------------------------------------------------------------------------
    def tick(self, now: dt.datetime | None = None) -> list[rules.Job]:
        """Create the jobs of the ``[schedule]`` entries due at ``now``'s minute (one per entry and
        minute, however many workers tick)."""
        minute = (now or utcnow()).replace(second=0, microsecond=0)
        doc = self.main_doc()
        section = doc.get("schedule", {})
        created = []
        jobs = self.jobs()
        for entry in rules.due(rules.parse_schedule(section if isinstance(section, Mapping) else {}), minute):
            spec = rules.find_operation(doc.get("traits", {}), entry.trait, entry.operation, self.jobs_section())
            job = jobs.enqueue(spec, trait=entry.trait, model=entry.model, tenant=entry.tenant, data=entry.data,
                               key=rules.schedule_key(entry, minute))
            if job is not None:
                created.append(job)
        return created

    # -- heartbeat, recovery, delivery (the consumer's main loop calls maintain) -----------------------
    def beat(self, state: str | None = None) -> WorkerBeat:
        """Record this worker's heartbeat."""
        rss, cpu = self._usage()
        with self._lock:
            running = sorted(self.current)
        if state is None:
            state = rules.BACKING_OFF if self.queue_outage.attempts or self.store_outage.attempts else \
                "busy" if running else "idle"
        beat = WorkerBeat(worker_id=self.worker_id, host=self.host, pid=os.getpid(), state=state, queue=self.queue,
                          started=self.started, last_seen=utcnow(), jobs_done=self.done, jobs_failed=self.failed,
                          rss_mb=rss, peak_rss_mb=self.peak_rss, cpu_percent=cpu,
                          current_job=",".join(map(str, running))[:100] or None)
        self.store.workers.beat(beat)
        return beat

    def _usage(self) -> tuple[float, float]:
        import psutil

        if self._process is None:
            self._process = psutil.Process()
            self._process.cpu_percent(None)  # the first call only starts the measurement
        rss = round(self._process.memory_info().rss / 1e6, 1)
        self.peak_rss = max(self.peak_rss, rss)
        return rss, self._process.cpu_percent(None)

    def maintain(self) -> None:
        """One round: recover lost jobs, deliver new events, then the heartbeat (sent even when the
        others fail, or peers would take this worker for dead)."""
        try:
            self.settle()
            self.recover()
            self.deliver_events()
        finally:
            self.beat()

    def recover(self) -> list[int]:
        """Queue again the jobs of dead workers, and resend messages Huey lost. Returns job ids."""
        now, jobs = utcnow(), self.jobs()
        beats = {b.worker_id: b for b in self.store.workers.list()}
        recovered = []
        for job in self.store.jobs.running():
            if job.worker == self.worker_id:
                continue
            beat = beats.get(job.worker)
            if beat is None and job.started and (now - job.started).total_seconds() < self.lost_after:
                continue  # a worker that has not sent its first heartbeat yet
            gone = beat is not None and pid_gone(beat, self.host)
            if rules.worker_lost(beat, now, self.lost_after, gone):
                reason = f"worker {job.worker} stopped while running it"
                if jobs.recover_lost(job, reason, self.max_lost):
                    recovered.append(job.id)
        if time.monotonic() >= self._next_redispatch:
            self._next_redispatch = time.monotonic() + max(self.lost_after / 2, 1.0)
            recovered += jobs.redispatch_lost(self.lost_after)
        return recovered

    def deliver_events(self) -> int:
        """Turn new events that match a subscriber into ``deliver`` jobs. Returns how many."""
        from traitctl.engine.errors import InputError
        from traitctl.jobs import delivery

        try:
            created = delivery.dispatch_new(self.store, self.jobs(), self.main_doc(), self.default_queue)
        except InputError as exc:
            # [[events.subscribers]] was broken after start-up: one line per distinct problem (no
            # traceback per heartbeat); events wait behind the cursor until the file is fixed.
            if exc.message != self._delivery_problem:
                log.warning("event delivery paused: %s (see traitctl config validate)", exc.message)
            self._delivery_problem = exc.message
            return 0
        self._delivery_problem = None
        return created

    def shutdown(self) -> None:
        """Put back what is still running (its commands' process groups are killed) and say stopped."""
        self.stopping = True
        for pgid in list(self.children):
            operations.kill_group(pgid, grace=0.5)
        try:
            self.settle()
        except Exception:  # noqa: BLE001 - those jobs stay running: a peer recovers them (at-least-once)
            log.exception("recording finished jobs at shutdown failed")
        jobs = self.jobs()
        with self._lock:
            left = list(self.current.values())
            waiting = set(self.waiting)
        for job in left:
            jobs.put_back(job, "worker shut down before it ran" if job.id in waiting else "worker shut down while it ran")
        self.beat("stopped")


def one_line(exc: BaseException) -> str:
    """An error as one short line for the worker's log (no traceback)."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__


def _from_store(exc: BaseException) -> bool:
    """Whether an error came from the store (peewee, psycopg) rather than the queue (Huey's
    storage: redis, sqlite3)."""
    module = type(exc).__module__
    return module.startswith(("peewee", "psycopg", "traitctl"))


def store_unreachable(exc: BaseException) -> bool:
    """True when ``exc`` says the store (or the queue) could not be reached or was busy, rather
    than that it refused the data written: a connection error, a lock, a timeout."""
    import peewee

    if isinstance(exc, (peewee.OperationalError, peewee.InterfaceError, OSError, TimeoutError)):
        return True
    module = type(exc).__module__
    return ("psycopg" in module or "redis" in module) and type(exc).__name__ in (
        "OperationalError", "InterfaceError", "ConnectionError", "TimeoutError", "ConnectionTimeout")


def run_worker(runtime: Runtime, *, workers: int = 1, periodic: bool = True, shutdown_timeout: float = 30.0) -> None:
    """Run the consumer in the foreground until SIGINT or SIGTERM.

    :param workers: threads running jobs.
    :param periodic: run the ``[schedule]`` tick (one worker per deployment is enough; more are safe).
    """
    from traitctl.jobs import tasks
    from traitctl.jobs.queue import open_queue

    tasks.serve(runtime)
    huey = open_queue(runtime.settings.queue_url, runtime.queue)
    consumer = _consumer_class(runtime)(huey, workers=workers, periodic=periodic, worker_type="thread",
                                        initial_delay=0.01, max_delay=0.1, backoff=1.15,
                                        shutdown_timeout=shutdown_timeout, check_worker_health=True)
    runtime.defer_success = True
    stop_settler = threading.Event()
    settler = threading.Thread(target=runtime.settler, args=(stop_settler,), name="settler", daemon=True)
    runtime.beat("starting")
    settler.start()
    try:
        consumer.run()
    finally:
        stop_settler.set()
        settler.join()
        runtime.shutdown()


def _consumer_class(runtime: Runtime) -> type:
    from huey.consumer import Consumer, Scheduler, Worker

    class QueueWorker(Worker):
        """Huey's worker thread, backing off (one log line per try) while the queue does not answer
        instead of logging a traceback every 0.1 s."""

        outage: Outage

        #: Jobs this thread claims at once (see :data:`MAX_BATCH`).
        batch = 1
        drained = False

        def loop(self, now: Any = None) -> None:
            try:
                taken, quick = runtime.work(self.huey, self.batch, self.drained)
            except Exception as exc:  # noqa: BLE001 - redis.ConnectionError, sqlite3.OperationalError …
                self.stop_flag.wait(self.outage.failed(exc))
                return
            self.outage.ok()
            self.drained = taken < self.batch
            if taken:
                self.delay = self.default_delay
                self.batch = min(self.batch * 2, MAX_BATCH) if quick else 1
            elif not self.huey.storage.blocking:
                self.sleep()

    class QueueScheduler(Scheduler):
        """Huey's scheduler (delayed messages, the periodic tick), backing off like the workers."""

        outage: Outage

        def loop(self, now: Any = None) -> None:
            try:
                self.huey.storage.schedule_size()  # a cheap probe: Huey itself would log a traceback
            except Exception as exc:  # noqa: BLE001
                self.stop_flag.wait(self.outage.failed(exc))
                self._next_loop = time.monotonic()
                return
            super().loop(now)

    class TraitctlConsumer(Consumer):
        """Huey's consumer whose main loop also runs the runtime's maintenance, and whose stop
        first tells running commands to stop (they are put back)."""

        runtime: Runtime

        _next_maintenance = 0.0
        worker_class = QueueWorker
        scheduler_class = QueueScheduler

        def loop(self, health_check_ts: float | None = None) -> float | None:
            ts = super().loop(health_check_ts)
            if time.monotonic() >= self._next_maintenance:
                self._next_maintenance = time.monotonic() + self.runtime.heartbeat_every
                try:
                    self.runtime.maintain()
                except Exception as exc:  # noqa: BLE001 - an outage must not stop the worker
                    outage = self.runtime.store_outage if _from_store(exc) else self.runtime.queue_outage
                    delay = outage.failed(exc)
                    self._next_maintenance = time.monotonic() + max(delay, self.runtime.heartbeat_every)
                else:
                    self.runtime.store_outage.ok()
            return ts

        def _create_worker(self) -> Any:
            worker = super()._create_worker()
            worker.outage = self.runtime.queue_outage
            return worker

        def _create_scheduler(self) -> Any:
            scheduler = super()._create_scheduler()
            scheduler.outage = self.runtime.queue_outage
            return scheduler

        def stop(self, graceful: bool = False) -> None:
            # Both signals: running commands are stopped and put back, then the threads end.
            self.runtime.stopping = True
            super().stop(graceful=True)

    TraitctlConsumer.runtime = runtime
    return TraitctlConsumer
