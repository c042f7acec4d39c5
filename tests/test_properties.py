"""Properties of every engine over random valid scenarios (Hypothesis).

Scenarios are small (one or two years, a few dozen cases a month, a handful of slots) so an
example runs in well under a second, but every number is drawn: demand and its steps,
routing shares, every duration's distribution (zero-length fixed ones included), staff
steps that rise, fall or drop to nothing, caseloads, training lags and a ramped lever.

What must hold for each engine and each example:

- conservation per pool: every case that entered a pool (warm-up included) is either
  finished or open at the end, `{pool}.open.end`; and month by month the open stock moves
  by exactly the cases entering less the cases finishing;
- no stage runs backwards (no negative duration), and no more cases are with investigators
  at once than the pool has slots;
- every metric is finite, except a mean or share over events that did not happen in the
  period: that one is NaN, and NaN only then. The rule: counts, flows, stocks, time-averages
  and costs are always finite; `*.wait_days.mean`, `*.duration_wd.mean`, `iopc.*.share` and
  `*.open_age_days.mean_end` are NaN exactly when no case contributes to them.

The default run tries a few examples per engine; `-m slow` tries many more.
"""

from __future__ import annotations

import copy
import datetime as dt

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.engine.cases import (
    ACCELERATED,
    DPS,
    GROSS_MISCONDUCT,
    HEARING,
    MEETING,
    MISCONDUCT,
    NO_POOL,
    NO_ROUTE,
    NO_SEVERITY,
    NOT_HELD,
    NOT_SPECIAL,
    POOL_CODE,
    PSU,
    SEVERITIES,
    SUSPENDED,
)
from sim.engine.engines import case_records
from sim.engine.metrics import measure
from sim.engine.records import TIME_FIELDS
from sim.model.capacity import sitting_schedule, slot_schedule
from sim.model.scenario import POOLS, STREAMS, Scenario, scenario_from_dict
from sim.model.timeline import DAYS_PER_YEAR, Timeline
from tests.conftest import baseline_dict

ENGINES = ("des", "compiled")
FAST = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])

# ----------------------------------------------------------------------------- scenarios

share = st.floats(0, 1)


def simplex(keys: list[str]) -> st.SearchStrategy[dict[str, float]]:
    """Shares over `keys` that sum to 1 (some of them often exactly 0)."""
    weights = st.lists(st.sampled_from([0, 0, 1, 2, 5, 13]), min_size=len(keys),
                       max_size=len(keys)).filter(lambda w: sum(w) > 0)
    return weights.map(lambda w: {k: x / sum(w) for k, x in zip(keys, w, strict=True)})


def distribution(most: float) -> st.SearchStrategy[dict]:
    mean = st.floats(0.5, most)
    return st.one_of(
        st.builds(lambda v: {"dist": "fixed", "value": v}, st.sampled_from([0.0, 1.0, most / 2])),
        st.builds(lambda m: {"dist": "exponential", "mean": m}, mean),
        st.builds(lambda k, m, cv: {"dist": k, "mean": m, "cv": cv},
                  st.sampled_from(["lognormal", "gamma"]), mean, st.floats(0.1, 2.0)),
        st.builds(lambda v: {"dist": "empirical", "values": v},
                  st.lists(st.floats(0, most), min_size=1, max_size=4)),
    )


def steps(first: st.SearchStrategy[float], later: st.SearchStrategy[float]):
    """One or two dated steps; the second falls somewhere in the warm-up or the horizon."""
    second = st.tuples(st.dates(dt.date(2020, 5, 1), dt.date(2022, 12, 1)), later)
    return st.tuples(first, st.none() | second).map(
        lambda fs: [{"from": "2018-04-01", "value": fs[0]}]
        + ([{"from": fs[1][0].isoformat(), "value": fs[1][1]}] if fs[1] else []))


def capacity(most_staff: int) -> st.SearchStrategy[dict]:
    # at least one slot at first (staff >= 2, cases_per_staff >= 0.5); later it may vanish
    return st.fixed_dictionaries({
        "staff": steps(st.integers(2, most_staff).map(float), st.integers(0, most_staff)
                       .map(float)),
        "cases_per_staff": st.floats(0.5, 3.0),
        "training_lag_days": st.sampled_from([0.0, 30.0, 200.0]),
    })


def pool() -> st.SearchStrategy[dict]:
    return st.builds(lambda c, a, b: {**c, "investigation_days": {"complaints": a,
                                                                 "conduct": b}},
                     capacity(12), distribution(150), distribution(150))


