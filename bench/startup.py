"""Start-up cost of traitctl against bare Python, on the bundled example.

Usage: python bench/startup.py [--runs 15]
Prints medians and the ratio to `python -c pass` measured in the same run (target: config get <= 6x).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import report, time_command  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    py = sys.executable
    env = {"TRAITCTL_CONFIG": str(ROOT / "config" / "traits.toml"), "NO_COLOR": "1"}
    base = time_command([py, "-c", "pass"], args.runs)
    baseline = statistics.median(base)
    report("python -c pass (baseline)", base)
    cases = {
        "traitctl config get ttl --trait Cacheable": ["config", "get", "ttl", "--trait", "Cacheable"],
        "traitctl config get … --model … --tenant acme": ["config", "get", "ttl", "-t", "Cacheable", "-m",
                                                         "App\\Models\\Product", "--tenant", "acme"],
        "traitctl --help": ["--help"],
        "traitctl config explain ttl --trait Cacheable": ["config", "explain", "ttl", "--trait", "Cacheable"],
    }
    for name, argv in cases.items():
        report(name, time_command([py, "-m", "traitctl", *argv], args.runs, env=env), baseline)


if __name__ == "__main__":
    main()
