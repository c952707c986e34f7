"""``traitctl cache stats`` and ``cache flush`` over 1M keys of which 10,000 match, against
``redis-cli --scan | wc -l`` of the same database in the same run, and the longest single Redis
command (goal: none over 10 ms, so a live cache is never blocked).

The longest command is measured twice: client-side, timing every call of the same SCAN / PTTL /
MEMORY USAGE / UNLINK sequence in-process (round trip included: an upper bound), and server-side,
from ``SLOWLOG`` (entries since the start at or above the server's ``slowlog-log-slower-than``,
10 ms by default).

Uses Redis database 12 (``$TRAITCTL_BENCH_REDIS``) with a unique prefix, removed at the end.

    python bench/cache.py [--keys 1000000] [--match 10000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from _common import report, time_command  # noqa: E402

URL = os.environ.get("TRAITCTL_BENCH_REDIS", "redis://127.0.0.1:6379/12")
RUNS = 3


def populate(client, prefix: str, total: int, match: int) -> None:
    from traitctl.engine import cache

    pipe = client.pipeline(transaction=False)
    for i in range(total):
        if i < match:
            key = cache.key(prefix, "Cacheable", "price", model="App\\Models\\Product", id=i, tenant="acme")
        elif i % 2:
            key = cache.key(prefix, "Cacheable", "price", model="App\\Models\\Product", id=i, tenant=f"t{i % 97}")
        else:
            key = cache.key(prefix, ("Searchable", "Auditable")[i % 4 // 2], "r", id=i, tenant="acme")
        pipe.set(key, "v" * 16, ex=3600)
        if i % 10_000 == 9_999:
            pipe.execute()
    pipe.execute()


def redis_cli_count(db: str) -> tuple[float, int]:
    start = time.perf_counter()
    scan = subprocess.Popen(["redis-cli", "-n", db, "--scan"], stdout=subprocess.PIPE)
    wc = subprocess.run(["wc", "-l"], stdin=scan.stdout, capture_output=True, text=True)
    scan.wait()
    return time.perf_counter() - start, int(wc.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--match", type=int, default=10_000)
    args = parser.parse_args()
    import redis

    from traitctl.engine import cache
    from traitctl.store.cache import CacheStore

    client = redis.Redis.from_url(URL)
    db = URL.rsplit("/", 1)[1] or "0"
    prefix = f"bench{uuid.uuid4().hex[:8]}_cache_"
    work = Path(tempfile.mkdtemp(prefix="traitctl-bench-cache-"))
    (work / "config").mkdir()
    (work / "config" / "traits.toml").write_text(
        f'[traitctl]\nstore = ""\nqueue = ""\n\n[cache]\nurl = "{URL}"\nprefix = "{prefix}"\n\n'
        "[traits.Cacheable]\ncache_ttl = 600\n\n[traits.Searchable]\ncache_ttl = 60\n\n[traits.Auditable]\n"
        "cache_ttl = 60\n")
    started = time.time()
    t0 = time.perf_counter()
    populate(client, prefix, args.keys, args.match)
    print(f"populated {args.keys:,} keys ({args.match:,} matching) in {time.perf_counter() - t0:.1f} s; "
          f"database {db} holds {client.dbsize():,}")
    try:
        cli_times, counted = zip(*[redis_cli_count(db) for _ in range(RUNS)])
        base = statistics.median(cli_times)
        report(f"redis-cli -n {db} --scan | wc -l ({counted[0]:,} keys)", list(cli_times))
        py = [sys.executable, "-m", "traitctl"]
        stats = time_command(py + ["cache", "stats", "--trait", "Cacheable", "--tenant", "acme", "--json"], RUNS,
                             cwd=str(work))
        report("traitctl cache stats --trait Cacheable --tenant acme", stats, base)
        dry = time_command(py + ["cache", "flush", "--trait", "Cacheable", "--tenant", "acme", "--dry-run"], RUNS,
                           cwd=str(work))
        report("traitctl cache flush … --dry-run", dry, base)

        # the same commands in-process, every call timed (round trip included)
        store = CacheStore(URL)
        pattern = cache.pattern(prefix, "Cacheable", tenant="acme")
        t0 = time.perf_counter()
        found = list(dict.fromkeys(store.scan(pattern)))
        store.ttls(found)
        store.memory(found[:1000])
        stats_s = time.perf_counter() - t0
        print(f"in-process stats: {len(found):,} keys in {stats_s * 1000:.0f} ms, {store.calls} calls, "
              f"longest call {store.slowest_ms:.2f} ms")
        store.slowest_ms, store.calls = 0.0, 0
        t0 = time.perf_counter()
        found = list(dict.fromkeys(store.scan(pattern)))
        removed = store.unlink(found)
        flush_s = time.perf_counter() - t0
        print(f"in-process flush: {removed:,} keys removed in {flush_s * 1000:.0f} ms, {store.calls} calls, "
              f"longest call {store.slowest_ms:.2f} ms")
        store.close()
        populate(client, prefix, args.match, args.match)  # put the matching keys back for the CLI flush
        flush = []
        for _ in range(RUNS):
            t0 = time.perf_counter()
            proc = subprocess.run(py + ["cache", "flush", "--trait", "Cacheable", "--tenant", "acme", "--yes"],
                                  cwd=str(work), capture_output=True, text=True)
            flush.append(time.perf_counter() - t0)
            if proc.returncode != 0:
                sys.exit(proc.stderr)
            populate(client, prefix, args.match, args.match)
        report("traitctl cache flush --trait Cacheable --tenant acme --yes", flush, base)
        threshold = client.config_get("slowlog-log-slower-than").get("slowlog-log-slower-than")
        slow = [e for e in client.slowlog_get(128) if e["start_time"] >= int(started)]
        names = (b"SCAN", b"UNLINK", b"PTTL", b"MEMORY")
        ours = [e for e in slow if bytes(e["command"]).split(b" ")[0].upper() in names]
        longest = f": longest {max(e['duration'] for e in ours) / 1000:.2f} ms" if ours else ""
        print(f"SLOWLOG (threshold {threshold} us): {len(slow)} entries since start, {len(ours)} of "
              f"SCAN/UNLINK/PTTL/MEMORY{longest}")
    finally:
        t0 = time.perf_counter()
        leftovers = list(client.scan_iter(match=cache.glob_escape(prefix) + "*", count=1000))
        for i in range(0, len(leftovers), 1000):
            client.unlink(*leftovers[i:i + 1000])
        print(f"removed the benchmark's {len(leftovers):,} keys in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
