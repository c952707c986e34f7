<?php

namespace App\Models;

use App\Models\Traits\BelongsToTenant;
use App\Models\Traits\Cacheable;
use App\Models\Traits\HasStatus;
use Illuminate\Database\Eloquent\Relations\HasMany;
use Illuminate\Database\Eloquent\Relations\HasOne;

class Order extends BaseModel
{
    use BelongsToTenant, HasStatus, Cacheable;

    protected $fillable = ['customer_id', 'total', 'status'];

    public function invoice(): HasOne
    {
        return $this->hasOne(Invoice::class);
    }

    public function lines(): HasMany
    {
        return $this->hasMany(OrderLine::class);
    }
}
