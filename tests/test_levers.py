"""Levers: dated, ramped changes to case handling, applied to cases received from a date."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from sim.engine.engines.compiled import draw_replication
from sim.engine.regimes import Regimes
from sim.errors import ScenarioError
from sim.model.levers import blend, lever_fraction
from sim.model.scenario import scenario_from_dict
from sim.model.timeline import Timeline
from tests.conftest import small_dict

FROM = "2021-10-01"


def with_lever(**lever) -> dict:
    d = small_dict(horizon_years=2)
    d["cps"]["referral_share"] = {"iopc": 0.9, "dps": 0.9, "psu": 0.9}  # many CPS files
    d["levers"] = [{"name": "test lever", "from": FROM, **lever}]
    return d


def test_lever_changes_only_cases_received_from_its_date() -> None:
    base = scenario_from_dict(small_dict(horizon_years=2))
    faster = scenario_from_dict(with_lever(set={"cps.decision_days": {
        "dist": "lognormal", "mean": 60, "cv": 1.0}}))
    slow_cps = base.model_copy(update={"cps": faster.cps})  # same referral shares, no lever
    tl = Timeline.for_scenario(base)
    a, b = draw_replication(slow_cps, tl, 3, 0), draw_replication(faster, tl, 3, 0)
    np.testing.assert_array_equal(a.arrival, b.arrival)
    before = a.arrival < tl.day(dt.date.fromisoformat(FROM))
    np.testing.assert_array_equal(a.cps_days[before], b.cps_days[before])
    after = ~before & a.cps_referred
    assert b.cps_days[after].mean() < 0.7 * a.cps_days[after].mean(), (
        "cases received after the lever date get the faster CPS (mean 60 rather than 120)")


def test_ramp_moves_linearly_to_the_new_value() -> None:
    s = scenario_from_dict(with_lever(ramp_months=4, set={"cps.charge_share": 0.54}))
    tl = Timeline.for_scenario(s)
    regimes = Regimes.for_scenario(s, tl)
    month = tl.month_starts.index(dt.date(2021, 10, 1))
    shares = [regimes.scenarios[regimes.of_month[m]].cps.charge_share
              for m in range(month - 1, month + 5)]
    np.testing.assert_allclose(shares, [0.14, 0.24, 0.34, 0.44, 0.54, 0.54])


def test_lever_fraction_and_blend() -> None:
    assert [lever_fraction(10, 3, m) for m in (9, 10, 11, 12, 13)] == [0, 1 / 3, 2 / 3, 1, 1]
    assert lever_fraction(10, 0, 10) == 1.0
    old = {"dist": "lognormal", "mean": 100, "cv": 1.0}
    new = {"dist": "lognormal", "mean": 50, "cv": 0.5}
    assert blend(old, new, 0.5) == {"dist": "lognormal", "mean": 75, "cv": 0.75}
    with pytest.raises(ValueError, match="kind of distribution"):
        blend(old, {"dist": "gamma", "mean": 1, "cv": 1}, 0.5)


@pytest.mark.parametrize(
    ("lever", "words"),
    [
        ({"set": {"pools.iopc.staff": []}}, ["capacity", "staff steps"]),
        ({"set": {"demand.elasticity": 2}}, ["not a case-handling field"]),
        ({"set": {"cps.decision_dayz": 3}}, ["does not name a field"]),
        ({"set": {"cps.charge_share": 1.4}}, ["with the levers applied", "cps.charge_share"]),
        ({"set": {"assessment.complaints.psu": 0.5}}, ["with the levers applied", "sum to 1"]),
        ({"from": "2021-10-15", "set": {"cps.charge_share": 0.2}}, ["first day of a month"]),
    ],
)
def test_bad_levers_are_named(lever: dict, words: list[str]) -> None:
    d = with_lever(**{"set": {}, **lever})
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(d, source="lever.yaml")
    for w in words:
        assert w in str(info.value), f"{w!r} not in {info.value}"


def test_no_levers_one_regime() -> None:
    s = scenario_from_dict(small_dict())
    r = Regimes.for_scenario(s, Timeline.for_scenario(s))
    assert len(r.scenarios) == 1 and not r.of_month.any()
