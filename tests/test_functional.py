"""Functional tests: seeds reproduce, and levers move the metrics the right way.

Comparisons run both scenarios with the same seed (common random numbers), so a handful of
replications is enough for the direction of a strong effect.
"""

from __future__ import annotations

import copy
import itertools

import numpy as np
import pytest

from sim.engine.engines.compiled import draw_replication
from sim.engine.run import run_scenario
from sim.model.scenario import Scenario, scenario_from_dict
from sim.model.timeline import Timeline
from tests.conftest import small_dict


def stressed(psu_staff: float = 122, demand_factor: float = 1.0) -> Scenario:
    """A short run whose PSU pool is busy enough to queue (utilisation ~1.05 at 122 staff)."""
    d = small_dict(horizon_years=2, warmup_years=1)
    d["pools"]["psu"]["staff"] = [{"from": "2018-04-01", "value": psu_staff}]
    for step in d["demand"]["complaints"]["cases_per_month"]:
        step["value"] *= demand_factor
    return scenario_from_dict(d)


def summary(s: Scenario, reps: int = 4, seed: int = 11, engine: str = "des") -> dict:
    return run_scenario(s, reps, seed, engine).measured.summary


def test_same_seed_same_numbers() -> None:
    s = stressed()
    a, b = summary(s), summary(s)
    for metric in a:
        np.testing.assert_array_equal(a[metric], b[metric], err_msg=metric)


def test_different_seed_different_numbers() -> None:
    s = stressed()
    a, b = summary(s, seed=1), summary(s, seed=2)
    assert not np.array_equal(a["psu.open.end"], b["psu.open.end"])


def test_results_do_not_depend_on_chunk_size() -> None:
    s = scenario_from_dict(small_dict())
    one = run_scenario(s, 4, 5, chunk_size=1).measured
    all_ = run_scenario(s, 4, 5, chunk_size=4).measured
    for metric in one.summary:
        np.testing.assert_array_equal(one.summary[metric], all_.summary[metric], err_msg=metric)
    for metric in one.monthly:
        np.testing.assert_array_equal(one.monthly[metric], all_.monthly[metric], err_msg=metric)


def test_more_investigators_shorter_waits() -> None:
    few, many = summary(stressed(psu_staff=122)), summary(stressed(psu_staff=160))
    assert few["psu.wait_days.mean"].mean() > 5, "the stressed pool should queue"
    assert np.all(many["psu.wait_days.mean"] < few["psu.wait_days.mean"]), (
        "with the same random numbers, more PSU investigators shorten every replication's wait")
    assert many["psu.open_over_12m.end"].mean() <= few["psu.open_over_12m.end"].mean()


def test_more_demand_more_breaches() -> None:
    base, more = summary(stressed()), summary(stressed(demand_factor=1.15))
    assert more["complaints.cases_per_year"].mean() > base["complaints.cases_per_year"].mean()
    assert more["psu.open_over_12m.end"].mean() > base["psu.open_over_12m.end"].mean(), (
        "more complaints into a busy PSU pool leave more investigations open past 12 months")


def test_staffing_does_not_change_arrivals() -> None:
    """Common random numbers: a capacity lever leaves each replication's arrivals alone."""
    a, b = stressed(psu_staff=122), stressed(psu_staff=200)
    ta, tb = Timeline.for_scenario(a), Timeline.for_scenario(b)
    for rep in range(3):
        da, db = draw_replication(a, ta, 7, rep), draw_replication(b, tb, 7, rep)
        np.testing.assert_array_equal(da.arrival, db.arrival)
        np.testing.assert_array_equal(da.effort_days, db.effort_days)
        np.testing.assert_array_equal(da.counts.cases, db.counts.cases)


def test_one_replication_can_be_rerun_alone() -> None:
    s = stressed()
    whole = run_scenario(s, 3, 9).measured
    tl = Timeline.for_scenario(s)
    alone = draw_replication(s, tl, 9, 2)
    assert np.array_equal(alone.arrival, draw_replication(s, tl, 9, 2).arrival)
    assert whole.replications.tolist() == [0, 1, 2]


def test_conservation_per_pool() -> None:
    """Every case that entered a pool is either finished or still open at the end."""
    from sim.engine.engines.des import DesEngine

    s = stressed()
    tl = Timeline.for_scenario(s)
    rec = DesEngine().simulate(s, tl, [draw_replication(s, tl, 3, r) for r in range(2)])
    entered = ~np.isnan(rec.inv_queued)
    finished = ~np.isnan(rec.inv_end)
    assert np.all(finished <= entered)
    started = ~np.isnan(rec.inv_start)
    assert np.all(rec.inv_start[started] >= rec.inv_queued[started])
    assert np.all(rec.finalised[~np.isnan(rec.finalised)] >= rec.arrival[~np.isnan(rec.finalised)])


@pytest.mark.parametrize("field", ["cps", "proceedings"])
def test_stages_never_run_backwards(field: str) -> None:
    from sim.engine.engines.des import DesEngine

    d = copy.deepcopy(small_dict())
    d["cps"]["referral_share"] = {"iopc": 0.6, "dps": 0.5, "psu": 0.3}
    s = scenario_from_dict(d)
    tl = Timeline.for_scenario(s)
    rec = DesEngine().simulate(s, tl, [draw_replication(s, tl, 1, 0)])
    order = ["arrival", "assessed", "inv_queued", "inv_start", "inv_end", "cps_decided",
             "trial_end", "hearing_queued", "hearing_start", "proceedings_end", "finalised"]
    for early, late in itertools.pairwise(order):
        a, b = getattr(rec, early), getattr(rec, late)
        both = ~np.isnan(a) & ~np.isnan(b)
        assert np.all(b[both] >= a[both]), f"{late} before {early}"
