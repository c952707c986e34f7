"""``traitctl flags``: list, change, override, evaluate, schedule, guard, lint, export and import
feature flags (``[flags.<name>]`` of the main configuration file; overrides in the store)."""

from __future__ import annotations

import datetime as dt
import re
import sys
from typing import Annotated, Any, Optional

import typer

from traitctl.commands.common import (CONTEXT_SETTINGS, DryRunOpt, DryRunSummaryOpt, FlagArg, JsonOpt, TenantOpt, YesOpt,
                                      app_for, command_line, confirm, event_ref, examples, format_option, limit_option,
                                      not_empty, show_diff, write_document)
from traitctl.context import App
from traitctl.output import human_time
from traitctl.engine import flags as engine
from traitctl.engine import rollout
from traitctl.engine.errors import InputError, NotFound

app = typer.Typer(help="Feature flags: exact percentage rollouts, overrides, schedules with guards.",
                  no_args_is_help=True, add_completion=False, context_settings=CONTEXT_SETTINGS,
                  epilog=examples("traitctl flags list", "traitctl flags get trait_caching",
                                  "traitctl flags rollout trait_caching 50 --tenant acme --dry-run",
                                  "traitctl flags eval trait_caching --tenant acme --explain"))

NowOpt = Annotated[Optional[str], typer.Option("--now", help="Act as if it were this UTC time (ISO; for tests).")]
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")


# -- helpers ----------------------------------------------------------------------------------------------------------
def _now(text: str | None) -> dt.datetime:
    from traitctl.flags_service import utcnow

    return rollout.parse_time(text) if text else utcnow()


def _flag(app_: App, name: str) -> engine.Flag:
    from traitctl import flags_service

    return flags_service.get(app_.main_doc(), name)


def _check_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise InputError(f"Invalid flag name {name!r}: use letters, digits, '_' and '-' (up to 100), "
                         "starting with a letter or digit.")
    return name


def _check_tenant(app_: App, tenant: str | None) -> str | None:
    if tenant is None:
        return None
    from traitctl.engine.config import check_tenant_id

    check_tenant_id(tenant)
    known = app_.config("all").tenants
    if tenant not in known:
        raise NotFound("tenant", tenant, known)
    return tenant


def _percentage(text: str) -> int:
    from traitctl.flags_service import parse_percentage

    return parse_percentage(text)


def _write(app_: App, name: str, values: dict, *, kind: str, dry_run: bool, tenant: str | None = None,
           must_exist: bool = True, data: dict | None = None, message: str = "", answer: bool = True) -> tuple:
    """Edit ``[flags.<name>]``, record ONE history event, and answer (``answer=False``: the caller
    answers): the diff when dry, the flag and event ids with ``--json``, else a sentence.

    :returns: ``(edit, events)``.
    """
    from traitctl import flags_service

    if not dry_run:
        app_.store()  # a store that cannot be opened means nothing written, not an unrecorded change
    edit = flags_service.write(app_.config_path, name, values, lock_timeout=app_.settings.lock_timeout,
                               dry_run=dry_run, must_exist=must_exist)
    events: list = []
    if not dry_run:
        app_.reset_config()
        events = flags_service.record(app_.store(), kind, edit, actor=app_.settings.actor, command=command_line(),
                                      flag=name, tenant=tenant, data=data)
    if answer:
        _answer(app_, edit, events, dry_run, name, message)
    return edit, events


def _answer(app_: App, edit: Any, events: list, dry_run: bool, name: str, message: str, **extra: Any) -> None:
    if app_.out.json_mode:
        app_.out.json(write_document(edit, events, dry_run, flag=_flag_after(edit, name), **extra))
    elif dry_run:
        show_diff(app_, edit)
    elif not edit.changed:
        app_.out.success("No change: the file already has that value.")
    elif message:
        app_.out.success(message + event_ref(events) + ".")


def _flag_after(edit: Any, name: str) -> dict[str, Any] | None:
    """The flag as the edited text has it (``None`` once deleted): the changed object of a write."""
    from traitctl import flags_service
    from traitctl.store.toml_file import parse

    table = flags_service.section(parse(edit.after, edit.file)).get(name)
    return None if table is None else flag_json(engine.parse_flag(name, table))


def _scope(tenant: str | None) -> tuple[str, ...]:
    return ("tenants", tenant) if tenant else ()


