"""Shared fixtures: a copy of the bundled example, the CLI runner, real PostgreSQL and Redis.

PostgreSQL and Redis tests fail (not skip) under CI=true when the server is down.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("TRAITCTL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TRAITCTL_TEST_REDIS", "redis://127.0.0.1:6379/0")


@pytest.fixture(autouse=True, scope="session")
def _plain_environment():
    os.environ["NO_COLOR"] = "1"
    os.environ["COLUMNS"] = "200"
    os.environ["TRAITCTL_ACTOR"] = "tester"
    for name in ("TRAITCTL_CONFIG", "TRAITCTL_STORE", "TRAITCTL_QUEUE", "FORCE_COLOR", "CLICOLOR_FORCE"):
        os.environ.pop(name, None)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A private copy of the bundled example: ``<tmp>/config/traits.toml`` (+ tenants/) and
    ``<tmp>/examples/``; the store and queue go to ``<tmp>/config/.traitctl/``."""
    shutil.copytree(ROOT / "config", tmp_path / "config", ignore=shutil.ignore_patterns(".traitctl", "*.lock"))
    if (ROOT / "examples").exists():
        shutil.copytree(ROOT / "examples", tmp_path / "examples")
    return tmp_path


@pytest.fixture
def config_file(project: Path) -> Path:
    return project / "config" / "traits.toml"


class Result:
    def __init__(self, proc: subprocess.CompletedProcess) -> None:
        self.exit_code = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    def __repr__(self) -> str:
        return f"<Result exit={self.exit_code} stdout={self.stdout[-2000:]!r} stderr={self.stderr[-2000:]!r}>"


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, input: str | None = None,
            timeout: float = 120) -> Result:
    """Run ``python -m traitctl ARGS`` in a real subprocess."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.run([sys.executable, "-m", "traitctl", *args], cwd=cwd, env=full_env, input=input,
                          capture_output=True, text=True, timeout=timeout)
    return Result(proc)


def in_process(args: list[str], capsys) -> tuple[int, str, str]:
    """Run traitctl's entry point in this process: (exit code, stdout, stderr) as pytest's
    ``capsys`` captured them (what was captured before is dropped first)."""
    from traitctl.cli import main

    capsys.readouterr()
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def cli(project: Path):
    """``cli("config", "get", ...)`` runs traitctl in the project copy (cwd = project root)."""

    def _run(*args: str, **kwargs) -> Result:
        kwargs.setdefault("cwd", project)
        return run_cli(*args, **kwargs)

    return _run


def _server_down(kind: str, error: Exception):
    message = f"{kind} is not reachable for this test: {error}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def pg_url():
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    try:
        import psycopg

        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except Exception as exc:  # noqa: BLE001 - any failure to connect means the server is down
        _server_down("PostgreSQL", exc)
    name = f"traitctl_t_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def redis_url():
    """The Redis URL with a unique key prefix-free database check; flushes nothing it did not make."""
    try:
        import redis

        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
        client.ping()
    except Exception as exc:  # noqa: BLE001
        _server_down("Redis", exc)
    return REDIS_URL


@pytest.fixture(params=["sqlite-memory", "sqlite-file", "postgresql"])
def store_url(request, tmp_path: Path):
    """Every store backend the contract suite runs against."""
    if request.param == "sqlite-memory":
        return "sqlite:///:memory:"
    if request.param == "sqlite-file":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def store(store_url):
    from traitctl.store.db import Store

    opened = Store.open(store_url)
    yield opened
    opened.close()
