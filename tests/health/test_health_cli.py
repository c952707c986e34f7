"""``traitctl health`` end to end: each check is broken for real and must say so."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from traitctl.engine.workers import WorkerBeat
from traitctl.store.db import SCHEMA_VERSION, Store


def _set(config_file: Path, path: tuple, value) -> None:
    """Set one key with the project's own safe TOML edit (the table may already exist)."""
    from traitctl.store.toml_file import Change, edit

    edit(config_file, [Change(path, value)])


def _store(project: Path) -> Store:
    return Store.open(f"sqlite:///{project / 'config' / '.traitctl' / 'traitctl.db'}")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _beat(store: Store, age_s: float, state: str = "idle", worker_id: str = "host:1:0") -> None:
    seen = _now() - dt.timedelta(seconds=age_s)
    store.workers.beat(WorkerBeat(worker_id=worker_id, host="host", pid=1, state=state, queue="default",
                                  started=seen - dt.timedelta(minutes=5), last_seen=seen))


def _health(cli, *args: str, **kwargs):
    result = cli("health", "--json", *args, **kwargs)
    return result, json.loads(result.stdout) if result.stdout.strip() else None


@pytest.fixture
def healthy_store(project: Path):
    store = _store(project)
    store.events.record(kind="config.set", actor="tester", command="traitctl config set", path=("traits", "X", "y"))
    _beat(store, 1)
    store.close()


def test_all_core_checks_ok_and_json_shape(cli, healthy_store):
    result, doc = _health(cli, "--only", "configuration,store,history,workers")
    assert result.exit_code == 0, result
    assert set(doc) == {"status", "checks", "timestamp"}
    assert doc["status"] == "ok"
    assert list(doc["checks"]) == ["configuration", "history", "store", "workers"]  # sorted keys in JSON
    for check in doc["checks"].values():
        assert check["status"] == "ok"
        assert set(check) == {"status", "message", "duration_ms", "details"}
    assert doc["checks"]["store"]["details"]["schema_version"] == SCHEMA_VERSION
    assert doc["checks"]["history"]["details"]["events"] == 1
    assert dt.datetime.fromisoformat(doc["timestamp"]).tzinfo is not None


def test_store_probe_leaves_nothing_behind(cli, project, healthy_store):
    result, doc = _health(cli, "--only", "store")
    assert doc["checks"]["store"]["status"] == "ok"
    store = _store(project)
    try:
        keys = [row.key for row in store._meta.select()]
    finally:
        store.close()
    assert keys == ["schema_version"]


def test_corrupt_config_fails_naming_file_and_line(cli, config_file, healthy_store):
    config_file.write_text(config_file.read_text() + "\n[traits.Broken\nx = 1\n")
    result, doc = _health(cli, "--only", "configuration,store")
    assert result.exit_code == 1
    check = doc["checks"]["configuration"]
    assert check["status"] == "fail"
    assert "traits.toml" in check["message"] and "line" in check["message"]
    # the store is still checked, at its default location
    assert doc["checks"]["store"]["status"] == "ok"
    assert doc["status"] == "fail"


def test_schema_violation_fails_with_file_line_and_key(cli, config_file, healthy_store):
    text = config_file.read_text().replace("[traits.HasUuid]\nversion = 4", "[traits.HasUuid]\nversion = 5")
    config_file.write_text(text)
    line = text.splitlines().index("version = 5") + 1
    result, doc = _health(cli, "--only", "configuration")
    assert result.exit_code == 1
    message = doc["checks"]["configuration"]["message"]
    assert f"traits.toml:{line}" in message
    assert "traits -> HasUuid -> version" in message and "5" in message


def test_broken_tenant_file_fails(cli, project, healthy_store):
    (project / "config" / "tenants" / "globex.toml").write_text("name = \n")
    result, doc = _health(cli, "--only", "configuration")
    assert result.exit_code == 1
    assert "globex.toml" in doc["checks"]["configuration"]["message"]


def test_dead_store_port_fails_without_showing_password(cli):
    result, doc = _health(cli, "--only", "store,history", env={"TRAITCTL_STORE": "postgresql://postgres:s3cret@127.0.0.1:1/nope"})
    assert result.exit_code == 1, result
    store = doc["checks"]["store"]
    assert store["status"] == "fail"
    assert "127.0.0.1:1" in store["message"]
    assert doc["checks"]["history"]["status"] == "fail"
    assert "s3cret" not in result.stdout + result.stderr


def _pg_schema(pg_url: str) -> None:
    # The tables as Store.open makes them, created directly (the check itself must not create them).
    from traitctl.store.db import connect

    db = connect(pg_url)
    store = Store(db, pg_url)
    db.create_tables(store.models())
    store._meta.insert(key="schema_version", value=str(SCHEMA_VERSION)).execute()
    db.close()


