"""Job throughput: N no-op jobs from enqueue to ``succeeded`` through traitctl (job record with its
timeline, a real ``traitctl worker`` process), next to raw Huey no-op tasks drained by a real Huey
consumer process on the same backend, in the same run.

Usage::

    python bench/jobs.py [--jobs 2000] [--runs 3] [--backend sqlite --backend redis] [--threads 1] [--json]

Two figures per variant: the enqueue phase (the producer's loop of N enqueues, the consumer running
meanwhile) and the full run (first enqueue until all N have run). Each is given as a median rate and
as the ratio to the baseline of the same backend measured in the same run (goal: >= 0.5):

- SQLite: raw ``SqliteHuey`` whose queue commits with ``synchronous = NORMAL`` in both processes,
  the setting traitctl's own queue uses (default SqliteHuey, which fsyncs every commit, is
  measured too and shown for reference);
- Redis: raw ``PriorityRedisHuey``, the class traitctl's Redis queue derives from.

``--json`` prints one document with every median and ratio instead of the table.
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


def raw_huey(url: str, jobs: int, tmp: Path, normal: bool = False) -> tuple[float, float]:
    """Seconds of the enqueue loop, and from the first enqueue until a running Huey consumer has
    drained ``jobs`` no-op tasks. ``normal``: a SQLite queue with ``synchronous=NORMAL`` (in both
    processes)."""
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
        enqueued = time.perf_counter() - start
        wait(lambda: module.huey.pending_count() == 0)
        return enqueued, time.perf_counter() - start
    finally:
        proc.terminate()
        proc.wait()
        module.huey.storage.flush_all()


def traitctl_jobs(queue_url: str, jobs: int, tmp: Path, bulk: bool = False,
                  profile: Path | None = None) -> tuple[float, float]:
    """Seconds of the ``Jobs.enqueue`` loop, and from the first enqueue until ``jobs`` records are
    ``succeeded`` (a ``traitctl worker`` process running them). ``bulk``: the records in one
    transaction (``Jobs.enqueue_many``), the messages one by one as before. ``profile``: write
    the enqueue loop's cProfile statistics there."""
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
        profiler = None
        if profile is not None:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        start = time.perf_counter()
        if bulk:
            service.enqueue_many(spec, [{} for _ in range(jobs)])
        else:
            for _ in range(jobs):
                service.enqueue(spec)
        enqueued = time.perf_counter() - start
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(str(profile))
        wait(lambda: store.jobs.count_by_state()["succeeded"] >= jobs, every=0.05)
        return enqueued, time.perf_counter() - start
    finally:
        proc.terminate()
        proc.wait()
        delete_queue(queue_url, name)
        open_queue(queue_url, name).storage.close() if queue_url.startswith("sqlite") else None
        store.close()


def summary(jobs: int, runs: list[tuple[float, float]]) -> dict:
    """Medians of the enqueue phase and of the full run, as seconds and jobs/s."""
    enqueue = statistics.median(r[0] for r in runs)
    total = statistics.median(r[1] for r in runs)
    return {"enqueue_median_s": round(enqueue, 4), "enqueue_rate": round(jobs / enqueue, 1),
            "total_median_s": round(total, 4), "total_rate": round(jobs / total, 1),
            "enqueue_s": [round(r[0], 4) for r in runs], "total_s": [round(r[1], 4) for r in runs]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backend", action="append", choices=["sqlite", "redis"])
    parser.add_argument("--threads", type=int, default=1, help="worker threads of both consumers")
    parser.add_argument("--json", action="store_true", help="one JSON document with medians and ratios")
    parser.add_argument("--profile", metavar="DIR", help="write cProfile stats of traitctl's enqueue loops here")
    args = parser.parse_args()
    global THREADS
    THREADS = args.threads
    report = {"jobs": args.jobs, "runs": args.runs, "threads": args.threads, "backends": {}}
    for backend in args.backend or ["sqlite", "redis"]:
        with tempfile.TemporaryDirectory() as tmpdir:
            tmp = Path(tmpdir)
            url = f"sqlite:///{tmp / 'queue.db'}" if backend == "sqlite" else REDIS
            measured: dict[str, list] = {"raw_default": [], "raw": [], "enqueue": [], "enqueue_many": []}
            for run in range(args.runs):  # interleaved, so a busy machine slows all alike
                if backend == "sqlite":
                    measured["raw_default"].append(raw_huey(url, args.jobs, tmp))
                measured["raw"].append(raw_huey(url, args.jobs, tmp, normal=backend == "sqlite"))
                for variant, bulk in (("enqueue", False), ("enqueue_many", True)):
                    profile = Path(args.profile) / f"{backend}-{variant}-{run}.prof" if args.profile else None
                    measured[variant].append(traitctl_jobs(url, args.jobs, tmp, bulk=bulk, profile=profile))
        figures = {name: summary(args.jobs, runs) for name, runs in measured.items() if runs}
        base = figures["raw"]
        for name in ("enqueue", "enqueue_many", "raw_default"):
            if name in figures:
                figures[name]["ratio_enqueue"] = round(figures[name]["enqueue_rate"] / base["enqueue_rate"], 3)
                figures[name]["ratio_total"] = round(figures[name]["total_rate"] / base["total_rate"], 3)
        figures["baseline"] = ("raw SqliteHuey, synchronous = NORMAL" if backend == "sqlite"
                               else "raw PriorityRedisHuey")
        report["backends"][backend] = figures
        if not args.json:
            labels = {"raw": f"baseline: {figures['baseline']}", "raw_default": "raw SqliteHuey (fsync per commit)",
                      "enqueue": "traitctl Jobs.enqueue", "enqueue_many": "traitctl Jobs.enqueue_many"}
            for name in ("raw", "raw_default", "enqueue", "enqueue_many"):
                if name not in figures:
                    continue
                f = figures[name]
                line = (f"{backend:<7} {labels[name]:<42} enqueue {f['enqueue_rate']:7.0f}/s  "
                        f"full run {f['total_rate']:7.0f}/s  (medians of {args.runs}, {args.jobs} jobs)")
                if name != "raw":
                    line += f"  ratio enqueue {f['ratio_enqueue']:.2f}  full run {f['ratio_total']:.2f}"
                print(line, flush=True)
    if args.json:
        import json

        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
