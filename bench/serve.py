"""Benchmark of ``traitctl serve``: server time per page and per API call (median of client wall
times over HTTP on 127.0.0.1), on a generated application of 300 models, 40 traits and 40 tenants
(one file each) with a metrics store of many points; and the server's memory (psutil RSS) after
1,000 requests against after 100.

Baseline in the same run: a static file (``/static/app.css``) through the same server, auth and
headers; memory is compared with itself (after 1,000 vs after 100 requests).

    python bench/serve.py                      # 1M points (the build takes about a minute)
    python bench/serve.py --points 10000000    # the 10M-point store (builds once with --keep DIR)
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from metrics import TRAITS, build_store  # noqa: E402  (bench/metrics.py fills the store)

TOKEN = "bench-token-0123456789abcdef"
ROUTES = ["/", "/traits", "/trait?name=Trait07&tenant=t05", "/model?name=Model0042&tenant=t05", "/flags",
          "/flags/eval?flag=flag03&user=42&tenant=t05", "/jobs", "/charts?since=1h", "/charts?since=24h",
          "/history", "/health", "/metrics"]
APIS = ["/api/overview", "/api/traits", "/api/flags", "/api/jobs", "/api/charts?since=24h", "/api/history"]


def generate(folder: Path, models: int = 300, tenants: int = 40) -> None:
    """PHP source of ``models`` models over the 40 traits, their [traits] tables, ``tenants`` tenant files."""
    traits_dir = folder / "src" / "Traits"
    traits_dir.mkdir(parents=True, exist_ok=True)
    for name in TRAITS:
        (traits_dir / f"{name}.php").write_text(
            f"<?php\nnamespace App\\Traits;\n\ntrait {name}\n{{\n    public function {name.lower()}Op() {{}}\n}}\n")
    models_dir = folder / "src" / "Models"
    models_dir.mkdir(parents=True, exist_ok=True)
    for i in range(models):
        uses = [TRAITS[(i + k * 7) % 40] for k in range(4)]
        imports = "".join(f"use App\\Traits\\{t};\n" for t in uses)
        (models_dir / f"Model{i:04d}.php").write_text(
            f"<?php\nnamespace App\\Models;\n\n{imports}use Illuminate\\Database\\Eloquent\\Model;\n\n"
            f"class Model{i:04d} extends Model\n{{\n    use {', '.join(uses)};\n}}\n")
    config = folder / "config"
    (config / "tenants").mkdir(parents=True, exist_ok=True)
    lines = ['[traitctl]\nstore = "sqlite:///../store.db"\nsource = ["../src"]\n',
             "[telemetry.server]\ncpu_percent = { warning = 100, critical = 100 }\n"
             "load_per_core = { warning = 1000, critical = 1000 }\n"]
    for name in TRAITS:
        lines.append(f"[traits.{name}]\nttl = 60\nenabled = true\n\n[traits.{name}.schema]\n"
                     f'ttl = {{ type = "integer", default = 30, min = 1 }}\n')
    for i in range(0, models, 3):
        lines.append(f"[models.'App\\Models\\Model{i:04d}'.{TRAITS[i % 40]}]\nttl = {100 + i}\n")
    for k in range(8):
        lines.append(f'[flags.flag{k:02d}]\nenabled = true\npercentage = {k * 12}\ncreated = 2026-11-01\n')
    (config / "traits.toml").write_text("\n".join(lines))
    for t in range(tenants):
        (config / "tenants" / f"t{t:02d}.toml").write_text(
            f'name = "Tenant {t}"\n\n[traits.{TRAITS[t % 40]}]\nttl = {200 + t}\n')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(base: str, path: str) -> float:
    request = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {TOKEN}"})
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            response.read()
    except urllib.error.HTTPError as exc:  # /health answers 503 when a check fails: still timed
        if exc.code != 503:
            raise SystemExit(f"{path}: HTTP {exc.code}: {exc.read()[:300]!r}")
    return time.perf_counter() - start


def start_server(folder: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = dict(os.environ, TRAITCTL_SERVE_TOKEN=TOKEN, NO_COLOR="1")
    proc = subprocess.Popen([sys.executable, "-m", "traitctl", "serve", "--port", str(port)], cwd=folder, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            get(base, "/static/app.css")
            return proc, base
        except (OSError, SystemExit):
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"traitctl serve did not start: {proc.stderr.read().decode()[:500]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=1_000_000, help="metric points in the store (10M: the issue's)")
    parser.add_argument("--runs", type=int, default=7, help="timed requests per route")
    parser.add_argument("--keep", type=Path, help="build (or reuse) the project in this folder")
    args = parser.parse_args()
    import psutil

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        if not (folder / "config" / "traits.toml").exists():
            generate(folder)
        build_store(folder, args.points)
        proc, base = start_server(folder)
        try:
            for path in ROUTES + APIS:
                get(base, path)  # warm-up: the inventory cache, the queue file
            base_times = [get(base, "/static/app.css") for _ in range(args.runs * 3)]
            baseline = statistics.median(base_times)
            print(f"300 models, 40 traits, 40 tenant files, {args.points:,} metric points; "
                  f"median of {args.runs} requests each")
            print(f"{'baseline /static/app.css':<46} median {baseline * 1000:8.1f} ms")
            for path in ROUTES + APIS:
                times = [get(base, path) for _ in range(args.runs)]
                median = statistics.median(times)
                print(f"{path:<46} median {median * 1000:8.1f} ms  ratio {median / baseline:6.1f}x")
            server = psutil.Process(proc.pid)
            cheap = ["/api/flags", "/api/history", "/flags", "/history", "/api/jobs"]
            done = 0
            while done < 100:
                get(base, cheap[done % len(cheap)])
                done += 1
            rss_100 = server.memory_info().rss
            while done < 1000:
                get(base, cheap[done % len(cheap)])
                done += 1
            rss_1000 = server.memory_info().rss
            print(f"server RSS after 100 requests {rss_100 / 2**20:.1f} MiB, after 1,000 {rss_1000 / 2**20:.1f} MiB, "
                  f"ratio {rss_1000 / rss_100:.3f}")
        finally:
            proc.terminate()
            proc.wait(timeout=20)


if __name__ == "__main__":
    main()
