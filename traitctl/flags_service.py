"""Flag operations shared by ``traitctl flags``, the periodic job and the Python API: load flags,
check guards against the metrics store, write flag changes (locked TOML edit + history), advance
schedules.

Example usage (a periodic job)::

    from traitctl.flags_service import advance
    decisions = advance(config_path, store, now, actor="scheduler")
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from traitctl.engine import envvars
from traitctl.engine import flags as engine
from traitctl.engine import rollout
from traitctl.engine.errors import Conflict, InputError, NotFound, ValidationError, literal


def utcnow() -> dt.datetime:
    """Now as naive UTC (the store's convention)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def section(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    """The ``[flags]`` table of a parsed main file (empty when absent).

    :raises ValidationError: when ``flags`` is not a table.
    """
    flags = doc.get("flags", {})
    if not isinstance(flags, Mapping):
        raise ValidationError("flags must be a table of [flags.<name>] tables.")
    return flags


def load(doc: Mapping[str, Any], env: Mapping[str, str] | None = None) -> dict[str, engine.Flag]:
    """Every flag of the main file, checked.

    :param env: the environment: a key whose ``env`` variable it sets takes the variable's value.
    :raises ValidationError: naming the first broken key.
    """
    flags = section(doc)
    if env is not None:
        engine.parse_flags(flags)  # the file itself must be sound, whatever the environment says
        flags = {name: envvars.apply_flag(table, env) for name, table in flags.items()}
    return engine.parse_flags(flags)


def get(doc: Mapping[str, Any], name: str, env: Mapping[str, str] | None = None) -> engine.Flag:
    """One flag by name (``env``: as for :func:`load`).

    :raises NotFound: with near names suggested.
    """
    flags = section(doc)
    if name not in flags:
        raise NotFound("flag", name, flags)
    if env is not None:
        engine.parse_flag(name, flags[name])
        return engine.parse_flag(name, envvars.apply_flag(flags[name], env))
    return engine.parse_flag(name, flags[name])


# -- guards ------------------------------------------------------------------------------------------------------
def fetch_evidence(store: Any, queries: list[rollout.Query]) -> dict[str, float | None]:
    """Run each guard query against ``store.metrics``; ``None`` when there is no data (or no metrics store)."""
    metrics = getattr(store, "metrics", None) if store is not None else None
    out: dict[str, float | None] = {}
    for q in queries:
        if metrics is None:
            out[q.key] = None
            continue
        out[q.key] = metrics.aggregate(q.metric, since=q.since, until=q.until, labels=dict(q.labels) or None,
                                       agg=q.agg)
    return out


def check_guard(store: Any, flag: engine.Flag, now: dt.datetime) -> rollout.GuardResult | None:
    """The flag's guard checked at ``now`` (``None`` when it has none)."""
    guard = rollout.parse_guard(flag.name, flag.guard)
    if guard is None:
        return None
    return rollout.check_guard(guard, now, fetch_evidence(store, rollout.queries(guard, now)))


# -- writing -------------------------------------------------------------------------------------------------------
def write(config_path: Path, name: str, values: Mapping[tuple[str, ...], Any], *, lock_timeout: float = 10.0,
          dry_run: bool = False, must_exist: bool = True, expect: Mapping[str, Any] | None = None):
    """Change keys under ``[flags.<name>]`` (paths relative to it; ``ABSENT`` removes) in one locked edit.

    The result must still be a valid flag: nothing is written otherwise.

    :param expect: key -> value the flag must still have under the lock (refuses with
        :class:`Conflict` when someone changed it since the caller decided).
    :returns: the :class:`~traitctl.store.toml_file.Edit`.
    """
    return write_many(config_path, {name: values}, lock_timeout=lock_timeout, dry_run=dry_run,
                      must_exist=must_exist, expect={name: expect} if expect else None)


def write_many(config_path: Path, values: Mapping[str, Mapping[tuple[str, ...], Any]], *,
               lock_timeout: float = 10.0, dry_run: bool = False, must_exist: bool = True,
               expect: Mapping[str, Mapping[str, Any]] | None = None):
    """:func:`write` for several flags at once (one lock, one atomic replace).

    :param values: flag name -> {key path under the flag -> value}.
    """
    from traitctl.store import toml_file

    changes = [toml_file.Change(("flags", name) + path, value)
               for name, keys in values.items() for path, value in keys.items()]

    def check(data: dict) -> None:
        flags = data.get("flags", {})
        for name, keys in values.items():
            if must_exist and name not in flags:
                raise NotFound("flag", name, flags)
            current = flags.get(name, {})
            if expect and name in expect:
                _check_unchanged(engine.parse_flag(name, current), expect[name])
            engine.parse_flag(name, _merged(current, keys))

    return toml_file.edit(config_path, changes, lock_timeout=lock_timeout, dry_run=dry_run, check=check)


def _check_unchanged(flag: engine.Flag, expect: Mapping[str, Any]) -> None:
    for key, value in expect.items():
        if getattr(flag, key) != value:
            raise Conflict(f"flags.{flag.name}.{key} changed since it was read ({literal(value)} -> "
                           f"{literal(getattr(flag, key))}); nothing written, retry.")


def _merged(table: Mapping[str, Any], values: Mapping[tuple[str, ...], Any]) -> dict:
    from traitctl.store.toml_file import ABSENT

    merged: dict = _copy(table)
    for path, value in values.items():
        if not path:  # the whole flag removed
            return {}
        node = merged
        for key in path[:-1]:
            node = node.setdefault(key, {})
        if value is ABSENT:
            node.pop(path[-1], None)
        else:
            node[path[-1]] = value
    return merged


def _copy(table: Mapping[str, Any]) -> dict:
    return {k: _copy(v) if isinstance(v, Mapping) else v for k, v in table.items()}


def record(store: Any, kind: str, edit: Any, *, actor: str, command: str, flag: str | None = None, tenant: str | None = None,
           data: dict | None = None) -> list:
    """Record the changed keys of ``edit`` as ONE history event (TOML literals before/after and
    the edit's hunks, so that ``traitctl rollback EVENT`` undoes the whole write).

    :returns: ``[event]``, or ``[]`` when no value changed.
    """
    from traitctl.history_service import record_edits

    names = sorted({change.path[1] for change in edit.changes if len(change.path) > 1})
    label = flag or (names[0] if len(names) == 1 else None)
    extra = {"flag": label} if label else {}
    if len(names) > 1:
        extra["flags"] = names
    event = record_edits(store, kind, [edit], actor=actor, command=command, tenant=tenant,
                         data={**extra, **(data or {})})
    return [event] if event is not None else []


# -- schedules -------------------------------------------------------------------------------------------------------
def advance(config_path: Path, store: Any, now: dt.datetime, *, doc: Mapping[str, Any] | None = None,
            actor: str = "traitctl", command: str = "traitctl flags advance", lock_timeout: float = 10.0,
            dry_run: bool = False, only: str | None = None, recorded: list | None = None) -> list[rollout.Decision]:
    """Check guards and apply every due schedule step (idempotent); record each automatic decision
    with its evidence in history. Used by ``traitctl flags advance`` and the periodic job.

    :param doc: the parsed main file (read from ``config_path`` when ``None``).
    :param only: advance this flag only.
    :param recorded: when given, the recorded history events are appended to it.
    :returns: one decision per flag with a schedule or a guard.
    """
    from traitctl.store import toml_file

    doc = toml_file.read(config_path) if doc is None else doc
    flags = load(doc)
    if only is not None:
        flags = {only: get(doc, only)}
    decisions = []
    for flag in flags.values():
        if not flag.schedule and flag.guard is None:
            continue
        decision = rollout.decide(flag, now, check_guard(store, flag, now))
        if not dry_run:
            event = _apply(config_path, store, flag, decision, actor=actor, command=command,
                           lock_timeout=lock_timeout)
            if event is not None and recorded is not None:
                recorded.append(event)
        decisions.append(decision)
    return decisions


def _apply(config_path: Path, store: Any, flag: engine.Flag, decision: rollout.Decision, *, actor: str,
           command: str, lock_timeout: float) -> Any:
    data = {"decision": decision.action, "reason": decision.reason, "step": decision.step,
            "evidence": dict(decision.evidence)}
    if decision.action == "hold":
        return store.events.record(kind="flag.hold", actor=actor, command=command, path=("flags", flag.name),
                                   data={"flag": flag.name, **data})
    if decision.action not in ("advance", "rollback"):
        return None
    values: dict[tuple[str, ...], Any] = {("enabled",): decision.enabled, ("percentage",): decision.percentage}
    if decision.action == "rollback":
        values[("paused",)] = True
    expect = {"enabled": flag.enabled, "percentage": flag.percentage}
    edit = write(config_path, flag.name, values, lock_timeout=lock_timeout, expect=expect)
    events = record(store, f"flag.{decision.action}", edit, actor=actor, command=command, flag=flag.name, data=data)
    return events[0] if events else None


# -- documents -------------------------------------------------------------------------------------------------
def flag_json(flag: engine.Flag) -> dict[str, Any]:
    """The ``--json`` shape of one flag (stable: see docs/flags.md)."""
    return {"name": flag.name, "enabled": flag.enabled, "percentage": flag.percentage,
            "state": engine.state_of(flag), "bucketing": flag.bucketing, "stickiness": flag.stickiness,
            "group": flag.group, "description": flag.description, "owner": flag.owner,
            "created": flag.created, "expires": flag.expires, "temporary": flag.temporary, "paused": flag.paused,
            "tenants": {t: dict(v) for t, v in flag.tenants.items()}, "schedule": list(flag.schedule),
            "guard": dict(flag.guard) if flag.guard else None}


def last_change(store: Any, flag: engine.Flag) -> dt.datetime | None:
    """When the flag was last changed (its newest history event), else its ``created`` date."""
    events = store.events.list(path_prefix=("flags", flag.name), limit=1)
    if events:
        return events[0].ts
    return engine.created_at(flag)


def list_row(store: Any, flag: engine.Flag, overrides: int, now: dt.datetime,
             tenant: str | None = None) -> dict[str, Any]:
    """One flag as ``traitctl flags list --json`` shows it: state, next step, guard status, stale.

    :param tenant: show the flag as this tenant's evaluation sees it: its ``[flags.<name>.tenants.<id>]``
        keys applied, ``tenant_keys`` naming them, and the schedule's next step only when it reaches
        the tenant (``schedule_applies``: a tenant's own percentage, or its ``enabled = false``, is
        not moved by the schedule; ``None`` without a schedule).
    """
    seen = engine.for_tenant(flag, tenant)
    replaced = sorted(k for k in (flag.tenants.get(tenant) or {}) if k in engine.TENANT_KEYS) if tenant else []
    follows = "percentage" not in replaced and not ("enabled" in replaced and not seen.enabled)
    upcoming = rollout.next_step(rollout.parse_schedule(list(flag.schedule)), now) if follows else None
    guard = check_guard(store, flag, now)
    stale = engine.is_stale(flag, last_change(store, flag), now, 30)
    row = {"name": flag.name, "state": engine.state_of(seen), "enabled": seen.enabled,
           "percentage": seen.percentage, "bucketing": seen.bucketing, "tenants": sorted(flag.tenants),
           "overrides": overrides, "next_step": str(upcoming) if upcoming else None,
           "guard": guard.status if guard else None, "stale": stale, "paused": flag.paused}
    if tenant is not None:
        row.update(tenant=tenant, tenant_keys=replaced, stickiness=seen.stickiness,
                   schedule_applies=follows if flag.schedule else None)
    return row


def list_document(store: Any, doc: Mapping[str, Any], now: dt.datetime, tenant: str | None = None) -> dict[str, Any]:
    """The ``traitctl flags list --json`` document: ``{"flags": [row, …]}`` (``tenant``: as
    :func:`list_row`; the document then names it)."""
    counts = store.flag_overrides.counts(now=now)
    rows = [list_row(store, flag, counts.get(flag.name, 0), now, tenant) for flag in load(doc).values()]
    return {"flags": rows, **({"tenant": tenant} if tenant is not None else {})}


def evaluation_json(result: engine.Evaluation) -> dict[str, Any]:
    """The ``traitctl flags eval --json`` document: the answer and each step that decided it."""
    return {"flag": result.flag, "on": result.on, "reason": result.reason, "subject": result.subject,
            "bucket": result.bucket, "tenant": result.tenant,
            "steps": [{"rule": s.rule, "detail": s.detail, "decided": s.decided} for s in result.steps]}


#: Longest subject (user id) an override may name: what every store keeps.
MAX_SUBJECT = 300


def check_subject(user: str) -> str:
    """Refuse a user id no store can keep (longer than :data:`MAX_SUBJECT` characters).

    :raises InputError: naming its length.
    """
    if len(user) > MAX_SUBJECT:
        raise InputError(f"User id of {len(user)} characters: an override's user id has at most {MAX_SUBJECT}.")
    return user


def set_override(store: Any, name: str, user: str, on: bool, *, lasting: dt.timedelta, now: dt.datetime,
                 actor: str, command: str) -> Any:
    """Force flag ``name`` on or off for ``user`` until ``now + lasting``; recorded in history (the
    override it replaced in ``data.previous``, so that a rollback puts it back).

    :returns: the recorded event.
    :raises InputError: for a user id longer than :data:`MAX_SUBJECT` characters.
    """
    check_subject(user)
    previous = store.flag_overrides.set(name, user, on, expires=now + lasting, now=now, actor=actor)
    data: dict[str, Any] = {"flag": name, "user": user, "expires": (now + lasting).isoformat()}
    if previous is not None:
        data["previous"] = {"on": previous.on, "expires": previous.expires.isoformat()}
    return store.events.record(kind="flag.override", actor=actor, command=command,
                               path=("flags", name, "overrides", user),
                               before=None if previous is None else _literal(previous.on),
                               after=_literal(on), data=data)


def record_cleared(store: Any, name: str, gone: list, *, actor: str, command: str, user: str | None = None) -> Any:
    """Record the overrides of ``name`` a command cleared as ONE event (each with its value and
    expiry in ``data.overrides``, so that a rollback sets them again).

    :param user: the one user cleared (the event's key is then that user's override).
    :returns: the event, or ``None`` when nothing was cleared.
    """
    if not gone:
        return None
    path = ("flags", name, "overrides") + ((user,) if user is not None else ())
    before = _literal(gone[0].on) if user is not None else \
        "{" + ", ".join(f"{_key(o.subject)} = {_literal(o.on)}" for o in gone) + "}"
    return store.events.record(kind="flag.clear-override", actor=actor, command=command, path=path, before=before,
                               after=None, data={"flag": name, **({"user": user} if user is not None else {}),
                                                 "overrides": [override_data(o) for o in gone]})


def override_data(o: Any) -> dict[str, Any]:
    """An override as history keeps it (user, value, ISO expiry), enough to set it again."""
    return {"user": o.subject, "on": o.on, "expires": o.expires.isoformat()}


def _key(name: str) -> str:
    from traitctl.store.toml_file import render_key

    return render_key(name)


def restore_overrides(store: Any, event: Any, *, now: dt.datetime, actor: str, dry_run: bool = False,
                      force: bool = False) -> list[dict[str, Any]]:
    """Undo the override part of ``event`` (``flag.override``, ``flag.clear-override``, or a
    ``flag.delete`` that cleared overrides): put back what was there before, skipping overrides
    that have expired since.

    :raises Conflict: when an override set by ``flag.override`` changed since, unless ``force``.
    :returns: what was (or, dry, would be) done: ``{user, action, on, expires}`` per override.
    """
    data = event.data
    name = data.get("flag")
    if event.kind == "flag.override":
        current = store.flag_overrides.get(name, data["user"], now=now)
        if not force and (current is None or _literal(current.on) != event.after):
            raise Conflict(f"The override of {name} for user {data['user']} changed since event #{event.id}; "
                           "pass --force to roll back anyway.")
        previous = data.get("previous")
        wanted = [{"user": data["user"], **previous}] if previous else []
        done = [] if wanted else [{"user": data["user"], "action": "clear"}]
        if not dry_run and not wanted:
            store.flag_overrides.clear(name, data["user"], now=now)
    else:
        wanted, done = list(data.get("overrides") or []), []
    for item in wanted:
        expires = dt.datetime.fromisoformat(item["expires"])
        if expires <= now:
            done.append({"user": item["user"], "action": "expired", "on": item["on"], "expires": item["expires"]})
            continue
        if not dry_run:
            store.flag_overrides.set(name, item["user"], bool(item["on"]), expires=expires, now=now, actor=actor)
        done.append({"user": item["user"], "action": "set", "on": item["on"], "expires": expires.isoformat()})
    return done


def _literal(on: bool) -> str:
    return "true" if on else "false"


def parse_percentage(text: str) -> int:
    """A percentage typed on the command line or in a form: a whole number from 0 to 100.

    :raises InputError: naming the text and the rule.
    """
    from traitctl.engine.errors import InputError

    try:
        value: Any = float(text) if any(c in text for c in ".eE") else int(text)
    except ValueError:
        raise InputError(f"Percentage {text!r} is not a number: use a whole number from 0 to 100.") from None
    problem = engine.percentage_problem(value)
    if problem:
        raise InputError(f"Percentage {text} {problem}")
    return int(value)
