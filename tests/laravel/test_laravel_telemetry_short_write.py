"""``Telemetry`` on a short write (a file size limit, as on a full disk): the partial line is cut
back under the lock and the failure is a RuntimeException, so the file holds only complete lines
and the next point, once there is room again, is intact. Real php-cli under RLIMIT_FSIZE."""

from __future__ import annotations

import json
import resource
import signal
import subprocess
from pathlib import Path

from tests.laravel.conftest import COMPANION

LIMIT = 700  # bytes: the first points fit, a later one is cut off mid-line

WRITER = r"""<?php
declare(strict_types=1);
require %(autoload)s;
// Laravel's error handler: a warning not silenced with @ becomes an ErrorException.
set_error_handler(static function (int $level, string $message): bool {
    if (error_reporting() & $level) {
        throw new ErrorException($message, 0, $level);
    }
    return false;
});
Traitctl\Telemetry::configure($argv[1]);
$out = [];
for ($i = 0; $i < (int) $argv[2]; $i++) {
    try {
        Traitctl\Telemetry::record('trait.Cacheable.hits', $i, ['tenant' => str_repeat('t', 40), 'run' => $argv[3]]);
        $out[] = 'ok';
    } catch (RuntimeException $e) {
        $out[] = get_class($e) . ': ' . $e->getMessage();
    }
}
echo json_encode($out);
"""


def _limited():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead of killing php
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


def _php(php: str, script: Path, path: Path, count: int, run: str, limited: bool) -> list[str]:
    proc = subprocess.run([php, "-d", "error_reporting=E_ALL", "-d", "display_errors=stderr", str(script),
                           str(path), str(count), run], capture_output=True, text=True, timeout=60,
                          preexec_fn=_limited if limited else None)
    assert proc.returncode == 0 and not proc.stderr.strip(), proc.stderr[-3000:]
    return json.loads(proc.stdout)


def test_short_write_leaves_only_complete_lines(php_binary: str, tmp_path: Path):
    script = tmp_path / "writer.php"
    script.write_text(WRITER % {"autoload": repr(str(COMPANION / "autoload.php"))})
    path = tmp_path / "metrics.jsonl"

    results = _php(php_binary, script, path, 8, "limited", limited=True)
    ok = results.count("ok")
    assert 0 < ok < 8, results  # some points fit, then the limit cut a write short
    assert results[:ok] == ["ok"] * ok
    for failure in results[ok:]:
        assert failure.startswith(f"RuntimeException: Telemetry: cannot append to {path} ("), failure
        assert failure.endswith("; the partial line was removed."), failure
    text = path.read_text()
    assert text.endswith("\n") and len(text.encode()) <= LIMIT
    assert [json.loads(line)["value"] for line in text.splitlines()] == [float(i) for i in range(ok)]

    assert _php(php_binary, script, path, 2, "free", limited=False) == ["ok", "ok"]
    lines = path.read_text().splitlines()
    points = [json.loads(line) for line in lines]  # every line is one whole JSON point
    assert [(p["value"], p["labels"]["run"]) for p in points] == \
        [(float(i), "limited") for i in range(ok)] + [(0.0, "free"), (1.0, "free")]
