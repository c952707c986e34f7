"""A real ``traitctl serve --allow-writes`` given numbers that ``str.isdigit`` accepts but ``int``
refuses ("²") or that no store holds: 400 with one sentence, never a 500 and a traceback."""

from __future__ import annotations

import http.client
import json

TOKEN = "bad-numbers-token-0123456789"


def test_odd_numbers_are_bad_requests(start_serve):
    port, server = start_serve("--allow-writes", token=TOKEN)
    try:
        headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}

        def ask(method: str, target: str) -> tuple[int, dict]:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            try:
                connection.request(method, target, headers=headers)
                response = connection.getresponse()
                return response.status, json.loads(response.read() or b"{}")
            finally:
                connection.close()

        assert ask("GET", "/api/history?limit=%C2%B2") == (400, {"error": "limit '²' is not a whole number from 1 "
                                                                           "to 1000."})
        assert ask("POST", "/jobs/%C2%B2/retry") == (400, {"error": "Job '²' is not a number."})
        assert ask("POST", "/history/99999999999999999999999/rollback") == (
            400, {"error": "Event '99999999999999999999999' is not a number."})
    finally:
        server.terminate()
        _, err = server.communicate(timeout=30)
    assert "Traceback" not in err, err
