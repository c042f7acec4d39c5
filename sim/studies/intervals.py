"""The intervals the studies report, defined once: Wilson for a probability,
distribution-free for a quantile, Student t for a mean (a paired difference is the mean of
per-replication differences). Comparisons and the goal-seek both use them."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

INTERVAL = 0.95  # coverage of every interval the studies report


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


