<?php

declare(strict_types=1);

namespace Traitctl;

/**
 * Telemetry points appended as JSON lines that `traitctl metrics ingest FILE` reads:
 * `{"name": …, "value": …, "kind": "counter", "labels": {…}, "ts": <epoch seconds>}`.
 *
 * The file is `Telemetry::configure($path)`, else `$TRAITCTL_TELEMETRY_FILE`, else
 * `storage_path('logs/traitctl-metrics.jsonl')` in Laravel, else `<temp dir>/traitctl-metrics.jsonl`.
 * Each point is one `fwrite` under an exclusive lock (concurrent PHP workers never interleave lines),
 * and the file is opened per point, so rotating it is a rename: move the file away, then ingest the
 * moved file; the next point creates a new one.
 *
 * Failures throw `\RuntimeException` naming the file: it cannot be opened or locked, or a write was
 * short (a full disk, a file size limit); a short write is first cut back, under the lock, to the size
 * the file had, so the file only ever holds complete lines.
 */
final class Telemetry
{
    private static ?string $path = null;

    /** Write points to `$path` from now on (null: back to the default). */
    public static function configure(?string $path): void
    {
        self::$path = $path;
    }

    /** The file points go to. */
    public static function path(): string
    {
        if (self::$path !== null) {
            return self::$path;
        }
        $env = getenv('TRAITCTL_TELEMETRY_FILE');
        if (is_string($env) && $env !== '') {
            return $env;
        }
        if (function_exists('storage_path')) {
            return \storage_path('logs/traitctl-metrics.jsonl');
        }
        return rtrim(sys_get_temp_dir(), DIRECTORY_SEPARATOR) . DIRECTORY_SEPARATOR . 'traitctl-metrics.jsonl';
    }

    /**
     * Record a counter increment (`trait.<Trait>.<metric>` names get the label `trait`).
     *
     * @param array<string, string|int|float|bool> $labels label name -> value (`model`, `tenant`, free labels)
     */
    public static function record(string $name, float $value = 1, array $labels = []): void
    {
        self::write($name, $value, 'counter', $labels);
    }

    /** @param array<string, string|int|float|bool> $labels */
    public static function gauge(string $name, float $value, array $labels = []): void
    {
        self::write($name, $value, 'gauge', $labels);
    }

    /** @param array<string, string|int|float|bool> $labels a duration or size, e.g. milliseconds */
    public static function timing(string $name, float $value, array $labels = []): void
    {
        self::write($name, $value, 'timing', $labels);
    }

    /** @param array<string, string|int|float|bool> $labels */
    private static function write(string $name, float $value, string $kind, array $labels): void
    {
        if (!is_finite($value)) {
            throw new \InvalidArgumentException("Telemetry $name: the value must be a finite number.");
        }
        $point = ['name' => $name, 'value' => $value, 'kind' => $kind, 'ts' => microtime(true)];
        if ($labels !== []) {
            $point['labels'] = array_map(
                static fn ($v): string => is_bool($v) ? ($v ? 'true' : 'false') : (string) $v, $labels);
        }
        $line = json_encode($point, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_PRESERVE_ZERO_FRACTION
            | JSON_THROW_ON_ERROR) . "\n";
        self::append(self::path(), $line);
    }

    /**
     * Append one line under an exclusive lock. A short write (a full disk, a file size limit) is cut
     * back to the size the file had before it, still under the lock, so the file never keeps a partial
     * line that the next point would be glued onto; then the failure is a RuntimeException.
     */
    private static function append(string $path, string $line): void
    {
        error_clear_last();
        $handle = @fopen($path, 'ab');
        if ($handle === false) {
            throw new \RuntimeException("Telemetry: cannot append to $path" . self::reason() . '.');
        }
        try {
            if (!@flock($handle, LOCK_EX)) {
                throw new \RuntimeException("Telemetry: cannot lock $path" . self::reason() . '.');
            }
            try {
                $before = fstat($handle)['size'];
                $written = @fwrite($handle, $line);  // @: a warning must not skip the repair below
                if ($written !== strlen($line)) {
                    $reason = self::reason();
                    $repaired = @ftruncate($handle, $before);
                    throw new \RuntimeException(sprintf('Telemetry: cannot append to %s (%d of %d bytes written%s)%s.',
                        $path, (int) $written, strlen($line), $reason,
                        $repaired ? '; the partial line was removed' : "; the partial line could not be removed"));
                }
            } finally {
                @flock($handle, LOCK_UN);
            }
        } finally {
            @fclose($handle);
        }
    }

    /** The last PHP warning's text as `: text`, or nothing. */
    private static function reason(): string
    {
        $error = error_get_last();
        return $error === null ? '' : ': ' . $error['message'];
    }
}
