<?php

namespace App\Models\Traits;

use Illuminate\Database\Eloquent\Relations\MorphMany;
use Illuminate\Support\Facades\DB;

/**
 * An audit trail of model events. Uses HasUserTracking so every audit row knows who acted.
 *
 * Settings: [traits.Auditable] (enabled, retention_days, events).
 */
trait Auditable
{
    use HasUserTracking;

    public static function bootAuditable(): void
    {
        foreach (config('traits.Auditable.events', ['created', 'updated', 'deleted']) as $event) {
            static::$event(function ($model) use ($event) {
                $model->recordAudit($event);
            });
        }
    }

    public function recordAudit(string $event): void
    {
        if (! config('traits.Auditable.enabled', true)) {
            return;
        }
        DB::table('audits')->insert([
            'auditable_type' => static::class,
            'auditable_id' => $this->getKey(),
            'event' => $event,
            'user_id' => $this->{$this->getUpdatedByColumn()} ?? $this->{$this->getCreatedByColumn()},
            'changes' => json_encode($this->getDirty()),
            'created_at' => now(),
        ]);
    }

    public function audits(): MorphMany
    {
        return $this->morphMany(\App\Models\Audit::class, 'auditable');
    }

    /** A human label for audit listings ("Invoice #42"). */
    public function label(): string
    {
        return class_basename($this) . ' #' . $this->getKey();
    }
}
