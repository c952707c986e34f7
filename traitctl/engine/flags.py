"""Feature flags: the bucketing algorithms, flag definitions, evaluation with its explanation.

Pure: no I/O, no clock. Every algorithm is bit-exact with the implementation it is named after,
so ``traitctl flags eval`` says exactly what an application running that code decides
(``murmur3`` is MurmurHash3 x86 32-bit, seed 0, over the UTF-8 bytes):

``crc32`` (default)
    ``b = crc32(f"{flag}:{subject}") % 100``; on iff ``b < percentage`` (exactly p of 100 buckets).
``crc32-seed``
    the seeds' PHP ``FeatureFlagService``: same bucket, on iff ``percentage > 0 and b <= percentage``
    (p+1 buckets); with ``percentage == 0`` the master switch alone decides.
``unleash``
    Unleash's gradual rollout: ``b = murmur3(f"{group}:{subject}") % 100 + 1``; on iff
    ``percentage > 0 and b <= percentage`` (group defaults to the flag name).

flagd's ``fractional`` in its three generations, each with the variants ``[["on", p], ["off", 100 - p]]``
walked in order (on iff the bucket falls in the first ``p`` of 100):

``flagd-v1``
    legacy flagd (Go flagd up to 0.14, ``openfeature-provider-flagd`` 0.2.x):
    ``h = murmur3(flag + subject)`` as a signed int32, ``b = abs(h) / 2147483647 * 100`` in doubles;
    on iff ``b < percentage``. Three hashes (``±2147483647``, ``-2147483648``) give ``b >= 100``:
    flagd finds no variant for them and answers the default variant, so they are on at 100 only.
``flagd`` (v2)
    Go flagd from 0.15, ``openfeature-flagd-core`` 1.x: ``b = (uint32 murmur3(flag + subject) * 100) >> 32``;
    on iff ``b < percentage``.
``flagd-v3``
    ``openfeature-flagd-core`` 2.x (the current Python provider): murmur3 over canonical CBOR
    (RFC 8949) instead of the raw string: with stickiness ``user`` (flagd's ``targetingKey``
    shorthand) of the array ``[flag, subject]``, with any other stickiness (an explicit
    ``{"cat": [flag, {"var": …}]}`` first argument) of the text string ``flag + subject``;
    ``b = (h * 100) >> 32``, on iff ``b < percentage``.

Evaluation order: an unexpired subject override, then the tenant's flag settings replacing the
global ones, then ``enabled = false`` is off, then the percentage bucket, then on.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from traitctl.engine.errors import ValidationError, literal

ALGORITHMS = ("crc32", "crc32-seed", "unleash", "flagd", "flagd-v1", "flagd-v3")
#: flagd's ``fractional`` generations, oldest first (``flagd`` is v2).
FLAGD_ALGORITHMS = ("flagd-v1", "flagd", "flagd-v3")
#: the lowest and highest bucket each algorithm produces.
BUCKET_RANGE = {"crc32": (0, 99), "crc32-seed": (0, 99), "unleash": (1, 100), "flagd": (0, 99),
                "flagd-v1": (0, 100), "flagd-v3": (0, 99)}
_MAX_INT32 = 2_147_483_647
STICKINESS_BUILTIN = ("user", "tenant", "model")
#: keys a ``[flags.<name>.tenants.<id>]`` table may replace.
TENANT_KEYS = frozenset({"enabled", "percentage", "bucketing", "stickiness", "group"})
FLAG_KEYS = TENANT_KEYS | {"description", "owner", "created", "expires", "temporary", "tenants", "schedule",
                           "guard", "paused", "env"}


@dataclass(frozen=True)
class Flag:
    """One ``[flags.<name>]`` table, checked.

    :param percentage: 0-100, or ``None`` when absent (a plain on/off switch).
    :param tenants: tenant id -> the keys of :data:`TENANT_KEYS` that tenant replaces.
    :param schedule: the raw schedule strings (``"10@2026-12-01"``), parsed by :mod:`rollout`.
    """

    name: str
    enabled: bool = False
    percentage: int | None = None
    bucketing: str = "crc32"
    stickiness: str = "user"
    group: str | None = None
    description: str = ""
    owner: str = ""
    created: Any = None
    expires: Any = None
    temporary: bool = False
    paused: bool = False
    tenants: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    schedule: tuple[str, ...] = ()
    guard: Mapping[str, Any] | None = None

    @property
    def effective_percentage(self) -> int:
        """The share that is on: an absent percentage means everyone once enabled."""
        if not self.enabled:
            return 0
        if self.percentage is None or (self.bucketing == "crc32-seed" and self.percentage == 0):
            return 100
        return self.percentage


@dataclass(frozen=True)
class Context:
    """Who is asking: the attributes stickiness can pick the subject from.

    :param model: ``"<Model FQN>:<key>"`` as the seeds' ``getFeatureFlagSeed`` builds it.
    """

    user: str | None = None
    tenant: str | None = None
    model: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)

    def subject(self, stickiness: str) -> str | None:
        """The subject id the flag's ``stickiness`` names, ``None`` when the context lacks it."""
        if stickiness in STICKINESS_BUILTIN:
            return getattr(self, stickiness)
        value = self.attributes.get(stickiness)
        return None if value is None else str(value)


