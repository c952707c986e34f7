"""``traitctl worker``: run jobs in the foreground until SIGINT or SIGTERM."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from traitctl.commands.common import app_for

app = typer.Typer(help="Run queued jobs (the Huey consumer) in the foreground.")


@app.command()
def worker(
    workers: Annotated[int, typer.Option("--workers", "-w", min=1, max=64, help="Threads running jobs.")] = 1,
    queue: Annotated[Optional[str], typer.Option("--queue", "--name",
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

    from traitctl.jobs.worker import Runtime, run_worker
    from traitctl.settings import redact_logs, redact_url

    state = app_for(False)
    logging.basicConfig(level=logging.INFO if state.out.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    runtime = Runtime(state.options, state.env, state.cwd, queue=queue)
    redact_logs(runtime.settings.store_url, runtime.settings.queue_url)
    state.out.success(f"worker {runtime.worker_id}: queue {runtime.queue!r} on "
                      f"{redact_url(runtime.settings.queue_url)}, {workers} thread(s); Ctrl-C stops.")
    run_worker(runtime, workers=workers, periodic=not no_periodic, shutdown_timeout=shutdown_timeout)
    state.out.success(f"worker {runtime.worker_id} stopped: {runtime.done} done, {runtime.failed} failed.")
