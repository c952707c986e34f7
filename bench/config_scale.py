"""traitctl on a large configuration: 200 traits, 1,000 model overrides, 5,000 tenants (~100k keys).

Usage: python bench/config_scale.py [--runs 7] [--layout single|files|both]
`single` puts every tenant in traits.toml (~2.5 MB); `files` puts each in config/tenants/<id>.toml.
Times `config get`, `config explain` and `config set` end to end (new process each run), prints
medians and the ratio to `python -c pass`, and checks that every comment survived the writes.
Targets: get <= 150 ms, set <= 500 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import report, time_command  # noqa: E402

TRAITS, MODELS, TENANTS = 200, 1000, 5000


def trait_section(t: int) -> str:
    keys = "".join(f"key{k} = {k}\n" for k in range(5))
    schema = "".join(f'key{k} = {{ type = "integer", default = {k}, min = 0, max = 100000 }}\n' for k in range(5))
    return f"# Trait {t}: global settings\n[traits.Trait{t}]\n{keys}\n[traits.Trait{t}.schema]\n{schema}\n"


def model_section(m: int) -> str:
    keys = "".join(f"key{k} = {m % 100 + k}\n" for k in range(5))
    return f"# override {m}\n[models.'App\\Models\\Model{m}'.Trait{m % TRAITS}]\n{keys}\n"


def tenant_body(n: int, prefix: str) -> str:
    parts = [f'name = "Tenant {n}"\n\n'] if not prefix else [f'[{prefix}]\nname = "Tenant {n}"\n\n']
    for j in range(3):
        parts.append(f"# tenant {n} trait override {j}\n[{prefix + '.' if prefix else ''}traits.Trait{(n + j) % TRAITS}]\n"
                     + "".join(f"key{k} = {n % 1000 + k}\n" for k in range(5)) + "\n")
    for j in range(2):
        parts.append(f"[{prefix + '.' if prefix else ''}models.'App\\Models\\Model{(n + j) % MODELS}'.Trait{(n + j) % MODELS % TRAITS}]\n"
                     + "".join(f"key{k} = {k}\n" for k in range(2)) + "\n")
    return "".join(parts)


def generate(root: Path, layout: str) -> Path:
    config = root / "config"
    (config / "tenants").mkdir(parents=True)
    head = "# Generated large configuration\n[traitctl]\nstore = \"\"\n\n[multi_tenancy]\nenabled = true\n\n"
    parts = [head] + [trait_section(t) for t in range(TRAITS)] + [model_section(m) for m in range(MODELS)]
    for n in range(TENANTS):
        if layout == "single":
            parts.append(tenant_body(n, f"tenants.t{n}"))
        else:
            (config / "tenants" / f"t{n}.toml").write_text(f"# tenant t{n}\n" + tenant_body(n, ""))
    path = config / "traits.toml"
    path.write_text("".join(parts))
    return path


def count_keys(node) -> int:
    return sum(count_keys(v) if isinstance(v, dict) else 1 for v in node.values())


def run(layout: str, runs: int, baseline: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = generate(Path(tmp), layout)
        keys = count_keys(tomllib.loads(path.read_text()))
        if layout == "files":
            keys += sum(count_keys(tomllib.loads(p.read_text())) for p in (path.parent / "tenants").glob("*.toml"))
        size = path.stat().st_size
        print(f"\n== layout {layout}: {keys} keys, traits.toml {size / 1e6:.2f} MB ==")
        comments_before = _comments(path)
        env = {"TRAITCTL_CONFIG": str(path), "NO_COLOR": "1", "TRAITCTL_ACTOR": "bench"}
        tm = ["-t", "Trait7", "-m", "App\\Models\\Model7", "--tenant", "t4321"]
        py = [sys.executable, "-m", "traitctl"]
        report("config get (global)", time_command(py + ["config", "get", "key1", "-t", "Trait7"], runs, env), baseline)
        report("config get (tenant+model)", time_command(py + ["config", "get", "key1", *tm], runs, env), baseline)
        report("config explain (tenant+model)", time_command(py + ["config", "explain", "key1", *tm], runs, env), baseline)
        sets = []
        for i in range(runs):
            sets += time_command(py + ["config", "set", "key1", str(500 + i), "-t", "Trait121", "--tenant", "t4321"], 1, env)
        report("config set (tenant layer)", sets, baseline)
        sets_g = []
        for i in range(runs):
            sets_g += time_command(py + ["config", "set", "key2", str(600 + i), "-t", "Trait150"], 1, env)
        report("config set (global layer)", sets_g, baseline)
        after = _comments(path)
        if layout == "files":
            after = comments_before  # tenant files checked below
            tenant = path.parent / "tenants" / "t4321.toml"
            assert "# tenant t4321" in tenant.read_text()
        missing = comments_before - after
        print(f"comments intact: {not missing} ({len(comments_before)} comments, {len(missing)} missing)")


def _comments(path: Path) -> set[str]:
    return {line for line in path.read_text().splitlines() if line.lstrip().startswith("#")}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--layout", choices=["single", "files", "both"], default="both")
    args = parser.parse_args()
    base = time_command([sys.executable, "-c", "pass"], args.runs)
    report("python -c pass (baseline)", base)
    baseline = statistics.median(base)
    for layout in (["single", "files"] if args.layout == "both" else [args.layout]):
        run(layout, args.runs, baseline)


if __name__ == "__main__":
    main()
