"""The Recommendation 7 brief: run the options, goal-seek the uplift, cost it, write it up.

A brief file (briefs/rec7.yaml) names a counterfactual (police numbers rise, IOPC capacity
does not), the Recommendation 7 uplift, the other options for the table, the goal-seek
questions ("what uplift holds them at today's level": `target`, the headline, and any
`other_targets`, each a mean or a probability goal, `sim.studies.goal_seek`) and the cost of
an IOPC investigator-year. `make_brief` runs every scenario with the same seed (common random
numbers, so each option's difference from the counterfactual is a paired difference),
goal-seeks each question on the same runs, and returns plain results;
`sim.outputs.brief_report` turns them into HTML and Markdown. No engine is reached into:
everything goes through `run_scenario`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import AfterValidator, Field, ValidationError, model_validator

from sim.engine.engines import DEFAULT_ENGINE
from sim.engine.metrics import GLOSSARY
from sim.engine.run import RunResult, run_scenario
from sim.errors import InputError, ScenarioError
from sim.files.shipped import shipped_path
from sim.model.frozen import Frozen
from sim.model.scenario import Scenario, load_scenario, read_yaml_mapping, validation_problems
from sim.model.timeline import Timeline
from sim.studies.compare import Comparison, check_comparable
from sim.studies.costs import ExtraStaff, costed_total, extra_staff, staff_by_year
from sim.studies.goal_seek import (
    Goal,
    GoalSeekResult,
    Point,
    SearchLever,
    goal_seek,
    lever_phrase,
    parse_level,
)


class GoalSpec(Frozen):
    """One goal-seek question: `goal` mean (the expected value meets the level) or
    probability (it does in `confidence` of futures); `at_most` or `at_least` a number or
    baseline:YEAR (neither: at most baseline:2021/22); `curve_step`: also evaluate every
    that many from `min` (default: the lever's value) to `max`, for the brief's chart."""

    goal: Literal["probability", "mean"] = "probability"
    metric: str = "iopc.open_over_12m.end"
    at_most: str | float | None = None
    at_least: str | float | None = None
    confidence: float = Field(default=0.8, gt=0, lt=1)
    lever: str = "pools.iopc.staff"
    from_: dt.date | None = Field(default=None, alias="from",
                                  description="date the searched staff level holds from")
    step: float = Field(default=1.0, gt=0)
    min: float | None = None
    max: float | None = None
    curve_step: float | None = Field(default=None, gt=0, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _today_by_default(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("at_most") is None \
                and data.get("at_least") is None:
            return {**data, "at_most": "baseline:2021/22"}
        return data

    @model_validator(mode="after")
    def _one_level(self) -> GoalSpec:
        if self.at_most is not None and self.at_least is not None:
            raise ValueError("give at_most or at_least, not both")
        if self.curve_step is not None and self.max is None:
            raise ValueError("curve_step needs max (the curve's last lever value)")
        return self

    def goal_for(self, year: str, where: str = "target") -> Goal:
        """The question as the goal-seek takes it, for the brief's year (`where`: the
        question's place in the brief file, for messages)."""
        def level(value: str | float | None, name: str) -> float | str | None:
            return None if value is None else parse_level(str(value), f"{where}.{name}")

        return Goal(self.metric, year, level(self.at_most, "at_most"), self.confidence,
                    level(self.at_least, "at_least"), self.goal)

    def search_lever(self) -> SearchLever:
        return SearchLever(self.lever, self.from_)


class Assumption(Frozen):
    what: str
    value: str
    figures: list[str] = Field(default_factory=list)
    source: str = ""


def one_line(text: str) -> str:
    """Text as one line, its runs of spaces and line breaks one space (folded YAML)."""
    return " ".join(text.split())


class BriefConfig(Frozen):
    """A brief file: what to run and what to assume (paths relative to the file)."""

    title: str = "Recommendation 7: IOPC investigative capacity in line with police numbers"
    year: str = "2025/26"
    counterfactual: str
    uplift: str
    options: list[str] = Field(default_factory=list)
    target: GoalSpec | None = GoalSpec()  # the headline question; its answer joins the table
    other_targets: list[GoalSpec] = Field(default_factory=list)  # more questions, below it
    reps: int = Field(default=60, ge=2, le=100_000)
    seed: int = Field(default=1, ge=0)
    cost_per_investigator_year_gbp: float = Field(gt=0, allow_inf_nan=False)
    cost_per_investigator_note: str = ""
    assumptions: list[Assumption] = Field(default_factory=list)
    #: what the headline rests on, said beside it: assumptions that alone produce (or remove)
    #: its effect, with the sensitivity that shows how much
    caveats: list[Annotated[str, Field(min_length=1, max_length=2000),
                            AfterValidator(one_line)]] = Field(default_factory=list,
                                                               max_length=20)
    figures: str | None = None
    #: the fitted parameters `ccsim brief` runs with: drawn from the shipped calibration's
    #: posterior (its intervals then include what we do not know about them), or fixed at
    #: the calibrated values; --fixed-parameters and --parameter-uncertainty override it
    parameters: Literal["drawn", "fixed"] = "drawn"


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
    `confidence` goes to every question (a mean goal does not use it)."""
    data = config.model_dump(by_alias=True)
    confidence = changes.pop("confidence", None)
    data.update({k: v for k, v in changes.items() if v is not None})
    if confidence is not None:
        if data.get("target") is not None:
            data["target"] = {**data["target"], "confidence": confidence}
        data["other_targets"] = [{**t, "confidence": confidence}
                                 for t in data.get("other_targets") or []]
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
    other_targets: list[GoalSeekResult] = field(default_factory=list)

    def questions(self) -> list[GoalSeekResult]:
        """Every goal-seek answered, the headline first."""
        return [t for t in (self.target, *self.other_targets) if t is not None]

    def probability_question(self) -> GoalSeekResult | None:
        """The first question asked with a probability (the options table's column)."""
        return next((t for t in self.questions() if t.target.kind == "probability"), None)

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
        """The goal-seek pool's investigators (the IOPC's) above the counterfactual,
        averaged over each fiscal year."""
        path = f"pools.{pool_of(self.config)}.staff"
        return (staff_by_year(scenario, path, self.timeline)
                - staff_by_year(self.comparison.base.scenario, path, self.timeline))

    def extra_staff(self, scenario: Scenario) -> list[ExtraStaff]:
        """Every staffed capacity the option changes from the counterfactual, costed."""
        return extra_staff(scenario, self.comparison.base.scenario, self.timeline,
                           self.config.cost_per_investigator_year_gbp)

    def extra_cost(self, scenario: Scenario) -> np.ndarray:
        """Cost per fiscal year of the option's extra staff (GBP): IOPC investigators at
        the brief file's cost, DPS and PSU ones at a Met officer's; panels uncosted."""
        return costed_total(self.extra_staff(scenario))


def pool_of(config: BriefConfig) -> str:
    """The investigator pool the brief's goal-seek moves: its lever's, else the IOPC."""
    lever = config.target.lever if config.target else "pools.iopc.staff"
    parts = lever.split(".")
    return parts[1] if len(parts) > 2 and parts[0] == "pools" else "iopc"


def make_brief(
    config: BriefConfig,
    inputs: BriefInputs,
    *,
    reps: int | None = None,
    seed: int | None = None,
    engine: str = DEFAULT_ENGINE,
    progress: Callable[[str], None] | None = None,
    run_one: Callable[[Scenario, int, int, str], RunResult] = run_scenario,
) -> BriefResult:
    """Run the counterfactual, every option and the goal-seek with common random numbers
    (inputs checked first: `check_brief`, and the runs' with `sim.engine.run.check_run`).
    `run_one(scenario, reps, seed, engine)` makes each run: `run_scenario`, or one with
    parameter uncertainty (`sim.api.brief`)."""
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
            runs[key] = run_one(s, r, sd, eng)
        return runs[key]

    base = run(inputs.counterfactual, reps, seed, engine)
    results = [run(s, reps, seed, engine) for s in options]

    def seek(spec: GoalSpec, number: int) -> GoalSeekResult:
        """One question, on the runs already made where the scenarios are the same."""
        lever = spec.search_lever()
        said = None
        if progress is not None:
            report = progress

            def said(p: Point) -> None:
                report(f"question {number}: {lever_phrase(spec.lever, p.value)}:"
                       f" {p.met}/{p.reps} futures meet the target, mean {p.metric_mean:.4g}")
        return goal_seek(inputs.counterfactual, lever, spec.goal_for(config.year), reps=reps,
                         seed=seed, engine=engine, step=spec.step, low=spec.min,
                         high=spec.max, curve_step=spec.curve_step, run=run, progress=said)

    target_result, goal_name = None, None
    if config.target is not None:
        target_result = seek(config.target, 1)
        if target_result.answer is not None:
            goal = goal_scenario(inputs.counterfactual, config.target.search_lever(),
                                 target_result.answer)
            goal_name = goal.name
            results.append(replace(run(goal, reps, seed, engine), scenario=goal))
    others = [seek(spec, i) for i, spec in enumerate(config.other_targets,
                                                     start=2 if config.target else 1)]
    t1 = dt.datetime.now(dt.UTC)
    return BriefResult(config, inputs, engine, reps, seed, Comparison(base, results),
                       target_result, goal_name, t0.isoformat(timespec="seconds"),
                       t1.isoformat(timespec="seconds"), (t1 - t0).total_seconds(), others)


def check_questions(config: BriefConfig, scenario: Scenario) -> None:
    """Each question's lever, metric and years, before any run (the goal-seek checks them
    again, but only after the options have run)."""
    specs = [("target", config.target)] if config.target else []
    specs += [(f"other_targets.{i}", t) for i, t in enumerate(config.other_targets)]
    labels = [label for label, _, _ in Timeline.for_scenario(scenario).fiscal_years]
    for where, spec in specs:
        goal = spec.goal_for(config.year, where)
        try:
            spec.search_lever().check(scenario.to_dict())
        except InputError as exc:
            raise InputError(exc.problem, field=f"{where}.lever", value=spec.lever,
                             allowed=exc.allowed) from None
        if spec.metric not in GLOSSARY:
            raise InputError("unknown metric", field=f"{where}.metric", value=spec.metric,
                             allowed="a yearly metric, e.g. iopc.open_over_12m.end,"
                                     " iopc.wait_days.mean, iopc.within_12m.share")
        if goal.baseline_year is not None and goal.baseline_year not in labels:
            raise InputError("not a fiscal year the scenarios report",
                             field=f"{where}.{'at_most' if goal.at_most_goal else 'at_least'}",
                             value=goal.level, allowed=", ".join(labels))


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
    check_questions(config, inputs.counterfactual)


def goal_scenario(base: Scenario, lever: SearchLever, value: float) -> Scenario:
    """The counterfactual with the goal-seek's answer applied, named for the table."""
    when = f" from {lever.from_date:%B %Y}" if lever.from_date else ""
    return lever.scenario_at(base, value, {
        "name": "target_uplift",
        "description": f"{base.name} with {lever_phrase(lever.path, value)}{when}: the"
                       " smallest value that meets the brief's headline question (goal-seek)"})


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
           "load_brief_config", "make_brief", "with_overrides"]
