"""The search: bisection over a grid of lever values on common random numbers (the method
is in the package's docstring)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from sim.engine.engines import DEFAULT_ENGINE
from sim.engine.metrics import GLOSSARY
from sim.engine.run import OWN_PARAMETERS, run_scenario
from sim.engine.summaries import describe
from sim.errors import InputError, ScenarioError
from sim.model.scenario import Scenario
from sim.model.timeline import Timeline
from sim.studies.goal_seek.goals import MAX_GRID_STEPS, MIN_STEP, TOLERANCE, Goal
from sim.studies.goal_seek.levers import SearchLever
from sim.studies.goal_seek.results import GoalSeekResult, Point, margin
from sim.studies.intervals import mean_interval, quantile_ranks, wilson

# --------------------------------------------------------------------------- search


class _Evaluator:
    """Runs the scenario at lever values, caching each run's per-replication outcome."""

    def __init__(self, scenario: Scenario, lever: SearchLever, target: Goal, reps: int, seed: int,
                 engine: str, run: Callable[..., Any],
                 progress: Callable[[Point], None] | None = None) -> None:
        self.data = scenario.to_dict()
        self.scenario, self.lever, self.target = scenario, lever, target
        self.reps, self.seed, self.engine = reps, seed, engine
        self.run, self.progress = run, progress
        self.year_index = year_index(scenario, target.year)
        self.runs: dict[str, Any] = {}  # scenario digest -> run result
        self.cache: dict[float, np.ndarray] = {}  # lever value -> who met the target
        self.by_value: dict[float, Point] = {}
        self.points: list[Point] = []
        # the target per replication: the baseline's own values (paired), or the number
        self.target_per_rep: np.ndarray | float
        self.target_value, self.target_se, self.target_per_rep = self._target_value()

    def _run(self, s: Scenario):
        key = s.digest()
        if key not in self.runs:
            self.runs[key] = self.run(s, self.reps, self.seed, self.engine)
        return self.runs[key]

    def _target_value(self) -> tuple[float, float, np.ndarray | float]:
        t = self.target
        year = t.baseline_year
        if year is None:
            return float(t.level), 0.0, float(t.level)
        option = "--at-most" if t.at_most_goal else "--at-least"
        try:
            j = year_index(self.scenario, year)
        except InputError as exc:
            raise InputError("baseline:YEAR names a year the scenario does not report",
                             field=option, value=t.level, allowed=exc.allowed) from None
        per_rep = np.asarray(metric_values(self._run(self.scenario), t.metric)[:, j], float)
        values = per_rep[~np.isnan(per_rep)]
        if values.size == 0:
            raise InputError(f"{t.metric} has no value in {year}", field=option,
                             value=t.level)
        se = float(values.std(ddof=1) / np.sqrt(values.size)) if values.size > 1 else 0.0
        return float(values.mean()), se, per_rep

    def scenario_at(self, value: float) -> Scenario:
        try:
            return self.lever.scenario_at(self.scenario, value)
        except ScenarioError as exc:
            raise InputError(f"the lever value makes an invalid scenario:\n{exc}",
                             field="--lever", value=value) from None

    def point(self, value: float) -> Point:
        """Run at `value` (once) and summarise it."""
        value = _clean(value)
        if value not in self.by_value:
            result = self._run(self.scenario_at(value))
            values = np.asarray(metric_values(result, self.target.metric)[:, self.year_index],
                                float)
            ok = self.target.meets(values, self.target_value)
            self.cache[value] = ok
            k = int(ok.sum())
            low, high = wilson(k, self.reps)
            d = describe(values)
            _, mean_low, mean_high = mean_interval(values)
            diff, diff_low, diff_high = mean_interval(values - self.target_per_rep)
            p = Point(value, k, self.reps, k / self.reps, low, high, d["mean"], d["p05"],
                      d["p95"], len(self.points), mean_low, mean_high, diff, diff_low,
                      diff_high)
            self.points.append(p)
            self.by_value[value] = p
            if self.progress:
                self.progress(p)
        return self.by_value[value]

    def met(self, value: float) -> np.ndarray:
        self.point(value)
        return self.cache[_clean(value)]

    def count(self, value: float) -> int:
        return int(self.met(value).sum())

    def margin(self, value: float) -> tuple[float, float, float]:
        """The mean's margin on the meeting side of the target, with its 95% interval
        (positive: met on average); NaN when no replication defines it."""
        return margin(self.target, self.point(value))


def _clean(x: float) -> float:
    """Grid values without float noise (0.1 * 3 -> 0.3), whole numbers as such."""
    r = round(x, 9)
    return float(int(r)) if r == int(r) else r


