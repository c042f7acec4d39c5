"""Goal-seeking: the bisection finds what a brute-force scan finds, its intervals have the
coverage they claim, levers are set as documented, and bad input is refused clearly."""

from __future__ import annotations

import datetime as dt
import math
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats

from sim.cli import main
from sim.engine.run import run_scenario
from sim.errors import InputError
from sim.model.scenario import scenario_from_dict
from sim.model.timeline import Timeline
from sim.studies.goal_seek import (
    Goal,
    SearchLever,
    brute_force,
    goal_seek,
    parse_at_most,
    quantile_ranks,
    wilson,
)
from tests.conftest import ROOT, small_dict

METRIC = "iopc.open_over_12m.end"


# --------------------------------------------------------------------------- pure parts


def test_wilson_matches_the_textbook_interval() -> None:
    """5 of 10 at 95%: Wilson gives 0.2366 to 0.7634 (Newcombe 1998, table I)."""
    low, high = wilson(5, 10)
    assert low == pytest.approx(0.2366, abs=1e-4) and high == pytest.approx(0.7634, abs=1e-4)
    assert wilson(0, 10)[0] == 0.0 and wilson(10, 10)[1] == pytest.approx(1.0)


@pytest.mark.parametrize(("n", "q"), [(20, 0.8), (60, 0.8), (100, 0.5), (200, 0.9)])
def test_quantile_ranks_cover_at_least_95_percent(n: int, q: float) -> None:
    """[X_(l), X_(u)] covers the q-quantile when l <= B <= u - 1, B ~ Binomial(n, q)."""
    low, high = quantile_ranks(n, q)
    b = stats.binom(n, q)
    coverage = b.cdf(high - 1) - b.cdf(low - 1)
    assert coverage >= 0.95, (low, high, coverage)
    assert low <= math.ceil(q * n) <= high


def test_at_most_accepts_numbers_and_baseline_years() -> None:
    assert parse_at_most("12.5") == 12.5
    assert parse_at_most("baseline:2021/22") == "baseline:2021/22"
    with pytest.raises(InputError, match="at-most"):
        parse_at_most("lots")
    with pytest.raises(InputError, match="confidence"):
        Goal(METRIC, "2021/22", 1.0, confidence=1.0)


def test_a_steps_lever_sets_a_new_step_from_its_date() -> None:
    """Steps before the date are kept; those on or after it are replaced by one step."""
    data = {"pools": {"iopc": {"staff": [{"from": "2018-04-01", "value": 45},
                                         {"from": "2023-04-01", "value": 41}]}}}
    lever = SearchLever("pools.iopc.staff", dt.date(2022, 4, 1))
    assert lever.current(data, dt.date(2021, 4, 1)) == 45
    out = lever.changes(data, 60, dt.date(2021, 4, 1))
    assert out == {"pools.iopc.staff": [{"from": "2018-04-01", "value": 45},
                                        {"from": "2022-04-01", "value": 60}]}
    assert data["pools"]["iopc"]["staff"][1]["value"] == 41, "the input is not mutated"
    scalar = SearchLever("pools.iopc.cases_per_staff").changes({"pools": {"iopc": {
        "cases_per_staff": 2}}}, 2.5, dt.date(2021, 4, 1))
    assert scalar == {"pools.iopc.cases_per_staff": 2.5}


def test_a_steps_lever_with_a_wildcard_sets_each_list_from_its_own_steps() -> None:
    data = {"pools": {"dps": {"staff": [{"from": "2018-04-01", "value": 10}]},
                      "psu": {"staff": [{"from": "2018-04-01", "value": 20}]}}}
    lever = SearchLever("pools.*.staff", dt.date(2022, 4, 1))
    assert lever.changes(data, 30, dt.date(2021, 4, 1)) == {
        "pools.dps.staff": [{"from": "2018-04-01", "value": 10},
                            {"from": "2022-04-01", "value": 30}],
        "pools.psu.staff": [{"from": "2018-04-01", "value": 20},
                            {"from": "2022-04-01", "value": 30}]}


# --------------------------------------------------------------------------- the search


def _fake_world(n: int, seed: int = 0):
    """A synthetic 'simulation': replication r meets the target once staff >= X_r.

    metric_r(staff) = max(0, X_r - staff), so with target 0 the goal-seek answer must be
    the empirical quantile of X on the grid, and its interval the order statistics.
    """
    thresholds = np.random.default_rng(seed).integers(50, 120, size=n)

    def run(scenario, reps, seed, engine):
        staff = scenario.pools.iopc.staff[-1].value
        metric = np.maximum(0.0, thresholds - staff)[:, None]
        years = len(Timeline.for_scenario(scenario).fiscal_years)
        run.calls += 1
        return SimpleNamespace(measured=SimpleNamespace(yearly={METRIC: np.repeat(
            metric, years, axis=1)}))

    run.calls = 0
    return thresholds, run


