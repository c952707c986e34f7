"""Benchmarks of ``traitctl metrics``: ingestion rate and view latency. Prints medians and ratios.

1. Ingest: ``traitctl metrics ingest FILE`` (a real subprocess, start-up included) of N JSON lines
   (200 series over 6 hours) into a fresh SQLite store, next to a raw ``sqlite3`` ``executemany`` of
   the same rows, already
   built, into a table equal to the store's point table (same columns, same index), in one
   transaction. Goal: traitctl >= 50% of the raw rate.
2. Views over M stored points (default 10M, 200 series over 7 days): ``traitctl metrics`` (24 h
   dashboard) and ``traitctl metrics trends`` (1 h by 1 min), each next to ``traitctl --help``
   (start-up alone) in the same run. Goal: <= 1 s each.

Usage::

    python bench/metrics.py                      # 1M ingest, 10M view store (built once, kept)
    python bench/metrics.py --ingest 200000 --points 1000000 --runs 3
    python bench/metrics.py --skip-ingest --keep /tmp/traitctl-bench
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TRAITS = [f"Trait{i:02d}" for i in range(40)]
METRICS = ["operations", "errors", "duration_ms", "cache_hits", "queued"]
KINDS = {"duration_ms": "timing"}
DAY = 86400
SPAN = 6 * 3600  # the ingest file covers the last 6 hours


def project(folder: Path) -> Path:
    """A minimal configuration folder whose store is ``folder/store.db``."""
    (folder / "config").mkdir(parents=True, exist_ok=True)
    (folder / "config" / "traits.toml").write_text('[traitctl]\nstore = "sqlite:///../store.db"\n')
    return folder


def cli(folder: Path, *args: str) -> float:
    env = {**os.environ, "NO_COLOR": "1"}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "traitctl", *args], cwd=folder, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def write_jsonl(path: Path, n: int, now: float) -> None:
    """n points of 200 series (40 traits x 5 metrics, one model each) over the last 6 hours."""
    rng = random.Random(1)
    with path.open("w") as out:
        for i in range(n):
            t, metric = i % len(TRAITS), METRICS[(i // len(TRAITS)) % len(METRICS)]
            out.write(json.dumps({"name": f"trait.{TRAITS[t]}.{metric}", "kind": KINDS.get(metric, "counter"),
                                  "value": rng.randint(1, 50), "ts": now - SPAN + i * SPAN / n,
                                  "labels": {"model": f"App\\Models\\M{t % 7}"}}) + "\n")


def raw_rows(n: int, now: float) -> list[tuple]:
    rng = random.Random(1)
    return [(i % 200, now - SPAN + i * SPAN / n, float(rng.randint(1, 50))) for i in range(n)]


def raw_insert(db: Path, rows: list[tuple]) -> float:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA journal_mode=wal")
    con.execute("PRAGMA synchronous=normal")
    con.execute("CREATE TABLE p (id INTEGER PRIMARY KEY, series_id INTEGER NOT NULL, ts REAL NOT NULL, "
                "value REAL NOT NULL)")
    con.execute("CREATE INDEX p_series_ts ON p (series_id, ts)")
    start = time.perf_counter()
    con.execute("BEGIN")
    con.executemany("INSERT INTO p (series_id, ts, value) VALUES (?, ?, ?)", rows)
    con.execute("COMMIT")
    elapsed = time.perf_counter() - start
    con.close()
    return elapsed


def bench_ingest(n: int, runs: int, work: Path) -> None:
    now = time.time()
    data = work / "points.jsonl"
    write_jsonl(data, n, now)
    rows = raw_rows(n, now)
    ours, raw = [], []
    for run in range(runs):
        folder = project(work / f"ingest{run}")
        ours.append(cli(folder, "metrics", "ingest", str(data)))
        raw.append(raw_insert(work / "raw.db", rows))
        shutil.rmtree(folder)
    ours_rate, raw_rate = n / statistics.median(ours), n / statistics.median(raw)
    print(f"ingest {n:,} JSON lines: traitctl median {statistics.median(ours):.2f}s ({ours_rate:,.0f} points/s); "
          f"raw sqlite3 executemany median {statistics.median(raw):.2f}s ({raw_rate:,.0f} rows/s); "
          f"ratio {ours_rate / raw_rate:.0%} (goal >= 50%)")


def build_store(folder: Path, n: int) -> None:
    """Fill the store with n points over 7 days through the store's own write path."""
    from traitctl.engine.telemetry_formats import make_point
    from traitctl.store.db import Store

    store = Store.open(f"sqlite:///{folder / 'store.db'}")
    if store.metrics.count_points() >= n:
        store.close()
        return
    rng, now, chunk = random.Random(2), time.time(), 200_000
    for start in range(0, n, chunk):
        store.metrics.write(
            make_point(f"trait.{TRAITS[i % 40]}.{METRICS[(i // 40) % 5]}", rng.randint(1, 50),
                       KINDS.get(METRICS[(i // 40) % 5], "counter"), None, now - 7 * DAY + i * 7 * DAY / n)
            for i in range(start, min(n, start + chunk)))
        print(f"  built {min(n, start + chunk):,} / {n:,} points", file=sys.stderr)
    store.close()


def bench_views(n: int, runs: int, folder: Path) -> None:
    project(folder)
    build_store(folder, n)
    cases = {"traitctl --help (baseline)": ("--help",),
             "traitctl metrics (24h dashboard)": ("metrics", "--since", "24h"),
             "traitctl metrics trends (1h by 1m)": ("metrics", "trends", "trait.Trait07.operations",
                                                    "--period", "1h", "--interval", "1m")}
    cli(folder, "metrics")  # warm the page cache once
    times = {name: statistics.median(cli(folder, *args) for _ in range(runs)) for name, args in cases.items()}
    base = times["traitctl --help (baseline)"]
    for name, median in times.items():
        print(f"{name} over {n:,} points: median {median:.3f}s, {median / base:.1f}x the baseline"
              + ("" if "baseline" in name else f" (goal <= 1 s: {'met' if median <= 1 else 'NOT met'})"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ingest", type=int, default=1_000_000, help="JSON lines to ingest")
    parser.add_argument("--points", type=int, default=10_000_000, help="points stored for the view benchmark")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="folder kept between runs for the view store")
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--skip-views", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="traitctl-bench-") as tmp:
        if not args.skip_ingest:
            bench_ingest(args.ingest, args.runs, Path(tmp))
        if not args.skip_views:
            bench_views(args.points, args.runs, args.keep or Path(tmp) / "views")


if __name__ == "__main__":
    main()
