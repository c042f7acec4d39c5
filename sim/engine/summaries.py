"""Turn per-replication metric values into the published tables: summary, yearly, monthly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

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
    """Long table: month (YYYY-MM), metric, replication, value; sorted by metric, replication
    and month. Built in that order from the (replications x months) arrays, with the text
    columns made in Arrow from a few labels: at 10,000 replications the table has 9 million
    rows, and one Python string per row would double the run's memory."""
    months = [m.strftime("%Y-%m") for m in timeline.report_months]
    names = sorted(measured.monthly)
    order = np.argsort(measured.replications, kind="stable")
    reps = measured.replications[order]
    per_metric = reps.size * len(months)
    return pd.DataFrame({
        "month": _text(months, np.tile(np.arange(len(months)), len(names) * reps.size)),
        "metric": _text(names, np.repeat(np.arange(len(names)), per_metric)),
        "replication": np.tile(np.repeat(reps, len(months)), len(names)),
        "value": np.concatenate([measured.monthly[k][order].ravel() for k in names])
        if names else np.array([], dtype=float),
    })


def _text(labels: list[str], codes: np.ndarray) -> pd.Series:
    """A text column of labels[codes], as pandas' Arrow-backed strings."""
    column = pa.DictionaryArray.from_arrays(pa.array(codes, type=pa.int32()),
                                            pa.array(labels, type=pa.string()))
    return pa.chunked_array([column.cast(pa.string())], type=pa.string()).to_pandas()
