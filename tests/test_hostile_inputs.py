"""Hostile study inputs: sweep designs, target CSVs, `ccsim target` settings and parameter
uncertainty files. Each bad one exits 2 (or the documented code) through `sim.cli.main`,
quickly, with the file, line and column or field named and no traceback; degenerate designs
that repeat points are analysed correctly.
"""

from __future__ import annotations

import codecs
import csv
import io
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import sim.api
import sim.engine.run
import sim.studies.parameter_uncertainty
import sim.studies.sweep.runner
from sim.cli import EXIT_TARGET_NOT_MET, main
from sim.engine.run import run_scenario
from sim.model.scenario import scenario_from_dict
from sim.studies.calibration.targets import (
    MONTHLY_METRICS,
    YEARLY_METRICS,
    load_targets,
)
from sim.studies.sweep.analysis import sensitivity, wide_summary
from sim.studies.sweep.design import load_sweep
from tests.conftest import ROOT, small_dict

SHORT = ROOT / "tests" / "bad_inputs" / "short_horizon.yaml"
TARGETS = ROOT / "calibration" / "targets.csv"
CALIBRATION = ROOT / "calibration"
LIMIT_S = 10


def cli(capsys, *args: str) -> tuple[int, str]:
    """Run ccsim in-process: its exit code and stderr, checked for speed and no traceback."""
    started = time.perf_counter()
    code = main([str(a) for a in args])
    err = capsys.readouterr().err
    assert time.perf_counter() - started < LIMIT_S, f"took too long: {args}"
    assert "Traceback" not in err and "internal error" not in err, err
    return code, err


def refused(capsys, words: tuple[str, ...], *args: str) -> str:
    code, err = cli(capsys, *args)
    assert code == 2, err
    for w in words:
        assert w in err, f"{w!r} not in:\n{err}"
    return err


# --------------------------------------------------------------------------- sweeps


def write_sweep(tmp: Path, design: dict, reps: int = 1, name: str = "sweep", **extra) -> Path:
    (tmp / "base.yaml").write_text(yaml.safe_dump(small_dict(horizon_years=1,
                                                             warmup_years=0.5)))
    spec = {"name": "t", "base": "base.yaml", "reps": reps, "seed": 4,
            "metrics": ["iopc.open.end", "psu.open.end"], "design": design, **extra}
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


SHARE = {"cps.charge_share": {"low": 0.1, "high": 0.3}}
THREE = {**SHARE, "pools.iopc.cases_per_staff": {"low": 1.5, "high": 2.5},
         "pools.psu.cases_per_staff": {"low": 1.5, "high": 2.5}}
HUGE_GRID = {f"pools.{p}.cases_per_staff": list(range(1, 101)) for p in ("iopc", "dps", "psu")}
HUGE_GRID |= {"cps.charge_share": [0.1 + i / 1e6 for i in range(10_000)]}