def per_pool(values=share) -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(dict.fromkeys(POOLS, values))


@st.composite
def scenarios(draw) -> Scenario:
    d = copy.deepcopy(baseline_dict())  # the structure; every number below is drawn
    d.pop("earlier_rules")  # the Met's past: not part of a drawn system
    d["horizon_years"] = draw(st.sampled_from([1, 2]))
    d["warmup_years"] = draw(st.sampled_from([0.0, 0.25, 1.0]))
    demand = d["demand"]
    demand["complaints"]["cases_per_month"] = draw(steps(st.floats(0, 40), st.floats(0, 40)))
    demand["conduct"]["cases_per_month"] = draw(steps(st.floats(0, 8), st.floats(0, 8)))
    for stream in STREAMS:
        demand[stream]["allegations_per_case"] = draw(st.floats(1, 3))
    demand["elasticity"] = draw(st.floats(0, 2))
    demand["inexperience_extra"] = draw(st.floats(0, 1))
    outcomes = ["outside_schedule3", "otherwise", "reflective_practice", "psu", "dps", "iopc"]
    d["assessment"] = {"time_days": draw(distribution(30)),
                       **{s: draw(simplex(outcomes)) for s in STREAMS}}
    d["severity"] = {"local_not_special": {s: draw(share) for s in STREAMS},
                     "iopc_gross_misconduct": draw(share)}
    d["iopc_referral"] = {"assessment_days": draw(distribution(30)),
                          **draw(simplex(["independent", "directed", "local"])),
                          "local_routing": draw(simplex(["psu", "dps", "none"]))}
    d["pools"] = {p: draw(pool()) for p in POOLS}
    d["cps"] = {"referral_share": draw(per_pool()), "decision_days": draw(distribution(90)),
                "charge_share": draw(share), "trial_days": draw(distribution(120)),
                "conviction_share": draw(share)}
    outcome = st.fixed_dictionaries(dict.fromkeys(("meeting", "hearing", "accelerated"), share))
    d["proceedings"] = {
        "case_to_answer": draw(per_pool()),
        "route": draw(simplex(["meeting", "hearing", "accelerated"])),
        "meeting_days": draw(distribution(60)), "hearing_days": draw(distribution(90)),
        "accelerated_days": draw(distribution(30)), "panels": draw(capacity(4)),
        "sittings": draw(st.none() | st.fixed_dictionaries({
            "rooms": steps(st.integers(1, 3).map(float), st.integers(0, 3).map(float)),
            "days": distribution(10)})),
        "proven": draw(outcome), "dismissed_if_proven": draw(outcome)}
    suspended = draw(per_pool(st.floats(0, 0.5)))
    d["officers"] = {"suspended": suspended,
                     "restricted": draw(per_pool(st.floats(0, 0.5))),
                     "cost_per_officer_year_gbp": draw(st.floats(1_000, 100_000))}
    d["levers"] = draw(st.none() | st.builds(
        lambda v, ramp: [{"name": "charging", "from": "2021-07-01", "ramp_months": ramp,
                          "set": {"cps.charge_share": v}}], share, st.integers(0, 3))) or []
    return scenario_from_dict(d, source="hypothesis")


# ----------------------------------------------------------------------------- checks


def simulate(scenario: Scenario, engine: str, seed: int, reps: int = 2):
    timeline = Timeline.for_scenario(scenario)
    records = case_records(engine, scenario, timeline, seed, range(reps))
    return timeline, records, measure(records, scenario, timeline)


def check_conservation(scenario, timeline, rec, measured) -> None:
    horizon = timeline.horizon_days
    edges = np.concatenate([[0.0], timeline.report_month_ends])
    for name in POOLS:
        for r in range(rec.n_reps):
            mine = (rec.pool == POOL_CODE[name]) & (rec.rep == r)
            queued, ended = rec.inv_queued[mine], rec.inv_end[mine]
            entered, finished = np.sum(~np.isnan(queued)), np.sum(~np.isnan(ended))
            open_end = measured.summary[f"{name}.open.end"][r]
            assert entered == finished + open_end, (
                f"{name} rep {r}: {entered} entered, {finished} finished, {open_end} open")
            assert np.all(np.isnan(queued) | (queued < horizon))
            # month by month: open(m) = open(m - 1) + entered in m - finished in m
            before = np.sum((queued < 0) & ~(ended < 0))
            ins = np.histogram(queued[queued >= 0], edges)[0]
            outs = np.histogram(ended[ended >= 0], edges)[0]
            expected = before + np.cumsum(ins) - np.cumsum(outs)
            np.testing.assert_array_equal(measured.monthly[f"{name}.open"][r], expected,
                                          err_msg=f"{name} rep {r} monthly open stock")
            completed = measured.summary[f"{name}.completed_per_year"][r]
            years = horizon / DAYS_PER_YEAR
            assert np.isclose(completed * years, outs.sum()), name


