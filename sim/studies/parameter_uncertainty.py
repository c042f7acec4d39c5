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

import copy
import io
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.engine.engines import DEFAULT_ENGINE
from sim.engine.randomness import stream
from sim.engine.run import DRAWN_PARAMETERS, Group, RunResult, run_scenario
from sim.errors import InputError
from sim.files.reading import read_text
from sim.files.shipped import shipped_path
from sim.model.fields import get_path, values_at
from sim.model.scenario import Scenario
from sim.studies.calibration.fit import is_pre2020

DEFAULT_DIR = shipped_path("calibration")
REPS_PER_DRAW = 10


PARAMETER_COLUMNS = ("parameter", "paths", "estimate", "lower_bound", "upper_bound")
MADE_BY = "a parameters.csv and covariance.csv as `ccsim calibrate` writes them"


def load_posterior(calibration_dir: Path = DEFAULT_DIR) -> tuple[pd.DataFrame, np.ndarray]:
    """parameters.csv and covariance.csv of a calibration, checked against each other; any
    problem (empty, malformed, a bound or estimate missing or not finite) is an InputError
    naming the file and, where it is one, the line and column."""
    calibration_dir = Path(calibration_dir)
    pfile, cfile = calibration_dir / "parameters.csv", calibration_dir / "covariance.csv"
    for f in (pfile, cfile):
        if not f.exists():
            raise InputError("calibration file not found (run `ccsim calibrate` first)", file=f)
    params = _read_csv(pfile, "a calibration's parameters.csv")
    _check_parameters(params, pfile)
    cov = _read_csv(cfile, "a calibration's covariance.csv", index_col="parameter")
    names = list(params.parameter)
    if list(cov.index) != names or list(cov.columns) != names:
        raise InputError("covariance.csv does not match parameters.csv", file=cfile,
                         allowed=f"rows and columns named as the parameters, in order:"
                                 f" {', '.join(names)}")
    matrix = cov.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    bad = np.argwhere(~np.isfinite(matrix))
    if bad.size:
        i, j = bad[0]
        raise InputError("not a finite number", file=f"{cfile}, line {i + 2}",
                         field=names[j], value=cov.iloc[i, j], allowed="a finite number")
    return params, matrix


def _read_csv(path: Path, what: str, **options) -> pd.DataFrame:
    """A CSV read through the one input gate, as pandas parses it."""
    text = read_text(path, what=what)
    if not text.strip():
        raise InputError("the file is empty", file=path, allowed=MADE_BY)
    try:
        frame = pd.read_csv(io.StringIO(text), **options)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise InputError(f"not a readable CSV ({str(exc).strip()})", file=path,
                         allowed=MADE_BY) from None
    if frame.empty:
        raise InputError("no rows after the header", file=path, allowed=MADE_BY)
    return frame


def _check_parameters(params: pd.DataFrame, path: Path) -> None:
    """Every column the draws use is there; each row's estimate and bounds are finite and
    ordered, with an estimate other than 0 (a draw enters as draw / estimate)."""
    missing = [c for c in PARAMETER_COLUMNS if c not in params.columns]
    if missing:
        raise InputError(f"missing column{'s' if len(missing) > 1 else ''}"
                         f" {', '.join(missing)}", file=path, allowed=MADE_BY)
    names = params.parameter.astype(str).tolist()
    for i, (_, row) in enumerate(params.iterrows()):
        where = f"{path}, line {i + 2}"
        if not isinstance(row.parameter, str) or names.count(row.parameter) > 1:
            raise InputError("a parameter name missing or given twice", file=where,
                             field="parameter", value=row.parameter,
                             allowed="a name used once")
        if not isinstance(row.paths, str) or not row.paths.strip():
            raise InputError("no scenario field named", file=where, field="paths",
                             value=row.paths, allowed="PATH x COEFFICIENT; PATH x ...")
        numbers = {}
        for column in ("estimate", "lower_bound", "upper_bound"):
            try:
                numbers[column] = float(row[column])
            except (TypeError, ValueError):
                numbers[column] = math.nan
            if not math.isfinite(numbers[column]):
                raise InputError("not a finite number", file=where, field=column,
                                 value=row[column], allowed="a finite number")
        if not numbers["lower_bound"] <= numbers["estimate"] <= numbers["upper_bound"]:
            raise InputError("the estimate is outside its bounds", file=where,
                             field="estimate", value=numbers["estimate"],
                             allowed=f"from lower_bound {numbers['lower_bound']:g} to"
                                     f" upper_bound {numbers['upper_bound']:g}")
        if numbers["estimate"] == 0:
            raise InputError("an estimate of 0 cannot scale the scenario's value",
                             file=where, field="estimate", value=0.0,
                             allowed="a number other than 0")


