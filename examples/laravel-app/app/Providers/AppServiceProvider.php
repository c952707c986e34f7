<?php

namespace App\Providers;

use App\Models\Tenant;
use Illuminate\Support\ServiceProvider;

class AppServiceProvider extends ServiceProvider
{
    public function register(): void
    {
        // The current tenant, resolved per request by the tenancy middleware.
        $this->app->scoped('tenant', fn () => null);
    }

    public function boot(): void
    {
        Tenant::preventLazyLoading(! $this->app->isProduction());
    }
}