def metric_values(result, metric: str) -> np.ndarray:
    yearly = result.measured.yearly
    if metric not in yearly:
        head = metric.split(".", maxsplit=1)[0]
        close = sorted(m for m in yearly if m.split(".")[0] == head) or sorted(yearly)
        raise InputError("not a yearly metric", field="--metric", value=metric,
                         allowed=", ".join(close[:12]))
    return yearly[metric]


def year_index(scenario: Scenario, year: str) -> int:
    labels = [label for label, _, _ in Timeline.for_scenario(scenario).fiscal_years]
    if year not in labels:
        raise InputError("not a fiscal year the scenario reports", field="--year", value=year,
                         allowed=", ".join(labels))
    return labels.index(year)


def smallest_index(holds: Callable[[int], bool], lo: int, hi: int) -> int:
    """Bisection: the smallest i in (lo, hi] where `holds`, given holds(hi) and lo = -1 or
    not holds(lo). Assumes `holds` switches once from false to true (true in expectation,
    and for a fixed seed up to queueing ties)."""
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if holds(mid):
            hi = mid
        else:
            lo = mid
    return hi


def default_cap(low: float, step: float) -> int:
    """Grid steps searched above `low` when no maximum is given: a power of two, at least 64
    steps and at least four times the current value."""
    span = max(64.0, 4 * abs(low) / step)
    return 2 ** math.ceil(math.log2(span))


def goal_seek(
    scenario: Scenario,
    lever: SearchLever,
    target: Goal,
    *,
    reps: int = 100,
    seed: int = 1,
    engine: str = DEFAULT_ENGINE,
    step: float = 1.0,
    low: float | None = None,
    high: float | None = None,
    curve_step: float | None = None,
    scan: Sequence[float] = (),
    run: Callable[..., Any] = run_scenario,
    progress: Callable[[Point], None] | None = None,
) -> GoalSeekResult:
    """Find the smallest grid value of `lever` that meets `target` (see the module's doc).
    For a curve of the goal against the lever, evaluate as well, first, every `curve_step`
    from the lowest value to `high`, and any `scan` values."""
    check_search(step, low, high, scan)
    if curve_step is not None and high is None:
        raise InputError("a curve needs the highest value", field="--curve-step",
                         value=curve_step, allowed="give --max as well")
    data = scenario.to_dict()
    lever.check(data)
    year_index(scenario, target.year)
    if target.metric not in GLOSSARY:
        head = target.metric.split(".")[0]
        raise InputError("unknown metric", field="--metric", value=target.metric,
                         allowed=", ".join(sorted(m for m in GLOSSARY if m.startswith(head))
                                           or sorted(GLOSSARY))[:400])
    current = lever.current(data, scenario.start)
    low = current if low is None else float(low)
    if high is not None and high < low:
        raise InputError("the maximum is below the minimum", field="--max", value=high,
                         allowed=f"at least {low:g}")
    cap = default_cap(low, step) if high is None else math.floor((high - low) / step + 1e-9)
    if cap > MAX_GRID_STEPS:
        raise InputError(f"the search grid would have {cap:,} steps from {low:g} to"
                         f" {low + cap * step:g}", field="--step", value=step,
                         allowed=f"at most {MAX_GRID_STEPS:,} steps: a larger --step, or"
                                 " --min and --max closer together")
    curve = [] if curve_step is None or high is None else curve_values(low, high, curve_step)
    ev = _Evaluator(scenario, lever, target, reps, seed, engine, run, progress)
    for v in [*curve, *scan]:
        ev.point(v)

    def x(i: int) -> float:
        return _clean(low + i * step)

    def first_true(holds: Callable[[int], bool], start: int) -> int | None:
        """Smallest index where `holds`: double up from `start`, then bisect."""
        i = start
        while not holds(i):
            if i >= cap:
                return None
            i = min(max(2 * i, 1), cap)
        return smallest_index(holds, _last_false_below(ev, x, step, i, holds), i)

    if target.kind == "probability":
        def reaching(k: int) -> Callable[[int], bool]:
            return lambda i: ev.count(x(i)) >= k

        need = math.ceil(target.confidence * reps - 1e-9)  # p(x) >= confidence
        rank_low, rank_high = quantile_ranks(reps, target.confidence)
        meets, lower_end = reaching(need), reaching(rank_low)
        upper_end = reaching(rank_high) if rank_high <= reps else None
        lower_ok = rank_low >= 1
    else:  # the mean's margin, and its interval's ends (module doc)
        def on_side(end: int) -> Callable[[int], bool]:
            return lambda i: ev.margin(x(i))[end] >= -TOLERANCE

        # met on average; not clearly failing (upper end); clearly meeting (lower end)
        meets, lower_end, upper_end = on_side(0), on_side(2), on_side(1)
        lower_ok = True
    answer_i = first_true(meets, 0)
    lo_i = hi_i = None
    if answer_i is not None:
        if lower_ok and not lower_end(0):
            lo_i = smallest_index(lower_end,
                                  _last_false_below(ev, x, step, answer_i, lower_end),
                                  answer_i)
        if upper_end is not None:
            hi_i = first_true(upper_end, answer_i)
    points = sorted(ev.points, key=lambda p: p.value)
    if target.kind == "probability":
        backwards = [(a.value, b.value) for a, b in itertools.pairwise(points) if b.met < a.met]
    else:
        backwards = [(a.value, b.value) for a, b in itertools.pairwise(points)
                     if margin(target, b)[0] < margin(target, a)[0] - TOLERANCE]
    return GoalSeekResult(
        scenario=scenario.name, lever=lever.path,
        from_date=lever.from_date.isoformat() if lever.from_date else None,
        target=target, target_value=ev.target_value, target_value_se=ev.target_se,
        current=current, low=low, step=step, reps=reps, seed=seed, engine=engine,
        answer=None if answer_i is None else x(answer_i),
        answer_low=None if lo_i is None else x(lo_i),
        answer_high=None if hi_i is None else x(hi_i),
        high=max(p.value for p in points), points=points, non_monotone=backwards,
        met_per_rep={v: m.tolist() for v, m in sorted(ev.cache.items())},
        parameters=next((getattr(r, "parameters", OWN_PARAMETERS) for r in ev.runs.values()),
                        OWN_PARAMETERS),
    )


