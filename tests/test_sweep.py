"""Sweeps: designs, resumption after interruption, and identical results on every executor."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from sim.cli import main
from sim.errors import InputError
from sim.outputs.sweep_folder import write_analysis
from sim.studies.sweep.design import load_sweep
from sim.studies.sweep.runner import PointStore, plan, run_sweep
from tests.conftest import small_dict


def write_sweep(tmp: Path, design: dict, reps: int = 2, **extra) -> Path:
    (tmp / "base.yaml").write_text(yaml.safe_dump(small_dict(horizon_years=1,
                                                             warmup_years=0.5)))
    spec = {"name": "t", "base": "base.yaml", "reps": reps, "seed": 4,
            "metrics": ["iopc.open.end", "psu.open.end"], "design": design, **extra}
    path = tmp / "sweep.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


GRID = {"kind": "grid", "parameters": {"pools.iopc.staff.*.value": [30, 45],
                                       "cps.charge_share": [0.1, 0.2]}}


def test_grid_design_points(tmp_path: Path) -> None:
    sweep = load_sweep(write_sweep(tmp_path, GRID))
    assert len(sweep.points) == 4
    s = sweep.scenario(sweep.points[0])
    assert all(step.value == 30 for step in s.pools.iopc.staff)


def test_sampled_designs(tmp_path: Path) -> None:
    params = {"pools.iopc.cases_per_staff": {"low": 1.5, "high": 2.5},
              "cps.charge_share": {"low": 0.1, "high": 0.3}}
    for kind, samples, count in (("latin_hypercube", 5, 5), ("sobol", 4, 16),
                                 ("morris", 3, 9)):
        sweep = load_sweep(write_sweep(tmp_path, {"kind": kind, "samples": samples,
                                                  "parameters": params}))
        assert len(sweep.points) == count, kind
        values = [p["cps.charge_share"] for p in sweep.points]
        assert min(values) >= 0.1 and max(values) <= 0.3


def test_serial_local_pool_and_dask_agree(tmp_path: Path) -> None:
    pytest.importorskip("dask.distributed")
    sweep_file = write_sweep(tmp_path, GRID)
    tables = {}
    for executor in ("serial", "local", "dask"):
        sweep = load_sweep(sweep_file)
        tables[executor] = run_sweep(sweep, tmp_path / executor, executor, workers=2)
    pd.testing.assert_frame_equal(tables["serial"], tables["local"])
    pd.testing.assert_frame_equal(tables["serial"], tables["dask"])


def test_interrupted_sweep_resumes_to_the_same_results(tmp_path: Path) -> None:
    sweep = load_sweep(write_sweep(tmp_path, GRID))
    whole = run_sweep(sweep, tmp_path / "whole", "serial")
    # an interruption: only the first two points were written before the stop
    store, tasks = PointStore(tmp_path / "cut"), plan(sweep)
    from sim.studies.sweep.runner import run_point

    args = (sweep.spec.reps, sweep.spec.seed, sweep.spec.engine, sweep.spec.metrics)
    for task in tasks[:2]:
        store.write(task, run_point(task.scenario, *args), sweep.parameters)
    ran = []
    resumed = run_sweep(sweep, tmp_path / "cut", "serial", progress=ran.append)
    assert ran[0] == 2, "the two finished points count as done at once"
    assert sum(ran) == 4
    pd.testing.assert_frame_equal(whole, resumed)


SOBOL_PARAMS = {"pools.psu.investigation_days.*.mean": {"low": 150, "high": 220},
                "cps.charge_share": {"low": 0.1, "high": 0.3}}


def run_small_sobol_sweep(tmp_path: Path) -> tuple[Path, Path]:
    """`ccsim sweep` of a two-parameter Sobol design at one replication: (file, folder)."""
    path = write_sweep(tmp_path, {"kind": "sobol", "samples": 2, "parameters": SOBOL_PARAMS},
                       reps=1)
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--executor", "serial",
                 "--quiet"]) == 0
    return path, out


def test_cli_sweep_writes_analysis(tmp_path: Path) -> None:
    _, out = run_small_sobol_sweep(tmp_path)
    for name in ("results.parquet", "summary.csv", "sensitivity.csv"):
        assert (out / name).is_file(), name
    sens = pd.read_csv(out / "sensitivity.csv")
    assert set(sens["index"]) == {"S1", "ST"} and "conf95" in sens


def test_grid_analysis_charts(tmp_path: Path) -> None:
    sweep = load_sweep(write_sweep(tmp_path, GRID, reps=1))
    table = run_sweep(sweep, tmp_path / "g", "serial")
    written = write_analysis(sweep, table, tmp_path / "g")
    assert any(p.name.startswith("grid_") for p in written)


@pytest.mark.parametrize(
    ("design", "words"),
    [
        ({"kind": "grid", "parameters": {}}, ["design.grid.parameters", "at least 1"]),
        ({"kind": "list", "points": []}, ["design.list.points", "at least 1"]),
        ({"kind": "grid", "parameters": {"pools.iopc.staf": [1]}}, ["does not name a field"]),
        ({"kind": "grid", "parameters": {"cps.charge_share": [1.5]}}, ["invalid scenario",
                                                                       "charge_share"]),
        ({"kind": "sobol", "samples": 3, "parameters": {"cps.charge_share":
                                                        {"low": 0.1, "high": 0.2}}},
         ["power of 2"]),
        ({"kind": "latin_hypercube", "samples": 3, "parameters": {"cps.charge_share":
                                                                  {"low": 0.3, "high": 0.2}}},
         ["must be below high"]),
    ],
)
def test_bad_sweep_files(tmp_path: Path, design: dict, words: list[str]) -> None:
    with pytest.raises(InputError) as info:
        load_sweep(write_sweep(tmp_path, design))
    for w in words:
        assert w in str(info.value), f"{w!r} not in {info.value}"
