"""``migrate-plan``: the seeds' four migration phases computed from an inventory and a configuration.

Pure and read-only: the inventory, the configuration and the start date are passed in, and
:func:`build` returns a frozen :class:`Plan`. Applying any of it (the phase-4 flag schedules) is
a separate step done by the command through the flags code.

Phases (the seeds' deployment phase):

1. infrastructure: store, queue, worker, configuration, monitoring, each with the command that
   verifies it;
2. traits, ``traits_per_day`` per working day, simplest first (:func:`score`) and never before a
   trait it uses;
3. models in batches of ``batch_size``, each model after all its traits, in the order they became
   ready; models overriding a trait's methods are flagged as risks;
4. feature enablement: one flag for the phase or one per trait, at 10 % → 50 % → 100 %.

Dates skip Saturdays, Sundays and ``[migration] holidays``.
"""

from __future__ import annotations

import datetime as dt
import heapq
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from traitctl.engine.errors import InputError
from traitctl.engine.inventory.model import Inventory, ModelInfo, TraitInfo, short

#: Version of the JSON document (docs/migrate-plan.md).
SCHEMA_VERSION = 1

#: Weights of the complexity score (docs/migrate-plan.md): lower scores migrate first.
WEIGHTS = {"methods": 1, "span": 1, "uses": 2, "models": 1, "overrides": 3, "config_overrides": 1}
#: Lines of declared span that count as one point.
SPAN_LINES_PER_POINT = 10


# -- settings --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Settings:
    """``[migration]`` with its defaults (docs/migrate-plan.md lists each key).

    :param flags: ``"phase"`` (one flag for the enablement phase) or ``"trait"`` (one per trait).
    :param steps: the rollout percentages of phase 4, increasing, ending at 100.
    :param step_days: working days each rollout step holds before the next.
    :param error_rate_max: rollback when a trait's error rate exceeds this (percent of operations).
    :param latency_increase_max: rollback when the mean duration exceeds the baseline by this (percent).
    """

    infra_days: int = 5
    traits_per_day: int = 1
    batch_size: int = 5
    days_per_batch: int = 1
    flags: str = "phase"
    flag: str = "traits_management_system"
    flag_prefix: str = "trait_"
    steps: tuple[int, ...] = (10, 50, 100)
    step_days: int = 2
    holidays: tuple[dt.date, ...] = ()
    error_rate_max: float = 1.0
    latency_increase_max: float = 20.0
    critical_errors_max: int = 0
    observe: str = "24h"
    error_metric: str = "trait.{trait}.errors"
    operations_metric: str = "trait.{trait}.operations"
    duration_metric: str = "trait.{trait}.duration_ms"


_INT_KEYS = ("infra_days", "traits_per_day", "batch_size", "days_per_batch", "step_days")
_FLOAT_KEYS = ("error_rate_max", "latency_increase_max")
_STR_KEYS = ("flag", "flag_prefix", "observe", "error_metric", "operations_metric", "duration_metric")
_FLAG_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def settings(section: Mapping[str, Any], **overrides: Any) -> Settings:
    """Check ``[migration]`` and apply command-line ``overrides`` (``None`` values are ignored).

    :raises InputError: naming ``migration -> key`` and the value at fault.
    """
    values = {k: v for k, v in section.items()}
    values.update({k: v for k, v in overrides.items() if v is not None})
    known = set(Settings.__dataclass_fields__)
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in known:
            from traitctl.engine.errors import suggest

            raise InputError(f"migration -> {key}: unknown setting.{suggest(key, known)}")
        out[key] = _setting(key, value)
    result = Settings(**out)
    _check_names(result)
    return result


def _setting(key: str, value: Any) -> Any:
    where = f"migration -> {key}"
    if key in _INT_KEYS or key == "critical_errors_max":
        low = 0 if key == "critical_errors_max" else 1
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise InputError(f"{where}: expected a whole number of at least {low}, got {value!r}.")
        return value
    if key in _FLOAT_KEYS:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
            raise InputError(f"{where}: expected a finite non-negative number, got {value!r}.")
        return float(value)
    if key in _STR_KEYS:
        if not isinstance(value, str) or not value:
            raise InputError(f"{where}: expected a non-empty string, got {value!r}.")
        if key == "observe":
            from traitctl.engine.timeparse import parse_duration

            try:
                parse_duration(value)
            except InputError as exc:
                raise InputError(f"{where}: {exc.message}") from None
        return value
    return _SPECIAL[key](where, value)


def _flags_mode(where: str, value: Any) -> str:
    if value not in ("phase", "trait"):
        raise InputError(f"{where}: expected \"phase\" or \"trait\", got {value!r}.")
    return value


