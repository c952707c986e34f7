"""One callable operation in a child process of its own (when the operation has a ``timeout``, so
that the worker can kill it like a command).

``python -m traitctl.jobs.callable_child package.module:function ANSWER_FILE`` reads the job as
JSON on standard input, calls the function through :func:`traitctl.jobs.operations.call_target`,
and writes ``{"result": {...}}`` or ``{"error": "..."}`` to ``ANSWER_FILE``; the exit status is 0 or
1. What the function prints is the job's output.
"""

from __future__ import annotations

import json
import sys


def main(argv: list[str]) -> int:
    target, answer = argv
    from traitctl.jobs.operations import JobError, call_target

    payload = json.load(sys.stdin)
    try:
        said = {"result": call_target(target, payload)}
    except JobError as exc:
        said = {"error": exc.message}
    try:
        text = json.dumps(said, default=str)
    except ValueError as exc:  # a result JSON cannot hold (a circular structure)
        said = {"error": f"the result of {target!r} cannot be stored as JSON: {exc}"}
        text = json.dumps(said)
    with open(answer, "w", encoding="utf-8") as fh:
        fh.write(text)
    return 1 if "error" in said else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
