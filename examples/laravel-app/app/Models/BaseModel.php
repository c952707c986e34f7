<?php

namespace App\Models;

use App\Models\Traits\HasUuid;
use Illuminate\Database\Eloquent\Model;

/**
 * The application's base model: every model extending it gets UUID keys.
 */
abstract class BaseModel extends Model
{
    use HasUuid;

    protected $guarded = ['id'];

    protected $keyType = 'string';

    public $incrementing = false;
}
