<?php

namespace App\Models;

use App\Models\Traits\BelongsToTenant;
use App\Models\Traits\HasSlug;
use App\Models\Traits\HasStatus;
use App\Models\Traits\HasUserTracking;
use App\Models\Traits\Searchable;
use Illuminate\Database\Eloquent\Relations\BelongsToMany;
use Illuminate\Database\Eloquent\Relations\HasMany;

class Post extends BaseModel
{
    use BelongsToTenant;
    use HasSlug, HasStatus, HasUserTracking;
    use Searchable;

    protected $fillable = ['title', 'body', 'status', 'published_at'];

    public function toSearchableArray(): array
    {
        return ['title' => $this->title, 'body' => strip_tags((string) $this->body)];
    }

    public function comments(): HasMany
    {
        return $this->hasMany(Comment::class);
    }

    public function tags(): BelongsToMany
    {
        return $this->belongsToMany(Tag::class)->using(PostTag::class)->withTimestamps();
    }
}
