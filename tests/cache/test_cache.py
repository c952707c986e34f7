"""The key scheme shared by traitctl.runtime and the Laravel companion, and ``traitctl cache`` over
a real Redis: 3 traits x 20 models x 3 tenants, counted, flushed exactly, TTLs per layer."""

from __future__ import annotations

import json
import textwrap

from tests.cache.conftest import MODELS, TENANTS, TRAITS, run_php

from tests.conftest import run_cli

ODD = [("Cacheable", "a:b%c d", "\\App\\Models\\M00", "x:1", "t 1"), ("Searchable", "*?[]", None, None, None)]


def _tuples():
    return [(t, "result", m, i, tenant) for t in TRAITS for i, m in enumerate(MODELS) for tenant in TENANTS]


def _all_keys(client) -> set[bytes]:
    return set(client.scan_iter(match="*", count=1000))


def test_keys_counts_flush_and_ttls(cache_project, php):
    from traitctl.runtime import TraitConfig

    root, url, client, prefix = cache_project
    config = TraitConfig.load(root / "config" / "traits.toml")
    assert config.cache_prefix == prefix
    tuples = _tuples()
    written = {}
    for trait, name, model, id_, tenant in tuples:
        key = config.cache_key(trait, name, model=model, id=id_, tenant=tenant)
        ttl = config.cache_ttl(trait, model=model, tenant=tenant)
        client.set(key, "v", ex=ttl or 3600)
        written[key] = (trait, model, tenant, ttl)
    assert len(written) == 3 * 20 * 3
    # a look-alike outside the scheme and another prefix's key in the same database stay untouched
    client.set(prefix + "traitctl:Cacheable:x", "v")
    client.set("other_" + prefix + "traitctl:Cacheable::::n", "v")

    # the PHP companion gives the same keys and TTLs from the exported traits.php
    out = root / "export"
    out.mkdir()
    result = run_cli("export", "--format", "laravel", "--out", str(out), cwd=root)
    assert result.exit_code == 0, result
    snapshot = root / "snapshot.json"
    assert run_cli("export", "--format", "json", "--out", str(snapshot), cwd=root).exit_code == 0
    from_snapshot = TraitConfig.load(snapshot)
    assert from_snapshot.cache_prefix == prefix
    assert [from_snapshot.cache_key(*c[:2], model=c[2], id=c[3], tenant=c[4]) for c in tuples] == list(written)
    cases = tuples + ODD
    (root / "cases.json").write_text(json.dumps(cases))
    body = textwrap.dedent(f"""
        $config = Traitctl\\TraitConfig::fromFile({str(out / 'traits.php')!r});
        $out = [];
        foreach (json_decode(file_get_contents({str(root / 'cases.json')!r}), true) as [$t, $n, $m, $i, $x]) {{
            $out[] = [$config->cacheKey($t, $n, $m, $i, $x), $config->cacheTtl($t, $m, $x)];
        }}
        echo json_encode($out);
    """)
    php_answers = json.loads(run_php(php, root, body))
    py_answers = [[config.cache_key(t, n, model=m, id=i, tenant=x), config.cache_ttl(t, model=m, tenant=x)]
                  for t, n, m, i, x in cases]
    assert php_answers == py_answers
    assert py_answers[-2][0] == prefix + "traitctl:Cacheable:App\\Models\\M00:x%3A1:t%201:a%3Ab%25c%20d"

    # TTLs equal `traitctl config get cache_ttl` on every layer (and a trait without one is not cached)
    layers = [("Cacheable", None, None, 600), ("Cacheable", "App\\Models\\M01", None, 900),
              ("Cacheable", None, "acme", 60), ("Cacheable", "App\\Models\\M01", "acme", 30),
              ("Searchable", "App\\Models\\M05", "globex", 45), ("Auditable", "App\\Models\\M02", None, 120),
              ("Auditable", "App\\Models\\M02", "globex", 75)]
    queries = "".join(json.dumps({"trait": t, "key": "cache_ttl", "model": m, "tenant": x}) + "\n"
                      for t, m, x, _e in layers)
    got = run_cli("config", "get", "--batch", "-", cwd=root, input=queries)
    assert got.exit_code == 0, got
    values = [json.loads(line)["value"] for line in got.stdout.splitlines()]
    assert values == [e for *_k, e in layers] == [config.cache_ttl(t, model=m, tenant=x) for t, m, x, _e in layers]
    assert config.cache_ttl("Auditable", model="App\\Models\\M03", tenant="acme") is None
    some = config.cache_key("Cacheable", "result", model="App\\Models\\M01", id=1, tenant="acme")
    assert 25 <= client.ttl(some) <= 30

    # stats counts them exactly, overall and per filter
    stats = json.loads(run_cli("cache", "stats", "--json", cwd=root).stdout)
    assert stats["keys"] == 180 + 0 and stats["traits"]["Cacheable"]["keys"] == 60
    assert {t: v["keys"] for t, v in stats["traits"].items()} == {"Auditable": 60, "Cacheable": 60, "Searchable": 60}
    assert stats["memory_bytes"] > 0 and stats["ttl"]["max"] <= 3600 and stats["ttl"]["min"] > 0
    narrow = json.loads(run_cli("cache", "stats", "--trait", "Searchable", "--tenant", "globex", "--json",
                                cwd=root).stdout)
    assert narrow["keys"] == 20 and 40 < narrow["ttl"]["max"] <= 45
    one = json.loads(run_cli("cache", "keys", "--trait", "Cacheable", "--model", "App\\Models\\M01", "--limit", "2",
                             "--json", cwd=root).stdout)
    assert one["total"] == 3 and len(one["keys"]) == 2

    # flush --trait T --tenant X removes exactly those keys (whole-database SCAN before and after)
    expected = {k.encode() for k, (t, _m, x, _ttl) in written.items() if t == "Cacheable" and x == "acme"}
    assert len(expected) == 20
    before = _all_keys(client)
    dry = run_cli("cache", "flush", "--trait", "Cacheable", "--tenant", "acme", "--dry-run", "--json", cwd=root)
    assert json.loads(dry.stdout)["matched"] == 20 and _all_keys(client) >= before
    refused = run_cli("cache", "flush", "--trait", "Cacheable", "--tenant", "acme", cwd=root, input="")
    assert refused.exit_code == 2 and "--yes" in refused.stderr and _all_keys(client) >= before
    done = run_cli("cache", "flush", "--trait", "Cacheable", "--tenant", "acme", "--yes", "--json", cwd=root)
    assert done.exit_code == 0, done
    assert json.loads(done.stdout)["removed"] == 20
    after = _all_keys(client)
    assert before - after == expected and not (after & expected)
    history = run_cli("history", "--json", cwd=root)
    assert "cache.flush" in history.stdout


