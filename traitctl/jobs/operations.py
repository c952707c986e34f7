"""What a job runs: built-in operations (``audit``, ``cleanup``, system operations), configured
commands (an argument list, never a shell) and Python callables.

Operations must be idempotent: a job whose worker dies is run again (at-least-once delivery).
Pieces owned by other areas (flags, metrics, inventory) are imported when the operation runs; when
one is missing the job fails with a sentence saying so.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from traitctl.engine.jobs import Job, OperationSpec

#: Bytes of output kept from the end of a command's stdout+stderr.
OUTPUT_TAIL_BYTES = 4000
#: Lines of output kept (``jobs show`` prints them).
OUTPUT_TAIL_LINES = 20
#: Seconds between SIGTERM and SIGKILL when a command's process group is stopped.
KILL_GRACE = 2.0


class JobError(Exception):
    """A run failed: the message is what ``jobs show`` prints as the error."""

    def __init__(self, message: str, exit_code: int | None = None, output: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.output = output


class Interrupted(Exception):
    """The run was stopped because the job was cancelled or the worker is shutting down."""


@dataclass
class Outcome:
    """A successful run: exit code (commands), output tail and a result document."""

    exit_code: int | None = None
    output: str = ""
    result: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunContext:
    """What an operation gets: the invocation-like :class:`~traitctl.context.App` (configuration and
    store), the job, and hooks to the worker.

    :param should_stop: returns a reason to stop a running command (cancelled, shutting down) or None.
    :param children: the worker's registry of running process groups (killed on shutdown).
    """

    app: Any
    job: Job
    now: Callable[[], dt.datetime]
    should_stop: Callable[[], str | None] = lambda: None
    children: dict[int, int] = field(default_factory=dict)


def run(ctx: RunContext, spec: OperationSpec) -> Outcome:
    """Run ``spec`` for ``ctx.job``.

    :raises JobError: the run failed (message, exit code, output).
    :raises Interrupted: the run was stopped (cancel or shutdown).
    """
    if spec.kind == "command":
        return run_command(ctx, list(spec.command), _cwd(ctx, spec), spec.timeout or ctx.job.timeout)
    if spec.kind == "callable":
        return run_callable(ctx, spec.target or "", spec.timeout or ctx.job.timeout)
    builtin = BUILTINS.get(spec.name)
    if builtin is None:
        raise JobError(f"operation {spec.name!r} has no implementation in this build")
    return Outcome(result=builtin(ctx))


# -- commands ---------------------------------------------------------------------------------------
def job_environment(job: Job, base: Mapping[str, str]) -> dict[str, str]:
    """The command's environment: ``base`` plus ``TRAITCTL_TRAIT/MODEL/TENANT/JOB_ID/OPERATION/
    ATTEMPT``, ``TRAITCTL_DATA`` (the data as JSON) and ``TRAITCTL_DATA_<KEY>`` per data key."""
    env = dict(base)
    for name, value in (("TRAIT", job.trait), ("MODEL", job.model), ("TENANT", job.tenant),
                        ("JOB_ID", job.id), ("OPERATION", job.operation), ("ATTEMPT", job.attempts)):
        env[f"TRAITCTL_{name}"] = "" if value is None else str(value)
    env["TRAITCTL_DATA"] = json.dumps(job.data, sort_keys=True, default=str)
    for key, value in job.data.items():
        env["TRAITCTL_DATA_" + key.upper().replace("-", "_").replace(".", "_")] = (
            value if isinstance(value, str) else json.dumps(value, default=str))
    return env


def run_command(ctx: RunContext, argv: list[str], cwd: Path, timeout: float | None,
                stdin: bytes | None = None, extra_env: Mapping[str, str] | None = None) -> Outcome:
    """Run ``argv`` (no shell) in its own process group; kill the group on timeout, cancel or shutdown.

    :raises JobError: non-zero exit, timeout, or a program that cannot be started.
    """
    with tempfile.TemporaryFile() as out:
        proc = _start(argv, cwd, {**job_environment(ctx.job, os.environ), **(extra_env or {})}, out, stdin)
        ctx.children[proc.pid] = proc.pid
        try:
            stopped = _wait(proc, ctx, timeout, stdin)
        finally:
            ctx.children.pop(proc.pid, None)
        output = tail(out)
    if stopped == "timeout":
        raise JobError(f"timed out after {timeout:g}s; its process group was killed", proc.returncode, output)
    if stopped:
        raise Interrupted(stopped)
    if proc.returncode != 0:
        raise JobError(f"{argv[0]} exited with status {proc.returncode}", proc.returncode, output)
    return Outcome(exit_code=0, output=output)


def _start(argv: list[str], cwd: Path, env: dict[str, str], out: Any, stdin: bytes | None) -> subprocess.Popen:
    try:
        # start_new_session: the command and its children form one process group we can kill.
        return subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                                start_new_session=True)
    except FileNotFoundError:
        raise JobError(f"command {argv[0]!r} not found (looked in PATH and {cwd})") from None
    except PermissionError:
        raise JobError(f"command {argv[0]!r} is not executable") from None
    except OSError as exc:
        raise JobError(f"command {argv[0]!r} cannot be started: {exc.strerror or exc}") from None


def _wait(proc: subprocess.Popen, ctx: RunContext, timeout: float | None, stdin: bytes | None) -> str | None:
    if stdin is not None:
        try:
            proc.stdin.write(stdin)
            proc.stdin.close()
        except BrokenPipeError:
            pass  # the command does not read its input; its exit status tells the rest
    deadline = None if timeout is None else time.monotonic() + timeout
    next_check = time.monotonic() + 0.5
    while True:
        try:
            proc.wait(timeout=0.05)
            return None
        except subprocess.TimeoutExpired:
            pass
        if deadline is not None and time.monotonic() >= deadline:
            kill_group(proc)
            return "timeout"
        if time.monotonic() >= next_check:
            next_check = time.monotonic() + 0.5
            reason = ctx.should_stop()
            if reason:
                kill_group(proc)
                return reason


def kill_group(proc: subprocess.Popen | int, grace: float = KILL_GRACE) -> None:
    """SIGTERM the process group led by ``proc``, then SIGKILL what is left after ``grace`` seconds."""
    pid = proc if isinstance(proc, int) else proc.pid
    _signal_group(pid, signal.SIGTERM)
    end = time.monotonic() + grace
    while time.monotonic() < end and _group_alive(pid):
        if isinstance(proc, subprocess.Popen):
            proc.poll()  # reap the leader, or its zombie keeps the group "alive"
        time.sleep(0.02)
    _signal_group(pid, signal.SIGKILL)
    if isinstance(proc, subprocess.Popen):
        proc.wait()


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def tail(stream: Any) -> str:
    """The last :data:`OUTPUT_TAIL_LINES` lines (at most :data:`OUTPUT_TAIL_BYTES`) of a file."""
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(max(0, size - OUTPUT_TAIL_BYTES))
    text = stream.read().decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-OUTPUT_TAIL_LINES:])


def _cwd(ctx: RunContext, spec: OperationSpec) -> Path:
    """``cwd`` of the operation (relative to the configuration's folder), else the first source root,
    else the configuration's folder."""
    base = ctx.app.settings.config_dir
    if spec.cwd:
        folder = (base / spec.cwd).resolve()
    else:
        sources = ctx.app.main_doc().get("traitctl", {}).get("source") or []
        first = sources[0] if isinstance(sources, list) and sources else None
        folder = (base / first).resolve() if isinstance(first, str) else base
    if not folder.is_dir():
        raise JobError(f"working directory {folder} does not exist (set cwd in the operation)")
    return folder


# -- callables ----------------------------------------------------------------------------------------
def run_callable(ctx: RunContext, target: str, timeout: float | None = None) -> Outcome:
    """Import ``package.module:function`` and call it with the job as a dict; a returned dict is the
    result. Without a timeout it runs inside the worker; with one it runs in a child process of its
    own (``python -m traitctl.jobs.callable_child``, same ``sys.path``), which is killed with its
    process group on timeout, cancel or shutdown, like a command.

    :raises JobError: import failure, the exception the function raised, or the timeout.
    """
    payload = callable_payload(ctx.job)
    if timeout is not None:
        return _run_callable_in_child(ctx, target, payload, timeout)
    return Outcome(result=call_target(target, payload))


def callable_payload(job: Job) -> dict[str, Any]:
    """What a callable operation is given: the job as a JSON-able dict."""
    return {"job_id": job.id, "trait": job.trait, "model": job.model, "tenant": job.tenant,
            "operation": job.operation, "attempt": job.attempts, "data": dict(job.data)}


def call_target(target: str, payload: dict[str, Any]) -> dict:
    """Import and call ``target`` with ``payload``; its return value as a result dict.

    :raises JobError: import failure, or the exception the function raised.
    """
    module_name, _, func_name = target.partition(":")
    try:
        func = getattr(importlib.import_module(module_name), func_name)
    except (ImportError, AttributeError) as exc:
        raise JobError(f"callable {target!r} cannot be imported: {exc}") from None
    try:
        value = func(payload)
    except Exception as exc:  # noqa: BLE001 - the user's code failed: that is the job's error
        raise JobError(f"{type(exc).__name__}: {exc}") from None
    if value is None or isinstance(value, dict):
        return value or {}
    return {"value": repr(value)[:500]}


def _run_callable_in_child(ctx: RunContext, target: str, payload: dict[str, Any], timeout: float) -> Outcome:
    with tempfile.TemporaryDirectory(prefix="traitctl-callable-") as tmp:
        answer = Path(tmp) / "answer.json"
        argv = [sys.executable, "-m", "traitctl.jobs.callable_child", target, str(answer)]
        # The worker's own import path, so the child finds what an in-process call would.
        path = os.pathsep.join(entry for entry in sys.path if entry)
        try:
            outcome = run_command(ctx, argv, Path.cwd(), timeout, stdin=json.dumps(payload, default=str).encode(),
                                  extra_env={"PYTHONPATH": path})
        except JobError as exc:
            said = _read_answer(answer)
            if "error" in said:  # the function failed: its error, not the child's exit status
                raise JobError(said["error"], None, exc.output) from None
            raise
        said = _read_answer(answer)
        if "result" not in said:
            raise JobError(f"callable {target!r} ended without an answer", None, outcome.output)
        return Outcome(output=outcome.output, result=said["result"])


def _read_answer(path: Path) -> dict:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


# -- built-in operations ----------------------------------------------------------------------------------
def _noop(ctx: RunContext) -> dict:
    return {}


def _audit(ctx: RunContext) -> dict:
    from traitctl.jobs import audit

    return audit.run(ctx.app, ctx.job.trait, ctx.now())


def _cleanup(ctx: RunContext) -> dict:
    from traitctl.jobs import audit

    return audit.cleanup(ctx.app, ctx.job.trait, ctx.now(), ctx.job.data)


def _flags_advance(ctx: RunContext) -> dict:
    try:
        from traitctl.flags_service import advance
    except ImportError:
        raise JobError("flags-advance needs traitctl.flags_service, which is not part of this build") from None
    app = ctx.app
    decisions = advance(app.config_path, app.store(), ctx.now(), actor=app.settings.actor,
                        command=f"traitctl job {ctx.job.id} flags-advance", lock_timeout=app.settings.lock_timeout)
    from traitctl.export_service import auto_export

    app.reset_config()
    warnings = auto_export(app, ctx.now())  # also drops overrides that expired since the last export
    return {"decisions": [{"flag": getattr(d, "flag", None), "action": d.action, "reason": d.reason}
                          for d in decisions], **({"export_warnings": warnings} if warnings else {})}


def _record_trends(ctx: RunContext) -> dict:
    """A telemetry snapshot of the job system (jobs by state, queue depth, worker memory and CPU) as
    gauges, so ``metrics trends`` can follow them; the metrics store's own ``snapshot`` when it has one."""
    store = ctx.app.store()
    metrics = getattr(store, "metrics", None)
    if metrics is None:
        raise JobError("record-trends needs the metrics store (store.metrics), which is not part of this build")
    now = ctx.now()
    if hasattr(metrics, "snapshot"):
        taken = metrics.snapshot(now)
        return taken if isinstance(taken, dict) else {"recorded": taken}
    from traitctl.engine.telemetry_formats import Point

    ts = now.replace(tzinfo=dt.timezone.utc).timestamp()
    points = [Point("traitctl_jobs", "gauge", float(n), ts, {"state": state})
              for state, n in store.jobs.count_by_state().items()]
    for beat in store.workers.list(since=now - dt.timedelta(minutes=5)):
        labels = {"worker": beat.worker_id[:200]}
        points += [Point("traitctl_worker_rss_mb", "gauge", float(beat.rss_mb), ts, labels),
                   Point("traitctl_worker_cpu_percent", "gauge", float(beat.cpu_percent), ts, labels)]
    return {"recorded": metrics.write(points)}


def _inventory(ctx: RunContext) -> dict:
    try:
        from traitctl.scan import scan_for_app
    except ImportError:
        raise JobError("inventory needs traitctl.scan, which is not part of this build") from None
    inv = scan_for_app(ctx.app)
    return {"files": inv.files, "traits": len(inv.traits), "models": len(inv.models),
            "warnings": [str(w) for w in inv.warnings][:20]}


def _deliver(ctx: RunContext) -> dict:
    """Deliver one event to a subscriber: its command gets the event JSON on stdin."""
    data = ctx.job.data
    event = ctx.app.store().events.get(int(data["event"]))
    if event is None:
        raise JobError(f"event {data['event']} no longer exists")
    from traitctl.output import to_jsonable

    body = json.dumps(to_jsonable(event), sort_keys=True).encode()
    outcome = run_command(ctx, list(data["command"]), ctx.app.settings.config_dir, data.get("timeout"), stdin=body)
    return {"event": event.id, "kind": event.kind, "subscriber": data.get("subscriber"), "output": outcome.output}


BUILTINS: dict[str, Callable[[RunContext], dict]] = {
    "noop": _noop, "audit": _audit, "cleanup": _cleanup, "flags-advance": _flags_advance,
    "record-trends": _record_trends, "inventory": _inventory, "deliver": _deliver,
}
