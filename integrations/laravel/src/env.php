<?php

declare(strict_types=1);

// Laravel's env() for applications and tests that load the exported files without Laravel
// (Illuminate\Support\Env::get: $_SERVER, then $_ENV, then getenv(); true/false/empty/null and
// their (parenthesised) forms are converted, case-insensitively; matching quotes are stripped).
// Laravel's own helper is used when it is defined.

if (!function_exists('env')) {
    function env(string $key, mixed $default = null): mixed
    {
        $value = $_SERVER[$key] ?? $_ENV[$key] ?? getenv($key);
        if ($value === false || !is_string($value)) {
            return $value === false ? ($default instanceof \Closure ? $default() : $default) : $value;
        }
        switch (strtolower($value)) {
            case 'true':
            case '(true)':
                return true;
            case 'false':
            case '(false)':
                return false;
            case 'empty':
            case '(empty)':
                return '';
            case 'null':
            case '(null)':
                return null;
        }
        if (preg_match('/\A([\'"])(.*)\1\z/', $value, $matches)) {
            return $matches[2];
        }
        return $value;
    }
}