@pytest.mark.parametrize(("n", "confidence"), [(40, 0.8), (25, 0.5), (60, 0.9)])
def test_bisection_finds_the_quantile_of_per_replication_thresholds(n, confidence) -> None:
    thresholds, run = _fake_world(n)
    s = scenario_from_dict(small_dict())
    r = goal_seek(s, SearchLever("pools.iopc.staff"), Goal(METRIC, "2021/22", 0.0, confidence),
                  reps=n, seed=1, run=run)
    ordered = np.sort(thresholds)
    k = math.ceil(confidence * n)
    assert r.answer == ordered[k - 1]  # smallest x with #{X_r <= x} >= k
    low, high = quantile_ranks(n, confidence)
    assert r.answer_low == (ordered[low - 1] if low >= 1 else None)
    assert r.answer_high == (ordered[high - 1] if high <= n else None)
    assert r.current == s.pools.iopc.staff[0].value and not r.non_monotone
    assert run.calls == len(r.points) < 30, "bisection, not a scan of ~75 values"
    assert {p.value for p in r.points} >= {r.answer, r.answer - 1}, "both sides evaluated"


def test_an_unreachable_target_is_reported_not_invented() -> None:
    _, run = _fake_world(20)
    s = scenario_from_dict(small_dict())
    r = goal_seek(s, SearchLever("pools.iopc.staff"), Goal(METRIC, "2021/22", -1.0, 0.8),
                  reps=20, seed=1, high=80, run=run)
    assert r.answer is None and r.high == 80
    assert "not met" in r.sentence()


def test_goal_seek_agrees_with_a_brute_force_scan_of_the_des() -> None:
    """The real engine, common random numbers: the bisection's answer is the smallest value
    of the full scan at which at least `confidence` of the replications meet the target.

    A small scenario whose IOPC pool is made capacity-bound whatever the baseline's
    calibration (one case per investigator, long investigations), scanned from 20 to 80
    investigators; the target is set half way between the metric's means at the two ends,
    so the share meeting it crosses the confidence inside the grid. The scan and the search
    share their runs (same seed, same scenarios), so the comparison is exact, and the search
    must evaluate fewer points than the scan.
    """
    d = small_dict(horizon_years=1, warmup_years=1)
    iopc = d["pools"]["iopc"]
    iopc.update(staff=[{"from": "2018-04-01", "value": 20}], cases_per_staff=1,
                training_lag_days=0)
    iopc["investigation_days"] = {k: {"dist": "lognormal", "mean": 300, "cv": 0.5}
                                  for k in ("complaints", "conduct")}
    s = scenario_from_dict(d)
    lever, reps, seed = SearchLever("pools.iopc.staff"), 6, 11
    runs: dict[str, object] = {}

    def shared(scenario, r, sd, engine):
        key = scenario.digest()
        if key not in runs:
            runs[key] = run_scenario(scenario, r, sd, engine)
        return runs[key]

    grid = [20.0 + 10 * i for i in range(7)]
    ends = [shared(lever.scenario_at(s, x), reps, seed, "des").measured.yearly[METRIC][:, 0].mean()
            for x in (grid[0], grid[-1])]
    assert ends[0] > ends[1] + 4, f"capacity should matter here: {ends}"
    target = Goal(METRIC, "2021/22", (ends[0] + ends[1]) / 2, confidence=0.6)
    scan = brute_force(s, lever, target, grid, reps=reps, seed=seed, engine="des", run=shared)
    assert scan[grid[0]] < target.confidence <= scan[grid[-1]], f"a poor test grid: {scan}"
    expected = min(x for x in grid if scan[x] >= target.confidence - 1e-12)
    r = goal_seek(s, lever, target, reps=reps, seed=seed, engine="des", step=10, high=80,
                  run=shared)
    assert r.answer == expected, (scan, r.points)
    assert len(r.points) < len(grid)
    for p in r.points:
        assert p.share == pytest.approx(scan[p.value]), "same seed, same answer"


# --------------------------------------------------------------------------- the command


def test_target_command_refuses_bad_input(capsys) -> None:
    base = str(ROOT / "scenarios" / "baseline.yaml")
    args = ["target", base, "--lever", "pools.iopc.staff", "--metric", METRIC,
            "--at-most", "3", "--reps", "2"]
    assert main([*args, "--year", "2040/41"]) == 2
    assert "2025/26" in capsys.readouterr().err, "the allowed years are listed"
    assert main([*args[:3], "pools.iopc.investigation_days", *args[4:], "--year",
                 "2021/22"]) == 2
    assert "dated steps" in capsys.readouterr().err
    assert main([*args[:5], "iopc.nonsense", *args[6:], "--year", "2021/22"]) == 2
    assert "iopc.open_over_12m.end" in capsys.readouterr().err


@pytest.mark.slow
def test_target_command_end_to_end(tmp_path, capsys) -> None:
    """The documented command on the police uplift (short run): prints the answer and the
    points, and writes them."""
    d = small_dict(horizon_years=2, warmup_years=1)
    d["pools"]["iopc"]["staff"] = [{"from": "2018-04-01", "value": 20}]
    path = tmp_path / "busy.yaml"
    import yaml

    path.write_text(yaml.safe_dump(d))
    code = main(["target", str(path), "--lever", "pools.iopc.staff", "--metric", METRIC,
                 "--year", "2022/23", "--at-most", "baseline:2021/22", "--confidence",
                 "0.6", "--reps", "6", "--step", "2", "--max", "40", "--quiet",
                 "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "pools.iopc.staff" in out
    assert (tmp_path / "out" / "target.json").exists()
    assert (tmp_path / "out" / "points.csv").exists()
