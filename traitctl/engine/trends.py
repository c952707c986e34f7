"""Trend analysis of a metric series (pure): statistics, least-squares line, R², direction, forecast.

The shape of :meth:`Trend.as_dict` follows the queue-metrics seed's trend response::

    {"available": true, "period_seconds": 3600, "interval_seconds": 60, "data_points": 60,
     "statistics": {"current": 45, "average": 42.5, "min": 12, "max": 89, "std_dev": 15.3,
                    "volatility": 0.36},
     "trend": {"slope": 0.0234, "intercept": 40.1, "direction": "increasing", "confidence": 0.89},
     "forecast": {"next_value": 48.2, "next_timestamp": 1705420800}}

``slope`` is per second; ``confidence`` is R² (0-1). The direction is ``stable`` unless the fitted
line changes by more than :data:`DIRECTION_THRESHOLD` (5 %) of the mean over the period
(``|slope × period| > 0.05 × |mean|``); a series whose mean is 0 is judged on the absolute change
(``|slope × period| > 0.05``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from traitctl.engine.errors import InputError

#: relative change over the period above which a trend is increasing/decreasing.
DIRECTION_THRESHOLD = 0.05
#: fewer intervals with data than this give no trend (two points always fit a line exactly).
MIN_POINTS = 3


@dataclass(frozen=True)
class Fit:
    """A least-squares line ``y = slope * x + intercept`` and its R²."""

    slope: float
    intercept: float
    r_squared: float


@dataclass(frozen=True)
class Stats:
    """Summary of the values: the last one, mean, extremes, population standard deviation and
    volatility (standard deviation / |mean|, ``None`` when the mean is 0)."""

    current: float
    average: float
    min: float
    max: float
    std_dev: float
    volatility: float | None


@dataclass(frozen=True)
class Trend:
    """The analysis of one series over a period (see the module docstring for its JSON)."""

    period_seconds: float
    interval_seconds: float
    data_points: int
    stats: Stats
    fit: Fit
    direction: str
    next_value: float
    next_timestamp: float

    def as_dict(self) -> dict:
        """The seed-shaped JSON document."""
        return {"available": True, "period_seconds": self.period_seconds,
                "interval_seconds": self.interval_seconds, "data_points": self.data_points,
                "statistics": {"current": self.stats.current, "average": self.stats.average,
                               "min": self.stats.min, "max": self.stats.max, "std_dev": self.stats.std_dev,
                               "volatility": self.stats.volatility},
                "trend": {"slope": self.fit.slope, "intercept": self.fit.intercept,
                          "direction": self.direction, "confidence": self.fit.r_squared},
                "forecast": {"next_value": self.next_value, "next_timestamp": self.next_timestamp}}


def linear_fit(xs: Sequence[float], ys: Sequence[float]) -> Fit:
    """Ordinary least squares over pairs.

    R² is ``1 - SS_res / SS_tot``; for a constant series (``SS_tot = 0``) it is 1.0, since the
    flat line explains it exactly.

    :raises ValueError: with fewer than two points or all ``xs`` equal.
    """
    n = len(xs)
    if n < 2 or n != len(ys):
        raise ValueError("a line needs at least two (x, y) pairs")
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    if sxx == 0:
        raise ValueError("all x values are equal")
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys))
    slope = sxy / sxx
    intercept = mean_y - slope * mean_x
    ss_tot = sum((y - mean_y) ** 2 for y in ys)
    ss_res = sum((y - (slope * x + intercept)) ** 2 for x, y in zip(xs, ys))
    # A constant series leaves rounding noise (~1e-32 of y²) in SS_tot: treat that as zero.
    flat = ss_tot <= 1e-24 * sum(y * y for y in ys)
    r_squared = 1.0 if flat else max(0.0, 1.0 - ss_res / ss_tot)
    return Fit(slope, intercept, r_squared)


def statistics(values: Sequence[float]) -> Stats:
    """Current (last), average, min, max, population standard deviation and volatility.

    :raises ValueError: for no values.
    """
    if not values:
        raise ValueError("no values")
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    return Stats(values[-1], mean, min(values), max(values), std, None if mean == 0 else std / abs(mean))


def direction(slope: float, period: float, mean: float, threshold: float = DIRECTION_THRESHOLD) -> str:
    """``increasing``, ``decreasing`` or ``stable`` (see the module docstring for the rule).

    :param slope: change per second of the fitted line.
    :param period: seconds covered by the series.
    """
    change = slope * period
    scale = abs(mean) if mean else 1.0
    if change > threshold * scale:
        return "increasing"
    if change < -threshold * scale:
        return "decreasing"
    return "stable"


def analyse(points: Sequence[tuple[float, float]], *, period: float, interval: float,
            min_points: int = MIN_POINTS) -> Trend:
    """Analyse ``(bucket_start_epoch, value)`` pairs sorted by time.

    x values are seconds since the first bucket (keeps the intercept meaningful and the sums well
    conditioned); the intercept is the fitted value at the first bucket.

    :param period: seconds the analysis covers (for the direction rule and the report).
    :param interval: seconds per bucket; the forecast is for the bucket after the last one.
    :raises InputError: with fewer than ``min_points`` points, saying how many are needed.
    """
    if len(points) < min_points:
        raise InputError(f"Too few points for a trend: {len(points)} interval(s) with data, "
                         f"at least {min_points} needed. Widen --period or shorten --interval.")
    origin = points[0][0]
    xs = [t - origin for t, _ in points]
    ys = [v for _, v in points]
    fit = linear_fit(xs, ys)
    stats = statistics(ys)
    next_x = xs[-1] + interval
    return Trend(period, interval, len(points), stats, fit, direction(fit.slope, period, stats.average),
                 fit.slope * next_x + fit.intercept, origin + next_x)


def group_cells(cells: dict[tuple[int, int], list], group_of: dict[int, str]) -> dict[str, dict[int, list]]:
    """Merge per-series interval cells ``{(series_id, k): [count, sum, min, max]}`` into
    ``{group: {k: [count, sum, min, max]}}`` with ``group_of`` mapping series ids to groups."""
    out: dict[str, dict[int, list]] = {}
    for (sid, k), (n, total, lo, hi) in cells.items():
        slot = out.setdefault(group_of[sid], {})
        cell = slot.get(k)
        slot[k] = [n, total, lo, hi] if cell is None else [cell[0] + n, cell[1] + total,
                                                          min(cell[2], lo), max(cell[3], hi)]
    return out


def interval_values(kind: str, cells: dict[int, list], start: float, step: float,
                    count: int) -> list[tuple[float, float]]:
    """``(interval_start, value)`` per interval: a counter's sum (0 for an interval without
    points, which is a real zero), the mean of a gauge or timing (intervals without points left
    out, since nothing was measured).

    :param cells: ``{k: [count, sum, min, max]}`` as from :func:`group_cells`.
    :param count: how many intervals of ``step`` seconds follow ``start``.
    """
    out = []
    for k in range(count):
        cell = cells.get(k)
        if kind == "counter":
            out.append((start + k * step, cell[1] if cell else 0.0))
        elif cell and cell[0]:
            out.append((start + k * step, cell[1] / cell[0]))
    return out


def aligned_window(now: float, period: float, step: float) -> tuple[float, int]:
    """The first interval's start and the number of intervals covering ``period`` up to ``now``,
    aligned on multiples of ``step`` since the epoch (the last interval holds ``now``).

    :raises InputError: when the period is shorter than one interval or would need more than
        100,000 intervals.
    """
    if step <= 0 or period < step:
        raise InputError(f"The interval ({step:g}s) must be positive and no longer than the period ({period:g}s).")
    count = math.ceil(period / step)
    if count > 100_000:
        raise InputError(f"{count} intervals is too many: use a longer --interval.")
    last = math.floor(now / step) * step
    return last - (count - 1) * step, count
