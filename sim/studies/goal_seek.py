"""Goal-seeking: the smallest value of a numeric lever that meets a target.

The questions a planner asks: "how many IOPC investigators keep the wait for an IOPC
investigator in 2025/26 at its 2021/22 level, on average?" (a *mean* goal), or "... keep IOPC
cases open over 12 months in 2025/26 at or below their 2021/22 level with 80% probability?"
(a *probability* goal). Either may ask for the metric *at most* a level (a backlog, a wait)
or *at least* one (``iopc.within_12m.share``, the IOPC's timeliness KPI).

Two goal kinds, because they are different questions
----------------------------------------------------
``probability``: the share of futures (replications) in which the metric meets the level is
at least ``confidence``. Compared with a level that is itself a mean (``baseline:YEAR``),
this asks a count to be at or below its own average in, say, 80% of futures: a count varies
from one future to another, so once more capacity stops changing it (nobody waits) the
probability stops rising, near a half. Such a goal can have no answer however large the
lever; the result then says the highest probability reached, where, and why, and every
evaluated point is kept (the probability against the lever, with Wilson 95% intervals), so
a planner sees what is achievable.

``mean``: the metric's expected value (its mean over the same replications) meets the level.
This is what "holds it at today's level" means on average. The answer is the smallest grid
value whose mean meets it. Its 95% interval is *the set of lever values whose 95% interval
for the mean straddles the target*: from one step above the largest value at which the mean
is clearly on the failing side, to the smallest value at which it is clearly on the meeting
side. We report this set rather than an interval for the mean at the answer and its
neighbours because the question is asked in the lever's units ("how many investigators"),
so is its uncertainty, as the probability goal's order-statistic interval is; and it is found
by the same bisection. Each point's interval is a paired (common random numbers) t-interval
for the mean of ``d_r = metric_r(x) - target_r``: with ``baseline:YEAR`` the target is
estimated from the same replications, and pairing replication r with itself removes the
shared noise (a fixed number target gives the plain t-interval, shifted). If the expected
value is monotone in the lever, the true answer lies outside the interval only if one of the
two one-sided 2.5% tests at its ends errs; with common random numbers the estimates at
neighbouring values move together, so the coverage is about 95% (pointwise; not a
simultaneous band). Replications where the metric, or its baseline, is undefined (NaN: no
case finished in the year) are left out of the mean and its interval, and count as not
meeting the target in the probability.

The search assumes the goal gets easier as the lever rises (more investigators: a shorter
wait, fewer long-open cases, a higher share within 12 months). Points where the estimate
moves the other way are reported, not hidden.

Method (bisection on common random numbers)
-------------------------------------------
Candidate lever values form a grid ``x_i = low + i * step``. Every candidate is run with the
same seed and replications, so replication r sees the same arrivals and case lengths at every
x (common random numbers): only the capacity differs. For each r let ``X_r`` be the smallest
grid value at which replication r meets the target (metric in the year <= target, or >=
for an at-least goal). More capacity can only help a replication, so its indicator
``I_r(x) = [metric_r(x) <= target]``
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
Wilson 95% interval. A mean goal bisects on the sign of the paired mean ``mean_r d_r(x)``
instead (and on the signs of its interval's ends for the answer's interval); ``scan`` values
(a curve for a chart) are evaluated first and join the bracketing.

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
from collections.abc import Callable, Mapping, Sequence
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


GOAL_KINDS = ("probability", "mean")
TOLERANCE = 1e-9  # a metric equal to its target meets it (float noise aside)


@dataclass(frozen=True)
class Goal:
    """The goal: `metric` in fiscal year `year` at most `at_most` (or at least `at_least`),
    with probability `confidence` (kind "probability"), or on average (kind "mean")."""

    metric: str
    year: str
    at_most: float | str | None = None  # a number, or "baseline:YEAR"
    confidence: float = 0.8  # kind "probability" only
    at_least: float | str | None = None
    kind: str = "probability"

    def __post_init__(self) -> None:
        if self.kind not in GOAL_KINDS:
            raise InputError("not a goal kind", field="--goal", value=self.kind,
                             allowed="probability (meet it in a share of futures) or mean"
                                     " (meet it on average)")
        if (self.at_most is None) == (self.at_least is None):
            raise InputError("give exactly one of at most and at least", field="--at-most",
                             value=f"at most {self.at_most}, at least {self.at_least}",
                             allowed="--at-most VALUE or --at-least VALUE")
        if not 0 < self.confidence < 1:  # NaN too
            raise InputError("confidence must be strictly between 0 and 1",
                             field="--confidence", value=self.confidence,
                             allowed="a probability such as 0.8")

    @property
    def level(self) -> float | str:
        """The level as given: a number, or "baseline:YEAR"."""
        level = self.at_most if self.at_most is not None else self.at_least
        assert level is not None  # __post_init__: exactly one is given
        return level

    @property
    def at_most_goal(self) -> bool:
        return self.at_most is not None

    @property
    def direction(self) -> str:
        return "at most" if self.at_most_goal else "at least"

    @property
    def baseline_year(self) -> str | None:
        """YEAR of a "baseline:YEAR" level (the scenario's own mean in YEAR), else None."""
        level = self.level
        return level.split(":", 1)[1] if isinstance(level, str) else None

    def meets(self, values: np.ndarray, target: float) -> np.ndarray:
        """Per replication: the metric is defined and on the right side of `target`."""
        if self.at_most_goal:
            return ~np.isnan(values) & (values <= target + TOLERANCE)
        return ~np.isnan(values) & (values >= target - TOLERANCE)


def parse_level(text: str, option: str = "--at-most") -> float | str:
    """`--at-most` / `--at-least`: a number, or `baseline:YEAR` (e.g. baseline:2021/22)."""
    if text.startswith("baseline:"):
        return text
    try:
        value = float(text)
    except ValueError:
        raise InputError("not a number or baseline:YEAR", field=option, value=text,
                         allowed="a number, or baseline:YEAR such as baseline:2021/22") from None
    if not math.isfinite(value):
        raise InputError("must be finite", field=option, value=text, allowed="a number")
    return value


def parse_at_most(text: str) -> float | str:
    """`--at-most`: a number, or `baseline:YEAR` (e.g. baseline:2021/22)."""
    return parse_level(text, "--at-most")


# --------------------------------------------------------------------------- plain names

#: What a planner calls the levers the shipped scenarios, sweeps and brief move: a template
#: for a value ("{} IOPC investigators for Met cases") and the plain noun. Other paths are
#: written as themselves ("pools.x.y = 3").
LEVER_NAMES: dict[str, tuple[str, str]] = {
    "pools.iopc.staff": ("{} IOPC investigators for Met cases",
                         "IOPC investigators for Met cases"),
    "pools.iopc.staff.*.value": ("{} IOPC investigators for Met cases",
                                 "IOPC investigators for Met cases"),
    "pools.dps.staff": ("{} DPS investigators", "DPS investigators"),
    "pools.psu.staff": ("{} local (PSU) investigators", "local (PSU) investigators"),
    "proceedings.panels.staff": ("{} misconduct panels (legally qualified chairs)",
                                 "misconduct panels"),
    "pools.iopc.cases_per_staff": ("{} investigations led at once by each IOPC investigator",
                                   "investigations each IOPC investigator leads at once"),
    "pools.dps.cases_per_staff": ("{} cases carried at once by each DPS investigator",
                                  "cases each DPS investigator carries"),
    "pools.psu.cases_per_staff": ("{} cases carried at once by each PSU investigator",
                                  "cases each PSU investigator carries"),
    "cps.decision_days.mean": ("a mean CPS charging decision time of {} days",
                               "the CPS's mean charging decision time"),
    "iopc_referral.assessment_days.mean": ("a mean IOPC decision time of {} days",
                                           "the IOPC's mean decision time"),
}


def lever_name(path: str) -> str:
    """The lever as a planner names it ("IOPC investigators for Met cases"), else its path."""
    return LEVER_NAMES[path][1] if path in LEVER_NAMES else path


def lever_phrase(path: str, value: float) -> str:
    """A lever value in words ("34 IOPC investigators for Met cases"), else "path = 34"."""
    template = LEVER_NAMES[path][0] if path in LEVER_NAMES else f"{path} = {{}}"
    return template.format(f"{value:g}")


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
    """One evaluated lever value: how many replications met the target, and the metric's
    mean with its 95% interval and its paired difference from the target."""

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
    mean_low: float = math.nan  # t-interval for the metric's mean
    mean_high: float = math.nan
    diff_mean: float = math.nan  # metric minus target, replication by replication (CRN)
    diff_low: float = math.nan
    diff_high: float = math.nan


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
    answer_low: float | None  # 95% interval of the answer (None: below low / unreached)
    answer_high: float | None
    high: float
    points: list[Point] = field(default_factory=list)
    non_monotone: list[tuple[float, float]] = field(default_factory=list)
    met_per_rep: dict[float, list[bool]] = field(default_factory=dict, repr=False)

    # ---- reading the points

    def score(self, p: Point) -> tuple[float, float, float]:
        """How well a point does, higher better, with its 95% interval: the probability for
        a probability goal; for a mean goal, the mean's margin on the right side of the
        target (target minus mean for at most, mean minus target for at least)."""
        if self.target.kind == "probability":
            return p.share, p.share_low, p.share_high
        return margin(self.target, p)

    def best(self) -> Point:
        """The point closest to meeting the goal (the smallest value among equals)."""
        def key(p: Point) -> tuple[float, float]:
            s = self.score(p)[0]
            return (-math.inf if math.isnan(s) else s, -p.value)
        return max(self.points, key=key)

    def plateau_from(self) -> float | None:
        """The smallest evaluated value from which the score hardly changes: every higher
        point within a quarter of the best point's 95% margin (half its interval) of the
        best, when at least two points are (None: still moving). With common random numbers
        a lever that no longer binds gives the same replications, so the score is flat."""
        best = self.best()
        score, low, high = self.score(best)
        margin_95 = (high - low) / 2
        near = max(TOLERANCE, margin_95 / 4 if math.isfinite(margin_95) else 0.0)
        start = None
        for p in sorted(self.points, key=lambda q: q.value, reverse=True):
            if not abs(self.score(p)[0] - score) <= near + TOLERANCE:
                break
            start = p
        inside = [p for p in self.points if start is not None and p.value >= start.value]
        return start.value if start is not None and len(inside) >= 2 else None

    # ---- in words

    def goal_text(self, metric: str | None = None,
                  value: Callable[[float], str] | None = None) -> str:
        """The goal in words; `metric` and `value` give a plain label and a number format
        (the outputs layer passes those of `sim.outputs.labels`), else the metric's name."""
        t, v = self.target, value or (lambda x: f"{x:.4g}")
        name = metric or t.metric
        level = v(self.target_value) + (f" (its {t.baseline_year} level)" if t.baseline_year
                                        else "")
        if t.kind == "mean":
            return f"{name} in {t.year}, averaged over futures, {t.direction} {level}"
        return f"{name} in {t.year} {t.direction} {level} with probability {t.confidence:g}"

    def sentence(self, metric: str | None = None,
                 value: Callable[[float], str] | None = None) -> str:
        """The answer in one or more sentences, with plain lever names (`lever_name`)."""
        t, v = self.target, value or (lambda x: f"{x:.4g}")
        goal = self.goal_text(metric, value)
        if metric:  # a plain label starts the sentence; a metric's name stays as it is
            goal = goal[:1].upper() + goal[1:]
        when = (f" from {dt.date.fromisoformat(self.from_date):%B %Y}" if self.from_date
                else "")
        if self.answer is not None:
            low = f"at most {self.low:g}" if self.answer_low is None else f"{self.answer_low:g}"
            high = (f"more than {self.high:g}" if self.answer_high is None
                    else f"{self.answer_high:g}")
            return (f"{goal}: {lever_phrase(self.lever, self.answer)}{when} (95% interval"
                    f" {low} to {high}; now {self.current:g}; {self.reps} replications,"
                    f" {len(self.points)} points evaluated).")
        name = lever_name(self.lever)
        text = (f"{goal}: not met with up to {lever_phrase(self.lever, self.high)}{when}"
                f" ({self.reps} replications).")
        best, flat = self.best(), self.plateau_from()
        if t.kind == "probability" and best.met == 0:
            text += (" No future meets it at any value evaluated (Wilson 95% interval for the"
                     f" probability at {best.value:g}: {best.share_low:.0%} to"
                     f" {best.share_high:.0%})")
        elif t.kind == "probability":
            text += (f" The highest probability is {best.share:.0%} (Wilson 95% interval"
                     f" {best.share_low:.0%} to {best.share_high:.0%}) at {best.value:g}")
        else:
            text += (f" The closest is {v(best.metric_mean)} at {best.value:g} (difference from"
                     f" the target {best.diff_mean:+.3g}, 95% paired interval"
                     f" {best.diff_low:+.3g} to {best.diff_high:+.3g})")
        if flat is None:
            return text + (f", and it is still improving at {self.high:g}: a higher maximum"
                           " may reach it.")
        text += (f"; from {flat:g} up it hardly changes (by less than a quarter of that"
                 f" margin): more {name} no longer change it.")
        if t.kind == "probability" and t.baseline_year:
            top = max(self.points, key=lambda p: p.value)
            meets_on_average = margin(t, top)[0] >= -TOLERANCE
            text += (f" Why: the target is a mean (the {t.baseline_year} level averaged over"
                     f" {self.reps} futures), and the metric varies from one future to"
                     " another around its own expected value, which more"
                     f" {name} stop changing: at {top.value:g} that is {v(top.metric_mean)},"
                     + (" about" if meets_on_average else
                        " above" if t.at_most_goal else " below")
                     + f" the target {v(self.target_value)}, so only the futures that come"
                     f" out on the right side of it meet it ({top.share:.0%}), however many"
                     f" {name} there are."
                     + " Ask instead for the expected value (goal mean), or for a"
                     f" {'higher' if t.at_most_goal else 'lower'} level with this"
                     " probability.")
        elif t.kind == "mean" and best.diff_low <= 0 <= best.diff_high:
            text += (" The difference is within the noise of"
                     f" {self.reps} replications: the expected value levels off about at the"
                     " target, not clearly on either side of it.")
        return text

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("met_per_rep")
        out["non_monotone"] = [list(p) for p in self.non_monotone]
        out["lever_name"] = lever_name(self.lever)
        best = self.best()
        out["best"] = {"value": best.value, "share": best.share,
                       "metric_mean": best.metric_mean, "diff_mean": best.diff_mean}
        out["plateau_from"] = self.plateau_from()
        out["sentence"] = self.sentence()
        return out


def margin(goal: Goal, p: Point) -> tuple[float, float, float]:
    """How far a point's mean is on the meeting side of the target (target minus mean for
    at most, mean minus target for at least), with its paired 95% interval."""
    if goal.at_most_goal:
        return -p.diff_mean, -p.diff_high, -p.diff_low
    return p.diff_mean, p.diff_low, p.diff_high


def wilson(k: int, n: int, level: float = INTERVAL) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion k / n."""
    if n == 0:
        return (0.0, 1.0)
    z = stats.norm.ppf(0.5 + level / 2)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    # the interval always holds p: at k = 0 or n float noise could put an end past it
    return (float(min(p, max(0.0, centre - half))), float(max(p, min(1.0, centre + half))))


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


def mean_interval(values: np.ndarray, level: float = INTERVAL) -> tuple[float, float, float]:
    """Mean and t-interval of the defined values (NaN: left out); an interval needs two."""
    v = values[~np.isnan(values)]
    if v.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(v.mean())
    if v.size < 2:
        return mean, -math.inf, math.inf
    half = float(stats.t.ppf(0.5 + level / 2, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size))
    return mean, mean - half, mean + half


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


__all__ = [
    "GOAL_KINDS",
    "LEVER_NAMES",
    "Goal",
    "GoalSeekResult",
    "Point",
    "SearchLever",
    "brute_force",
    "curve_values",
    "goal_seek",
    "lever_name",
    "lever_phrase",
    "margin",
    "mean_interval",
    "parse_at_most",
    "parse_level",
    "quantile_ranks",
    "scan_points",
    "wilson",
]
