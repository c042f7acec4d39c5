"""Parameter uncertainty: spread the calibration's posterior over a run's replications.

Replications are split into groups of `reps_per_draw` (by default 1: each replication its
own draw, so replications stay independent draws of the forecast and the intervals that
treat them so hold; in larger groups they are correlated within a group and those
intervals are too narrow). Group g runs with one row of the calibration's posterior sample
(`posterior.csv`: equally weighted draws, one column per parameter of `parameters.csv`),
the row chosen by the stream (seed, g, "parameters"). So the same seed gives the same
draws, and every scenario a study runs (the options of a comparison, the values of a
goal-seek, a brief's runs) gets the same row for its group g: the pairing holds. A fitted
parameter enters as a factor on the scenario's own value (draw / estimate, the estimate
being the value the scenario holds), so a scenario that changes a fitted field (a lever,
an uplift) keeps its change; the forecast interval holds both chance and calibration
uncertainty. Parameters on `pre2020:` paths (the old regulations, used only by the
calibration variant) are skipped: no scenario has those fields.
"""

from __future__ import annotations

import copy
import io
import math
from collections.abc import Callable
from dataclasses import dataclass
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
REPS_PER_DRAW = 1  # see the module's docstring: larger groups make intervals too narrow
POSTERIOR_FILE = "posterior.csv"

PARAMETER_COLUMNS = ("parameter", "paths", "estimate", "lower_bound", "upper_bound")
MADE_BY = "a parameters.csv and posterior.csv as `ccsim calibrate` writes them"
RUN_CALIBRATE = ("a calibration folder holding parameters.csv and posterior.csv (run"
                 " `ccsim calibrate` to write them), or --fixed-parameters")


@dataclass(frozen=True)
class Posterior:
    """A calibration's parameters (parameters.csv: paths, estimate, bounds) and its posterior
    draws (posterior.csv), one row a draw, one column a parameter, in parameters.csv's order."""

    folder: Path
    parameters: pd.DataFrame
    draws: np.ndarray


def load_posterior(calibration_dir: Path = DEFAULT_DIR) -> Posterior:
    """parameters.csv and posterior.csv of a calibration, checked against each other; any
    problem (a file missing or empty, a column missing or out of order, a value not finite
    or outside its parameter's bounds) is an InputError naming the file and, where it is
    one, the line and column. covariance.csv is not read: the draws are the posterior."""
    calibration_dir = Path(calibration_dir)
    pfile, dfile = calibration_dir / "parameters.csv", calibration_dir / POSTERIOR_FILE
    for f in (pfile, dfile):
        if not f.exists():
            raise InputError("calibration file not found (run `ccsim calibrate` first)",
                             file=f, allowed=RUN_CALIBRATE)
    params = _read_csv(pfile, "a calibration's parameters.csv")
    _check_parameters(params, pfile)
    frame = _read_csv(dfile, "a calibration's posterior.csv", dtype=str,
                      keep_default_na=False)
    return Posterior(calibration_dir, params, _checked_draws(frame, params, dfile))


def _read_csv(path: Path, what: str, **options: Any) -> pd.DataFrame:
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


def _checked_draws(frame: pd.DataFrame, params: pd.DataFrame, path: Path) -> np.ndarray:
    """posterior.csv's draws as numbers: its header `draw` then the parameters of
    parameters.csv in order, every value finite and within its parameter's bounds."""
    names = params.parameter.astype(str).tolist()
    expected = ["draw", *names]
    columns = [str(c) for c in frame.columns]
    if columns != expected:
        missing = [c for c in expected if c not in columns]
        unknown = [c for c in columns if c not in expected]
        problem = ("columns out of order" if not missing and not unknown else "; ".join(
            [*([f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}"]
               if missing else []),
             *([f"unknown column{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}"]
               if unknown else [])]))
        raise InputError(f"{problem} (the columns must match parameters.csv)",
                         file=f"{path}, line 1", value=",".join(columns),
                         allowed=f"the header {','.join(expected)}")
    raw = frame[names]
    values = raw.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    bad = np.argwhere(~np.isfinite(values))
    if bad.size:
        i, j = bad[0]
        raise InputError("not a finite number", file=f"{path}, line {i + 2}",
                         field=names[j], value=raw.iloc[i, j], allowed="a finite number")
    low = params.lower_bound.to_numpy(dtype=float)
    high = params.upper_bound.to_numpy(dtype=float)
    outside = np.argwhere((values < low) | (values > high))
    if outside.size:
        i, j = outside[0]
        raise InputError("outside the parameter's bounds", file=f"{path}, line {i + 2}",
                         field=names[j], value=float(values[i, j]),
                         allowed=f"from {low[j]:g} to {high[j]:g} (lower_bound and"
                                 " upper_bound in parameters.csv)")
    return values


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


def scaled_fields(paths: object) -> list[str]:
    """The scenario fields a parameters.csv `paths` cell scales ("PATH x COEFFICIENT; ..."),
    `pre2020:` ones left out: only the calibration variant has them."""
    fields = (item.split(" x ")[0].strip() for item in str(paths).split("; "))
    return [field for field in fields if not is_pre2020(field)]


