"""Goal-seeking: the smallest value of a numeric lever that meets a target with a probability.

The question a planner asks: "how many IOPC investigators keep IOPC cases open over 12
months in 2025/26 at or below their 2021/22 level, with 80% probability?".

Method (bisection on common random numbers)
-------------------------------------------
Candidate lever values form a grid ``x_i = low + i * step``. Every candidate is run with the
same seed and replications, so replication r sees the same arrivals and case lengths at every
x (common random numbers): only the capacity differs. For each r let ``X_r`` be the smallest
grid value at which replication r meets the target (metric in the year <= target). More
capacity can only help a replication, so its indicator ``I_r(x) = [metric_r(x) <= target]``
is (up to ties in the queue discipline) non-decreasing in x, and

    P(target met at x) = F(x) = P(X <= x),   estimated by  p(x) = #{r: I_r(x)} / n.

The answer is the confidence-quantile of X: the smallest grid x with ``p(x) >= confidence``,
found by bisection over the grid index, after bracketing (``low`` first, then
``low + step * 2**k`` until met or ``high``). Because the same replications are reused,
``p(x)`` is a deterministic, (near-)monotone function of x for a given seed, and bisection
needs about ``log2(range / step)`` runs instead of a full scan.

Uncertainty: the answer is an order statistic of ``X_1..X_n``, so a distribution-free 95%
interval for the true quantile is ``[X_(l), X_(u)]`` with l, u from Binomial(n, confidence);
``X_(k)`` is the smallest grid x with ``#{r: I_r(x)} >= k``, found by the same bisection
(reusing every run already made). Each evaluated point is reported with ``p(x)`` and its
Wilson 95% interval. Evaluated points that break monotonicity are reported, not hidden.

The target is a number, or ``baseline:YEAR``: the mean over the same replications of the
metric in YEAR in the scenario as given (lever untouched), i.e. "today's level".

Lever paths are dotted paths into the scenario (as in sweep files, `sim.studies.sweep.design`).
A path naming a list of dated steps (e.g. ``pools.iopc.staff``) is set as a new step from
``from_date`` (default: the scenario's start): earlier steps are kept, later ones replaced.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from sim.engine.engines import DEFAULT_ENGINE
from sim.engine.metrics import GLOSSARY
from sim.engine.run import run_scenario
from sim.engine.summaries import describe
from sim.errors import InputError, ScenarioError
from sim.model.fields import expand, get_path, values_at
from sim.model.scenario import Scenario
from sim.model.timeline import Timeline
from sim.studies.sweep.design import path_problem

INTERVAL = 0.95  # coverage of the Wilson intervals and of the answer's interval
MIN_STEP = 1e-6  # grid values are kept to 9 decimals: finer steps would merge
MAX_GRID_STEPS = 2**20  # the search makes about 4 x log2(steps) runs: at most about 80


@dataclass(frozen=True)
class Goal:
    """The goal: `metric` in fiscal year `year` at most `at_most`, with this probability."""

    metric: str
    year: str
    at_most: float | str  # a number, or "baseline:YEAR"
    confidence: float = 0.8

    def __post_init__(self) -> None:
        if not 0 < self.confidence < 1:  # NaN too
            raise InputError("confidence must be strictly between 0 and 1",
                             field="--confidence", value=self.confidence,
                             allowed="a probability such as 0.8")


def parse_at_most(text: str) -> float | str:
    """`--at-most`: a number, or `baseline:YEAR` (e.g. baseline:2021/22)."""
    if text.startswith("baseline:"):
        return text
    try:
        value = float(text)
    except ValueError:
        raise InputError("not a number or baseline:YEAR", field="--at-most", value=text,
                         allowed="a number, or baseline:YEAR such as baseline:2021/22") from None
    if not math.isfinite(value):
        raise InputError("must be finite", field="--at-most", value=text, allowed="a number")
    return value


# --------------------------------------------------------------------------- levers


def _is_steps(node: Any) -> bool:
    return isinstance(node, list) and bool(node) and all(
        isinstance(s, dict) and set(s) == {"from", "value"} for s in node)


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


@dataclass(frozen=True)
class SearchLever:
    """A numeric scenario field the search moves: a dotted path, and for dated steps the
    date from which the searched value holds."""

    path: str
    from_date: dt.date | None = None

    def check(self, data: dict[str, Any]) -> None:
        problem = path_problem(data, self.path)
        if problem:
            raise InputError(problem, field="--lever", value=self.path,
                             allowed="a dotted path to a number or to dated steps, e.g."
                             " pools.iopc.staff or pools.iopc.cases_per_staff")
        for node in values_at(data, self.path):
            numeric = isinstance(node, int | float) and not isinstance(node, bool)
            if not (numeric or _is_steps(node)):
                raise InputError("the lever must name a number or a list of dated steps",
                                 field="--lever", value=self.path,
                                 allowed="e.g. pools.iopc.staff, pools.iopc.cases_per_staff")

    def current(self, data: dict[str, Any], start: dt.date) -> float:
        """The lever's value now (for steps: the step in force on the lever's date)."""
        node = values_at(data, self.path)[0]
        if _is_steps(node):
            when = self.from_date or start
            in_force = [s for s in node if _as_date(s["from"]) <= when] or node[:1]
            return float(in_force[-1]["value"])
        return float(node)

    def changes(self, data: dict[str, Any], value: float, start: dt.date) -> dict[str, Any]:
        """The field changes that set the lever to `value` in the scenario data `data`: the
        number itself, or for dated steps each list with a step from the lever's date."""
        nodes = values_at(data, self.path)
        if not (nodes and _is_steps(nodes[0])):
            return {self.path: value}
        when = self.from_date or start
        step = {"from": when.isoformat(), "value": value}
        return {path: [*(s for s in get_path(data, path) if _as_date(s["from"]) < when), step]
                for path in expand(data, self.path)}

    def scenario_at(self, scenario: Scenario, value: float,
                    changes: Mapping[str, Any] | None = None) -> Scenario:
        """`scenario` with the lever set to `value` (and any other `changes`, e.g. a name)."""
        return scenario.with_changes(
            {**self.changes(scenario.to_dict(), value, scenario.start), **(changes or {})},
            source=f"{scenario.name} with {self.path} = {value:g}")


