<?php

declare(strict_types=1);

namespace Traitctl;

use Illuminate\Support\ServiceProvider;

/** Binds TraitConfig and FeatureFlags, built once per application from config('traits') and config('feature_flags'). */
final class TraitctlServiceProvider extends ServiceProvider
{
    public function register(): void
    {
        $this->app->singleton(TraitConfig::class, static fn ($app) => new TraitConfig((array) $app['config']->get('traits', [])));
        $this->app->singleton(FeatureFlags::class,
            static fn ($app) => new FeatureFlags((array) $app['config']->get('feature_flags', [])));
    }
}
