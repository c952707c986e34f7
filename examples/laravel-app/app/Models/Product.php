<?php

namespace App\Models;

use App\Models\Traits\BelongsToTenant;
use App\Models\Traits\Cacheable;
use App\Models\Traits\HasSlug;
use App\Models\Traits\Searchable;
use Illuminate\Database\Eloquent\SoftDeletes;

class Product extends BaseModel
{
    use BelongsToTenant, Cacheable, HasSlug, Searchable, SoftDeletes;

    protected $fillable = ['name', 'sku', 'price', 'category_id'];

    public function getSlugSource(): string
    {
        return 'name';
    }

    public function toSearchableArray(): array
    {
        return ['name' => $this->name, 'sku' => $this->sku];
    }

    public function category()
    {
        return $this->belongsTo(Category::class);
    }
}
