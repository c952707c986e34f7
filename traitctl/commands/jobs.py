"""``traitctl jobs``: enqueue trait operations, list and inspect job records, retry, cancel, purge,
and show the periodic schedule. The work itself is done by ``traitctl worker``."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from traitctl import completion
from traitctl.commands.common import (CONTEXT_SETTINGS, DryRunSummaryOpt, JsonOpt, ModelOpt, OptTraitOpt, TenantOpt,
                                      YesOpt, app_for, command_line, confirm, examples, limit_option)
from traitctl.context import App

app = typer.Typer(help="Run trait operations as background jobs and inspect their records.", no_args_is_help=True,
                  add_completion=False, context_settings=CONTEXT_SETTINGS,
                  epilog=examples("traitctl jobs enqueue HasUserTracking audit",
                                  "traitctl jobs list --state queued --limit 20",
                                  "traitctl jobs schedule", "traitctl jobs stats --queue default"))

StateOpt = Annotated[Optional[str], typer.Option("--state", "-s", autocompletion=completion.job_states,
                     help="queued, running, succeeded, failed or cancelled.")]
LimitOpt = Annotated[int, limit_option("jobs, newest first")]
IdArg = Annotated[int, typer.Argument(help="Job id (from jobs enqueue or jobs list).")]


def _service(state: App) -> Any:
    from traitctl.engine.jobs import parse_jobs_settings
    from traitctl.jobs.service import Jobs

    conf = parse_jobs_settings(state.config().section("jobs"))
    return Jobs(state.store(), state.settings.queue_url, actor=state.settings.actor, command=command_line(),
                default_queue=conf.queue)


def _warn_undelivered(state: App, service: Any) -> None:
    """A job recorded while its queue was unreachable: a warning, exit 0 (a worker sends it later)."""
    for _, sentence in service.undelivered:
        state.out.warn(sentence)


def job_document(job: Any) -> dict[str, Any]:
    """The ``--json`` shape of one job (every record field plus ``duration_s``)."""
    from traitctl.jobs.service import job_document as document

    return document(job)


def _json(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True, default=str) if value else ""


def _when(value: Any) -> str:
    from traitctl.output import human_time

    return human_time(value)


def _would(state: App, job_id: int, new_state: str, sentence: str) -> Any:
    """A dry run of a state change: the job as it is, checked against the state machine."""
    from traitctl.engine.jobs import check_transition

    job = _service(state).get(job_id)
    check_transition(job.id, job.state, new_state)
    if state.out.json_mode:
        state.out.json({**job_document(job), "dry_run": True, "events": [], "state_after": new_state})
    else:
        state.out.line(f"Job {job.id} ({job.state}) {sentence} (dry run: nothing changed).")
    return job


def _changed(state: App, job: Any, service: Any, before: int) -> None:
    """The ``--json`` answer of a job write: the job document with ``dry_run`` and the ids of the
    history events the write recorded."""
    events = [e.id for e in state.store().events.list(limit=20) if e.id > before
              and e.data.get("job") == job.id]
    state.out.json({**job_document(job), "dry_run": False, "events": sorted(events)})


def _last_event(state: App) -> int:
    newest = state.store().events.list(limit=1)
    return newest[0].id if newest else 0


def _operation(state: App, target: str, operation: Optional[str], tenant: Optional[str]) -> tuple:
    """(trait or None, operation name, spec) for ``enqueue TARGET [OPERATION]``, names matched."""
    from traitctl.engine import config as cfg_engine
    from traitctl.engine import jobs as rules

    cfg = state.config(tenants={tenant} if tenant else None)
    trait, op = (None, target) if operation is None else (cfg_engine.match_name("trait", target, cfg.traits), operation)
    if tenant:
        from traitctl.validation_service import require_tenant

        cfg_engine.check_tenant_id(tenant)
        require_tenant(cfg, tenant)
    return trait, op, rules.find_operation(cfg.traits, trait, op, cfg.section("jobs"))


@app.command()
def enqueue(
    target: Annotated[str, typer.Argument(metavar="TRAIT", help="Trait, or a system operation on its own.",
                                          autocompletion=completion.trait_names)],
    operation: Annotated[Optional[str], typer.Argument(help="audit, cleanup or one of the trait's operations.")] = None,
    model: ModelOpt = None, tenant: TenantOpt = None,
    data: Annotated[Optional[list[str]], typer.Option("--data", "-d", help="KEY=VALUE for the job (repeatable).")] = None,
    delay: Annotated[Optional[str], typer.Option("--delay", help="Run after this long: 30s, 10m, 2h, 7d.")] = None,
    at: Annotated[Optional[str], typer.Option("--at", help="Run at this ISO time (UTC unless an offset is given).")] = None,
    priority: Annotated[Optional[int], typer.Option("--priority", min=-100, max=100, help="Higher runs first.")] = None,
    all_traits: Annotated[bool, typer.Option("--all", help="audit/cleanup for every trait: jobs enqueue --all cleanup.")] = False,
    dry_run: DryRunSummaryOpt = False,
    json: JsonOpt = False,
) -> None:
    """Queue TRAIT OPERATION (or a system OPERATION: audit, cleanup, flags-advance, record-trends,
    inventory, noop) and print the job id."""
    from traitctl.engine import jobs as rules
    from traitctl.engine.errors import InputError
    from traitctl.jobs.service import utcnow

    state = app_for(json)
    if delay and at:
        raise InputError("Give --delay or --at, not both.")
    if all_traits and (operation is not None or target not in rules.TRAIT_OPERATIONS):
        raise InputError("--all takes one operation, audit or cleanup: traitctl jobs enqueue --all cleanup.")
    values = rules.parse_data(data or [])
    now = utcnow()
    eta = now + rules.parse_duration(delay, "--delay") if delay else rules.parse_at(at, now) if at else None
    trait, op, spec = _operation(state, target, operation, tenant)
    if model is not None:
        from traitctl.commands.config import _match_model

        model = _match_model(state, state.config(), model, known_only=True)
    service = _service(state)
    if dry_run:
        _would_enqueue(state, service, trait, op, model, tenant, values, eta, priority)
        return
    before = _last_event(state)
    job = service.enqueue(spec, trait=trait, model=model, tenant=tenant,
                          data=values, eta=eta, priority=priority, now=now, record=True)
    _warn_undelivered(state, service)
    if state.out.json_mode:
        _changed(state, job, service, before)
        return
    state.out.line(str(job.id))
    when = f" at {_when(eta)} UTC" if eta else ""
    state.out.success(f"Queued {trait + ' ' if trait else ''}{op} as job {job.id} on queue {job.queue}{when}.")


def _would_enqueue(state: App, service: Any, trait, op: str, model, tenant, values: dict, eta, priority) -> None:
    """``enqueue --dry-run``: the job that would be queued, checked as a real one; nothing recorded."""
    if state.out.json_mode:
        state.out.json({"dry_run": True, "events": [], "trait": trait, "operation": op, "model": model,
                        "tenant": tenant, "data": values, "eta": eta, "priority": priority,
                        "queue": service.default_queue})
        return
    when = f" at {_when(eta)} UTC" if eta else ""
    state.out.line(f"Would queue {trait + ' ' if trait else ''}{op}{when} (dry run: nothing queued).")


@app.command("list")
def list_(state_: StateOpt = None, trait: OptTraitOpt = None,
          operation: Annotated[Optional[str], typer.Option("--operation", help="Only this operation.")] = None,
          limit: LimitOpt = 50, json: JsonOpt = False) -> None:
    """List job records, newest first."""
    from traitctl.engine.jobs import STATES
    from traitctl.engine.errors import InputError

    state = app_for(json)
    if state_ and state_ not in STATES:
        raise InputError(f"--state {state_!r} is not one of {', '.join(STATES)}.")
    if trait is not None:
        trait = _known_trait(state, trait)
    jobs = state.store().jobs.list(state=state_, trait=trait, operation=operation, limit=limit)
    if state.out.json_mode:
        state.out.json({"jobs": [job_document(j) for j in jobs]})
        return
    rows = [(j.id, j.trait or "-", j.operation, j.state, f"{j.attempts}/{j.max_attempts}", j.queue,
             _when(j.enqueued), "" if j.duration is None else f"{j.duration:.2f}s", (j.error or "")[:60]) for j in jobs]
    state.out.table(["id", "trait", "operation", "state", "attempts", "queue", "enqueued (UTC)", "took", "error"],
                    rows, caption=None if jobs else "no jobs")


def _known_trait(state: App, trait: str) -> str:
    """A configured trait (matched as everywhere), or one that has job records (a trait removed
    from the configuration keeps its history); anything else is unknown, with near names."""
    from traitctl.engine import config as cfg_engine
    from traitctl.engine.errors import NotFound

    try:
        return cfg_engine.match_name("trait", trait, state.config().traits)
    except NotFound:
        if state.store().jobs.list(trait=trait, limit=1):
            return trait
        raise


@app.command()
def show(job_id: IdArg, json: JsonOpt = False) -> None:
    """Show one job: attempts, times, worker, exit code, error, its timeline (every transition) and
    the last lines of output."""
    from traitctl.engine.jobs import full_timeline

    state = app_for(json)
    job = _service(state).get(job_id)
    if state.out.json_mode:
        state.out.json(job_document(job))
        return
    fields = [("id", job.id), ("trait", job.trait or "-"), ("operation", job.operation), ("model", job.model),
              ("tenant", job.tenant), ("data", _json(job.data)), ("state", job.state),
              ("attempts", f"{job.attempts} of {job.max_attempts}" + (f" ({job.lost} lost with a worker)" if job.lost else "")),
              ("queue", f"{job.queue} (priority {job.priority})"), ("enqueued", _when(job.enqueued)),
              ("runs at", _when(job.eta)), ("started", _when(job.started)), ("finished", _when(job.finished)),
              ("duration", "" if job.duration is None else f"{job.duration:.3f}s"), ("worker", job.worker),
              ("exit code", job.exit_code), ("error", job.error), ("result", _json(job.result))]
    for name, value in fields:
        if value not in (None, ""):
            state.out.line(f"{name + ':':<11} {value}")
    state.out.line("timeline (UTC):")
    for entry in full_timeline(job):
        details = ", ".join(f"{k} {_json(v) if isinstance(v, (dict, list)) else v}" for k, v in entry.items()
                            if k not in ("at", "event"))
        state.out.line(f"  {entry['at'][:19].replace('T', ' ')}  {entry['event']:<10} {details}".rstrip())
    if job.output:
        state.out.line("output (last lines):")
        for line in job.output.splitlines():
            state.out.line(f"  {line}")


@app.command()
def retry(job_id: IdArg, dry_run: DryRunSummaryOpt = False, json: JsonOpt = False) -> None:
    """Queue a finished (failed, cancelled or succeeded) job again, from its first attempt."""
    from traitctl.engine.jobs import QUEUED

    state = app_for(json)
    if dry_run:
        _would(state, job_id, QUEUED, "would be queued again from its first attempt")
        return
    service = _service(state)
    before = _last_event(state)
    job = service.retry(job_id)
    _warn_undelivered(state, service)
    if state.out.json_mode:
        _changed(state, job, service, before)
        return
    state.out.success(f"Job {job.id} queued again on {job.queue}.")


@app.command()
def cancel(job_id: IdArg, dry_run: DryRunSummaryOpt = False, json: JsonOpt = False) -> None:
    """Cancel a queued job, or stop a running one (its command's process group is killed)."""
    from traitctl.engine.jobs import CANCELLED

    state = app_for(json)
    if dry_run:
        _would(state, job_id, CANCELLED, "would be cancelled")
        return
    service = _service(state)
    before = _last_event(state)
    job = service.cancel(job_id)
    if state.out.json_mode:
        _changed(state, job, service, before)
        return
    state.out.success(f"Job {job.id} cancelled.")


@app.command()
def purge(older_than: Annotated[str, typer.Option("--older-than", help="Finished before this long ago: 7d, 12h.")],
          trait: OptTraitOpt = None, dry_run: DryRunSummaryOpt = False, yes: YesOpt = False,
          json: JsonOpt = False) -> None:
    """Delete records of jobs that finished (succeeded, failed, cancelled) before --older-than (asks
    first; --yes off a terminal).

    The purge is recorded in the history (one `job.purged` event with the count)."""
    from traitctl.engine.jobs import parse_duration
    from traitctl.jobs.service import utcnow

    state = app_for(json)
    before = utcnow() - parse_duration(older_than, "--older-than")
    service = _service(state)
    last = _last_event(state)
    if not dry_run:
        confirm(f"Delete the records of jobs{f' of trait {trait}' if trait else ''} finished before "
                f"{_when(before)} UTC?", yes)
    count = service.purge(before, trait=trait, dry_run=dry_run)
    events = [e.id for e in state.store().events.list(kind="job.purged", limit=5) if e.id > last]
    if state.out.json_mode:
        state.out.json({"dry_run": dry_run, "events": sorted(events), "deleted": 0 if dry_run else count,
                        "would_delete": count if dry_run else None, "before": before})
        return
    state.out.line(str(count))
    state.out.success(f"{'Would delete' if dry_run else 'Deleted'} {count} job record(s) finished before "
                      f"{_when(before)} UTC" + (" (dry run: nothing deleted)." if dry_run else "."))


@app.command()
def schedule(json: JsonOpt = False) -> None:
    """The periodic jobs of [schedule] (cron as Huey's crontab, UTC) and when each runs next."""
    from traitctl.engine import jobs as rules
    from traitctl.jobs.service import utcnow

    state = app_for(json)
    cfg = state.config()
    entries = rules.parse_schedule(cfg.section("schedule"))
    now = utcnow()
    docs = []
    for entry in entries:
        rules.find_operation(cfg.traits, entry.trait, entry.operation, cfg.section("jobs"))
        docs.append({"name": entry.name, "cron": entry.cron.expr, "operation": entry.operation, "trait": entry.trait,
                     "model": entry.model, "tenant": entry.tenant, "data": entry.data,
                     "next_run": entry.cron.next_after(now)})
    if state.out.json_mode:
        state.out.json({"schedule": docs, "now": now})
        return
    rows = [(d["name"], d["cron"], d["trait"] or "-", d["operation"], _when(d["next_run"])) for d in docs]
    state.out.table(["name", "cron", "trait", "operation", "next run (UTC)"], rows,
                    caption=None if docs else "no [schedule] entries")


@app.command()
def stats(json: JsonOpt = False,
          queue: Annotated[Optional[str], typer.Option("--queue", "-Q", "--name",
                                                        help="Queue name (default: [jobs] queue).")] = None) -> None:
    """Job counts by state, jobs finished in the last hour, and what waits on the queue."""
    import datetime as dt

    from traitctl.jobs import queue as job_queue
    from traitctl.jobs.service import utcnow
    from traitctl.settings import redact_url

    state = app_for(json)
    service = _service(state)
    name = queue or service.default_queue
    counts = state.store().jobs.count_by_state()
    hour = state.store().jobs.throughput(utcnow() - dt.timedelta(hours=1))
    waiting = job_queue.stats(state.settings.queue_url, name)
    doc = {"states": counts, "last_hour": hour, "queue": waiting, "queue_url": redact_url(state.settings.queue_url)}
    if state.out.json_mode:
        state.out.json(doc)
        return
    state.out.table(["state", "jobs"], list(counts.items()), title="Job records")
    age = "-" if waiting.oldest_pending_age_s is None else f"{waiting.oldest_pending_age_s:.1f}s"
    state.out.table(["queue", "backend", "pending", "scheduled", "oldest waits", "finished last hour"],
                    [(name, waiting.backend, waiting.pending, waiting.scheduled, age, sum(hour.values()))])
