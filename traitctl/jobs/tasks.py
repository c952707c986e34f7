"""The Huey tasks: thin wrappers that hand a message to the process's job runner.

Two tasks exist on every queue: ``run_job(job_id, sent)`` runs one job record, and the periodic
``tick`` (every minute) creates the jobs of ``[schedule]`` entries that are due.

This module knows neither the queue's backends nor the worker: :mod:`traitctl.jobs.queue`
registers the tasks on each Huey instance, and ``traitctl worker`` hands its runtime over with
:func:`serve` before its consumer starts (imports go worker -> queue -> tasks, never back). A
process that runs traitctl's messages with Huey's own consumer calls
``tasks.serve(Runtime.from_environment())`` first.
"""

from __future__ import annotations

from typing import Any, Protocol

RUN_JOB = "traitctl.run_job"
TICK = "traitctl.tick"


class Runner(Protocol):
    """What runs the messages (:class:`traitctl.jobs.worker.Runtime`)."""

    def run_job(self, job_id: int) -> None: ...

    def tick(self) -> Any: ...


#: The runner of this process (set by :func:`serve`).
RUNTIME: Runner | None = None


def serve(runner: Runner) -> None:
    """Run this process's messages with ``runner``."""
    global RUNTIME
    RUNTIME = runner


def runtime() -> Runner:
    """The runner set by :func:`serve`.

    :raises RuntimeError: when no runner was set (a message consumed outside ``traitctl worker``).
    """
    if RUNTIME is None:
        raise RuntimeError("traitctl jobs run in `traitctl worker`; a process consuming them with Huey's own "
                           "consumer must call traitctl.jobs.tasks.serve(Runtime.from_environment()) first")
    return RUNTIME


def run_job(job_id: int, sent: float = 0.0) -> None:
    """Run job ``job_id`` (a message whose job is no longer queued is dropped)."""
    runtime().run_job(int(job_id))


def tick() -> None:
    """Create the jobs of the schedule entries due this minute (once, however many workers tick)."""
    runtime().tick()


def register(huey: Any) -> None:
    """Register the tasks on ``huey`` under fixed names (enqueuers and workers must agree)."""
    from huey import crontab

    huey.traitctl_run_job = huey.task(name=RUN_JOB)(run_job)
    huey.traitctl_tick = huey.periodic_task(crontab(), name=TICK)(tick)
