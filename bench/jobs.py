"""Job throughput: N no-op jobs from enqueue to ``succeeded`` through traitctl (job record, history
events, a real ``traitctl worker`` process), next to raw Huey no-op tasks drained by a real Huey
consumer process on the same backend, in the same run.

Usage::

    python bench/jobs.py [--jobs 2000] [--runs 3] [--backend sqlite --backend redis] [--threads 1]

Prints the median rate of each and the ratio traitctl / raw Huey (goal: >= 0.5). On SQLite a second
baseline runs too: raw Huey whose queue commits with ``synchronous=NORMAL`` like traitctl's queue
(no fsync per commit; default SqliteHuey fsyncs every commit), and each traitctl rate is given
against both.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REDIS = os.environ.get("TRAITCTL_TEST_REDIS", "redis://127.0.0.1:6379/0")

RAW_CONSUMER = textwrap.dedent('''
    import sys
    from huey import PriorityRedisHuey, SqliteHuey
    from huey.consumer import Consumer

    url, name, threads, normal = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "normal"
    if url.startswith("sqlite:///") and normal:
        from huey.storage import SqliteStorage

        class NormalStorage(SqliteStorage):
            def _create_connection(self):
                conn = super()._create_connection()
                conn.execute("pragma synchronous=normal")
                return conn

        huey = SqliteHuey(name, filename=url[len("sqlite:///"):], results=False, storage_class=NormalStorage)
    elif url.startswith("sqlite:///"):
        huey = SqliteHuey(name, filename=url[len("sqlite:///"):], results=False)
    else:
        huey = PriorityRedisHuey(name, url=url, results=False)

    @huey.task(name="noop")
    def noop():
        pass

    def main():
        # The same polling settings as traitctl worker.
        Consumer(huey, workers=threads, periodic=False, initial_delay=0.01, max_delay=0.1).run()
''')


def wait(predicate, timeout: float = 300.0, every: float = 0.01) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            sys.exit("benchmark stalled")
        time.sleep(every)


THREADS = 1


def raw_huey(url: str, jobs: int, tmp: Path, normal: bool = False) -> float:
    """Seconds from the first enqueue until a running Huey consumer has drained ``jobs`` no-op tasks.
    ``normal``: a SQLite queue with ``synchronous=NORMAL`` (in both processes)."""
    script = tmp / "raw_consumer.py"
    script.write_text(RAW_CONSUMER)
    name = "bench_" + uuid.uuid4().hex[:8]
    sys.argv_saved = sys.argv
    sys.path.insert(0, str(tmp))
    import importlib

    mode = "normal" if normal else "default"
    sys.argv = ["raw_consumer", url, name, str(THREADS), mode]
    module = importlib.reload(importlib.import_module("raw_consumer"))
    sys.argv = sys.argv_saved
    # Imported under the same module name in both processes, so the task names match.
    boot = f"import sys; sys.path.insert(0, {str(tmp)!r}); import raw_consumer; raw_consumer.main()"
    proc = subprocess.Popen([sys.executable, "-c", boot, url, name, str(THREADS), mode], stderr=subprocess.DEVNULL)
    try:
        module.noop()
        wait(lambda: module.huey.pending_count() == 0)  # the consumer is up
        start = time.perf_counter()
        for _ in range(jobs):
            module.noop()
        wait(lambda: module.huey.pending_count() == 0)
        return time.perf_counter() - start
    finally:
        proc.terminate()
        proc.wait()
        module.huey.storage.flush_all()


def traitctl_jobs(queue_url: str, jobs: int, tmp: Path, bulk: bool = False) -> float:
    """Seconds from the first ``Jobs.enqueue`` until ``jobs`` records are ``succeeded`` (a
    ``traitctl worker`` process running them). ``bulk``: the records in one transaction
    (``Jobs.enqueue_many``), the messages one by one as before."""
    from traitctl.engine.jobs import builtin_operation
    from traitctl.jobs.queue import delete_queue, open_queue
    from traitctl.jobs.service import Jobs
    from traitctl.store.db import Store

    project = tmp / f"p{uuid.uuid4().hex[:6]}"
    shutil.copytree(ROOT / "config", project / "config", ignore=shutil.ignore_patterns(".traitctl", "*.lock"))
    name = "bench_" + uuid.uuid4().hex[:8]
    config = project / "config" / "traits.toml"
    config.write_text(config.read_text().replace('queue = "default"', f'queue = "{name}"', 1))
    store = Store.open(f"sqlite:///{project / 'config' / '.traitctl' / 'traitctl.db'}")
    service = Jobs(store, queue_url, actor="bench", command="bench/jobs.py", default_queue=name)
    env = dict(os.environ, TRAITCTL_QUEUE=queue_url, TRAITCTL_CONFIG=str(config))
    argv = [sys.executable, "-m", "traitctl", "worker", "--no-periodic", "--workers", str(THREADS)]
    proc = subprocess.Popen(argv, env=env, stderr=subprocess.DEVNULL)
    spec = builtin_operation("noop")
    try:
        wait(lambda: bool(store.workers.list()))
        start = time.perf_counter()
        if bulk:
            service.enqueue_many(spec, [{} for _ in range(jobs)])
        else:
            for _ in range(jobs):
                service.enqueue(spec)
        wait(lambda: store.jobs.count_by_state()["succeeded"] >= jobs, every=0.05)
        return time.perf_counter() - start
    finally:
        proc.terminate()
        proc.wait()
        delete_queue(queue_url, name)
        open_queue(queue_url, name).storage.close() if queue_url.startswith("sqlite") else None
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backend", action="append", choices=["sqlite", "redis"])
    parser.add_argument("--threads", type=int, default=1, help="worker threads of both consumers")
    args = parser.parse_args()
    global THREADS
    THREADS = args.threads
    for backend in args.backend or ["sqlite", "redis"]:
        with tempfile.TemporaryDirectory() as tmpdir:
            tmp = Path(tmpdir)
            url = f"sqlite:///{tmp / 'queue.db'}" if backend == "sqlite" else REDIS
            raw, normal, ours, bulk = [], [], [], []
            for _ in range(args.runs):  # interleaved, so a busy machine slows all alike
                raw.append(raw_huey(url, args.jobs, tmp))
                if backend == "sqlite":
                    normal.append(raw_huey(url, args.jobs, tmp, normal=True))
                ours.append(traitctl_jobs(url, args.jobs, tmp))
                bulk.append(traitctl_jobs(url, args.jobs, tmp, bulk=True))
        raw_rate = args.jobs / statistics.median(raw)
        normal_rate = args.jobs / statistics.median(normal) if normal else None
        rows = [("raw Huey no-op tasks", raw), ("raw Huey, synchronous=NORMAL", normal),
                ("traitctl jobs, enqueue", ours), ("traitctl jobs, enqueue_many", bulk)]
        for label, times in rows:
            if not times:
                continue
            rate = args.jobs / statistics.median(times)
            line = (f"{backend:<7} {label:<29} median {rate:7.0f} jobs/s  ({statistics.median(times):.2f}s for "
                    f"{args.jobs}, n={args.runs})  ratio {rate / raw_rate:.2f}")
            if normal_rate:
                line += f"  (to the NORMAL baseline {rate / normal_rate:.2f})"
            print(line, flush=True)


if __name__ == "__main__":
    main()
