"""Trend analysis and server thresholds (pure engine)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from traitctl.engine import serverstats, trends
from traitctl.engine.errors import InputError, ValidationError

finite = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False)


@given(finite, finite, st.integers(min_value=3, max_value=40))
def test_exact_line_is_recovered_with_full_confidence(slope, intercept, n):
    xs = [float(i * 60) for i in range(n)]
    fit = trends.linear_fit(xs, [slope * x + intercept for x in xs])
    assert fit.slope == pytest.approx(slope, abs=1e-6)
    assert fit.intercept == pytest.approx(intercept, abs=1e-3)
    assert fit.r_squared == pytest.approx(1.0, abs=1e-6)


def test_fit_of_noise_has_low_confidence_and_known_values():
    fit = trends.linear_fit([0, 1, 2, 3], [1, 3, 2, 4])
    assert (fit.slope, fit.intercept) == (pytest.approx(0.8), pytest.approx(1.3))
    assert fit.r_squared == pytest.approx(0.64)


def test_statistics():
    s = trends.statistics([2, 4, 4, 4, 5, 5, 7, 9])
    assert (s.current, s.average, s.min, s.max, s.std_dev) == (9, 5, 2, 9, 2.0)
    assert s.volatility == pytest.approx(0.4)
    assert trends.statistics([0, 0]).volatility is None


def test_direction_threshold_is_five_percent_of_the_mean_over_the_period():
    # mean 100 over 1000 s: the line must move more than 5 (slope 0.005/s) to count.
    assert trends.direction(0.0051, 1000, 100) == "increasing"
    assert trends.direction(0.0049, 1000, 100) == "stable"
    assert trends.direction(-0.0051, 1000, -100) == "decreasing"
    assert trends.direction(0.0001, 1000, 0) == "increasing"  # mean 0: absolute change 0.1 > 0.05


def test_analyse_shape_forecast_and_too_few_points():
    points = [(1000.0 + 60 * i, 10.0 + 2 * i) for i in range(5)]
    doc = trends.analyse(points, period=300, interval=60).as_dict()
    assert doc["available"] is True and doc["data_points"] == 5
    assert doc["statistics"]["current"] == 18.0 and doc["statistics"]["average"] == 14.0
    assert doc["trend"]["direction"] == "increasing" and doc["trend"]["confidence"] == pytest.approx(1.0)
    assert doc["forecast"] == {"next_value": pytest.approx(20.0), "next_timestamp": 1300.0}
    with pytest.raises(InputError, match="2 interval\\(s\\) with data, at least 3 needed"):
        trends.analyse(points[:2], period=300, interval=60)


def test_interval_values_counters_fill_zeros_gauges_skip_gaps():
    cells = {0: [2, 5.0, 1, 4], 2: [1, 3.0, 3, 3]}
    assert trends.interval_values("counter", cells, 0, 60, 3) == [(0, 5.0), (60, 0.0), (120, 3.0)]
    assert trends.interval_values("gauge", cells, 0, 60, 3) == [(0, 2.5), (120, 3.0)]


def test_aligned_window():
    start, count = trends.aligned_window(now=3725.0, period=3600, step=60)
    assert (start, count) == (3720.0 - 59 * 60, 60)
    with pytest.raises(InputError):
        trends.aligned_window(now=0, period=30, step=60)


def test_group_cells_merges_series():
    merged = trends.group_cells({(1, 0): [1, 2.0, 2, 2], (2, 0): [2, 3.0, 1, 2], (3, 1): [1, 1.0, 1, 1]},
                                {1: "a", 2: "a", 3: "b"})
    assert merged == {"a": {0: [3, 5.0, 1, 2]}, "b": {1: [1, 1.0, 1, 1]}}


SNAPSHOT = {"cpu": {"percent": 75.0, "cores": 2, "load": [4.2, 1.0, 1.0]}, "memory": {"percent": 50.0},
            "disks": [{"mount": "/", "percent": 96.0}, {"mount": "/data", "percent": 85.0}]}


def test_seed_thresholds_give_statuses():
    checks = {(c.name, c.subject): c.status for c in serverstats.evaluate(SNAPSHOT, serverstats.DEFAULT_THRESHOLDS)}
    assert checks == {("cpu_percent", "cpu"): "warning", ("memory_percent", "memory"): "ok",
                      ("load_per_core", "load 1m"): "critical", ("disk_percent", "/"): "critical",
                      ("disk_percent", "/data"): "ok"}  # 85 is not above 85
    assert serverstats.overall(serverstats.evaluate(SNAPSHOT, serverstats.DEFAULT_THRESHOLDS)) == "critical"
    assert serverstats.overall([]) == "ok"


def test_thresholds_configurable_and_validated():
    custom = serverstats.thresholds_from({"cpu_percent": {"warning": 60, "critical": 80}})
    assert custom["cpu_percent"] == (60.0, 80.0) and custom["disk_percent"] == (85.0, 95.0)
    for bad, message in [({"gpu": {}}, "unknown check"), ({"cpu_percent": 5}, "warning = N"),
                         ({"cpu_percent": {"warning": "x"}}, "must be finite numbers"),
                         ({"cpu_percent": {"warning": 95}}, "above critical")]:
        with pytest.raises(ValidationError, match=message):
            serverstats.thresholds_from(bad)
    assert math.isclose(serverstats.evaluate({"cpu": {"percent": 1, "cores": 4, "load": [2.0]}},
                                             serverstats.DEFAULT_THRESHOLDS)[1].value, 0.5)
