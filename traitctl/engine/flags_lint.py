"""``flags lint``: what is wrong or risky in a ``[flags]`` section. Pure.

Lives apart from :mod:`traitctl.engine.flags` (evaluation, what applications need) because it also
checks rollout plans (:mod:`traitctl.engine.rollout`), which depend on evaluation, not the reverse.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from traitctl.engine import rollout
from traitctl.engine.flags import problems


def lint(flags: Mapping[str, Any], override_flags: Mapping[str, int]) -> list[str]:
    """Findings for ``flags lint``: broken tables, schedules, guards, overrides of unknown flags,
    and the ``crc32-seed`` off-by-one.

    :param flags: the raw ``[flags]`` section.
    :param override_flags: flag name -> number of stored overrides.
    """
    found: list[str] = []
    for name, table in flags.items():
        found += problems(name, table)
        if isinstance(table, Mapping):
            found += rollout.schedule_problems(name, table.get("schedule", []))
            found += rollout.guard_problems(name, table.get("guard"))
            found += _seed_warnings(name, table)
    found += [f"{count} override(s) for unknown flag {name!r} in the store: clear them with "
              f"`traitctl flags clear-override {name} --all`." for name, count in override_flags.items()
              if name not in flags]
    return found


def _seed_warnings(name: str, table: Mapping[str, Any]) -> list[str]:
    tables = [("", table)] + [(f".tenants.{t}", o) for t, o in (table.get("tenants") or {}).items()
                              if isinstance(o, Mapping)]
    found = []
    for where, sub in tables:
        if sub.get("bucketing", table.get("bucketing")) == "crc32-seed":
            pct = sub.get("percentage", table.get("percentage"))
            found.append(f"flags.{name}{where} uses crc32-seed, which turns on p+1 of 100 buckets "
                         f"(percentage {pct} lets {_seed_share(pct)}% in; 0 means the switch decides): "
                         "switch to crc32 once the application no longer runs the seed code.")
    return found


def _seed_share(pct: Any) -> str:
    if not isinstance(pct, int) or isinstance(pct, bool) or pct <= 0:
        return "0 or 100"
    return str(min(100, pct + 1))