def flag_json(flag: engine.Flag) -> dict[str, Any]:
    """The ``--json`` shape of one flag (stable: see docs/flags.md)."""
    from traitctl.flags_service import flag_json as document

    return document(flag)


# -- reading -----------------------------------------------------------------------------------------------------------
@app.command("list")
def list_(json: JsonOpt = False, now: NowOpt = None, tenant: Annotated[Optional[str], typer.Option(
        "--tenant", callback=not_empty, help="Each flag as this tenant's evaluation sees it (its settings applied).")] = None,
        ) -> None:
    """List flags: state, percentage, algorithm, tenants, overrides, next step, guard, stale marker.

    With --tenant: each flag's effective state for that tenant (enabled, percentage, algorithm
    after its [flags.<name>.tenants.<id>] keys; the next step only when the schedule reaches it).
    """
    from traitctl import flags_service

    app_ = app_for(json)
    if tenant is not None:
        from traitctl.engine.config import check_tenant_id

        known = app_.config().tenants  # ids of tenant files are listed, not read
        if check_tenant_id(tenant) not in known:
            raise NotFound("tenant", tenant, known)
    doc = flags_service.list_document(app_.store(), app_.main_doc(), _now(now), tenant)
    rows = doc["flags"]
    if app_.out.json_mode:
        app_.out.json(doc)
        return
    if tenant is not None:
        app_.out.table(["flag", "state", "%", "algorithm", "set by tenant", "user overrides", "next step", "guard"],
                       [[r["name"], r["state"] + (" (paused)" if r["paused"] else ""), _pct(r["percentage"]),
                         r["bucketing"], ", ".join(r["tenant_keys"]) or "-", r["overrides"],
                         r["next_step"] or ("not for this tenant" if r["schedule_applies"] is False else "-"),
                         r["guard"] or "-"] for r in rows],
                       title=f"Flags as tenant {tenant} sees them", caption=f"{len(rows)} flag(s)")
        return
    app_.out.table(["flag", "state", "%", "algorithm", "tenants", "user overrides", "next step", "guard", "stale"],
                   [[r["name"], r["state"] + (" (paused)" if r["paused"] else ""), _pct(r["percentage"]),
                     r["bucketing"], ",".join(r["tenants"]) or "-", r["overrides"], r["next_step"] or "-",
                     r["guard"] or "-", "stale" if r["stale"] else ""] for r in rows],
                   caption=f"{len(rows)} flag(s)")


def _pct(value: int | None) -> str:
    return "-" if value is None else str(value)


def _last_change(store: Any, flag: engine.Flag) -> dt.datetime | None:
    from traitctl import flags_service

    return flags_service.last_change(store, flag)


@app.command()
def get(name: FlagArg, json: JsonOpt = False) -> None:
    """Show one flag's settings."""
    app_ = app_for(json)
    flag = _flag(app_, name)
    data = flag_json(flag)
    if app_.out.json_mode:
        app_.out.json(data)
        return
    from traitctl.engine.config import plain_value

    for key, value in data.items():
        if value not in (None, "", {}, []):
            app_.out.line(f"{key}: {plain_value(value)}")


# -- writing -------------------------------------------------------------------------------------------------------------
@app.command("set")
def set_(name: FlagArg,
         enable: Annotated[Optional[bool], typer.Option("--enable/--disable", help="Master switch.")] = None,
         percentage: Annotated[Optional[str], typer.Option("--percentage", "-p", help="0-100.")] = None,
         bucketing: Annotated[Optional[str], typer.Option(help="crc32 | crc32-seed | unleash | flagd | flagd-v1 | flagd-v3.")] = None,
         stickiness: Annotated[Optional[str], typer.Option(help="user | tenant | model | an attribute.")] = None,
         tenant: TenantOpt = None, dry_run: DryRunOpt = False, json: JsonOpt = False) -> None:
    """Change a flag (or, with --tenant, that tenant's flag settings)."""
    app_ = app_for(json)
    _flag(app_, name)
    _check_tenant(app_, tenant)
    values: dict[tuple[str, ...], Any] = {}
    if enable is not None:
        values[_scope(tenant) + ("enabled",)] = enable
    if percentage is not None:
        values[_scope(tenant) + ("percentage",)] = _percentage(percentage)
    if bucketing is not None:
        _check_algorithm(bucketing)
        values[_scope(tenant) + ("bucketing",)] = bucketing
    if stickiness is not None:
        values[_scope(tenant) + ("stickiness",)] = stickiness
    if not values:
        raise InputError("Nothing to set: give --enable/--disable, --percentage, --bucketing or --stickiness.")
    _write(app_, name, values, kind="flag.set", dry_run=dry_run, tenant=tenant,
           message=f"Flag {name}{f' (tenant {tenant})' if tenant else ''} updated.")


