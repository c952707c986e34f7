"""Server health from a resource snapshot (pure): thresholds -> ok / warning / critical.

The defaults are the queue-metrics seed's: CPU 70/90 %, memory 80/90 %, disk 85/95 % (per mount),
load per core 1.5/2.0. A value *above* the warning level is a warning, above the critical level
critical. ``[telemetry.server]`` in the configuration overrides them, e.g.
``cpu_percent = { warning = 60, critical = 85 }``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from traitctl.engine.errors import ValidationError

#: check -> (warning, critical).
DEFAULT_THRESHOLDS: dict[str, tuple[float, float]] = {
    "cpu_percent": (70.0, 90.0),
    "memory_percent": (80.0, 90.0),
    "disk_percent": (85.0, 95.0),
    "load_per_core": (1.5, 2.0),
}
STATUS_ORDER = ("ok", "warning", "critical")


@dataclass(frozen=True)
class Check:
    """One threshold check: ``subject`` names the mount for disks, else the resource."""

    name: str
    subject: str
    value: float
    warning: float
    critical: float
    status: str


def thresholds_from(section: Mapping[str, Any] | None) -> dict[str, tuple[float, float]]:
    """The thresholds with ``[telemetry.server]`` overrides applied.

    :param section: the ``[telemetry.server]`` table (or ``None``).
    :raises ValidationError: naming the key for an unknown check, a non-number or warning > critical.
    """
    out = dict(DEFAULT_THRESHOLDS)
    for key, value in (section or {}).items():
        where = f"telemetry -> server -> {key}"
        if key not in out:
            raise ValidationError(f"{where}: unknown check; use {', '.join(DEFAULT_THRESHOLDS)}.")
        if not isinstance(value, Mapping):
            raise ValidationError(f"{where}: write {{ warning = N, critical = M }}.")
        warning, critical = value.get("warning", out[key][0]), value.get("critical", out[key][1])
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                   for v in (warning, critical)):
            raise ValidationError(f"{where}: warning and critical must be finite numbers.")
        if warning > critical:
            raise ValidationError(f"{where}: warning ({warning}) is above critical ({critical}).")
        out[key] = (float(warning), float(critical))
    return out


def status(value: float, warning: float, critical: float) -> str:
    """``critical`` above ``critical``, ``warning`` above ``warning``, else ``ok``."""
    if value > critical:
        return "critical"
    if value > warning:
        return "warning"
    return "ok"


def evaluate(snapshot: Mapping[str, Any], thresholds: Mapping[str, tuple[float, float]]) -> list[Check]:
    """Checks for a snapshot shaped ``{"cpu": {"percent", "cores", "load": [1m, 5m, 15m]},
    "memory": {"percent"}, "disks": [{"mount", "percent"}]}``.

    Load is judged per core on the 1-minute average.
    """
    cpu, memory = snapshot.get("cpu", {}), snapshot.get("memory", {})
    values = [("cpu_percent", "cpu", cpu.get("percent")), ("memory_percent", "memory", memory.get("percent"))]
    load, cores = cpu.get("load") or [], cpu.get("cores") or 0
    if load and cores:
        values.append(("load_per_core", "load 1m", load[0] / cores))
    values += [("disk_percent", disk["mount"], disk.get("percent")) for disk in snapshot.get("disks", [])]
    checks = []
    for name, subject, value in values:
        if value is None:
            continue
        warning, critical = thresholds[name]
        checks.append(Check(name, subject, round(float(value), 3), warning, critical,
                            status(float(value), warning, critical)))
    return checks


def overall(checks: list[Check]) -> str:
    """The worst status among ``checks`` (``ok`` for none)."""
    return max((c.status for c in checks), key=STATUS_ORDER.index, default="ok")
