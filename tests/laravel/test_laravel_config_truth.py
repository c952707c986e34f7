"""Truth test: PHP ``Traitctl\\TraitConfig::get`` on the exported ``traits.php``, loaded through
Laravel's ``Illuminate\\Config\\Repository``, ``traitctl config get --batch`` and Python's
``traitctl.runtime.TraitConfig`` answer every (trait, key, model, tenant) alike, environment
variables included."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from traitctl.engine import config as engine
from traitctl.engine.config import ConfigData, TenantSource
from traitctl.output import to_jsonable

TRAITS, MODELS, TENANTS = 50, 300, 40
KEYS = ("size", "label", "enabled", "mail.from", "opts.x")
#: variables the PHP process and the resolution both see (others named in env tables stay unset).
ENVIRON = {"TC_SET_0": "true", "TC_SET_1": "null", "TC_SET_2": "'quoted'", "TC_SET_3": "123", "TC_SET_4": "(empty)",
           "TC_SET_5": "plain text", "TC_SET_6": "FALSE", "TC_SET_7": "\"dq\""}


def generate(seed: int = 11) -> ConfigData:
    """About 50 traits x 5 keys with schemas, 300 models with overrides, 40 tenants with tenant and
    tenant+model overrides; dotted keys both literal (``"mail.from"``) and nested (``mail = {from}``);
    ``env`` tables with the variable set and unset; non-ASCII and quote-bearing strings."""
    rng = random.Random(seed)
    traits = {f"Trait{t:02d}": _trait(rng, t) for t in range(TRAITS)}
    names = list(traits)
    models = {f"App\\Models\\M{m:03d}": {t: _settings(rng, f"m{m}") for t in rng.sample(names, rng.randint(1, 4))}
              for m in range(MODELS)}
    tenants = {}
    for n in range(TENANTS):
        tid = f"t{n:02d}" if n % 7 else f"tenant.{n}"  # dots in tenant ids too
        doc = {"name": f"Tenant {n}",
               "traits": {t: _settings(rng, f"t{n}") for t in rng.sample(names, rng.randint(0, 6))},
               "models": {m: {t: _settings(rng, f"tm{n}") for t in rng.sample(names, rng.randint(1, 2))}
                          for m in rng.sample(sorted(models), rng.randint(0, 8))}}
        tenants[tid] = TenantSource(tid, "traits.toml", ("tenants", tid), doc)
    main = {"multi_tenancy": {"enabled": True, "column": "tenant_id"}, "traits": traits, "models": models}
    return ConfigData(main=main, main_file="traits.toml", tenants=tenants)


def _trait(rng: random.Random, number: int) -> dict[str, Any]:
    schema = {"size": {"type": "integer", "default": number}, "label": {"type": "string", "default": f"é{number}'s"},
              "enabled": {"type": "boolean", "default": bool(number % 2)}}
    if number % 3:
        schema["mail.from"] = {"type": "string", "default": f"noreply{number}@example.com"}
    if number % 4 == 0:
        schema["opts.x"] = {"type": "float", "default": number / 8}
    return {"schema": schema, **_settings(rng, f"g{number}", full=number % 5 == 0)}


def _settings(rng: random.Random, tag: str, full: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in KEYS:
        if not full and rng.random() < 0.6:
            continue
        value = _value(rng, key, tag)
        if key == "mail.from" and rng.random() < 0.4:
            out["mail"] = {"from": value, "to": f"{tag}@x"}
        elif key == "opts.x" and rng.random() < 0.7:
            out.setdefault("opts", {"x": value, "y": [1, 2]})
        else:
            out[key] = value
    if "mail" in out and "mail.from" not in out and rng.random() < 0.3:
        out["mail.from"] = f"literal-{tag}"  # a literal dotted key wins over the nested one
    keys = [k for k in out if k not in ("mail", "opts")]
    if keys and rng.random() < 0.3:
        key = rng.choice(keys)
        out["env"] = {key: f"TC_SET_{rng.randrange(8)}" if rng.random() < 0.6 else f"TC_UNSET_{rng.randrange(9)}"}
    return out


def _value(rng: random.Random, key: str, tag: str) -> Any:
    if key == "size":
        return rng.choice([0, -3, 2 ** 40, rng.randint(1, 10_000)])
    if key == "enabled":
        return rng.random() < 0.5
    if key == "opts.x":
        return rng.choice([0.1, 1e-7, 2.5, -0.0, 1e300, float(rng.randint(0, 9))])
    return rng.choice([f"{tag}-value", "naïve ✓ 東京", "it's \\ back", "", "a.b.c"])


def _same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b or (a != a and b != b)


PHP_LOOP = r"""
$repo = new Illuminate\Config\Repository(['traits' => require $argv_dir . '/traits.php']);
$config = new Traitctl\TraitConfig($repo->get('traits'));
$input = json_decode(stream_get_contents(STDIN), true, 512, JSON_THROW_ON_ERROR);
$missing = new stdClass();
foreach ($input['traits'] as $trait) {
    foreach ($input['tenants'] as $tenant) {
        $rows = [];
        foreach ($input['models'] as $model) {
            $row = [];
            foreach ($input['keys'] as $key) {
                $v = $config->get($trait, $key, $model, $tenant, $missing);
                $row[] = $v === $missing ? 'missing' : [$v];
            }
            $rows[] = $row;
        }
        echo json_encode($rows, JSON_PRESERVE_ZERO_FRACTION | JSON_UNESCAPED_UNICODE | JSON_THROW_ON_ERROR), "\n";
    }
}
"""


def _write_project(cfg: ConfigData, root: Path) -> Path:
    """``root/config/traits.toml`` holding ``cfg`` (tenants as ``[tenants.<id>]`` tables)."""
    import tomlkit

    doc = dict(cfg.main)
    doc["tenants"] = {tenant: source.doc for tenant, source in cfg.tenants.items()}
    path = root / "config" / "traits.toml"
    path.parent.mkdir(parents=True)
    path.write_text(tomlkit.dumps(doc), encoding="utf-8")
    return path


def _traitctl(*args: str, cwd: Path, env: dict[str, str], **kwargs: Any) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "traitctl", *args], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


def test_every_lookup_agrees_three_ways(php_kit, tmp_path):
    """PHP ``TraitConfig::get`` through ``Illuminate\\Config\\Repository`` on ``traitctl export
    --format laravel``, ``traitctl config get --json --batch`` (one real process) and Python
    ``traitctl.runtime.TraitConfig.get`` on the same ``traits.toml`` agree.

    PHP answers every (trait, key, model, tenant) combination: 50 traits x 5 keys x (300 models + none)
    x (40 tenants + none) = 3,085,250. traitctl and Python answer every distinct situation: the
    combinations whose model has a table of the trait (in the model or the tenant+model layer) or is
    none, and whose tenant has a table of it (the tenant or the tenant+model layer) or is none. Every
    other combination has exactly the layers of one of these (a model without a table: those of no
    model; a tenant without one: those of no tenant), so PHP is compared with traitctl's answer for
    that situation on every combination, and Python with traitctl on every situation.
    """
    from traitctl.runtime import TraitConfig

    cfg = generate()
    root = tmp_path / "project"
    toml = _write_project(cfg, root)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TC_")} | ENVIRON
    out_dir = root / "laravel"
    out_dir.mkdir()
    export = _traitctl("export", "--format", "laravel", "--out", str(out_dir), cwd=root, env=env)
    assert export.wait(120) == 0, export.stderr.read()  # without --allow-lossy: nothing lost
    for name in ("traits.php", "feature_flags.php"):
        php_kit.lint(out_dir / name)
    models = [None] + sorted(cfg.models)
    tenants = [None] + sorted(cfg.tenants)
    traits = list(cfg.traits)

    def situation(trait: str, model: str | None, tenant: str | None) -> tuple[str, str | None, str | None]:
        """The (trait, model, tenant) with exactly the layers of this one: no model when the model has
        no table of the trait (its own or the tenant's), no tenant when the tenant has none either."""
        pair = model is not None and tenant is not None and trait in cfg.tenants[tenant].doc["models"].get(model, {})
        if not (pair or (model is not None and trait in cfg.models.get(model, {}))):
            model = None
        if not (pair or (tenant is not None and trait in cfg.tenants[tenant].doc["traits"])):
            tenant = None
        return trait, model, tenant

    situations = sorted({situation(t, m, n) for t in traits for n in tenants for m in models},
                        key=lambda s: (s[0], s[1] or "", s[2] or ""))
    queries = [(trait, key, model, tenant) for trait, model, tenant in situations for key in KEYS]
    batch = _traitctl("config", "get", "--json", "--batch", "-", cwd=root, env=env, stdin=subprocess.PIPE)
    request = {"traits": traits, "tenants": tenants, "models": models, "keys": list(KEYS)}
    # traitctl answers while PHP runs (two processes, one each)
    with ThreadPoolExecutor(max_workers=1) as pool:
        cli_out = pool.submit(batch.communicate, "".join(
            json.dumps({"trait": t, "key": k, "model": m, "tenant": n}) + "\n" for t, k, m, n in queries), 300)
        php_lines = php_kit.run(f"$argv_dir = {str(out_dir)!r};\n" + PHP_LOOP, env=ENVIRON,
                                input=json.dumps(request)).splitlines()
        stdout, stderr = cli_out.result()
    assert batch.returncode == 0, stderr[-2000:]
    answers = [json.loads(line) for line in stdout.splitlines()]
    assert len(answers) == len(queries) and not any("error" in a for a in answers)
    cli = {query: [a["value"]] if a["found"] else "missing" for query, a in zip(queries, answers)}

    python = TraitConfig.load(toml, environ=ENVIRON)
    missing = object()
    compared_python, wrong = 0, []
    for query in queries:
        value = python.get(*query, default=missing)
        got = "missing" if value is missing else json.loads(json.dumps([to_jsonable(value)]))
        compared_python += 1
        if not _same(got, cli[query]):
            wrong.append(("python", query, got, cli[query]))

    assert len(php_lines) == len(traits) * len(tenants)
    compared_php = 0
    for (trait, tenant), line in zip(((t, n) for t in traits for n in tenants), php_lines):
        for model, got_row in zip(models, json.loads(line)):
            _, same_model, same_tenant = situation(trait, model, tenant)
            for key, got in zip(KEYS, got_row):
                compared_php += 1
                want = cli[(trait, key, same_model, same_tenant)]
                if not _same(got, want):
                    wrong.append(("php", (trait, key, model, tenant), got, want))
    assert wrong[:5] == [] and len(wrong) == 0
    assert compared_php == TRAITS * len(KEYS) * (MODELS + 1) * (TENANTS + 1) == 3_085_250
    assert compared_python == len(queries) > 10_000
    # the generated answers are not trivial: every layer and the environment decide somewhere
    layers = {a["layer"] for a in answers}
    assert layers == {"tenant+model", "tenant", "model", "global", "default", None}
    assert sum(1 for a in answers if "env" in a) > 500


def test_seed_keys_through_laravel_config(php_kit, snapshot_of):
    """The seeds' ``config('traits.<Trait>.<key>')`` and ``traits.tenant_overrides.<t>.<Trait>.<key>``
    give the global (schema default included) and tenant values, dotted keys nested for Laravel."""
    cfg = generate()
    folder, _ = php_kit.export(snapshot_of(cfg))
    queries = []
    for trait in cfg.traits:
        layers = engine.layers_for(cfg, trait)
        for key in KEYS:
            resolved = engine.resolve(key, layers, engine.schema_of(cfg, trait), ENVIRON)
            queries.append((f"traits.{trait}.{key}", [resolved.value] if resolved.found else "missing"))
    for tenant, source in cfg.tenants.items():
        for trait, values in source.doc["traits"].items():
            layer = [engine.layers_for(cfg, trait, None, tenant)[0]]
            for key in KEYS:
                resolved = engine.resolve(key, layer, None, ENVIRON)
                if resolved.found:
                    queries.append((f"traits.tenant_overrides.{tenant}.{trait}.{key}", [resolved.value]))
    body = f"""
$repo = new Illuminate\\Config\\Repository(['traits' => require {str(folder / 'traits.php')!r}]);
$missing = new stdClass();
foreach (json_decode(stream_get_contents(STDIN), true) as $q) {{
    $v = $repo->get($q, $missing);
    echo json_encode($v === $missing ? 'missing' : [$v], JSON_PRESERVE_ZERO_FRACTION | JSON_UNESCAPED_UNICODE), "\\n";
}}
echo json_encode($repo->get('traits.multi_tenancy')), "\\n";
"""
    out = php_kit.run(body, env=ENVIRON, input=json.dumps([q for q, _ in queries])).splitlines()
    wrong = [(q, got, want) for (q, want), got in zip(queries, map(json.loads, out)) if not _same(got, want)]
    # a literal "mail.from" beside a nested mail table: the literal wins in both
    assert wrong == [] and len(out) == len(queries) + 1 and len(queries) > 300
    assert json.loads(out[-1]) == {"enabled": True, "column": "tenant_id"}
