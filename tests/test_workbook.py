"""workbook.xlsx: the run, comparison and sweep results as plain Excel tables with labels,
units and number formats, holding the same numbers as the CSV files, the same file every
time for the same result."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from openpyxl import load_workbook

import sim
from sim.cli import main
from sim.outputs.labels import label
from sim.outputs.run_folder import write_run
from sim.outputs.sweep_folder import write_analysis
from sim.outputs.workbook import WORKBOOK, run_workbook, save_workbook
from sim.studies.sweep.design import load_sweep
from sim.studies.sweep.runner import run_sweep
from tests.conftest import small_dict
from tests.test_sweep import GRID, SOBOL_PARAMS, run_small_sobol_sweep, write_sweep

POUNDS, SHARE = "cost.suspended_gbp_per_year", "iopc.within_12m.share"
CASES = "iopc.open.end"


def _scenario_file(folder: Path, name: str, **changes) -> Path:
    d = small_dict(horizon_years=1, warmup_years=0.5)
    d["name"] = name
    for step in d["pools"]["iopc"]["staff"]:
        step["value"] = round(step["value"] * changes.get("iopc_staff_factor", 1))
    path = folder / f"{len(list(folder.glob('*.yaml')))}.yaml"
    path.write_text(yaml.safe_dump(d, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def run_saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wb-run")
    return sim.run(_scenario_file(folder, "small"), reps=3, seed=4, out=folder / "r")


@pytest.fixture(scope="module")
def compare_saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wb-cmp")
    base = _scenario_file(folder, "small")
    fewer = _scenario_file(folder, "=SUM(1,1)", iopc_staff_factor=0.5)  # text, not a formula
    return sim.compare([base, fewer], reps=3, seed=4, out=folder / "c")


def _records(ws) -> list[dict]:
    rows = ws.iter_rows(values_only=True)
    header = next(rows)
    return [dict(zip(header, row, strict=True)) for row in rows]


def _close(a: float | None, b: float) -> bool:
    """Equal to the CSV's precision (six significant figures); an empty cell is a NaN."""
    if a is None:
        return math.isnan(b)
    return math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-9)


def _table_shape(ws, freeze: str) -> None:
    assert ws.freeze_panes == freeze
    assert ws.auto_filter.ref == f"A1:{ws.cell(1, ws.max_column).column_letter}{ws.max_row}"
    assert all(cell.font.bold for cell in ws[1])
    assert all(ws.column_dimensions[c.column_letter].width >= 6 for c in ws[1])


def test_run_workbook_holds_the_summary_years_months_scenario_and_provenance(run_saved):
    folder = run_saved.folder
    book = load_workbook(folder / WORKBOOK)
    assert book.sheetnames == ["Summary", "By year", "By month", "Scenario", "Provenance"]
    for ws in book:
        _table_shape(ws, "B2")

    summary = pd.read_csv(folder / "summary.csv").set_index("metric")
    rows = {r["Metric"]: r for r in _records(book["Summary"])}
    assert list(rows) == list(summary.index)
    for metric, r in rows.items():
        want = summary.loc[metric]
        assert r["Measure"] == label(metric).text and r["Unit"] == label(metric).unit
        for column, key in (("Mean", "mean"), ("5th percentile", "p05"),
                            ("95th percentile", "p95"), ("Median", "p50"),
                            ("Monte Carlo s.e.", "mc_se")):
            assert _close(r[column], want[key]), (metric, column)
        assert r["Replications"] == want["reps"]

    ws = book["Summary"]
    row_of = {ws.cell(i, 2).value: i for i in range(2, ws.max_row + 1)}
    assert ws.cell(row_of[POUNDS], 3).value == "£ a year"
    assert ws.cell(row_of[POUNDS], 4).number_format == "£#,##0"
    assert ws.cell(row_of[SHARE], 3).value == "share"
    assert ws.cell(row_of[SHARE], 4).number_format == "0.0%"
    assert ws.cell(row_of[CASES], 4).number_format == "#,##0"
    assert ws.cell(row_of["iopc.wait_days.mean"], 4).number_format == "#,##0.0"
    assert ws.cell(row_of[CASES], 9).number_format == "#,##0"  # replications

    yearly = pd.read_csv(folder / "yearly.csv")
    by_year = {r["Metric"]: r for r in _records(book["By year"])}
    for r in yearly.itertuples():
        assert _close(by_year[r.metric][r.year], r.mean), (r.metric, r.year)

    series = pd.read_parquet(folder / "timeseries.parquet")
    means = series.groupby(["month", "metric"])["value"].mean()
    ws = book["By month"]
    metric_of = {c.column: c.comment.text.split(" ")[0] for c in ws[1][1:]}
    assert set(metric_of.values()) == set(series.metric)
    assert ws.cell(1, 2).value == label(ws.cell(1, 2).comment.text.split(" ")[0]).text
    months = [ws.cell(i, 1).value for i in range(2, ws.max_row + 1)]
    assert months == sorted(set(series.month))
    for i, month in enumerate(months, start=2):
        for col, metric in metric_of.items():
            assert _close(ws.cell(i, col).value, means[(month, metric)]), (month, metric)

    manifest = json.loads((folder / "manifest.json").read_text())
    fields = {r["Field"]: r["Value"] for r in _records(book["Scenario"])}
    assert fields["name"] == "small"
    assert fields["pools.iopc.staff.0.value"] == manifest["scenario"]["pools"]["iopc"][
        "staff"][0]["value"]
    assert fields["cps.decision_days.mean"] == manifest["scenario"]["cps"]["decision_days"][
        "mean"]
    keys = {r["Key"]: r["Value"] for r in _records(book["Provenance"])}
    assert keys["scenario_hash"] == manifest["scenario_hash"]
    assert keys["seed"] == 4 and keys["reps"] == 3
    assert keys["parameters"] == manifest["parameters"], "where the parameters came from"
    assert keys["provenance.ccsim_version"] == manifest["provenance"]["ccsim_version"]
    assert keys["provenance.packages.numpy"] == manifest["provenance"]["packages"]["numpy"]
    assert keys["provenance.runs.0.scenario_hash"] == manifest["scenario_hash"]
    assert not any(k.startswith("scenario.") for k in keys), "the scenario has its own sheet"