def check_paths(scenario: Scenario, params: pd.DataFrame, path: Path) -> None:
    """Every field a parameter scales is a number in the scenario (`pre2020:` ones are
    skipped, as in `Perturbation`): refused before any simulation, naming the line."""
    data = scenario.to_dict()
    for i, (_, row) in enumerate(params.iterrows()):
        for field in scaled_fields(row.paths):
            found = values_at(data, field)
            if not found or not all(isinstance(v, int | float) and not isinstance(v, bool)
                                    for v in found):
                raise InputError(f"'{field}' is not a number in the scenario"
                                 f" '{scenario.name}'", file=f"{path}, line {i + 2}",
                                 field="paths", value=row.paths,
                                 allowed="dotted paths to numeric scenario fields (a scenario"
                                         " that gives this field no number, e.g. a fixed"
                                         " or empirical distribution, runs with"
                                         " --fixed-parameters)")


def check_uncertainty(scenario: Scenario, calibration_dir: Path, reps_per_draw: int
                      ) -> Posterior:
    """The posterior to draw from, every input checked before any run."""
    if reps_per_draw < 1:
        raise InputError("replications per parameter draw must be at least 1",
                         field="--reps-per-draw", value=reps_per_draw,
                         allowed="a whole number >= 1")
    calibration_dir = Path(calibration_dir)
    if not calibration_dir.is_dir():
        raise InputError("not a folder (the calibration folder holding parameters.csv and"
                         " posterior.csv)", file=calibration_dir,
                         field="--parameter-uncertainty",
                         allowed="a folder written by `ccsim calibrate`, e.g. calibration/")
    posterior = load_posterior(calibration_dir)
    check_paths(scenario, posterior.parameters, calibration_dir / "parameters.csv")
    return posterior


def draw_parameters(posterior: Posterior, rng: np.random.Generator) -> np.ndarray:
    """One posterior draw: a row of posterior.csv, each equally likely."""
    return posterior.draws[rng.integers(len(posterior.draws))]


class Perturbation:
    """A scenario ready to take posterior draws: its data, each parameter's fields and the
    levers that set them, found once, so a draw costs one validation (a run with 2,000
    replications makes 2,000 draws before it starts)."""

    def __init__(self, scenario: Scenario, params: pd.DataFrame) -> None:
        self.scenario = scenario
        self.data = scenario.to_dict()
        self.estimates = params.estimate.to_numpy(float)
        self.fields = [scaled_fields(paths) for paths in params.paths]
        self.base = {path: get_path(self.data, path) for fields in self.fields
                     for path in fields}

    def __call__(self, draw: np.ndarray) -> Scenario:
        """The scenario with each fitted field multiplied by draw / estimate (levers too)."""
        changes: dict[str, Any] = {}
        levers = copy.deepcopy(self.data.get("levers", []))
        for fields, f in zip(self.fields, draw / self.estimates, strict=True):
            for path in fields:
                changes[path] = changes.get(path, self.base[path]) * f
                for lever in levers:
                    if path in lever["set"] and isinstance(lever["set"][path], int | float):
                        lever["set"][path] *= f
        if levers:
            changes["levers"] = levers
        changes.update(_capped_officer_shares(self.data, changes))
        return self.scenario.with_changes(
            changes, source=f"{self.scenario.name} with drawn parameters")


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


def parameter_groups(scenario: Scenario, reps: int, seed: int, posterior: Posterior,
                     reps_per_draw: int = REPS_PER_DRAW) -> list[Group]:
    """Replications in groups of `reps_per_draw`, group g with the scenario under the
    posterior row that the stream (seed, g, "parameters") picks: the same row for every
    scenario run with this seed, so paired runs stay paired."""
    perturbed = Perturbation(scenario, posterior.parameters)
    return [Group(perturbed(draw_parameters(posterior, stream(seed, g, "parameters"))),
                  range(first, min(first + reps_per_draw, reps)))
            for g, first in enumerate(range(0, reps, reps_per_draw))]


def run_with_parameter_uncertainty(
    scenario: Scenario, reps: int, seed: int, engine: str = DEFAULT_ENGINE,
    calibration_dir: Path = DEFAULT_DIR, reps_per_draw: int = REPS_PER_DRAW,
    progress: Callable[[int], None] | None = None, workers: int | None = None,
    chunk_size: int | None = None, posterior: Posterior | None = None,
) -> RunResult:
    """Like `run_scenario` (and through it: the same chunks, workers and memory planning),
    with a posterior draw per group of replications; the results do not depend on the
    chunks or workers. `posterior`: the calibration as `check_uncertainty` loaded it."""
    posterior = posterior or check_uncertainty(scenario, calibration_dir, reps_per_draw)
    groups = parameter_groups(scenario, reps, seed, posterior, reps_per_draw)
    return run_scenario(scenario, reps, seed, engine, chunk_size, progress, workers,
                        groups=groups, parameters=uncertainty_note(posterior.folder,
                                                                   reps_per_draw))


def uncertainty_note(calibration_dir: Path, reps_per_draw: int) -> str:
    """How a run's parameters were drawn, for its manifest, reports and terminal output
    (the shipped calibration named as the checkout names it, wherever it is installed)."""
    folder = Path(calibration_dir)
    shown = "calibration" if folder.resolve() == DEFAULT_DIR.resolve() else str(folder)
    each = "replication" if reps_per_draw == 1 else f"{reps_per_draw} replications"
    return f"{DRAWN_PARAMETERS} ({Path(shown) / POSTERIOR_FILE}), one draw per {each}"


__all__ = ["DEFAULT_DIR", "POSTERIOR_FILE", "REPS_PER_DRAW", "Perturbation", "Posterior",
           "check_paths", "check_uncertainty", "draw_parameters", "load_posterior",
           "parameter_groups", "run_with_parameter_uncertainty", "scaled_fields",
           "uncertainty_note"]
