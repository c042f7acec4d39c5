"""Each duration distribution: its declared mean and variance are right, and the compiled
engine's samples (`sim.engine.compiled.tables.sample`, the kernel's own samplers) agree.

The declared moments are checked against scipy's independent implementation of the same
law (exact up to rounding). Samples are checked statistically: with n draws, the sample
mean has standard error sqrt(var / n) and the sample variance sqrt((mu4 - var^2) / n),
mu4 being the analytic fourth central moment; both must lie within Z = 5 standard errors
of the declared value (a chance of 6e-7 per check under the normal approximation, which
n = 400,000 makes good even for cv 2 tails). A fixed seed makes the test deterministic.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import TypeAdapter
from scipy import stats

from sim.engine.compiled.tables import sample
from sim.model.distributions import Distribution

SEED = 8_675_309
N = 400_000
Z = 5.0

parse = TypeAdapter(Distribution).validate_python


def lognormal(mean: float, cv: float):
    sigma2 = math.log1p(cv**2)
    return stats.lognorm(s=math.sqrt(sigma2), scale=mean * math.exp(-sigma2 / 2))


def gamma(mean: float, cv: float):
    return stats.gamma(a=1 / cv**2, scale=mean * cv**2)


def empirical(values: list[float], weights: list[float] | None = None):
    p = np.full(len(values), 1 / len(values)) if weights is None else np.asarray(weights)
    return stats.rv_discrete(values=(values, p / p.sum()))


# (the scenario's YAML form, the same law in scipy)
RANDOM_CASES = [
    ({"dist": "exponential", "mean": 30.0}, stats.expon(scale=30.0)),
    ({"dist": "lognormal", "mean": 13.0, "cv": 1.0}, lognormal(13.0, 1.0)),
    ({"dist": "lognormal", "mean": 240.0, "cv": 0.6}, lognormal(240.0, 0.6)),
    ({"dist": "lognormal", "mean": 20.0, "cv": 1.5}, lognormal(20.0, 1.5)),
    ({"dist": "lognormal", "mean": 100.0, "cv": 0.1}, lognormal(100.0, 0.1)),
    ({"dist": "gamma", "mean": 20.0, "cv": 0.5}, gamma(20.0, 0.5)),
    ({"dist": "gamma", "mean": 20.0, "cv": 1.0}, gamma(20.0, 1.0)),
    ({"dist": "gamma", "mean": 20.0, "cv": 2.0}, gamma(20.0, 2.0)),
    ({"dist": "empirical", "values": [21, 22, 23, 24, 25, 26, 27, 28]},
     empirical([21, 22, 23, 24, 25, 26, 27, 28])),
    ({"dist": "empirical", "values": [1.5, 5, 60, 90], "weights": [5, 3, 2, 0]},
     empirical([1.5, 5, 60, 90], [5, 3, 2, 0])),
]
FIXED_CASES = [{"dist": "fixed", "value": 7.5}, {"dist": "fixed", "value": 0.0}]


def case_id(case) -> str:
    spec = case[0] if isinstance(case, tuple) else case
    return "-".join(f"{v}" for k, v in spec.items() if k != "weights")[:40]


@pytest.mark.parametrize("case", RANDOM_CASES, ids=case_id)
def test_declared_moments_match_scipy(case) -> None:
    """`mean` and `var` equal scipy's for the same law, to 1e-9 relative (rounding only):
    this checks each parametrisation (lognormal and gamma by mean and cv)."""
    spec, law = case
    dist = parse(spec)
    assert dist.mean == pytest.approx(law.mean(), rel=1e-9)
    assert dist.var == pytest.approx(law.var(), rel=1e-9)


@pytest.mark.parametrize("case", RANDOM_CASES, ids=case_id)
def test_sample_mean_and_variance_agree_with_declared(case) -> None:
    """Sample mean and variance of 400,000 draws within 5 standard errors of `mean`, `var`."""
    spec, law = case
    dist = parse(spec)
    x = sample(dist, N, SEED)
    assert x.shape == (N,) and np.all(x >= 0)
    mu4 = (float(law.stats(moments="k")) + 3.0) * dist.var**2  # from excess kurtosis
    se_mean = math.sqrt(dist.var / N)
    se_var = math.sqrt((mu4 - dist.var**2) / N)
    assert abs(x.mean() - dist.mean) <= Z * se_mean, (x.mean(), dist.mean, se_mean)
    assert abs(x.var(ddof=1) - dist.var) <= Z * se_var, (x.var(ddof=1), dist.var, se_var)


@pytest.mark.parametrize("spec", FIXED_CASES, ids=case_id)
def test_fixed_is_exact(spec) -> None:
    """A fixed duration has variance 0, so every draw equals the value exactly."""
    dist = parse(spec)
    x = sample(dist, 1000, SEED)
    assert dist.var == 0.0
    np.testing.assert_array_equal(x, spec["value"])
    assert x.mean() == dist.mean


@pytest.mark.parametrize("spec", [c[0] for c in RANDOM_CASES] + FIXED_CASES, ids=case_id)
def test_scaled_multiplies_every_draw(spec) -> None:
    """`scaled(f)` (used by levers) keeps the shape: declared mean x f and variance x f^2,
    and with the same random numbers every draw is f times the unscaled draw (to 1e-12,
    rounding only)."""
    f = 1.7
    dist = parse(spec)
    scaled = dist.scaled(f)
    assert scaled.mean == pytest.approx(f * dist.mean, rel=1e-12)
    assert scaled.var == pytest.approx(f * f * dist.var, rel=1e-12)
    x = sample(dist, 10_000, SEED)
    y = sample(scaled, 10_000, SEED)
    np.testing.assert_allclose(y, f * x, rtol=1e-12)


def test_empirical_weights_must_match_values() -> None:
    """One weight per value, and not all zero: the schema says which is wrong."""
    with pytest.raises(ValueError, match="one weight per value"):
        parse({"dist": "empirical", "values": [1, 2], "weights": [1]})
    with pytest.raises(ValueError, match="all be zero"):
        parse({"dist": "empirical", "values": [1, 2], "weights": [0, 0]})