def _check_algorithm(name: str) -> None:
    if name not in engine.ALGORITHMS:
        raise InputError(f"Unknown bucketing algorithm {name!r}: use one of {', '.join(engine.ALGORITHMS)}.")


@app.command()
def enable(name: FlagArg, tenant: TenantOpt = None, dry_run: DryRunOpt = False, json: JsonOpt = False) -> None:
    """Turn a flag on (short for set --enable)."""
    set_(name, enable=True, tenant=tenant, dry_run=dry_run, json=json)


@app.command()
def disable(name: FlagArg, tenant: TenantOpt = None, dry_run: DryRunOpt = False, json: JsonOpt = False) -> None:
    """Turn a flag off (short for set --disable)."""
    set_(name, enable=False, tenant=tenant, dry_run=dry_run, json=json)


@app.command("rollout")
def rollout_to(name: FlagArg, percentage: Annotated[str, typer.Argument(help="0-100 (decimals allowed).")],
               tenant: TenantOpt = None, dry_run: DryRunOpt = False,
               json: JsonOpt = False) -> None:
    """Enable a flag for PERCENTAGE of its subjects (short for set --enable --percentage P)."""
    set_(name, enable=True, percentage=percentage, tenant=tenant, dry_run=dry_run, json=json)


@app.command()
def create(name: Annotated[str, typer.Argument(help="The new flag's name: letters, digits, _ and -.")],
           description: Annotated[str, typer.Option(help="What the flag guards.")] = "",
           owner: Annotated[str, typer.Option(help="Who decides about it.")] = "",
           enable: Annotated[bool, typer.Option("--enable/--disable", help="Start on or off.")] = False,
           percentage: Annotated[Optional[str], typer.Option("--percentage", "-p", help="0-100.")] = None,
           bucketing: Annotated[str, typer.Option(help="crc32 | crc32-seed | unleash | flagd | flagd-v1 | flagd-v3.")] = "crc32",
           stickiness: Annotated[str, typer.Option(help="user | tenant | model | an attribute.")] = "user",
           expires: Annotated[Optional[str], typer.Option(help="Date a temporary flag should be gone by.")] = None,
           dry_run: DryRunOpt = False, json: JsonOpt = False) -> None:
    """Add a new flag to the configuration file (one history event; `traitctl rollback EVENT` removes it)."""
    app_ = app_for(json)
    from traitctl import flags_service

    _check_name(name)
    if name in flags_service.section(app_.main_doc()):
        raise InputError(f"Flag {name!r} already exists; change it with `traitctl flags set {name}`.")
    _check_algorithm(bucketing)
    values: dict[tuple[str, ...], Any] = {(k,): v for k, v in (("description", description), ("owner", owner)) if v}
    values[("enabled",)] = enable
    if percentage is not None:
        values[("percentage",)] = _percentage(percentage)
    values |= {("bucketing",): bucketing, ("stickiness",): stickiness, ("created",): _now(None).date()}
    if expires is not None:
        values |= {("temporary",): True, ("expires",): rollout.parse_time(expires).date()}
    _write(app_, name, values, kind="flag.create", dry_run=dry_run, must_exist=False,
           message=f"Flag {name} created.")