def test_bad_input_and_unreachable_cache_exit_2(cache_project):
    root, _url, _client, _prefix = cache_project
    dead = run_cli("cache", "stats", "--cache", "redis://:s3cret@127.0.0.1:1/0", cwd=root)
    assert dead.exit_code == 2 and "s3cret" not in dead.stderr + dead.stdout and "127.0.0.1:1" in dead.stderr
    assert "Traceback" not in dead.stderr and len(dead.stderr.strip().splitlines()) == 1
    wrong = run_cli("cache", "keys", "--cache", "http://h/x", cwd=root)
    assert wrong.exit_code == 2 and "not a Redis URL" in wrong.stderr
    limit = run_cli("cache", "keys", "--limit", "-1", cwd=root)
    assert limit.exit_code == 2 and "--limit" in limit.stderr
    env = run_cli("cache", "stats", cwd=root, env={"TRAITCTL_CACHE": "redis://u:pw9@127.0.0.1:1/0"})
    assert env.exit_code == 2 and "pw9" not in env.stderr


def test_health_caching_fails_on_a_dead_port_and_passes_on_redis(cache_project):
    root, url, _client, _prefix = cache_project
    live = run_cli("health", "--only", "caching", "--json", cwd=root)
    check = json.loads(live.stdout)["checks"]["caching"]
    assert check["status"] in ("ok", "warn") and check["details"]["ttl_ms"] > 0, live
    assert live.exit_code == 0
    dead = run_cli("health", "--only", "caching", "--json", cwd=root,
                   env={"TRAITCTL_CACHE": "redis://:pw7@127.0.0.1:1/0"})
    check = json.loads(dead.stdout)["checks"]["caching"]
    assert dead.exit_code == 1 and check["status"] == "fail" and "pw7" not in dead.stdout


