"""Fixtures for the jobs tests: a project whose [jobs] section makes workers quick to notice a dead
peer, a unique queue name per test (parallel tests share Redis), and real worker processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

PY = sys.executable


def append(config_file: Path, text: str) -> None:
    with config_file.open("a", encoding="utf-8") as fh:
        fh.write("\n" + text + "\n")


def set_jobs_section(config_file: Path, queue: str, lost_after: float = 2.0) -> None:
    """Replace the bundled [jobs] values with quick ones and a unique queue name."""
    text = config_file.read_text(encoding="utf-8")
    text = text.replace('queue = "default"', f'queue = "{queue}"', 1)
    text = text.replace("heartbeat = 2 ", "heartbeat = 0.2 ", 1).replace("lost_after = 15 ", f"lost_after = {lost_after} ", 1)
    config_file.write_text(text, encoding="utf-8")


@pytest.fixture
def queue_name() -> str:
    return "t" + uuid.uuid4().hex[:10]


@pytest.fixture
def jobs_project(project: Path, config_file: Path, queue_name: str) -> Path:
    set_jobs_section(config_file, queue_name)
    return project


def wait_for(predicate, timeout: float = 30.0, every: float = 0.1):
    """Poll ``predicate`` until it returns something truthy; fail with its last value after ``timeout``
    (a generous bound on waiting, not an assertion on speed)."""
    end = time.monotonic() + timeout
    value = None
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"condition not met within {timeout}s; last value: {value!r}")


class WorkerProcess:
    """``python -m traitctl [root options] worker …`` running in the background."""

    def __init__(self, cwd: Path, *args: str, root: tuple[str, ...] = (), log: Path | None = None) -> None:
        self.log = log or cwd / f"worker-{uuid.uuid4().hex[:6]}.log"
        self._fh = self.log.open("wb")
        env = dict(os.environ)
        self.proc = subprocess.Popen([PY, "-m", "traitctl", *root, "worker", "--no-periodic", *args], cwd=cwd,
                                     env=env, stdout=self._fh, stderr=subprocess.STDOUT)

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        finally:
            self._fh.close()
        return code

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self._fh.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def start_worker(jobs_project: Path):
    started: list[WorkerProcess] = []

    def _start(*args: str, root: tuple[str, ...] = ()) -> WorkerProcess:
        worker = WorkerProcess(jobs_project, *args, root=root)
        started.append(worker)
        return worker

    yield _start
    for worker in started:
        if worker.proc.poll() is None:
            worker.kill()


@pytest.fixture
def open_store(jobs_project: Path):
    """The project's store, opened in the test process (to read job records)."""
    from traitctl.store.db import Store

    opened = []

    def _open(url: str | None = None):
        store = Store.open(url or f"sqlite:///{jobs_project / 'config' / '.traitctl' / 'traitctl.db'}")
        opened.append(store)
        return store

    yield _open
    for store in opened:
        store.close()
