<?php

namespace App\Models\Traits;

use App\Jobs\IndexModel;

/**
 * Full-text search indexing. Each model says what to index by implementing toSearchableArray().
 *
 * Settings: [traits.Searchable] (index, queue).
 */
trait Searchable
{
    public static function bootSearchable(): void
    {
        static::saved(function ($model) {
            config('traits.Searchable.queue', true)
                ? IndexModel::dispatch($model)
                : $model->indexNow();
        });
    }

    /** The document sent to the search index. */
    abstract public function toSearchableArray(): array;

    public function searchableAs(): string
    {
        return config('traits.Searchable.index') ?? $this->getTable();
    }

    public function indexNow(): void
    {
        app('search')->index($this->searchableAs())->upsert($this->getKey(), $this->toSearchableArray());
    }

    public function scopeSearch($query, string $terms)
    {
        $ids = app('search')->index($this->searchableAs())->search($terms)->ids();

        return $query->whereKey($ids);
    }
}
