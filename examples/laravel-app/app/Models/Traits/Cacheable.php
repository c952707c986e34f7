<?php

namespace App\Models\Traits;

use Closure;
use Illuminate\Support\Facades\Cache;

/**
 * Query results cached per model; any save flushes the model's cache tag.
 *
 * Settings: [traits.Cacheable] (ttl, store).
 */
trait Cacheable
{
    public static function bootCacheable(): void
    {
        static::saved(fn ($model) => $model->flushModelCache());
        static::deleted(fn ($model) => $model->flushModelCache());
    }

    public function cacheTtl(): int
    {
        return (int) config('traits.Cacheable.ttl', 3600);
    }

    public function cacheKey(string $suffix = ''): string
    {
        return $this->getTable() . ':' . ($suffix !== '' ? $suffix : 'all');
    }

    public static function remember(string $suffix, Closure $query): mixed
    {
        $model = new static();

        return Cache::store(config('traits.Cacheable.store', 'redis'))
            ->tags([$model->getTable()])
            ->remember($model->cacheKey($suffix), $model->cacheTtl(), $query);
    }

    public function flushModelCache(): void
    {
        Cache::store(config('traits.Cacheable.store', 'redis'))->tags([$this->getTable()])->flush();
    }
}
