"""Which workers are alive: the facts only a process can gather (is a pid on this host still the
worker that wrote the heartbeat?) for the one rule, :func:`traitctl.engine.workers.lost_reason`.

Used by ``health``, ``metrics workers`` and the workers' recovery of lost jobs, so they agree.
"""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterable

from traitctl.engine.workers import WorkerBeat, lost_reason


def process_gone(pid: int, started: dt.datetime) -> bool:
    """True when the worker that started at ``started`` (naive UTC) as ``pid`` on this host no longer
    runs: no such process, a zombie (killed, not yet reaped), or a process that began after the
    worker did (the pid was reused). A process that cannot be inspected counts as running."""
    import psutil

    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return True
        created = process.create_time()
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:
        return False
    began = started.replace(tzinfo=dt.timezone.utc).timestamp()
    return created > began + 1.0  # a second for the clocks' granularity


def pid_gone(beat: WorkerBeat, host: str | None = None) -> bool:
    """True when ``beat``'s worker ran on this host (``host``, default this machine's name) and its
    process is gone. Workers on other hosts are judged by their heartbeat's age alone."""
    if beat.host != (host or socket.gethostname()) or beat.state == "stopped":
        return False
    return process_gone(beat.pid, beat.started)


def lost_reasons(beats: Iterable[WorkerBeat], now: dt.datetime, max_age: float,
                 host: str | None = None) -> dict[str, str | None]:
    """Per worker id, why it counts as dead (``None``: alive), by :func:`lost_reason`.

    :param now: naive UTC.
    :param max_age: seconds a heartbeat may be old (``[jobs] lost_after``).
    """
    host = host or socket.gethostname()
    return {b.worker_id: lost_reason(b, now, max_age, pid_gone(b, host)) for b in beats}