@dataclass(frozen=True)
class Step:
    """One line of an explanation: which rule looked, what it saw, and whether it decided."""

    rule: str
    detail: str
    decided: bool = False


@dataclass(frozen=True)
class Evaluation:
    """The answer for one subject, with the steps that led to it."""

    flag: str
    on: bool
    reason: str
    steps: tuple[Step, ...]
    subject: str | None = None
    bucket: int | None = None
    tenant: str | None = None


# -- the algorithms --------------------------------------------------------------------------------------------
def _murmur(data: str | bytes, signed: bool = False) -> int:
    import mmh3

    return mmh3.hash(data, 0, signed=signed)


def cbor_text(data: bytes) -> bytes:
    """``data`` (UTF-8) as a canonical CBOR text string (RFC 8949 major type 3): the shortest length
    header (1 byte below 24, then 1, 2, 4 or 8 length bytes after 0x78-0x7b), then the bytes."""
    n = len(data)
    if n < 24:
        return bytes((0x60 | n,)) + data
    for head, size in ((0x78, 1), (0x79, 2), (0x7A, 4), (0x7B, 8)):
        if n < 1 << (8 * size):
            return bytes((head,)) + n.to_bytes(size, "big") + data
    raise ValueError("text too long for CBOR")


def flagd_v3_bytes(flag: str, subject: str, stickiness: str = "user") -> bytes:
    """The bytes ``flagd-v3`` hashes: canonical CBOR of ``[flag, subject]`` (stickiness ``user``,
    flagd's targetingKey shorthand) or of the text ``flag + subject`` (an explicit bucketing value)."""
    if stickiness == "user":
        return b"\x82" + cbor_text(flag.encode()) + cbor_text(subject.encode())
    return cbor_text((flag + subject).encode())


def raw_hash(algorithm: str, flag: str, subject: str, group: str | None = None,
             stickiness: str = "user") -> tuple[str, int]:
    """The hashed key (as text) and its 32-bit hash for ``algorithm``: unsigned, except the signed
    int32 ``flagd-v1`` reads.

    :param group: the Unleash activation group (defaults to the flag name).
    :param stickiness: what the subject is (``flagd-v3`` hashes ``[flag, subject]`` for ``user``).
    """
    if algorithm in ("crc32", "crc32-seed"):
        key = f"{flag}:{subject}"
        return key, zlib.crc32(key.encode())
    if algorithm == "unleash":
        key = f"{group or flag}:{subject}"
        return key, _murmur(key)
    if algorithm in ("flagd", "flagd-v1"):
        key = flag + subject
        return key, _murmur(key, signed=algorithm == "flagd-v1")
    if algorithm == "flagd-v3":
        key = f"cbor([{flag!r}, {subject!r}])" if stickiness == "user" else f"cbor({flag + subject!r})"
        return key, _murmur(flagd_v3_bytes(flag, subject, stickiness))
    raise ValidationError(f"Unknown bucketing algorithm {algorithm!r}: use one of {', '.join(ALGORITHMS)}.")


