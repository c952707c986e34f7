"""Real PHP for the Laravel export and companion: ``php`` (8.1+) and, for the Laravel path, Debian's
``php-illuminate-config`` (``Illuminate\\Config\\Repository``). Missing either fails under CI=true
and skips otherwise.

The ``php_kit`` fixture runs PHP scripts with the companion's ``autoload.php`` and the Repository
loaded, and builds snapshots and exports from in-memory configurations.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPANION = ROOT / "integrations" / "laravel"
ILLUMINATE = Path("/usr/share/php/Illuminate/Config/autoload.php")


def _missing(message: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


class PhpKit:
    """Run PHP with the companion loaded; render exports of in-memory configurations."""

    def __init__(self, php: str, workdir: Path) -> None:
        self.php = php
        self.workdir = workdir
        self.prelude = (f"<?php\ndeclare(strict_types=1);\nrequire {str(COMPANION / 'autoload.php')!r};\n"
                        f"require_once {str(ILLUMINATE)!r};\n")

    def run(self, body: str, *, env: Mapping[str, str] | None = None, input: str | None = None,
            name: str = "script.php", timeout: float = 300) -> str:
        """Run ``body`` (PHP statements after the prelude) and return its stdout; fail on an error."""
        script = self.workdir / name
        script.write_text(self.prelude + body)
        full_env = {k: v for k, v in os.environ.items()}
        full_env.update(env or {})
        proc = subprocess.run([self.php, "-d", "error_reporting=E_ALL", "-d", "display_errors=stderr", str(script)],
                              capture_output=True, text=True, env=full_env, input=input, timeout=timeout)
        assert proc.returncode == 0 and not proc.stderr.strip(), proc.stderr[-3000:]
        return proc.stdout

    def lint(self, path: Path) -> None:
        proc = subprocess.run([self.php, "-l", str(path)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "No syntax errors" in proc.stdout

    def export(self, snapshot: Mapping[str, Any], folder: Path | None = None) -> tuple[Path, list[str]]:
        """Write ``traits.php`` and ``feature_flags.php`` of ``snapshot``; return the folder and the losses."""
        from traitctl.engine import export_laravel

        folder = folder or self.workdir / "config"
        folder.mkdir(parents=True, exist_ok=True)
        files, losses = export_laravel.render(snapshot)
        for name, text in files.items():
            (folder / name).write_text(text)
        return folder, losses


@pytest.fixture(scope="session")
def php_binary() -> str:
    found = shutil.which("php")
    if found is None:
        _missing("php (php-cli) is not installed: apt-get install -y php-cli")
    version = subprocess.run([found, "-r", "echo PHP_VERSION_ID;"], capture_output=True, text=True).stdout
    if not version.isdigit() or int(version) < 80100:
        _missing(f"php {version} is older than 8.1")
    if not ILLUMINATE.exists():
        _missing(f"{ILLUMINATE} is missing: apt-get install -y php-illuminate-config")
    return found


@pytest.fixture
def php_kit(php_binary: str, tmp_path: Path) -> PhpKit:
    return PhpKit(php_binary, tmp_path)


def build_snapshot(cfg: Any, flags: Mapping[str, Any] | None = None, overrides: list[Any] | None = None,
                   now: dt.datetime | None = None) -> dict[str, Any]:
    """The ``traitctl.snapshot/1`` document of ``cfg`` (a ConfigData with every tenant loaded)."""
    from traitctl.engine import snapshot

    return snapshot.build(cfg, flags or {}, overrides or [], source="config/traits.toml", digest="sha256:test",
                          generated=now or dt.datetime(2026, 12, 1), generator="traitctl test")


@pytest.fixture
def snapshot_of():
    return build_snapshot
