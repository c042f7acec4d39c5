"""What a goal-seek found: every evaluated point and the answer with its interval."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from sim.engine.run import OWN_PARAMETERS
from sim.studies.goal_seek.goals import TOLERANCE, Goal
from sim.studies.goal_seek.levers import lever_name, lever_phrase

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
    #: where every evaluated value's fitted parameters came from (`RunResult.parameters`)
    parameters: str = OWN_PARAMETERS

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


