<?php

namespace App\Models;

use Illuminate\Database\Eloquent\Model;
use Illuminate\Database\Eloquent\Relations\MorphTo;

/** One row of the audit trail written by the Auditable trait. */
class Audit extends Model
{
    public const UPDATED_AT = null;

    protected $casts = ['changes' => 'array'];

    public function auditable(): MorphTo
    {
        return $this->morphTo();
    }
}
