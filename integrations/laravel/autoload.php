<?php

declare(strict_types=1);

// The traitctl companion without Composer: `require 'path/to/integrations/laravel/autoload.php';`
// loads Traitctl\* from src/ (PSR-4) and defines env() when Laravel does not.

spl_autoload_register(static function (string $class): void {
    if (str_starts_with($class, 'Traitctl\\')) {
        $file = __DIR__ . '/src/' . str_replace('\\', '/', substr($class, 9)) . '.php';
        if (is_file($file)) {
            require $file;
        }
    }
});

require_once __DIR__ . '/src/env.php';
