"""``flags import`` of odd PHP files: values it cannot read are one sentence naming the file (and
line), exit 2, never a traceback (exit 70); PHP's escapes and octal numbers are read as PHP reads them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli

REFUSED = [
    ("nested", "<?php return " + "[" * 3000 + "]" * 3000 + ";", ":1: values nested more than 32 deep; a flag file has 'features' and 'percentages' arrays of flags."),
    ("minus-chain", "<?php return ['features' => ['a' => " + "- " * 3000 + "1]];", ":1: values nested more than 32 deep; a flag file has 'features' and 'percentages' arrays of flags."),
    ("percentage-inf", "<?php return ['features' => ['ok' => true], 'percentages' => ['ok' => 1e999]];",
     ": percentages.ok = INF is not a finite number."),
    ("percentage-nan-text", "<?php return ['features' => ['ok' => true], 'percentages' => ['ok' => 'nan']];",
     ": percentages.ok = 'nan' is not a finite number."),
    ("array-key", "<?php return ['features' => [[1] => true]];",
     ":1: '[1]' cannot be an array key (use a string or a whole number)."),
    ("null-key", "<?php return ['features' => [null => true]];",
     ":1: 'null' cannot be an array key (use a string or a whole number)."),
    ("minus-string", "<?php return ['features' => ['ok' => -'a']];",
     ":1: cannot read \"-'a'\" (only literals, arrays and env())."),
    ("bad-byte", '<?php return ["features" => ["\\xff" => true]];',
     ':1: the string "\\xff" is not UTF-8 text once its escapes are read (byte 0).'),
    ("bad-code-point", '<?php return ["features" => ["\\u{110000}" => true]];',
     ":1: '\\\\u{110000}' is not a Unicode code point."),
]


@pytest.mark.parametrize("text,found", [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_an_odd_flag_file_is_one_sentence(project: Path, config_file: Path, text: str, found: str):
    php = project / "feature_flags.php"
    php.write_text(text)
    before = config_file.read_bytes()
    result = run_cli("flags", "import", str(php), cwd=project)
    assert (result.exit_code, result.stdout) == (2, ""), result
    assert result.stderr == f"error: {php}{found}\n", result
    assert config_file.read_bytes() == before


def test_escapes_and_octal_numbers_are_read_as_php_reads_them(project: Path):
    php = project / "feature_flags.php"
    # "\xc3\xa9" is the UTF-8 of é, "\u{e9}" é, "\101" A, "\$" a dollar; "\x" and "\N" are no escapes
    php.write_text('<?php return ["features" => ["\\xc3\\xa9\\u{e9}\\101\\$" => true, "a\\x" => true, "b\\N" => true],\n'
                   "  'percentages' => ['a\\x' => 010]];\n")
    result = run_cli("--json", "flags", "import", str(php), "--dry-run", cwd=project)
    assert result.exit_code == 0, result
    flags = {f["name"]: f for f in json.loads(result.stdout)["flags"]}
    assert sorted(flags) == ["a\\x", "b\\N", "ééA$"], flags
    assert flags["a\\x"]["percentage"] == 8, flags  # 010 is octal in PHP
