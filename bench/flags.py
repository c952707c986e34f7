"""Flag evaluation speed.

1. In-process evaluations per second of a compiled flag (50%, 1,000 overrides loaded) for each
   algorithm (flagd's three generations included; ``flagd-v3`` also with a non-user stickiness,
   its CBOR-text path), and of ``Flags.is_enabled``, next to UnleashClient's ``is_enabled`` measured in the
   same run (goal: >= 1M/s and >= 60x UnleashClient).
2. ``traitctl flags eval NAME --subjects FILE`` on 1M ids, end to end (goal: <= 3 s), next to
   ``python -c pass``.

Usage: python bench/flags.py [--runs 5] [--ids 1000000] [--in-process-only]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import report, time_command  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rate(fn, subjects: list[str], runs: int) -> float:
    """Median evaluations per second of ``fn`` over ``subjects``."""
    rates = []
    for _ in range(runs):
        start = time.perf_counter()
        for s in subjects:
            fn(s)
        rates.append(len(subjects) / (time.perf_counter() - start))
    return statistics.median(rates)


def unleash_rate(subjects: list[str], runs: int) -> float:
    from UnleashClient import UnleashClient
    from UnleashClient.cache import FileCache

    cache = FileCache("traitctl-bench", directory=tempfile.mkdtemp())
    cache.bootstrap_from_dict({"version": 1, "features": [{"name": "new-checkout", "enabled": True, "strategies": [
        {"name": "flexibleRollout", "parameters": {"rollout": "50", "stickiness": "userId",
                                                    "groupId": "new-checkout"}}]}]})
    client = UnleashClient(url="http://127.0.0.1:9", app_name="traitctl-bench", cache=cache,
                           disable_metrics=True, disable_registration=True)
    try:
        return rate(lambda s: client.is_enabled("new-checkout", {"userId": s}), subjects, runs)
    finally:
        client.destroy()


def in_process(runs: int) -> None:
    from traitctl.engine import flags as engine

    subjects = [str(i) for i in range(200_000)]
    overrides = {str(i * 7919): i % 2 == 0 for i in range(1000)}
    baseline = unleash_rate(subjects[:20_000], runs)
    print(f"{'UnleashClient.is_enabled (baseline)':<48} {baseline:12,.0f} evals/s")
    for algorithm in engine.ALGORITHMS:
        flag = engine.Flag("new-checkout", enabled=True, percentage=50, bucketing=algorithm)
        found = rate(engine.compile(flag, overrides), subjects, runs)
        print(f"{'compiled ' + algorithm + ' (1,000 overrides)':<48} {found:12,.0f} evals/s  "
              f"ratio {found / baseline:6.1f}x")
    flag = engine.Flag("new-checkout", enabled=True, percentage=50, bucketing="flagd-v3", stickiness="tenant")
    found = rate(engine.compile(flag), subjects, runs)
    print(f"{'compiled flagd-v3 (stickiness tenant)':<48} {found:12,.0f} evals/s  ratio {found / baseline:6.1f}x")
    api = _api(overrides)
    found = rate(lambda s: api.is_enabled("bench-flag", user=s), subjects, runs)
    print(f"{'Flags.is_enabled (crc32, 1,000 overrides)':<48} {found:12,.0f} evals/s  ratio {found / baseline:6.1f}x")


def _api(overrides: dict[str, bool]):
    import datetime as dt

    from traitctl import Flags
    from traitctl.store.db import Store

    folder = Path(tempfile.mkdtemp())
    (folder / "traits.toml").write_text('[flags.bench-flag]\nenabled = true\npercentage = 50\n')
    store = Store.open("sqlite:///:memory:")
    now = dt.datetime(2026, 1, 1)
    for subject, on in overrides.items():
        store.flag_overrides.set("bench-flag", subject, on, expires=now + dt.timedelta(days=30), now=now, actor="b")
    return Flags.load(folder / "traits.toml", store=store, now=lambda: now, refresh=3600)


def end_to_end(runs: int, count: int) -> None:
    py = sys.executable
    work = Path(tempfile.mkdtemp())
    shutil.copytree(ROOT / "config", work / "config", ignore=shutil.ignore_patterns(".traitctl", "*.lock"))
    ids = work / "ids.txt"
    ids.write_text("\n".join(str(i) for i in range(count)) + "\n")
    env = {"TRAITCTL_CONFIG": str(work / "config" / "traits.toml"), "NO_COLOR": "1"}
    base = time_command([py, "-c", "pass"], runs)
    report("python -c pass (baseline)", base)
    argv = [py, "-m", "traitctl", "flags", "eval", "traits_management_system", "--subjects", str(ids)]
    report(f"flags eval --subjects ({count:,} ids, to a pipe)", time_command(argv, runs, env=env),
           statistics.median(base))
    report(f"flags eval --subjects --summary ({count:,} ids)", time_command(argv + ["--summary"], runs, env=env),
           statistics.median(base))
    shutil.rmtree(work)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--ids", type=int, default=1_000_000)
    parser.add_argument("--in-process-only", action="store_true", help="Skip the end-to-end CLI runs.")
    args = parser.parse_args()
    in_process(args.runs)
    if args.in_process_only:
        return
    end_to_end(max(3, args.runs // 2), args.ids)


if __name__ == "__main__":
    main()
