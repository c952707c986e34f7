<?php

declare(strict_types=1);

namespace Traitctl;

/**
 * A trait operation's result cached under traitctl's key scheme (docs/cache.md) with the trait's
 * `cache_ttl`, over Laravel's cache repository (`Illuminate\Contracts\Cache\Repository`, e.g.
 * `Cache::store('redis')`), so `traitctl cache stats|keys|flush` finds exactly these keys.
 *
 *     $cache = new TraitCache(TraitConfig::fromFile(config_path('traits.php')), Cache::store('redis'));
 *     $price = $cache->remember('Cacheable', 'price', fn () => $product->computePrice(),
 *                               model: Product::class, id: $product->id, tenant: $tenantId);
 *
 * A trait without `cache_ttl` for that model and tenant is not cached: the callback runs every time.
 * Hits and misses are counted through Telemetry as `trait.<T>.cache_hits` / `trait.<T>.cache_misses`.
 */
final class TraitCache
{
    /** @param object|null $repository Laravel's cache repository (null: Laravel's default store when present) */
    public function __construct(private readonly TraitConfig $config, private ?object $repository = null)
    {
        if ($this->repository === null && function_exists('app') && \app()->bound('cache.store')) {
            $this->repository = \app('cache.store');
        }
        $store = $this->repository !== null && method_exists($this->repository, 'getStore')
            ? $this->repository->getStore() : null;
        if ($store !== null && method_exists($store, 'getPrefix')
                && !str_ends_with($config->cachePrefix(), (string) $store->getPrefix())) {
            throw new \UnexpectedValueException("traits.php: [cache] prefix '{$config->cachePrefix()}' does not end "
                . "with the cache store's prefix '{$store->getPrefix()}'; set [cache] prefix to the Redis key prefix "
                . "and re-export (docs/cache.md).");
        }
    }

    /**
     * The cached value, or `$callback()` stored for the trait's `cache_ttl` seconds.
     *
     * @template T
     * @param callable(): T $callback
     * @return T
     */
    public function remember(string $trait, string $name, callable $callback, ?string $model = null,
                             string|int|null $id = null, string|int|null $tenant = null): mixed
    {
        $ttl = $this->config->cacheTtl($trait, $model, $tenant);
        if ($ttl === null || $this->repository === null) {
            return $callback();
        }
        $key = TraitConfig::cacheName($trait, $name, $model, $id, $tenant);
        $labels = array_filter(['model' => $model, 'tenant' => $tenant], static fn ($v): bool => $v !== null);
        $missed = false;
        $value = $this->repository->remember($key, $ttl, static function () use ($callback, &$missed): mixed {
            $missed = true;
            return $callback();
        });
        Telemetry::record("trait.$trait." . ($missed ? 'cache_misses' : 'cache_hits'), 1, $labels);
        return $value;
    }

    /** Remove one cached result (e.g. after the record changed). */
    public function forget(string $trait, string $name, ?string $model = null, string|int|null $id = null,
                           string|int|null $tenant = null): bool
    {
        return $this->repository !== null
            && (bool) $this->repository->forget(TraitConfig::cacheName($trait, $name, $model, $id, $tenant));
    }
}
