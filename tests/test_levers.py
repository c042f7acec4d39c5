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


def test_a_lever_with_an_end_applies_only_between_its_dates() -> None:
    s = scenario_from_dict(with_lever(until="2022-04-01", set={"cps.charge_share": 0.54}))
    tl = Timeline.for_scenario(s)
    regimes = Regimes.for_scenario(s, tl)
    share = {m: regimes.scenarios[regimes.of_month[i]].cps.charge_share
             for i, m in enumerate(tl.month_starts)}
    assert share[dt.date(2021, 9, 1)] == share[dt.date(2022, 4, 1)] == 0.14
    assert share[dt.date(2021, 10, 1)] == share[dt.date(2022, 3, 1)] == 0.54
    assert [lever_fraction(10, 0, m, 12) for m in (9, 10, 11, 12, 13)] == [0, 1, 1, 0, 0]


def test_earlier_rules_hold_for_cases_received_before_their_date() -> None:
    """The past's regime (here a CPS charging share of 0.54 until October 2021), for the
    warm-up and any month before the date; the scenario's own value from it. Its cases
    draw as a lever's would: the same arrivals, and before the date the same fates as a
    scenario with that value throughout."""
    d = small_dict(horizon_years=2)
    d["earlier_rules"] = [{"name": "old rules", "until": FROM,
                           "set": {"cps.charge_share": 0.54}}]
    s = scenario_from_dict(d)
    tl = Timeline.for_scenario(s)
    regimes = Regimes.for_scenario(s, tl)
    date = dt.date.fromisoformat(FROM)
    first = tl.month_starts.index(date)
    shares = [regimes.scenarios[regimes.of_month[m]].cps.charge_share
              for m in range(len(tl.month_starts))]
    assert set(shares[:first]) == {0.54} and set(shares[first:]) == {0.14}
    assert not any(r.earlier_rules or r.levers for r in regimes.scenarios)
    old = scenario_from_dict({**small_dict(horizon_years=2),
                              "cps": {**d["cps"], "charge_share": 0.54}})
    a, b = draw_replication(old, tl, 3, 0), draw_replication(s, tl, 3, 0)
    np.testing.assert_array_equal(a.arrival, b.arrival)
    before = a.arrival < tl.day(date)
    np.testing.assert_array_equal(a.charged[before], b.charged[before])
    assert a.charged[~before].sum() > b.charged[~before].sum(), "0.54 against 0.14 after it"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"levers": [{"from": FROM, "until": FROM, "set": {"cps.charge_share": 0.2}}]},
         ["until (2021-10-01) must be after from"]),
        ({"levers": [{"from": FROM, "until": "2022-01-15", "set": {"cps.charge_share": 0.2}}]},
         ["a lever ends on the first day of a month"]),
        ({"earlier_rules": [{"until": FROM, "set": {"cps.charge_share": 1.4}}]},
         ["earlier_rules.0.set.cps.charge_share", "with the levers applied"]),
        ({"earlier_rules": [{"until": FROM, "set": {"pools.psu.staff": []}}]},
         ["earlier_rules.0.set.pools.psu.staff", "staff steps"]),
    ],
)
def test_bad_ends_and_earlier_rules_are_named(change: dict, words: list[str]) -> None:
    d = {**small_dict(horizon_years=2), **change}
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(d, source="rules.yaml")
    for w in words:
        assert w in str(info.value), f"{w!r} not in {info.value}"
