"""The Recommendation 7 brief: run the options, goal-seek the uplift, cost it, write it up.

A brief file (briefs/rec7.yaml) names a counterfactual (police numbers rise, IOPC capacity
does not), the Recommendation 7 uplift, the other options for the table, a goal-seek target
("what uplift holds breaches at today's level") and the cost of an IOPC investigator-year.
`make_brief` runs every scenario with the same seed (common random numbers, so each
option's difference from the counterfactual is a paired difference), goal-seeks the uplift
(`sim.studies.goal_seek`), and returns plain results; `sim.outputs.brief_report` turns them
into HTML and Markdown. No engine is reached into: everything goes through `run_scenario`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field, ValidationError

from sim.engine.engines import DEFAULT_ENGINE
from sim.engine.run import RunResult, run_scenario
from sim.errors import InputError, ScenarioError
from sim.files.shipped import shipped_path
from sim.model.frozen import Frozen
from sim.model.scenario import Scenario, load_scenario, read_yaml_mapping, validation_problems
from sim.model.timeline import Timeline
from sim.studies.compare import Comparison, check_comparable
from sim.studies.goal_seek import Goal, GoalSeekResult, SearchLever, goal_seek, parse_at_most


class GoalSpec(Frozen):
    metric: str = "iopc.open_over_12m.end"
    at_most: str | float = "baseline:2021/22"
    confidence: float = Field(default=0.8, gt=0, lt=1)
    lever: str = "pools.iopc.staff"
    from_: dt.date | None = Field(default=None, alias="from",
                                  description="date the searched staff level holds from")
    step: float = Field(default=1.0, gt=0)
    min: float | None = None
    max: float | None = None


class Assumption(Frozen):
    what: str
    value: str
    figures: list[str] = Field(default_factory=list)
    source: str = ""


class BriefConfig(Frozen):
    """A brief file: what to run and what to assume (paths relative to the file)."""

    title: str = "Recommendation 7: IOPC investigative capacity in line with police numbers"
    year: str = "2025/26"
    counterfactual: str
    uplift: str
    options: list[str] = Field(default_factory=list)
    target: GoalSpec | None = GoalSpec()
    reps: int = Field(default=60, ge=2, le=100_000)
    seed: int = Field(default=1, ge=0)
    cost_per_investigator_year_gbp: float = Field(gt=0, allow_inf_nan=False)
    cost_per_investigator_note: str = ""
    assumptions: list[Assumption] = Field(default_factory=list)
    figures: str | None = None


def default_brief_path() -> Path:
    """The shipped Recommendation 7 brief (the checkout's, or the installed copy's)."""
    return shipped_path("briefs/rec7.yaml")


def load_brief_config(path: str | Path) -> BriefConfig:
    """Read and validate a brief file (a regular YAML file of bounded size, see
    `read_yaml_mapping`); every problem is an `InputError` naming the file."""
    path = Path(path)
    data = read_yaml_mapping(path, what="a brief file (YAML)")
    try:
        return BriefConfig.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(path, validation_problems(exc, path)) from None


def with_overrides(config: BriefConfig, **changes: Any) -> BriefConfig:
    """The config with command-line values in place (None: keep), validated like the file;
    `confidence` goes to the target."""
    data = config.model_dump(by_alias=True)
    confidence = changes.pop("confidence", None)
    data.update({k: v for k, v in changes.items() if v is not None})
    if confidence is not None and data.get("target") is not None:
        data["target"] = {**data["target"], "confidence": confidence}
    try:
        return BriefConfig.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError("the command line", validation_problems(exc, "the command line")
                            ) from None


@dataclass
class BriefInputs:
    """The brief's scenarios, loaded (tests pass shortened ones)."""

    counterfactual: Scenario
    uplift: Scenario
    options: list[Scenario]
    figures: Path | None = None
    sources: dict[str, str] = field(default_factory=dict)  # scenario name -> file

    @classmethod
    def from_config(cls, config: BriefConfig, config_path: Path) -> BriefInputs:
        base = Path(config_path).resolve().parent
        paths = {"counterfactual": base / config.counterfactual, "uplift": base / config.uplift}
        loaded = {k: load_scenario(p) for k, p in paths.items()}
        options = [load_scenario(base / p) for p in config.options]
        figures = base / config.figures if config.figures else None
        sources = {loaded["counterfactual"].name: str(paths["counterfactual"]),
                   loaded["uplift"].name: str(paths["uplift"]),
                   **{s.name: str(base / p) for s, p in zip(options, config.options,
                                                             strict=True)}}
        return cls(loaded["counterfactual"], loaded["uplift"], options,
                   figures if figures and figures.exists() else None, sources)

    def all_options(self) -> list[Scenario]:
        """The options in table order, the uplift among them once."""
        names = [s.name for s in self.options]
        return self.options if self.uplift.name in names else [self.uplift, *self.options]


@dataclass
class BriefResult:
    config: BriefConfig
    inputs: BriefInputs
    engine: str
    reps: int
    seed: int
    comparison: Comparison  # base: the counterfactual; alternatives: options (+ goal option)
    target: GoalSeekResult | None
    goal_option: str | None  # name of the goal-seek answer's scenario in the comparison
    started: str
    finished: str
    seconds: float

    @property
    def timeline(self) -> Timeline:
        return self.comparison.base.timeline

    @property
    def years(self) -> list[str]:
        return [label for label, _, _ in self.timeline.fiscal_years]

    def result(self, name: str) -> RunResult:
        for r in (self.comparison.base, *self.comparison.alternatives):
            if r.scenario.name == name:
                return r
        raise KeyError(name)

    def uplift_result(self) -> RunResult:
        return self.result(self.inputs.uplift.name)

    def extra_investigators(self, scenario: Scenario) -> np.ndarray:
        """IOPC investigators above the counterfactual, averaged over each fiscal year."""
        pool = pool_of(self.config)
        return (staff_by_year(scenario, pool, self.timeline)
                - staff_by_year(self.comparison.base.scenario, pool, self.timeline))

    def extra_cost(self, scenario: Scenario) -> np.ndarray:
        """Cost per fiscal year of those investigators (GBP)."""
        return self.extra_investigators(scenario) * self.config.cost_per_investigator_year_gbp


