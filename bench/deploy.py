"""Cost of `traitctl health`, `migrate-plan` and `docs` on the bundled example, against bare Python
and against a plain `traitctl inventory --format json` (the scan both planners start from).

Usage: python bench/deploy.py [--runs 7]
Prints medians and ratios to baselines measured in the same run. Runs in a temporary copy of
config/ and examples/ (warm: the inventory cache is filled first).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import report, time_command  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CHECKS = "configuration,store,history,queue,workers,telemetry,flags"  # server samples CPU for 0.2 s


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(ROOT / "config", Path(tmp) / "config", ignore=shutil.ignore_patterns(".traitctl", "*.lock"))
        shutil.copytree(ROOT / "examples", Path(tmp) / "examples")
        env = {"NO_COLOR": "1", "TRAITCTL_CONFIG": ""}
        tc = [py, "-m", "traitctl"]
        for warm in (["inventory", "--format", "json"], ["docs", "generate"]):
            subprocess.run(tc + warm, cwd=tmp, capture_output=True, check=True)
        base = time_command([py, "-c", "pass"], args.runs)
        report("python -c pass (baseline)", base)
        inv = time_command(tc + ["inventory", "--format", "json"], args.runs, env=env, cwd=tmp)
        report("traitctl inventory --format json (warm)", inv, statistics.median(base))
        cases = {
            "traitctl health --only configuration --json": ["health", "--only", "configuration", "--json"],
            f"traitctl health --only {CHECKS[:20]}… --json": ["health", "--only", CHECKS, "--json"],
            "traitctl health --only server --json": ["health", "--only", "server", "--json"],
            "traitctl migrate-plan --json": ["migrate-plan", "--start", "2026-12-01", "--json"],
            "traitctl migrate-plan --format markdown": ["migrate-plan", "--start", "2026-12-01", "-f", "markdown"],
            "traitctl docs check": ["docs", "check"],
        }
        for name, argv in cases.items():
            times = time_command(tc + argv, args.runs, env=env, cwd=tmp) if "server" not in argv else \
                _allow_fail(tc + argv, args.runs, tmp, env)
            report(name, times, statistics.median(base))
            if argv[0] in ("migrate-plan", "docs"):
                print(f"{'':<48} vs inventory: {statistics.median(times) / statistics.median(inv):5.2f}x")


def _allow_fail(argv: list[str], runs: int, cwd: str, env: dict) -> list[float]:
    # the server check exits 1 on a busy machine; that is its answer, not a benchmark failure
    import os
    import time

    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, cwd=cwd, env=dict(os.environ, **env), capture_output=True)
        times.append(time.perf_counter() - start)
    return times


if __name__ == "__main__":
    main()
