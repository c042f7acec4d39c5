"""Working days: the cumulative-table lookup agrees with numpy's busday_count everywhere."""

from __future__ import annotations

import numpy as np

from sim.model.scenario import scenario_from_dict
from sim.model.timeline import Timeline
from tests.conftest import small_dict


def test_working_days_match_busday_count_inside_and_outside_the_table() -> None:
    tl = Timeline.for_scenario(scenario_from_dict(small_dict()))
    rng = np.random.default_rng(3)
    inside = rng.uniform(-tl.warmup_days, tl.horizon_days, 5000)
    t0 = np.concatenate([inside, [-5000.0, 0.0]])  # the last two fall outside the table
    t1 = np.concatenate([inside + rng.uniform(0, 900, inside.size), [0.0, 9000.0]])
    origin = np.datetime64(tl.start, "D")
    expected = np.busday_count(origin + np.floor(t0).astype("int64"),
                               origin + np.floor(t1).astype("int64"), holidays=tl._holidays)
    np.testing.assert_array_equal(tl.working_days(t0[:-2], t1[:-2]), expected[:-2])
    np.testing.assert_array_equal(tl.working_days(t0, t1), expected)
    # Good Friday (2 April) and Easter Monday (5 April) 2021 are bank holidays: 1 to 8 April
    # 2021 holds four working days (the 1st, 6th, 7th and 8th)
    first_april = float(tl.day(np.datetime64("2021-04-01").astype(object)))
    assert tl.working_days(np.array([first_april]), np.array([first_april + 8]))[0] == 4


def test_a_dated_step_holds_from_its_day_and_the_first_also_before() -> None:
    """The one reading of dated steps (demand rates, staff) the engines and the brief share."""
    data = small_dict()
    data["pools"]["psu"]["staff"] = [{"from": "2021-06-01", "value": 5},
                                     {"from": "2021-09-01", "value": 8}]
    s = scenario_from_dict(data)
    timeline = Timeline.for_scenario(s)
    june, sept = timeline.day(s.pools.psu.staff[0].from_), timeline.day(s.pools.psu.staff[1].from_)
    t = np.array([-400.0, june - 0.5, june, sept - 0.5, sept, sept + 999])
    assert timeline.in_force(s.pools.psu.staff, t).tolist() == [5, 5, 5, 5, 8, 8]