def test_postgresql_store_ok(cli, pg_url):
    _pg_schema(pg_url)
    result, doc = _health(cli, "--only", "store", env={"TRAITCTL_STORE": pg_url})
    assert result.exit_code == 0, result
    assert doc["checks"]["store"]["status"] == "ok"
    assert doc["checks"]["store"]["details"]["schema_version"] == SCHEMA_VERSION


def test_store_newer_than_code_fails(cli, project, healthy_store):
    store = _store(project)
    store._meta.replace(key="schema_version", value=str(SCHEMA_VERSION + 1)).execute()
    store.close()
    result, doc = _health(cli, "--only", "store")
    assert result.exit_code == 1
    assert f"was written by a newer traitctl (schema {SCHEMA_VERSION + 1}; this one knows {SCHEMA_VERSION})" \
        in doc["checks"]["store"]["message"]


def test_store_missing_is_a_warning_and_not_created(cli, project):
    result, doc = _health(cli, "--only", "store,history,workers")
    assert result.exit_code == 0
    assert {c["status"] for c in doc["checks"].values()} == {"warn"}
    assert not (project / "config" / ".traitctl" / "traitctl.db").exists()
    assert cli("health", "--only", "store", "--strict").exit_code == 1


def test_stale_worker_fails_fresh_worker_ok(cli, project, healthy_store):
    store = _store(project)
    _beat(store, 600)  # the only worker stopped beating ten minutes ago
    store.close()
    result, doc = _health(cli, "--only", "workers")
    assert result.exit_code == 1
    assert doc["checks"]["workers"]["status"] == "fail"
    assert "no live worker" in doc["checks"]["workers"]["message"]
    store = _store(project)
    _beat(store, 2, worker_id="host:2:0")
    store.close()
    result, doc = _health(cli, "--only", "workers")
    assert result.exit_code == 0
    assert doc["checks"]["workers"]["message"].startswith("1 worker(s) alive")


def test_stopped_worker_is_not_alive(cli, project, healthy_store):
    store = _store(project)
    _beat(store, 1, state="stopped")
    store.close()
    result, doc = _health(cli, "--only", "workers")
    assert result.exit_code == 1


def test_worker_max_age_from_config(cli, project, config_file, healthy_store):
    store = _store(project)
    _beat(store, 100)
    store.close()
    assert cli("health", "--only", "workers").exit_code == 1
    _set(config_file, ("health", "worker_max_age"), 300)
    assert cli("health", "--only", "workers").exit_code == 0


def test_no_events_warns_and_strict_fails(cli, project):
    _store(project).close()
    result, doc = _health(cli, "--only", "history")
    assert result.exit_code == 0
    assert doc["checks"]["history"]["status"] == "warn"
    assert cli("health", "--only", "history", "--strict").exit_code == 1


def test_server_thresholds_from_config(cli, config_file):
    # any used disk is above 0 %: the seeds' thresholds lowered to 0 in [telemetry.server] must fail
    _set(config_file, ("telemetry", "server", "disk_percent"), {"warning": 0, "critical": 0})
    result, doc = _health(cli, "--only", "server")
    assert result.exit_code == 1
    assert doc["checks"]["server"]["status"] == "fail"
    assert "(critical)" in doc["checks"]["server"]["message"]
    assert any(key.startswith("disk_percent:") for key in doc["checks"]["server"]["details"])


def test_server_thresholds_raised_pass(cli, config_file):
    for key in ("cpu_percent", "memory_percent", "disk_percent", "load_per_core"):
        _set(config_file, ("telemetry", "server", key), {"warning": 1000, "critical": 1000})
    result, doc = _health(cli, "--only", "server")
    assert result.exit_code == 0, result
    assert doc["checks"]["server"]["status"] == "ok"


def test_queue_missing_warns_dead_redis_fails(cli):
    result, doc = _health(cli, "--only", "queue")
    assert result.exit_code == 0 and doc["checks"]["queue"]["status"] == "warn"
    assert "not created yet" in doc["checks"]["queue"]["message"]
    result, doc = _health(cli, "--only", "queue", env={"TRAITCTL_QUEUE": "redis://:pw123@127.0.0.1:1/0"})
    assert result.exit_code == 1, result
    assert doc["checks"]["queue"]["status"] == "fail"
    assert "cannot reach the queue at redis://:***@127.0.0.1:1/0" in doc["checks"]["queue"]["message"]
    assert "pw123" not in result.stdout + result.stderr


def test_queue_pending_thresholds(cli, config_file):
    assert cli("jobs", "enqueue", "HasUuid", "audit").exit_code == 0
    assert cli("jobs", "enqueue", "HasUuid", "audit").exit_code == 0
    result, doc = _health(cli, "--only", "queue")
    assert result.exit_code == 0
    assert doc["checks"]["queue"]["details"]["pending"] == 2
    assert doc["checks"]["queue"]["message"].startswith("2 pending")
    _set(config_file, ("health", "queue_pending_warn"), 0)
    _set(config_file, ("health", "queue_pending_fail"), 1)
    result, doc = _health(cli, "--only", "queue")
    assert result.exit_code == 1
    assert doc["checks"]["queue"]["status"] == "fail"


