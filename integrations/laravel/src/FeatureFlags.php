<?php

declare(strict_types=1);

namespace Traitctl;

/**
 * Feature flags decided exactly as `traitctl flags eval` decides them, read from the
 * `feature_flags.php` that `traitctl export --format laravel` writes.
 *
 * Order: an unexpired user override; the tenant's flag settings replace the global ones;
 * `enabled = false` is off; no percentage is on; otherwise the subject the stickiness names
 * (user, tenant, `$attributes['model']` = "<Model FQN>:<key>", or any attribute) is bucketed with the
 * flag's algorithm. Without that subject a flag is on only where every bucket is on (100 %, and 99 %
 * or more under crc32-seed).
 *
 * A hand-written file in the seeds' shape (no '@traitctl' key) is read as the seeds'
 * FeatureFlagService reads it: `percentages.<flag> > 0` buckets with crc32-seed, else `features.<flag>`.
 */
final class FeatureFlags
{
    /** @var array<string, array<string, mixed>> */
    private array $flags;
    /** @var array<string, array<string|int, array{on: bool, until: int|float|null}>> */
    private array $overrides;
    /**
     * flag -> tenant ('' = none) -> its rule (see compile())
     *
     * @var array<string, array<string|int, bool|int|array<int, mixed>>>
     */
    private array $rules = [];
    /** @var array<string, bool|int|array<int, mixed>> flag -> its global rule (`$this->rules[$flag]['']`) */
    private array $global = [];

    /** rule kinds (a rule's [0]): crc32 of another subject than the user, unleash, a flagd generation */
    private const CRC32 = 2;
    private const UNLEASH = 3;
    private const FLAGD = 4;
    /** a flag with user overrides: [OVERRIDDEN, the rule without them] */
    private const OVERRIDDEN = 0;
    /** how many tenants without settings of their own a flag's rules remember */
    private const MAX_TENANTS = 4096;
    private const BY_USER = 0;
    private const BY_TENANT = 1;
    /** @var null|\Closure(): float */
    private ?\Closure $clock;

    /**
     * @param array<string, mixed> $config the array `feature_flags.php` returns (Laravel: `config('feature_flags')`)
     * @param null|callable(): float $clock the time in epoch seconds (default `microtime(true)`), for tests
     */
    public function __construct(array $config, ?callable $clock = null)
    {
        $this->clock = $clock === null ? null : \Closure::fromCallable($clock);
        $exact = $config['@traitctl'] ?? null;
        if (is_array($exact)) {
            if (($exact['format'] ?? null) !== 1) {
                throw new \UnexpectedValueException(
                    "feature_flags.php: '@traitctl' format " . var_export($exact['format'] ?? null, true)
                    . ' is not 1; re-export it with this version of traitctl or update the companion.');
            }
            $this->flags = $exact['flags'] ?? [];
            $this->overrides = $exact['overrides'] ?? [];
            return;
        }
        $this->flags = self::seedFlags((array) ($config['features'] ?? []), (array) ($config['percentages'] ?? []));
        $this->overrides = [];
    }

    /** FeatureFlags of the `feature_flags.php` at `$featureFlagsPhp`. */
    public static function fromFile(string $featureFlagsPhp, ?callable $clock = null): self
    {
        return new self(Internal::load($featureFlagsPhp), $clock);
    }

    /** FeatureFlags of Laravel's `config('feature_flags')`. */
    public static function fromLaravel(): self
    {
        return new self((array) \config('feature_flags', []));
    }

    /** Whether `$flag` is on for this context (an unknown flag is off). */
    public function isEnabled(string $flag, string|int|null $user = null, string|int|null $tenant = null,
                              array $attributes = []): bool
    {
        // the compiled rule of ($flag, $tenant) (see compile()); a null tenant reads the '' entry
        $rule = ($tenant === null ? $this->global[$flag] ?? null : $this->rules[$flag][$tenant] ?? null)
            ?? $this->ruleOf($flag, $tenant);
        if (\is_int($rule)) {  // the commonest rule: crc32 of the user, on below this bucket
            return $user !== null && \crc32("$flag:$user") % 100 < $rule;
        }
        if (\is_bool($rule)) {
            return $rule;
        }
        return $this->decide($rule, $flag, $user, $tenant, $attributes);
    }