@app.command()
def delete(name: FlagArg, force: Annotated[bool, typer.Option("--force", help="Also drop its overrides and schedule.")] = False,
           dry_run: DryRunOpt = False, yes: YesOpt = False, json: JsonOpt = False) -> None:
    """Remove a flag (refused while it has overrides or a schedule, unless --force; asks first, --yes
    off a terminal). One history event: `traitctl rollback EVENT` restores the flag and its overrides."""
    from traitctl import flags_service
    from traitctl.store.toml_file import ABSENT

    app_ = app_for(json)
    flag = _flag(app_, name)
    now = _now(None)
    overrides = app_.store().flag_overrides.list(name, now=now)
    if (overrides or flag.schedule) and not force:
        what = " and ".join(w for w in (f"{len(overrides)} override(s)" if overrides else "",
                                        "a schedule" if flag.schedule else "") if w)
        raise InputError(f"Flag {name!r} has {what}; clear them first or use --force.", exit_code=1)
    if not dry_run:
        confirm(f"Delete flag {name}" + (f" and its {len(overrides)} override(s)?" if overrides else "?"), yes)
    edit = flags_service.write(app_.config_path, name, {(): ABSENT}, lock_timeout=app_.settings.lock_timeout,
                               dry_run=dry_run, must_exist=True)
    events: list = []
    if not dry_run:
        app_.reset_config()
        gone = app_.store().flag_overrides.clear(name, now=now) if overrides else []
        events = flags_service.record(app_.store(), "flag.delete", edit, actor=app_.settings.actor,
                                      command=command_line(), flag=name,
                                      data={"overrides": [flags_service.override_data(o) for o in gone]} if gone else None)
    cleared = [_override_json(o) for o in overrides]
    _answer(app_, edit, events, dry_run, name, f"Flag {name} deleted" + (
        f" with {len(overrides)} override(s)" if overrides else ""), overrides_cleared=cleared)


def _override_json(o: Any) -> dict[str, Any]:
    return {"user": o.subject, "on": o.on, "expires": o.expires, "created": o.created, "actor": o.actor}


# -- overrides -------------------------------------------------------------------------------------------------------------
UserOpt = Annotated[Optional[str], typer.Option("--user", "-u", help="User id.", callback=not_empty)]


@app.command()
def override(name: FlagArg, user: Annotated[str, typer.Option("--user", "-u", help="User id.", callback=not_empty)],
             on: Annotated[Optional[bool], typer.Option("--on/--off", help="Force the flag on or off.")] = None,
             ttl: Annotated[str, typer.Option(help="How long it lasts: 30d, 12h, 90m.")] = "30d",
             now: NowOpt = None, dry_run: DryRunSummaryOpt = False, json: JsonOpt = False) -> None:
    """Force a flag on or off for one user until the TTL runs out (30 days by default)."""
    app_ = app_for(json)
    if on is None:
        raise InputError("Say --on or --off.")
    _flag(app_, name)
    from traitctl import flags_service

    flags_service.check_subject(user)
    moment, lasting = _now(now), rollout.parse_duration(ttl)
    until = moment + lasting
    store = app_.store()
    previous = store.flag_overrides.get(name, user, now=moment)
    event = None if dry_run else flags_service.set_override(store, name, user, on, lasting=lasting, now=moment,
                                                            actor=app_.settings.actor, command=command_line())
    if app_.out.json_mode:
        app_.out.json({"dry_run": dry_run, "events": [event.id] if event else [],
                       "override": {"flag": name, "user": user, "on": on, "expires": until},
                       "previous": None if previous is None else _override_json(previous)})
        return
    sentence = (f"{name} {'would be' if dry_run else 'is'} {'on' if on else 'off'} for user {user} until "
                f"{human_time(until)} UTC")
    if previous is not None:
        sentence += f" (replacing {'on' if previous.on else 'off'} until {human_time(previous.expires)} UTC)"
    if dry_run:
        app_.out.line(sentence + "; dry run: nothing written.")
    else:
        app_.out.success(sentence + event_ref([event]) + ".")


@app.command()
def overrides(name: FlagArg, json: JsonOpt = False, now: NowOpt = None) -> None:
    """List a flag's unexpired overrides."""
    app_ = app_for(json)
    _flag(app_, name)
    found = app_.store().flag_overrides.list(name, now=_now(now))
    if app_.out.json_mode:
        app_.out.json({"flag": name, "overrides": [{"user": o.subject, "on": o.on, "expires": o.expires,
                                                    "created": o.created, "actor": o.actor} for o in found]})
        return
    app_.out.table(["user", "value", "expires (UTC)", "set by"],
                   [[o.subject, "on" if o.on else "off", human_time(o.expires), o.actor] for o in found],
                   caption=f"{len(found)} override(s)")