def check_no_negative_durations(scenario, timeline, rec) -> None:
    times = np.stack([rec.columns[f] for f in TIME_FIELDS], axis=1)
    seen = times[~np.isnan(times)]
    assert np.all(seen >= -timeline.warmup_days) and np.all(seen < timeline.horizon_days)
    earlier = np.fmax.accumulate(times[:, :-1], axis=1)  # latest stage so far, NaN skipped
    later = times[:, 1:]
    both = ~np.isnan(earlier) & ~np.isnan(later)
    assert np.all(later[both] >= earlier[both]), "a stage ends before an earlier one"
    for late, early in (("inv_start", "inv_queued"), ("inv_end", "inv_start"),
                        ("hearing_start", "hearing_queued"),
                        ("sitting_start", "sitting_queued"), ("assessed", "arrival")):
        a, b = rec.columns[late], rec.columns[early]
        assert np.all(np.isnan(a) | ~np.isnan(b)), f"{late} without {early}"


def check_capacity(scenario, timeline, rec) -> None:
    """At every start, the cases with an investigator fit in the slots open then, and the
    hearings sitting fit in the rooms (and chairs) open then."""
    stages = [(name, slot_schedule(getattr(scenario.pools, name), timeline),
               rec.pool == POOL_CODE[name], rec.inv_start, rec.inv_end) for name in POOLS]
    sittings = scenario.proceedings.sittings
    if sittings is not None:
        stages.append(("rooms", sitting_schedule(sittings, scenario.proceedings.panels,
                                                 timeline),
                       rec.route == HEARING, rec.sitting_start, rec.proceedings_end))
    for name, (times, slots), in_stage, starts, ends in stages:
        for r in range(rec.n_reps):
            mine = in_stage & (rec.rep == r)
            start = starts[mine]
            start = np.sort(start[~np.isnan(start)])
            end = np.sort(np.where(np.isnan(ends[mine]), np.inf, ends[mine]))
            busy = np.searchsorted(start, start, "right") - np.searchsorted(end, start, "right")
            k = np.searchsorted(times, start, "right") - 1
            k_before = np.searchsorted(times, start, "left") - 1
            allowed = np.maximum(slots[k], slots[np.maximum(k_before, 0)])
            assert np.all(busy <= allowed), f"{name}: more cases in progress than slots"


def check_severity(rec, measured) -> None:
    """S-11's rules, case by case: DPS cases are gross misconduct, PSU cases misconduct or
    not subject to special procedures; a case not subject to special procedures has no
    officer held, no CPS file and no proceedings; a misconduct case to answer goes to a
    meeting (unless a conviction sends it to an accelerated hearing); only gross misconduct
    suspends."""
    investigated = rec.pool != NO_POOL
    assert np.all((rec.severity == NO_SEVERITY) == ~investigated)
    assert np.all(rec.severity[rec.pool == DPS] == GROSS_MISCONDUCT)
    assert np.all(rec.severity[rec.pool == PSU] != GROSS_MISCONDUCT)
    plain = rec.severity == NOT_SPECIAL
    assert np.all(rec.officer[plain] == NOT_HELD)
    assert np.all(rec.route[plain] == NO_ROUTE)
    assert np.all(np.isnan(rec.cps_decided[plain]))
    misconduct = rec.severity == MISCONDUCT
    assert np.all(np.isin(rec.route[misconduct], (NO_ROUTE, MEETING, ACCELERATED)))
    assert np.all(rec.convicted[misconduct & (rec.route == ACCELERATED)])
    assert np.all(rec.severity[rec.officer == SUSPENDED] == GROSS_MISCONDUCT)
    for code, name in enumerate(SEVERITIES):
        opened = measured.monthly[f"{name}.opened"].sum(axis=1)
        seen = [np.sum((rec.rep == r) & (rec.severity == code) & (rec.inv_queued >= 0))
                for r in range(rec.n_reps)]
        np.testing.assert_array_equal(opened, seen, err_msg=name)


