<?php

namespace App\Models\Traits;

use App\Models\User;
use Illuminate\Database\Eloquent\Relations\BelongsTo;
use Illuminate\Support\Facades\Auth;

/**
 * created_by / updated_by columns filled from the authenticated user.
 *
 * Settings: [traits.HasUserTracking] (track_updates, retention_days, *_column).
 */
trait HasUserTracking
{
    public static function bootHasUserTracking(): void
    {
        static::creating(function ($model) {
            $model->{$model->getCreatedByColumn()} ??= Auth::id();
        });

        static::updating(function ($model) {
            if (config('traits.HasUserTracking.track_updates', true)) {
                $model->{$model->getUpdatedByColumn()} = Auth::id();
            }
        });
    }

    public function getCreatedByColumn(): string
    {
        return config('traits.HasUserTracking.created_by_column', 'created_by');
    }

    public function getUpdatedByColumn(): string
    {
        return config('traits.HasUserTracking.updated_by_column', 'updated_by');
    }

    public function creator(): BelongsTo
    {
        return $this->belongsTo(User::class, $this->getCreatedByColumn());
    }

    public function updater(): BelongsTo
    {
        return $this->belongsTo(User::class, $this->getUpdatedByColumn());
    }
}
