"""The public API: what each `ccsim` command does, callable from Python.

Each function checks every input once, before any simulation (and, when asked to write,
checks the result folder first), runs the study, and writes its folder whole. The command
line (`sim.cli`) only parses arguments, calls these and prints; a script can do the same:

    import sim
    saved = sim.run("scenarios/baseline.yaml", reps=200, seed=1, out="results/base")
    saved.result.measured.summary["iopc.open.end"].mean()

Every function returns `Saved`: the result, and the folder it was written to (None when no
`out` was given, except where a command always writes: sweeps and calibration).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import pandas as pd

from sim.engine.engines import DEFAULT_ENGINE
from sim.engine.run import RunResult, check_run, check_run_size, check_workers, run_scenario
from sim.errors import InputError
from sim.files.writing import check_out, write_marker
from sim.model.fields import differences
from sim.model.scenario import Scenario, load_scenario
from sim.outputs.brief_report import write_brief
from sim.outputs.calibration_report import write_calibration
from sim.outputs.provenance import provenance
from sim.outputs.run_folder import write_comparison, write_goal_seek, write_run
from sim.outputs.sweep_folder import sweep_into
from sim.studies.brief import (
    BriefInputs,
    BriefResult,
    check_brief,
    default_brief_path,
    load_brief_config,
    make_brief,
    with_overrides,
)
from sim.studies.calibration import fit as calibration
from sim.studies.calibration.targets import load_targets
from sim.studies.compare import Comparison, check_comparable
from sim.studies.compare import compare as compare_runs
from sim.studies.goal_seek import Goal, GoalSeekResult, Point, SearchLever
from sim.studies.goal_seek import goal_seek as seek
from sim.studies.parameter_uncertainty import DEFAULT_DIR as DEFAULT_CALIBRATION
from sim.studies.parameter_uncertainty import (
    REPS_PER_DRAW,
    check_uncertainty,
    run_with_parameter_uncertainty,
)
from sim.studies.sweep.design import Sweep, load_sweep
from sim.studies.sweep.runner import check_executor

R = TypeVar("R")
ScenarioLike = Scenario | str | Path


@dataclass(frozen=True)
class Saved(Generic[R]):
    """A command's result, the folder it was written to (None: not written) and its files."""

    result: R
    folder: Path | None = None
    files: list[Path] = field(default_factory=list)