def _steps(where: str, value: Any) -> tuple[int, ...]:
    ok = isinstance(value, (list, tuple)) and value and all(
        isinstance(v, int) and not isinstance(v, bool) and 0 < v <= 100 for v in value)
    if not ok or list(value) != sorted(set(value)) or value[-1] != 100:
        raise InputError(f"{where}: expected increasing percentages from 1 to 100 ending at 100, got {value!r}.")
    return tuple(value)


def _holidays(where: str, value: Any) -> tuple[dt.date, ...]:
    if not isinstance(value, (list, tuple)):
        raise InputError(f"{where}: expected a list of dates such as [\"2026-12-25\"], got {value!r}.")
    return tuple(sorted({parse_date(v, where) for v in value}))


_SPECIAL = {"flags": _flags_mode, "steps": _steps, "holidays": _holidays}


def _check_names(s: Settings) -> None:
    for key in ("flag", "flag_prefix"):
        if not _FLAG_NAME.match(getattr(s, key)):
            raise InputError(f"migration -> {key}: {getattr(s, key)!r} is not a flag name "
                             "(letters, digits, '_', '-', '.').")


def parse_date(value: Any, where: str = "--start") -> dt.date:
    """A date from TOML (a date value) or text (``YYYY-MM-DD``).

    :raises InputError: naming ``where`` and the value.
    """
    from traitctl.engine.timeparse import check_time

    if isinstance(value, dt.datetime):
        day = value.date()
    elif isinstance(value, dt.date):
        day = value
    else:
        try:
            day = dt.date.fromisoformat(str(value).strip())
        except ValueError:
            raise InputError(f"{where}: {str(value)[:40]!r} is not a date; use YYYY-MM-DD, e.g. 2026-12-01.") from None
    try:
        check_time(dt.datetime.combine(day, dt.time()))
    except InputError:
        raise InputError(f"{where}: {day.isoformat()} is out of range: use a date from 1970-01-01 to 2200-01-01.") from None
    return day


# -- calendar --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Calendar:
    """Working days: Monday to Friday, minus ``holidays``."""

    holidays: frozenset[dt.date] = frozenset()

    def working(self, day: dt.date) -> bool:
        return day.weekday() < 5 and day not in self.holidays

    def first(self, day: dt.date) -> dt.date:
        """``day`` when it is a working day, else the next one."""
        while not self.working(day):
            day += dt.timedelta(days=1)
        return day

    def add(self, day: dt.date, n: int) -> dt.date:
        """The working day ``n`` working days after the working day ``day`` (``n = 0``: ``day``),
        whole weeks at a time (a plan of thousands of batches adds thousands of days per batch).

        :raises InputError: when that day would fall after 2199-12-31 (the dates traitctl stores).
        """
        from traitctl.engine.timeparse import LATEST

        last = LATEST.date() - dt.timedelta(days=1)
        if n > (last - day).days:
            raise InputError(_TOO_LONG)
        day = self.first(day)
        while n > 5:
            weeks = (n - 1) // 5  # leaves at least one step, so the answer is a working day
            end = day + dt.timedelta(weeks=weeks)
            if end > last:
                raise InputError(_TOO_LONG)
            off = sum(1 for h in self.holidays if day < h <= end and h.weekday() < 5)
            n -= 5 * weeks - off
            day = end
        for _ in range(n):
            day = day + dt.timedelta(days=1)
            while not self.working(day):
                if day >= last:
                    raise InputError(_TOO_LONG)
                day += dt.timedelta(days=1)
        if day > last:
            raise InputError(_TOO_LONG)
        return day


_TOO_LONG = ("The migration plan would end after 2199-12-31: lower [migration] infra_days, days_per_batch or "
             "step_days (or --traits-per-day, --batch-size), or plan fewer traits or models.")


# -- the plan ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Criterion:
    """A success criterion or rollback trigger with its threshold and the command that checks it."""

    text: str
    threshold: str
    command: str


@dataclass(frozen=True)
class Item:
    """One dated line of a phase's timeline."""

    date: dt.date
    title: str
    command: str = ""
    details: tuple[str, ...] = ()


@dataclass(frozen=True)
class TraitStep:
    """Phase 2: one trait, when, and why in this order."""

    trait: str
    name: str
    date: dt.date
    score: int
    parts: Mapping[str, int]
    uses: tuple[str, ...]
    models: tuple[str, ...]
    baseline: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Risk:
    """A model method that replaces a trait's method: review before migrating the model."""

    model: str
    trait: str
    method: str
    line: int
    declared_in: str


@dataclass(frozen=True)
class Batch:
    """Phase 3: models migrated together on one date."""

    number: int
    date: dt.date
    models: tuple[str, ...]
    risks: tuple[Risk, ...] = ()