def test_queue_on_real_redis(cli, redis_url):
    result, doc = _health(cli, "--only", "queue", env={"TRAITCTL_QUEUE": redis_url})
    assert doc["checks"]["queue"]["status"] in ("ok", "warn", "fail")
    assert doc["checks"]["queue"]["details"]["backend"] == "redis"
    assert "cannot reach" not in doc["checks"]["queue"]["message"]


def _point(project: Path, age_s: float) -> None:
    import time

    from traitctl.engine.telemetry_formats import Point

    store = _store(project)
    store.metrics.write([Point("trait.HasUuid.generated", "counter", 1.0, time.time() - age_s, {})])
    store.close()


def test_telemetry_age(cli, project, healthy_store):
    result, doc = _health(cli, "--only", "telemetry")
    assert doc["checks"]["telemetry"]["status"] == "warn"
    assert doc["checks"]["telemetry"]["message"] == "no telemetry recorded yet"
    _point(project, 3 * 3600)
    result, doc = _health(cli, "--only", "telemetry")
    assert result.exit_code == 0 and doc["checks"]["telemetry"]["status"] == "warn"
    assert doc["checks"]["telemetry"]["message"].startswith("newest point 3.0 h ago")
    _point(project, 5)
    result, doc = _health(cli, "--only", "telemetry")
    assert doc["checks"]["telemetry"]["status"] == "ok"


def test_telemetry_older_than_a_day_fails(cli, project, healthy_store):
    _point(project, 2 * 86400)
    result, doc = _health(cli, "--only", "telemetry")
    assert result.exit_code == 1 and doc["checks"]["telemetry"]["status"] == "fail"


def test_flags_guard_breach_fails(cli, healthy_store):
    result, doc = _health(cli, "--only", "flags")
    assert result.exit_code == 0, result
    assert doc["checks"]["flags"]["message"] == "2 flag(s), 1 guard(s) not breached, none stale"
    # the bundled guard: more than 50 trait.errors in 15 minutes
    assert cli("metrics", "record", "trait.errors", "60").exit_code == 0
    result, doc = _health(cli, "--only", "flags")
    assert result.exit_code == 1
    assert doc["checks"]["flags"]["details"]["breached"] == [
        "traits_management_system: sum(trait.errors) over 15m > 50"]


def test_flags_stale_warns_and_broken_flag_fails(cli, config_file, healthy_store):
    text = config_file.read_text()
    config_file.write_text(text + "\n[flags.old_switch]\nenabled = true\ncreated = 2020-01-01\n")
    result, doc = _health(cli, "--only", "flags")
    assert result.exit_code == 0 and doc["checks"]["flags"]["status"] == "warn"
    assert "old_switch: fully on and unchanged since 2020-01-01" in doc["checks"]["flags"]["message"]
    config_file.write_text(text + "\n[flags.broken]\npercentage = 120\n")
    result, doc = _health(cli, "--only", "flags")
    assert result.exit_code == 1
    assert "flags.broken.percentage = 120" in doc["checks"]["flags"]["message"]


def test_unknown_check_is_bad_input(cli):
    result = cli("health", "--only", "stor")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: Unknown health check 'stor'.")
    assert "'store'" in result.stderr


def test_bad_threshold_fails_the_configuration_check(cli, config_file):
    _set(config_file, ("health", "worker_max_age"), "soon")
    result = cli("health", "--only", "configuration,queue", "--json")
    assert result.exit_code == 1, result
    checks = json.loads(result.stdout)["checks"]
    assert checks["configuration"]["status"] == "fail" and "worker_max_age" in checks["configuration"]["message"]
    assert checks["queue"]["status"] != "fail" and "Traceback" not in result.stderr


def test_table_output(cli, healthy_store):
    result = cli("health", "--only", "store,workers")
    assert result.exit_code == 0
    assert "traitctl health: ok" in result.stdout
    assert "store" in result.stdout and "workers" in result.stdout


def test_real_worker_alive_then_stopped(cli, project):
    """Start a real worker, see it alive, stop it (SIGTERM): the workers check must fail."""
    import os
    import signal
    import subprocess
    import sys
    import time

    proc = subprocess.Popen([sys.executable, "-m", "traitctl", "worker", "--no-periodic", "--shutdown-timeout", "2"],
                            cwd=project, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=dict(os.environ))
    try:
        deadline = time.monotonic() + 60
        doc = None
        while time.monotonic() < deadline:
            result, doc = _health(cli, "--only", "workers")
            if doc["checks"]["workers"]["status"] == "ok":
                break
            time.sleep(0.5)
        assert doc["checks"]["workers"]["status"] == "ok", doc
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    result, doc = _health(cli, "--only", "workers")
    assert result.exit_code == 1
    assert doc["checks"]["workers"]["status"] == "fail"
    assert doc["checks"]["workers"]["details"]["workers"][0]["state"] == "stopped"
