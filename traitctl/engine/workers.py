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

    def alive(self, now: dt.datetime, max_age: float, pid_gone: bool = False) -> bool:
        """:func:`lost_reason` is ``None``: the one liveness rule."""
        return lost_reason(self, now, max_age, pid_gone) is None


def lost_reason(beat: WorkerBeat | None, now: dt.datetime, max_age: float, pid_gone: bool = False) -> str | None:
    """Why a worker counts as dead, or ``None`` when it is alive: the one rule that ``health``,
    ``metrics workers`` and the workers' recovery of lost jobs all use.

    A worker is dead when it has no heartbeat, said it stopped, its process is gone (``pid_gone``:
    only the caller can see that, and only for a worker on its own host, by pid and start time) or
    its last heartbeat is older than ``max_age`` seconds (``[jobs] lost_after``; what tells for
    workers on other hosts).

    :param now: naive UTC, as the heartbeats' times.
    """
    if beat is None:
        return "no heartbeat"
    if beat.state == "stopped":
        return "stopped"
    if pid_gone:
        return f"process {beat.pid} is gone"
    age = beat.age(now)
    if age > max_age:
        return f"no heartbeat for {age:.0f} s (limit {max_age:g} s)"
    return None
