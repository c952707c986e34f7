<?php

namespace App\Models\Traits;

use Illuminate\Support\Str;

/**
 * Primary keys as UUIDs instead of auto-increment integers.
 *
 * Settings: [traits.HasUuid] in config/traits.toml (version, column).
 */
trait HasUuid
{
    public static function bootHasUuid(): void
    {
        static::creating(function ($model) {
            $column = $model->getUuidColumn();
            if (empty($model->{$column})) {
                $model->{$column} = $model->newUuid();
            }
        });
    }

    public function initializeHasUuid(): void
    {
        $this->usesUniqueIds = true;
    }

    public function getUuidColumn(): string
    {
        return config('traits.HasUuid.column', 'uuid');
    }

    public function newUuid(): string
    {
        return (string) (config('traits.HasUuid.version', 4) === 7 ? Str::uuid7() : Str::uuid());
    }

    public function scopeWhereUuid($query, string $uuid)
    {
        return $query->where($this->getUuidColumn(), $uuid);
    }
}
