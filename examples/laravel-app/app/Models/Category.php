<?php

namespace App\Models;

use App\Models\Traits\Cacheable;
use App\Models\Traits\HasSlug;

class Category extends BaseModel
{
    use HasSlug, Cacheable;

    protected $fillable = ['name', 'parent_id'];

    public function getSlugSource(): string
    {
        return 'name';
    }

    public function products()
    {
        return $this->hasMany(Product::class);
    }
}
