"""Duration distributions a scenario can name. Each knows its mean and variance.

Written in YAML as a mapping with a `dist` key, e.g. `{dist: lognormal, mean: 120, cv: 0.8}`.
All durations are in calendar days. The compiled engine samples them
(`sim.engine.compiled.streams`); tests compare its samples with the analytic moments.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    model_validator,
)
from pydantic_core import PydanticCustomError

from sim.model.frozen import Frozen

# Bounds that keep every draw finite: far outside any real case, inside what float64 and
# numpy's samplers handle (a cv of 1e-200 divides by zero in the gamma's shape, 1e200
# overflows the lognormal's sigma).
MAX_DAYS = 36_525.0  # a hundred years: a duration, mean or lag beyond it is a slip
MIN_CV, MAX_CV = 1e-3, 20.0
MAX_EMPIRICAL_VALUES = 10_000  # summarise a larger sample as values with weights
MAX_WEIGHT = 1e12  # weights are relative; larger ones would overflow their sum


def not_bool_or_text(expected: str, error_type: str) -> Callable[[Any], Any]:
    """A check that refuses what pydantic's lax mode would quietly turn into a number: YAML
    1.1 reads yes, no, on, off, true and false as booleans (True would become 1.0), and a
    quoted '0.5' is text. YAML writes numbers natively, so a number in quotes is refused too:
    one rule (numbers are written as numbers) rather than '45' accepted but '45 staff' not.
    Infinity and nan (.inf, .nan) are refused here too, ahead of any bound."""

    def check(value: Any) -> Any:
        if isinstance(value, bool | np.bool_):
            raise PydanticCustomError(
                error_type, f"a yes/no value is not {expected} (YAML reads yes, no, on, off,"
                " true and false as true or false)")
        if isinstance(value, str | bytes):
            raise PydanticCustomError(
                error_type, f"text is not {expected} (write it without quotes)")
        if isinstance(value, float | np.floating) and not math.isfinite(value):
            # before any bound: nan fails `le` and `ge` alike, which would be a puzzling reason
            raise PydanticCustomError("finite_number", "Input should be a finite number")
        return value

    return check


Number = BeforeValidator(not_bool_or_text("a number", "float_type"))
WholeNumber = BeforeValidator(not_bool_or_text("a whole number", "int_type"))
Real = Annotated[float, Number, Field(allow_inf_nan=False)]
Positive = Annotated[float, Number, Field(gt=0, allow_inf_nan=False)]
NonNegative = Annotated[float, Number, Field(ge=0, allow_inf_nan=False)]
Days = Annotated[float, Number, Field(ge=0, le=MAX_DAYS, allow_inf_nan=False)]
PositiveDays = Annotated[float, Number, Field(gt=0, le=MAX_DAYS, allow_inf_nan=False)]


def _cv_not_tiny(cv: float) -> float:
    """A cv below MIN_CV is a fixed duration in all but name, and 1e-200 overflows the gamma's
    shape (1 / cv**2); `fixed` says it plainly."""
    if cv < MIN_CV:
        raise PydanticCustomError(
            "greater_than_equal", f"Input should be greater than or equal to {MIN_CV:g} (for"
            " a duration that does not vary, use dist: fixed)")
    return cv


Cv = Annotated[float, Number, Field(gt=0, le=MAX_CV, allow_inf_nan=False),
               AfterValidator(_cv_not_tiny)]
Weight = Annotated[float, Number, Field(ge=0, le=MAX_WEIGHT, allow_inf_nan=False)]


class _Dist(Frozen):

    @property
    def mean(self) -> float:
        raise NotImplementedError

    @property
    def var(self) -> float:
        raise NotImplementedError

    def scaled(self, factor: float) -> _Dist:
        """The same shape with every duration multiplied by `factor` (used by levers)."""
        raise NotImplementedError


class Fixed(_Dist):
    """Always the same duration."""

    dist: Literal["fixed"]
    value: Days

    @property
    def mean(self) -> float:
        return self.value

    @property
    def var(self) -> float:
        return 0.0

    def scaled(self, factor: float) -> Fixed:
        return self.model_copy(update={"value": self.value * factor})


class Exponential(_Dist):
    """Memoryless duration with the given mean (the M in M/M/c)."""

    dist: Literal["exponential"]
    mean_: PositiveDays = Field(alias="mean")

    @property
    def mean(self) -> float:
        return self.mean_

    @property
    def var(self) -> float:
        return self.mean_**2

    def scaled(self, factor: float) -> Exponential:
        return self.model_copy(update={"mean_": self.mean_ * factor})


class _MeanCv(_Dist):
    mean_: PositiveDays = Field(alias="mean")
    cv: Cv = Field(description="coefficient of variation: standard deviation / mean")

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


class Gamma(_MeanCv):
    """Gamma duration by mean and cv (shape 1/cv², so cv=1 is exponential)."""

    dist: Literal["gamma"]


class Empirical(_Dist):
    """Resample observed durations, optionally weighted."""

    dist: Literal["empirical"]
    values: list[Days] = Field(min_length=1, max_length=MAX_EMPIRICAL_VALUES)
    weights: list[Weight] | None = Field(default=None, max_length=MAX_EMPIRICAL_VALUES)

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

    def probabilities(self) -> np.ndarray:
        if self.weights is None:
            return np.full(len(self.values), 1.0 / len(self.values))
        w = np.asarray(self.weights, dtype=float)
        return w / w.sum()

    @property
    def mean(self) -> float:
        return float(np.dot(self.probabilities(), self.values))

    @property
    def var(self) -> float:
        v = np.asarray(self.values, dtype=float)
        return float(np.dot(self.probabilities(), (v - self.mean) ** 2))

    def scaled(self, factor: float) -> Empirical:
        return self.model_copy(update={"values": [v * factor for v in self.values]})


Distribution = Annotated[
    Fixed | Exponential | LogNormal | Gamma | Empirical, Field(discriminator="dist")
]