def test_the_same_run_gives_the_same_workbook_byte_for_byte(run_saved, tmp_path):
    """No wall-clock time in the file: it is stamped with the run's finish time."""
    again = write_run(run_saved.result, tmp_path / "again")
    assert (again / WORKBOOK).read_bytes() == (run_saved.folder / WORKBOOK).read_bytes()
    props = load_workbook(again / WORKBOOK).properties
    finished = pd.Timestamp(run_saved.result.finished).tz_convert(None).to_pydatetime()
    assert props.created == props.modified == finished


def test_two_identical_runs_give_the_same_cells(run_saved, tmp_path):
    """Only when the run started and finished differ (the Provenance sheet says so)."""
    scenario = run_saved.result.scenario
    other = sim.run(scenario, reps=3, seed=4, out=tmp_path / "r2")
    first, second = (load_workbook(s.folder / WORKBOOK) for s in (run_saved, other))
    for title in ("Summary", "By year", "By month", "Scenario"):
        assert list(first[title].values) == list(second[title].values), title
    times = {"started", "finished", "provenance.runs.0.started", "provenance.runs.0.finished"}
    a, b = ({k: v for k, v in book["Provenance"].values if k not in times}
            for book in (first, second))
    assert a == b


def test_a_missing_value_is_an_empty_cell(run_saved, tmp_path):
    """A NaN (no case finished in a period) must not reach Excel, which refuses the file."""
    result = run_saved.result
    folder = run_saved.folder
    summary = pd.read_csv(folder / "summary.csv")
    summary.loc[summary.metric == SHARE, ["mean", "mc_se"]] = [np.nan, np.inf]
    manifest = json.loads((folder / "manifest.json").read_text())
    book = run_workbook(result, manifest, summary, pd.read_csv(folder / "yearly.csv"),
                        pd.read_parquet(folder / "timeseries.parquet"))
    save_workbook(book, tmp_path / WORKBOOK, pd.Timestamp(result.finished).to_pydatetime())
    rows = {r["Metric"]: r for r in _records(load_workbook(tmp_path / WORKBOOK)["Summary"])}
    assert rows[SHARE]["Mean"] is None and rows[SHARE]["Monte Carlo s.e."] is None
    assert rows[SHARE]["Median"] is not None


