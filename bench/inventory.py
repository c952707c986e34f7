"""Benchmark ``traitctl inventory``: cold and warm scans against a plain read (``cat``) of the same files.

Usage::

    python bench/inventory.py [--files 5000] [--runs 3] [--tree PATH ...] [--no-generated]

For each tree (a generated Laravel-style tree of ``--files`` PHP files, plus every ``--tree``, e.g. a
checkout of laravel/framework kept outside the repository) it prints, as medians of ``--runs``:

* ``cat``: ``xargs cat`` of every scanned file to /dev/null (the baseline, measured right before
  each of the other measurements, so machine load hits both alike);
* ``cold jobs=1`` / ``cold jobs=2``: :func:`traitctl.scan.scan` with an empty cache (serial, two workers);
* ``warm``: the same scan once the store's cache holds every file (the whole inventory is reused);
* ``1 changed`` (generated tree only): a warm scan after one file was edited (it alone is parsed,
  the inventory is rebuilt from the cached facts of the others);
* ``cli warm``: ``traitctl inventory PATH --json`` end to end (process start included);

with ms per file, files per second, the ratio to ``cat`` and the peak RSS of the measuring process.
Each measurement runs in a fresh child process so its peak memory is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


# -- the generated tree -------------------------------------------------------------------------
def generate(folder: Path, files: int, seed: int = 5000) -> Path:
    """A Laravel-style tree: 4% traits (some using others), 30% models (some through an app base
    model, some with insteadof blocks and overrides), the rest services; ~150 lines per file."""
    rng = random.Random(seed)
    app = folder / "app"
    n_traits = max(4, files * 4 // 100)
    n_models = files * 30 // 100
    for i in range(files):
        sub = app / f"Group{i // 100:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        if i < n_traits:
            text = _trait(i, rng, n_traits)
        elif i < n_traits + n_models:
            text = _model(i, rng, n_traits)
        else:
            text = _service(i, rng)
        (sub / f"File{i:05d}.php").write_text(text)
    return app


def _methods(rng: random.Random, count: int, prefix: str) -> str:
    body = []
    for m in range(count):
        body.append(f"""
    /**
     * {prefix} method {m}: documented like real code, with a string holding "}}" and ")".
     */
    public function {prefix}Method{m}(array $items = [], ?string $label = null): array
    {{
        $out = [];
        foreach ($items as $key => $value) {{
            if ($value === null) {{
                continue;
            }}
            $out[$key] = "{{$label}}: {{$value}} (done)";
        }}
        return array_filter($out, fn ($v) => $v !== '');
    }}
