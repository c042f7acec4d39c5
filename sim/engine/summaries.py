"""Turn per-replication metric values into the published tables: summary, yearly, monthly."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.engine.metrics import Measured
from sim.model.timeline import Timeline

QUANTILES = {"p05": 0.05, "p50": 0.50, "p95": 0.95}


def describe(values: np.ndarray) -> dict[str, float]:
    """Mean, quantiles across replications, sd, Monte Carlo s.e.; NaNs (no event) skipped."""
    v = values[~np.isnan(values)]
    n = v.size
    if n == 0:
        return {"mean": np.nan, **dict.fromkeys(QUANTILES, np.nan),
                "sd": np.nan, "mc_se": np.nan, "reps": 0}
    sd = float(v.std(ddof=1)) if n > 1 else np.nan
    q = np.quantile(v, list(QUANTILES.values()))
    return {"mean": float(v.mean()), **dict(zip(QUANTILES, map(float, q), strict=True)),
            "sd": sd, "mc_se": sd / np.sqrt(n) if n > 1 else np.nan, "reps": n}


def summary_table(measured: Measured) -> pd.DataFrame:
    rows = [{"metric": k, **describe(v)} for k, v in measured.summary.items()]
    return pd.DataFrame(rows)


def yearly_table(measured: Measured, timeline: Timeline) -> pd.DataFrame:
    labels = [label for label, _, _ in timeline.fiscal_years]
    rows = []
    for j, year in enumerate(labels):
        for metric, values in measured.yearly.items():
            rows.append({"year": year, "metric": metric, **describe(values[:, j])})
    return pd.DataFrame(rows)


def timeseries_table(measured: Measured, timeline: Timeline) -> pd.DataFrame:
    """Long table: month (YYYY-MM), metric, replication, value."""
    months = [m.strftime("%Y-%m") for m in timeline.report_months]
    frames = []
    for metric, values in measured.monthly.items():
        r, m = values.shape
        frames.append(pd.DataFrame({
            "month": np.tile(months, r),
            "metric": metric,
            "replication": np.repeat(measured.replications, m),
            "value": values.ravel(),
        }))
    table = pd.concat(frames, ignore_index=True)
    return table.sort_values(["metric", "replication", "month"], kind="stable",
                             ignore_index=True)