def test_comparison_workbook_holds_the_differences_by_year_and_the_scenarios(compare_saved):
    folder = compare_saved.folder
    book = load_workbook(folder / WORKBOOK)
    assert book.sheetnames == ["Differences", "By year", "Scenarios", "Provenance"]
    for title in ("Differences", "By year"):
        _table_shape(book[title], "C2")
    _table_shape(book["Scenarios"], "B2")

    csv = pd.read_csv(folder / "comparison.csv")
    rows = _records(book["Differences"])
    assert len(rows) == len(csv)
    for r, want in zip(rows, csv.itertuples(), strict=True):
        assert (r["Option"], r["Metric"], r["Period"]) == (want.scenario, want.metric,
                                                           want.period)
        assert r["Measure"] == label(want.metric).text and r["Unit"] == label(want.metric).unit
        for column, value in (("Base mean", want.base_mean), ("Option mean", want.alt_mean),
                              ("Difference (option − base)", want.diff_mean),
                              ("Difference: 95% low", want.diff_low),
                              ("Difference: 95% high", want.diff_high)):
            assert _close(r[column], value), (want.metric, want.period, column)
        assert r["Distinguishable"] is bool(want.distinguishable)
    assert any(r["Distinguishable"] for r in rows), "half the IOPC staff changes something"
    ws = book["Differences"]
    assert ws.cell(2, 1).value == "=SUM(1,1)" and ws.cell(2, 1).data_type == "s"
    row_of = {(ws.cell(i, 3).value, ws.cell(i, 5).value): i for i in range(2, ws.max_row + 1)}
    assert ws.cell(row_of[(POUNDS, "all")], 8).number_format == "£#,##0"
    assert ws.cell(row_of[(SHARE, "all")], 8).number_format == "0.0%"

    yearly = csv[csv.period != "all"]
    by_year = {(r["Option"], r["Metric"]): r for r in _records(book["By year"])}
    assert len(by_year) == len(yearly.groupby(["scenario", "metric"]))
    for want in yearly.itertuples():
        got = by_year[(want.scenario, want.metric)]
        assert _close(got[f"{want.period} base"], want.base_mean)
        assert _close(got[f"{want.period} option"], want.alt_mean)
        assert _close(got[f"{want.period} difference"], want.diff_mean)

    manifest = json.loads((folder / "manifest.json").read_text())
    scenarios = _records(book["Scenarios"])
    assert [(s["Role"], s["Scenario"], s["Scenario hash"]) for s in scenarios] == [
        ("base", "small", manifest["base"]["scenario_hash"]),
        ("option", "=SUM(1,1)", manifest["alternatives"][0]["scenario_hash"])]
    keys = {r["Key"]: r["Value"] for r in _records(book["Provenance"])}
    assert keys["kind"] == "comparison"
    assert keys["alternatives.0.scenario_hash"] == manifest["alternatives"][0]["scenario_hash"]
    assert keys["provenance.runs.1.seed"] == 4
    marker = json.loads((folder / ".ccsim-result").read_text())
    assert WORKBOOK in marker["files"]


def test_sweep_workbook_holds_the_points_sensitivity_and_provenance(tmp_path):
    pytest.importorskip("SALib")
    path, out = run_small_sobol_sweep(tmp_path)
    params = SOBOL_PARAMS
    book = load_workbook(out / WORKBOOK)
    assert book.sheetnames == ["Points", "Sensitivity", "Provenance"]
    _table_shape(book["Points"], "D2")  # the point and both parameters stay in view
    _table_shape(book["Sensitivity"], "B2")

    summary = pd.read_csv(out / "summary.csv")
    ws = book["Points"]
    headers = [c.value for c in ws[1]]
    assert headers[:3] == ["Point", *params]
    metric_of = {c.column: c.comment.text.split(" ")[0] for c in ws[1][3:]}
    assert [ws.cell(1, col).value for col in metric_of] == [label(m).text
                                                            for m in metric_of.values()]
    assert ws.cell(2, 4).number_format == "#,##0"  # cases
    for i, want in enumerate(summary.itertuples(index=False), start=2):
        assert ws.cell(i, 1).value == want.point
        for col, value in enumerate(want[1:3], start=2):
            assert _close(ws.cell(i, col).value, value)
        for col, metric in metric_of.items():
            assert _close(ws.cell(i, col).value, summary.loc[i - 2, metric])
    assert ws.max_row == len(summary) + 1

    sens = pd.read_csv(out / "sensitivity.csv")
    rows = _records(book["Sensitivity"])
    assert len(rows) == len(sens)
    for r, want in zip(rows, sens.itertuples(), strict=True):
        assert (r["Metric"], r["Parameter"], r["Index"]) == (want.metric, want.parameter,
                                                             want.index)
        assert _close(r["Value"], want.value) and _close(r["95% interval (±)"], want.conf95)
    assert book["Sensitivity"].cell(2, 5).number_format == "0.00"

    manifest = json.loads((out / "manifest.json").read_text())
    keys = {r["Key"]: r["Value"] for r in _records(book["Provenance"])}
    assert keys["kind"] == "sweep" and keys["points"] == manifest["points"]
    assert keys["base_scenario_hash"] == manifest["base_scenario_hash"]
    assert keys["sweep.seed"] == 4 and keys["provenance.reps"] == 1
    assert keys["parameters"] == manifest["parameters"]
    assert manifest["parameters"].startswith("fixed at the calibrated values (sweeps do not"
                                             " draw them, for speed")
    assert WORKBOOK in json.loads((out / ".ccsim-result").read_text())["files"]

    before = (out / WORKBOOK).read_bytes()
    assert main(["sweep", str(path), "--out", str(out), "--executor", "serial",
                 "--quiet"]) == 0
    assert (out / WORKBOOK).read_bytes() == before, "a resumed sweep writes the same file"


def test_a_grid_sweep_workbook_has_no_sensitivity_sheet(tmp_path):
    sweep = load_sweep(write_sweep(tmp_path, GRID, reps=1))
    table = run_sweep(sweep, tmp_path / "g", "serial")
    written = write_analysis(sweep, table, tmp_path / "g")
    assert tmp_path / "g" / WORKBOOK in written
    book = load_workbook(tmp_path / "g" / WORKBOOK)
    assert book.sheetnames == ["Points", "Provenance"]
    assert len(_records(book["Points"])) == len(sweep.points)
