"""Duration distributions a scenario can name. Each knows its mean and variance.

Written in YAML as a mapping with a `dist` key, e.g. `{dist: lognormal, mean: 120, cv: 0.8}`.
All durations are in calendar days. Tests compare samples with the analytic moments.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @property
    def mean(self) -> float:
        raise NotImplementedError

    @property
    def var(self) -> float:
        raise NotImplementedError

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        raise NotImplementedError

    def scaled(self, factor: float) -> _Dist:
        """The same shape with every duration multiplied by `factor` (used by levers)."""
        raise NotImplementedError


class Fixed(_Dist):
    """Always the same duration."""

    dist: Literal["fixed"]
    value: NonNegative

    @property
    def mean(self) -> float:
        return self.value

    @property
    def var(self) -> float:
        return 0.0

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.full(n, self.value)

    def scaled(self, factor: float) -> Fixed:
        return self.model_copy(update={"value": self.value * factor})


class Exponential(_Dist):
    """Memoryless duration with the given mean (the M in M/M/c)."""

    dist: Literal["exponential"]
    mean_: Positive = Field(alias="mean")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @property
    def mean(self) -> float:
        return self.mean_

    @property
    def var(self) -> float:
        return self.mean_**2

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.exponential(self.mean_, n)

    def scaled(self, factor: float) -> Exponential:
        return self.model_copy(update={"mean_": self.mean_ * factor})


class _MeanCv(_Dist):
    mean_: Positive = Field(alias="mean")
    cv: Positive = Field(description="coefficient of variation: standard deviation / mean")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @property
    def mean(self) -> float:
        return self.mean_

    @property
    def var(self) -> float:
        return (self.mean_ * self.cv) ** 2

    def scaled(self, factor: float) -> _MeanCv:
        return self.model_copy(update={"mean_": self.mean_ * factor})


class LogNormal(_MeanCv):
    """Right-skewed duration given by its mean and cv (not by the log-scale parameters)."""

    dist: Literal["lognormal"]

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        sigma2 = math.log1p(self.cv**2)
        mu = math.log(self.mean_) - sigma2 / 2
        return rng.lognormal(mu, math.sqrt(sigma2), n)


class Gamma(_MeanCv):
    """Gamma duration by mean and cv (shape 1/cv², so cv=1 is exponential)."""

    dist: Literal["gamma"]

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        shape = 1.0 / self.cv**2
        return rng.gamma(shape, self.mean_ / shape, n)


class Empirical(_Dist):
    """Resample observed durations, optionally weighted."""

    dist: Literal["empirical"]
    values: list[NonNegative] = Field(min_length=1)
    weights: list[NonNegative] | None = None

    @model_validator(mode="after")
    def _check_weights(self) -> Empirical:
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError(
                    f"weights has {len(self.weights)} entries but values has {len(self.values)};"
                    " give one weight per value"
                )
            if sum(self.weights) <= 0:
                raise ValueError("weights must not all be zero")
        return self

    def _p(self) -> np.ndarray:
        if self.weights is None:
            return np.full(len(self.values), 1.0 / len(self.values))
        w = np.asarray(self.weights, dtype=float)
        return w / w.sum()

    @property
    def mean(self) -> float:
        return float(np.dot(self._p(), self.values))

    @property
    def var(self) -> float:
        v = np.asarray(self.values, dtype=float)
        return float(np.dot(self._p(), (v - self.mean) ** 2))

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.choice(np.asarray(self.values, dtype=float), size=n, p=self._p())

    def scaled(self, factor: float) -> Empirical:
        return self.model_copy(update={"values": [v * factor for v in self.values]})


Distribution = Annotated[
    Fixed | Exponential | LogNormal | Gamma | Empirical, Field(discriminator="dist")
]
