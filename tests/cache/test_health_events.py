"""The ``events`` health check against a real worker: a subscriber whose command exits 1 fails it;
after the command is fixed and the delivery retried, it passes."""

from __future__ import annotations

import json
import sys
import uuid

from tests.conftest import run_cli
from tests.jobs.conftest import WorkerProcess, append, wait_for

HOOK = """\
import pathlib, sys
sys.stdin.read()
sys.exit(1 if pathlib.Path(__file__).with_name("state").read_text().strip() == "broken" else 0)
"""


def _events(root):
    result = run_cli("health", "--only", "events", "--json", cwd=root)
    return result.exit_code, json.loads(result.stdout)["checks"]["events"]


def _deliveries(root):
    out = run_cli("jobs", "list", "--operation", "deliver", "--json", cwd=root).stdout
    doc = json.loads(out)
    return doc["jobs"] if isinstance(doc, dict) else doc


def test_events_check_fails_on_a_failing_subscriber_and_passes_when_fixed(cache_project):
    root = cache_project[0]
    config = root / "config" / "traits.toml"
    (root / "hook.py").write_text(HOOK)
    (root / "state").write_text("broken")
    append(config, f"""[jobs]\nqueue = "t{uuid.uuid4().hex[:8]}"\nheartbeat = 0.2\n
[[events.subscribers]]\nname = "audit-log"\non = ["config.*"]\ncommand = [{sys.executable!r}, {str(root / 'hook.py')!r}]
retries = 0\ntimeout = 20""")
    assert _events(root)[1]["status"] != "fail"  # no store, no cursor yet: nothing is owed
    worker = WorkerProcess(root)
    try:
        from traitctl.store.db import Store

        store = Store.open(f"sqlite:///{root / 'config' / '.traitctl' / 'traitctl.db'}")
        wait_for(lambda: store.jobs.cursor("events") is not None, timeout=60)
        store.close()
        set_ = run_cli("config", "set", "cache_ttl", "120", "--trait", "Auditable", cwd=root)
        assert set_.exit_code == 0, set_
        failed = wait_for(lambda: [j for j in _deliveries(root) if j["state"] == "failed"], timeout=60)
        code, check = _events(root)
        assert code == 1 and check["status"] == "fail", check
        sub = check["details"]["subscribers"]["audit-log"]
        assert sub["failed"] == 1 and sub["undelivered"] == 1 and sub["last_failure"], sub
        (root / "state").write_text("fixed")
        retried = run_cli("jobs", "retry", str(failed[0]["id"]), cwd=root)
        assert retried.exit_code == 0, retried
        wait_for(lambda: all(j["state"] == "succeeded" for j in _deliveries(root)) and _deliveries(root), timeout=60)
        code, check = _events(root)
        assert code == 0 and check["status"] == "ok", check
        assert check["details"]["subscribers"]["audit-log"]["undelivered"] == 0
    finally:
        worker.stop()
