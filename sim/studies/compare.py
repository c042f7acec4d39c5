"""Compare scenarios with common random numbers: paired differences with intervals.

Every scenario runs with the same seed, so replication r of each shares its random numbers
wherever the scenarios' structure is the same. The difference of a metric is then taken
replication by replication, and its interval comes from the spread of those paired
differences: far narrower than comparing two independent fans by eye.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.engine.engines import DEFAULT_ENGINE
from sim.engine.metrics import Measured
from sim.engine.run import RunResult, run_scenario
from sim.errors import InputError
from sim.model.scenario import Scenario
from sim.studies.intervals import INTERVAL, mean_interval

CONFIDENCE = INTERVAL  # the paired differences' intervals (sim.studies.intervals)


@dataclass
class Comparison:
    base: RunResult
    alternatives: list[RunResult]

    def table(self) -> pd.DataFrame:
        """Per alternative, metric and period ('all' or a fiscal year): the paired difference."""
        rows = []
        years = [label for label, _, _ in self.base.timeline.fiscal_years]
        for alt in self.alternatives:
            for metric, base_v in self.base.measured.summary.items():
                rows.append(_paired_row(alt.scenario.name, metric, "all", base_v,
                                        alt.measured.summary[metric]))
            for metric, base_v in self.base.measured.yearly.items():
                for j, year in enumerate(years):
                    rows.append(_paired_row(alt.scenario.name, metric, year, base_v[:, j],
                                            alt.measured.yearly[metric][:, j]))
        return pd.DataFrame(rows)

    def monthly_differences(self, alt: RunResult) -> Measured:
        """Per replication and month, alternative minus base (for fan charts)."""
        diff = {k: alt.measured.monthly[k] - v for k, v in self.base.measured.monthly.items()}
        return Measured(self.base.measured.replications, monthly=diff)


def _paired_row(name: str, metric: str, period: str, base: np.ndarray,
                alt: np.ndarray) -> dict:
    """Mean paired difference and its t-interval over replications with both values."""
    ok = ~np.isnan(base) & ~np.isnan(alt)
    d = alt[ok] - base[ok]
    n = int(d.size)
    mean, low, high = mean_interval(d, CONFIDENCE)
    if n < 2:  # no spread to say how precise one difference is
        low = high = np.nan
    base_mean = float(base[ok].mean()) if n else np.nan
    return {
        "scenario": name, "metric": metric, "period": period,
        "base_mean": base_mean, "alt_mean": float(alt[ok].mean()) if n else np.nan,
        "diff_mean": mean, "diff_low": low, "diff_high": high,
        "diff_pct": 100 * mean / base_mean if n and base_mean else np.nan,
        "distinguishable": bool(n > 1 and (low > 0 or high < 0)),
        "reps": n,
    }


def check_comparable(base: Scenario, other: Scenario, name: str) -> None:
    """Paired differences need the same reporting calendar."""
    if (other.start, other.horizon_years) != (base.start, base.horizon_years):
        raise InputError(
            "cannot be compared with the base: the start date and horizon must match",
            file=name, field="start, horizon_years",
            value=f"{other.start}, {other.horizon_years} years",
            allowed=f"{base.start}, {base.horizon_years} years (as the base)",
        )


def compare(
    scenarios: list[Scenario],
    reps: int,
    seed: int,
    engine: str = DEFAULT_ENGINE,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> Comparison:
    """Run the base and every alternative with the same seed (each checked first with
    `check_comparable`, and the runs with `sim.engine.run.check_run`)."""
    results = [run_scenario(s, reps, seed, engine, progress=progress, workers=workers)
               for s in scenarios]
    return Comparison(results[0], results[1:])