# --------------------------------------------------------------------------- result


@dataclass
class Point:
    """One evaluated lever value: how many replications met the target, and the metric."""

    value: float
    met: int
    reps: int
    share: float
    share_low: float
    share_high: float
    metric_mean: float
    metric_p05: float
    metric_p95: float
    order: int  # evaluation order (0 first)


@dataclass
class GoalSeekResult:
    scenario: str
    lever: str
    from_date: str | None
    target: Goal
    target_value: float  # the number the metric is held to (mean of the baseline if so)
    target_value_se: float  # Monte Carlo s.e. of that number (0 when given)
    current: float  # the lever's value in the scenario as given
    low: float  # the search's lowest value
    step: float
    reps: int
    seed: int
    engine: str
    answer: float | None  # None: not reached up to `high`
    answer_low: float | None  # 95% interval of the quantile (None: below low / unreached)
    answer_high: float | None
    high: float
    points: list[Point] = field(default_factory=list)
    non_monotone: list[tuple[float, float]] = field(default_factory=list)
    met_per_rep: dict[float, list[bool]] = field(default_factory=dict, repr=False)

    def sentence(self) -> str:
        t = self.target
        goal = (f"{t.metric} in {t.year} at most {self.target_value:.4g}"
                + (f" (its {t.at_most.split(':', 1)[1]} level)" if isinstance(t.at_most, str)
                   else "") + f" with probability {t.confidence:g}")
        if self.answer is None:
            return (f"{goal}: not met at any {self.lever} up to {self.high:g}"
                    f" ({self.reps} replications).")
        low = f"≤ {self.low:g}" if self.answer_low is None else f"{self.answer_low:g}"
        high = f"> {self.high:g}" if self.answer_high is None else f"{self.answer_high:g}"
        return (f"{goal}: {self.lever} = {self.answer:g} (95% interval {low} to {high};"
                f" now {self.current:g}; {self.reps} replications, {len(self.points)} points"
                " evaluated).")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("met_per_rep")
        out["non_monotone"] = [list(p) for p in self.non_monotone]
        out["sentence"] = self.sentence()
        return out


