"""Posterior predictive checks: how well the calibrated model predicts each published figure.

For each target the predictive distribution is the model's expected value under a posterior
draw plus the target's observation error (`calibration/targets.csv`): what the published
figure would be if the model were right. Three scores per target, and their summaries:

* the 50% and 90% central predictive intervals, and whether the published value is inside
  (over many targets, about 50% and 90% should be, if the model and its error model are
  right: that is predictive coverage);
* the absolute percentage error of the predictive mean;
* the continuous ranked probability score (CRPS, Gneiting and Raftery 2007), in the
  figure's units, from the samples: E|X - y| - E|X - X'| / 2; lower is better, and for a
  point forecast it is the absolute error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


@dataclass(frozen=True)
class Predictive:
    """Samples of each target's predictive distribution (draws x targets)."""

    target_ids: list[str]
    samples: np.ndarray  # model mean under a posterior draw + observation error
    means: np.ndarray  # the model mean under each draw (no observation error)

    def column(self, target_id: str) -> np.ndarray:
        x = self.samples[:, self.target_ids.index(target_id)]
        return x[np.isfinite(x)]


def crps(samples: np.ndarray, observed: float) -> float:
    """The CRPS of a sample forecast at `observed` (sorted-sample identity, O(n log n)):
    E|X - y| - 1/2 E|X - X'|, with E|X - X'| = 2/n^2 sum_i (2i - n - 1) x_(i)."""
    x = np.sort(np.asarray(samples, float))
    n = x.size
    if n == 0:
        return float("nan")
    spread = 2.0 / n**2 * float(np.sum((2 * np.arange(1, n + 1) - n - 1) * x))
    return float(np.mean(np.abs(x - observed)) - spread / 2)


def checks(predictive: Predictive, published: dict[str, float]) -> pd.DataFrame:
    """Per target: predictive mean and quantiles, whether the published value is inside the
    50% and 90% intervals, absolute % error and CRPS (also relative to the figure)."""
    rows = []
    for tid in predictive.target_ids:
        x, y = predictive.column(tid), published[tid]
        q = np.quantile(x, QUANTILES) if x.size else np.full(len(QUANTILES), np.nan)
        mean = float(np.mean(x)) if x.size else float("nan")
        score = crps(x, y)
        rows.append({"target_id": tid, "published": y, "mean": mean,
                     **{f"p{round(p * 100):02d}": float(v) for p, v in zip(QUANTILES, q,
                                                                           strict=True)},
                     "in_50": bool(q[1] <= y <= q[3]), "in_90": bool(q[0] <= y <= q[4]),
                     "abs_pct_error": abs(mean - y) / abs(y) if y else float("nan"),
                     "crps": score, "crps_rel": score / abs(y) if y else float("nan")})
    return pd.DataFrame(rows)


def scores(table: pd.DataFrame) -> dict[str, float]:
    """Coverage of the 50% and 90% intervals, MAPE and mean relative CRPS over the rows."""
    if table.empty:
        return {"targets": 0}
    return {"targets": len(table), "coverage_50": float(table.in_50.mean()),
            "coverage_90": float(table.in_90.mean()),
            "mape": float(table.abs_pct_error.mean()),
            "crps_rel_mean": float(table.crps_rel.mean())}


__all__ = ["QUANTILES", "Predictive", "checks", "crps", "scores"]