def bucket_of(algorithm: str, hashed: int) -> int:
    """The bucket a 32-bit hash falls in: 0-99; 1-100 for ``unleash``; 0-100 for ``flagd-v1``
    (its double ``abs(h) / 2147483647 * 100`` truncated: ``b < p`` holds for the truncation
    exactly when it holds for the double)."""
    if algorithm == "unleash":
        return hashed % 100 + 1
    if algorithm in ("flagd", "flagd-v3"):
        return (hashed * 100) >> 32
    if algorithm == "flagd-v1":
        return int(abs(hashed) / _MAX_INT32 * 100)
    return hashed % 100


def bucket(algorithm: str, flag: str, subject: str, group: str | None = None, stickiness: str = "user") -> int:
    """The bucket of ``subject`` for ``flag`` under ``algorithm`` (see the module docstring).

    :param group: the Unleash activation group (defaults to the flag name).
    """
    return bucket_of(algorithm, raw_hash(algorithm, flag, subject, group, stickiness)[1])


def in_rollout(algorithm: str, bucket_number: int, percentage: int) -> bool:
    """Whether a subject in ``bucket_number`` is on at ``percentage`` under ``algorithm``."""
    if algorithm in ("crc32-seed", "unleash"):
        return percentage > 0 and bucket_number <= percentage
    if algorithm == "flagd-v1" and percentage >= 100:
        return True  # bucket 100 too: flagd answers the default variant, exported as "on" at 100
    return bucket_number < percentage


def comparison(algorithm: str) -> str:
    """The rule :func:`in_rollout` applies, as text for explanations."""
    return "<=" if algorithm in ("crc32-seed", "unleash") else "<"


# -- reading a flag table -------------------------------------------------------------------------------------
def problems(name: str, table: Any) -> list[str]:
    """Every rule ``[flags.<name>]`` breaks, each naming the key path (empty when the flag is sound)."""
    where = f"flags.{name}"
    if not isinstance(table, Mapping):
        return [f"{where} must be a table, not {type(table).__name__}."]
    found = [f"{where}.{key} is not a flag setting (known: {', '.join(sorted(FLAG_KEYS))})."
             for key in table if key not in FLAG_KEYS]
    found += _setting_problems(where, table)
    tenants = table.get("tenants", {})
    if not isinstance(tenants, Mapping):
        return found + [f"{where}.tenants must be a table of tenant ids."]
    for tenant, override in tenants.items():
        if not isinstance(override, Mapping):
            found.append(f"{where}.tenants.{tenant} must be a table.")
            continue
        found += [f"{where}.tenants.{tenant}.{k} cannot be set per tenant (only {', '.join(sorted(TENANT_KEYS))})."
                  for k in override if k not in TENANT_KEYS and k != "env"]
        found += _setting_problems(f"{where}.tenants.{tenant}", override)
    schedule = table.get("schedule", [])
    if not isinstance(schedule, list) or not all(isinstance(s, str) for s in schedule):
        found.append(f"{where}.schedule must be a list of \"PERCENT@DATE\" strings.")
    guard = table.get("guard")
    if guard is not None and not isinstance(guard, Mapping):
        found.append(f"{where}.guard must be a table.")
    return found + _env_problems(where, table)


def _env_problems(where: str, table: Mapping[str, Any]) -> list[str]:
    from traitctl.engine import envvars

    tables = [(where, table)] + [(f"{where}.tenants.{t}", v) for t, v in (table.get("tenants") or {}).items()
                                 if isinstance(v, Mapping)]
    found = []
    for place, sub in tables:
        found += [p.replace(" -> ", ".") for p in envvars.problems(sub, place)]
        found += [f"{place}.env.{k} names a variable for a key that is not a flag setting."
                  for k in envvars.names(sub) if k not in TENANT_KEYS]
    return found


