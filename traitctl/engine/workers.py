"""Worker heartbeats: what a running ``traitctl worker`` reports every few seconds."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class WorkerBeat:
    """One worker's latest heartbeat.

    :param worker_id: unique per worker process (``host:pid:start``).
    :param state: ``starting``, ``idle``, ``busy``, ``stopping`` or ``stopped``.
    :param rss_mb: resident memory now; ``peak_rss_mb`` the highest seen.
    """

    worker_id: str
    host: str
    pid: int
    state: str
    queue: str
    started: dt.datetime
    last_seen: dt.datetime
    jobs_done: int = 0
    jobs_failed: int = 0
    rss_mb: float = 0.0
    peak_rss_mb: float = 0.0
    cpu_percent: float = 0.0
    current_job: str | None = None

    def age(self, now: dt.datetime) -> float:
        """Seconds since the last heartbeat."""
        return (now - self.last_seen).total_seconds()

    def alive(self, now: dt.datetime, max_age: float) -> bool:
        """True when the worker reported within ``max_age`` seconds and has not stopped."""
        return self.state != "stopped" and self.age(now) <= max_age
