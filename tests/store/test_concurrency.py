"""Many real processes writing one store at once: none fails on a lock, every write is stored.

Each process runs the CLI's entry point in a loop (``traitctl.cli.main``, the store opened and
closed per call as for separate commands), so the load is that of many short CLI invocations
without paying the interpreter start-up for each.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

DRIVER = r"""
import json, sys
from traitctl.cli import main
calls = json.loads(sys.argv[1])
codes = []
for argv in calls:
    try:
        main(argv)
    except SystemExit as exc:
        codes.append(exc.code if isinstance(exc.code, int) else 0)
    else:
        codes.append(0)
print("CODES " + json.dumps(codes))
"""


def _spawn(cwd: Path, calls: list[list[str]]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", DRIVER, json.dumps(calls)], cwd=cwd, env=dict(os.environ),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(procs: list[subprocess.Popen]) -> tuple[list[int], str]:
    codes, errors = [], ""
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        line = [x for x in out.splitlines() if x.startswith("CODES ")]
        assert line, (out[-2000:], err[-2000:])
        codes += json.loads(line[-1][6:])
        errors += err
    return codes, errors


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_concurrent_cli_writers_never_fail_on_a_lock(project: Path, backend: str, request):
    """Ten processes recording points while five set flag overrides and configuration values."""
    store = ["--store", request.getfixturevalue("pg_url")] if backend == "postgresql" else []
    metric_procs, per_metric = 10, 15
    override_procs, per_override = 5, 5
    procs = [_spawn(project, [[*store, "metrics", "record", f"load.p{p}", "1", "--label", f"n={n}"]
                              for n in range(per_metric)]) for p in range(metric_procs)]
    for p in range(override_procs):
        calls = []
        for n in range(per_override):
            calls.append([*store, "flags", "override", "trait_caching", "--user", f"u{p}-{n}", "--on"])
            calls.append([*store, "config", "set", "ttl", str(100 + p * 10 + n), "--trait", "Cacheable"])
        procs.append(_spawn(project, calls))
    codes, errors = _finish(procs)
    problems = [line for line in errors.splitlines() if "Recorded" not in line and " -> " not in line
                and " is on for user " not in line]
    assert problems == [] and codes == [0] * len(codes), "\n".join(problems[:40])

    from traitctl.store.db import Store

    url = store[1] if store else f"sqlite:///{project / 'config' / '.traitctl' / 'traitctl.db'}"
    opened = Store.open(url)
    try:
        overrides = opened.flag_overrides.list("trait_caching", now=_now())
        assert len(overrides) == override_procs * per_override
        sets = opened.events.list(kind="config.set", limit=None)
        assert len(sets) == override_procs * per_override
        assert opened.metrics.count_points() == metric_procs * per_metric
    finally:
        opened.close()


def _now():
    import datetime as dt

    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)



def test_first_use_of_a_fresh_postgresql_database_is_safe_to_race(project: Path, pg_url: str):
    """Eight processes (``jobs enqueue`` and ``metrics record``) open one fresh database at once:
    the schema is created once, under an advisory lock, and no call fails."""
    root = ["--store", pg_url, "--queue", f"sqlite:///{project / 'queue.db'}"]
    procs = [subprocess.Popen([sys.executable, "-m", "traitctl", *root, *call], cwd=project, env=dict(os.environ),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for call in [["jobs", "enqueue", "noop"], ["metrics", "record", "first.use", "1"]] * 4]
    results = [(proc.wait(timeout=120), proc.stderr.read()) for proc in procs]
    assert [code for code, _ in results] == [0] * 8, [err for _, err in results if err]

    from traitctl.store.db import SCHEMA_VERSION, Store

    opened = Store.open(pg_url)
    try:
        assert opened.schema_version() == SCHEMA_VERSION
        assert opened.metrics.count_points() == 4 and len(opened.jobs.list()) == 4
    finally:
        opened.close()


def test_a_postgresql_deadlock_is_retried_as_a_whole(pg_url: str):
    """Two transactions lock two rows in opposite orders: PostgreSQL aborts one (deadlock
    detected) and :func:`traitctl.store.db.retrying` runs that unit of work again; both commit."""
    import threading

    from traitctl.store.db import Store, retrying, upsert

    first, second = Store.open(pg_url), Store.open(pg_url)
    for key in ("a", "b"):
        upsert(first._meta, {"key": key, "value": "0"}, first._meta.key)
    barrier = threading.Barrier(2, timeout=10)
    tries = {"ab": 0, "ba": 0}

    def work(store, order: str) -> None:
        Meta = store._meta
        tries[order] += 1
        with store.db.atomic():
            Meta.update(value=order).where(Meta.key == order[0]).execute()
            if tries[order] == 1:
                barrier.wait()  # both hold their first row: the second updates deadlock
            Meta.update(value=order).where(Meta.key == order[1]).execute()

    errors: list[BaseException] = []

    def run(store, order: str) -> None:
        try:
            retrying(store.db, lambda: work(store, order))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(first, "ab")), threading.Thread(target=run, args=(second, "ba"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    try:
        assert errors == [] and sorted(tries.values()) == [1, 2], (errors, tries)
    finally:
        first.close()
        second.close()
