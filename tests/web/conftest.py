"""Fixtures of the dashboard tests: the example project with data, and a test client per server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

TOKEN = "test-token-0123456789abcdef"

#: Thresholds no loaded test machine reaches, so that /health can be healthy.
CALM_SERVER = """[telemetry.server]
cpu_percent = { warning = 100, critical = 100 }
memory_percent = { warning = 100, critical = 100 }
disk_percent = { warning = 100, critical = 100 }
load_per_core = { warning = 1000, critical = 1000 }
"""


def calm(config_file: Path) -> None:
    """Raise the server thresholds of the example configuration (see :data:`CALM_SERVER`)."""
    text = config_file.read_text()
    start = text.index("[telemetry.server]")
    end = text.index("\n\n", start)
    config_file.write_text(text[:start] + CALM_SERVER.rstrip("\n") + text[end:])


@pytest.fixture
def make_client(project: Path):
    """``make_client(allow_writes=False, public_health=False)``: a Starlette TestClient of
    ``traitctl serve`` on the project copy (not logged in)."""
    from starlette.testclient import TestClient

    from traitctl.web.app import ServeOptions, create_app

    made = []

    def _make(**kwargs) -> TestClient:
        options = ServeOptions(token=TOKEN, cwd=project, actor="tester", env={"TRAITCTL_ACTOR": "tester"}, **kwargs)
        client = TestClient(create_app(options), base_url="http://127.0.0.1:8765", follow_redirects=False)
        made.append(client)
        return client

    yield _make
    for client in made:
        client.app.state.backend.close()


def login(client) -> None:
    """Log in through the login URL (sets the session cookie)."""
    response = client.get(f"/?token={TOKEN}")
    assert response.status_code == 303, response.text
    client.cookies.update(response.cookies)


@pytest.fixture
def start_serve(project: Path):
    """``start_serve(*options, token=..., stdout=DEVNULL) -> (port, process)``: a real ``traitctl serve``
    of the example project on a free port, returned once it accepts connections; stopped at teardown."""
    started: list[subprocess.Popen] = []

    def _start(*options: str, token: str, stdout=subprocess.DEVNULL) -> tuple[int, subprocess.Popen]:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        proc = subprocess.Popen([sys.executable, "-m", "traitctl", "serve", "--port", str(port), *options],
                                cwd=project, env=dict(os.environ, TRAITCTL_SERVE_TOKEN=token),
                                stdout=stdout, stderr=subprocess.PIPE, text=True)
        started.append(proc)
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.stderr.read()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return port, proc
            except OSError:
                assert time.monotonic() < deadline, "traitctl serve did not start"
                time.sleep(0.1)

    yield _start
    for proc in started:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)
