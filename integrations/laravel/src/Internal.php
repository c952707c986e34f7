<?php

declare(strict_types=1);

namespace Traitctl;

/** @internal helpers shared by the companion's classes. */
final class Internal
{
    /** @return array<string|int, mixed> the array the PHP file at `$path` returns */
    public static function load(string $path): array
    {
        if (!is_file($path)) {
            throw new \InvalidArgumentException("$path: no such file (write it with `traitctl export --format laravel`).");
        }
        $config = (static fn (string $file): mixed => require $file)($path);
        if (!is_array($config)) {
            throw new \UnexpectedValueException("$path: the file does not return an array.");
        }
        return $config;
    }
}