def pool_of(config: BriefConfig) -> str:
    """The investigator pool the brief costs: the goal-seek lever's, else the IOPC."""
    lever = config.target.lever if config.target else "pools.iopc.staff"
    parts = lever.split(".")
    return parts[1] if len(parts) > 2 and parts[0] == "pools" else "iopc"


def staff_by_year(scenario: Scenario, pool: str, timeline: Timeline) -> np.ndarray:
    """Head count of a pool's dated staff steps, as the engines read them
    (`Timeline.in_force`), time-averaged over each fiscal year."""
    steps = getattr(scenario.pools, pool).staff
    return np.array([float(timeline.in_force(steps, np.arange(lo, hi) + 0.5).mean())
                     for _, lo, hi in timeline.fiscal_years])


def make_brief(
    config: BriefConfig,
    inputs: BriefInputs,
    *,
    reps: int | None = None,
    seed: int | None = None,
    engine: str = DEFAULT_ENGINE,
    progress: Callable[[str], None] | None = None,
) -> BriefResult:
    """Run the counterfactual, every option and the goal-seek with common random numbers
    (inputs checked first: `check_brief`, and the runs' with `sim.engine.run.check_run`)."""
    reps = config.reps if reps is None else reps
    seed = config.seed if seed is None else seed
    options = inputs.all_options()
    t0 = dt.datetime.now(dt.UTC)
    runs: dict[str, RunResult] = {}

    def run(s: Scenario, r: int, sd: int, eng: str) -> RunResult:
        """run_scenario, memoised by the scenario's hash (the goal-seek reuses the runs)."""
        key = f"{run_key(s)}-{r}-{sd}-{eng}"
        if key not in runs:
            if progress and len(runs) <= len(options):  # the goal-seek reports its own
                progress(f"running {s.name}")
            runs[key] = run_scenario(s, r, sd, eng)
        return runs[key]

    base = run(inputs.counterfactual, reps, seed, engine)
    results = [run(s, reps, seed, engine) for s in options]
    target_result, goal_name = None, None
    if config.target is not None:
        spec = config.target
        lever = SearchLever(spec.lever, spec.from_)
        target = Goal(spec.metric, config.year,
                        parse_at_most(str(spec.at_most)), spec.confidence)
        target_result = goal_seek(
            inputs.counterfactual, lever, target, reps=reps, seed=seed, engine=engine,
            step=spec.step, low=spec.min, high=spec.max, run=run,
            progress=(lambda v, k, n: progress(f"goal-seek: {spec.lever} = {v:g}:"
                                               f" {k}/{n} meet the target"))
            if progress else None)
        if target_result.answer is not None:
            goal = goal_scenario(inputs.counterfactual, lever, target_result.answer)
            goal_name = goal.name
            results.append(replace(run(goal, reps, seed, engine), scenario=goal))
    t1 = dt.datetime.now(dt.UTC)
    return BriefResult(config, inputs, engine, reps, seed, Comparison(base, results),
                       target_result, goal_name, t0.isoformat(timespec="seconds"),
                       t1.isoformat(timespec="seconds"), (t1 - t0).total_seconds())


def check_brief(config: BriefConfig, inputs: BriefInputs, reps: int) -> None:
    """What a brief needs beyond any run's inputs: two replications for its intervals, options
    on the counterfactual's calendar, and a reported year that the scenarios report."""
    if reps < 2:
        raise InputError("a brief needs at least 2 replications for its intervals",
                         field="reps", value=reps, allowed="2 or more")
    for s in inputs.all_options():
        check_comparable(inputs.counterfactual, s, inputs.sources.get(s.name, s.name))
    labels = [label for label, _, _ in Timeline.for_scenario(inputs.counterfactual).fiscal_years]
    if config.year not in labels:
        raise InputError("the brief's year is not a fiscal year the scenarios report",
                         field="year", value=config.year, allowed=", ".join(labels))


def goal_scenario(base: Scenario, lever: SearchLever, value: float) -> Scenario:
    """The counterfactual with the goal-seek's answer applied, named for the table."""
    when = f" from {lever.from_date:%B %Y}" if lever.from_date else ""
    return lever.scenario_at(base, value, {
        "name": "target_uplift",
        "description": f"{base.name} with {lever.path} = {value:g}{when}: the smallest"
                       " value that meets the brief's target (goal-seek)"})


def run_key(s: Scenario) -> str:
    """A scenario's identity for reusing runs: its hash less its name and description."""
    data = s.to_dict()
    data.pop("name"), data.pop("description")
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def config_digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def year_end(year: str) -> str:
    """'31 March 2026' for '2025/26' (when stocks in the yearly table are counted)."""
    return f"31 March {int(year[:4]) + 1}"


def figure_sources(path: Path | None, ids: set[str]) -> dict[str, dict[str, Any]]:
    """Rows of the figures register for the cited ids (empty if it is not available)."""
    if path is None or not Path(path).exists():
        return {}
    table = pd.read_csv(path, dtype=str).fillna("")
    rows = table[table["id"].isin(ids)]
    return {r["id"]: dict(r) for _, r in rows.iterrows()}


__all__ = ["BriefConfig", "BriefInputs", "BriefResult", "check_brief", "default_brief_path",
           "load_brief_config", "make_brief", "staff_by_year", "with_overrides"]
