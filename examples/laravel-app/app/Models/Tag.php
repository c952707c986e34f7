<?php

namespace App\Models;

use App\Models\Traits\HasSlug;

class Tag extends BaseModel
{
    use HasSlug;

    protected $fillable = ['name'];

    public function getSlugSource(): string
    {
        return 'name';
    }

    public function posts()
    {
        return $this->belongsToMany(Post::class)->using(PostTag::class);
    }
}
