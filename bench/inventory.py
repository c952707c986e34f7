"""Benchmark ``traitctl inventory``: cold and warm scans against a plain read (``cat``) of the same files.

Usage::

    python bench/inventory.py [--files 5000] [--runs 3] [--tree PATH ...] [--no-generated] [--lib PATH ...]

For each tree (a generated Laravel-style tree of ``--files`` PHP files, plus every ``--tree``, e.g. a
checkout of laravel/framework or an unpacked ``django/contrib`` kept outside the repository; each is
copied to a scratch folder first, so one file can be changed) it prints, as medians of ``--runs``:

* ``cat``: ``xargs cat`` of every scanned file to /dev/null (the baseline, measured right before
  each of the other measurements, so machine load hits both alike);
* ``php tokenize`` (when ``php`` is on PATH and the tree has PHP files): ``bench/php_tokenize.php``,
  ``PhpToken::tokenize`` over every PHP file with a minimal declaration scan, in one PHP process
  (the second baseline: what a tokenizer-based scan written in PHP costs);
* ``cold jobs=1`` / ``cold jobs=2``: :func:`traitctl.scan.scan` with an empty cache (serial; two
  processes parsing, the scanning one included);
* ``warm``: the same scan once the store's cache holds every file (the whole inventory is reused);
* ``1 changed``: a warm scan after one file was edited (it alone is parsed, the inventory is
  rebuilt from the cached facts of the others);
* ``cold --lib`` / ``warm --lib`` (with ``--lib``): the cold and warm scans with those library trees;
* ``cli warm``: ``traitctl inventory PATH --json`` end to end (process start included);

with ms per file, files per second, the ratios to ``cat`` and to the tokenizer scan (wall time,
and CPU time: ``cpu x tok``), the CPU seconds of the measuring process and its parsing processes
(wall time on shared CPUs follows their load; CPU time much less) and its peak RSS. Each measurement runs in a fresh child process so its peak memory is its own.
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
    start, cpu = time.perf_counter(), _cpu()
    inv = scan([Path(args.tree[0])], store=store, use_cache=args.warm, jobs=args.jobs,
               libraries=[Path(lib) for lib in args.lib])
    seconds, cpu = time.perf_counter() - start, _cpu() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    store.close()
    print(json.dumps({"seconds": seconds, "cpu": cpu, "peak_mb": peak, "files": inv.files,
                      "traits": len(inv.traits), "models": len(inv.models)}))


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the parsing workers)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _run_child(tree: Path, store: Path, *, warm: bool, jobs: int, libs: list[str] = ()) -> dict:
    cmd = [sys.executable, __file__, "--child", "--tree", str(tree), "--store", str(store), "--jobs", str(jobs)]
    cmd += [f"--lib={lib}" for lib in libs]
    if warm:
        cmd.append("--warm")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def _cat(paths: list[str]) -> float:
    data = "\0".join(paths).encode()
    start = time.perf_counter()
    subprocess.run(["xargs", "-0", "cat"], input=data, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def _tokenize(paths: list[str]) -> dict | None:
    """The PHP tokenizer scan of the PHP files (``None`` without ``php`` or PHP files)."""
    php = [p for p in paths if p.endswith(".php")]
    if not php or shutil.which("php") is None:
        return None
    start = time.perf_counter()
    out = subprocess.run(["php", "-d", "memory_limit=-1", str(ROOT / "bench" / "php_tokenize.php")],
                         input="\n".join(php) + "\n", capture_output=True, text=True, check=True).stdout
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "cpu": json.loads(out)["cpu"]}


def _cli(tree: Path, store: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "traitctl", "--store", f"sqlite:///{store}", "inventory", str(tree), "--json"],
                   cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def measure(tree: Path, runs: int, work: Path, *, libs: list[str] = ()) -> dict:
    """Every measurement of one tree (a scratch copy: ``changed`` edits one of its files); ``cat``
    runs right before each one (interleaved), so a change of machine load hits the baseline and the
    scans alike."""
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

    tokenized = [t for t in (sample(lambda: _tokenize(paths)) for _ in range(runs)) if t]
    if tokenized:
        result["tokenize"] = {"seconds": statistics.median(t["seconds"] for t in tokenized),
                              "cpu": statistics.median(t["cpu"] for t in tokenized)}
    for jobs in (1, 2):
        result[f"cold{jobs}"] = _median([sample(lambda: _run_child(tree, work / f"cold-{jobs}-{r}.db", warm=False,
                                                                  jobs=jobs)) for r in range(runs)])
    warm_store = work / "cold-1-0.db"
    result["warm"] = _median([sample(lambda: _run_child(tree, warm_store, warm=True, jobs=1))
                              for _ in range(max(runs, 3))])
    result["changed"] = _median([sample(lambda: _run_changed(tree, warm_store, paths[len(paths) // 2], n))
                                 for n in range(max(runs, 3))])
    if libs:
        result["cold_lib"] = _median([sample(lambda: _run_child(tree, work / f"lib-{r}.db", warm=False, jobs=1,
                                                                libs=libs)) for r in range(runs)])
        result["warm_lib"] = _median([sample(lambda: _run_child(tree, work / "lib-0.db", warm=True, jobs=1,
                                                                libs=libs)) for _ in range(max(runs, 3))])
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
            "cpu": statistics.median(s["cpu"] for s in samples),
            "peak_mb": max(s["peak_mb"] for s in samples), "traits": samples[0]["traits"],
            "models": samples[0]["models"]}


def report(r: dict) -> None:
    files, cat = r["files"], r["cat"]
    tok = r.get("tokenize", {}).get("seconds")
    tok_cpu = r.get("tokenize", {}).get("cpu")
    print(f"\n{r['tree']}: {files} files, {r['lines']} lines; {r['cold1']['traits']} traits, "
          f"{r['cold1']['models']} models; load average {r['load'][0]:.1f} before, {r['load'][1]:.1f} after")
    print(f"  {'measure':<14}{'median s':>10}{'cpu s':>8}{'ms/file':>10}{'files/s':>10}{'x cat':>8}"
          f"{'x tok':>8}{'cpu x tok':>10}{'peak MB':>9}")
    rows = [("cat", cat, None, None)]
    if "tokenize" in r:
        rows.append(("php tokenize", tok, tok_cpu, None))
    names = [("cold jobs=1", "cold1"), ("cold jobs=2", "cold2"), ("warm", "warm"), ("1 changed", "changed"),
             ("cold --lib", "cold_lib"), ("warm --lib", "warm_lib")]
    rows += [(name, r[key]["seconds"], r[key]["cpu"], r[key]["peak_mb"]) for name, key in names if key in r]
    rows.append(("cli warm", r["cli_warm"], None, None))
    for name, seconds, cpu, peak in rows:
        cpu_text = f"{cpu:8.2f}" if cpu is not None else f"{'':>8}"
        tok_text = f"{seconds / tok:8.2f}" if tok else f"{'':>8}"
        tok_cpu_text = f"{cpu / tok_cpu:10.2f}" if tok_cpu and cpu is not None else f"{'':>10}"
        peak_text = f"{peak:9.0f}" if peak else f"{'':>9}"
        print(f"  {name:<14}{seconds:10.3f}{cpu_text}{1000 * seconds / files:10.3f}{files / seconds:10.0f}"
              f"{seconds / cat:8.1f}{tok_text}{tok_cpu_text}{peak_text}")


def _copy_tree(given: Path, into: Path) -> Path:
    """Copy ``given`` below ``into``, with the ``__init__.py`` of every package above it, so its
    Python module names stay what they are (``django/contrib`` stays ``django.contrib``)."""
    top = given
    while (top.parent / "__init__.py").is_file():
        top = top.parent
    target = into / given.relative_to(top.parent)
    shutil.copytree(given, target, symlinks=True)
    package = given.parent
    while package != top.parent:
        shutil.copy2(package / "__init__.py", into / package.relative_to(top.parent) / "__init__.py")
        package = package.parent
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tree", action="append", default=[], help="An existing source tree to measure too.")
    parser.add_argument("--no-generated", action="store_true")
    parser.add_argument("--lib", action="append", default=[], help="A library tree (measured cold and warm too).")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    parser.add_argument("--warm", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--jobs", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)
    work = Path(tempfile.mkdtemp(prefix="traitctl-bench-"))
    try:
        trees = []
        for index, given in enumerate(args.tree):  # a copy: `1 changed` edits one of its files
            trees.append(_copy_tree(Path(given).resolve(), work / f"tree-{index}"))
        if not args.no_generated:
            trees.insert(0, generate(work / "generated", args.files))
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; "
              f"medians of {args.runs} runs")
        for tree in trees:
            scratch = work / f"stores-{trees.index(tree)}"
            scratch.mkdir()
            report(measure(tree, args.runs, scratch, libs=[str(Path(lib).resolve()) for lib in args.lib]))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
