<?php

namespace App\Models;

use App\Models\Traits\BelongsToTenant;
use App\Models\Traits\Cacheable;
use Illuminate\Database\Eloquent\Model;

/**
 * Key/value settings per tenant. Integer keys (no HasUuid): it extends Model directly.
 */
class Setting extends Model
{
    use BelongsToTenant, Cacheable;

    protected $fillable = ['key', 'value'];

    protected $casts = ['value' => 'json'];

    /** Settings change rarely: cache them for a day whatever [traits.Cacheable] ttl says. */
    public function cacheTtl(): int
    {
        return 86400;
    }
}
