<?php

namespace App\Models\Traits;

use InvalidArgumentException;

/**
 * A status column with allowed transitions.
 *
 * Settings: [traits.HasStatus] (default_status, statuses).
 */
trait HasStatus
{
    public function initializeHasStatus(): void
    {
        $this->attributes['status'] ??= config('traits.HasStatus.default_status', 'draft');
    }

    /** status => statuses it may move to. Models override this for their own workflow. */
    public function statusTransitions(): array
    {
        return [
            'draft' => ['published'],
            'published' => ['archived'],
            'archived' => [],
        ];
    }

    public function transitionTo(string $status): static
    {
        $allowed = $this->statusTransitions()[$this->status] ?? [];
        if (! in_array($status, $allowed, true)) {
            throw new InvalidArgumentException("Cannot move from {$this->status} to {$status}");
        }
        $this->status = $status;
        $this->save();

        return $this;
    }

    /** The status as shown to people ("Published"). */
    public function label(): string
    {
        return ucfirst($this->status);
    }

    public function scopeWithStatus($query, string $status)
    {
        return $query->where('status', $status);
    }
}
