"""``health`` against real faults: a worker killed with SIGKILL, SQLite files with damaged pages,
a busy machine (host checks are opt-in)."""

from __future__ import annotations

import json
import signal
import sqlite3
import struct
from pathlib import Path

import psutil
import pytest

from tests.jobs.conftest import WorkerProcess, append, set_jobs_section, wait_for
from traitctl.store.db import Store


def _health(cli, *args: str) -> tuple[int, dict]:
    result = cli("health", "--json", *args)
    assert "Traceback" not in result.stderr, result
    return result.exit_code, json.loads(result.stdout)


def corrupt_page(path: Path, table: str) -> int:
    """Overwrite the header of a cell in the middle of one of ``table``'s leaf pages (a copy's,
    after a checkpoint), as a torn write or bad sector would. Returns the page number."""
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = con.execute("PRAGMA page_size").fetchone()[0]
    leaves = [r[0] for r in con.execute("SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' "
                                        "ORDER BY pageno", (table,))]
    con.close()
    assert len(leaves) >= 2, f"{table} needs more rows to span pages"
    page_no = leaves[len(leaves) // 2]
    with path.open("r+b") as fh:
        fh.seek((page_no - 1) * size)
        page = fh.read(size)
        cells = struct.unpack(">H", page[3:5])[0]
        pointer = struct.unpack(">H", page[8 + 2 * (cells // 2): 10 + 2 * (cells // 2)])[0]
        fh.seek((page_no - 1) * size + pointer)
        fh.write(b"\xff" * 9)
    return page_no


def test_damaged_store_pages_fail_the_store_check(cli, project: Path):
    path = project / "config" / ".traitctl" / "traitctl.db"
    store = Store.open(f"sqlite:///{path}")
    for i in range(300):
        store.events.record(kind="config.set", actor="tester", command="traitctl config set",
                            path=("traits", "X", f"k{i}"), data={"pad": "x" * 200})
    store.close()
    assert _health(cli, "--only", "store")[1]["checks"]["store"]["status"] == "ok"
    corrupt_page(path, "traitctl_event")
    code, doc = _health(cli, "--only", "store,history")
    store_check = doc["checks"]["store"]
    assert code == 1 and store_check["status"] == "fail", store_check
    assert store_check["message"].startswith("the store is damaged: ")
    assert store_check["details"]["integrity"] != "ok"


def test_damaged_queue_file_fails_the_queue_check(cli, project: Path):
    from traitctl.jobs.queue import open_queue

    path = project / "config" / ".traitctl" / "queue.db"
    huey = open_queue(f"sqlite:///{path}", "default")
    for i in range(200):  # pages the queue's counts never read
        huey.storage.put_data(f"k{i}", b"x" * 500)
    assert _health(cli, "--only", "queue")[1]["checks"]["queue"]["status"] == "ok"
    corrupt_page(path, "kv")
    code, doc = _health(cli, "--only", "queue")
    queue = doc["checks"]["queue"]
    assert code == 1 and queue["status"] == "fail" and "damaged" in queue["message"], queue
    assert any("out of order" in line or "invalid page" in line for line in queue["details"]["integrity"])


def test_postgresql_store_reads_every_table(pg_url):
    from traitctl import health_checks

    Store.open(pg_url).close()
    version, missing, damage = health_checks._probe(pg_url)
    assert (missing, damage) == ([], []) and version > 0


def test_sigkilled_worker_is_dead_at_once_for_health_and_metrics_workers(cli, project: Path, config_file: Path):
    # A minute before a silent heartbeat counts as lost: only the pid check can see the death.
    set_jobs_section(config_file, "default", lost_after=60)
    append(config_file, '[traits.HasSlug.operations.hang]\ncommand = ["sleep", "60"]\n')
    enqueued = cli("jobs", "enqueue", "HasSlug", "hang")
    assert enqueued.exit_code == 0, enqueued
    job_id = int(enqueued.stdout.strip())
    worker = WorkerProcess(project)
    try:
        store = Store.open(f"sqlite:///{project / 'config' / '.traitctl' / 'traitctl.db'}")
        wait_for(lambda: [j for j in store.jobs.running() if j.id == job_id], timeout=60)
        code, doc = _health(cli, "--only", "workers")
        assert (code, doc["checks"]["workers"]["status"]) == (0, "ok"), doc
        children = psutil.Process(worker.proc.pid).children(recursive=True)
        worker.proc.send_signal(signal.SIGKILL)
        worker.proc.wait()
        code, doc = _health(cli, "--only", "workers")
        check = doc["checks"]["workers"]
        assert code == 1 and check["status"] == "fail", check
        assert f"process {worker.proc.pid} is gone" in check["message"]
        assert check["details"]["orphaned_jobs"] == [job_id] and f"#{job_id}" in check["message"]
        listed = json.loads(cli("metrics", "workers", "--json").stdout)["workers"]
        assert [(w["alive"], w["lost"]) for w in listed] == [(False, f"process {worker.proc.pid} is gone")]
        table = cli("metrics", "workers").stdout
        assert "(lost)" in table
        store.close()
    finally:
        if worker.proc.poll() is None:
            worker.kill()
        for child in locals().get("children", []):
            try:
                child.kill()
            except psutil.NoSuchProcess:
                pass


def test_server_check_runs_only_when_switched_on(cli, config_file: Path):
    _, doc = _health(cli)
    assert "server" not in doc["checks"]  # a busy CI runner is not traitctl being unhealthy
    assert "server" in _health(cli, "--only", "server")[1]["checks"]
    append(config_file, "[health]\nserver = true\n")
    assert "server" in _health(cli)[1]["checks"]
    config_file.write_text(config_file.read_text().replace("server = true", 'server = "yes"'))
    result = cli("health")
    assert result.exit_code == 2 and "[health] server: expected true or false" in result.stderr