def check_paths(scenario: Scenario, params: pd.DataFrame, path: Path) -> None:
    """Every field a parameter scales is a number in the scenario (`pre2020:` ones are
    skipped, as in `perturbed`): refused before any simulation, naming the line."""
    data = scenario.to_dict()
    for i, (_, row) in enumerate(params.iterrows()):
        for item in str(row.paths).split("; "):
            field = item.split(" x ")[0].strip()
            if is_pre2020(field):
                continue
            found = values_at(data, field)
            if not found or not all(isinstance(v, int | float) and not isinstance(v, bool)
                                    for v in found):
                raise InputError(f"'{field}' is not a number in the scenario"
                                 f" '{scenario.name}'", file=f"{path}, line {i + 2}",
                                 field="paths", value=row.paths,
                                 allowed="dotted paths to numeric scenario fields")


def check_uncertainty(scenario: Scenario, calibration_dir: Path, reps_per_draw: int
                      ) -> tuple[pd.DataFrame, np.ndarray]:
    """The posterior for `--parameter-uncertainty`, every input checked before any run."""
    if reps_per_draw < 1:
        raise InputError("replications per parameter draw must be at least 1",
                         field="--reps-per-draw", value=reps_per_draw,
                         allowed="a whole number >= 1")
    calibration_dir = Path(calibration_dir)
    if not calibration_dir.is_dir():
        raise InputError("not a folder (the calibration folder holding parameters.csv and"
                         " covariance.csv)", file=calibration_dir,
                         field="--parameter-uncertainty",
                         allowed="a folder written by `ccsim calibrate`, e.g. calibration/")
    params, cov = load_posterior(calibration_dir)
    check_paths(scenario, params, calibration_dir / "parameters.csv")
    return params, cov


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
    changes: dict[str, Any] = {}
    levers = copy.deepcopy(data.get("levers", []))
    factors = draw / params.estimate.to_numpy(float)
    for (_, row), f in zip(params.iterrows(), factors, strict=True):
        for item in str(row.paths).split("; "):
            path = item.split(" x ")[0]
            if is_pre2020(path):
                continue
            changes[path] = changes.get(path, get_path(data, path)) * f
            for lever in levers:
                if path in lever["set"] and isinstance(lever["set"][path], int | float):
                    lever["set"][path] *= f
    if levers:
        changes["levers"] = levers
    changes.update(_capped_officer_shares(data, changes))
    return scenario.with_changes(changes, source=f"{scenario.name} with drawn parameters")


def _capped_officer_shares(data: dict[str, Any], changes: dict[str, Any]) -> dict[str, float]:
    """Suspended + restricted is at most 1 per pool: a drawn pair scaled down if needed."""
    capped = {}
    for pool in ("iopc", "dps", "psu"):
        paths = (f"officers.suspended.{pool}", f"officers.restricted.{pool}")
        values = [changes.get(p, get_path(data, p)) for p in paths]
        total = sum(values)
        if total > 1:
            capped.update({p: v / total for p, v in zip(paths, values, strict=True)})
    return capped


def parameter_groups(scenario: Scenario, reps: int, seed: int, params: pd.DataFrame,
                     cov: np.ndarray, reps_per_draw: int = REPS_PER_DRAW) -> list[Group]:
    """Replications in groups of `reps_per_draw`, group g with the scenario under parameter
    draw g (stream (seed, g, "parameters"))."""
    return [Group(perturbed(scenario, params, draw_parameters(params, cov,
                                                              stream(seed, g, "parameters"))),
                  range(first, min(first + reps_per_draw, reps)))
            for g, first in enumerate(range(0, reps, reps_per_draw))]


def run_with_parameter_uncertainty(
    scenario: Scenario, reps: int, seed: int, engine: str = DEFAULT_ENGINE,
    calibration_dir: Path = DEFAULT_DIR, reps_per_draw: int = REPS_PER_DRAW,
    progress: Callable[[int], None] | None = None, workers: int | None = None,
    chunk_size: int | None = None, posterior: tuple[pd.DataFrame, np.ndarray] | None = None,
) -> RunResult:
    """Like `run_scenario` (and through it: the same chunks, workers and memory planning),
    with a parameter set drawn per group of replications; the results do not depend on the
    chunks or workers. `posterior`: the calibration as `check_uncertainty` loaded it."""
    params, cov = posterior or check_uncertainty(scenario, calibration_dir, reps_per_draw)
    groups = parameter_groups(scenario, reps, seed, params, cov, reps_per_draw)
    return run_scenario(scenario, reps, seed, engine, chunk_size, progress, workers,
                        groups=groups, parameters=uncertainty_note(calibration_dir,
                                                                   reps_per_draw))


def uncertainty_note(calibration_dir: Path, reps_per_draw: int) -> str:
    """How a run's parameters were drawn, for its manifest and report."""
    return (f"{DRAWN_PARAMETERS} in {calibration_dir} (parameters.csv,"
            f" covariance.csv), one draw per {reps_per_draw} replications")


__all__ = ["check_uncertainty", "draw_parameters", "load_posterior", "parameter_groups",
           "perturbed", "run_with_parameter_uncertainty", "uncertainty_note"]
