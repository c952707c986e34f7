"""The Laravel export's two files are written together: when one of them cannot be written, the
other is left as it was (never a new traits.php beside an old feature_flags.php)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_cli


def test_the_laravel_files_are_written_all_or_nothing(project: Path):
    out = project / "laravel-config"
    out.mkdir()
    first = run_cli("export", "--format", "laravel", "--output", str(out), "--allow-lossy", cwd=project)
    assert first.exit_code == 0, first
    traits, flags = out / "traits.php", out / "feature_flags.php"
    before = traits.read_bytes()
    assert run_cli("config", "set", "ttl", "77", "--trait", "Cacheable", cwd=project).exit_code == 0
    flags.unlink()
    flags.mkdir()  # a folder where the second file goes
    result = run_cli("export", "--format", "laravel", "--output", str(out), "--allow-lossy", cwd=project)
    assert (result.exit_code, result.stdout) == (2, ""), result
    assert result.stderr == (f"error: {flags}: cannot write (Is a directory); nothing written: each of the 2 files "
                             "is as it was.\n"), result
    assert traits.read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["feature_flags.php", "traits.php"]  # no temporary file left
    flags.rmdir()
    again = run_cli("export", "--format", "laravel", "--output", str(out), "--allow-lossy", cwd=project)
    assert again.exit_code == 0, again
    assert "77" in traits.read_text() and flags.is_file()
