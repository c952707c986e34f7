"""Built-in operations run in-process through the worker's runtime (real store, real files): audit
finds what is wrong, cleanup removes what is past retention, system operations reach their areas."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from tests.jobs.conftest import append


@pytest.fixture
def runtime(jobs_project, config_file):
    from traitctl.context import GlobalOptions
    from traitctl.jobs.worker import Runtime

    rt = Runtime(GlobalOptions(config=str(config_file)), os.environ, jobs_project)
    yield rt
    rt.store.close()


def run(runtime, operation: str, trait: str | None = None, **data):
    from traitctl.engine.jobs import find_operation

    spec = find_operation(runtime.main_doc()["traits"], trait, operation, runtime.jobs_section())
    job = runtime.jobs().enqueue(spec, trait=trait, data=data)
    runtime.run_job(job.id)
    return runtime.store.jobs.get(job.id)


def test_audit_reports_what_is_inconsistent(runtime, config_file):
    append(config_file, "[models.'App\\Models\\Ghost'.HasSlug]\nmax_length = 4\n"
                        '[flags.old_slugs]\nenabled = true\npercentage = 100\ntemporary = true\ngroup = "HasSlug"\n')
    job = run(runtime, "audit", "HasSlug")
    assert job.state == "succeeded", job.error
    found = {(f["check"], f["where"]) for f in job.result["findings"]}
    assert ("schema", f"{config_file}: models -> App\\Models\\Ghost -> HasSlug -> max_length") in found
    assert ("models", "models -> App\\Models\\Ghost -> HasSlug") in found
    assert ("flags", "flags -> old_slugs") in found
    assert job.result["count"] == len(job.result["findings"]) == 3
    everything = run(runtime, "audit")
    assert ("code", "traits -> Versionable") in {(f["check"], f["where"]) for f in everything.result["findings"]}


def test_cleanup_removes_what_is_past_retention(runtime):
    from traitctl.engine.jobs import Job

    store = runtime.store
    long_ago = dt.datetime(2020, 1, 1)
    old = store.jobs.claim(store.jobs.create(Job(id=0, trait="HasSlug", operation="audit", enqueued=long_ago)).id,
                           "w", long_ago)
    store.jobs.finish(old, "succeeded", long_ago)
    other = store.jobs.claim(store.jobs.create(Job(id=0, trait="Cacheable", operation="audit", enqueued=long_ago)).id,
                             "w", long_ago)
    store.jobs.finish(other, "succeeded", long_ago)
    store.flag_overrides.set("trait_caching", "u1", True, expires=long_ago, now=long_ago, actor="t")
    from traitctl.engine.telemetry_formats import Point

    recent = dt.datetime.now(dt.timezone.utc).timestamp()
    store.metrics.write([Point("trait.errors", "counter", 1.0, 1577836800.0, {"trait": "HasSlug"}),
                         Point("trait.errors", "counter", 1.0, recent, {"trait": "HasSlug"})])
    job = run(runtime, "cleanup", "HasSlug")
    assert job.state == "succeeded" and job.result["jobs"] == 1 and job.result["flag_overrides"] == 1
    assert job.result["telemetry"] == 1 and store.metrics.count_points() == 1
    assert store.jobs.get(old.id) is None and store.jobs.get(other.id) is not None
    assert run(runtime, "cleanup").result["jobs"] == 1  # without a trait: every trait's records


def test_system_operations_reach_their_areas(runtime):
    advanced = run(runtime, "flags-advance")
    assert advanced.state == "succeeded" and {d["flag"] for d in advanced.result["decisions"]} >= {
        "traits_management_system"}
    trends = run(runtime, "record-trends")
    assert trends.state == "succeeded" and trends.result["recorded"] >= 5
    inventory = run(runtime, "inventory")
    assert inventory.state == "succeeded" and inventory.result["models"] > 0


def test_callable_operation_and_its_errors(runtime, config_file, jobs_project, monkeypatch):
    (jobs_project / "mytasks.py").write_text(
        "def rebuild(job):\n    return {'trait': job['trait'], 'n': job['data']['n'] * 2}\n"
        "def broken(job):\n    raise ValueError('no index')\n")
    monkeypatch.syspath_prepend(str(jobs_project))
    append(config_file, '[traits.HasSlug.operations.rebuild]\ncallable = "mytasks:rebuild"\n'
                        '[traits.HasSlug.operations.broken]\ncallable = "mytasks:broken"\n'
                        '[traits.HasSlug.operations.absent]\ncallable = "mytasks:nothing"\n')
    assert run(runtime, "rebuild", "HasSlug", n=21).result == {"trait": "HasSlug", "n": 42}
    broken = run(runtime, "broken", "HasSlug")
    assert (broken.state, broken.error) == ("failed", "ValueError: no index")
    absent = run(runtime, "absent", "HasSlug")
    assert absent.state == "failed" and "callable 'mytasks:nothing' cannot be imported" in absent.error


def test_a_callable_with_a_timeout_runs_in_a_child_that_is_killed(runtime, config_file, jobs_project, monkeypatch):
    """With ``timeout`` a callable runs in its own process (same import path): its result, its
    printed output and its error come back as in-process; past the timeout its group is killed."""
    (jobs_project / "slowtasks.py").write_text(
        "import os, time\n"
        "def fine(job):\n    print('working on', job['job_id'])\n    return {'pid': os.getpid(), 'n': job['data']['n']}\n"
        "def broken(job):\n    raise ValueError('no index')\n"
        "def hangs(job):\n    open(job['data']['mark'], 'w').write(str(os.getpid()))\n    time.sleep(60)\n")
    monkeypatch.syspath_prepend(str(jobs_project))
    append(config_file, '[traits.HasSlug.operations.fine]\ncallable = "slowtasks:fine"\ntimeout = 30\n'
                        '[traits.HasSlug.operations.broken]\ncallable = "slowtasks:broken"\ntimeout = 30\n'
                        '[traits.HasSlug.operations.hangs]\ncallable = "slowtasks:hangs"\ntimeout = 1\n')
    fine = run(runtime, "fine", "HasSlug", n=3)
    assert fine.state == "succeeded", fine.error
    assert fine.result["n"] == 3 and fine.result["pid"] != os.getpid()
    assert fine.output.strip() == f"working on {fine.id}"
    broken = run(runtime, "broken", "HasSlug")
    assert (broken.state, broken.error) == ("failed", "ValueError: no index")
    mark = jobs_project / "hangs.pid"
    hangs = run(runtime, "hangs", "HasSlug", mark=str(mark))
    assert hangs.state == "failed" and hangs.error == "timed out after 1s; its process group was killed"
    import psutil

    child = int(mark.read_text())
    assert not psutil.pid_exists(child) or psutil.Process(child).status() == psutil.STATUS_ZOMBIE


def test_an_operation_removed_from_the_configuration_fails_clearly(runtime, config_file):
    append(config_file, '[traits.HasSlug.operations.gone]\ncommand = ["true"]\n')
    from traitctl.engine.jobs import find_operation

    spec = find_operation(runtime.main_doc()["traits"], "HasSlug", "gone")
    job = runtime.jobs().enqueue(spec, trait="HasSlug")
    block = '[traits.HasSlug.operations.gone]\ncommand = ["true"]\n'
    config_file.write_text(config_file.read_text().replace(block, ""))
    os.utime(config_file, ns=(0, 1))  # a new mtime, whatever the clock's resolution
    runtime.run_job(job.id)
    done = runtime.store.jobs.get(job.id)
    assert done.state == "failed" and "Unknown operation of HasSlug 'gone'" in done.error


def test_a_configuration_broken_after_the_claim_fails_the_run(runtime, config_file):
    from traitctl.engine.jobs import builtin_operation

    job = runtime.jobs().enqueue(builtin_operation("noop"))
    config_file.write_text(config_file.read_text() + "\n[broken\n")
    os.utime(config_file, ns=(0, 2))
    runtime.run_job(job.id)
    done = runtime.store.jobs.get(job.id)
    assert done.state == "failed" and "invalid TOML" in done.error


def test_deferred_success_is_recorded_by_the_next_claim_or_settle(runtime):
    """As ``traitctl worker`` runs: a success waits for the next claim's transaction, or settle()."""
    from traitctl.engine.jobs import builtin_operation

    runtime.defer_success = True
    first, second = (runtime.jobs().enqueue(builtin_operation("noop")) for _ in range(2))
    runtime.run_job(first.id)
    assert runtime.store.jobs.get(first.id).state == "running" and runtime.done == 1
    runtime.run_job(second.id)
    assert [runtime.store.jobs.get(j.id).state for j in (first, second)] == ["succeeded", "running"]
    assert runtime.settle(older_than=60) == 0 and runtime.settle() == 1
    assert runtime.store.jobs.get(second.id).state == "succeeded" and runtime.settle() == 0
    for job in (first, second):
        assert [e["event"] for e in runtime.store.jobs.get(job.id).timeline] == ["started", "succeeded"]
    assert not runtime.store.events.list(kind="job.*", limit=None)  # system jobs: their records only