def ratio_events(timeline, rec, measured) -> dict[str, np.ndarray]:
    """For each mean or share metric: how many cases it averages over, per replication."""
    lo, hi = 0.0, timeline.horizon_days

    def count(t, mask) -> np.ndarray:
        ok = mask & (t >= lo) & (t < hi)
        return np.bincount(rec.rep[ok], minlength=rec.n_reps)

    out = {}
    hearing = rec.route == HEARING
    out["hearings.wait_days.mean"] = count(rec.hearing_start, hearing)
    out["hearings.time_days.mean"] = count(rec.proceedings_end, hearing)
    out["hearings.room_wait_days.mean"] = count(rec.sitting_start, hearing)
    for name in POOLS:
        mine = rec.pool == POOL_CODE[name]
        out[f"{name}.wait_days.mean"] = count(rec.inv_start, mine)
        out[f"{name}.open_age_days.mean_end"] = measured.summary[f"{name}.open.end"]
    for name in ("dps", "psu"):
        mine = rec.pool == POOL_CODE[name]
        out[f"{name}.duration_wd.mean"] = count(rec.finalised, mine)
        for s, stream in enumerate(STREAMS):
            out[f"{name}.{stream}.duration_wd.mean"] = count(rec.finalised,
                                                            mine & (rec.stream == s))
    met = np.isin(rec.pool, [POOL_CODE["dps"], POOL_CODE["psu"]])
    out["met.duration_wd.mean"] = count(rec.finalised, met)
    for s, stream in enumerate(STREAMS):
        out[f"met.{stream}.duration_wd.mean"] = count(rec.finalised, met & (rec.stream == s))
    iopc = rec.pool == POOL_CODE["iopc"]
    for metric in ("iopc.duration_wd.mean", "iopc.within_12m.share", "iopc.over_18m.share"):
        out[metric] = count(rec.inv_end, iopc)
    return out


def is_ratio(metric: str) -> bool:
    """A mean or share over events (NaN when there are none), by its name; time-averages of
    officers are means over time, always defined."""
    return metric.endswith((".mean", ".share", ".mean_end")) and not metric.startswith(
        ("officers.", "cost."))


def check_metrics_finite(timeline, rec, measured) -> None:
    ratios = ratio_events(timeline, rec, measured)
    for metric, values in measured.summary.items():
        if metric in ratios:
            np.testing.assert_array_equal(np.isnan(values), ratios[metric] == 0,
                                          err_msg=f"{metric}: NaN exactly when no case counts")
        elif not is_ratio(metric):
            assert np.all(np.isfinite(values)), f"{metric} is not finite: {values}"
        assert not np.any(values[~np.isnan(values)] < 0), f"{metric} is negative"
    for metric, values in measured.monthly.items():
        assert np.all(np.isfinite(values)) and np.all(values >= 0), metric
    for metric, values in measured.yearly.items():
        if not is_ratio(metric):
            assert np.all(np.isfinite(values)), f"yearly {metric} is not finite"
        assert not np.any(values[~np.isnan(values)] < 0), f"yearly {metric} is negative"


def check_everything(scenario: Scenario, engine: str, seed: int) -> None:
    timeline, rec, measured = simulate(scenario, engine, seed)
    check_conservation(scenario, timeline, rec, measured)
    check_no_negative_durations(scenario, timeline, rec)
    check_capacity(scenario, timeline, rec)
    check_severity(rec, measured)
    check_metrics_finite(timeline, rec, measured)


@pytest.mark.parametrize("engine", ENGINES)
@FAST
@given(scenario=scenarios(), seed=st.integers(0, 2**32))
def test_engine_properties(engine: str, scenario: Scenario, seed: int) -> None:
    check_everything(scenario, engine, seed)


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
@SLOW
@given(scenario=scenarios(), seed=st.integers(0, 2**32))
def test_engine_properties_many(engine: str, scenario: Scenario, seed: int) -> None:
    check_everything(scenario, engine, seed)


@pytest.mark.parametrize("engine", ENGINES)
def test_no_demand_gives_zeros_and_nan_means(engine: str) -> None:
    """The edge the NaN rule is for: nothing arrives, so every count is 0, every mean NaN."""
    d = copy.deepcopy(baseline_dict())
    d["horizon_years"], d["warmup_years"] = 1, 0.0
    for stream in STREAMS:
        d["demand"][stream]["cases_per_month"] = [{"from": "2018-04-01", "value": 0.0}]
    s = scenario_from_dict(d)
    timeline, rec, measured = simulate(s, engine, seed=3)
    assert rec.rep.size == 0
    check_metrics_finite(timeline, rec, measured)
    assert measured.summary["psu.open.end"].tolist() == [0.0, 0.0]
    assert np.all(np.isnan(measured.summary["psu.wait_days.mean"]))
