"""``traitctl cache``: stats, keys and flush of the application cache under traitctl's key scheme
(docs/cache.md). Thin: options in, :mod:`traitctl.cache_service` does the work."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from traitctl.commands.common import (CONTEXT_SETTINGS, JsonOpt, ModelOpt, OptTraitOpt, TenantOpt, TraitOpt, YesOpt,
                                      app_for, examples, limit_option, not_empty)

app = typer.Typer(help="The application cache (Redis) under traitctl's key scheme: stats, keys, flush.",
                  add_completion=False, no_args_is_help=True, context_settings=CONTEXT_SETTINGS,
                  epilog=examples("traitctl cache stats --cache redis://127.0.0.1:6379/0",
                                  "traitctl cache keys --trait Cacheable --limit 20 --cache redis://127.0.0.1:6379/0",
                                  "traitctl cache flush --trait Cacheable --tenant acme --dry-run "
                                  "--cache redis://127.0.0.1:6379/0"))

CacheOpt = Annotated[Optional[str], typer.Option(
    "--cache", help="redis://host:port/db (default: $TRAITCTL_CACHE, then [cache] url).", callback=not_empty)]


def _target(cache: Optional[str], trait: Optional[str], model: Optional[str], tenant: Optional[str]):
    from traitctl import cache_service

    return cache_service.target(app_for(), cache, trait, model, tenant)


@app.command()
def stats(trait: OptTraitOpt = None, model: ModelOpt = None, tenant: TenantOpt = None, cache: CacheOpt = None,
          json: JsonOpt = False) -> None:
    """Keys, approximate memory (MEMORY USAGE of a sample), TTL left and the hit ratio per trait."""
    from traitctl import cache_service

    app_ = app_for(json)
    result = cache_service.stats(app_, _target(cache, trait, model, tenant))
    if app_.out.json_mode:
        app_.out.json(result)
        return
    out = app_.out.stdout
    out.write(f"cache    {result['cache']}\npattern  {result['pattern']}\nkeys     {result['keys']}\n")
    out.write(f"memory   ~{_size(result['memory_bytes'])} (MEMORY USAGE of {result['memory_sampled']} keys)\n")
    ttl = result["ttl"]
    if ttl:
        out.write(f"ttl left min {ttl['min']:.0f}s  median {ttl['median']:.0f}s  max {ttl['max']:.0f}s"
                  + (f"  ({result['without_ttl']} without a TTL)" if result["without_ttl"] else "") + "\n")
    for name, row in result["traits"].items():
        ratio = f"  hit ratio {row['hit_ratio']:.1%} ({row['hits']} hits, {row['misses']} misses)" \
            if "hit_ratio" in row else ""
        out.write(f"  {name}: {row['keys']} keys{ratio}\n")


@app.command()
def keys(trait: OptTraitOpt = None, model: ModelOpt = None, tenant: TenantOpt = None, cache: CacheOpt = None,
         limit: Annotated[int, limit_option("keys")] = 50,
         json: JsonOpt = False) -> None:
    """The matching keys (SCAN order) with their TTL left."""
    from traitctl import cache_service

    app_ = app_for(json)
    result = cache_service.keys(_target(cache, trait, model, tenant), limit)
    if app_.out.json_mode:
        app_.out.json(result)
        return
    for row in result["keys"]:
        left = "-" if row["ttl"] is None else f"{row['ttl']:.0f}s"
        app_.out.stdout.write(f"{row['key']}\t{left}\n")
    if result["total"] > len(result["keys"]):
        app_.out.info(f"{len(result['keys'])} of {result['total']} keys shown (--limit).")


@app.command()
def flush(trait: TraitOpt, model: ModelOpt = None, tenant: TenantOpt = None, cache: CacheOpt = None,
          dry_run: Annotated[bool, typer.Option("--dry-run", "-n", help="Count the keys; remove nothing.")] = False,
          yes: YesOpt = False,
          json: JsonOpt = False) -> None:
    """Remove the cached results of one trait (narrowed by --model, --tenant) with UNLINK; recorded in history."""
    from traitctl import cache_service
    from traitctl.commands.common import command_line

    app_ = app_for(json)
    result = cache_service.flush(app_, _target(cache, trait, model, tenant), dry_run=dry_run,
                                 confirm=lambda question, _n: _confirm(question, yes), command=command_line())
    if app_.out.json_mode:
        app_.out.json(result)
    elif dry_run:
        for key in result["sample"]:
            app_.out.stdout.write(key + "\n")
        app_.out.success(f"Would remove {result['matched']} keys matching {result['pattern']} (dry run).")
    elif not result["matched"]:
        app_.out.success(f"No keys match {result['pattern']}.")
    else:
        app_.out.success(f"Removed {result['removed']} of {result['matched']} keys matching {result['pattern']} "
                         f"(event #{result['event']}).")


def _confirm(question: str, yes: bool) -> None:
    from traitctl.commands.common import confirm

    confirm(question, yes)


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"