@dataclass(frozen=True)
class FlagStep:
    """Phase 4: ``flag`` reaches ``percentage`` on ``date``."""

    flag: str
    percentage: int
    date: dt.date
    trait: str | None = None


@dataclass(frozen=True)
class Phase:
    number: int
    name: str
    start: dt.date
    end: dt.date
    items: tuple[Item, ...]
    success: tuple[Criterion, ...]
    rollback: tuple[Criterion, ...]
    procedure: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    """The whole migration plan (``--format json`` is :meth:`to_dict`)."""

    start: dt.date
    end: dt.date
    settings: Settings
    phases: tuple[Phase, ...]
    traits: tuple[TraitStep, ...]
    batches: tuple[Batch, ...]
    flags: tuple[FlagStep, ...]
    risks: tuple[Risk, ...]
    notes: tuple[str, ...] = ()
    roots: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON document (``schema`` = :data:`SCHEMA_VERSION`), dates as ``YYYY-MM-DD``."""
        from dataclasses import asdict

        data = asdict(self)
        data["schema"] = SCHEMA_VERSION
        return _jsonable(data)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


# -- complexity and order ----------------------------------------------------------------------------
def config_overrides(cfg: Any) -> dict[str, int]:
    """Per trait short name, how many model and tenant tables override its global settings.

    :param cfg: a :class:`~traitctl.engine.config.ConfigData` (tenants as loaded).
    """
    counts: dict[str, int] = {}

    def add(models: Any) -> None:
        for by_trait in (models or {}).values():
            for trait in (by_trait or {}) if isinstance(by_trait, Mapping) else ():
                counts[trait] = counts.get(trait, 0) + 1

    add(cfg.models)
    for tenant in cfg.tenants.values():
        doc = tenant.doc or {}
        for trait in doc.get("traits", {}) or {}:
            counts[trait] = counts.get(trait, 0) + 1
        add(doc.get("models"))
    return counts


def score(trait: TraitInfo, overrides: int, config_count: int) -> tuple[int, dict[str, int]]:
    """The complexity score of a trait and its parts (weights in :data:`WEIGHTS`).

    ``span`` is one point per :data:`SPAN_LINES_PER_POINT` lines from the declaration to its last
    method; ``uses`` counts traits it uses (transitively); ``overrides`` counts model methods that
    replace one of its methods; ``config_overrides`` counts model and tenant tables overriding it.
    """
    last = max((m.line for m in trait.methods), default=trait.line)
    parts = {"methods": len(trait.methods),
             "span": math.ceil((last - trait.line + 1) / SPAN_LINES_PER_POINT),
             "uses": len(trait.uses_all), "models": len(trait.models),
             "overrides": overrides, "config_overrides": config_count}
    return sum(WEIGHTS[k] * v for k, v in parts.items()), parts


def order_traits(traits: Sequence[TraitInfo], scores: Mapping[str, int]) -> list[TraitInfo]:
    """Traits simplest first, every trait after the traits it uses (Kahn's algorithm with the
    score, then the name, choosing among the ready ones).

    :raises InputError: naming a cycle (``A -> B -> A``) when the traits use each other.
    """
    by_key = {t.fqn.lower(): t for t in traits}
    deps = {t.fqn.lower(): {u.lower() for u in t.uses if u.lower() in by_key} for t in traits}
    users: dict[str, list[str]] = {k: [] for k in by_key}
    for key, needed in deps.items():
        for dep in needed:
            users[dep].append(key)
    waiting = {k: len(v) for k, v in deps.items()}
    ready = [(scores[by_key[k].fqn], k) for k, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    out: list[TraitInfo] = []
    while ready:
        _, key = heapq.heappop(ready)
        out.append(by_key[key])
        for user in users[key]:
            waiting[user] -= 1
            if waiting[user] == 0:
                heapq.heappush(ready, (scores[by_key[user].fqn], user))
    if len(out) < len(traits):
        raise InputError(f"Trait dependency cycle: {_cycle(deps, waiting, by_key)}; a trait cannot be "
                         "migrated before a trait it uses.")
    return out


def _cycle(deps: Mapping[str, set[str]], waiting: Mapping[str, int], by_key: Mapping[str, TraitInfo]) -> str:
    stuck = sorted(k for k, n in waiting.items() if n > 0)
    path, node = [], stuck[0]
    while node not in path:
        path.append(node)
        node = sorted(d for d in deps[node] if waiting[d] > 0)[0]
    cycle = path[path.index(node):] + [node]
    return " uses ".join(by_key[k].fqn for k in cycle)


def select_traits(inv: Inventory, names: Iterable[str]) -> list[TraitInfo]:
    """The declared traits named (FQN or unique short name) plus every trait they use; all when
    ``names`` is empty.

    :raises NotFound: for a name the inventory does not declare.
    """
    from traitctl.engine.config import match_name

    names = list(names)
    if not names:
        return list(inv.traits)
    by_fqn = {t.fqn: t for t in inv.traits}
    wanted: set[str] = set()
    for name in names:
        fqn = match_name("trait", name, by_fqn)
        wanted.add(fqn)
        wanted.update(u for u in by_fqn[fqn].uses_all if u in by_fqn)
    return [t for t in inv.traits if t.fqn in wanted]


def select_models(inv: Inventory, names: Iterable[str], traits: Sequence[TraitInfo]) -> list[ModelInfo]:
    """The models named, or every model using one of ``traits``.

    :raises NotFound: for a name the inventory does not know as a model.
    """
    from traitctl.engine.config import match_name

    names = list(names)
    if names:
        by_fqn = {m.fqn: m for m in inv.models}
        chosen = {match_name("model", n, by_fqn) for n in names}
        return [m for m in inv.models if m.fqn in chosen]
    planned = {t.fqn for t in traits}
    return [m for m in inv.models if planned.intersection(m.traits)]


# -- building the plan --------------------------------------------------------------------------------
def build(inventory: Inventory, config: Any, start: dt.date, *, options: Settings | None = None,
          traits: Iterable[str] = (), models: Iterable[str] = (),
          baselines: Mapping[str, Mapping[str, float]] | None = None) -> Plan:
    """Compute the migration plan.

    :param inventory: the scan of the source roots.
    :param config: the :class:`~traitctl.engine.config.ConfigData` (``[migration]`` is read from it
        unless ``options`` is given).
    :param start: the first day (moved to the next working day when it is not one).
    :param traits: limit phase 2 to these traits (and the traits they use).
    :param models: limit phase 3 to these models.
    :param baselines: telemetry per trait short name (``error_rate`` in percent, ``duration_ms``
        mean, ``operations`` count) over the last ``observe``; see :func:`baseline_queries`.
    :raises InputError: for bad settings, unknown names or a cycle between traits.
    """
    s = options or settings(config.section("migration"))
    cal = Calendar(frozenset(s.holidays))
    chosen = select_traits(inventory, traits)
    overrides = _override_counts(inventory)
    counts = config_overrides(config)
    scored = {t.fqn: score(t, overrides.get(t.fqn, 0), counts.get(t.name, 0)) for t in chosen}
    ordered = order_traits(chosen, {k: v[0] for k, v in scored.items()})
    p1 = _infrastructure(cal, cal.first(start), s, cache_ttls(config, [t.name for t in chosen]))
    steps = _trait_steps(cal, cal.add(p1.end, 1), ordered, scored, s, baselines or {})
    p2 = _trait_phase(cal.add(p1.end, 1), steps, s)
    batches = _batches(cal, cal.add(p2.end, 1), select_models(inventory, models, chosen), steps, s)
    p3 = _model_phase(cal.add(p2.end, 1), batches, s, _labels(inventory))
    flags = _flag_steps(cal, cal.add(p3.end, 1), steps, s)
    p4 = _flag_phase(cal.add(p3.end, 1), flags, s)
    risks = tuple(r for b in batches for r in b.risks)
    return Plan(start=p1.start, end=p4.end, settings=s, phases=(p1, p2, p3, p4), traits=tuple(steps),
                batches=tuple(batches), flags=tuple(flags), risks=risks,
                notes=tuple(_notes(inventory, config, chosen) + _baseline_notes(steps, s)), roots=inventory.roots)


def cache_ttls(cfg: Any, traits: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Per trait short name, where ``cache_ttl`` is set: ``"global 3600"``, ``"model App\\Models\\Post 600"``,
    ``"tenant acme 60"``, ``"tenant acme, model … 30"`` (traits without it are left out: not cached).

    :param cfg: a :class:`~traitctl.engine.config.ConfigData` (tenants as loaded).
    """
    def ttl(table: Any) -> Any:
        return table.get("cache_ttl") if isinstance(table, Mapping) else None

    def per_model(models: Any, trait: str, prefix: str) -> list[str]:
        return [f"{prefix}model {m} {ttl(t[trait])}" for m, t in sorted((models or {}).items())
                if isinstance(t, Mapping) and ttl(t.get(trait)) is not None]

    out: dict[str, tuple[str, ...]] = {}
    for trait in traits:
        found = [f"global {ttl(cfg.traits.get(trait))}"] if ttl(cfg.traits.get(trait)) is not None else []
        rule = (cfg.traits.get(trait) or {}).get("schema", {}).get("cache_ttl") \
            if isinstance(cfg.traits.get(trait), Mapping) else None
        if not found and isinstance(rule, Mapping) and "default" in rule:
            found.append(f"schema default {rule['default']}")
        found += per_model(cfg.models, trait, "")
        for tenant_id, tenant in sorted(cfg.tenants.items()):
            doc = tenant.doc or {}
            if ttl((doc.get("traits") or {}).get(trait)) is not None:
                found.append(f"tenant {tenant_id} {ttl(doc['traits'][trait])}")
            found += per_model(doc.get("models"), trait, f"tenant {tenant_id}, ")
        if found:
            out[trait] = tuple(found)
    return out