def _setting_problems(where: str, table: Mapping[str, Any]) -> list[str]:
    found = []
    for key in ("enabled", "temporary", "paused"):
        if key in table and not isinstance(table[key], bool):
            found.append(f"{where}.{key} = {literal(table[key])} must be true or false.")
    if "percentage" in table:
        message = percentage_problem(table["percentage"])
        if message:
            found.append(f"{where}.percentage = {literal(table['percentage'])} {message}")
    algorithm = table.get("bucketing", "crc32")
    if algorithm not in ALGORITHMS:
        found.append(f"{where}.bucketing = {literal(algorithm)} is not an algorithm (use {', '.join(ALGORITHMS)}).")
    for key in ("stickiness", "group", "description", "owner"):
        if key in table and not (isinstance(table[key], str) and (table[key] or key in ("description", "owner"))):
            found.append(f"{where}.{key} = {literal(table[key])} must be a non-empty string.")
    return found


def percentage_problem(value: Any) -> str | None:
    """Why ``value`` is not a percentage (a whole number from 0 to 100), or ``None`` when it is."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "is not a number: use a whole number from 0 to 100."
    if value != value or value in (float("inf"), float("-inf")):
        return "is not a finite number: use a whole number from 0 to 100."
    if value != int(value):
        return "is not a whole number: use a whole number from 0 to 100."
    if not 0 <= value <= 100:
        return "is outside 0-100."
    return None


def parse_flag(name: str, table: Mapping[str, Any]) -> Flag:
    """Build a :class:`Flag` from its TOML table.

    :raises ValidationError: naming the first broken key (``flags.<name>.percentage = 120 …``).
    """
    found = problems(name, table)
    if found:
        raise ValidationError(found[0])
    pct = table.get("percentage")
    return Flag(name=name, enabled=table.get("enabled", False), percentage=None if pct is None else int(pct),
                bucketing=table.get("bucketing", "crc32"), stickiness=table.get("stickiness", "user"),
                group=table.get("group"), description=table.get("description", ""), owner=table.get("owner", ""),
                created=table.get("created"), expires=table.get("expires"), temporary=table.get("temporary", False),
                paused=table.get("paused", False), tenants=dict(table.get("tenants", {})),
                schedule=tuple(table.get("schedule", ())), guard=table.get("guard"))


def parse_flags(section: Mapping[str, Any]) -> dict[str, Flag]:
    """Every flag of a ``[flags]`` section.

    :raises ValidationError: at the first broken flag.
    """
    return {name: parse_flag(name, table) for name, table in section.items()}


def for_tenant(flag: Flag, tenant: str | None) -> Flag:
    """The flag as ``tenant`` sees it: its ``[flags.<name>.tenants.<id>]`` keys replace the global ones."""
    override = flag.tenants.get(tenant) if tenant else None
    if not override:
        return flag
    changes = {k: (int(v) if k == "percentage" else v) for k, v in override.items() if k in TENANT_KEYS}
    return replace(flag, **changes)


# -- evaluation -------------------------------------------------------------------------------------------------
def evaluate(flag: Flag, context: Context, overrides: Mapping[str, bool] | None = None) -> Evaluation:
    """Decide ``flag`` for ``context`` and explain each step (the order in the module docstring).

    :param overrides: unexpired subject overrides of this flag, user id -> on/off.
    """
    steps: list[Step] = []
    override = (overrides or {}).get(context.user) if context.user is not None else None
    if override is not None:
        steps.append(Step("override", f"user {context.user} has an override: {'on' if override else 'off'}", True))
        return Evaluation(flag.name, override, "override", tuple(steps), context.user, tenant=context.tenant)
    who = f"user {context.user}" if context.user is not None else "no user"
    steps.append(Step("override", f"{who}: no unexpired override"))
    effective = for_tenant(flag, context.tenant)
    steps.append(Step("tenant", _tenant_detail(flag, context.tenant)))
    if not effective.enabled:
        steps.append(Step("enabled", "enabled = false: off", True))
        return Evaluation(flag.name, False, "disabled", tuple(steps), tenant=context.tenant)
    steps.append(Step("enabled", "enabled = true"))
    return _percentage_step(effective, context, steps)


def _tenant_detail(flag: Flag, tenant: str | None) -> str:
    if tenant is None:
        return "no tenant given: global settings"
    override = flag.tenants.get(tenant)
    if not override:
        return f"tenant {tenant} has no flag settings: global settings"
    return f"tenant {tenant} replaces " + ", ".join(f"{k} = {literal(v)}" for k, v in sorted(override.items()))


def _percentage_step(flag: Flag, context: Context, steps: list[Step]) -> Evaluation:
    pct = flag.percentage
    if pct is None or (flag.bucketing == "crc32-seed" and pct == 0):
        why = "no percentage" if pct is None else "crc32-seed with percentage 0 (the switch decides)"
        steps.append(Step("percentage", f"{why}: on", True))
        return Evaluation(flag.name, True, "enabled", tuple(steps), tenant=context.tenant)
    subject = context.subject(flag.stickiness)
    if subject is None:
        on = _without_subject(flag.bucketing, pct)
        steps.append(Step("percentage", f"percentage = {pct} and no {flag.stickiness} to bucket by: "
                                        f"{'on' if on else 'off'}", True))
        return Evaluation(flag.name, on, "no-subject", tuple(steps), tenant=context.tenant)
    key, hashed = raw_hash(flag.bucketing, flag.name, subject, flag.group, flag.stickiness)
    number = bucket_of(flag.bucketing, hashed)
    on = in_rollout(flag.bucketing, number, pct)
    shown = key if flag.bucketing == "flagd-v3" else repr(key)
    steps.append(Step("percentage", f"{flag.bucketing}({shown}) = {hashed} -> bucket {number}; "
                                    f"{number} {comparison(flag.bucketing)} {pct} is {str(on).lower()}: "
                                    f"{'on' if on else 'off'}", True))
    return Evaluation(flag.name, on, "percentage", tuple(steps), subject, number, context.tenant)


def _without_subject(algorithm: str, pct: int) -> bool:
    # On only when every bucket is on (at 100, and at 99 under crc32-seed): no subject is needed there.
    low, high = BUCKET_RANGE[algorithm]
    return in_rollout(algorithm, low, pct) and in_rollout(algorithm, high, pct)


def compile(flag: Flag, overrides: Mapping[str, bool] | None = None,
            tenant: str | None = None) -> Callable[[str], bool]:
    """A fast predicate ``subject -> on`` for ``flag`` as ``tenant`` sees it (the same answers as
    :func:`evaluate` for a context whose stickiness attribute is ``subject``).

    :param overrides: subject overrides (checked first), applied when the stickiness is ``user``.
    """
    effective = for_tenant(flag, tenant)
    decide = _compile_bucket(effective)
    if not overrides or effective.stickiness != "user":
        return decide
    table = dict(overrides)
    lookup = table.get

    def with_overrides(subject: str) -> bool:
        found = lookup(subject)
        return decide(subject) if found is None else found

    return with_overrides


def _constant(value: bool) -> Callable[[str], bool]:
    return lambda subject: value


def _compile_bucket(flag: Flag) -> Callable[[str], bool]:
    pct = flag.percentage
    if not flag.enabled:
        return _constant(False)
    if pct is None or pct >= 100 or (flag.bucketing == "crc32-seed" and (pct == 0 or pct >= 99)):
        return _constant(True)
    if pct == 0:
        return _constant(False)
    return _BUILDERS[flag.bucketing](flag, pct)


def _crc32_predicate(flag: Flag, pct: int) -> Callable[[str], bool]:
    crc32 = zlib.crc32
    start = crc32(f"{flag.name}:".encode())  # crc32 continues from the prefix: hash the subject only
    limit = pct if flag.bucketing == "crc32" else pct + 1
    return lambda subject: crc32(subject.encode(), start) % 100 < limit


def _unleash_predicate(flag: Flag, pct: int) -> Callable[[str], bool]:
    import mmh3

    murmur, prefix = mmh3.hash, f"{flag.group or flag.name}:"
    # b = h % 100 + 1 <= pct  <=>  h % 100 < pct
    return lambda subject: murmur(prefix + subject, 0, False) % 100 < pct


def _flagd_predicate(flag: Flag, pct: int) -> Callable[[str], bool]:
    import mmh3

    murmur, prefix = mmh3.hash, flag.name
    return lambda subject: (murmur(prefix + subject, 0, False) * 100) >> 32 < pct


def _flagd_v1_predicate(flag: Flag, pct: int) -> Callable[[str], bool]:
    import mmh3

    murmur, prefix = mmh3.hash, flag.name
    # the double expression flagd-v1 computes, in its order of operations
    return lambda subject: abs(murmur(prefix + subject, 0, True)) / _MAX_INT32 * 100 < pct


def _flagd_v3_predicate(flag: Flag, pct: int) -> Callable[[str], bool]:
    import mmh3

    murmur = mmh3.hash
    limit = -(-pct * 2**32 // 100)  # (h * 100) >> 32 < pct  <=>  h < ceil(pct * 2**32 / 100)
    if flag.stickiness != "user":
        name = flag.name
        return lambda subject: murmur(cbor_text((name + subject).encode()), 0, False) < limit
    prefix = b"\x82" + cbor_text(flag.name.encode())
    heads = [prefix + bytes((0x60 | n,)) for n in range(24)]  # texts below 24 bytes: a one-byte header

    def decide(subject: str) -> bool:
        data = subject.encode()
        n = len(data)
        return murmur(heads[n] + data if n < 24 else prefix + cbor_text(data), 0, False) < limit

    return decide


_BUILDERS: dict[str, Callable[[Flag, int], Callable[[str], bool]]] = {
    "crc32": _crc32_predicate, "crc32-seed": _crc32_predicate,
    "unleash": _unleash_predicate, "flagd": _flagd_predicate,
    "flagd-v1": _flagd_v1_predicate, "flagd-v3": _flagd_v3_predicate,
}


# -- facts for list and stale -------------------------------------------------------------------------------
def state_of(flag: Flag) -> str:
    """``on`` (everyone), ``off`` (no one) or ``partial``."""
    share = flag.effective_percentage
    return "on" if share >= 100 or (flag.bucketing == "crc32-seed" and share >= 99) else \
        "off" if share == 0 else "partial"


def is_stale(flag: Flag, last_change: dt.datetime | None, now: dt.datetime, days: int) -> str | None:
    """Why ``flag`` is stale, or ``None``: fully on/off and unchanged for ``days`` (or never recorded),
    or temporary and past ``expires``.

    :param last_change: the newest recorded change of the flag (or its ``created`` date).
    """
    expires = _as_datetime(flag.expires)
    if flag.temporary and expires is not None and expires < now:
        return f"temporary flag expired on {expires.date().isoformat()}"
    state = state_of(flag)
    if state == "partial" or flag.tenants:
        return None
    if last_change is None:
        return f"fully {state}, no recorded change"
    if now - last_change >= dt.timedelta(days=days):
        return f"fully {state} and unchanged since {last_change.date().isoformat()}"
    return None


def _as_datetime(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            return _as_datetime(dt.datetime.fromisoformat(value))
        except ValueError:
            return None
    return None


def created_at(flag: Flag) -> dt.datetime | None:
    """The flag's ``created`` value as a naive UTC datetime (``None`` when absent or unreadable)."""
    return _as_datetime(flag.created)
