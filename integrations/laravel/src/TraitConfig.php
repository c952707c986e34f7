<?php

declare(strict_types=1);

namespace Traitctl;

/**
 * Trait settings exactly as `traitctl config get` resolves them, read from the `traits.php` that
 * `traitctl export --format laravel` writes.
 *
 * Precedence, most specific first: tenant+model > tenant > model > global > schema default. A key
 * with dots is looked up literally first, then as a nested path (`mail.from`): the export already
 * holds every reachable path, so a lookup is one array access per layer.
 *
 * A hand-written file in the seeds' shape (no '@traitctl' key) is read as global values
 * (`<Trait>.<key>`) and tenant values (`tenant_overrides.<tenant>.<Trait>.<key>`).
 */
final class TraitConfig
{
    /** @var array<string, array<string, mixed>> trait -> key -> value (schema defaults under global values) */
    private array $global;
    /** @var array<string, array<string, array<string, mixed>>> model -> trait -> key -> value */
    private array $models;
    /** @var array<string, array<string, array<string, mixed>>> tenant -> trait -> key -> value */
    private array $tenants;
    /** @var array<string, array<string, array<string, array<string, mixed>>>> tenant -> model -> trait -> key -> value */
    private array $tenantModels;
    /** `[cache] prefix`: what precedes traitctl's part of a cache key in Redis (docs/cache.md) */
    private string $cachePrefix = self::DEFAULT_CACHE_PREFIX;

    /** Laravel's default `cache.prefix` (an app named `laravel`). */
    public const DEFAULT_CACHE_PREFIX = 'laravel_cache_';

    /** @param array<string, mixed> $config the array `traits.php` returns (Laravel: `config('traits')`) */
    public function __construct(array $config)
    {
        $exact = $config['@traitctl'] ?? null;
        if (is_array($exact)) {
            if (($exact['format'] ?? null) !== 1) {
                throw new \UnexpectedValueException(
                    "traits.php: '@traitctl' format " . var_export($exact['format'] ?? null, true)
                    . ' is not 1; re-export it with this version of traitctl or update the companion.');
            }
            $this->global = $exact['global'] ?? [];
            $this->models = $exact['models'] ?? [];
            $this->tenants = $exact['tenants'] ?? [];
            $this->tenantModels = $exact['tenant_models'] ?? [];
            $prefix = $exact['cache']['prefix'] ?? null;
            $this->cachePrefix = is_string($prefix) ? $prefix : self::DEFAULT_CACHE_PREFIX;
            return;
        }
        $this->models = $this->tenantModels = [];
        $tenants = $config['tenant_overrides'] ?? [];
        unset($config['tenant_overrides'], $config['multi_tenancy']);
        $this->global = array_map([self::class, 'paths'], array_filter($config, 'is_array'));
        $this->tenants = [];
        foreach (is_array($tenants) ? $tenants : [] as $tenant => $traits) {
            $this->tenants[$tenant] = array_map([self::class, 'paths'], array_filter((array) $traits, 'is_array'));
        }
    }

    /** A TraitConfig of the `traits.php` at `$traitsPhp` (the file is a PHP file returning an array). */
    public static function fromFile(string $traitsPhp): self
    {
        $config = Internal::load($traitsPhp);
        return new self($config);
    }

    /**
     * The effective value of `$key` of `$trait` for `$model` (FQN) and `$tenant`, or `$default` when
     * no layer and no schema default defines it.
     */
    public function get(string $trait, string $key, ?string $model = null, string|int|null $tenant = null,
                        mixed $default = null): mixed
    {
        if ($tenant !== null) {
            if ($model !== null && ($t = $this->tenantModels[$tenant][$model][$trait] ?? null) !== null
                    && (isset($t[$key]) || array_key_exists($key, $t))) {
                return $t[$key];
            }
            if (($t = $this->tenants[$tenant][$trait] ?? null) !== null && (isset($t[$key]) || array_key_exists($key, $t))) {
                return $t[$key];
            }
        }
        if ($model !== null && ($t = $this->models[$model][$trait] ?? null) !== null
                && (isset($t[$key]) || array_key_exists($key, $t))) {
            return $t[$key];
        }
        if (($t = $this->global[$trait] ?? null) !== null && (isset($t[$key]) || array_key_exists($key, $t))) {
            return $t[$key];
        }
        return $default;
    }

    /** Whether any layer (or a schema default) defines `$key` for this context. */
    public function has(string $trait, string $key, ?string $model = null, string|int|null $tenant = null): bool
    {
        $missing = new \stdClass();
        return $this->get($trait, $key, $model, $tenant, $missing) !== $missing;
    }

    /**
     * The Redis key of a cached result of `$trait` (docs/cache.md): `[cache] prefix`, then
     * `traitctl:<trait>:<model>:<id>:<tenant>:<name>`; the same string as Python's
     * `TraitConfig.cache_key` and the keys `traitctl cache` finds and flushes.
     */
    public function cacheKey(string $trait, string $name, ?string $model = null, string|int|null $id = null,
                             string|int|null $tenant = null): string
    {
        return $this->cachePrefix . self::cacheName($trait, $name, $model, $id, $tenant);
    }

    /** The key without the prefix: what Laravel's cache repository is given (its store adds `cache.prefix`). */
    public static function cacheName(string $trait, string $name, ?string $model = null, string|int|null $id = null,
                                     string|int|null $tenant = null): string
    {
        $parts = [$trait, $model === null ? null : ltrim($model, '\\'), $id, $tenant, $name];
        return 'traitctl:' . implode(':', array_map(static fn ($p): string => $p === null ? ''
            : (string) preg_replace_callback('/[%:\x00-\x20\x7f]/', static fn (array $m): string
                => sprintf('%%%02X', ord($m[0])), (string) $p), $parts));
    }

    /** `[cache] prefix` as exported. */
    public function cachePrefix(): string
    {
        return $this->cachePrefix;
    }

    /**
     * Seconds a result of `$trait` is cached for `$model` and `$tenant`: its `cache_ttl` through every
     * layer; null (do not cache) when no layer sets a positive whole number.
     */
    public function cacheTtl(string $trait, ?string $model = null, string|int|null $tenant = null): ?int
    {
        $value = $this->get($trait, 'cache_ttl', $model, $tenant);
        if (is_string($value) && preg_match('/^[0-9]+$/D', $value) === 1) {
            $value = (int) $value;
        }
        return is_int($value) && $value > 0 ? $value : null;
    }

    /**
     * Every key traitctl's lookup reaches in one table: the literal keys, then nested paths of
     * dot-free parts through tables (the same map the export writes).
     *
     * @param array<string|int, mixed> $table
     * @return array<string|int, mixed>
     */
    public static function paths(array $table): array
    {
        $out = [];
        foreach ($table as $key => $value) {
            if (is_array($value) && $value !== [] && !array_is_list($value) && !str_contains((string) $key, '.')) {
                self::nested((string) $key, $value, $out);
            }
        }
        foreach ($table as $key => $value) {
            $out[$key] = $value;
        }
        return $out;
    }

    /** @param array<string|int, mixed> $table @param array<string|int, mixed> $out */
    private static function nested(string $prefix, array $table, array &$out): void
    {
        foreach ($table as $key => $value) {
            if (str_contains((string) $key, '.')) {
                continue;
            }
            $path = $prefix . '.' . $key;
            $out[$path] = $value;
            if (is_array($value) && $value !== [] && !array_is_list($value)) {
                self::nested($path, $value, $out);
            }
        }
    }
}
