"""Arrivals: monthly Poisson intensities from the scenario, scaled by officer numbers.

Within a month the rate is constant (the steps in force at the month's midpoint), so
arrivals are a Poisson count per month placed uniformly in the month: exact for a
piecewise-constant rate.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable

import numpy as np

from sim.model.levers import lever_fraction
from sim.model.scenario import Demand, Scenario, StreamDemand
from sim.model.timeline import DAYS_PER_YEAR, Timeline


def headcount(demand: Demand) -> Callable[[dt.date], float]:
    """Officers on a day: linear between the given points, flat beyond them (the points
    read once: a run with a parameter draw per replication asks for every month of each)."""
    xs = np.array([p.date.toordinal() for p in demand.officers], dtype=float)
    ys = np.array([p.officers for p in demand.officers], dtype=float)
    return lambda day: float(np.interp(day.toordinal(), xs, ys))


def month_midpoints(timeline: Timeline) -> list[dt.date]:
    edges = timeline.month_edges
    return [timeline.date((a + b) / 2) for a, b in itertools.pairwise(edges)]


INEXPERIENCE_DAYS = 730  # "inexperienced": in the first two years of service


def inexperienced_share(officers_on: Callable[[dt.date], float], day: dt.date) -> float:
    """Net growth in headcount over the last two years, as a share of today's headcount."""
    now = officers_on(day)
    before = officers_on(day - dt.timedelta(days=INEXPERIENCE_DAYS))
    return max(0.0, now - before) / now


def officer_multiplier(scenario: Scenario, timeline: Timeline) -> np.ndarray:
    """Demand multiplier per month from officer numbers and their inexperience.

    (officers / officers at the start) ** elasticity, times (1 + x g) / (1 + x g_start)
    where g is the share of officers who are net new in two years and x the extra
    complaints an inexperienced officer draws. The rate schedule is demand at the start
    date's headcount, so the multiplier is 1 before the start (the warm-up replays history).
    """
    d = scenario.demand
    officers_on = headcount(d)
    base = officers_on(scenario.start)
    base_new = 1 + d.inexperience_extra * inexperienced_share(officers_on, scenario.start)
    out = []
    for mid in month_midpoints(timeline):
        if mid < scenario.start:
            out.append(1.0)
            continue
        size = (officers_on(mid) / base) ** d.elasticity
        new = 1 + d.inexperience_extra * inexperienced_share(officers_on, mid)
        out.append(size * new / base_new)
    return np.array(out)


def monthly_expected_cases(
    stream: StreamDemand, scenario: Scenario, timeline: Timeline
) -> np.ndarray:
    """Expected arrivals in each simulated month."""
    lengths = np.diff(timeline.month_edges)
    per_day = rates_by_month(stream, timeline) * 12 / DAYS_PER_YEAR
    return per_day * lengths * officer_multiplier(scenario, timeline)


def rates_by_month(stream: StreamDemand, timeline: Timeline) -> np.ndarray:
    """The rate (cases in an average month) in force at each simulated month's midpoint; a
    step with `ramp_months` moves from the rate before it linearly, month by month,
    reaching its own value in the ramp's last month (as a lever's ramp does)."""
    steps = stream.cases_per_month
    mid_days = (timeline.month_edges[:-1] + timeline.month_edges[1:]) / 2
    which = timeline.step_in_force(steps, mid_days)
    rates = np.array([s.value for s in steps], dtype=float)[which]
    if not any(s.ramp_months for s in steps):
        return rates
    for k, (j, mid) in enumerate(zip(which, month_midpoints(timeline), strict=True)):
        step = steps[j]
        if j == 0 or not step.ramp_months or mid < step.from_:
            continue
        months_in = (mid.year - step.from_.year) * 12 + mid.month - step.from_.month
        f = lever_fraction(0, step.ramp_months, months_in)
        before = steps[j - 1].value
        rates[k] = before + (step.value - before) * f
    return rates


def place_in_months(
    counts: np.ndarray, timeline: Timeline, rng: np.random.Generator
) -> np.ndarray:
    """Sorted arrival days for `counts[k]` cases uniform in month k."""
    edges = timeline.month_edges
    month = np.repeat(np.arange(len(counts)), counts)
    lo, width = edges[:-1][month], np.diff(edges)[month]
    days = lo + rng.random(month.size) * width
    days.sort()
    return days
