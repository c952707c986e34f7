"""The login URL's redirect on a real ``traitctl serve``: the path is percent-encoded into the
Location header (CR/LF or non-ASCII characters never crash the response) and always stays on this
server (``//other.host/`` is not followed off-site)."""

from __future__ import annotations

import http.client
import subprocess

import pytest

TOKEN = "login-redirect-token-0123456789"


@pytest.fixture
def server(start_serve):
    return start_serve(token=TOKEN, stdout=subprocess.PIPE)


def _location(port: int, target: str) -> tuple[int, str | None]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", target)
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader("location")
    finally:
        connection.close()


def test_the_login_redirect_is_encoded_and_stays_on_this_server(server):
    port, proc = server
    cases = {
        "/%0d%0aX-Injected:%20yes": "/%0D%0AX-Injected:%20yes",
        "//evil.example/flags": "/evil.example/flags",
        "/caf%C3%A9": "/caf%C3%A9",
        "/flags": "/flags",
    }
    for path, expected in cases.items():
        assert _location(port, f"{path}?token={TOKEN}&x=1") == (303, f"{expected}?x=1"), path
    assert _location(port, f"/flags?token={TOKEN}") == (303, "/flags")
    proc.terminate()
    _, err = proc.communicate(timeout=30)
    assert "Traceback" not in err and "Illegal header value" not in err, err
