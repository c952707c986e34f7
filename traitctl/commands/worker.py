"""``traitctl worker``: run jobs in the foreground until SIGINT or SIGTERM."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from traitctl.commands.common import CONTEXT_SETTINGS, app_for, examples

app = typer.Typer(help="Run queued jobs (the Huey consumer) in the foreground.", add_completion=False,
                  context_settings=CONTEXT_SETTINGS)


@app.command(epilog=examples("traitctl worker", "traitctl worker --workers 4 --queue default",
                             "traitctl --queue redis://127.0.0.1:6379/0 worker --no-periodic"))
def worker(
    workers: Annotated[int, typer.Option("--workers", "-w", min=1, max=64, help="Threads running jobs.")] = 1,
    queue: Annotated[Optional[str], typer.Option("--queue", "-Q", "--name",
                     help="The named queue to consume (default: [jobs] queue, else 'default'); "
                          "the queue URL is the root option: traitctl --queue URL worker.")] = None,
    no_periodic: Annotated[bool, typer.Option("--no-periodic", help="Do not create the [schedule] jobs.")] = False,
    shutdown_timeout: Annotated[float, typer.Option("--shutdown-timeout", min=0,
                                help="Seconds to wait for running jobs on SIGINT/SIGTERM before putting them back.")] = 30.0,
) -> None:
    """Run jobs from the queue, record each run, send a heartbeat every few seconds, and queue again
    the jobs of workers that died. SIGINT or SIGTERM: running commands are stopped and put back."""
    import logging
    import sys

    from traitctl.jobs.worker import run_worker
    from traitctl.settings import redact_logs, redact_url

    state = app_for(False)
    _refuse_invalid_configuration(state)
    logging.basicConfig(level=logging.INFO if state.out.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    runtime = _start(state, queue)
    redact_logs(runtime.settings.store_url, runtime.settings.queue_url)
    state.out.success(f"worker {runtime.worker_id}: queue {runtime.queue!r} on "
                      f"{redact_url(runtime.settings.queue_url)}, {workers} thread(s); Ctrl-C stops.")
    run_worker(runtime, workers=workers, periodic=not no_periodic, shutdown_timeout=shutdown_timeout)
    state.out.success(f"worker {runtime.worker_id} stopped: {runtime.done} done, {runtime.failed} failed.")


def _refuse_invalid_configuration(state) -> None:
    """A worker on a broken configuration would fail every job and heartbeat: list the problems
    (as ``traitctl config validate --no-source`` does) and exit 2 before starting."""
    from traitctl import validation_service
    from traitctl.engine.errors import InputError

    problems = validation_service.check(state)
    if problems:
        for problem in problems:
            state.out.error(problem.text())
        raise InputError(f"{state.config_path}: {len(problems)} configuration problem(s); the worker does not "
                         "start until `traitctl config validate` is clean.")


def _start(state, queue: str | None):
    """The worker's runtime; while its store cannot be opened, one line per try and a growing wait
    (as for an outage later on), until it opens or the worker is stopped."""
    import logging
    import random
    import time

    from traitctl.engine.errors import StoreError
    from traitctl.engine.jobs import outage_delay
    from traitctl.jobs.worker import Runtime

    log = logging.getLogger("traitctl.worker")
    attempt = 0
    while True:
        try:
            return Runtime(state.options, state.env, state.cwd, queue=queue)
        except StoreError as exc:
            attempt += 1
            delay = outage_delay(attempt, random.random())
            log.warning("%s; try %d, next in %.1f s", exc.message, attempt, delay)
            time.sleep(delay)
