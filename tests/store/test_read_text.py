"""``toml_file.read_text``: the raw reads thousands of tenant files go through keep text-mode answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from traitctl.engine.errors import ConfigFileError
from traitctl.engine.limits import ConfigLimits
from traitctl.store import toml_file


@pytest.mark.parametrize("raw", [b"a = 1\r\nb = 2\r\n", b"a = 1\rb = 2\r", b"a = 1\nb = 2\n", "é = 1\n".encode()])
def test_text_is_what_a_text_mode_read_gives(tmp_path: Path, raw: bytes):
    path = tmp_path / "t.toml"
    path.write_bytes(raw)
    expected = path.read_text(encoding="utf-8")
    assert toml_file.read_text(path) == expected
    assert toml_file.read_text(str(path)) == expected


def test_errors_name_the_file(tmp_path: Path):
    with pytest.raises(ConfigFileError, match=r"no such file\.$"):
        toml_file.read_text(tmp_path / "missing.toml")
    with pytest.raises(ConfigFileError, match=r"is a directory, not a TOML file\.$"):
        toml_file.read_text(tmp_path)
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(b"name = \"caf\xe9\"\n")
    with pytest.raises(ConfigFileError, match=r"latin1.toml: not UTF-8 text \(byte 11\)\.$"):
        toml_file.read_text(bad)
    big = tmp_path / "big.toml"
    big.write_text("a = 1\n" * 10)
    with pytest.raises(ConfigFileError, match=r"big.toml has 60 bytes, more than the limit of 59"):
        toml_file.read_text(big, ConfigLimits(max_bytes=59))
    assert toml_file.read_text(big, ConfigLimits(max_bytes=60)) == "a = 1\n" * 10
