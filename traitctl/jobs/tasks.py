"""The Huey tasks: thin wrappers that hand a message to the running worker's :class:`Runtime`.

Two tasks exist on every queue: ``run_job(job_id, sent)`` runs one job record, and the periodic
``tick`` (every minute) creates the jobs of ``[schedule]`` entries that are due.
"""

from __future__ import annotations

from typing import Any

RUN_JOB = "traitctl.run_job"
TICK = "traitctl.tick"

#: The worker sets this before its consumer starts (see :mod:`traitctl.jobs.worker`).
RUNTIME: Any = None


def runtime() -> Any:
    """The worker's runtime; a process that runs tasks without ``traitctl worker`` (Huey's own
    consumer) builds one from the environment (``TRAITCTL_CONFIG``, ``TRAITCTL_STORE`` …)."""
    global RUNTIME
    if RUNTIME is None:
        from traitctl.jobs.worker import Runtime

        RUNTIME = Runtime.from_environment()
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