def wilson(k: int, n: int, level: float = INTERVAL) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion k / n."""
    if n == 0:
        return (0.0, 1.0)
    z = stats.norm.ppf(0.5 + level / 2)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (float(max(0.0, centre - half)), float(min(1.0, centre + half)))


def quantile_ranks(n: int, q: float, level: float = INTERVAL) -> tuple[int, int]:
    """Ranks l < u with P(X_(l) <= q-quantile <= X_(u)) >= level, distribution-free.

    With B = #{r: X_r <= quantile} ~ Binomial(n, q): X_(l) <= quantile when B >= l, and
    X_(u) >= quantile when B <= u - 1; l and u cut (1 - level) / 2 from each tail. l = 0
    means no lower bound from n replications, u = n + 1 no upper bound.
    """
    b = stats.binom(n, q)
    alpha = (1 - level) / 2
    low = int(b.ppf(alpha))  # cdf(low - 1) < alpha: P(B < low) <= alpha
    high = int(b.ppf(1 - alpha)) + 1  # cdf(high - 1) >= 1 - alpha: P(B >= high) <= alpha
    return max(low, 0), min(high, n + 1)


# --------------------------------------------------------------------------- search


class _Evaluator:
    """Runs the scenario at lever values, caching each run's per-replication outcome."""

    def __init__(self, scenario: Scenario, lever: SearchLever, target: Goal, reps: int, seed: int,
                 engine: str, run: Callable[..., Any],
                 progress: Callable[[float, int, int], None] | None = None) -> None:
        self.data = scenario.to_dict()
        self.scenario, self.lever, self.target = scenario, lever, target
        self.reps, self.seed, self.engine = reps, seed, engine
        self.run, self.progress = run, progress
        self.year_index = year_index(scenario, target.year)
        self.runs: dict[str, Any] = {}  # scenario digest -> run result
        self.cache: dict[float, np.ndarray] = {}
        self.points: list[Point] = []
        self.target_value, self.target_se = self._target_value()

    def _run(self, s: Scenario):
        key = s.digest()
        if key not in self.runs:
            self.runs[key] = self.run(s, self.reps, self.seed, self.engine)
        return self.runs[key]

    def _target_value(self) -> tuple[float, float]:
        t = self.target
        if not isinstance(t.at_most, str):
            return float(t.at_most), 0.0
        year = t.at_most.split(":", 1)[1]
        j = year_index(self.scenario, year)
        values = metric_values(self._run(self.scenario), t.metric)[:, j]
        values = values[~np.isnan(values)]
        if values.size == 0:
            raise InputError(f"{t.metric} has no value in {year}", field="--at-most",
                             value=t.at_most)
        se = float(values.std(ddof=1) / np.sqrt(values.size)) if values.size > 1 else 0.0
        return float(values.mean()), se

    def scenario_at(self, value: float) -> Scenario:
        try:
            return self.lever.scenario_at(self.scenario, value)
        except ScenarioError as exc:
            raise InputError(f"the lever value makes an invalid scenario:\n{exc}",
                             field="--lever", value=value) from None

    def met(self, value: float) -> np.ndarray:
        value = _clean(value)
        if value not in self.cache:
            result = self._run(self.scenario_at(value))
            values = metric_values(result, self.target.metric)[:, self.year_index]
            ok = ~np.isnan(values) & (values <= self.target_value + 1e-9)
            self.cache[value] = ok
            k = int(ok.sum())
            low, high = wilson(k, self.reps)
            d = describe(values)
            self.points.append(Point(value, k, self.reps, k / self.reps, low, high,
                                     d["mean"], d["p05"], d["p95"], len(self.points)))
            if self.progress:
                self.progress(value, k, self.reps)
        return self.cache[value]

    def count(self, value: float) -> int:
        return int(self.met(value).sum())


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


