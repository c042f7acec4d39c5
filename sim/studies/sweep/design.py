"""Sweep files: a base scenario, a design of points, replications, seed, metrics to keep.

Designs: a full `grid` over named parameters, an explicit `list`, a `latin_hypercube`, or a
`sobol` / `morris` design from SALib (so its sensitivity indices can be computed). A
parameter is a dotted path into the scenario, with list positions as numbers and `*` for
every element or key (e.g. `pools.iopc.staff.*.value` sets every staff step). The base
scenario's path is relative to the sweep file.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from sim.engine.engines import DEFAULT_ENGINE, ENGINES
from sim.engine.metrics import GLOSSARY
from sim.engine.run import plan_chunks
from sim.errors import InputError, ScenarioError
from sim.model.fields import walk
from sim.model.frozen import Frozen
from sim.model.scenario import Scenario, load_scenario, read_yaml_mapping, validation_problems

MAX_POINTS = 100_000  # each point is a scenario validated up front (about 1 ms each)
MAX_REPLICATIONS = 10_000_000  # points x reps: beyond this a sweep runs for weeks
MAX_SEED = 2**63 - 1
SALIB_HELP = "pip install 'ccsim[sweep]' (or pip install SALib), or a grid or list design"



class Range(Frozen):
    low: float = Field(allow_inf_nan=False)
    high: float = Field(allow_inf_nan=False)

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        return self


class GridDesign(Frozen):
    kind: Literal["grid"]
    parameters: dict[str, Annotated[list[Any], Field(min_length=1)]] = Field(min_length=1)


class ListDesign(Frozen):
    kind: Literal["list"]
    points: list[dict[str, Any]] = Field(min_length=1)


class SampledDesign(Frozen):
    kind: Literal["latin_hypercube", "sobol", "morris"]
    parameters: dict[str, Range] = Field(min_length=1)
    samples: int = Field(ge=1, le=100_000, description="LHS points; Sobol base N (a power"
                         " of 2); Morris trajectories")
    levels: int = Field(default=4, ge=2, le=20, description="Morris grid levels (even)")
    design_seed: int = Field(default=0, ge=0, le=MAX_SEED,
                             description="seed of the design and of its analysis")

    @model_validator(mode="after")
    def _sobol_power_of_two(self) -> SampledDesign:
        if self.kind == "sobol" and self.samples & (self.samples - 1):
            raise ValueError(f"a Sobol design needs samples to be a power of 2, got {self.samples}")
        return self

    @model_validator(mode="after")
    def _estimable(self) -> SampledDesign:
        """One Sobol base sample or one Morris trajectory gives indices with no spread to
        estimate their intervals from (SALib reports a 0 interval): refused, not reported."""
        if self.kind in ("sobol", "morris") and self.samples < 2:
            what = "base samples" if self.kind == "sobol" else "trajectories"
            raise ValueError(f"a {self.kind} design needs at least 2 {what} to estimate its"
                             f" indices and their intervals, got {self.samples}")
        if self.kind == "morris" and self.levels % 2:
            raise ValueError(f"a Morris design needs an even number of levels (SALib: an odd"
                             f" number biases the sample), got {self.levels}")
        return self


class SweepFile(Frozen):
    name: str = Field(min_length=1)
    base: str = Field(description="scenario file, relative to the sweep file")
    reps: int = Field(ge=1, le=100_000)
    seed: int = Field(ge=0, le=MAX_SEED)
    engine: str = DEFAULT_ENGINE
    metrics: list[str] | None = Field(default=None, min_length=1, description="summary"
                                      " metrics to keep (default: all)")
    design: GridDesign | ListDesign | SampledDesign = Field(discriminator="kind")

    @field_validator("engine")
    @classmethod
    def _known_engine(cls, name: str) -> str:
        if name not in ENGINES:
            raise ValueError(f"unknown engine '{name}'; one of {', '.join(ENGINES)}")
        return name

    @field_validator("metrics")
    @classmethod
    def _known_metrics(cls, names: list[str] | None) -> list[str] | None:
        unknown = [n for n in names or [] if n not in GLOSSARY]
        if unknown:
            raise ValueError(f"unknown metric {', '.join(unknown)}: summary metrics such as"
                             " iopc.open.end, listed in the README glossary")
        given = names or []
        twice = sorted({n for n in given if given.count(n) > 1})
        if twice:
            raise ValueError(f"metric {', '.join(twice)} listed more than once")
        return names


class Sweep:
    """A loaded sweep: its file, base scenario, and every point as parameter values."""

    def __init__(self, spec: SweepFile, source: Path, base: Scenario) -> None:
        check_size(spec, source)
        self.spec = spec
        self.source = source
        self.base = base
        self.parameters, self.points = design_points(spec.design)
        self._keys: list[str] | None = None

    def point_keys(self) -> list[str]:
        """Each point's key, in design order: points with the same key (a repeated grid
        value, a Morris trajectory revisiting a point) are one simulation."""
        if self._keys is None:
            self._keys = [self.key(self.scenario(p)) for p in self.points]
        return self._keys

    def scenario(self, point: dict[str, Any]) -> Scenario:
        return self.base.with_changes(point, source=f"{self.source} (point {point})")

    def key(self, scenario: Scenario) -> str:
        """Identity of a point's result: its resolved scenario and how it is run."""
        text = json.dumps([scenario.digest(), self.spec.reps, self.spec.seed, self.spec.engine,
                           self.spec.metrics])
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_sweep(path: str | Path) -> Sweep:
    """Read and validate a sweep file; every point's scenario is validated up front."""
    path = Path(path)
    data = read_yaml_mapping(path)
    try:
        spec = SweepFile.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(path, validation_problems(exc, path)) from None
    base_path = (path.parent / spec.base).resolve()
    if not base_path.exists():
        raise InputError(f"the base scenario was not found: {base_path}", file=path,
                         field="base", allowed="a scenario path relative to the sweep file")
    base = load_scenario(base_path)
    if isinstance(spec.design, SampledDesign):
        salib(path)
    sweep = Sweep(spec, path, base)  # refuses too many points before making one
    base_data = base.to_dict()
    for name in sweep.parameters:
        problem = path_problem(base_data, name)
        if problem:
            raise InputError(problem, file=path, field=f"design.parameters.{name}")
    keys = []
    for i, point in enumerate(sweep.points):
        try:
            scenario = sweep.scenario(point)
        except ScenarioError as exc:
            raise InputError(f"point {i} {point} makes an invalid scenario:\n{exc}",
                             file=path, field="design") from None
        try:
            plan_chunks(scenario, spec.reps)  # refuses a point too big to run, up front
        except InputError as exc:
            raise InputError(f"point {i} {point}: {exc.problem}", file=path,
                             field=f"design ({exc.field})", allowed=exc.allowed) from None
        keys.append(sweep.key(scenario))
    sweep._keys = keys
    return sweep


