"""Shared pieces of the flagd truth tests: the subjects, the extra virtual environments that hold
the flagd runtimes which cannot share one environment with openfeature-flagd-core 1.0, and a
runner for them.

``.venv-flagd`` (``TRAITCTL_TEST_FLAGD_PY``): openfeature-provider-flagd 0.6.x on flagd-core 2.x (v3).
``.venv-flagd-legacy`` (``TRAITCTL_TEST_FLAGD_LEGACY_PY``): openfeature-provider-flagd 0.2.x (v1).
``.ci/run`` creates both. Missing, the tests skip, except under ``CI=true`` where they fail.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUNNER = Path(__file__).with_name("provider_eval.py")
PERCENTAGES = (0, 1, 10, 33, 50, 99, 100)
#: byte lengths where a canonical CBOR text header changes size (1 -> 2 -> 3 -> 5 bytes).
CBOR_EDGES = (23, 24, 255, 256, 65535, 65536)

VENVS = {
    "flagd-v3": ("TRAITCTL_TEST_FLAGD_PY", ".venv-flagd"),
    "flagd-v1": ("TRAITCTL_TEST_FLAGD_LEGACY_PY", ".venv-flagd-legacy"),
}


def make_subjects(n: int = 10_000, seed: int = 11) -> list[str]:
    """Integers, strings, UUIDs, e-mail addresses, non-ASCII ids and strings around every CBOR
    length edge (no line breaks: they also go through ``flags eval --subjects``)."""
    rng = random.Random(seed)
    words = ["é", "ß", "日本", "Ωmega", "😀", "ça", "İ", "ø"]
    kinds = [
        lambda: str(rng.randrange(10**12)),
        lambda: f"user-{rng.randrange(10**6)}",
        lambda: str(uuid.UUID(int=rng.getrandbits(128))),
        lambda: f"{rng.choice(['ann', 'bo', 'zoë', 'li'])}.{rng.randrange(10**5)}@example.{rng.choice(['com', 'de'])}",
        lambda: "".join(rng.choice(words) for _ in range(rng.randint(1, 12))) + str(rng.randrange(1000)),
    ]
    edges = []
    for edge in CBOR_EDGES:
        lengths = range(edge - 40, edge + 3) if edge < 1000 else (edge - 1, edge, edge - 13, edge - 14)
        for length in lengths:
            edges.append(("x" * (length - 8)) + f"{rng.randrange(10**8):08d}")
    edges += ["é" * 12, "é" * 128, "日" * 85 + "é"]  # 24, 256 and 257 bytes of multi-byte UTF-8
    body = list(dict.fromkeys(edges + [rng.choice(kinds)() for _ in range(n)]))
    return body


@pytest.fixture(scope="session")
def subjects() -> list[str]:
    return make_subjects()


def venv_python(algorithm: str) -> Path:
    """The interpreter of the virtual environment holding ``algorithm``'s flagd runtime."""
    variable, default = VENVS[algorithm]
    path = Path(os.environ.get(variable) or ROOT / default / "bin" / "python")
    if not path.exists():
        message = (f"{path} is missing (the flagd runtime for {algorithm}): run .ci/run, or set {variable}.")
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def start_provider(algorithm: str, document: dict, queries: list, tmp: Path) -> subprocess.Popen:
    """Start evaluating ``queries`` with the real provider of ``algorithm``'s generation (see
    ``provider_eval.py``); :func:`finish_provider` collects the answers."""
    python = venv_python(algorithm)
    path = tmp / f"{algorithm}.flagd.json"
    path.write_text(json.dumps(document))
    request = tmp / f"{algorithm}.request.json"
    request.write_text(json.dumps({"file": str(path), "queries": queries}))
    stdin = request.open("rb")
    proc = subprocess.Popen([str(python), str(RUNNER)], stdin=stdin, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    stdin.close()
    return proc


def finish_provider(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]
    return json.loads(out)


class Runtimes:
    """The helpers above, for test modules (which cannot import this conftest by name)."""

    percentages = PERCENTAGES
    cbor_edges = CBOR_EDGES
    start = staticmethod(start_provider)
    finish = staticmethod(finish_provider)
    python = staticmethod(venv_python)


@pytest.fixture(scope="session")
def runtimes() -> type[Runtimes]:
    return Runtimes
