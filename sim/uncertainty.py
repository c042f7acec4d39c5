"""Parameter uncertainty: spread the calibration's uncertainty over a run's replications.

Replications are split into groups of `reps_per_draw`; group g runs with a parameter set
drawn from the calibration's approximate posterior (a normal with the fitted estimate and
covariance, clipped to the parameters' bounds). A fitted parameter enters as a factor on the
scenario's own value (draw / estimate), so a scenario that changes a fitted field (a lever,
an uplift) keeps its change. Draw g uses the stream (seed, g, "parameters"); replication r
keeps its own streams; so the same seed gives the same result, and the forecast interval
holds both chance and calibration uncertainty. Parameters on `pre2020:` paths (the old
regulations, used only by the calibration variant) are skipped: no scenario has those fields.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from sim.calibrate import is_pre2020
from sim.engines import DEFAULT_ENGINE, get_engine
from sim.errors import InputError
from sim.levers import Regimes
from sim.metrics import Measured
from sim.paths import get_path, set_path
from sim.randomness import stream
from sim.run import RunResult, _now, check_run_size, run_chunk
from sim.scenario import Scenario, scenario_from_dict
from sim.timeline import Timeline

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "calibration"
REPS_PER_DRAW = 10


def load_posterior(calibration_dir: Path = DEFAULT_DIR) -> tuple[pd.DataFrame, np.ndarray]:
    """parameters.csv and covariance.csv of a calibration, checked against each other."""
    calibration_dir = Path(calibration_dir)
    pfile, cfile = calibration_dir / "parameters.csv", calibration_dir / "covariance.csv"
    for f in (pfile, cfile):
        if not f.exists():
            raise InputError("calibration file not found (run `ccsim calibrate` first)", file=f)
    params = pd.read_csv(pfile)
    cov = pd.read_csv(cfile, index_col="parameter")
    if list(cov.index) != list(params.parameter) or list(cov.columns) != list(params.parameter):
        raise InputError("covariance.csv does not match parameters.csv", file=cfile)
    return params, cov.to_numpy(dtype=float)


def draw_parameters(params: pd.DataFrame, cov: np.ndarray, rng: np.random.Generator
                    ) -> np.ndarray:
    """One draw from N(estimate, cov) clipped to the bounds (a PSD square root of cov)."""
    vals, vecs = np.linalg.eigh((cov + cov.T) / 2)
    root = vecs * np.sqrt(np.clip(vals, 0, None))
    z = rng.standard_normal(len(params))
    x = params.estimate.to_numpy(float) + root @ z
    return np.clip(x, params.lower_bound.to_numpy(float), params.upper_bound.to_numpy(float))


def perturbed(scenario: Scenario, params: pd.DataFrame, draw: np.ndarray) -> Scenario:
    """The scenario with each fitted field multiplied by draw / estimate (levers too);
    `pre2020:` parameters are skipped."""
    data = scenario.to_dict()
    factors = draw / params.estimate.to_numpy(float)
    for (_, row), f in zip(params.iterrows(), factors, strict=True):
        for item in str(row.paths).split("; "):
            path = item.split(" x ")[0]
            if is_pre2020(path):
                continue
            set_path(data, path, get_path(data, path) * f)
            for lever in data.get("levers", []):
                if path in lever["set"] and isinstance(lever["set"][path], int | float):
                    lever["set"][path] *= f
    _cap_officer_shares(data)
    return scenario_from_dict(data)


def _cap_officer_shares(data: dict) -> None:
    """Suspended + restricted is at most 1 per pool: scale a drawn pair down if needed."""
    off = data["officers"]
    for pool in ("iopc", "dps", "psu"):
        total = off["suspended"][pool] + off["restricted"][pool]
        if total > 1:
            off["suspended"][pool] /= total
            off["restricted"][pool] /= total


def run_with_parameter_uncertainty(
    scenario: Scenario, reps: int, seed: int, engine: str = DEFAULT_ENGINE,
    calibration_dir: Path = DEFAULT_DIR, reps_per_draw: int = REPS_PER_DRAW,
    progress: Callable[[int], None] | None = None,
) -> RunResult:
    """Like `run_scenario`, with a parameter set drawn per group of replications."""
    check_run_size(reps, seed)
    if reps_per_draw < 1:
        raise InputError("replications per parameter draw must be positive",
                         field="--reps-per-draw", value=reps_per_draw, allowed="1 or more")
    params, cov = load_posterior(calibration_dir)
    get_engine(engine, scenario)  # refuse an unknown engine up front
    started = _now()
    parts = []
    for g, first in enumerate(range(0, reps, reps_per_draw)):
        group = range(first, min(first + reps_per_draw, reps))
        drawn = perturbed(scenario, params, draw_parameters(params, cov,
                                                             stream(seed, g, "parameters")))
        timeline = Timeline.for_scenario(drawn)
        regimes = Regimes.for_scenario(drawn, timeline)
        parts.append(run_chunk(drawn, timeline, regimes, seed, engine, group))
        if progress:
            progress(len(group))
    timeline = Timeline.for_scenario(scenario)
    return RunResult(scenario, timeline, engine, reps, seed, Measured.concat(parts),
                     started, _now())


__all__ = ["draw_parameters", "load_posterior", "perturbed", "run_with_parameter_uncertainty"]
