<?php

namespace App\Models;

use App\Models\Traits\Cacheable;
use App\Models\Traits\HasSlug;
use Illuminate\Database\Eloquent\Relations\HasMany;

/**
 * A customer organisation; [multi_tenancy] tenant_model points here.
 */
class Tenant extends BaseModel
{
    use HasSlug, Cacheable;

    protected $fillable = ['name', 'slug', 'plan'];

    public function getSlugSource(): string
    {
        return 'name';
    }

    public function users(): HasMany
    {
        return $this->hasMany(User::class);
    }
}
