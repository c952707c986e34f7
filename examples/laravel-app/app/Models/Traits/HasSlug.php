<?php

namespace App\Models\Traits;

use Illuminate\Support\Str;

/**
 * URL slugs generated from a source attribute.
 *
 * Settings: [traits.HasSlug] (source, separator, max_length).
 */
trait HasSlug
{
    public static function bootHasSlug(): void
    {
        static::saving(function ($model) {
            if (blank($model->slug) || $model->isDirty($model->getSlugSource())) {
                $model->slug = $model->generateSlug();
            }
        });
    }

    public function getSlugSource(): string
    {
        return config('traits.HasSlug.source', 'title');
    }

    public function generateSlug(): string
    {
        $separator = config('traits.HasSlug.separator', '-');
        $slug = Str::slug((string) $this->{$this->getSlugSource()}, $separator);

        return Str::limit($slug, config('traits.HasSlug.max_length', 80), '');
    }

    public function getRouteKeyName(): string
    {
        return 'slug';
    }

    public function scopeWhereSlug($query, string $slug)
    {
        return $query->where('slug', $slug);
    }
}