def check_search(step: float, low: float | None, high: float | None,
                 scan: Sequence[float] = ()) -> None:
    """Refuse, before any run, settings the search cannot use: a step that is not a positive
    finite number, a minimum, maximum or scanned value that is not finite (NaN, inf).
    Replications and seed are checked with the run's other inputs
    (`sim.engine.run.check_run`)."""
    if not (math.isfinite(step) and step >= MIN_STEP):
        raise InputError("step must be a positive, finite number", field="--step",
                         value=step, allowed=f"a number from {MIN_STEP:g}, e.g. 1")
    for name, value in (("--min", low), ("--max", high)):
        if value is not None and not math.isfinite(value):
            raise InputError("must be a finite number", field=name, value=value,
                             allowed="a number (or leave it out)")
    bad = [v for v in scan if not math.isfinite(v)]
    if bad:
        raise InputError("curve values must be finite numbers", field="--curve-step",
                         value=bad[0], allowed="finite lever values")


def curve_values(low: float, high: float, step: float) -> list[float]:
    """Every `step` from `low` to `high` (both included): the lever values of a curve."""
    if not (math.isfinite(step) and step > 0):
        raise InputError("the curve step must be a positive, finite number",
                         field="--curve-step", value=step, allowed="e.g. 2")
    n = math.floor((high - low) / step + 1e-9)
    if n > 1000:
        raise InputError(f"the curve would have {n + 1:,} points", field="--curve-step",
                         value=step, allowed="at most 1,001 points: a larger step")
    return sorted({_clean(low + i * step) for i in range(n + 1)} | {_clean(high)})


def _last_false_below(ev: _Evaluator, x: Callable[[int], float], step: float, top: int,
                      holds: Callable[[int], bool]) -> int:
    """The largest evaluated grid index below `top` where `holds` is false (-1: none);
    evaluated values off the grid (a curve's) are not grid indices and are skipped."""
    best = -1
    for v in list(ev.by_value):
        i = round((v - x(0)) / step)
        if 0 <= i < top and x(i) == v and not holds(i):
            best = max(best, i)
    return best


def brute_force(scenario: Scenario, lever: SearchLever, target: Goal, values: list[float], *,
                reps: int, seed: int, engine: str = DEFAULT_ENGINE,
                run: Callable[..., Any] = run_scenario) -> dict[float, float]:
    """p(x) at every value (a full scan): the check on `goal_seek`."""
    return {v: p.share for v, p in scan_points(scenario, lever, target, values, reps=reps,
                                               seed=seed, engine=engine, run=run).items()}


def scan_points(scenario: Scenario, lever: SearchLever, target: Goal, values: list[float], *,
                reps: int, seed: int, engine: str = DEFAULT_ENGINE,
                run: Callable[..., Any] = run_scenario) -> dict[float, Point]:
    """Every value evaluated (a full scan), as the search's points: the check on the mean
    goal too (`Point.diff_mean`, its interval)."""
    ev = _Evaluator(scenario, lever, target, reps, seed, engine, run)
    return {_clean(v): ev.point(v) for v in values}


