"""Determinism: one seed, one answer, however the work is split.

A run's files are identical whatever `--chunk-size` and `--workers` say, on either engine;
a sweep's results are identical whatever the number of workers. (tests/test_sweep.py checks
that the serial, local and Dask executors agree; tests/test_functional.py that chunk sizes
agree in-process for the DES. Here: the files a planner reads, both engines, and the
worker counts.)
"""

from __future__ import annotations

import threading
from pathlib import Path

import numba
import numpy as np
import pandas as pd
import pytest
import yaml

from sim.cli import main
from sim.engine.engines.compiled import CompiledEngine
from sim.engine.regimes import Regimes
from sim.model.scenario import scenario_from_dict
from sim.model.timeline import Timeline
from sim.studies.sweep.design import load_sweep
from sim.studies.sweep.runner import run_sweep
from tests.conftest import small_dict

ENGINES = ("des", "compiled")
COMPARED = ("summary.csv", "yearly.csv")


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("det") / "small.yaml"
    path.write_text(yaml.safe_dump(small_dict(horizon_years=1, warmup_years=0.5)))
    return path


def run(scenario: Path, out: Path, engine: str, *extra: str) -> Path:
    assert main(["run", str(scenario), "--reps", "5", "--seed", "42", "--engine", engine,
                 "--out", str(out), "--quiet", *extra]) == 0
    return out


@pytest.mark.parametrize("engine", ENGINES)
def test_chunk_size_and_workers_do_not_change_the_files(scenario: Path, tmp_path: Path,
                                                         engine: str) -> None:
    splits = {
        "one chunk": ("--chunk-size", "5", "--workers", "1"),
        "chunks of 1": ("--chunk-size", "1", "--workers", "1"),
        "chunks of 2, 2 workers": ("--chunk-size", "2", "--workers", "2"),
        "default chunks, 3 workers": ("--workers", "3"),
    }
    outs = {name: run(scenario, tmp_path / name.replace(" ", "_").replace(",", ""), engine,
                      *args) for name, args in splits.items()}
    first, *others = outs
    for name in others:
        for file in COMPARED:
            assert (outs[name] / file).read_bytes() == (outs[first] / file).read_bytes(), (
                f"{engine}: {file} differs between '{first}' and '{name}'")
        pd.testing.assert_frame_equal(pd.read_parquet(outs[first] / "timeseries.parquet"),
                                      pd.read_parquet(outs[name] / "timeseries.parquet"))


def test_other_seed_other_files(scenario: Path, tmp_path: Path) -> None:
    """The check above is not vacuous: the files do depend on the seed."""
    a = run(scenario, tmp_path / "a", "des", "--workers", "1")
    assert main(["run", str(scenario), "--reps", "5", "--seed", "43", "--engine", "des",
                 "--out", str(tmp_path / "b"), "--quiet", "--workers", "1"]) == 0
    assert (a / "summary.csv").read_bytes() != (tmp_path / "b" / "summary.csv").read_bytes()


def write_sweep(tmp: Path) -> Path:
    (tmp / "base.yaml").write_text(yaml.safe_dump(small_dict(horizon_years=1,
                                                             warmup_years=0.5)))
    spec = {"name": "det", "base": "base.yaml", "reps": 2, "seed": 8,
            "metrics": ["psu.open.end", "iopc.open.end", "met.duration_wd.mean"],
            "design": {"kind": "grid",
                       "parameters": {"pools.psu.cases_per_staff": [4, 5, 6]}}}
    path = tmp / "sweep.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_sweep_results_do_not_depend_on_the_number_of_workers(tmp_path: Path) -> None:
    path = write_sweep(tmp_path)
    serial = run_sweep(load_sweep(path), tmp_path / "serial", "serial")
    for workers in (1, 3):
        table = run_sweep(load_sweep(path), tmp_path / f"local{workers}", "local", workers)
        pd.testing.assert_frame_equal(serial, table, obj=f"local pool, {workers} workers")


@pytest.mark.slow
def test_sweep_on_one_dask_worker_equals_serial(tmp_path: Path) -> None:
    pytest.importorskip("dask.distributed")
    path = write_sweep(tmp_path)
    serial = run_sweep(load_sweep(path), tmp_path / "serial", "serial")
    table = run_sweep(load_sweep(path), tmp_path / "dask1", "dask", 1)
    pd.testing.assert_frame_equal(serial, table)


def test_compiled_threads_do_not_change_the_numbers() -> None:
    """The compiled kernel spreads a chunk over numba's threads from the main thread and runs
    it on the calling thread elsewhere (worker threads and processes): the same bins."""
    s = scenario_from_dict(small_dict(horizon_years=1, warmup_years=0.5))
    tl = Timeline.for_scenario(s)
    regimes = Regimes.for_scenario(s, tl)

    def measured(threads: int | None = None) -> dict:
        if threads:
            numba.set_num_threads(threads)
        return CompiledEngine().measure(s, tl, regimes, range(3, 9), 5).summary

    parallel, one_thread = measured(), measured(1)
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    box: dict = {}
    worker = threading.Thread(target=lambda: box.update(serial=measured()))
    worker.start()
    worker.join()
    for name, values in parallel.items():
        np.testing.assert_array_equal(values, one_thread[name], err_msg=name)
        np.testing.assert_array_equal(values, box["serial"][name], err_msg=name)
