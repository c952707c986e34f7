"""Truth test: PHP ``Traitctl\\TraitConfig::get`` on the exported ``traits.php``, loaded through
Laravel's ``Illuminate\\Config\\Repository``, answers every (trait, key, model, tenant) exactly as
traitctl's resolution does, environment variables included."""

from __future__ import annotations

import json
import random
from typing import Any

from traitctl.engine import config as engine
from traitctl.engine.config import ConfigData, TenantSource

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


def _expected(cfg: ConfigData, models: list[str | None], tenants: list[str | None]) -> dict[tuple, list]:
    """traitctl's answers, (trait, tenant) -> per model the values of KEYS (None-model answers reused for
    models without a table of that trait in any layer: their layers are empty, so resolution is the same)."""
    out = {}
    for trait in cfg.traits:
        schema = engine.schema_of(cfg, trait)
        for tenant in tenants:
            plain = _resolve_all(cfg, trait, None, tenant, schema)
            rows = []
            for model in models:
                has_table = model is not None and (trait in cfg.models.get(model, {}) or (
                    tenant is not None and trait in cfg.tenants[tenant].doc["models"].get(model, {})))
                rows.append(_resolve_all(cfg, trait, model, tenant, schema) if has_table else plain)
            out[(trait, tenant)] = rows
    return out


def _resolve_all(cfg: ConfigData, trait: str, model: str | None, tenant: str | None, schema: Any) -> list:
    layers = engine.layers_for(cfg, trait, model, tenant)
    found = [engine.resolve(key, layers, schema, ENVIRON) for key in KEYS]
    return [[r.value] if r.found else "missing" for r in found]


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


def test_every_lookup_agrees_with_traitctl(php_kit, snapshot_of):
    cfg = generate()
    folder, losses = php_kit.export(snapshot_of(cfg))
    assert losses == []
    for name in ("traits.php", "feature_flags.php"):
        php_kit.lint(folder / name)
    models = [None] + sorted(cfg.models)
    tenants = [None] + sorted(cfg.tenants)
    traits = list(cfg.traits)
    request = {"traits": traits, "tenants": tenants, "models": models, "keys": list(KEYS)}
    out = php_kit.run(f"$argv_dir = {str(folder)!r};\n" + PHP_LOOP, env=ENVIRON, input=json.dumps(request))
    lines = out.splitlines()
    assert len(lines) == len(traits) * len(tenants)
    expected = _expected(cfg, models, tenants)
    compared, disagreements = 0, []
    for (trait, tenant), line in zip(((t, n) for t in traits for n in tenants), lines):
        for model, got_row, want_row in zip(models, json.loads(line), expected[(trait, tenant)]):
            for key, got, want in zip(KEYS, got_row, want_row):
                compared += 1
                if not _same(got, want):
                    disagreements.append((trait, key, model, tenant, got, want))
    assert compared == TRAITS * len(KEYS) * (MODELS + 1) * (TENANTS + 1) == 3_085_250
    assert disagreements[:5] == [] and len(disagreements) == 0
    # the generated answers are not trivial: every layer and the environment decide somewhere
    kinds = {engine.resolve("size", engine.layers_for(cfg, t, m, n), engine.schema_of(cfg, t), ENVIRON).winner.kind
             for t in traits for m in models[:40] for n in tenants}
    assert kinds == {"tenant+model", "tenant", "model", "global", "default"}


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
