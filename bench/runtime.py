"""Python runtime speed on the generated configuration (tests/runtime/genconfig.py):

- ``TraitConfig.get`` per second (TOML and snapshot) against a plain nested-dict lookup of the same
  answers in the same run (goal >= 1M/s);
- ``Flags.is_enabled`` per second (user-bucketed flags, with tenants);
- ``traitctl export --format json`` and ``--format laravel`` (when the Laravel renderer is part of
  the build) of the generated configuration, end to end (goal <= 300 ms).

Prints medians of 7 rounds and ratios. The PHP side is bench/runtime_php.py.

    python bench/runtime.py
"""

from __future__ import annotations

import importlib.util
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "runtime"))
sys.path.insert(0, str(ROOT / "bench"))

import genconfig  # noqa: E402
from _common import report, time_command  # noqa: E402

ROUNDS = 7


def _rate(fn, items) -> float:
    """Calls per second of ``fn(*item)`` over ``items`` (the median of ROUNDS rounds)."""
    rates = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for item in items:
            fn(*item)
        rates.append(len(items) / (time.perf_counter() - start))
    return statistics.median(rates)


def _print_rate(name: str, rate: float, baseline: float | None = None) -> None:
    ratio = f"  ratio {rate / baseline:5.2f}x of the plain dict" if baseline else ""
    print(f"{name:<48} median {rate / 1e6:8.2f} M/s{ratio}")


def main() -> None:
    from traitctl.runtime import Flags, TraitConfig

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        spec = genconfig.write(root)
        env = dict(genconfig.ENV_VALUES)
        export = [sys.executable, "-m", "traitctl", "export", "-f", "json", "-o", str(root / "snapshot.json")]
        time_command(export, 1, cwd=str(root))
        queries = list(spec.queries())
        random.Random(3).shuffle(queries)
        queries = queries[:20_000]
        toml = TraitConfig.load(spec.config, environ=env)
        snap = TraitConfig.load(root / "snapshot.json", environ=env)
        plain = {}
        for trait, key, model, tenant in queries:  # the same answers in nested dicts: the floor
            plain.setdefault(trait, {}).setdefault(model, {}).setdefault(tenant, {})[key] = \
                toml.get(trait, key, model, tenant)
            snap.get(trait, key, model, tenant)  # warm both caches: steady state is what apps see

        def plain_get(trait, key, model=None, tenant=None, default=None):
            return plain[trait][model][tenant].get(key, default)

        base = _rate(plain_get, queries)
        _print_rate("plain nested dict lookup", base)
        _print_rate("TraitConfig.get (TOML)", _rate(toml.get, queries), base)
        _print_rate("TraitConfig.get (snapshot)", _rate(snap.get, queries), base)

        flags = Flags.load(root / "snapshot.json", environ=env)
        subjects = genconfig.subjects(20_000)
        names = [n for n in spec.flags if n.startswith(("crc32-p", "flagd-p", "unleash-p"))]
        tenants = [None] + spec.flag_tenants
        rng = random.Random(5)
        evals = [(rng.choice(names), s, rng.choice(tenants)) for s in subjects]
        for name, user, tenant in evals:
            flags.is_enabled(name, user, tenant)
        _print_rate("Flags.is_enabled (snapshot, user flags)", _rate(flags.is_enabled, evals))

        report("traitctl export --format json (end to end)", time_command(export, ROUNDS, cwd=str(root)))
        if importlib.util.find_spec("traitctl.engine.export_laravel") is not None:
            (root / "laravel").mkdir()
            laravel = [sys.executable, "-m", "traitctl", "export", "-f", "laravel", "-o", str(root / "laravel"),
                       "--allow-lossy"]
            report("traitctl export --format laravel (end to end)", time_command(laravel, ROUNDS, cwd=str(root)))
        else:
            print("traitctl export --format laravel: the Laravel renderer is not part of this build")
        baseline = [sys.executable, "-c", "import traitctl.cli"]
        report("python -c 'import traitctl.cli' (start-up floor)", time_command(baseline, ROUNDS, cwd=str(root)))


if __name__ == "__main__":
    main()