def run(
    scenario: ScenarioLike,
    reps: int = 100,
    seed: int = 1,
    engine: str = DEFAULT_ENGINE,
    *,
    workers: int | None = None,
    chunk_size: int | None = None,
    parameter_uncertainty: str | Path | None = None,
    reps_per_draw: int = REPS_PER_DRAW,
    out: str | Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> Saved[RunResult]:
    """Simulate a scenario (a Scenario or a scenario file); with `out`, write the run folder
    (summary, yearly, monthly series, charts, report).

    `parameter_uncertainty`: a calibration folder whose posterior (posterior.csv) gives each
    group of `reps_per_draw` replications its fitted parameters, so the ranges include what
    we do not know about them; None (here the default) holds them fixed at the scenario's
    calibrated values. `ccsim run` draws from the shipped calibration/ unless given
    --fixed-parameters."""
    scenario, source = _scenario(scenario)
    check_run([scenario], reps, seed, engine, chunk_size, workers, sources=[source])
    posterior = None
    if parameter_uncertainty is not None:
        posterior = check_uncertainty(scenario, Path(parameter_uncertainty), reps_per_draw)
    _check_out(out, "run")
    if posterior is not None:
        result = run_with_parameter_uncertainty(
            scenario, reps, seed, engine, Path(parameter_uncertainty or ""), reps_per_draw,
            progress, workers, chunk_size, posterior=posterior)
    else:
        result = run_scenario(scenario, reps, seed, engine, chunk_size, progress, workers)
    return Saved(result, None if out is None else write_run(result, Path(out)))


def compare(
    scenarios: Sequence[ScenarioLike],
    reps: int = 100,
    seed: int = 1,
    engine: str = DEFAULT_ENGINE,
    *,
    workers: int | None = None,
    parameter_uncertainty: str | Path | None = None,
    reps_per_draw: int = REPS_PER_DRAW,
    out: str | Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> Saved[Comparison]:
    """Run a base and alternatives with the same seed (common random numbers) and report
    their paired differences; with `out`, write comparison.csv, charts and a report.

    With `parameter_uncertainty` (a calibration folder) every scenario's group g of
    replications runs under the same posterior draw g, applied to its own values, so the
    pairing holds and the intervals include what we do not know about the fitted values;
    None (here the default) holds them fixed. `ccsim compare` draws from the shipped
    calibration/ unless given --fixed-parameters."""
    if len(scenarios) < 2:
        raise InputError("a comparison needs a base and at least one alternative",
                         field="scenarios", value=len(scenarios), allowed="two or more")
    loaded = [_scenario(s) for s in scenarios]
    (base, _), *alternatives = loaded
    for s, source in alternatives:
        check_comparable(base, s, source)
    check_run([s for s, _ in loaded], reps, seed, engine, workers=workers,
              sources=[source for _, source in loaded])
    posteriors = None
    if parameter_uncertainty is not None:
        posteriors = [check_uncertainty(s, Path(parameter_uncertainty), reps_per_draw)
                      for s, _ in loaded]
    _check_out(out, "compare")
    if posteriors is None:
        result = compare_runs([s for s, _ in loaded], reps, seed, engine, progress, workers)
    else:
        runs = [run_with_parameter_uncertainty(
            s, reps, seed, engine, Path(parameter_uncertainty or ""), reps_per_draw, progress,
            workers, posterior=posterior) for (s, _), posterior in zip(loaded, posteriors,
                                                                        strict=True)]
        result = Comparison(runs[0], runs[1:])
    return Saved(result, None if out is None else write_comparison(result, Path(out)))


def sweep(
    sweep_file: str | Path | Sweep,
    out: str | Path,
    executor: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> Saved[pd.DataFrame]:
    """Run every point of a sweep file's design into `out` (resuming the points already
    there), then write its summary, sensitivity indices and charts."""
    design = sweep_file if isinstance(sweep_file, Sweep) else load_sweep(sweep_file)
    if workers is not None:
        workers = check_workers(workers, tasks=len(design.points))
    check_out(Path(out), "sweep")
    check_executor(executor, scheduler)
    table, written = sweep_into(design, Path(out), executor, workers, scheduler, progress)
    return Saved(table, Path(out), written)


def goal_seek(
    scenario: ScenarioLike,
    lever: SearchLever,
    goal: Goal,
    *,
    reps: int = 100,
    seed: int = 1,
    engine: str = DEFAULT_ENGINE,
    step: float = 1.0,
    low: float | None = None,
    high: float | None = None,
    curve_step: float | None = None,
    parameter_uncertainty: str | Path | None = None,
    reps_per_draw: int = REPS_PER_DRAW,
    out: str | Path | None = None,
    progress: Callable[[Point], None] | None = None,
) -> Saved[GoalSeekResult]:
    """The smallest value of `lever` that meets `goal`, with its probability or on average
    (`goal.kind`; bisection on common random numbers, `sim.studies.goal_seek`); with
    `curve_step` (and `high`), every that many from the lowest value to `high` is evaluated
    too, for a curve; `progress` is told each evaluated point. With `out`, write
    target.json and points.csv. `result.answer` is None when no value up to the maximum
    meets it. With `parameter_uncertainty` (a calibration folder) every lever value runs
    under the same posterior draws, so the search stays paired; None (here the default)
    holds the fitted parameters fixed. `ccsim target` draws from the shipped calibration/
    unless given --fixed-parameters."""
    scenario, source = _scenario(scenario)
    check_run([scenario], reps, seed, engine, sources=[source])
    runner = _runner([scenario], parameter_uncertainty, reps_per_draw)
    _check_out(out, "target")
    result = seek(scenario, lever, goal, reps=reps, seed=seed, engine=engine, step=step,
                  low=low, high=high, curve_step=curve_step, progress=progress, run=runner)
    return Saved(result, None if out is None else write_goal_seek(result, Path(out)))


def calibrate(
    targets: str | Path = calibration.DEFAULT_TARGETS,
    out: str | Path | None = None,
    until: str | None = None,
    *,
    reps: int = calibration.FIT_REPS,
    report_reps: int = calibration.REPORT_REPS,
    seed: int = calibration.SEED,
    engine: str = DEFAULT_ENGINE,
    walkers: int = calibration.WALKERS,
    steps: int = calibration.STEPS,
    burn_in: int = calibration.BURN,
    progress: Callable[[str], None] | None = None,
) -> Saved[calibration.Fit]:
    """The posterior of the baseline's fitted parameters given the published targets (those
    up to `until` only, the later ones then a back-test), by MCMC; writes the overlay,
    the posterior draws, the predictive checks, charts and report to `out` (default: the
    shipped calibration/, or its backtest-YYYY-YY folder with `until`). Needs emcee."""
    if until is not None and not re.fullmatch(r"\d{4}/\d{2}", str(until)):
        raise InputError("not a fiscal year", field="until", value=until,
                         allowed="a fiscal year such as 2019/20")
    for name, value, least in (("reps", reps, 1), ("report_reps", report_reps, 1),
                               ("walkers", walkers, 2 * len(calibration.PARAMS)),
                               ("burn_in", burn_in, 0), ("steps", steps, burn_in + 10)):
        if value < least:
            raise InputError(f"must be at least {least}", field=name, value=value,
                             allowed=f"a whole number >= {least}")
    check_run_size(reps, seed)
    check_run_size(report_reps, seed)
    check_run([], reps, seed, engine)  # the engine: the runs' scenarios come from the fit
    calibration.require_sampler()
    folder = Path(out) if out is not None else (
        calibration.DEFAULT_OUT if until is None
        else calibration.DEFAULT_OUT / f"backtest-{until.replace('/', '-')}")
    check_out(folder, "calibrate")
    all_targets = load_targets(Path(targets))
    fit_targets = calibration.select_targets(all_targets, until)
    free = calibration.identified(calibration.PARAMS, fit_targets)
    problem = calibration.Problem(calibration.base_scenario(), calibration.PARAMS,
                                  all_targets, fit_targets, reps, seed, engine, until=until)
    result = calibration.fit(problem, report_reps, progress, free, walkers, steps,
                             burn=burn_in)
    settings = {"targets_file": str(targets), "until": until, "fit_reps": reps,
                "report_reps": report_reps, "seed": seed, "engine": engine,
                "method": result.message, "walkers": walkers, "steps": steps,
                "burn_in": burn_in, "simulations": result.nfev,
                "predictive_draws": calibration.PREDICTIVE_DRAWS,
                "evaluations": problem.evaluations, "cost_at_point": result.cost,
                "seconds": result.seconds, "variant": calibration.VARIANT,
                "provenance": provenance(seed=seed, fit_reps=reps, report_reps=report_reps,
                                         engine=engine, targets_file=str(targets),
                                         walkers=walkers, steps=steps, burn_in=burn_in)}
    files = write_calibration(result, free, folder, settings, until)
    write_marker(folder, "calibrate", [p.name for p in files])
    return Saved(result, folder, files)


def brief(
    config_path: str | Path | None = None,
    *,
    reps: int | None = None,
    seed: int | None = None,
    engine: str = DEFAULT_ENGINE,
    year: str | None = None,
    confidence: float | None = None,
    cost_per_investigator_year_gbp: float | None = None,
    with_goal_seek: bool = True,
    parameter_uncertainty: str | Path | None = None,
    reps_per_draw: int = REPS_PER_DRAW,
    out: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> Saved[BriefResult]:
    """The Recommendation 7 brief from a brief file (default: the shipped briefs/rec7.yaml):
    the counterfactual, every option and the goal-seek, paired; with `out`, brief.html,
    brief.md, the tables and charts. Given values replace the file's. With
    `parameter_uncertainty` (a calibration folder) every run draws the fitted parameters
    from its posterior (the same draws for each option and lever value), so the intervals
    include what we do not know about them; None (here the default) holds them fixed.
    `ccsim brief` draws from the shipped calibration/ unless the brief file says
    `parameters: fixed` or it is given --fixed-parameters (`brief_parameters`)."""
    path = Path(config_path) if config_path is not None else default_brief_path()
    config = with_overrides(load_brief_config(path), year=year, confidence=confidence,
                            cost_per_investigator_year_gbp=cost_per_investigator_year_gbp)
    if not with_goal_seek:
        config = config.model_copy(update={"target": None, "other_targets": []})
    inputs = BriefInputs.from_config(config, path)
    reps = config.reps if reps is None else reps
    seed = config.seed if seed is None else seed
    options = inputs.all_options()
    check_run(options, reps, seed, engine,
              sources=[inputs.sources.get(s.name, s.name) for s in options])
    check_brief(config, inputs, reps)
    runner = _runner([inputs.counterfactual, *options], parameter_uncertainty, reps_per_draw)
    _check_out(out, "brief")
    result = make_brief(config, inputs, reps=reps, seed=seed, engine=engine,
                        progress=progress, run_one=runner)
    return Saved(result, None if out is None else write_brief(result, Path(out), path))


def brief_parameters(config_path: str | Path | None = None) -> Path | None:
    """The calibration folder `ccsim brief` draws from when neither --fixed-parameters nor
    --parameter-uncertainty is given: the shipped one, unless the brief file (default: the
    shipped briefs/rec7.yaml) says `parameters: fixed` (then None: fixed)."""
    path = Path(config_path) if config_path is not None else default_brief_path()
    return None if load_brief_config(path).parameters == "fixed" else DEFAULT_CALIBRATION


def diff(first: ScenarioLike, second: ScenarioLike) -> list[tuple[str, Any, Any]]:
    """What differs between two scenarios as resolved (`extends:` applied, defaults filled):
    (field path, first value, second value) for each field, levers and their dates
    included; empty when they are the same model."""
    a, _ = _scenario(first)
    b, _ = _scenario(second)
    return differences(a.to_dict(), b.to_dict())


# --------------------------------------------------------------------------- helpers


def _runner(scenarios: Sequence[Scenario], parameter_uncertainty: str | Path | None,
            reps_per_draw: int) -> Callable[[Scenario, int, int, str], RunResult]:
    """How a study makes each run: with fixed parameters, or with the calibration's
    posterior draws (the calibration checked against each of `scenarios` now, before any
    run; the draws are the same for every scenario the study runs, so its comparisons stay
    paired)."""
    if parameter_uncertainty is None:
        return run_scenario
    folder = Path(parameter_uncertainty)
    posterior = check_uncertainty(scenarios[0], folder, reps_per_draw)
    for other in scenarios[1:]:
        check_uncertainty(other, folder, reps_per_draw)

    def run_drawn(s: Scenario, reps: int, seed: int, engine: str) -> RunResult:
        return run_with_parameter_uncertainty(s, reps, seed, engine, folder, reps_per_draw,
                                              posterior=posterior)

    return run_drawn


def _scenario(scenario: ScenarioLike) -> tuple[Scenario, str]:
    """A scenario and what to call it in a message: its file, or its name."""
    if isinstance(scenario, Scenario):
        return scenario, scenario.name
    return load_scenario(scenario), str(scenario)


def _check_out(out: str | Path | None, command: str) -> None:
    if out is not None:
        check_out(Path(out), command)


__all__ = ["Saved", "brief", "brief_parameters", "calibrate", "compare", "diff", "goal_seek",
           "load_scenario", "run", "sweep"]