def test_validation_of_cache_section_and_cache_ttl(cache_project):
    root, url, _client, prefix = cache_project
    config = root / "config" / "traits.toml"
    text = config.read_text().replace(f'url = "{url}"', 'url = "http://u:hidden@h"\nsize = 3')
    text = text.replace("[traits.Searchable]\ncache_ttl = 300", "[traits.Searchable]\ncache_ttl = 0")
    text += "\n[traits.Cacheable.schema]\ncache_ttl_note = { type = \"string\", default = \"x\" }\n"
    config.write_text(text)
    result = run_cli("config", "validate", "--no-source", cwd=root)
    assert result.exit_code == 1, result
    out = result.stdout + result.stderr
    assert "cache -> size: unknown key" in out and "cache -> url: must be a Redis URL" in out
    assert "traits -> Searchable -> cache_ttl: must be a whole number of seconds of at least 1, not 0" in out
    assert "hidden" not in out
    assert "unknown key 'cache_ttl'" not in out  # allowed beside a schema that does not name it


def test_trait_cache_remember_uses_the_ttl_of_the_layer_and_records_hits(cache_project, php):
    root, _url, _client, prefix = cache_project
    out = root / "export"
    out.mkdir()
    assert run_cli("export", "--format", "laravel", "--out", str(out), cwd=root).exit_code == 0
    telemetry = root / "points.jsonl"
    body = textwrap.dedent(f"""
        final class Store {{ public function __construct(public string $p) {{}} public function getPrefix(): string {{ return $this->p; }} }}
        final class Repo {{
            public array $items = []; public array $ttls = [];
            public function __construct(private string $p) {{}}
            public function getStore(): Store {{ return new Store($this->p); }}
            public function remember(string $key, int $ttl, callable $cb): mixed {{
                if (!array_key_exists($key, $this->items)) {{ $this->items[$key] = $cb(); $this->ttls[$key] = $ttl; }}
                return $this->items[$key];
            }}
            public function forget(string $key): bool {{ unset($this->items[$key]); return true; }}
        }}
        Traitctl\\Telemetry::configure({str(telemetry)!r});
        $config = Traitctl\\TraitConfig::fromFile({str(out / 'traits.php')!r});
        $repo = new Repo({prefix!r});
        $cache = new Traitctl\\TraitCache($config, $repo);
        $calls = 0;
        foreach ([1, 2, 3] as $_) {{
            $cache->remember('Cacheable', 'price', function () use (&$calls) {{ $calls++; return 7; }},
                             model: 'App\\\\Models\\\\M01', id: 5, tenant: 'acme');
        }}
        $cache->remember('Auditable', 'sum', function () use (&$calls) {{ $calls++; return 1; }}, tenant: 'acme');
        $cache->remember('Auditable', 'sum', function () use (&$calls) {{ $calls++; return 1; }}, tenant: 'acme');
        try {{ new Traitctl\\TraitCache($config, new Repo('elsewhere_')); $refused = false; }}
        catch (UnexpectedValueException $e) {{ $refused = true; }}
        echo json_encode(['ttls' => $repo->ttls, 'calls' => $calls, 'refused' => $refused]);
    """)
    answer = json.loads(run_php(php, root, body))
    # tenant+model layer: 30 s; Auditable has no cache_ttl for acme: not cached, the callback runs each time
    assert answer == {"ttls": {"traitctl:Cacheable:App\\Models\\M01:5:acme:price": 30}, "calls": 3, "refused": True}
    got = run_cli("config", "get", "cache_ttl", "-t", "Cacheable", "-m", "App\\Models\\M01", "--tenant", "acme",
                  cwd=root)
    assert got.stdout.strip() == "30", got
    points = [json.loads(line) for line in telemetry.read_text().splitlines()]
    assert [p["name"] for p in points] == ["trait.Cacheable.cache_misses"] + ["trait.Cacheable.cache_hits"] * 2
    assert points[0]["labels"] == {"model": "App\\Models\\M01", "tenant": "acme"}
    ingest = run_cli("metrics", "ingest", str(telemetry), cwd=root)
    assert ingest.exit_code == 0, ingest
    stats = json.loads(run_cli("cache", "stats", "--trait", "Cacheable", "--json", cwd=root).stdout)
    assert stats["traits"]["Cacheable"] == {"keys": 0, "hits": 2, "misses": 1, "hit_ratio": 0.6667}


def test_stats_creates_no_store(cache_project):
    root, _url, client, prefix = cache_project
    client.set(prefix + "traitctl:Cacheable::::n", "v", ex=100)
    result = run_cli("cache", "stats", "--json", cwd=root)
    assert result.exit_code == 0 and json.loads(result.stdout)["keys"] == 1, result
    assert not (root / "config" / ".traitctl" / "traitctl.db").exists()