    /**
     * The answer of a rule that is not a constant nor crc32 of the user: a flag with user overrides
     * (checked against the clock on every call), other stickiness, other algorithms.
     *
     * @param array<int, mixed> $rule
     * @param array<string, mixed> $attributes
     */
    private function decide(array $rule, string $flag, string|int|null $user, string|int|null $tenant,
                            array $attributes): bool
    {
        if ($rule[0] === self::OVERRIDDEN) {
            if ($user !== null && isset($this->overrides[$flag][$user])) {
                $override = $this->overrides[$flag][$user];
                if ($override['until'] === null
                        || $override['until'] > ($this->clock === null ? \microtime(true) : ($this->clock)())) {
                    return $override['on'];
                }
            }
            $rule = $rule[1];
            if (\is_int($rule)) {
                return $user !== null && \crc32("$flag:$user") % 100 < $rule;
            }
            if (\is_bool($rule)) {
                return $rule;
            }
        }
        $subject = $rule[3] === self::BY_USER ? $user : ($rule[3] === self::BY_TENANT ? $tenant : $attributes[$rule[3]] ?? null);
        if ($subject === null) {
            return false;  // only a flag on for every bucket is on without a subject (a constant rule)
        }
        if ($rule[0] === self::CRC32) {
            return \crc32($rule[2] . $subject) % 100 < $rule[1];
        }
        if ($rule[0] === self::UNLEASH) {
            return \hexdec(\hash('murmur3a', $rule[2] . $subject)) % 100 < $rule[1];
        }
        return self::flagd($rule[5], $flag, (string) $subject, $rule[1], (string) $rule[4]);
    }

    /** The flag names this file defines. @return list<string> */
    public function names(): array
    {
        return array_map('strval', array_keys($this->flags));
    }

    /**
     * The rule of `$flag` for `$tenant` when `$this->rules` does not hold it yet: compiles the flag's
     * rules (global and per tenant) on first use, and remembers that a tenant without settings of
     * its own takes the global rule (for up to MAX_TENANTS tenants per flag). A flag the file does not
     * define is off and not remembered: what is remembered is bounded by the file, not by the names
     * callers ask about.
     */
    private function ruleOf(string $flag, string|int|null $tenant): bool|int|array
    {
        if (!isset($this->flags[$flag])) {
            return false;
        }
        if (!isset($this->rules[$flag])) {
            $this->compileFlag($flag);
        }
        $rules = $this->rules[$flag];
        $id = $tenant ?? '';
        if (isset($rules[$id])) {  // its own settings (or none: '')
            return $rules[$id];
        }
        if (count($rules) < self::MAX_TENANTS) {
            $this->rules[$flag][$id] = $rules[''];
        }
        return $rules[''];
    }

    /** Compiles every rule of `$flag`: one per tenant with settings of its own, and '' (global). */
    private function compileFlag(string $flag): void
    {
        $rules = [];
        foreach ((array) ($this->flags[$flag]['tenants'] ?? []) as $id => $_) {
            if ($id !== '') {
                $rules[$id] = $this->compile($flag, $id);
            }
        }
        $rules[''] = $this->compile($flag, null);
        if (isset($this->overrides[$flag])) {
            // overrides depend on the clock: such a flag's rules always take decide()'s path
            $rules = array_map(static fn (bool|int|array $rule): array => [self::OVERRIDDEN, $rule], $rules);
        }
        $this->rules[$flag] = $rules;
        $this->global[$flag] = $rules[''];
    }

