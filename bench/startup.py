"""Start-up cost of traitctl against bare Python, on the bundled example, and the fleet view
`config show --trait T --all-tenants` on 5,000 tenants with one file each (bench/config_scale.py's
configuration, layout `files`).

Usage: python bench/startup.py [--runs 15] [--tenants 5000]
Prints medians and the ratio to `python -c pass` measured in the same run (target: config get <= 6x;
completion of a tenant id <= 150 ms, on the bundled example and with 5,000 tenant files); the fleet
view also prints its ratio to `traitctl --help` (target: <= 1 s median end to end).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import report, time_command  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--tenants", type=int, default=5000, help="tenant files for the fleet view (0: skip it)")
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
    cases["traitctl --version"] = ["--version"]
    for name, argv in cases.items():
        times = time_command([py, "-m", "traitctl", *argv], args.runs, env=env)
        report(name, times, baseline)
        if argv == ["--help"]:
            help_median = statistics.median(times)
    with tempfile.TemporaryDirectory() as tmp:
        many = _many_tenants(Path(tmp), 5000)
        for name, config in (("TAB: --tenant (bundled example)", ROOT / "config" / "traits.toml"),
                             ("TAB: --tenant (5,000 tenant files)", many)):
            report(name, time_command([py, "-m", "traitctl"], args.runs, env=_completion_env(config, env)), baseline)
    if args.tenants:
        fleet(py, args.runs, args.tenants, baseline, help_median)


#: What bash's completion function sets for ``traitctl config get ttl --tenant <TAB>`` (click's protocol).
COMPLETION_WORDS = "traitctl config get ttl --trait Cacheable --tenant "


def _completion_env(config: Path, env: dict) -> dict:
    """The environment of one TAB press, checked once: it must list tenant ids (``acme``)."""
    full = dict(env, TRAITCTL_CONFIG=str(config), _TRAITCTL_COMPLETE="complete_bash", COMP_WORDS=COMPLETION_WORDS,
                COMP_CWORD=str(len(COMPLETION_WORDS.split())))
    proc = subprocess.run([sys.executable, "-m", "traitctl"], env=dict(os.environ, **full), capture_output=True,
                          text=True)
    if "acme" not in proc.stdout.split():
        sys.exit(f"tenant completion did not list acme: {proc.stdout[:200]!r} {proc.stderr[:300]!r}")
    return full


def _many_tenants(folder: Path, count: int) -> Path:
    """The bundled configuration plus ``count`` tenant files (``tenants/t00001.toml`` …)."""
    shutil.copytree(ROOT / "config", folder / "config", ignore=shutil.ignore_patterns(".traitctl", "*.lock"))
    tenants = folder / "config" / "tenants"
    for n in range(count):
        (tenants / f"t{n:05d}.toml").write_text('name = "Tenant %d"\n' % n)
    return folder / "config" / "traits.toml"


def fleet(py: str, runs: int, tenants: int, baseline: float, help_median: float) -> None:
    """``config show --all-tenants`` (table and --json) over ``tenants`` tenant files."""
    import config_scale

    config_scale.TENANTS = tenants
    with tempfile.TemporaryDirectory() as tmp:
        path = config_scale.generate(Path(tmp), "files")
        env = {"TRAITCTL_CONFIG": str(path), "NO_COLOR": "1", "COLUMNS": "120"}
        print(f"\n== {tenants} tenants, one file each (config/tenants/<id>.toml) ==")
        for name, extra in (("table", []), ("--json", ["--json"]), ("--model (table)", ["-m", "App\\Models\\Model7"])):
            times = time_command([py, "-m", "traitctl", "config", "show", "-t", "Trait7", "--all-tenants", *extra],
                                 runs, env=env)
            report(f"config show --all-tenants {name}", times, baseline)
            print(f"{'':<48} ratio to traitctl --help {statistics.median(times) / help_median:5.2f}x")


if __name__ == "__main__":
    main()
