"""A scenario as the plain arrays the compiled kernel reads: built once a run, in Python.

Per-case parameters come per regime (the rule sets the levers produce, `Regimes`), so the
kernel looks each one up by the regime of the case's arrival month; durations are table
rows (family, a, b, first, last) in the parameters the samplers take; capacity is each
pool's dated slot schedule (`sim.model.capacity`); the reporting clock is the month and
financial-year edges and the working-day table the metrics layer also uses.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from sim.engine.cases import ROUTES
from sim.engine.compiled.streams import (
    EMPIRICAL,
    EXPONENTIAL,
    FIXED,
    GAMMA,
    LOGNORMAL,
    key_words,
    sample_many,
)
from sim.engine.regimes import Regimes
from sim.model.capacity import capacity_schedule, sitting_schedule
from sim.model.demand import monthly_expected_cases
from sim.model.distributions import Distribution, Empirical, Exponential, Fixed, Gamma, LogNormal
from sim.model.scenario import POOLS, STREAMS, Scenario
from sim.model.timeline import Timeline

#: duration tables, in the order of `Tables.durations`' second axis
DURATIONS = ("assessment", "iopc_decision",
             *(f"effort.{p}.{s}" for p in POOLS for s in STREAMS),
             "cps_decision", "trial", "meeting", "hearing", "accelerated", "sitting")
D_ASSESS, D_REFER, D_EFFORT, D_CPS, D_TRIAL, D_MEETING, D_HEARING, D_ACCELERATED = (
    0, 1, 2, 8, 9, 10, 11, 12)
D_SITTING = 13
#: `Tables.referral` columns
R_INDEPENDENT, R_DIRECTED, R_LOCAL_PSU, R_LOCAL_DPS = 0, 1, 2, 3
#: `Tables.per_pool` rows
P_SUSPENDED, P_RESTRICTED, P_CPS, P_CASE_TO_ANSWER = 0, 1, 2, 3
#: the sitting row where hearings do not sit in rooms (never drawn)
_NO_SITTING = Fixed(dist="fixed", value=0.0)
PANELS = len(POOLS)  # the panels' schedule follows the pools' in `Tables.capacity_*`
ROOMS = PANELS + 1  # then the hearings that can sit at once (`sitting_schedule`)


class Tables(NamedTuple):
    """Everything the kernel reads about a scenario (regimes G, simulated months S, reported
    months M, financial years Y)."""

    expected: np.ndarray  # (2, S) expected cases per stream and simulated month
    extra_allegations: np.ndarray  # (2,) mean allegations per case less one
    regime_of_month: np.ndarray  # (S,) int
    month_edges: np.ndarray  # (S + 1,) day numbers of simulated months
    outcome_share: np.ndarray  # (G, 2, 6) assessment outcomes per stream
    referral: np.ndarray  # (G, 4) R_ columns
    per_pool: np.ndarray  # (G, 4, 3) P_ rows by pool
    cps: np.ndarray  # (G, 2) charge share, conviction share
    severity: np.ndarray  # (G, 3) PSU not-special share (complaints, conduct), IOPC gross
    route: np.ndarray  # (G, 2) meeting share, hearing share (gross misconduct)
    per_route: np.ndarray  # (G, 2, 3) proven, dismissed if proven, by route
    durations: np.ndarray  # (G, len(DURATIONS), 5) sampler rows
    has_empirical: bool  # some duration is empirical (drawn in a second pass)
    empirical_values: np.ndarray
    empirical_cumulative: np.ndarray
    capacity_times: np.ndarray  # (5, K) from times[k] the stage has slots[k]; padded with inf
    capacity_slots: np.ndarray  # (5, K) int
    capacity_steps: np.ndarray  # (5,) int: the steps of each schedule
    capacity_pace: np.ndarray  # (5, K) cases in hand at full pace (inf: slots only)
    capacity_shared: np.ndarray  # (5,) bool: the stage's cases in hand share its time
    capacity_reference: np.ndarray  # (5,) cases each at the stated effort (shared time)
    capacity_work_share: np.ndarray  # (5,) share of a case's time that follows the caseload
    has_sittings: bool  # hearings sit in rooms after their listing (ROOMS row in use)
    iopc_limit: float  # the IOPC takes a case while open < this x its slots (0: no limit)
    report_edges: np.ndarray  # (M + 1,) 0, then each reported month's end
    month_of_day: np.ndarray  # (ceil(horizon),) reported month of each day
    first_report_month: int  # simulated month of the first reported one
    horizon: float
    workday_first: int  # first day of the working-day table
    workday_cumulative: np.ndarray  # working days before each day from workday_first


def tables_for(scenario: Scenario, timeline: Timeline, regimes: Regimes) -> Tables:
    """The kernel's view of a scenario; computed once a run (`Regimes.cached`)."""
    rules = regimes.scenarios
    values: list[float] = []
    weights: list[float] = []
    durations = np.array([[_row(d, values, weights) for d in _durations(s)] for s in rules])
    times, slots, steps, pace, shared, reference, work_share = _capacity(scenario, timeline)
    report_edges = np.concatenate([[0.0], timeline.report_month_ends])
    days = np.arange(math.ceil(report_edges[-1]))
    workday_first, workday_cumulative = timeline.working_day_table
    return Tables(
        expected=np.array([monthly_expected_cases(getattr(scenario.demand, s), scenario,
                                                  timeline) for s in STREAMS]),
        extra_allegations=np.array([getattr(scenario.demand, s).allegations_per_case - 1.0
                                    for s in STREAMS]),
        regime_of_month=regimes.of_month.astype(np.int64),
        month_edges=timeline.month_edges.astype(float),
        outcome_share=np.array([[_outcomes(getattr(s.assessment, st)) for st in STREAMS]
                                for s in rules]),
        referral=np.array([[s.iopc_referral.independent, s.iopc_referral.directed,
                            s.iopc_referral.local_routing.psu, s.iopc_referral.local_routing.dps]
                           for s in rules]),
        per_pool=np.array([[[getattr(share, p) for p in POOLS] for share in
                            (s.officers.suspended, s.officers.restricted, s.cps.referral_share,
                             s.proceedings.case_to_answer)] for s in rules]),
        cps=np.array([[s.cps.charge_share, s.cps.conviction_share] for s in rules]),
        severity=np.array([[s.severity.local_not_special.complaints,
                            s.severity.local_not_special.conduct,
                            s.severity.iopc_gross_misconduct] for s in rules]),
        route=np.array([[s.proceedings.route.meeting, s.proceedings.route.hearing]
                        for s in rules]),
        per_route=np.array([[[getattr(share, r) for r in ROUTES]
                             for share in (s.proceedings.proven, s.proceedings.dismissed_if_proven)]
                            for s in rules]),
        durations=durations,
        has_empirical=bool(values),
        empirical_values=np.array(values or [0.0]),
        empirical_cumulative=np.array(weights or [1.0]),
        capacity_times=times, capacity_slots=slots, capacity_steps=steps,
        capacity_pace=pace, capacity_shared=shared, capacity_reference=reference,
        capacity_work_share=work_share,
        has_sittings=scenario.proceedings.sittings is not None,
        iopc_limit=float(scenario.iopc_referral.caseload_limit or 0.0),
        report_edges=report_edges,
        month_of_day=np.searchsorted(report_edges, days, side="right").astype(np.int64) - 1,
        first_report_month=len(timeline.month_starts) - len(timeline.report_months),
        horizon=float(timeline.horizon_days),
        workday_first=int(workday_first),
        workday_cumulative=workday_cumulative,
    )