    /**
     * The constant answer; for crc32 (or crc32-seed) of the user, the threshold (on when
     * `crc32("<flag>:<user>") % 100` is below it); else [kind (CRC32, UNLEASH or FLAGD), threshold,
     * hash prefix, stickiness (BY_USER, BY_TENANT or an attribute name), the stickiness name, the
     * algorithm's name].
     *
     * @return bool|int|array<int, mixed>
     */
    private function compile(string $flag, string|int|null $tenant): bool|int|array
    {
        $settings = $this->flags[$flag] ?? null;
        if ($settings === null) {
            return false;
        }
        if ($tenant !== null && $tenant !== '' && isset($settings['tenants'][$tenant])) {
            $settings = $settings['tenants'][$tenant];
        }
        $algorithm = (string) ($settings['bucketing'] ?? 'crc32');
        if (!in_array($algorithm, ['crc32', 'crc32-seed', 'unleash', 'flagd', 'flagd-v1', 'flagd-v3'], true)) {
            throw new \UnexpectedValueException("feature_flags.php: flag $flag buckets with unknown algorithm '$algorithm'.");
        }
        $pct = self::percentage($settings['percentage'] ?? null, $flag);
        if (!self::enabled($settings['enabled'] ?? false)) {
            return false;
        }
        if ($pct === null || $pct >= 100 || ($algorithm === 'crc32-seed' && ($pct === 0 || $pct >= 99))) {
            return true;
        }
        if ($pct <= 0) {
            return false;
        }
        $stickiness = (string) ($settings['stickiness'] ?? 'user');
        $by = match ($stickiness) {
            'user' => self::BY_USER,
            'tenant' => self::BY_TENANT,
            default => $stickiness,
        };
        if ($by === self::BY_USER && ($algorithm === 'crc32' || $algorithm === 'crc32-seed')) {
            return $algorithm === 'crc32' ? $pct : $pct + 1;  // crc32-seed: on where bucket <= percentage
        }
        [$kind, $threshold, $prefix] = match ($algorithm) {
            'crc32' => [self::CRC32, $pct, $flag . ':'],
            'crc32-seed' => [self::CRC32, $pct + 1, $flag . ':'],  // bucket <= percentage
            'unleash' => [self::UNLEASH, $pct, ($settings['group'] ?? null ?: $flag) . ':'],
            default => [self::FLAGD, $pct, $flag],
        };
        return [$kind, $threshold, $prefix, $by, $stickiness, $algorithm];
    }

    private static function flagd(string $algorithm, string $flag, string $subject, int $percentage,
                                  string $stickiness): bool
    {
        if (!class_exists(FlagdHash::class)) {
            throw new \LogicException("Traitctl\\FlagdHash is missing: the $algorithm algorithm needs src/FlagdHash.php.");
        }
        return FlagdHash::inRollout($algorithm, $flag, $subject, $percentage, $stickiness);
    }

    /** A switch as traitctl reads it: a bool, or env()'s answer by PHP truthiness ('', '0' and null are off). */
    private static function enabled(mixed $value): bool
    {
        return (bool) $value;
    }

    /** A percentage: a whole number, or env()'s text of one. */
    private static function percentage(mixed $value, string $flag): ?int
    {
        if ($value === null || is_int($value)) {
            return $value;
        }
        if (is_string($value) && preg_match('/\A\s*(-?[0-9]+)\s*\z/', $value, $m)) {
            return (int) $m[1];
        }
        throw new \UnexpectedValueException("feature_flags.php: flag $flag has percentage "
            . var_export($value, true) . ', not a whole number from 0 to 100.');
    }

    /**
     * @param array<string, mixed> $features
     * @param array<string, mixed> $percentages
     * @return array<string, array<string, mixed>>
     */
    private static function seedFlags(array $features, array $percentages): array
    {
        $flags = [];
        foreach (array_keys($features + $percentages) as $name) {
            $pct = (int) ($percentages[$name] ?? 0);
            $flags[(string) $name] = ['enabled' => $pct > 0 || (bool) ($features[$name] ?? false),
                'percentage' => $pct > 0 ? $pct : null, 'bucketing' => 'crc32-seed', 'stickiness' => 'user'];
        }
        return $flags;
    }
}
