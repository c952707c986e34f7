<?php

namespace App\Models;

use App\Models\Traits\HasUserTracking;
use Illuminate\Database\Eloquent\Relations\Pivot;

/** The post_tag pivot: who tagged what. */
class PostTag extends Pivot
{
    use HasUserTracking;

    protected $table = 'post_tag';

    public $incrementing = true;
}
