"""Helpers shared by the benchmark scripts: timing whole commands and printing medians."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time


def time_command(argv: list[str], runs: int, env: dict | None = None, cwd: str | None = None) -> list[float]:
    """Wall time of ``runs`` executions of ``argv`` (seconds) after one untimed warm-up run; fails
    loudly on a non-zero exit.

    ``PYTHONDONTWRITEBYTECODE`` is removed from the environment: with it set (as on some CI and
    sandbox machines) every run compiles traitctl's modules from source, which an installed copy
    never does, so start-up would be measured 20-40 ms too slow.
    """
    times = []
    full_env = dict(os.environ, **(env or {}))
    full_env.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run(argv, env=full_env, cwd=cwd, capture_output=True)
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(argv, env=full_env, cwd=cwd, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            sys.exit(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()[:500]}")
    return times


def median_ms(times: list[float]) -> float:
    return statistics.median(times) * 1000


def report(name: str, times: list[float], baseline: float | None = None) -> None:
    ratio = f"  ratio {statistics.median(times) / baseline:5.2f}x" if baseline else ""
    print(f"{name:<48} median {median_ms(times):8.1f} ms  (min {min(times) * 1000:.1f}, n={len(times)}){ratio}")