@pytest.mark.parametrize(("design", "extra", "words"), [
    ({"kind": "grid", "parameters": HUGE_GRID}, {},
     ("field 'design'", "10,000,000,000 points", "at most 100,000")),
    ({"kind": "grid", "parameters": {"cps.charge_share": 0.2}}, {},
     ("design.grid.parameters.cps.charge_share", "a YAML list")),
    ({"kind": "latin_hypercube", "samples": 10**12, "parameters": SHARE}, {},
     ("design.latin_hypercube.samples", "less than or equal to 100000")),
    ({"kind": "sobol", "samples": 65536, "parameters": THREE}, {},
     ("327,680 points", "samples x (parameters + 2)")),
    ({"kind": "morris", "samples": 4, "levels": 1, "parameters": SHARE}, {},
     ("design.morris.levels", "greater than or equal to 2")),
    ({"kind": "morris", "samples": 4, "levels": 10**9, "parameters": SHARE}, {},
     ("design.morris.levels", "less than or equal to 20")),
    ({"kind": "morris", "samples": 4, "levels": 5, "parameters": SHARE}, {},
     ("design.morris", "even number of levels", "got 5")),
    ({"kind": "morris", "samples": 1, "parameters": SHARE}, {},
     ("design.morris", "at least 2 trajectories")),
    ({"kind": "sobol", "samples": 1, "parameters": THREE}, {},
     ("design.sobol", "at least 2 base samples")),
    ({"kind": "latin_hypercube", "samples": 3, "parameters": SHARE, "design_seed": 2**64}, {},
     ("design.latin_hypercube.design_seed", "less than or equal to 9223372036854775807")),
    ({"kind": "list", "points": [{"cps.charge_share": 0.2}]}, {"seed": -1},
     ("field 'seed'", "greater than or equal to 0")),
    ({"kind": "list", "points": [{"cps.charge_share": 0.2}]}, {"seed": 2**63},
     ("field 'seed'", "less than or equal to 9223372036854775807")),
    ({"kind": "list", "points": [{"cps.charge_share": 0.2}]}, {"metrics": []},
     ("field 'metrics'", "at least 1 item")),
    ({"kind": "list", "points": [{"cps.charge_share": 0.2}]},
     {"metrics": ["iopc.open.end", "iopc.open.end"]},
     ("field 'metrics'", "iopc.open.end listed more than once")),
    ({"kind": "latin_hypercube", "samples": 1000, "parameters": SHARE}, {"reps": 100_000},
     ("field 'reps'", "100,000,000 replications", "1,000 points x 100,000 reps",
      "at most 10,000 reps")),
], ids=["grid-1e10", "grid-not-a-list", "lhs-1e12", "sobol-too-many", "morris-levels-1",
        "morris-levels-huge", "morris-levels-odd", "morris-one-trajectory",
        "sobol-one-sample", "design-seed-huge", "seed-negative", "seed-huge", "metrics-empty",
        "metrics-twice", "reps-times-points"])
def test_a_bad_sweep_file_is_refused_up_front(tmp_path, capsys, design, extra, words) -> None:
    path = write_sweep(tmp_path, design, **extra)
    refused(capsys, (path.name, *words), "sweep", path, "--out", tmp_path / "out", "--quiet")
    assert not (tmp_path / "out").exists(), "nothing is made for a refused sweep"


def test_absurd_workers_are_refused_and_idle_ones_not_started(tmp_path, capsys,
                                                              monkeypatch) -> None:
    path = write_sweep(tmp_path, {"kind": "list", "points": [{"cps.charge_share": 0.2}]})
    refused(capsys, ("field '--workers'", "got: 1000", "4 per core", "a whole number from 1"),
            "sweep", path, "--out", tmp_path / "out", "--workers", "1000", "--quiet")
    asked = []
    real = sim.api.sweep_into

    def spy(sweep, out, executor, workers, *args, **kwargs):
        asked.append(workers)
        return real(sweep, out, executor, workers, *args, **kwargs)

    monkeypatch.setattr(sim.api, "sweep_into", spy)
    code, err = cli(capsys, "sweep", path, "--out", tmp_path / "out", "--workers", "2",
                    "--executor", "serial", "--quiet")
    assert code == 0, err
    assert asked == [1], "a one-point sweep gets one worker"


