"""The flagd export: flag definitions for flagd and the OpenFeature flagd providers, answering as
``traitctl flags eval`` does. Pure: the ``traitctl.snapshot/1`` document (or parsed flags) in, the
flagd document and the warnings (what flagd cannot express exactly) out.

The evaluation context the application passes to flagd: ``targetingKey`` is the user, ``tenant``
the tenant id, ``model`` the ``"<Model FQN>:<key>"`` subject, any other stickiness attribute by its
name. Each flag becomes a boolean flag (variants ``on``/``off``, default ``off``) whose targeting is,
in order: the user overrides (``in`` on ``targetingKey``, with ``$flagd.timestamp`` before the
expiry), the tenants' settings (``==`` on ``tenant``), then the global settings; a rollout is a
``fractional`` split ``[["on", p], ["off", 100 - p]]``:

* ``flagd`` and ``flagd-v1``: bucketing value ``{"cat": [flag, {"var": <subject>}]}``, the string
  both generations hash (``flag + subject``);
* ``flagd-v3``: the ``targetingKey`` shorthand (no first argument; v3 hashes the CBOR array
  ``[flagKey, targetingKey]``) for stickiness ``user``, the same ``cat`` (a CBOR text) otherwise.

Each flag's ``metadata.bucketing`` and ``metadata.exactFor`` say which flagd generation answers
exactly as traitctl. ``crc32``, ``crc32-seed`` and ``unleash`` have no flagd form: they are exported
as ``flagd`` splits with the same share (a warning says so: other subjects are on).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from traitctl.engine.errors import literal
from traitctl.engine.flags import FLAG_KEYS, FLAGD_ALGORITHMS, TENANT_KEYS, Flag, for_tenant, parse_flag

FLAGD_SCHEMA = "https://flagd.dev/schema/v0/flags.json"

#: bucketing -> the flagd runtimes that evaluate its export exactly as traitctl.
EXACT_FOR = {
    "flagd-v1": "flagd v1 (legacy): Go flagd <= 0.14, openfeature-provider-flagd 0.2.x",
    "flagd": "flagd v2: Go flagd >= 0.15, openfeature-flagd-core 1.x",
    "flagd-v3": "flagd v3: openfeature-flagd-core 2.x (openfeature-provider-flagd >= 0.6)",
}

_OVERRIDE_KEYS = ("on", "expires")


# -- the snapshot ---------------------------------------------------------------------------------------------
def render(snapshot: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The flagd document for a ``traitctl.snapshot/1`` document (its ``flags``: settings, tenant
    settings, stickiness and unexpired user overrides with their expiry).

    :returns: the document (valid under flagd's ``flags.json`` schema) and one warning per thing
        flagd answers differently (another hash, a value read from the environment).
    :raises ValidationError: naming the first broken flag setting.
    """
    flags: dict[str, Flag] = {}
    overrides: dict[str, Mapping[str, Any]] = {}
    warnings: list[str] = []
    for name, entry in (snapshot.get("flags") or {}).items():
        flags[name] = _flag_from_snapshot(name, entry)
        overrides[name] = entry.get("overrides") or {}
        warnings += _env_warnings(name, entry)
    metadata = {key: snapshot[key] for key in ("source", "digest", "generator") if isinstance(snapshot.get(key), str)}
    doc, more = _document(flags, overrides, metadata)
    return doc, warnings + more


def _flag_from_snapshot(name: str, entry: Mapping[str, Any]) -> Flag:
    table = {k: v for k, v in entry.items() if k in FLAG_KEYS and k != "tenants" and v is not None}
    tenants = entry.get("tenants") or {}
    table["tenants"] = {str(t): {k: v for k, v in (sub or {}).items() if k in TENANT_KEYS and v is not None}
                        for t, sub in tenants.items()}
    return parse_flag(name, table)


def _env_warnings(name: str, entry: Mapping[str, Any]) -> list[str]:
    found = []
    for where, table in [("", entry)] + [(f".tenants.{t}", s) for t, s in (entry.get("tenants") or {}).items()]:
        for key, variable in sorted(((table or {}).get("env") or {}).items()):
            found.append(f"flags.{name}{where}.{key} comes from the environment variable {variable} in the "
                         f"application; flagd has no environment lookup, so the export holds the default "
                         f"{literal(table.get(key))}.")
    return found


# -- parsed flags (``flags export --format flagd``) ---------------------------------------------------------------
def to_flagd(flags: Mapping[str, Flag],
             overrides: Mapping[str, Mapping[str, Any]] | None = None) -> tuple[dict[str, Any], list[str]]:
    """The flagd document for parsed flags.

    :param overrides: flag name -> user id -> ``{"on": bool, "expires": ISO text | datetime | None}``
        (only unexpired ones; none when omitted).
    :returns: the document and its warnings, as :func:`render`.
    """
    return _document(flags, overrides or {}, {})