def sample(distribution: Distribution, n: int, seed: int = 0) -> np.ndarray:
    """n draws of one duration by the kernel's own samplers (tests compare them with the
    distribution's declared moments)."""
    values: list[float] = []
    cumulative: list[float] = []
    row = np.array([[_row(distribution, values, cumulative)]])
    return sample_many(*key_words(seed), row,
                       np.array(values or [0.0]), np.array(cumulative or [1.0]), n)


def _durations(s: Scenario) -> list[Distribution]:
    effort = [getattr(getattr(s.pools, p).investigation_days, st) for p in POOLS for st in STREAMS]
    p = s.proceedings
    sitting = p.sittings.days if p.sittings is not None else _NO_SITTING
    return [s.assessment.time_days, s.iopc_referral.assessment_days, *effort,
            s.cps.decision_days, s.cps.trial_days, p.meeting_days, p.hearing_days,
            p.accelerated_days, sitting]


def _row(d: Distribution, values: list[float], cumulative: list[float]) -> list[float]:
    """A distribution as (family, a, b, first, last) in the samplers' parameters."""
    if isinstance(d, Fixed):
        return [FIXED, d.value, 0.0, 0.0, 0.0]
    if isinstance(d, Exponential):
        return [EXPONENTIAL, d.mean, 0.0, 0.0, 0.0]
    if isinstance(d, LogNormal):
        sigma2 = math.log1p(d.cv**2)
        return [LOGNORMAL, math.log(d.mean) - sigma2 / 2, math.sqrt(sigma2), 0.0, 0.0]
    if isinstance(d, Gamma):
        shape = 1.0 / d.cv**2
        return [GAMMA, shape, d.mean / shape, 0.0, 0.0]
    assert isinstance(d, Empirical)
    first = len(values)
    p = np.cumsum(d.probabilities())
    p /= p[-1]
    values.extend(float(v) for v in d.values)
    cumulative.extend(p.tolist())
    return [EMPIRICAL, 0.0, 0.0, float(first), float(len(values))]


def _outcomes(shares) -> list[float]:
    row = np.array([shares.outside_schedule3, shares.otherwise, shares.reflective_practice,
                    shares.psu, shares.dps, shares.iopc])
    return (row / row.sum()).tolist()


def _capacity(scenario: Scenario, timeline: Timeline) -> tuple[np.ndarray, ...]:
    """The pools', the panels' and the rooms' schedules, one row each (rooms: slots alone;
    with no sittings, a placeholder row the kernel never reads)."""
    capacities = [*(getattr(scenario.pools, p) for p in POOLS), scenario.proceedings.panels]
    schedules = [capacity_schedule(c, timeline) for c in capacities]
    sittings = scenario.proceedings.sittings
    room_times, room_slots = (sitting_schedule(sittings, scenario.proceedings.panels, timeline)
                              if sittings is not None
                              else (np.array([-math.inf]), np.zeros(1, dtype=np.int64)))
    schedules.append((room_times, room_slots, np.full(room_times.size, np.inf)))
    width = max(len(t) for t, _, _ in schedules)
    times = np.full((len(schedules), width), np.inf)
    slots = np.zeros((len(schedules), width), dtype=np.int64)
    pace = np.full((len(schedules), width), np.inf)
    for k, (t, n, q) in enumerate(schedules):
        times[k, :len(t)], slots[k, :len(n)], pace[k, :len(q)] = t, n, q
    return (times, slots, np.array([len(t) for t, _, _ in schedules], dtype=np.int64), pace,
            np.array([*(c.shares_time for c in capacities), False]),
            np.array([*(c.reference for c in capacities), 1.0], dtype=np.float64),
            np.array([*(c.investigator_work_share for c in capacities), 1.0], dtype=np.float64))
