<?php

declare(strict_types=1);

namespace Traitctl;

/**
 * Trait settings exactly as `traitctl config get` resolves them, read from the `traits.php` that
 * `traitctl export --format laravel` writes.
 *
 * Precedence, most specific first: tenant+model > tenant > model > global > schema default. A key
 * with dots is looked up literally first, then as a nested path (`mail.from`): the export already
 * holds every reachable path, resolved into one lookup cell per (trait, key), so a lookup is a few
 * array accesses.
 *
 * A hand-written file in the seeds' shape (no '@traitctl' key) is read as global values
 * (`<Trait>.<key>`) and tenant values (`tenant_overrides.<tenant>.<Trait>.<key>`).
 */
final class TraitConfig
{
    /**
     * trait -> lookup key -> cell: `[0 => global value (schema default folded in), '<Model FQN>' =>
     * model value, ..., 1 => [tenant => tenant cell]]`; a tenant cell is `[0 => tenant value (when the
     * tenant has one), '<Model FQN>' => tenant+model value, ...]`. Cells holding a null are in $exact
     * instead (`??` cannot see a null).
     *
     * @var array<string, array<string, array<int|string, mixed>>>
     */
    private array $cells = [];
    /** @var array<string, array<string, array<int|string, mixed>>> the cells holding a null value */
    private array $exact = [];
    /** whether $exact holds a cell (a miss in $cells then looks there) */
    private bool $nulls = false;
    /** `[cache] prefix`: what precedes traitctl's part of a cache key in Redis (docs/cache.md) */
    private string $cachePrefix = self::DEFAULT_CACHE_PREFIX;

    /** Laravel's default `cache.prefix` (an app named `laravel`). */
    public const DEFAULT_CACHE_PREFIX = 'laravel_cache_';

    /** The `'@traitctl'` layout this class reads (`traitctl export --format laravel` writes it). */
    public const FORMAT = 2;

    /** @param array<string, mixed> $config the array `traits.php` returns (Laravel: `config('traits')`) */
    public function __construct(array $config)
    {
        $exact = $config['@traitctl'] ?? null;
        if (is_array($exact)) {
            if (($exact['format'] ?? null) !== self::FORMAT) {
                throw new \UnexpectedValueException(
                    "traits.php: '@traitctl' format " . var_export($exact['format'] ?? null, true)
                    . ' is not ' . self::FORMAT . '; re-export it with this version of traitctl or update the companion.');
            }
            $this->cells = (array) ($exact['cells'] ?? []);
            // env() runs when the file is loaded: only the cells it reaches can hold a null
            foreach ((array) ($exact['nullable'] ?? []) as [$trait, $key]) {
                $this->separateNulls((string) $trait, (string) $key);
            }
            $prefix = $exact['cache']['prefix'] ?? null;
            $this->cachePrefix = is_string($prefix) ? $prefix : self::DEFAULT_CACHE_PREFIX;
            return;
        }
        $tenants = $config['tenant_overrides'] ?? [];
        unset($config['tenant_overrides'], $config['multi_tenancy']);
        foreach (array_filter($config, 'is_array') as $trait => $table) {
            foreach (self::paths($table) as $key => $value) {
                $this->cells[$trait][$key][0] = $value;
            }
        }
        foreach (is_array($tenants) ? $tenants : [] as $tenant => $traits) {
            foreach (array_filter((array) $traits, 'is_array') as $trait => $table) {
                foreach (self::paths($table) as $key => $value) {
                    $this->cells[$trait][$key][1][$tenant] = [0 => $value];
                }
            }
        }
        foreach ($this->cells as $trait => $keys) {
            foreach ($keys as $key => $_) {
                $this->separateNulls((string) $trait, (string) $key);
            }
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
        // the hot path: the cell, the tenant's cell, the model entries and the values
        $c = $this->cells[$trait][$key] ?? null;
        if ($tenant !== null && isset($c[1][$tenant])) {
            $t = $c[1][$tenant];
            if ($model !== null) {
                return $t[$model] ?? $t[0] ?? $c[$model] ?? $c[0]
                    ?? ($this->nulls ? $this->exactGet($trait, $key, $model, $tenant, $default) : $default);
            }
            return $t[0] ?? $c[0] ?? ($this->nulls ? $this->exactGet($trait, $key, $model, $tenant, $default) : $default);
        }
        if ($model !== null) {
            return $c[$model] ?? $c[0] ?? ($this->nulls ? $this->exactGet($trait, $key, $model, $tenant, $default) : $default);
        }
        return $c[0] ?? ($this->nulls ? $this->exactGet($trait, $key, $model, $tenant, $default) : $default);
    }

    /** `get` for the cells holding a null (moved out of the hot path's cells). */
    private function exactGet(string $trait, string $key, ?string $model, string|int|null $tenant, mixed $default): mixed
    {
        $c = $this->exact[$trait][$key] ?? null;
        if ($c === null) {
            return $default;
        }
        foreach ($tenant !== null && isset($c[1][$tenant]) ? [$c[1][$tenant], $c] : [$c] as $layer) {
            if ($model !== null && \array_key_exists($model, $layer)) {
                return $layer[$model];
            }
            if (\array_key_exists(0, $layer)) {
                return $layer[0];
            }
        }
        return $default;
    }

    /** Moves the cell of `$trait`.`$key` to $exact when one of its values is null. */
    private function separateNulls(string $trait, string $key): void
    {
        $cell = $this->cells[$trait][$key] ?? null;
        if (!is_array($cell)) {
            return;
        }
        $null = \in_array(null, $cell, true);
        foreach ((array) ($cell[1] ?? []) as $tenantCell) {
            $null = $null || \in_array(null, (array) $tenantCell, true);
        }
        if ($null) {
            $this->exact[$trait][$key] = $cell;
            unset($this->cells[$trait][$key]);
            $this->nulls = true;
        }
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