def _override_counts(inv: Inventory) -> dict[str, int]:
    counts: dict[str, int] = {}
    for model in inv.models:
        for o in model.overrides:
            counts[o.trait] = counts.get(o.trait, 0) + 1
    return counts


def _q(text: str) -> str:
    import shlex

    return shlex.quote(text)


def _infrastructure(cal: Calendar, start: dt.date, s: Settings,
                    caching: Mapping[str, tuple[str, ...]] | None = None) -> Phase:
    last = s.infra_days - 1
    plan = [(0, "Store reachable, schema current", "traitctl health --only store --strict"),
            (0, "Queue reachable", "traitctl health --only queue --strict"),
            (0, "A worker running with a fresh heartbeat", "traitctl health --only workers --strict"),
            (0, "Application cache answers (cache_ttl per trait: docs/cache.md)",
             "traitctl health --only caching --strict"),
            (0, "Event subscribers up to date", "traitctl health --only events --strict"),
            (1, "Configuration parses and validates", "traitctl config validate"),
            (1, "Inventory baseline saved", "traitctl inventory --save inventory.json"),
            (2, "Monitoring: telemetry arriving", "traitctl health --only telemetry --strict"),
            (3, "Testing and validation: every check green", "traitctl health --strict")]
    items = tuple(Item(cal.add(start, min(day, last)), title, cmd) for day, title, cmd in plan)
    items += tuple(Item(cal.add(start, 0), f"Cache of {trait}: cache_ttl per layer",
                        f"traitctl config explain cache_ttl --trait {_q(trait)}", layers)
                   for trait, layers in sorted((caching or {}).items()))
    items = tuple(sorted(items, key=lambda item: item.date))
    success = (Criterion("every infrastructure check passes", "health status ok, no warnings",
                         "traitctl health --strict"),
               Criterion("configuration valid", "0 problems", "traitctl config validate"),
               Criterion("no critical errors", f"critical errors <= {s.critical_errors_max}", "traitctl health --json"))
    rollback = (Criterion("a check fails after deployment", "health status fail", "traitctl health"),)
    procedure = ("Disable the TMS components in the application (leave its flags off).",
                 "Undo configuration changes: traitctl history, then traitctl rollback EVENT.")
    return Phase(1, "Infrastructure setup", start, cal.add(start, last), items, success, rollback, procedure)


