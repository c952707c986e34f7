"""``traitctl migrate-plan``: the four migration phases of the seeds, dated, with criteria, from the
inventory and the configuration."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from traitctl.commands.common import CONTEXT_SETTINGS, DryRunOpt, JsonOpt, app_for, examples, format_option

app = typer.Typer(add_completion=False, context_settings=CONTEXT_SETTINGS)

FORMATS = ("table", "markdown", "json")
#: Former spellings still accepted: ``rich`` is ``table``.
DEPRECATED_FORMATS = {"rich": "table"}


@app.command("migrate-plan", epilog=examples("traitctl migrate-plan",
                                              "traitctl migrate-plan --trait Cacheable --format markdown",
                                              "traitctl migrate-plan --apply-schedule --dry-run"))
def migrate_plan(
    start: Annotated[Optional[str], typer.Option("--start", help="First day, YYYY-MM-DD (default: today).")] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", help="Models per batch in phase 3 "
                          "(default [migration] batch_size or 5).")] = None,
    traits_per_day: Annotated[Optional[int], typer.Option("--traits-per-day", help="Traits migrated per working "
                              "day in phase 2 (default 1).")] = None,
    flags: Annotated[Optional[str], typer.Option("--flags", help="Phase 4: one flag for the phase ('phase') or "
                     "one per trait ('trait').")] = None,
    trait: Annotated[Optional[list[str]], typer.Option("--trait", "-t", help="Plan only this trait (and the "
                     "traits it uses); repeatable.")] = None,
    model: Annotated[Optional[list[str]], typer.Option("--model", "-m", help="Plan only this model in phase 3; "
                     "repeatable.")] = None,
    format_: Annotated[str, format_option(*FORMATS,
                                          help="table, markdown or json ('rich': table, deprecated).")] = "table",
    apply_schedule: Annotated[bool, typer.Option("--apply-schedule", help="Write phase 4's steps as flag "
                              "schedules (recorded in history; with --dry-run show the diff).")] = False,
    telemetry: Annotated[bool, typer.Option("--telemetry/--no-telemetry", help="Show each trait's baseline "
                         "(error rate, mean duration over [migration] observe) from stored telemetry.")] = True,
    dry_run: DryRunOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Plan the migration: infrastructure, traits (simplest first), model batches, feature enablement."""
    from traitctl.engine.errors import InputError

    state = app_for(json_)
    if format_ in DEPRECATED_FORMATS:
        state.out.warn(f"--format {format_} is deprecated: use --format {DEPRECATED_FORMATS[format_]}.")
    fmt = "json" if state.out.json_mode else DEPRECATED_FORMATS.get(format_, format_)
    if fmt not in FORMATS:
        raise InputError(f"--format {format_!r} is not one of {', '.join(FORMATS)}.")
    for option, value in (("--batch-size", batch_size), ("--traits-per-day", traits_per_day)):
        if value is not None and value < 1:
            raise InputError(f"{option} must be at least 1, got {value}.")
    plan = _build(state, start, trait or [], model or [], telemetry,
                  dict(batch_size=batch_size, traits_per_day=traits_per_day, flags=flags))
    if apply_schedule:
        _apply(state, plan, dry_run)
        return
    _render(state, plan, fmt)


def _build(state, start: str | None, traits: list[str], models: list[str], telemetry: bool, overrides: dict):
    import datetime as dt

    from traitctl.engine import plan as engine
    from traitctl.scan import scan_for_app

    day = engine.parse_date(start) if start is not None else dt.date.today()
    cfg = state.config(tenants="all")
    options = engine.settings(cfg.section("migration"), **overrides)
    inventory = scan_for_app(state)
    baselines = _baselines(state, options, [t.name for t in inventory.traits]) if telemetry else {}
    return engine.build(inventory, cfg, day, options=options, traits=traits, models=models, baselines=baselines)


def _baselines(state, options, names: list[str]) -> dict[str, dict[str, float]]:
    """Each trait's telemetry over the last ``observe`` (nothing when no metrics are stored)."""
    import datetime as dt

    from traitctl.engine import plan as engine
    from traitctl.engine.timeparse import parse_duration

    metrics = getattr(state.store(), "metrics", None)
    if metrics is None:
        return {}
    until = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    since = until - parse_duration(options.observe)
    out = {}
    for name in names:
        values = {part: metrics.aggregate(metric, since=since, until=until, agg=agg)
                  for part, (metric, agg) in engine.baseline_queries(options, name).items()}
        if any(v is not None for v in values.values()):
            out[name] = engine.baseline(values)
    return out


def _render(state, plan, fmt: str) -> None:
    from traitctl.engine import plan as engine

    if fmt == "json":
        state.out.json(plan.to_dict())
    elif fmt == "markdown":
        state.out.text(engine.markdown(plan))
    else:
        _table(state, plan)


def _table(state, plan) -> None:
    from traitctl.engine import plan as engine

    out = state.out
    rows = [(f"{p.number}. {p.name}", p.start.isoformat(), p.end.isoformat(), str(engine.working_days(plan, p)),
             engine.bar(plan, p)) for p in plan.phases]
    out.table(["phase", "start", "end", "days", "timeline"], rows,
              title=f"Migration plan {plan.start.isoformat()} to {plan.end.isoformat()}")
    for phase in plan.phases:
        out.table(["date", "step", "check with"],
                  [(i.date.isoformat(), "\n".join((i.title,) + i.details), i.command) for i in phase.items],
                  title=f"Phase {phase.number}: {phase.name}")
        crit = [("success", c.text, c.threshold, c.command) for c in phase.success]
        crit += [("rollback", c.text, c.threshold, c.command) for c in phase.rollback]
        out.table(["kind", "criterion", "threshold", "check with"], crit, title=f"Phase {phase.number} criteria")
    for note in plan.notes:
        out.line(f"note: {note}")


def _apply(state, plan, dry_run: bool) -> None:
    """Write every phase-4 flag's schedule through the flags code (as ``flags schedule`` does), in
    one locked edit recorded as one history event (one rollback undoes the whole apply)."""
    from traitctl import flags_service
    from traitctl.commands.common import command_line, event_ref, show_diff, write_document
    from traitctl.engine import plan as engine
    from traitctl.engine import rollout
    from traitctl.store.toml_file import ABSENT

    existing = flags_service.section(state.main_doc())
    now = flags_service.utcnow()
    values: dict = {}
    steps_of = engine.schedules(plan)
    for name, steps in steps_of.items():
        parsed = rollout.parse_schedule(steps)
        rollout.check_future(parsed, now)
        values[name] = {("schedule",): [str(s) for s in parsed], ("paused",): ABSENT}
        if name not in existing:
            values[name].update({("enabled",): False, ("percentage",): 0, ("created",): now.date(),
                                 ("description",): "Migration phase 4 (traitctl migrate-plan)"})
    edit = flags_service.write_many(state.config_path, values, lock_timeout=state.settings.lock_timeout,
                                    dry_run=dry_run, must_exist=False)
    events: list = []
    if not dry_run:
        state.reset_config()
        events = flags_service.record(state.store(), "flag.schedule", edit, actor=state.settings.actor,
                                      command=command_line(), data={"source": "migrate-plan"})
    if state.out.json_mode:
        state.out.json(write_document(edit, events, dry_run, schedules=steps_of))
    elif dry_run:
        show_diff(state, edit)
    else:
        for name, steps in steps_of.items():
            state.out.success(f"Schedule of {name} set: {' '.join(steps)}")
        state.out.success(("Schedules written" if edit.changed else "No change") + event_ref(events) + ".")