def smallest_index(count: Callable[[int], int], k: int, lo: int, hi: int) -> int:
    """Bisection: the smallest i in (lo, hi] with count(i) >= k, given count(hi) >= k and
    lo = -1 or count(lo) < k. Assumes count non-decreasing (true in expectation, and for a
    fixed seed up to queueing ties)."""
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if count(mid) >= k:
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
    run: Callable[..., Any] = run_scenario,
    progress: Callable[[float, int, int], None] | None = None,
) -> GoalSeekResult:
    """Find the smallest grid value of `lever` that meets `target` (see the module's doc)."""
    check_search(step, low, high)
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
    ev = _Evaluator(scenario, lever, target, reps, seed, engine, run, progress)

    def x(i: int) -> float:
        return _clean(low + i * step)

    def count(i: int) -> int:
        return ev.count(x(i))

    def first_reaching(k: int, start: int) -> int | None:
        """Smallest index with count >= k: double up from `start`, then bisect."""
        i = start
        while count(i) < k:
            if i >= cap:
                return None
            i = min(max(2 * i, 1), cap)
        return smallest_index(count, k, _last_below(ev, x, i, k), i)

    need = math.ceil(target.confidence * reps - 1e-9)  # p(x) >= confidence
    rank_low, rank_high = quantile_ranks(reps, target.confidence)
    answer_i = first_reaching(need, 0)
    lo_i = hi_i = None
    if answer_i is not None:
        if rank_low >= 1 and count(0) < rank_low:
            lo_i = smallest_index(count, rank_low, _last_below(ev, x, answer_i, rank_low),
                                  answer_i)
        if rank_high <= reps:
            hi_i = first_reaching(rank_high, answer_i)
    points = sorted(ev.points, key=lambda p: p.value)
    return GoalSeekResult(
        scenario=scenario.name, lever=lever.path,
        from_date=lever.from_date.isoformat() if lever.from_date else None,
        target=target, target_value=ev.target_value, target_value_se=ev.target_se,
        current=current, low=low, step=step, reps=reps, seed=seed, engine=engine,
        answer=None if answer_i is None else x(answer_i),
        answer_low=None if lo_i is None else x(lo_i),
        answer_high=None if hi_i is None else x(hi_i),
        high=max(p.value for p in points), points=points,
        non_monotone=[(a.value, b.value) for a, b in itertools.pairwise(points)
                      if b.met < a.met],
        met_per_rep={v: m.tolist() for v, m in sorted(ev.cache.items())},
    )


def check_search(step: float, low: float | None, high: float | None) -> None:
    """Refuse, before any run, settings the search cannot use: a step that is not a positive
    finite number, a minimum or maximum that is not finite (NaN, inf). Replications and seed
    are checked with the run's other inputs (`sim.engine.run.check_run`)."""
    if not (math.isfinite(step) and step >= MIN_STEP):
        raise InputError("step must be a positive, finite number", field="--step",
                         value=step, allowed=f"a number from {MIN_STEP:g}, e.g. 1")
    for name, value in (("--min", low), ("--max", high)):
        if value is not None and not math.isfinite(value):
            raise InputError("must be a finite number", field=name, value=value,
                             allowed="a number (or leave it out)")


def _last_below(ev: _Evaluator, x: Callable[[int], float], top: int, k: int) -> int:
    """The largest evaluated grid index below `top` whose count is under k (-1: none)."""
    best = -1
    for v, met in ev.cache.items():
        i = round((v - x(0)) / (x(1) - x(0)))
        if i < 0:
            continue
        if i < top and int(met.sum()) < k:
            best = max(best, i)
    return best


def brute_force(scenario: Scenario, lever: SearchLever, target: Goal, values: list[float], *,
                reps: int, seed: int, engine: str = DEFAULT_ENGINE,
                run: Callable[..., Any] = run_scenario) -> dict[float, float]:
    """p(x) at every value (a full scan): the check on `goal_seek`."""
    ev = _Evaluator(scenario, lever, target, reps, seed, engine, run)
    return {_clean(v): ev.count(v) / reps for v in values}


__all__ = [
    "Goal",
    "GoalSeekResult",
    "Point",
    "SearchLever",
    "brute_force",
    "goal_seek",
    "parse_at_most",
    "quantile_ranks",
    "wilson",
]