@app.command("clear-override")
def clear_override(name: FlagArg, user: UserOpt = None,
                   all_: Annotated[bool, typer.Option("--all", help="Every override of the flag (asks first; "
                                                      "--yes off a terminal).")] = False,
                   now: NowOpt = None, dry_run: DryRunSummaryOpt = False, yes: YesOpt = False,
                   json: JsonOpt = False) -> None:
    """Remove one user's override (or --all of the flag's), recorded as one history event."""
    from traitctl import flags_service

    app_ = app_for(json)
    if (user is None) == (not all_):
        raise InputError("Give either --user ID or --all.")
    store = app_.store()
    moment = _now(now)
    if user is not None:
        _flag(app_, name)  # --all also cleans overrides of flags that no longer exist
    found = store.flag_overrides.list(name, now=moment)
    found = [o for o in found if user is None or o.subject == user]
    if user is not None and not found:
        raise InputError(f"User {user} has no active override of {name}.", exit_code=1)
    if all_ and found and not dry_run:
        confirm(f"Clear all {len(found)} override(s) of flag {name}?", yes)
    event = None
    if not dry_run:
        gone = store.flag_overrides.clear(name, user, now=moment)
        event = flags_service.record_cleared(store, name, gone, actor=app_.settings.actor, command=command_line(),
                                             user=user)
        found = gone
    if app_.out.json_mode:
        app_.out.json({"dry_run": dry_run, "flag": name, "events": [event.id] if event else [],
                       "cleared": [_override_json(o) for o in found]})
    elif dry_run:
        for o in found:
            app_.out.line(f"{o.subject}\t{'on' if o.on else 'off'}\t{human_time(o.expires)}")
        app_.out.success(f"Would clear {len(found)} override(s) of {name} (dry run: nothing written).")
    else:
        app_.out.success(f"Cleared {len(found)} override(s) of {name}{event_ref([event])}.")


# -- evaluation -------------------------------------------------------------------------------------------------------------
@app.command("eval")
def eval_(name: FlagArg, user: UserOpt = None, tenant: TenantOpt = None,
          model: Annotated[Optional[str], typer.Option("--model", "-m", help="MODEL:KEY, e.g. 'App\\Models\\User:7'.")] = None,
          attr: Annotated[Optional[list[str]], typer.Option("--attr", help="Context attribute NAME=VALUE.")] = None,
          explain: Annotated[bool, typer.Option("--explain", help="Show each step that decided.")] = False,
          subjects: Annotated[Optional[str], typer.Option(help="File of subject ids, one a line ('-': stdin).")] = None,
          summary: Annotated[bool, typer.Option("--summary", help="With --subjects: only the counts and share.")] = False,
          tenants: Annotated[Optional[str], typer.Option("--tenants", help=(
              "With --subjects: answer for each of these comma-separated tenants ('-': no tenant); lines "
              "are SUBJECT<TAB>TENANT<TAB>on|off."))] = None,
          json: JsonOpt = False, now: NowOpt = None) -> None:
    """Say whether a flag is on for a subject (exactly what the application decides)."""
    from traitctl import flags_service

    app_ = app_for(json)
    flag = flags_service.get(app_.main_doc(), name, env=app_.env)
    moment = _now(now)
    active = app_.store().flag_overrides.active(name, now=moment)
    if tenants is not None:
        if subjects is None or tenant is not None or summary:
            raise InputError("--tenants goes with --subjects (and without --tenant or --summary).")
        _eval_tenants(app_, flag, active, tenants, subjects)
        return
    if subjects is not None:
        _known_tenant_shapes(app_, [tenant])
        _eval_many(app_, flag, active, tenant, subjects, summary)
        return
    _known_tenant_shapes(app_, [tenant])
    if model is not None and not _MODEL_KEY.match(model):
        raise InputError(f"--model {model[:60]!r} is not MODEL:KEY, e.g. 'App\\Models\\User:7'.")
    context = engine.Context(user=user, tenant=tenant, model=model, attributes=_attributes(attr or []))
    result = engine.evaluate(flag, context, active)
    _render_eval(app_, result, explain)


def _known_tenant_shapes(app_: App, tenants: list[str | None]) -> None:
    """Refuse a tenant of the configuration whose tables are of the wrong shape (the application
    would read them as empty); a tenant the configuration does not name is evaluated as it is."""
    from traitctl.engine.config import TENANT_ID_RE
    from traitctl.validation_service import require_tenant_shapes

    named = {t for t in tenants if t is not None and TENANT_ID_RE.match(t) and t not in (".", "..")}
    if named:
        cfg = app_.config(tenants=named)
        require_tenant_shapes(cfg, sorted(named & set(cfg.tenants)))


_MODEL_KEY = re.compile(r"^[^:\s][^:]*:[^:\s].*$")