def _trait_steps(cal: Calendar, start: dt.date, ordered: Sequence[TraitInfo],
                 scored: Mapping[str, tuple[int, dict[str, int]]], s: Settings,
                 baselines: Mapping[str, Mapping[str, float]]) -> list[TraitStep]:
    steps = []
    for index, trait in enumerate(ordered):
        total, parts = scored[trait.fqn]
        steps.append(TraitStep(trait=trait.fqn, name=trait.name, date=cal.add(start, index // s.traits_per_day),
                               score=total, parts=parts, uses=trait.uses_all, models=trait.models,
                               baseline=dict(baselines.get(trait.name, {}))))
    return steps


def baseline_queries(s: Settings, trait: str) -> dict[str, tuple[str, str]]:
    """What to read from telemetry for a trait's baseline: part -> (metric name, aggregate)."""
    return {"errors": (_metric(s.error_metric, trait), "sum"),
            "operations": (_metric(s.operations_metric, trait), "sum"),
            "duration_ms": (_metric(s.duration_metric, trait), "avg")}


def baseline(values: Mapping[str, float | None]) -> dict[str, float]:
    """A trait's baseline from the aggregates of :func:`baseline_queries` (missing ones left out):
    ``operations``, ``error_rate`` (percent of operations) and ``duration_ms``."""
    out: dict[str, float] = {}
    ops, errors, duration = values.get("operations"), values.get("errors"), values.get("duration_ms")
    if ops:
        out["operations"] = ops
        out["error_rate"] = round(100.0 * (errors or 0.0) / ops, 3)
    if duration is not None:
        out["duration_ms"] = round(duration, 3)
    return out


def _metric(template: str, trait: str) -> str:
    return template.replace("{trait}", trait)


def _trait_criteria(s: Settings, trait: str = "<Trait>") -> tuple[tuple[Criterion, ...], tuple[Criterion, ...]]:
    errors, ops = _metric(s.error_metric, trait), _metric(s.operations_metric, trait)
    duration = _metric(s.duration_metric, trait)
    success = (
        Criterion("no increase in error rate", f"{errors} / {ops} <= {s.error_rate_max:g} % over {s.observe}",
                  f"traitctl metrics trends {errors} --period {s.observe}"),
        Criterion("no performance degradation", f"mean {duration} <= baseline + {s.latency_increase_max:g} %",
                  f"traitctl metrics trends {duration} --period {s.observe}"),
        Criterion("behaviour consistent with the inventory baseline", "no unexpected drift",
                  "traitctl inventory --check inventory.json"),
    )
    rollback = (
        Criterion("error rate increase", f"{errors} / {ops} > {s.error_rate_max:g} %",
                  f"traitctl metrics trends {errors} --period {s.observe}"),
        Criterion("performance degradation", f"mean {duration} > baseline + {s.latency_increase_max:g} %",
                  f"traitctl metrics trends {duration} --period {s.observe}"),
        Criterion("critical errors", f"more than {s.critical_errors_max} critical error(s)", "traitctl health"),
    )
    return success, rollback


def _trait_phase(start: dt.date, steps: Sequence[TraitStep], s: Settings) -> Phase:
    items = tuple(Item(st.date, f"Migrate {st.name} (score {st.score})", f"traitctl inventory --trait {_q(st.trait)}",
                       _trait_details(st)) for st in steps)
    success, rollback = _trait_criteria(s)
    procedure = ("Redeploy the trait's previous implementation (the application's own release rollback).",
                 "Revert configuration changes made for it: traitctl history --trait TRAIT, "
                 "then traitctl rollback EVENT.")
    end = steps[-1].date if steps else start
    return Phase(2, "Trait migration", start, end, items, success, rollback, procedure)


def _trait_details(st: TraitStep) -> tuple[str, ...]:
    parts = ", ".join(f"{k} {v}" for k, v in st.parts.items() if v)
    details = [f"score {st.score}: {parts or 'nothing to count'}"]
    if st.uses:
        details.append("uses: " + ", ".join(short(u) for u in st.uses))
    details.append(f"{len(st.models)} model(s) use it")
    if st.baseline:
        details.append("baseline: " + _baseline_text(st.baseline))
    return tuple(details)


def _baseline_text(b: Mapping[str, float]) -> str:
    parts = []
    if "error_rate" in b:
        parts.append(f"error rate {b['error_rate']:g} % of {b['operations']:g} operations")
    if "duration_ms" in b:
        parts.append(f"mean duration {b['duration_ms']:g} ms")
    return ", ".join(parts)


def _batches(cal: Calendar, start: dt.date, models: Sequence[ModelInfo], steps: Sequence[TraitStep],
             s: Settings) -> list[Batch]:
    """Models in the order their last trait is migrated (then fewest risks, then name), chunked."""
    index = {st.trait: i for i, st in enumerate(steps)}

    def key(model: ModelInfo) -> tuple[int, int, str]:
        ready = max((index[t] for t in model.traits if t in index), default=-1)
        return ready, len(model.overrides), model.fqn.lower()

    ordered = sorted(models, key=key)
    batches = []
    for number, first in enumerate(range(0, len(ordered), s.batch_size), start=1):
        chunk = ordered[first:first + s.batch_size]
        risks = tuple(Risk(m.fqn, o.trait, o.method, o.line, o.declared_in) for m in chunk for o in m.overrides)
        batches.append(Batch(number, cal.add(start, (number - 1) * s.days_per_batch),
                             tuple(m.fqn for m in chunk), risks))
    return batches


def _labels(inv: Inventory) -> dict[str, str]:
    """Short names where they are unique among models, else the FQN (PHP and Python may share one)."""
    seen: dict[str, int] = {}
    for m in inv.models:
        seen[m.name.lower()] = seen.get(m.name.lower(), 0) + 1
    return {m.fqn: m.name if seen[m.name.lower()] == 1 else m.fqn for m in inv.models}


def _model_phase(start: dt.date, batches: Sequence[Batch], s: Settings, labels: Mapping[str, str]) -> Phase:
    items = []
    for b in batches:
        details = [f"risk: {labels[r.model]}::{r.method}() (line {r.line}) overrides {short(r.trait)}::{r.method}()"
                   for r in b.risks]
        items.append(Item(b.date, f"Batch {b.number}: " + ", ".join(labels[m] for m in b.models),
                          "traitctl inventory --check inventory.json", tuple(details)))
    success, rollback = _trait_criteria(s)
    procedure = ("Redeploy the batch's models without the migrated traits (the application's release rollback).",
                 "Revert model overrides made for the batch: traitctl history, then traitctl rollback EVENT.")
    end = batches[-1].date if batches else start
    return Phase(3, "Model migration", start, end, tuple(items), success, rollback, procedure)


def flag_name(s: Settings, trait: str | None) -> str:
    """The flag phase 4 uses: ``[migration] flag``, or ``flag_prefix`` + the trait in snake case."""
    if trait is None:
        return s.flag
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", short(trait)).lower()
    return s.flag_prefix + snake


def _flag_steps(cal: Calendar, start: dt.date, steps: Sequence[TraitStep], s: Settings) -> list[FlagStep]:
    targets: list[tuple[str, str | None, dt.date]] = []
    if s.flags == "phase":
        targets.append((flag_name(s, None), None, start))
    else:
        targets += [(flag_name(s, st.trait), st.trait, cal.add(start, i)) for i, st in enumerate(steps)]
    return [FlagStep(name, pct, cal.add(first, n * s.step_days), trait)
            for name, trait, first in targets for n, pct in enumerate(s.steps)]


def schedules(plan: Plan) -> dict[str, list[str]]:
    """Phase 4 as flag schedules: flag name -> ``["10@2026-12-01", …]`` (``flags schedule`` syntax)."""
    out: dict[str, list[str]] = {}
    for step in plan.flags:
        out.setdefault(step.flag, []).append(f"{step.percentage}@{step.date.isoformat()}")
    return out


def _flag_phase(start: dt.date, flags: Sequence[FlagStep], s: Settings) -> Phase:
    items = tuple(Item(f.date, f"{f.flag} at {f.percentage} %", f"traitctl flags get {_q(f.flag)}",
                       (f"trait {short(f.trait)}",) if f.trait else ()) for f in flags)
    errors, ops = _metric(s.error_metric, "*"), _metric(s.operations_metric, "*")
    success = (Criterion("each step holds",
                         f"error rate <= {s.error_rate_max:g} % for {s.observe} before the next step",
                         "traitctl flags list"),
               Criterion("performance meets the baseline",
                         f"mean durations <= baseline + {s.latency_increase_max:g} %", "traitctl metrics"),
               Criterion("all flags at 100 %", "every flag of the plan fully on", "traitctl flags list"))
    rollback = (Criterion("guard breached", f"{errors} / {ops} > {s.error_rate_max:g} % (guard action rollback)",
                          "traitctl flags advance"),
                Criterion("performance degradation", f"mean durations > baseline + {s.latency_increase_max:g} %",
                          "traitctl metrics"),
                Criterion("critical errors", f"more than {s.critical_errors_max} critical error(s)", "traitctl health"))
    procedure = ("Step the flag back: traitctl flags rollout FLAG PREVIOUS_PERCENT (or flags disable FLAG).",
                 "Guards with action = \"rollback\" do it automatically on the next traitctl flags advance.")
    end = max((f.date for f in flags), default=start)
    return Phase(4, "Feature enablement", start, end, items, success, rollback, procedure)


def _baseline_notes(steps: Sequence[TraitStep], s: Settings) -> list[str]:
    return [f"{st.name}: baseline error rate {st.baseline['error_rate']:g} % is already above error_rate_max "
            f"{s.error_rate_max:g} %; fix it or raise the limit before migrating"
            for st in steps if st.baseline.get("error_rate", 0.0) > s.error_rate_max]


def _notes(inv: Inventory, config: Any, chosen: Sequence[TraitInfo]) -> list[str]:
    notes = [f"vendor trait {v.fqn} is not migrated (used by {len(v.models)} model(s))" for v in inv.vendor_traits]
    declared = {t.name.lower() for t in inv.traits} | {v.name.lower() for v in inv.vendor_traits}
    notes += [f"[traits.{name}] is configured but the code declares no such trait"
              for name in sorted(config.traits) if name.lower() not in declared]
    notes += [f"model {m.fqn} is abstract: migrate it with its first concrete subclass"
              for m in inv.models if m.abstract]
    planned = {t.fqn for t in chosen}
    notes += [f"model {m.fqn} uses no planned trait and is left out" for m in inv.models
              if m.traits and not planned.intersection(m.traits) and len(chosen) == len(inv.traits)]
    return notes


# -- rendering -------------------------------------------------------------------------------------------
def working_days(plan: Plan, phase: Phase) -> int:
    """Working days from the phase's start to its end, both included."""
    cal = Calendar(frozenset(plan.settings.holidays))
    days, day = 0, phase.start
    while day <= phase.end:
        days += cal.working(day)
        day += dt.timedelta(days=1)
    return days


def bar(plan: Plan, phase: Phase, width: int = 20) -> str:
    """A text timeline bar: the phase's share of the plan's calendar days, at its offset."""
    total = (plan.end - plan.start).days + 1
    first = (phase.start - plan.start).days * width // total
    last = max(first + 1, ((phase.end - plan.start).days + 1) * width // total)
    # dots, not spaces: a table cell would wrap a bar at its spaces
    return "·" * first + "█" * (last - first) + "·" * (width - last)


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines + [""]


def markdown(plan: Plan) -> str:
    """The plan as a Markdown document a team can review in a pull request (deterministic)."""
    lines = [f"# Migration plan: {plan.start.isoformat()} to {plan.end.isoformat()}", "",
             "Generated by `traitctl migrate-plan --format markdown`. Dates skip weekends"
             + (f" and {len(plan.settings.holidays)} holiday(s)" if plan.settings.holidays else "") + ".", ""]
    if plan.roots:
        lines += ["Sources: " + ", ".join(f"`{r}`" for r in plan.roots), ""]
    lines += ["## Timeline", ""]
    lines += _table(["Phase", "Start", "End", "Working days"],
                    [(f"{p.number}. {p.name}", p.start, p.end, working_days(plan, p)) for p in plan.phases])
    for phase in plan.phases:
        lines += _phase_md(plan, phase)
    if plan.notes:
        lines += ["## Notes", ""] + [f"- {_cell(n)}" for n in plan.notes] + [""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _phase_md(plan: Plan, phase: Phase) -> list[str]:
    lines = [f"## Phase {phase.number}: {phase.name} ({phase.start.isoformat()} to {phase.end.isoformat()})", ""]
    lines += _PHASE_BODY[phase.number](plan, phase)
    lines += ["### Success criteria", ""]
    lines += _table(["Criterion", "Threshold", "Check with"],
                    [(c.text, c.threshold, f"`{c.command}`") for c in phase.success])
    lines += ["### Rollback triggers", ""]
    lines += _table(["Trigger", "Threshold", "Check with"],
                    [(c.text, c.threshold, f"`{c.command}`") for c in phase.rollback])
    lines += ["### Rollback procedure", ""] + [f"{i}. {p}" for i, p in enumerate(phase.procedure, 1)] + [""]
    return lines


def _infra_md(plan: Plan, phase: Phase) -> list[str]:
    return [f"- [ ] {i.date.isoformat()}: {i.title} (`{i.command}`)" for i in phase.items] + [""]


def _traits_md(plan: Plan, phase: Phase) -> list[str]:
    if not plan.traits:
        return ["No traits to migrate.", ""]
    weights = ", ".join(f"{k} x{v}" for k, v in WEIGHTS.items())
    lines = [f"One trait at a time, simplest first, never before a trait it uses. Score = {weights} "
             f"(span: one point per {SPAN_LINES_PER_POINT} lines).", ""]
    rows = [(n, st.date, f"`{st.trait}`", st.score, ", ".join(f"{k} {v}" for k, v in st.parts.items() if v),
             ", ".join(short(u) for u in st.uses), len(st.models), _baseline_text(st.baseline))
            for n, st in enumerate(plan.traits, 1)]
    return lines + _table(["#", "Date", "Trait", "Score", "Parts", "Uses", "Models", "Baseline"], rows)


def _models_md(plan: Plan, phase: Phase) -> list[str]:
    if not plan.batches:
        return ["No models to migrate.", ""]
    lines = [f"Batches of up to {plan.settings.batch_size} models, each model after all its traits.", ""]
    lines += _table(["Batch", "Date", "Models"],
                    [(b.number, b.date, ", ".join(f"`{m}`" for m in b.models)) for b in plan.batches])
    if plan.risks:
        lines += ["### Risks: custom overrides to review", ""]
        lines += _table(["Model", "Method", "Line", "Overrides trait method of", "Declared in"],
                        [(f"`{r.model}`", f"`{r.method}()`", r.line, f"`{r.trait}`", f"`{r.declared_in}`")
                         for r in plan.risks])
    return lines


def _flags_md(plan: Plan, phase: Phase) -> list[str]:
    lines = [f"Flags per {plan.settings.flags}: " + " → ".join(f"{p} %" for p in plan.settings.steps)
             + f", each step held {plan.settings.step_days} working day(s). Apply with "
             "`traitctl migrate-plan --apply-schedule` (see the diff first with `--dry-run`).", ""]
    return lines + _table(["Date", "Flag", "Percentage", "Trait"],
                          [(f.date, f"`{f.flag}`", f"{f.percentage} %", short(f.trait) if f.trait else "")
                           for f in plan.flags])


_PHASE_BODY = {1: _infra_md, 2: _traits_md, 3: _models_md, 4: _flags_md}
