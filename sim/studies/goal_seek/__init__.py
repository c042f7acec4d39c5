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

from sim.studies.goal_seek.goals import GOAL_KINDS, Goal, parse_at_most, parse_level
from sim.studies.goal_seek.levers import LEVER_NAMES, SearchLever, lever_name, lever_phrase
from sim.studies.goal_seek.results import GoalSeekResult, Point, margin
from sim.studies.goal_seek.search import brute_force, curve_values, goal_seek, scan_points
from sim.studies.intervals import mean_interval, quantile_ranks, wilson

__all__ = ["GOAL_KINDS", "LEVER_NAMES", "Goal", "GoalSeekResult", "Point", "SearchLever",
           "brute_force", "curve_values", "goal_seek", "lever_name", "lever_phrase", "margin",
           "mean_interval", "parse_at_most", "parse_level", "quantile_ranks", "scan_points",
           "wilson"]
