"""Server-rendered SVG charts: a series, its least-squares trend line and the next interval's
forecast. Pure: returns coordinates for the template (which escapes everything it prints)."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH, HEIGHT, PAD = 600, 160, 28


@dataclass(frozen=True)
class Chart:
    """What ``chart.svg.html`` draws: polyline points, the trend line, the forecast dot, axis labels."""

    line: str
    trend: tuple[float, float, float, float] | None
    forecast: tuple[float, float] | None
    y_min: float
    y_max: float
    empty: bool


def build(points: list[dict], trend: dict | None) -> Chart:
    """Scale ``[{ts, value}]`` and the ``metrics trends`` document (``trend.slope`` per second,
    ``intercept`` at the first interval, ``forecast``) into the SVG box."""
    if not points:
        return Chart("", None, None, 0.0, 0.0, True)
    xs = [p["ts"] for p in points]
    ys = [p["value"] for p in points]
    x0 = xs[0]
    x1 = trend["forecast"]["next_timestamp"] if trend else xs[-1]
    x1 = max(x1, x0 + 1)
    extra = [trend["forecast"]["next_value"]] if trend else []
    lo, hi = min(ys + extra), max(ys + extra)
    if hi == lo:
        lo, hi = lo - 1, hi + 1

    def sx(x: float) -> float:
        return round(PAD + (x - x0) / (x1 - x0) * (WIDTH - 2 * PAD), 1)

    def sy(y: float) -> float:
        return round(HEIGHT - PAD - (y - lo) / (hi - lo) * (HEIGHT - 2 * PAD), 1)

    line = " ".join(f"{sx(x)},{sy(y)}" for x, y in zip(xs, ys))
    fit = forecast = None
    if trend:
        slope, intercept = trend["trend"]["slope"], trend["trend"]["intercept"]
        first = xs[0]
        fit = (sx(first), sy(intercept), sx(xs[-1]), sy(intercept + slope * (xs[-1] - first)))
        forecast = (sx(trend["forecast"]["next_timestamp"]), sy(trend["forecast"]["next_value"]))
    return Chart(line, fit, forecast, lo, hi, False)
