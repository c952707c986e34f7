<?php

namespace App\Models\Traits;

use App\Models\Tenant;
use Illuminate\Database\Eloquent\Builder;
use Illuminate\Database\Eloquent\Relations\BelongsTo;
use RuntimeException;

/**
 * The tenant-aware trait: every query is scoped to the current tenant, and new rows get its id.
 *
 * Settings: [traits.BelongsToTenant] (column, strict); [multi_tenancy] enables it.
 */
trait BelongsToTenant
{
    /** The tenant column; [traits.BelongsToTenant] column overrides it. */
    protected string $tenantColumn = 'tenant_id';

    public static function bootBelongsToTenant(): void
    {
        static::addGlobalScope('tenant', function (Builder $builder) {
            $tenant = app()->bound('tenant') ? app('tenant') : null;
            if ($tenant === null) {
                if (config('traits.BelongsToTenant.strict', true)) {
                    throw new RuntimeException("No current tenant for {$builder->getModel()->getTable()} (strict mode)");
                }
                return;
            }
            $builder->where($builder->getModel()->qualifyColumn($builder->getModel()->getTenantColumn()), $tenant->getKey());
        });

        static::creating(function ($model) {
            $column = $model->getTenantColumn();
            if (app()->bound('tenant') && empty($model->{$column})) {
                $model->{$column} = app('tenant')->getKey();
            }
        });
    }

    public function getTenantColumn(): string
    {
        return config('traits.BelongsToTenant.column', $this->tenantColumn);
    }

    public function tenant(): BelongsTo
    {
        return $this->belongsTo(Tenant::class, $this->getTenantColumn());
    }

    public function scopeForTenant(Builder $query, Tenant|int $tenant): Builder
    {
        $id = $tenant instanceof Tenant ? $tenant->getKey() : $tenant;

        return $query->withoutGlobalScope('tenant')->where($this->getTenantColumn(), $id);
    }
}