def _without_salib(monkeypatch) -> None:
    for name in [m for m in sys.modules if m == "SALib" or m.startswith("SALib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "SALib", None)


def test_a_sampled_design_without_salib_says_what_to_install(tmp_path, capsys,
                                                             monkeypatch) -> None:
    _without_salib(monkeypatch)
    for kind, samples in (("sobol", 2), ("morris", 2), ("latin_hypercube", 3)):
        path = write_sweep(tmp_path, {"kind": kind, "samples": samples, "parameters": SHARE})
        refused(capsys, ("sweep.yaml", "field 'design.kind'", "need SALib",
                         "pip install 'ccsim[sweep]'"),
                "sweep", path, "--out", tmp_path / "out", "--quiet")
    grid = write_sweep(tmp_path, {"kind": "grid", "parameters": {"cps.charge_share": [0.2]}})
    code, err = cli(capsys, "sweep", grid, "--out", tmp_path / "grid", "--executor", "serial",
                    "--quiet")
    assert code == 0, f"a grid needs no SALib: {err}"


def _run(capsys, path: Path, out: Path) -> pd.DataFrame:
    code, err = cli(capsys, "sweep", path, "--out", out, "--executor", "serial", "--quiet")
    assert code == 0, err
    return pd.read_csv(out / "summary.csv")


def test_repeated_grid_values_are_run_once_and_reported_for_every_point(tmp_path,
                                                                        capsys) -> None:
    path = write_sweep(tmp_path, {"kind": "grid", "parameters": {
        "pools.iopc.cases_per_staff": [1.5, 1.5, 2.5]}})
    summary = _run(capsys, path, tmp_path / "out")
    assert len(list((tmp_path / "out" / "points").glob("*.parquet"))) == 2
    assert list(summary.point) == [0, 1, 2]
    assert list(summary["pools.iopc.cases_per_staff"]) == [1.5, 1.5, 2.5]
    pd.testing.assert_series_equal(summary.iloc[0, 2:], summary.iloc[1, 2:],
                                   check_names=False)
    results = pd.read_parquet(tmp_path / "out" / "results.parquet")
    assert sorted(set(results.point)) == [0, 1, 2]


def test_one_parameter_sobol_is_analysed_in_the_samples_order(tmp_path, capsys) -> None:
    """With one parameter each block's AB row is its B row: stored once, yet SALib gets
    all 3N outputs in order, so S1 and ST are its estimators on those outputs."""
    bounds = {"pools.iopc.cases_per_staff": {"low": 1.0, "high": 3.0}}
    path = write_sweep(tmp_path, {"kind": "sobol", "samples": 4, "parameters": bounds})
    summary = _run(capsys, path, tmp_path / "out")
    assert len(summary) == 12
    assert len(list((tmp_path / "out" / "points").glob("*.parquet"))) == 8
    y = summary["iopc.open.end"].to_numpy(float)
    np.testing.assert_array_equal(y[1::3], y[2::3])
    yn = (y - y.mean()) / y.std()
    an, abn, bn = yn[0::3], yn[1::3], yn[2::3]
    var = np.var(np.r_[an, bn])
    sens = pd.read_csv(tmp_path / "out" / "sensitivity.csv").set_index(["metric", "index"])
    s1 = sens.loc[("iopc.open.end", "S1"), "value"]
    st = sens.loc[("iopc.open.end", "ST"), "value"]
    assert s1 == pytest.approx(np.mean(bn * (abn - an)) / var, rel=1e-5)
    assert st == pytest.approx(0.5 * np.mean((an - abn) ** 2) / var, rel=1e-5)
    assert np.isfinite(sens.loc[("iopc.open.end", "S1"), "conf95"])


def test_morris_trajectories_that_revisit_a_point_are_analysed(tmp_path, capsys) -> None:
    """Trajectories meet (16 points, fewer distinct): mu* is still the mean absolute
    elementary effect along every trajectory, computed here by hand."""
    path = write_sweep(tmp_path, {"kind": "morris", "samples": 4, "parameters": THREE},
                       metrics=["iopc.wait_days.mean", "psu.open.end"])  # both vary here
    summary = _run(capsys, path, tmp_path / "out")
    stored = len(list((tmp_path / "out" / "points").glob("*.parquet")))
    assert len(summary) == 16 and stored < 16, "the design revisits points"
    names = list(THREE)
    x = summary[names].to_numpy(float)
    span = np.array([THREE[n]["high"] - THREE[n]["low"] for n in names])
    sens = pd.read_csv(tmp_path / "out" / "sensitivity.csv").set_index(
        ["metric", "parameter", "index"])
    for metric in ("iopc.wait_days.mean", "psu.open.end"):
        y = summary[metric].to_numpy(float)
        effects: dict[int, list[float]] = {j: [] for j in range(3)}
        for t in range(4):
            for k in range(t * 4, t * 4 + 3):
                step = (x[k + 1] - x[k]) / span
                j = int(np.argmax(np.abs(step)))
                effects[j].append((y[k + 1] - y[k]) / step[j])
        for j, name in enumerate(names):
            mu_star = np.mean(np.abs(effects[j]))
            assert sens.loc[(metric, name, "mu_star"), "value"] == pytest.approx(
                mu_star, rel=1e-5, abs=1e-9), (metric, name)


def test_sensitivity_intervals_are_the_same_every_time_with_design_seed_0(tmp_path) -> None:
    """SALib's Sobol analysis takes seed 0 as 'unseeded'; ccsim's intervals do not vary."""
    path = write_sweep(tmp_path, {"kind": "sobol", "samples": 2, "parameters": {
        "pools.iopc.cases_per_staff": {"low": 1.0, "high": 3.0}, **SHARE}})
    sweep = load_sweep(path)
    assert sweep.spec.design.design_seed == 0
    table = sim.studies.sweep.runner.run_sweep(sweep, tmp_path / "out", "serial")
    wide = wide_summary(sweep, table)
    first = sensitivity(sweep, wide, ["iopc.open.end"])
    np.random.seed(12345)  # the global state SALib reads when it takes a seed as none
    again = sensitivity(sweep, wide, ["iopc.open.end"])
    pd.testing.assert_frame_equal(first, again)


# --------------------------------------------------------------------------- target CSVs


SHIPPED_LINES = TARGETS.read_text(encoding="utf-8").splitlines(True)
HEADER_AT = next(i for i, line in enumerate(SHIPPED_LINES) if line.startswith("target_id"))
HEAD = "".join(SHIPPED_LINES[:HEADER_AT + 1])
ROW = SHIPPED_LINES[HEADER_AT + 1]
FIRST_ROW_LINE = HEADER_AT + 2  # line numbers count from 1


def row_with(column: int, value: str) -> str:
    return _row_with_all({column: value})


def _row_with_all(values: dict[int, str]) -> str:
    fields = next(csv.reader([ROW]))
    for column, value in values.items():
        fields[column] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(fields)
    return out.getvalue()


def test_the_shipped_targets_quote_every_basis_holding_a_comma() -> None:
    rows = [r for r in csv.reader(line for line in SHIPPED_LINES if not line.startswith("#"))
            if r]
    assert {len(r) for r in rows} == {12}
    targets = load_targets(TARGETS)
    assert all(t.basis.startswith("sampling") and "definition" in t.basis for t in targets), (
        "every basis is read whole, its commas inside its quotes")


@pytest.mark.parametrize(("data", "note"), [
    (codecs.BOM_UTF8 + "".join(SHIPPED_LINES).encode("utf-8"), "UTF-8 with a BOM"),
    ("".join(SHIPPED_LINES).encode("utf-16"), "UTF-16 with a BOM (FF FE)"),
    ("".join(line if line.startswith("#") else "\t".join(next(csv.reader([line]))) + "\r\n"
             for line in SHIPPED_LINES).encode("utf-16"), "Excel's tab-separated UTF-16"),
])
def test_targets_saved_by_a_spreadsheet_are_read(tmp_path, data, note) -> None:
    path = tmp_path / "targets.csv"
    path.write_bytes(data)
    assert load_targets(path) == load_targets(TARGETS), note


def test_a_pound_sign_in_windows_1252_is_read(tmp_path) -> None:
    path = tmp_path / "targets.csv"
    path.write_bytes((HEAD + row_with(11, "cost £5 a case")).encode("cp1252"))
    assert load_targets(path)[0].basis == "cost £5 a case"


@pytest.mark.parametrize(("text", "words"), [
    (HEAD + ROW.rstrip("\n") + ",extra\n",
     (f"line {FIRST_ROW_LINE}", "13 fields where the header has 12", "double quotes")),
    (HEAD + ",".join(ROW.split(",")[:5]) + "\n",
     (f"line {FIRST_ROW_LINE}", "5 fields where the header has 12")),
    (HEAD + ROW + ROW.replace("S-01", '"S-01', 1),
     (f"row from line {FIRST_ROW_LINE + 1}", "malformed CSV", "each quote doubled")),
    (HEAD + row_with(9, "nan"), (f"line {FIRST_ROW_LINE}", "field 'sampling_sd'", "'nan'",
                                 "a finite number >= 0")),
    (HEAD + row_with(9, "inf"), ("field 'sampling_sd'", "'inf'")),
    (HEAD + row_with(10, "-0.05"), ("field 'definition_sd'", "'-0.05'")),
    (HEAD + row_with(8, "1e999"), (f"line {FIRST_ROW_LINE}", "field 'rounding_sd'", "'1e999'")),
    (HEAD + _row_with_all({8: "0", 9: "0", 10: "0"}),
     (f"line {FIRST_ROW_LINE}", "no observation error", "at least one part above 0")),
    (HEAD + row_with(4, "many"), ("field 'published'", "'many'")),
    (HEAD + row_with(7, "percent"), ("field 'sd_type'", "rel or abs")),
    (HEAD + row_with(2, "complaints.nonsense"),
     ("field 'metric'", "not a yearly model metric", "complaints.cases_per_year")),
    (HEAD + row_with(3, "2020-21"),
     ("field 'period'", "'2020-21'", "fiscal year 2019/20 to 2022/23", "month 2019-04")),
    (HEAD + row_with(3, "2030/31"), ("field 'period'", "'2030/31'")),
    (HEAD + row_with(3, "2021-05").replace("complaints.cases_per_year", "iopc.open.end"),
     ("field 'metric'", "not a monthly model metric", "iopc.open")),
    (HEAD + ROW + ROW, (f"line {FIRST_ROW_LINE + 1}", "field 'target_id'",
                        f"duplicate target id (first on line {FIRST_ROW_LINE})")),
    (HEAD, ("no targets in the file (a header only)",)),
    ("", ("the file is empty",)),
    (HEAD.replace(",basis", ",basis,notes") + ROW.rstrip("\n") + ",x\n",
     ("unknown column 'notes'",)),
    (HEAD.replace(",definition_sd", ""), ("the header lacks column definition_sd",)),
], ids=["too-many-fields", "too-few-fields", "unterminated-quote", "nan-error",
        "infinite-error", "negative-error", "overflowing-error", "no-error",
        "published-not-a-number", "unknown-error-type", "unknown-metric",
        "period-2020-21", "period-outside-the-run", "monthly-metric", "duplicate-id",
        "header-only", "empty", "unknown-column", "missing-column"])
def test_a_bad_targets_csv_is_refused_before_any_simulation(tmp_path, capsys, monkeypatch,
                                                            text, words) -> None:
    monkeypatch.setattr(sim.engine.run, "run_chunk", _no_simulation)
    path = tmp_path / "targets.csv"
    path.write_text(text, encoding="utf-8")
    refused(capsys, ("targets.csv", *words), "calibrate", "--targets", path, "--out",
            tmp_path / "cal", "--quiet")


def _no_simulation(*args, **kwargs):
    raise AssertionError("a simulation ran before the input was checked")


@pytest.mark.parametrize(("make", "words"), [
    (lambda p: p.mkdir(), ("is a directory",)),
    (lambda p: None, ("file not found",)),
    (lambda p: p.write_bytes(b"\xff\xfe" + b"\x00\xd8"), ("UTF-16 byte-order mark",
                                                           "not UTF-16 text")),
    (lambda p: p.write_bytes(HEAD.encode("utf-16-le")), ("NUL bytes",)),
    (lambda p: p.write_bytes(b"\x81\x8d" * 10), ("neither UTF-8 nor Windows-1252",)),
], ids=["directory", "missing", "bad-utf16", "utf16-without-bom", "binary"])
def test_a_targets_path_that_is_no_csv_is_refused(tmp_path, capsys, make, words) -> None:
    path = tmp_path / "targets.csv"
    make(path)
    refused(capsys, ("targets.csv", *words), "calibrate", "--targets", path, "--out",
            tmp_path / "cal", "--quiet")


def test_a_device_as_targets_is_refused(tmp_path, capsys) -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero here")
    refused(capsys, ("/dev/zero", "not a regular file"), "calibrate", "--targets",
            "/dev/zero", "--out", tmp_path / "cal", "--quiet")


def test_the_metric_names_a_target_may_use_are_those_a_run_reports() -> None:
    result = run_scenario(scenario_from_dict(small_dict(1, 0.5)), 1, 1)
    assert set(result.measured.yearly) == YEARLY_METRICS
    assert set(result.measured.monthly) == MONTHLY_METRICS


# --------------------------------------------------------------------------- ccsim target


TARGET = ["target", str(SHORT), "--lever", "pools.iopc.staff", "--metric",
          "iopc.open_over_12m.end", "--year", "2021/22", "--at-most", "3", "--reps", "2",
          "--quiet"]


@pytest.mark.parametrize(("extra", "words"), [
    (("--step", "inf"), ("field '--step'", "positive, finite", "got: inf")),
    (("--step", "0"), ("field '--step'", "positive, finite")),
    (("--step", "1e-12"), ("field '--step'", "a number from 1e-06")),
    (("--step", "1e-3", "--min", "0", "--max", "1e6"),
     ("field '--step'", "1,000,000,000 steps", "at most 1,048,576")),
    (("--min", "nan"), ("field '--min'", "must be a finite number", "got: nan")),
    (("--max", "inf"), ("field '--max'", "must be a finite number", "got: inf")),
    (("--min", "40", "--max", "30"), ("field '--max'", "below the minimum")),
    (("--confidence", "1.5"), ("field '--confidence'", "strictly between 0 and 1")),
    (("--confidence", "0"), ("field '--confidence'", "strictly between 0 and 1")),
    (("--confidence", "nan"), ("field '--confidence'", "got: nan")),
    (("--reps", "0"), ("field '--reps'", "got: 0", "from 1 to 100,000")),
    (("--seed", "-1"), ("field '--seed'", "got: -1")),
    (("--seed", str(2**64)), ("field '--seed'",)),
], ids=lambda v: "_".join(v) if isinstance(v, tuple) and v[0].startswith("--") else None)
def test_target_settings_that_cannot_be_searched_are_refused(capsys, monkeypatch, extra,
                                                              words) -> None:
    monkeypatch.setattr(sim.engine.run, "run_chunk", _no_simulation)
    refused(capsys, words, *TARGET, *extra)


def test_an_unmet_target_exits_with_its_documented_code(capsys) -> None:
    code = main([*TARGET[:-5], "--at-most", "-1", "--reps", "2", "--step", "20", "--max",
                 "60", "--quiet"])
    captured = capsys.readouterr()
    assert code == EXIT_TARGET_NOT_MET == 4, captured.err
    assert "not met with up to 50 IOPC investigators for Met cases" in captured.out
    with pytest.raises(SystemExit):
        main(["target", "--help"])
    assert "4 no value up to the maximum does" in " ".join(capsys.readouterr().out.split())
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert "| 4 | `ccsim target` found no value" in readme


# --------------------------------------------------------------------------- parameter draws


def calibration_copy(tmp: Path) -> Path:
    """parameters.csv and posterior.csv of the shipped calibration (no covariance.csv: the
    draws no longer need it)."""
    folder = tmp / "cal"
    folder.mkdir()
    for name in ("parameters.csv", "posterior.csv"):
        shutil.copy(CALIBRATION / name, folder / name)
    return folder


def _set_cell(path: Path, line: int, column: str, new: str) -> None:
    """Set one CSV cell (its header's `column`, on file line `line`), whatever it held."""
    rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    rows[line - 1][rows[0].index(column)] = new
    _write_rows(path, rows)


def _write_rows(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)


def _edit_columns(path: Path, edit) -> None:
    """Apply `edit` to the list of each row's cells (the header's too)."""
    rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    _write_rows(path, [edit(row) for row in rows])


def _swap(row: list[str], i: int, j: int) -> list[str]:
    row = list(row)
    row[i], row[j] = row[j], row[i]
    return row


def _edit(path: Path, old: str, new: str, line: int) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(True)
    assert old in lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    path.write_text("".join(lines), encoding="utf-8")


POSTERIOR_HEADER = "allowed: the header draw,psu_effort_complaints,psu_effort_conduct,"


@pytest.mark.parametrize(("spoil", "words"), [
    (lambda d: (d / "parameters.csv").write_text(""), ("parameters.csv", "the file is empty")),
    (lambda d: (d / "parameters.csv").write_text(
        (CALIBRATION / "parameters.csv").read_text().splitlines(True)[0]),
     ("parameters.csv", "no rows after the header")),
    (lambda d: (d / "parameters.csv").write_text('a,b\n"x\n'),
     ("parameters.csv", "not a readable CSV")),
    (lambda d: (d / "parameters.csv").write_text("parameter,estimate\nx,1\n"),
     ("parameters.csv", "missing columns paths, lower_bound, upper_bound")),
    (lambda d: _set_cell(d / "parameters.csv", 2, "estimate", "nan"),
     ("parameters.csv, line 2", "field 'estimate'", "not a finite number")),
    (lambda d: _set_cell(d / "parameters.csv", 2, "estimate", "9999"),
     ("parameters.csv, line 2", "field 'estimate'", "outside its bounds")),
    (lambda d: _edit(d / "parameters.csv", "pools.psu.investigation_days.complaints.mean",
                     "pools.psu.nothing", 2),
     ("parameters.csv, line 2", "field 'paths'", "'pools.psu.nothing' is not a number")),
    # the posterior sample: one row a draw, one column a parameter of parameters.csv
    (lambda d: (d / "posterior.csv").unlink(),
     ("posterior.csv", "calibration file not found", "run `ccsim calibrate`",
      "or --fixed-parameters")),
    (lambda d: (d / "posterior.csv").write_text(""), ("posterior.csv", "the file is empty")),
    (lambda d: (d / "posterior.csv").write_text(
        (d / "posterior.csv").read_text().splitlines(True)[0]),
     ("posterior.csv", "no rows after the header")),
    (lambda d: (d / "posterior.csv").write_text(
        (d / "posterior.csv").read_text() + "1,2,3\n" + "4," * 40 + "\n"),
     ("posterior.csv", "not a readable CSV")),
    (lambda d: _edit_columns(d / "posterior.csv", lambda row: row[:2] + row[3:]),
     ("posterior.csv, line 1", "missing column psu_effort_conduct",
      "must match parameters.csv", POSTERIOR_HEADER)),
    (lambda d: _edit_columns(d / "posterior.csv", lambda row: row[1:]),
     ("posterior.csv, line 1", "missing column draw", POSTERIOR_HEADER)),
    (lambda d: _edit(d / "posterior.csv", "hearing_days", "hearing_dayz", 1),
     ("posterior.csv, line 1", "missing column hearing_days", "unknown column hearing_dayz")),
    (lambda d: _edit_columns(d / "posterior.csv", lambda row: _swap(row, 1, 2)),
     ("posterior.csv, line 1", "columns out of order", POSTERIOR_HEADER)),
    (lambda d: _set_cell(d / "posterior.csv", 3, "hearing_days", "abc"),
     ("posterior.csv, line 3", "field 'hearing_days'", "not a finite number", "got: 'abc'",
      "allowed: a finite number")),
    (lambda d: _set_cell(d / "posterior.csv", 4, "iopc_effort", "inf"),
     ("posterior.csv, line 4", "field 'iopc_effort'", "not a finite number", "got: 'inf'")),
    (lambda d: _set_cell(d / "posterior.csv", 5, "psu_effort_conduct", ""),
     ("posterior.csv, line 5", "field 'psu_effort_conduct'", "not a finite number")),
    (lambda d: _set_cell(d / "posterior.csv", 6, "psu_case_to_answer", "9999"),
     ("posterior.csv, line 6", "field 'psu_case_to_answer'", "outside the parameter's bounds",
      "got: 9999", "lower_bound and upper_bound in parameters.csv")),
], ids=["params-empty", "params-header-only", "params-malformed", "params-columns",
        "estimate-nan", "estimate-out-of-bounds", "path-unknown", "posterior-missing",
        "posterior-empty", "posterior-header-only", "posterior-malformed",
        "posterior-column-missing", "posterior-draw-missing", "posterior-column-unknown",
        "posterior-columns-out-of-order", "posterior-not-a-number", "posterior-infinite",
        "posterior-blank", "posterior-out-of-bounds"])
def test_a_bad_calibration_for_parameter_draws_is_refused(tmp_path, capsys, monkeypatch,
                                                          spoil, words) -> None:
    monkeypatch.setattr(sim.engine.run, "run_chunk", _no_simulation)
    folder = calibration_copy(tmp_path)
    spoil(folder)
    refused(capsys, words, "run", SHORT, "--reps", "2", "--quiet", "--out", tmp_path / "run",
            "--parameter-uncertainty", folder)
    assert not (tmp_path / "run").exists()


def test_the_posterior_is_read_as_it_is_written(tmp_path) -> None:
    """Each row a draw, the columns in parameters.csv's order (pre2020 ones too), with no
    covariance.csv needed; any number of rows; the format, not the shipped numbers."""
    folder = calibration_copy(tmp_path)
    params = pd.read_csv(folder / "parameters.csv")
    rows = [["draw", *params.parameter], *([str(i), *map(str, params.estimate)]
                                            for i in range(3))]
    _write_rows(folder / "posterior.csv", rows)
    s = scenario_from_dict(small_dict(1, 0.5))
    posterior = sim.studies.parameter_uncertainty.check_uncertainty(s, folder, 2)
    assert posterior.draws.shape == (3, len(params))
    np.testing.assert_array_equal(posterior.draws[1], params.estimate.to_numpy(float))
    shipped = sim.studies.parameter_uncertainty.load_posterior(CALIBRATION)
    assert shipped.draws.shape[1] == len(params) and len(shipped.draws) >= 1


@pytest.mark.parametrize("command", ["run", "compare", "target", "brief"])
def test_drawn_and_fixed_parameters_together_are_refused(command, capsys, monkeypatch) -> None:
    monkeypatch.setattr(sim.engine.run, "run_chunk", _no_simulation)
    args = {"run": ["run", SHORT], "compare": ["compare", SHORT, SHORT],
            "target": ["target", SHORT, "--lever", "pools.iopc.staff", "--metric",
                       "iopc.open.end", "--year", "2021/22", "--at-most", "5"],
            "brief": ["brief"]}[command]
    for flags in (["--fixed-parameters", "--parameter-uncertainty"],
                  ["--parameter-uncertainty", str(CALIBRATION), "--fixed-parameters"]):
        refused(capsys, ("--parameter-uncertainty", "--fixed-parameters", "not allowed with"),
                *args, "--reps", "2", "--quiet", *flags)


def test_parameter_draw_settings_are_checked(tmp_path, capsys) -> None:
    refused(capsys, ("field '--reps-per-draw'", "got: 0", ">= 1"), "run", SHORT, "--reps",
            "2", "--quiet", "--out", tmp_path / "run", "--parameter-uncertainty",
            "--reps-per-draw", "0")
    refused(capsys, ("field '--reps-per-draw'", "got: 0", ">= 1"), "run", SHORT, "--reps",
            "2", "--quiet", "--out", tmp_path / "run", "--reps-per-draw", "0")
    refused(capsys, ("short_horizon.yaml", "field '--parameter-uncertainty'", "not a folder"),
            "run", SHORT, "--reps", "2", "--quiet", "--out", tmp_path / "run",
            "--parameter-uncertainty", SHORT)


def test_parameter_draws_run_in_planned_chunks_with_the_same_results(monkeypatch) -> None:
    """A group of replications per draw is split as the memory planner says (as a plain
    run is), so 2,000 replications per draw no longer means one 2,000-replication array;
    the results do not depend on it."""
    s = scenario_from_dict(small_dict(1, 0.5))
    whole = sim.studies.parameter_uncertainty.run_with_parameter_uncertainty(
        s, 6, 3, "compiled", CALIBRATION, reps_per_draw=6)
    sizes = []
    real = sim.engine.run.run_chunk

    def counted(scenario, timeline, regimes, chunk, seed, engine):
        sizes.append(len(chunk))
        return real(scenario, timeline, regimes, chunk, seed, engine)

    monkeypatch.setattr(sim.engine.run, "run_chunk", counted)
    monkeypatch.setattr(sim.engine.run, "MAX_CHUNK", 2)
    split = sim.studies.parameter_uncertainty.run_with_parameter_uncertainty(
        s, 6, 3, "compiled", CALIBRATION, reps_per_draw=6)
    assert sizes == [2, 2, 2]
    for name, values in whole.measured.summary.items():
        np.testing.assert_array_equal(values, split.measured.summary[name], err_msg=name)
