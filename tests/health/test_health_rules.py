"""The pure health rules: thresholds, worst-of, exit codes."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from traitctl.engine import health as rules
from traitctl.engine.errors import InputError, NotFound

LIMITS = rules.thresholds({})
NOW = dt.datetime(2026, 11, 22, 12, 0, 0)


@given(st.floats(0, 1000), st.floats(0, 1000), st.floats(0, 500), st.floats(0, 500))
def test_level_is_monotonic(a, b, warn, extra):
    fail = warn + extra
    lo, hi = sorted((a, b))
    rank = {"ok": 0, "warn": 1, "fail": 2}
    assert rank[rules.level(lo, warn, fail)] <= rank[rules.level(hi, warn, fail)]


def test_level_limits_are_inclusive_like_the_seeds():
    assert rules.level(70, 70, 90) == "ok"
    assert rules.level(70.1, 70, 90) == "warn"
    assert rules.level(90, 70, 90) == "warn"
    assert rules.level(90.5, 70, 90) == "fail"


@given(st.lists(st.sampled_from(["ok", "warn", "fail"])))
def test_overall_is_the_worst(statuses):
    checks = [rules.Check(str(i), s, "") for i, s in enumerate(statuses)]
    expected = "fail" if "fail" in statuses else "warn" if "warn" in statuses else "ok"
    assert rules.overall(checks) == expected


def test_exit_codes():
    assert rules.exit_code("ok") == 0
    assert rules.exit_code("warn") == 0
    assert rules.exit_code("warn", strict=True) == 1
    assert rules.exit_code("fail") == 1


def test_seed_server_thresholds_through_serverstats():
    from traitctl.engine import serverstats

    limits = serverstats.thresholds_from(None)

    def snap(cpu, mem, disks, load=None):
        return {"cpu": {"percent": cpu, "cores": 2, "load": [load * 2] if load is not None else []},
                "memory": {"percent": mem}, "disks": [{"mount": m, "percent": p} for m, p in disks.items()]}

    assert rules.server(serverstats.evaluate(snap(69, 79, {"/": 84}, 1.4), limits))[0] == "ok"
    assert rules.server(serverstats.evaluate(snap(71, 10, {}), limits))[0] == "warn"
    assert rules.server(serverstats.evaluate(snap(10, 91, {}), limits))[0] == "fail"
    status, message = rules.server(serverstats.evaluate(snap(10, 10, {"/": 50, "/data": 96}, 0.5), limits))
    assert status == "fail" and message == "/data 96 > 95 (critical)"
    status, message = rules.server(serverstats.evaluate(snap(10, 10, {}, 1.6), limits))
    assert status == "warn" and message == "load 1m 1.6 > 1.5 (warning)"


def test_flags_rule():
    assert rules.flags([], [], [], 2, 1) == ("ok", "2 flag(s), 1 guard(s) not breached, none stale")
    assert rules.flags([], [], ["a: old"], 2, 0) == ("warn", "1 stale flag(s): a: old")
    assert rules.flags([], ["a: x > 1"], ["b: old"], 2, 1) == ("fail", "guard breached: a: x > 1")


def test_queue_by_count_and_by_age():
    assert rules.queue(0, None, LIMITS) == ("ok", "0 pending")
    assert rules.queue(101, 1, LIMITS)[0] == "warn"
    assert rules.queue(5, 3601, LIMITS)[0] == "fail"
    assert rules.queue(1001, 0, LIMITS)[0] == "fail"


def test_workers():
    assert rules.workers([], 60)[0] == "warn"
    assert rules.workers([("a", "idle", 61, "no heartbeat for 61 s")], 60)[0] == "fail"
    assert rules.workers([("a", "idle", 61, "old"), ("b", "busy", 3, None)], 60)[0] == "ok"
    assert rules.workers([("a", "stopped", 1, "stopped")], 60)[0] == "fail"
    status, message = rules.workers([("a", "busy", 1, "process 42 is gone")], 60)
    assert status == "fail" and "a: process 42 is gone" in message


def test_running_jobs_without_a_live_worker_fail():
    status, message = rules.workers([("b", "busy", 1, None)], 15, orphans=[7, 9])
    assert status == "fail" and message.startswith("2 running job(s) without a live worker: #7, #9")
    status, message = rules.workers([], 15, orphans=[3])
    assert status == "fail" and "#3" in message


def test_one_liveness_rule():
    from traitctl.engine.jobs import worker_lost
    from traitctl.engine.workers import WorkerBeat, lost_reason

    t0 = dt.datetime(2026, 1, 1, 12)
    beat = WorkerBeat("h:1:0", "h", 1, "idle", "default", t0, t0)
    now = t0 + dt.timedelta(seconds=5)
    assert lost_reason(beat, now, 15) is None and beat.alive(now, 15) and not worker_lost(beat, now, 15)
    # a fresh heartbeat does not keep a worker whose process is gone alive
    assert lost_reason(beat, now, 15, pid_gone=True) == "process 1 is gone"
    assert not beat.alive(now, 15, pid_gone=True) and worker_lost(beat, now, 15, pid_gone=True)
    assert lost_reason(beat, t0 + dt.timedelta(seconds=16), 15).startswith("no heartbeat for 16 s")
    assert lost_reason(None, now, 15) == "no heartbeat"
    stopped = WorkerBeat("h:1:0", "h", 1, "stopped", "default", t0, t0)
    assert lost_reason(stopped, now, 15) == "stopped"


def test_telemetry_and_history():
    assert rules.telemetry(None, NOW, LIMITS)[0] == "warn"
    assert rules.telemetry(NOW - dt.timedelta(minutes=5), NOW, LIMITS)[0] == "ok"
    assert rules.telemetry(NOW - dt.timedelta(hours=2), NOW, LIMITS) == ("warn", "newest point 2.0 h ago")
    assert rules.telemetry(NOW - dt.timedelta(days=2), NOW, LIMITS)[0] == "fail"
    assert rules.history(0, None, NOW)[0] == "warn"
    assert rules.history(3, NOW - dt.timedelta(seconds=30), NOW) == ("ok", "3 event(s), newest 30 s ago")


def test_store_versions():
    assert rules.store(1, 1, [])[0] == "ok"
    assert rules.store(0, 1, ["traitctl_event"])[0] == "warn"
    assert rules.store(2, 1, [])[0] == "fail"
    assert rules.store(1, 1, ["traitctl_x"])[0] == "warn"


def test_configuration_names_first_problem():
    assert rules.configuration([], 2) == ("ok", "2 file(s) parse and validate")
    status, message = rules.configuration(["a.toml:3: bad", "b.toml:4: worse"], 2)
    assert status == "fail" and message == "2 problem(s): a.toml:3: bad (and 1 more)"


def test_thresholds_refuse_bad_values():
    assert rules.thresholds({"worker_max_age": 50})["worker_max_age"] == 50.0
    with pytest.raises(InputError, match="worker_max_ag: unknown threshold. Did you mean 'worker_max_age'"):
        rules.thresholds({"worker_max_ag": 50})
    with pytest.raises(InputError, match="non-negative number"):
        rules.thresholds({"worker_max_age": -1})
    with pytest.raises(InputError):
        rules.thresholds({"worker_max_age": True})


def test_select_keeps_canonical_order():
    assert rules.select([], host=("server",)) == rules.CHECK_NAMES
    assert rules.select(["server", "store,configuration"]) == ("configuration", "store", "server")


def test_host_checks_are_opt_in():
    assert "server" not in rules.select([])
    assert rules.select(["server"]) == ("server",)
    assert rules.switches({}) == {"server": False}
    assert rules.switches({"server": True, "queue_age_warn": 5}) == {"server": True}
    assert rules.thresholds({"server": True})["queue_age_warn"] == 300  # a switch is not a threshold
    with pytest.raises(InputError, match=r"\[health\] server: expected true or false, got 'yes'"):
        rules.switches({"server": "yes"})
    with pytest.raises(NotFound):
        rules.select(["nope"])
