<?php

declare(strict_types=1);

namespace Traitctl;

/**
 * flagd's `fractional` bucketing in its three generations, bit-exact with traitctl's engine
 * (`traitctl flags eval`) and with the flagd runtimes it names. murmur3 is MurmurHash3 x86 32-bit,
 * seed 0 (PHP's `hash('murmur3a', …)`), over UTF-8 bytes. A subject is on iff its bucket falls in
 * the first `$percentage` of 100 (the variants `[["on", p], ["off", 100 - p]]` walked in order):
 *
 * - `flagd-v1` (Go flagd <= 0.14, openfeature-provider-flagd 0.2.x): h = murmur3(flag . subject)
 *   read as a signed int32; bucket = abs(h) / 2147483647 * 100 (doubles); on iff bucket < p.
 * - `flagd` (v2: Go flagd >= 0.15, openfeature-flagd-core 1.x): bucket = (uint32 murmur3(flag . subject) * 100) >> 32.
 * - `flagd-v3` (openfeature-flagd-core 2.x): murmur3 over canonical CBOR: of the array
 *   [flag, subject] for stickiness `user` (flagd's targetingKey shorthand), of the text
 *   flag . subject for any other stickiness; bucket = (h * 100) >> 32.
 *
 * Percentage 0 is off and 100 is on for everyone, whatever the hash.
 */
final class FlagdHash
{
    public const ALGORITHMS = ['flagd-v1', 'flagd', 'flagd-v3'];

    private const MAX_INT32 = 2147483647;

    public static function inRollout(
        string $algorithm,
        string $flag,
        string $subject,
        int $percentage,
        string $stickiness = 'user'
    ): bool {
        if ($percentage <= 0) {
            return false;
        }
        if ($percentage >= 100) {
            return true;
        }
        if ($algorithm === 'flagd-v1') {
            // the double expression flagd-v1 computes, in its order of operations
            return abs(self::signed(self::murmur($flag . $subject))) / self::MAX_INT32 * 100 < $percentage;
        }
        return self::bucket($algorithm, $flag, $subject, $stickiness) < $percentage;
    }

    /** The bucket (0-99; 0-100 for flagd-v1) of `$subject` for `$flag`, as `traitctl flags eval` shows it. */
    public static function bucket(string $algorithm, string $flag, string $subject, string $stickiness = 'user'): int
    {
        switch ($algorithm) {
            case 'flagd':
                return (self::murmur($flag . $subject) * 100) >> 32;
            case 'flagd-v1':
                return (int) (abs(self::signed(self::murmur($flag . $subject))) / self::MAX_INT32 * 100);
            case 'flagd-v3':
                $data = $stickiness === 'user'
                    ? "\x82" . self::cborText($flag) . self::cborText($subject)
                    : self::cborText($flag . $subject);
                return (self::murmur($data) * 100) >> 32;
        }
        throw new \InvalidArgumentException(
            "Unknown flagd bucketing algorithm '{$algorithm}': use flagd-v1, flagd or flagd-v3."
        );
    }

    /** `$bytes` as a canonical CBOR text string (RFC 8949 major type 3): shortest length header, then the bytes. */
    public static function cborText(string $bytes): string
    {
        $n = strlen($bytes);
        if ($n < 24) {
            return chr(0x60 | $n) . $bytes;
        }
        if ($n < 0x100) {
            return "\x78" . chr($n) . $bytes;
        }
        if ($n < 0x10000) {
            return "\x79" . pack('n', $n) . $bytes;
        }
        if ($n <= 0xFFFFFFFF) {
            return "\x7a" . pack('N', $n) . $bytes;
        }
        return "\x7b" . pack('J', $n) . $bytes;
    }

    /** MurmurHash3 x86 32-bit, seed 0, as an unsigned integer. */
    private static function murmur(string $data): int
    {
        return (int) hexdec(hash('murmur3a', $data));
    }

    private static function signed(int $h): int
    {
        return $h >= 0x80000000 ? $h - 0x100000000 : $h;
    }
}