def design_size(design) -> int:
    """How many points a design has, computed without making them."""
    if design.kind == "grid":
        return math.prod(len(values) for values in design.parameters.values())
    if design.kind == "list":
        return len(design.points)
    extra = {"sobol": len(design.parameters) + 2, "morris": len(design.parameters) + 1}
    return design.samples * extra.get(design.kind, 1)


def check_size(spec: SweepFile, source: str | Path | None = None) -> None:
    """Refuse, before any point is made, a design with more points, or points x reps, than
    a sweep can hold or finish."""
    points = design_size(spec.design)
    if points > MAX_POINTS:
        how = {"grid": "the product of the number of values of each parameter",
               "sobol": "samples x (parameters + 2)", "morris": "samples x (parameters + 1)"}
        detail = how.get(spec.design.kind)
        raise InputError(f"the design has {points:,} points{f' ({detail})' if detail else ''},"
                         f" more than the {MAX_POINTS:,} a sweep may have", file=source,
                         field="design", allowed=f"at most {MAX_POINTS:,} points: fewer"
                         " values, parameters or samples")
    if points * spec.reps > MAX_REPLICATIONS:
        raise InputError(f"the sweep would run {points * spec.reps:,} replications ({points:,}"
                         f" points x {spec.reps:,} reps), more than {MAX_REPLICATIONS:,}",
                         file=source, field="reps", value=spec.reps,
                         allowed=f"at most {MAX_REPLICATIONS // points:,} reps for"
                         f" {points:,} points, or fewer points")


def salib(source: str | Path | None = None) -> None:
    """Refuse, naming the install, a sampled design when SALib (which makes sobol, morris
    and latin_hypercube designs and analyses them) is not installed."""
    try:
        # optional (the sweep extra): imported only to see that it can be
        import SALib.analyze.morris  # noqa: PLC0415
        import SALib.analyze.sobol  # noqa: PLC0415
        import SALib.sample.latin  # noqa: PLC0415
        import SALib.sample.morris  # noqa: PLC0415
        import SALib.sample.sobol  # noqa: F401, PLC0415
    except ImportError:
        raise InputError("sobol, morris and latin_hypercube designs need SALib, which is not"
                         " installed", file=source, field="design.kind",
                         allowed=SALIB_HELP) from None


def design_points(design) -> tuple[list[str], list[dict[str, Any]]]:
    """Parameter names and the list of points (dicts of parameter values) of a design."""
    if design.kind == "grid":
        names = list(design.parameters)
        combos = itertools.product(*(design.parameters[n] for n in names))
        return names, [dict(zip(names, c, strict=True)) for c in combos]
    if design.kind == "list":
        names = list(dict.fromkeys(k for p in design.points for k in p))
        return names, [dict(p) for p in design.points]
    names = list(design.parameters)
    x = sample_matrix(design)
    return names, [{n: float(v) for n, v in zip(names, row, strict=True)} for row in x]


def salib_problem(design: SampledDesign) -> dict[str, Any]:
    names = list(design.parameters)
    return {"num_vars": len(names), "names": names,
            "bounds": [[design.parameters[n].low, design.parameters[n].high] for n in names]}


def sample_matrix(design: SampledDesign) -> np.ndarray:
    """The design's points as SALib makes them (the same every time for its design_seed)."""
    salib()
    from SALib.sample import latin, morris, sobol  # noqa: PLC0415 (optional: the sweep extra)

    problem = salib_problem(design)
    if design.kind == "sobol":
        return sobol.sample(problem, design.samples, calc_second_order=False,
                            seed=design.design_seed)
    if design.kind == "morris":
        return morris.sample(problem, design.samples, num_levels=design.levels,
                             seed=design.design_seed)
    return latin.sample(problem, design.samples, seed=design.design_seed)


def path_problem(data: dict[str, Any], path: str) -> str | None:
    found = list(walk(data, path))
    if not found:
        return f"'{path}' does not name a field of the base scenario"
    return None