# -- the document ---------------------------------------------------------------------------------------------------
def _document(flags: Mapping[str, Flag], overrides: Mapping[str, Mapping[str, Any]],
              metadata: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    out: dict[str, Any] = {}
    warnings: list[str] = []
    for flag in flags.values():
        branches: list[Any] = _override_branches(flag.name, overrides.get(flag.name) or {})
        for tenant in sorted(flag.tenants):
            branches += [{"==": [{"var": "tenant"}, tenant]}, _rule(for_tenant(flag, tenant), warnings, tenant)]
        default = _rule(flag, warnings, None)
        rule = {"if": branches + [default]} if branches else default
        entry: dict[str, Any] = {"state": "ENABLED", "variants": {"on": True, "off": False},
                                 "defaultVariant": rule if isinstance(rule, str) else "off"}
        if not isinstance(rule, str):
            entry["targeting"] = rule
        entry["metadata"] = _flag_metadata(flag, warnings)
        out[flag.name] = entry
    doc: dict[str, Any] = {"$schema": FLAGD_SCHEMA, "flags": out}
    if metadata:
        doc["metadata"] = dict(metadata)
    return doc, warnings


def _flag_metadata(flag: Flag, warnings: list[str]) -> dict[str, Any]:
    algorithms = [flag.bucketing] + [for_tenant(flag, t).bucketing for t in sorted(flag.tenants)]
    generations = sorted({a for a in algorithms if a in FLAGD_ALGORITHMS}, key=FLAGD_ALGORITHMS.index)
    metadata: dict[str, Any] = {"bucketing": flag.bucketing,
                                "exactFor": " + ".join(EXACT_FOR[a] for a in generations) or "none"}
    if len(generations) > 1:
        warnings.append(f"flag {flag.name} mixes flagd generations ({', '.join(generations)}) across tenants; "
                        "one flagd runtime answers exactly for one of them only.")
    if flag.description:
        metadata["description"] = flag.description
    return metadata


def _override_branches(name: str, table: Mapping[str, Any]) -> list[Any]:
    """``[condition, variant, …]`` for the ``if`` of the targeting: one condition per (answer, expiry)."""
    groups: dict[tuple[bool, float | int | None], list[str]] = {}
    for user, override in sorted(table.items()):
        on, expires = _override(name, user, override)
        groups.setdefault((on, expires), []).append(str(user))
    branches: list[Any] = []
    for (on, expires), users in sorted(groups.items(), key=lambda g: (not g[0][0], g[0][1] is None, g[0][1] or 0)):
        who: Any = {"==": [{"var": "targetingKey"}, users[0]]} if len(users) == 1 else \
            {"in": [{"var": "targetingKey"}, users]}
        if expires is not None:
            who = {"and": [who, {"<": [{"var": "$flagd.timestamp"}, expires]}]}
        branches += [who, "on" if on else "off"]
    return branches


def _override(name: str, user: str, override: Any) -> tuple[bool, float | int | None]:
    from traitctl.engine.errors import ValidationError

    where = f"flags.{name}.overrides.{user}"
    if isinstance(override, bool):
        return override, None
    if not isinstance(override, Mapping) or not isinstance(override.get("on"), bool):
        raise ValidationError(f"{where} must be {{on = true|false, expires = <time> or null}}.")
    expires = override.get("expires")
    if expires is None:
        return override["on"], None
    if isinstance(expires, str):
        try:
            expires = dt.datetime.fromisoformat(expires)
        except ValueError:
            raise ValidationError(f"{where}.expires = {literal(expires)} is not an ISO 8601 time.") from None
    if not isinstance(expires, dt.datetime):
        raise ValidationError(f"{where}.expires = {literal(expires)} is not a time.")
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=dt.timezone.utc)
    # $flagd.timestamp is whole Unix seconds: "timestamp < expiry" is exact for whole-second expiries
    seconds = expires.timestamp()
    return override["on"], int(seconds) if seconds == int(seconds) else seconds


def _rule(flag: Flag, warnings: list[str], tenant: str | None) -> Any:
    where = f"flags.{flag.name}" + (f".tenants.{tenant}" if tenant is not None else "") + ".bucketing"
    share = flag.effective_percentage
    if flag.bucketing == "crc32-seed" and 0 < share < 100:
        share += 1  # its `<=` lets p+1 buckets in
    if share == 0:
        return "off"
    if share >= 100:
        return "on"
    if flag.bucketing not in FLAGD_ALGORITHMS:
        warnings.append(f"{where} = {literal(flag.bucketing)}, which flagd cannot compute: exported as a "
                        f"flagd split with the same share ({share}%), but other subjects are on; use bucketing "
                        "flagd, flagd-v1 or flagd-v3 (the generation your flagd runtime has) for equal answers.")
    key = "targetingKey" if flag.stickiness == "user" else flag.stickiness
    split = [["on", share], ["off", 100 - share]]
    if flag.bucketing == "flagd-v3" and key == "targetingKey":
        # the shorthand: v3 hashes the CBOR array [flagKey, targetingKey]; without one flagd answers the default
        return {"if": [{"var": key}, {"fractional": split}, "off"]}
    fractional = {"fractional": [{"cat": [flag.name, {"var": key}]}, *split]}
    # Without a subject traitctl answers off below 100%; flagd would hash the flag name alone.
    return {"if": [{"!=": [{"var": key}, None]}, fractional, "off"]}
