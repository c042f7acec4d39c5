"""Demand as a dated input: steps that ramp, and a CSV of monthly counts, each read into the
dated steps the engines already use (so both engines see the same monthly rates)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.cli import main
from sim.model.demand import monthly_expected_cases, rates_by_month
from sim.model.scenario import load_scenario, scenario_from_dict
from sim.model.timeline import Timeline
from tests.conftest import ROOT, small_dict

BASELINE = (ROOT / "scenarios" / "baseline.yaml").as_posix()


def test_a_ramped_step_moves_linearly_month_by_month() -> None:
    """600 a month, then 900 from April 2022 over six months: 650, 700, ... 900 by
    September, as a lever's ramp (the new value in the ramp's last month)."""
    d = small_dict(horizon_years=2)
    d["demand"]["complaints"]["cases_per_month"] = [
        {"from": "2018-04-01", "value": 600},
        {"from": "2022-04-01", "value": 900, "ramp_months": 6}]
    s = scenario_from_dict(d)
    tl = Timeline.for_scenario(s)
    rates = dict(zip(tl.month_starts, rates_by_month(s.demand.complaints, tl), strict=False))
    got = [rates[dt.date(2022, m, 1)] for m in range(3, 11)]
    np.testing.assert_allclose(got, [600, 650, 700, 750, 800, 850, 900, 900])


def write_demand(folder: Path, counts: dict[str, float], name: str = "demand.csv") -> Path:
    rows = "".join(f"{month},{count},{count / 10}\n" for month, count in counts.items())
    path = folder / name
    path.write_text("month,complaints,conduct_matters\n" + rows)
    return path


def scenario_file(folder: Path, body: dict) -> Path:
    path = folder / "from_csv.yaml"
    path.write_text(yaml.safe_dump({"extends": BASELINE, "name": "from_csv", "horizon_years": 1,
                                    **body}, sort_keys=False))
    return path


def test_a_csv_of_monthly_counts_gives_those_counts_on_average(tmp_path: Path) -> None:
    """Each month's expected arrivals are the file's count (February's rate is higher than
    March's for the same count); months before the first row take its rate; the resolved
    scenario holds the numbers as dated steps, not the file's name."""
    counts = {f"2021-{m:02d}": 600.0 + 10 * m for m in range(1, 13)}
    write_demand(tmp_path, counts)
    s = load_scenario(scenario_file(tmp_path, {"demand": {
        "complaints": {"cases_per_month": {"csv": "demand.csv"}},
        "conduct": {"cases_per_month": {"csv": "demand.csv", "column": "conduct_matters"}},
        "elasticity": 0.0}}))
    tl = Timeline.for_scenario(s)
    expected = dict(zip(tl.month_starts, monthly_expected_cases(s.demand.complaints, s, tl),
                        strict=False))
    for month, count in counts.items():
        day = dt.date.fromisoformat(month + "-01")
        if day in expected:
            assert expected[day] == pytest.approx(count, rel=1e-9), month
    conduct = monthly_expected_cases(s.demand.conduct, s, tl)
    assert conduct[tl.month_starts.index(dt.date(2021, 6, 1))] == pytest.approx(66.0)
    assert "csv" not in str(s.to_dict()["demand"])
    assert s.demand.complaints.cases_per_month[0].from_ == dt.date(2021, 1, 1)


def test_a_run_on_a_csv_reproduces_the_counts(tmp_path: Path) -> None:
    """`ccsim run` on a scenario naming a CSV: the monthly complaint cases received, averaged
    over 200 replications, are each within 4 standard errors of the file's count (Poisson:
    s.e. = sqrt(count / 200); 12 months, so a false alarm about once in 1,300 runs)."""
    counts = {f"2021-{m:02d}": 300.0 + 40 * (m % 5) for m in range(4, 13)}
    counts.update({f"2022-{m:02d}": 500.0 for m in range(1, 4)})
    write_demand(tmp_path, counts)
    path = scenario_file(tmp_path, {"demand": {
        "complaints": {"cases_per_month": {"csv": "demand.csv"}}}})
    out = tmp_path / "out"
    assert main(["run", str(path), "--reps", "200", "--seed", "3", "--quiet",
                 "--out", str(out)]) == 0
    series = pd.read_parquet(out / "timeseries.parquet")
    got = series[series.metric == "complaints.cases"].groupby("month").value.mean()
    for month, count in counts.items():
        assert abs(got[month] - count) < 4 * np.sqrt(count / 200), (month, got[month], count)
