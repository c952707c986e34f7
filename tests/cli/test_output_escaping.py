"""Control characters (ESC, BEL, CR, C1, bidi overrides) never reach a terminal raw from human
output; JSON output keeps every value exact."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

from traitctl.output import Output, json_text, printable

HOSTILE = "\x1b]0;owned\x07\x1b[2J red\x1b[0m\r\x9b31m\u202eevil\x00"
CONTROLS = set(chr(c) for c in range(0x20)) - {"\n", "\t"} | {"\x7f", "\x9b", "\u202e"}


def _raw_controls(text: str) -> set[str]:
    return {c for c in text if c in CONTROLS}


def test_printable_escapes_controls_and_keeps_layout():
    assert printable("a\x1b[31mb\x07\r\n\tc\x9b\u202e\x00\x7f") == "a\\e[31mb\\a\\r\n\tc\\x9b\\u202e\\0\\x7f"
    assert printable("line\nnext\tcell", keep="") == "line\\nnext\\tcell"
    assert printable("App\\Models\\User [x] ünïcödé") == "App\\Models\\User [x] ünïcödé"


def test_every_human_renderer_escapes_and_json_stays_exact():
    stdout, stderr = io.StringIO(), io.StringIO()
    out = Output(stdout=stdout, stderr=stderr)
    out.line(HOSTILE)
    out.text(HOSTILE + "\n")
    out.table([HOSTILE], [[HOSTILE, None]][:1], title=HOSTILE, caption=HOSTILE)
    out.success(HOSTILE)
    out.warn(HOSTILE)
    out.error(HOSTILE)
    assert not _raw_controls(stdout.getvalue()) and not _raw_controls(stderr.getvalue())
    assert "\\e]0;owned\\a" in stdout.getvalue() and "\\e[2J" in stderr.getvalue()
    as_json = io.StringIO()
    Output(json_mode=True, stdout=as_json).json({"v": HOSTILE, "big": float("inf"), "nan": float("nan")})
    assert json.loads(as_json.getvalue()) == {"v": HOSTILE, "big": None, "nan": None}
    assert json_text([float("-inf")]) == "[null]"


def test_jobs_show_and_list_escape_a_commands_output(cli, project: Path):
    from traitctl.engine.jobs import Job
    from traitctl.store.db import Store

    store = Store.open(f"sqlite:///{project / 'config' / '.traitctl' / 'traitctl.db'}")
    t0 = dt.datetime(2026, 5, 1, 12)
    job = store.jobs.create(Job(id=0, trait="HasSlug", operation="audit", data={"k": HOSTILE}, enqueued=t0,
                                max_attempts=1))
    job = store.jobs.claim(job.id, "w1", t0)
    output = "progress 10%\rprogress\t100%\n" + HOSTILE + "\nlast line\n"
    assert store.jobs.finish(job, "failed", t0 + dt.timedelta(seconds=1), exit_code=1, output=output, error=HOSTILE)
    store.close()
    shown = cli("jobs", "show", str(job.id))
    assert shown.exit_code == 0, shown
    assert not _raw_controls(shown.stdout), shown.stdout
    assert "\\e]0;owned\\a" in shown.stdout and "progress\t100%" in shown.stdout and "last line" in shown.stdout
    listed = cli("jobs", "list")
    assert listed.exit_code == 0 and not _raw_controls(listed.stdout)
    exact = json.loads(cli("jobs", "show", str(job.id), "--json").stdout)
    from traitctl.store.db import storable_text

    # JSON is exact, but for NUL, which every store keeps as U+FFFD (docs/jobs.md)
    assert exact["output"] == storable_text(output) and exact["error"] == storable_text(HOSTILE)
    assert exact["data"] == {"k": HOSTILE}