def _attributes(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InputError(f"--attr {pair!r} is not NAME=VALUE.")
        out[key] = value
    return out


def _render_eval(app_: App, result: engine.Evaluation, explain: bool) -> None:
    if app_.out.json_mode:
        from traitctl.flags_service import evaluation_json

        app_.out.json(evaluation_json(result))
        return
    app_.out.line("on" if result.on else "off")
    if explain:
        for number, step in enumerate(result.steps, 1):
            app_.out.line(f"  {number}. {step.rule}: {step.detail}")


def _eval_many(app_: App, flag: engine.Flag, active: dict, tenant: str | None, source: str, summary: bool) -> None:
    ids = _read_subjects(source)
    decide = engine.compile(flag, active, tenant)
    answers = [decide(s) for s in ids]
    on = sum(answers)
    if summary or app_.out.json_mode:
        total = len(answers)
        share = round(100.0 * on / total, 3) if total else 0.0
        if app_.out.json_mode:
            app_.out.json({"flag": flag.name, "tenant": tenant, "total": total, "on": on, "off": total - on,
                           "share": share})
        else:
            app_.out.line(f"on\t{on}\noff\t{total - on}\ntotal\t{total}\nshare\t{share}%")
        return
    labels = ("off", "on")
    out = sys.stdout
    out.write("".join([f"{s}\t{labels[a]}\n" for s, a in zip(ids, answers)]))
    out.flush()


def _eval_tenants(app_: App, flag: engine.Flag, active: dict, tenants: str, source: str) -> None:
    ids = _read_subjects(source)
    wanted = [None if t == "-" else t for t in tenants.split(",") if t]
    _known_tenant_shapes(app_, wanted)
    labels = ("off", "on")
    out = sys.stdout if not app_.out.json_mode else None
    counts = {}
    for tenant in wanted:
        decide = engine.compile(flag, active, tenant)
        answers = [decide(s) for s in ids]
        counts[tenant or "-"] = sum(answers)
        if out is not None:
            out.write("".join([f"{s}\t{tenant or ''}\t{labels[a]}\n" for s, a in zip(ids, answers)]))
    if out is None:
        app_.out.json({"flag": flag.name, "total": len(ids), "on": counts})
    else:
        out.flush()


def _read_subjects(source: str) -> list[str]:
    if source != "-":
        from traitctl.commands.common import refuse_device

        refuse_device(source, "--subjects")
    try:
        data = sys.stdin.buffer.read() if source == "-" else open(source, "rb").read()
    except OSError as exc:
        raise InputError(f"Cannot read subjects from {source}: {exc.strerror}.") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{source}: not UTF-8 text (byte {exc.start}).") from None
    return [line for line in text.splitlines() if line]


# -- schedules and guards --------------------------------------------------------------------------------------------------
@app.command()
def schedule(name: FlagArg, steps: Annotated[Optional[list[str]], typer.Argument(
                 help="Steps PERCENT@DATE, e.g. 10@2027-03-01 50@2027-03-08 (dates in the future).")] = None,
             clear: Annotated[bool, typer.Option("--clear", help="Remove the schedule (and unpause).")] = False,
             now: NowOpt = None, dry_run: DryRunOpt = False, json: JsonOpt = False) -> None:
    """Set a rollout schedule: traitctl flags schedule NAME 10@2026-12-01 50@2026-12-03 100@2026-12-05."""
    from traitctl.store.toml_file import ABSENT

    app_ = app_for(json)
    _flag(app_, name)
    if clear:
        values = {("schedule",): ABSENT, ("paused",): ABSENT}
    else:
        if not steps:
            raise InputError("Give the steps (10@2026-12-01 50@2026-12-03 …) or --clear.")
        parsed = rollout.parse_schedule(steps)
        rollout.check_future(parsed, _now(now))
        values = {("schedule",): [str(s) for s in parsed], ("paused",): ABSENT}
    _write(app_, name, values, kind="flag.schedule", dry_run=dry_run,
           message=f"Schedule of {name} {'removed' if clear else 'set'}.")


@app.command()
def advance(flag: Annotated[Optional[str], typer.Option("--flag", help="Only this flag.")] = None,
            json: JsonOpt = False, now: NowOpt = None, dry_run: DryRunOpt = False) -> None:
    """Check guards and apply every due schedule step (idempotent; each decision is recorded)."""
    from traitctl import flags_service

    app_ = app_for(json)
    store = app_.store()
    recorded: list = []
    decisions = flags_service.advance(app_.config_path, store, _now(now), doc=app_.main_doc(),
                                      actor=app_.settings.actor, command=command_line(),
                                      lock_timeout=app_.settings.lock_timeout, dry_run=dry_run, only=flag,
                                      recorded=recorded)
    if not dry_run:
        app_.mark_written()  # re-export: an override may have expired since the last export
    if app_.out.json_mode:
        app_.out.json({"dry_run": dry_run, "decisions": [_decision_json(d) for d in decisions],
                       "events": [e.id for e in recorded]})
        return
    app_.out.table(["flag", "decision", "percentage", "reason"],
                   [[d.flag, d.action, _pct(d.percentage) if d.enabled else "off", d.reason] for d in decisions],
                   caption="dry run: nothing written" if dry_run else None)


def _decision_json(d: rollout.Decision) -> dict[str, Any]:
    return {"flag": d.flag, "action": d.action, "reason": d.reason, "percentage": d.percentage,
            "enabled": d.enabled, "step": d.step, "evidence": dict(d.evidence)}


# -- hygiene ------------------------------------------------------------------------------------------------------------------
@app.command()
def stale(days: Annotated[int, typer.Option(help="Unchanged for this many days.")] = 30,
          json: JsonOpt = False, now: NowOpt = None,
          exit_zero: Annotated[bool, typer.Option("--exit-zero", help="Exit 0 even when some are stale.")] = False,
          ) -> None:
    """Flags fully on or off and unchanged for N days, and temporary flags past expiry (exit 1 when any)."""
    from traitctl import flags_service

    app_ = app_for(json)
    moment = _now(now)
    store = app_.store()
    found = []
    for flag in flags_service.load(app_.main_doc()).values():
        why = engine.is_stale(flag, _last_change(store, flag), moment, days)
        if why:
            found.append({"flag": flag.name, "state": engine.state_of(flag), "reason": why})
    if app_.out.json_mode:
        app_.out.json({"days": days, "stale": found})
    elif found:
        app_.out.table(["flag", "state", "why"], [[f["flag"], f["state"], f["reason"]] for f in found])
    else:
        app_.out.success("No stale flags.")
    if found and not exit_zero:
        raise typer.Exit(1)


@app.command()
def lint(json: JsonOpt = False,
         exit_zero: Annotated[bool, typer.Option("--exit-zero", help="Exit 0 even with findings.")] = False) -> None:
    """Check flags: algorithms, percentages, schedules, guards, orphan overrides, crc32-seed (exit 1 on findings)."""
    from traitctl import flags_service
    from traitctl.engine import flags_lint

    app_ = app_for(json)
    counts = app_.store().flag_overrides.counts(now=_now(None))
    found = flags_lint.lint(flags_service.section(app_.main_doc()), counts)
    if app_.out.json_mode:
        app_.out.json({"findings": found})
    elif found:
        for finding in found:
            app_.out.line(f"{app_.config_path}: {finding}")
    else:
        app_.out.success("Flags look fine.")
    if found and not exit_zero:
        raise typer.Exit(1)


@app.command()
def history(name: FlagArg, limit: Annotated[int, limit_option("events, newest first")] = 50,
            json: JsonOpt = False) -> None:
    """Every recorded change of a flag (undo one with `traitctl rollback EVENT`)."""
    app_ = app_for(json)
    flags = app_.main_doc().get("flags", {})
    events = app_.store().events.list(path_prefix=("flags", name), limit=limit)
    if not events and name not in flags:
        raise NotFound("flag", name, flags)
    if app_.out.json_mode:
        app_.out.json({"flag": name, "events": [_event_json(e) for e in events]})
        return
    app_.out.table(["id", "time (UTC)", "actor", "kind", "key", "before", "after"],
                   [[e.id, human_time(e.ts), e.actor, e.kind, ".".join(e.path[2:]) or "(flag)",
                     e.before or "-", e.after or "-"] for e in events])


def _event_json(e: Any) -> dict[str, Any]:
    return {"id": e.id, "ts": e.ts, "actor": e.actor, "kind": e.kind, "command": e.command, "path": list(e.path),
            "before": e.before, "after": e.after, "tenant": e.tenant, "data": e.data}


# -- export and import -------------------------------------------------------------------------------------------------------
FormatOpt = Annotated[str, format_option("flagd", "laravel", "json")]


@app.command()
def export(format_: FormatOpt = "json",
           output: Annotated[Optional[str], typer.Option("--output", "-o", help=(
               "File to write (flagd, json); for laravel the Laravel config/ folder that gets feature_flags.php "
               "and traits.php. Default: stdout (json, flagd), [export] laravel (laravel)."))] = None,
           dry_run: DryRunOpt = False,
           check: Annotated[bool, typer.Option("--check", help="Exit 1 with the diff when the files differ.")] = False,
           allow_lossy: Annotated[bool, typer.Option("--allow-lossy", help="Losses are warnings, not exit 2.")] = False,
           json: JsonOpt = False) -> None:
    """Same as `traitctl export` (kept for scripts): flagd definitions, Laravel config files or the JSON snapshot."""
    from traitctl.commands import export as export_command

    export_command.run(app_for(json), [format_], "-" if output is None and format_ != "laravel" else output,
                       dry_run=dry_run, check=check, allow_lossy=allow_lossy)


def _warn_all(app_: App, warnings: list[str]) -> None:
    for warning in warnings:
        app_.out.warn(warning)


@app.command("import")
def import_(file: Annotated[str, typer.Argument(help="config/feature_flags.php of a Laravel application.")],
            format_: FormatOpt = "laravel", dry_run: DryRunOpt = False,
            force: Annotated[bool, typer.Option("--force", help="Replace keys of flags that already exist.")] = False,
            json: JsonOpt = False) -> None:
    """Read the seeds' Laravel feature_flags.php (parsed, never executed) into [flags.<name>], answering as
    the seeds' FeatureFlagService does (percentage first, then the switch); env() names become env tables.
    Existing flags whose keys would change are refused without --force (the diff is shown)."""
    from pathlib import Path

    from traitctl import flags_service
    from traitctl.engine import flags_io
    from traitctl.store.toml_file import ABSENT, read_text

    app_ = app_for(json)
    if format_ != "laravel":
        raise InputError(f"Unknown import format {format_!r}: only laravel is supported.")
    found, warnings = flags_io.parse_laravel(read_text(Path(file)), file)
    _warn_all(app_, warnings)
    existing = flags_service.section(app_.main_doc())
    values: dict[str, dict[tuple[str, ...], Any]] = {}
    changed_keys: dict[str, list[str]] = {}
    for name, entry in found.items():
        current = existing.get(_check_import_name(name), {})
        wanted = {(k,): v for k, v in entry.items()}
        if name in existing:
            wanted |= {(k,): ABSENT for k in ("percentage", "env") if k in current and k not in entry}
            differs = sorted(k[0] for k, v in wanted.items() if current.get(k[0], ABSENT) != v)
            if not differs:
                continue
            changed_keys[name] = differs
        else:
            wanted[("created",)] = _now(None).date()
        values[name] = wanted
    refuse = bool(changed_keys) and not force and not dry_run
    if not (dry_run or refuse):
        app_.store()  # a store that cannot be opened means nothing written, not an unrecorded change
    edit = flags_service.write_many(app_.config_path, values, lock_timeout=app_.settings.lock_timeout,
                                    dry_run=dry_run or refuse, must_exist=False)
    if refuse:
        show_diff(app_, edit)
        raise InputError("Import would change existing flags: " + "; ".join(
            f"{name} ({', '.join(keys)})" for name, keys in changed_keys.items()) + ". Use --force to replace them.")
    events: list = []
    if not dry_run:
        app_.reset_config()
        events = flags_service.record(app_.store(), "flag.import", edit, actor=app_.settings.actor,
                                      command=command_line(), data={"source": file})
    if app_.out.json_mode:
        app_.out.json(write_document(edit, events, dry_run, flags=[_flag_after(edit, n) for n in values],
                                     unchanged=sorted(set(found) - set(values))))
    elif dry_run:
        show_diff(app_, edit)
    else:
        app_.out.success(f"Imported {len(values)} flag(s) from {file}"
                         + (f" ({len(found) - len(values)} already the same)" if len(values) < len(found) else "")
                         + " as the seeds' FeatureFlagService answers (crc32-seed)" + event_ref(events) + ".")


def _check_import_name(name: str) -> str:
    """Flag names of an imported file: anything a TOML key and `flags eval` can carry (dots included,
    as Laravel files use them), no control characters."""
    if not name or len(name) > 200 or any(ord(c) < 32 for c in name):
        raise InputError(f"Invalid flag name {name!r} in the imported file.")
    return name
