"""A paired comparison as the page draws it: fans by month, the paired difference with its
95% interval, the headline figures in words, and the costs. Plain JSON (NaN as null)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sim.engine.metrics import HEADLINE
from sim.model.timeline import add_months
from sim.outputs.compare_report import describe, identical, option_clauses, verdict_of
from sim.outputs.labels import label
from sim.serve.controls import CONTROLS, iopc_cost, staff_years
from sim.studies.compare import CONFIDENCE, Comparison
from sim.studies.costs import staff_costs

CONTROL_LABEL = {c.path: c.label for c in CONTROLS}

#: the monthly series charted, each a fan of base and option and their paired difference
CHARTS = ("iopc.open", "iopc.open_over_12m", "dps.open", "dps.open_over_12m", "psu.open",
          "psu.open_over_12m", "hearings.awaiting", "officers.suspended")
#: the figures in the table: the headline ones and each stage's wait
FIGURES = (*HEADLINE, "iopc.wait_days.mean", "dps.wait_days.mean", "psu.wait_days.mean",
           "hearings.wait_days.mean", "iopc.independent_per_year")
FAN = (5, 50, 95)  # the percentiles of a fan


def answer(comparison: Comparison, complete: bool, seconds: float) -> dict[str, Any]:
    """Everything the page shows for one stage of a comparison."""
    base, option = comparison.base, comparison.alternatives[0]
    table = comparison.table()
    rows = {str(r.metric): r for _, r in table[table.period == "all"].iterrows()}
    return _clean({
        "status": "done" if complete else "partial",
        "reps": base.reps,
        "seed": base.seed,
        "seconds": seconds,
        "base": base.scenario.name,
        "option": option.scenario.name,
        "description": option.scenario.description,
        "months": _month_ends(base),
        "charts": [_chart(comparison, m) for m in CHARTS],
        "figures": [_figure(rows[m]) for m in FIGURES if m in rows],
        "sentences": [{"verdict": v, "text": t}
                      for v, t in option_clauses(table, option.scenario.name)],
        "costs": _costs(comparison, rows),
    })


def _month_ends(run: Any) -> list[int]:
    """Unix seconds of each reported month's end (a stock is counted then)."""
    ends = [add_months(m, 1) for m in run.timeline.report_months]
    return [int(dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC).timestamp()) for d in ends]


def _chart(comparison: Comparison, metric: str) -> dict[str, Any]:
    base = comparison.base.measured.monthly[metric]
    option = comparison.alternatives[0].measured.monthly[metric]
    lab = label(metric)
    mean, low, high = _mean_interval(option - base)
    return {
        "metric": metric,
        "title": lab.text[0].upper() + lab.text[1:],
        "unit": lab.unit,
        "better": lab.better,
        "base": _fan(base),
        "option": _fan(option),
        "difference": {"mean": mean, "low": low, "high": high},
    }


def _fan(values: np.ndarray) -> dict[str, list[float]]:
    q = np.nanpercentile(values, FAN, axis=0) if values.size else np.full((3, 0), np.nan)
    return {f"p{p}": list(q[i]) for i, p in enumerate(FAN)}


def _mean_interval(d: np.ndarray) -> tuple[list[float], list[float], list[float]]:
    """Per month: the mean paired difference and its t-interval (`CONFIDENCE`)."""
    n = d.shape[0]
    mean = d.mean(axis=0)
    if n < 2:
        return list(mean), list(mean * np.nan), list(mean * np.nan)
    half = stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1) * d.std(axis=0, ddof=1) / math.sqrt(n)
    return list(mean), list(mean - half), list(mean + half)


def _figure(row: pd.Series) -> dict[str, Any]:
    lab = label(str(row.metric))
    return {
        "metric": row.metric,
        "label": lab.text + (" (at the end)" if str(row.metric).endswith(".end") else ""),
        "unit": lab.unit,
        "base": row.base_mean, "option": row.alt_mean,
        "base_text": lab.value(row.base_mean), "option_text": lab.value(row.alt_mean),
        "difference": row.diff_mean, "low": row.diff_low, "high": row.diff_high,
        "difference_text": lab.change(row.diff_mean),
        "interval_text": (f"{lab.change(row.diff_low)} to {lab.change(row.diff_high)}"
                          if _finite(row.diff_low, row.diff_high) else "–"),
        "verdict": verdict_of(row),
        "words": describe(row),
        "same": identical(row),
    }


def _costs(comparison: Comparison, rows: dict[str, pd.Series]) -> dict[str, Any]:
    """Staff added (a year, averaged over the forecast) at each pool's cost, the panels
    added (no published cost), and the paired change in suspended officers' pay."""
    base, option = comparison.base.scenario, comparison.alternatives[0].scenario
    lines, total = [], 0.0
    for cost in staff_costs(option, iopc_cost()):
        extra = staff_years(option, cost.path) - staff_years(base, cost.path)
        gbp = extra * cost.gbp_per_year
        total += gbp if cost.costed else 0.0
        lines.append({"what": CONTROL_LABEL.get(cost.path, cost.what), "extra": extra,
                      "each_gbp": cost.gbp_per_year, "gbp_per_year": gbp,
                      "source": cost.basis})
    suspended = rows["cost.suspended_gbp_per_year"]
    return {
        "staff": lines,
        "staff_gbp_per_year": total,
        "suspended": {"difference": suspended.diff_mean, "low": suspended.diff_low,
                      "high": suspended.diff_high},
        "net_gbp_per_year": total + suspended.diff_mean,
        "net_low": total + suspended.diff_low,
        "net_high": total + suspended.diff_high,
    }


def _finite(*xs: Any) -> bool:
    return all(isinstance(x, int | float) and math.isfinite(x) for x in xs)


def _clean(value: Any) -> Any:
    """JSON-ready: NumPy numbers as Python ones, NaN and infinities as null."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        x = float(value)
        return x if math.isfinite(x) else None
    return value


__all__ = ["CHARTS", "FIGURES", "answer"]
