<?php
// Baseline of bench/inventory.py: PHP's own tokenizer over every file named on stdin (one path a
// line), with the minimal declaration scan a tokenizer-based inventory needs (namespace, class-like
// keywords, `use` inside bodies). Prints the file count, token count and CPU seconds as JSON.
$start = hrtime(true);
$files = 0;
$tokens = 0;
$decls = 0;
while (($line = fgets(STDIN)) !== false) {
    $path = rtrim($line, "\n");
    if ($path === '') {
        continue;
    }
    $code = file_get_contents($path);
    $all = PhpToken::tokenize($code);
    $files++;
    $tokens += count($all);
    $depth = 0;
    foreach ($all as $token) {
        if ($token->id === T_CLASS || $token->id === T_TRAIT || $token->id === T_INTERFACE
            || $token->id === T_ENUM || ($token->id === T_USE && $depth > 0)) {
            $decls++;
        } elseif ($token->text === '{' || $token->id === T_CURLY_OPEN || $token->id === T_DOLLAR_OPEN_CURLY_BRACES) {
            $depth++;
        } elseif ($token->text === '}') {
            $depth--;
        }
    }
}
$usage = getrusage();
echo json_encode([
    'files' => $files, 'tokens' => $tokens, 'declarations' => $decls,
    'seconds' => (hrtime(true) - $start) / 1e9,
    'cpu' => $usage['ru_utime.tv_sec'] + $usage['ru_utime.tv_usec'] / 1e6
        + $usage['ru_stime.tv_sec'] + $usage['ru_stime.tv_usec'] / 1e6,
]), "\n";
