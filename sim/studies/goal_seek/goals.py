"""Goals: what a goal-seek holds a metric to (a level, on average or with a probability)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.errors import InputError

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


