"""A migration plan longer than the dates traitctl keeps (huge ``[migration]`` day counts, or a
start near 2200) is one sentence, exit 2, never a crash; a long plan is computed a week at a time,
with the same dates as counting day by day."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pytest

from tests.conftest import run_cli
from traitctl.engine.plan import Calendar

TOO_LONG = ("error: The migration plan would end after 2199-12-31: lower [migration] infra_days, days_per_batch or "
            "step_days (or --traits-per-day, --batch-size), or plan fewer traits or models.\n")


@pytest.mark.parametrize("old,new", [("days_per_batch = 1", "days_per_batch = 9999999"),
                                     ("step_days = 2", "step_days = 9999999999"),
                                     ("infra_days = 5 ", "infra_days = 100000000000000000000 ")])
def test_a_plan_past_2200_is_one_sentence(project: Path, config_file: Path, old: str, new: str):
    text = config_file.read_text()
    assert old in text
    config_file.write_text(text.replace(old, new, 1))
    result = run_cli("migrate-plan", "--start", "2026-12-01", cwd=project)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", TOO_LONG), result


def test_a_start_near_2200_is_one_sentence(project: Path):
    result = run_cli("migrate-plan", "--start", "2199-12-01", cwd=project)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", TOO_LONG), result


def _day_by_day(cal: Calendar, day: dt.date, n: int) -> dt.date:
    day = cal.first(day)
    for _ in range(n):
        day = cal.first(day + dt.timedelta(days=1))
    return day


def test_weeks_at_a_time_give_the_dates_of_counting_day_by_day():
    rng = random.Random(7)
    for _ in range(2000):
        start = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randint(0, 2000))
        holidays = frozenset(dt.date(2026, 1, 1) + dt.timedelta(days=rng.randint(0, 3000))
                             for _ in range(rng.randint(0, 60)))
        cal, n = Calendar(holidays), rng.randint(0, 400)
        assert cal.add(start, n) == _day_by_day(cal, start, n), (start, n, sorted(holidays))
