"""The Python runtime's telemetry recorder loses no point and holds no connection it does not need:
points the store refuses stay buffered for the next flush; a recorder dropped without ``close``
closes its connection; several processes recording into one store at once lose nothing (the
runtime writes rows, not lines of a shared file, so there is nothing to interleave)."""

from __future__ import annotations

import gc
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from traitctl.engine.errors import TraitctlError
from traitctl.runtime.telemetry import Recorder


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_points_the_store_refuses_stay_buffered(tmp_path: Path):
    recorder = Recorder("postgresql://bob:pw@127.0.0.1:1/none", batch_size=1000)
    recorder.record("trait.Safe.seen", 1)
    recorder.record("trait.Safe.seen", 2)
    try:
        recorder.flush()
    except TraitctlError:
        pass
    else:  # pragma: no cover - port 1 never answers
        raise AssertionError("the flush should have failed")
    assert recorder.pending() == 2
    recorder.store_url = f"sqlite:///{tmp_path / 'store.db'}"  # the store is back (here: another URL)
    recorder.record("trait.Safe.seen", 4)
    assert recorder.flush() == 3 and recorder.pending() == 0
    recorder.close()
    with sqlite3.connect(tmp_path / "store.db") as db:
        assert db.execute("SELECT SUM(value), COUNT(*) FROM traitctl_metric_point").fetchone() == (7.0, 3)


def test_a_dropped_recorder_closes_its_connection(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    with Recorder(url) as first:  # creates the store
        first.record("trait.Safe.seen")
    before = _open_fds()
    for _ in range(30):
        recorder = Recorder(url)
        recorder.record("trait.Safe.seen")
        recorder.flush()
        del recorder
    gc.collect()
    assert _open_fds() <= before + 1


WRITER = """
import sys
from traitctl.runtime.telemetry import Recorder
with Recorder(sys.argv[1], batch_size=25) as recorder:
    for i in range(400):
        recorder.record("trait.Safe.seen", 1, worker=sys.argv[2])
"""


def test_several_processes_recording_at_once_lose_nothing(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    with Recorder(url) as first:
        first.record("trait.Safe.start")
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, url, str(n)], stderr=subprocess.PIPE, text=True)
             for n in range(4)]
    errors = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    for p in procs:
        p.stderr.close()
    assert [code for code, _ in errors] == [0] * 4, errors
    with sqlite3.connect(tmp_path / "store.db") as db:
        total = db.execute("SELECT COUNT(*) FROM traitctl_metric_point p JOIN traitctl_metric_series s "
                           "ON s.id = p.series_id WHERE s.name = 'trait.Safe.seen'").fetchone()[0]
    assert total == 1600
