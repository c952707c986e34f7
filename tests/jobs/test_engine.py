"""The pure jobs engine: durations, back-off, cron (checked against Huey's crontab), operation specs,
subscribers, the state machine and the lost-worker rule."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from traitctl.engine import jobs as rules
from traitctl.engine.errors import InputError, NotFound
from traitctl.engine.workers import WorkerBeat

NOW = dt.datetime(2026, 5, 1, 12, 0, 0)


@pytest.mark.parametrize("text,seconds", [("10m", 600), ("7d", 604800), ("30s", 30), ("2h", 7200),
                                          ("1.5s", 1.5), ("250ms", 0.25), ("45", 45), ("1w", 604800)])
def test_parse_duration(text, seconds):
    assert rules.parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "10 minutes", "-5m", "m", "5y"])
def test_parse_duration_refuses(text):
    with pytest.raises(InputError, match="--delay"):
        rules.parse_duration(text, "--delay")


def test_parse_at_converts_offsets_and_refuses_the_past():
    assert rules.parse_at("2026-05-01T14:30+02:00", NOW) == dt.datetime(2026, 5, 1, 12, 30)
    assert rules.parse_at("2026-05-02 09:00", NOW) == dt.datetime(2026, 5, 2, 9, 0)
    with pytest.raises(InputError, match="in the past"):
        rules.parse_at("2026-04-30T00:00", NOW)
    with pytest.raises(InputError, match="not an ISO time"):
        rules.parse_at("tomorrow", NOW)


def test_retry_delay_backs_off_and_is_capped():
    assert [rules.retry_delay(n, 1.0, 2.0) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert rules.retry_delay(30, 1.0, 2.0, cap=60) == 60
    assert rules.retry_delay(3, 0, 2.0) == 0


@given(st.integers(1, 40), st.floats(0.01, 100), st.floats(1, 10))
def test_retry_delay_never_shrinks(attempt, base, backoff):
    assert rules.retry_delay(attempt + 1, base, backoff) >= rules.retry_delay(attempt, base, backoff)


def test_parse_data_types_and_errors():
    assert rules.parse_data(["n=3", "on=true", "name=abc", "list=[1, 2]", 'q="x y"', "empty="]) == {
        "n": 3, "on": True, "name": "abc", "list": [1, 2], "q": "x y", "empty": ""}
    for bad in ("novalue", "=3", "a b=1"):
        with pytest.raises(InputError, match="KEY=VALUE"):
            rules.parse_data([bad])


def test_state_machine():
    rules.check_transition(1, "queued", "running")
    rules.check_transition(1, "failed", "queued")
    for old, new in (("succeeded", "cancelled"), ("queued", "succeeded"), ("cancelled", "running")):
        with pytest.raises(InputError, match=f"is {old}; it cannot become {new}"):
            rules.check_transition(1, old, new)


# -- cron ------------------------------------------------------------------------------------------
def test_parse_cron_fields_and_errors():
    cron = rules.parse_cron("*/15 3 1-5 * 0,7")
    assert sorted(cron.minute) == [0, 15, 30, 45] and cron.hour == {3} and cron.day_of_week == {0}
    for bad, field in (("* * *", "5 fields"), ("61 * * * *", "minute"), ("* 24 * * *", "hour"),
                       ("* * 0 * *", "day"), ("* * * 13 *", "month"), ("x * * * *", "minute")):
        with pytest.raises(InputError, match=field):
            rules.parse_cron(bad)


def _field(values: list[int], kind: str) -> str:
    return {"star": "*", "list": ",".join(map(str, values)),
            "step": f"*/{max(values[0], 1)}"}[kind]


@settings(max_examples=60, deadline=None)
@given(minute=st.lists(st.integers(0, 59), min_size=1, max_size=3), mk=st.sampled_from(["star", "list", "step"]),
       hour=st.lists(st.integers(0, 23), min_size=1, max_size=3), hk=st.sampled_from(["star", "list", "step"]),
       dow=st.lists(st.integers(0, 6), min_size=1, max_size=2), dk=st.sampled_from(["star", "list"]),
       start=st.datetimes(dt.datetime(2025, 1, 1), dt.datetime(2027, 12, 31)))
def test_cron_matches_as_huey_crontab(minute, mk, hour, hk, dow, dk, start):
    from huey import crontab

    fields = (_field(minute, mk), _field(hour, hk), "*", "*", _field(dow, dk))
    ours = rules.parse_cron(" ".join(fields))
    theirs = crontab(minute=fields[0], hour=fields[1], day_of_week=fields[4])
    when = start.replace(second=0, microsecond=0)
    for step in range(0, 3 * 24 * 60, 37):  # a sample of minutes over three days
        moment = when + dt.timedelta(minutes=step)
        assert ours.matches(moment) == theirs(moment), (fields, moment)


@settings(max_examples=60, deadline=None)
@given(expr=st.sampled_from(["* * * * *", "*/7 * * * *", "30 3 * * *", "0 0 1 * *", "15 10 * * 1-5",
                             "0 12 29 2 *", "5,35 */6 * 6-8 0"]),
       now=st.datetimes(dt.datetime(2025, 1, 1), dt.datetime(2027, 12, 31)))
def test_next_after_is_the_first_match(expr, now):
    cron = rules.parse_cron(expr)
    nxt = cron.next_after(now)
    assert nxt is not None and nxt > now and cron.matches(nxt)
    probe = now.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    if (nxt - probe) < dt.timedelta(days=2):  # walk every minute in between (bounded)
        while probe < nxt:
            assert not cron.matches(probe)
            probe += dt.timedelta(minutes=1)


def test_schedule_entries_due_and_keys():
    entries = rules.parse_schedule({"trends": {"cron": "* * * * *", "operation": "record-trends"},
                                    "nightly": {"cron": "30 3 * * *", "operation": "cleanup", "trait": "HasSlug"}})
    at = dt.datetime(2026, 5, 1, 3, 30, 0)
    assert [e.name for e in rules.due(entries, at)] == ["trends", "nightly"]
    assert [e.name for e in rules.due(entries, at.replace(minute=31))] == ["trends"]
    assert rules.schedule_key(entries[1], at) == "schedule:nightly:202605010330"
    with pytest.raises(InputError, match="schedule -> x: unknown key 'crn'"):
        rules.parse_schedule({"x": {"crn": "*", "cron": "* * * * *"}})


# -- operations ------------------------------------------------------------------------------------
TRAITS = {"HasSlug": {"operations": {"rebuild": {"command": ["php", "artisan", "slugs:rebuild"], "timeout": "5m",
                                                 "retries": 2, "queue": "slow", "priority": 5}}}}


def test_find_operation_user_builtin_and_system():
    spec = rules.find_operation(TRAITS, "HasSlug", "rebuild")
    assert (spec.kind, spec.command, spec.timeout, spec.retries, spec.queue, spec.priority) == (
        "command", ("php", "artisan", "slugs:rebuild"), 300, 2, "slow", 5)
    assert rules.find_operation(TRAITS, "HasSlug", "audit").kind == "builtin"
    assert rules.find_operation(TRAITS, None, "flags-advance").name == "flags-advance"
    tuned = rules.find_operation(TRAITS, None, "cleanup", {"operations": {"cleanup": {"retries": 4}}})
    assert tuned.retries == 4


def test_find_operation_suggests_near_names():
    with pytest.raises(NotFound, match="Unknown operation of HasSlug 'rebuil'. Did you mean 'rebuild'"):
        rules.find_operation(TRAITS, "HasSlug", "rebuil")
    with pytest.raises(NotFound, match="Did you mean 'flags-advance'"):
        rules.find_operation(TRAITS, None, "flag-advance")


@pytest.mark.parametrize("table,message", [
    ({}, "exactly one of"),
    ({"command": "php artisan x"}, "command: must be a non-empty list"),
    ({"command": ["php"], "callable": "a:b"}, "exactly one of"),
    ({"callable": "nocolon"}, "is not \"package.module:function\""),
    ({"command": ["x"], "retries": -1}, "retries: -1 must be a number"),
    ({"command": ["x"], "timeout": "soon"}, "timeout 'soon' is not a duration"),
    ({"command": ["x"], "queue": "../etc"}, "Invalid queue name"),
    ({"command": ["x"], "shell": True}, "unknown key 'shell'"),
])
def test_parse_operation_refuses(table, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        rules.parse_operation("traits -> T -> operations -> op", "op", table)


def test_subscribers():
    subs = rules.parse_subscribers({"subscribers": [{"on": ["flag.*", "job.failed"], "command": ["cat"]}]})
    assert subs[0].wants("flag.set") and subs[0].wants("job.failed")
    assert not subs[0].wants("job.succeeded") and not subs[0].wants("config.set")
    assert subs[0].retries == 3 and subs[0].name == "subscriber-0"
    with pytest.raises(InputError, match="events -> subscribers -> 0 -> on"):
        rules.parse_subscribers({"subscribers": [{"on": [], "command": ["cat"]}]})


def test_worker_lost_rule():
    beat = WorkerBeat(worker_id="w", host="h", pid=1, state="busy", queue="q", started=NOW, last_seen=NOW)
    assert not rules.worker_lost(beat, NOW + dt.timedelta(seconds=5), max_age=10)
    assert rules.worker_lost(beat, NOW + dt.timedelta(seconds=11), max_age=10)
    assert rules.worker_lost(beat, NOW, max_age=10, pid_gone=True)
    assert rules.worker_lost(None, NOW, max_age=10)


def test_jobs_settings():
    assert rules.parse_jobs_settings({}) == rules.JobsSettings()
    conf = rules.parse_jobs_settings({"queue": "slow", "heartbeat": 0.5, "lost_after": 3, "retention_days": 7})
    assert (conf.queue, conf.heartbeat, conf.lost_after, conf.retention_days) == ("slow", 0.5, 3.0, 7)
    for section, message in (({"heartbeat": "fast"}, 'jobs -> heartbeat: "fast" must be a number'),
                              ({"heartbeat": 5, "lost_after": 5}, "must be longer than jobs -> heartbeat"),
                              ({"queue": "a/b"}, "Invalid queue name 'a/b'")):
        with pytest.raises(InputError, match=message):
            rules.parse_jobs_settings(section)


def test_process_gone_sees_exits_zombies_and_reused_pids():
    """Recovery's same-host check: a worker's process is gone when it exited, is a zombie, or its pid
    now belongs to a process that started after the worker."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import psutil

    from traitctl.jobs.liveness import process_gone

    me = psutil.Process()
    began = dt.datetime.fromtimestamp(me.create_time(), dt.timezone.utc).replace(tzinfo=None)
    assert not process_gone(os.getpid(), began + dt.timedelta(seconds=0.5))
    assert process_gone(os.getpid(), began - dt.timedelta(hours=1))  # the pid was reused since
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        child_began = dt.datetime.fromtimestamp(psutil.Process(child.pid).create_time(), dt.timezone.utc)
        assert not process_gone(child.pid, child_began.replace(tzinfo=None))
        os.kill(child.pid, signal.SIGKILL)
        for _ in range(1000):  # until the kernel has made it a zombie (at most 10 s)
            if psutil.Process(child.pid).status() == psutil.STATUS_ZOMBIE:
                break
            time.sleep(0.01)
        assert process_gone(child.pid, child_began.replace(tzinfo=None))  # killed, not reaped: a zombie
    finally:
        child.kill()
        child.wait()
    assert process_gone(child.pid, child_began.replace(tzinfo=None))  # reaped: no such process
