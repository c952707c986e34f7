"""PHP runtime speed: ``Traitctl\\TraitConfig::get`` and ``Traitctl\\FeatureFlags::isEnabled`` per
second on the generated configuration (tests/runtime/genconfig.py, exported with ``traitctl export
--format laravel``), against a plain nested-array lookup and against the seeds' logic
(``TraitConfig::get`` through ``Config::get`` dot keys, ``FeatureFlagService::isEnabled``) in the same
PHP run. Prints the median of 7 rounds and the ratios. Goal: >= 0.5x the plain lookup.

    python bench/runtime_php.py [--opcache | --jit]

With no option, PHP runs as the CLI does by default (no opcache). ``--opcache``: opcache on, JIT off, as
php-fpm runs by default. ``--jit``: opcache with the tracing JIT, as many deployments run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "runtime"))

PHP = r"""<?php
declare(strict_types=1);
require $argv[1] . '/integrations/laravel/autoload.php';
require_once 'Illuminate/Config/autoload.php';
require_once $argv[1] . '/tests/laravel/fixtures/SeedFeatureFlagService.php';
$dir = $argv[2];
$traits = require "$dir/traits.php";
$flagsFile = require "$dir/feature_flags.php";
$q = json_decode(file_get_contents("$dir/queries.json"), true);
$repo = new Illuminate\Config\Repository(['traits' => $traits, 'feature_flags' => $flagsFile]);
$GLOBALS['seed_config'] = $repo;
$config = new Traitctl\TraitConfig($traits);
$flags = new Traitctl\FeatureFlags($flagsFile);
$seed = new App\Services\FeatureFlagService();
final class Subject {
    public function __construct(private string $id) {}
    public function getFeatureFlagSeed(string $feature): string { return "{$feature}:{$this->id}"; }
}
$lookups = $q['lookups']; $evals = $q['evals'];
$contexts = array_map(fn ($e) => new Subject((string) $e[1]), $evals);
$n = count($lookups); $m = count($evals);
$rounds = ['plain lookup' => [], 'TraitConfig::get' => [], 'seeds TraitConfig (Config::get)' => [],
           'plain flag lookup' => [], 'FeatureFlags::isEnabled' => [], 'seeds FeatureFlagService' => []];
for ($r = 0; $r < 7; $r++) {
    $t = hrtime(true);
    foreach ($lookups as [$trait, $key, $model, $tenant]) { $v = $traits[$trait][$key] ?? null; }
    $rounds['plain lookup'][] = $n / ((hrtime(true) - $t) / 1e9);
    $t = hrtime(true);
    foreach ($lookups as [$trait, $key, $model, $tenant]) { $v = $config->get($trait, $key, $model, $tenant); }
    $rounds['TraitConfig::get'][] = $n / ((hrtime(true) - $t) / 1e9);
    $t = hrtime(true);
    foreach ($lookups as [$trait, $key, $model, $tenant]) {
        $v = $repo->get("traits.{$trait}.{$key}");
        if ($tenant !== null && $repo->get('traits.multi_tenancy.enabled')) {
            $o = $repo->get("traits.tenant_overrides.{$tenant}.{$trait}.{$key}");
            if ($o !== null) { $v = $o; }
        }
    }
    $rounds['seeds TraitConfig (Config::get)'][] = $n / ((hrtime(true) - $t) / 1e9);
    $features = $flagsFile['features'];
    $t = hrtime(true);
    foreach ($evals as [$flag, $user, $tenant]) { $v = $features[$flag] ?? false; }
    $rounds['plain flag lookup'][] = $m / ((hrtime(true) - $t) / 1e9);
    $t = hrtime(true);
    foreach ($evals as [$flag, $user, $tenant]) { $v = $flags->isEnabled($flag, $user, $tenant); }
    $rounds['FeatureFlags::isEnabled'][] = $m / ((hrtime(true) - $t) / 1e9);
    $t = hrtime(true);
    foreach ($evals as $i => [$flag, $user, $tenant]) { $v = $seed->isEnabled($flag, $contexts[$i]); }
    $rounds['seeds FeatureFlagService'][] = $m / ((hrtime(true) - $t) / 1e9);
}
$out = [];
foreach ($rounds as $name => $values) { sort($values); $out[$name] = $values[3]; }
echo json_encode($out);
"""


def main() -> None:
    import random

    import genconfig

    jit = "--jit" in sys.argv
    opcache = "--opcache" in sys.argv
    with tempfile.TemporaryDirectory() as tmp:
        spec = genconfig.write(Path(tmp))
        out = Path(tmp) / "out"
        out.mkdir()
        proc = subprocess.run([sys.executable, "-m", "traitctl", "export", "--format", "laravel", "--out", str(out),
                               "--allow-lossy"], cwd=spec.config.parent, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"export failed: {proc.stderr.strip()[:500]}")
        rng = random.Random(5)
        queries = list(spec.queries())
        lookups = [list(rng.choice(queries)) for _ in range(200_000)]
        # user-sticky flags the seeds' shape can hold (crc32 family, not flagd generations)
        names = [f for f in spec.flags if f.startswith("crc32")]
        evals = [[rng.choice(names), f"user-{rng.randrange(100_000)}", rng.choice([None] + spec.flag_tenants)]
                 for _ in range(200_000)]
        (out / "queries.json").write_text(json.dumps({"lookups": lookups, "evals": evals}))
        script = out / "bench.php"
        script.write_text(PHP)
        flags = ["-d", "opcache.enable_cli=1", "-d", "opcache.jit=tracing", "-d", "opcache.jit_buffer_size=64M"] \
            if jit else ["-d", "opcache.enable_cli=1", "-d", "opcache.jit_buffer_size=0"] if opcache else []
        load_before = os.getloadavg()[0]
        proc = subprocess.run(["php", *flags, str(script), str(ROOT), str(out)], capture_output=True, text=True)
        load_after = os.getloadavg()[0]
        if proc.returncode != 0:
            sys.exit(f"php failed: {proc.stderr.strip()[:800]}")
        result = json.loads(proc.stdout)
    mode = "opcache JIT" if jit else "opcache, no JIT" if opcache else "no opcache, no JIT"
    print(f"PHP ({mode}): median of 7 rounds, 200,000 calls each "
          f"(load average {load_before:.2f} before, {load_after:.2f} after, {os.cpu_count()} cores)")
    for name, per_second in result.items():
        base = result["plain lookup"] if "flag" not in name.lower() and "Feature" not in name else \
            result["plain flag lookup"]
        print(f"  {name:<34} {per_second / 1e6:7.2f} M/s   {per_second / base:5.2f}x the plain lookup")
    print(f"  FeatureFlags::isEnabled / seeds FeatureFlagService: "
          f"{result['FeatureFlags::isEnabled'] / result['seeds FeatureFlagService']:.2f}x")
    print(f"  TraitConfig::get / seeds TraitConfig (Config::get): "
          f"{result['TraitConfig::get'] / result['seeds TraitConfig (Config::get)']:.2f}x")


if __name__ == "__main__":
    main()