""")
    return "".join(body)


def _trait(i: int, rng: random.Random, n_traits: int) -> str:
    uses = f"    use Trait{rng.randrange(i)};\n" if i and rng.random() < 0.3 else ""
    return (f"<?php\n\nnamespace App\\Group{i // 100:03d};\n\n"
            + f"trait Trait{i}\n{{\n{uses}"
            + f"    public static function bootTrait{i}(): void\n    {{\n    }}\n\n"
            + f"    public function scopeActive{i}($query)\n    {{\n        return $query;\n    }}\n"
            + f"    public function shared(): string\n    {{\n        return 'trait{i}';\n    }}\n"
            + _methods(rng, 5, f"t{i}") + "}\n")


def _model(i: int, rng: random.Random, n_traits: int) -> str:
    traits = sorted({rng.randrange(n_traits) for _ in range(rng.randint(1, 4))})
    imports = "".join(f"use App\\Group{t // 100:03d}\\Trait{t};\n" for t in traits)
    names = ", ".join(f"Trait{t}" for t in traits)
    block = ""
    if len(traits) > 1:
        a, b = traits[0], traits[1]
        block = f" {{\n        Trait{a}::shared insteadof Trait{b};\n        Trait{b}::shared as sharedB;\n    }}"
    else:
        names += ";"
    override = "    public function shared(): string\n    {\n        return 'custom';\n    }\n" if rng.random() < 0.2 else ""
    return (f"<?php\n\nnamespace App\\Group{i // 100:03d};\n\nuse Illuminate\\Database\\Eloquent\\Model;\n"
            f"use Illuminate\\Database\\Eloquent\\SoftDeletes;\n{imports}\n"
            f"class Model{i} extends Model\n{{\n    use SoftDeletes;\n    use {names}{block}\n\n"
            f"    protected $fillable = ['name', 'status'];\n\n{override}"
            + _methods(rng, 6, f"m{i}") + "}\n")


def _service(i: int, rng: random.Random) -> str:
    return (f"<?php\n\nnamespace App\\Group{i // 100:03d};\n\n"
            f"final class Service{i}\n{{\n    public function __construct(private readonly array $config = [])\n    {{\n    }}\n"
            + _methods(rng, 7, f"s{i}") + "}\n")


# -- measurements -------------------------------------------------------------------------------
def child(args: argparse.Namespace) -> None:
    """Run one scan in this process and print its time and peak RSS as JSON."""
    sys.path.insert(0, str(ROOT))
    from traitctl.scan import scan
    from traitctl.store.db import Store

    store = Store.open(f"sqlite:///{args.store}")
    start = time.perf_counter()
    inv = scan([Path(args.tree[0])], store=store, use_cache=args.warm, jobs=args.jobs)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    store.close()
    print(json.dumps({"seconds": seconds, "peak_mb": peak, "files": inv.files, "traits": len(inv.traits),
                      "models": len(inv.models)}))


def _run_child(tree: Path, store: Path, *, warm: bool, jobs: int) -> dict:
    cmd = [sys.executable, __file__, "--child", "--tree", str(tree), "--store", str(store), "--jobs", str(jobs)]
    if warm:
        cmd.append("--warm")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def _cat(paths: list[str]) -> float:
    data = "\0".join(paths).encode()
    start = time.perf_counter()
    subprocess.run(["xargs", "-0", "cat"], input=data, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def _cli(tree: Path, store: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "traitctl", "--store", f"sqlite:///{store}", "inventory", str(tree), "--json"],
                   cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def measure(tree: Path, runs: int, work: Path, *, editable: bool = False) -> dict:
    """Every measurement of one tree; ``cat`` runs right before each one (interleaved), so a change
    of machine load hits the baseline and the scans alike. ``editable``: the tree may be changed
    (the generated one), which adds ``changed``: a warm scan after one file was edited."""
    sys.path.insert(0, str(ROOT))
    from traitctl.scan import collect

    paths = [f.path for f in collect([tree])]
    result: dict = {"tree": str(tree), "files": len(paths), "load": [os.getloadavg()[0]],
                    "lines": sum(Path(p).read_bytes().count(b"\n") for p in paths)}
    cats: list[float] = []
    _cat(paths)  # the page cache holds every file from here on, as it does for the scans

    def sample(measurement):
        cats.append(_cat(paths))
        return measurement()

    for jobs in (1, 2):
        result[f"cold{jobs}"] = _median([sample(lambda: _run_child(tree, work / f"cold-{jobs}-{r}.db", warm=False,
                                                                  jobs=jobs)) for r in range(runs)])
    warm_store = work / "cold-1-0.db"
    result["warm"] = _median([sample(lambda: _run_child(tree, warm_store, warm=True, jobs=1))
                              for _ in range(max(runs, 3))])
    if editable:
        result["changed"] = _median([sample(lambda: _run_changed(tree, warm_store, paths[len(paths) // 2], n))
                                     for n in range(max(runs, 3))])
    _cli(tree, warm_store)  # the CLI's own store schema/warm-up
    result["cli_warm"] = statistics.median(sample(lambda: _cli(tree, warm_store)) for _ in range(max(runs, 3)))
    result["cat"] = statistics.median(cats)
    result["load"].append(os.getloadavg()[0])
    return result


def _run_changed(tree: Path, store: Path, path: str, n: int) -> dict:
    """A warm scan after appending a comment to one file (it alone is parsed again)."""
    with open(path, "a") as fh:
        fh.write(f"\n// edit {n}\n")
    return _run_child(tree, store, warm=True, jobs=1)


def _median(samples: list[dict]) -> dict:
    return {"seconds": statistics.median(s["seconds"] for s in samples),
            "peak_mb": max(s["peak_mb"] for s in samples), "traits": samples[0]["traits"],
            "models": samples[0]["models"]}


def report(r: dict) -> None:
    files, cat = r["files"], r["cat"]
    print(f"\n{r['tree']}: {files} files, {r['lines']} lines; {r['cold1']['traits']} traits, "
          f"{r['cold1']['models']} models; load average {r['load'][0]:.1f} before, {r['load'][1]:.1f} after")
    print(f"  {'measure':<14}{'median s':>10}{'ms/file':>10}{'files/s':>10}{'x cat':>9}{'peak MB':>10}")
    rows = [("cat", cat, None), ("cold jobs=1", r["cold1"]["seconds"], r["cold1"]["peak_mb"]),
            ("cold jobs=2", r["cold2"]["seconds"], r["cold2"]["peak_mb"]),
            ("warm", r["warm"]["seconds"], r["warm"]["peak_mb"])]
    if "changed" in r:
        rows.append(("1 changed", r["changed"]["seconds"], r["changed"]["peak_mb"]))
    rows.append(("cli warm", r["cli_warm"], None))
    for name, seconds, peak in rows:
        peak_text = f"{peak:10.0f}" if peak else f"{'':>10}"
        print(f"  {name:<14}{seconds:10.3f}{1000 * seconds / files:10.3f}{files / seconds:10.0f}"
              f"{seconds / cat:9.1f}{peak_text}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tree", action="append", default=[], help="An existing source tree to measure too.")
    parser.add_argument("--no-generated", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    parser.add_argument("--warm", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--jobs", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)
    work = Path(tempfile.mkdtemp(prefix="traitctl-bench-"))
    try:
        trees = [Path(t) for t in args.tree]
        if not args.no_generated:
            trees.insert(0, generate(work / "generated", args.files))
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; "
              f"medians of {args.runs} runs")
        for tree in trees:
            scratch = work / f"stores-{trees.index(tree)}"
            scratch.mkdir()
            report(measure(tree, args.runs, scratch, editable=not args.no_generated and tree == trees[0]))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
