"""The brief's charts: IOPC backlogs with and without the uplift, the uplift's cost, and the
cost of suspended officers. matplotlib's Figure API only (no pyplot state)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.engine.metrics import Measured
from sim.engine.run import RunResult
from sim.engine.summaries import timeseries_table
from sim.outputs.plots import COLOURS, fan_chart, fan_quantiles, save_png
from sim.studies.brief import BriefResult

WITHOUT, WITH, GOAL = COLOURS[1], COLOURS[0], COLOURS[2]


def _series(result: RunResult, metrics: tuple[str, ...]) -> pd.DataFrame:
    m = result.measured
    subset = Measured(m.replications, monthly={k: m.monthly[k] for k in metrics})
    return timeseries_table(subset, result.timeline)


def _note(ax, text: str) -> None:
    """A small note under the axis (where it cannot cover tick labels)."""
    ax.set_xlabel(text, fontsize=7, color="#555", loc="right")


def _save(fig: Figure, path: Path) -> Path:
    save_png(fig, path)
    return path


def _fans(brief: BriefResult, metric: str, title: str, path: Path,
          level: float | None = None) -> Path:
    base, uplift = brief.comparison.base, brief.uplift_result()
    fig = Figure(figsize=(9, 4.2), layout="constrained")
    ax = fig.subplots()
    fan_chart(ax, _series(base, (metric,)), metric,
              f"without the uplift ({base.scenario.name})", WITHOUT)
    fan_chart(ax, _series(uplift, (metric,)), metric,
              f"with the Recommendation 7 uplift ({uplift.scenario.name})", WITH)
    # the counterfactual's median again, dashed on top, so it shows where the two coincide
    q = fan_quantiles(_series(base, (metric,)), metric)
    ax.plot(pd.to_datetime(q.index, format="%Y-%m"), q.p50, color=WITHOUT, lw=1.2, ls="--")
    if level is not None:
        ax.axhline(level, color="black", lw=1, ls="--",
                   label=f"target: the {brief.target.target.at_most.split(':', 1)[1]} level"
                   if brief.target and isinstance(brief.target.target.at_most, str)
                   else "target")
    ax.set_title(title)
    ax.set_ylabel("investigations")
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    _note(ax, f"line: median; bands: 50% and 90% of {brief.reps} replications")
    return _save(fig, path)


def _bars(ax, years: list[str], series: list[tuple[str, np.ndarray, np.ndarray | None, str]]):
    """Grouped bars per year; each series: label, heights, optional (2, n) error, colour."""
    width = 0.8 / max(len(series), 1)
    x = np.arange(len(years))
    for i, (label, heights, err, colour) in enumerate(series):
        ax.bar(x + (i - (len(series) - 1) / 2) * width, heights, width, label=label,
               color=colour, yerr=err, capsize=3 if err is not None else 0)
    ax.set_xticks(x, years)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper left", fontsize=8, frameon=False)


def _cost_chart(brief: BriefResult, path: Path) -> Path:
    years = brief.years
    series: list[tuple[str, np.ndarray, np.ndarray | None, str]] = [
        (f"Recommendation 7 ({brief.inputs.uplift.name})",
         brief.extra_cost(brief.inputs.uplift) / 1e6, None, WITH)]
    if brief.goal_option and brief.target is not None:
        goal = brief.result(brief.goal_option).scenario
        series.append((f"holding the target ({brief.target.lever} = {brief.target.answer:g})",
                       brief.extra_cost(goal) / 1e6, None, GOAL))
    fig = Figure(figsize=(9, 4), layout="constrained")
    ax = fig.subplots()
    _bars(ax, years, series)
    ax.set_title("Cost of the extra IOPC investigators, by financial year")
    ax.set_ylabel("GBP million a year")
    _note(ax, f"at GBP {brief.config.cost_per_investigator_year_gbp:,.0f} per"
          " investigator-year (2020-21 prices)")
    return _save(fig, path)


def _suspension_chart(brief: BriefResult, path: Path) -> Path:
    metric = "cost.suspended_gbp_per_year"
    runs = [(brief.comparison.base, WITHOUT), (brief.uplift_result(), WITH)]
    if brief.goal_option:
        runs.append((brief.result(brief.goal_option), GOAL))
    series = []
    for run, colour in runs:
        v = run.measured.yearly[metric] / 1e6
        mean = np.nanmean(v, axis=0)
        q = np.nanquantile(v, [0.05, 0.95], axis=0)
        series.append((run.scenario.name, mean, np.abs(q - mean), colour))
    fig = Figure(figsize=(9, 4), layout="constrained")
    ax = fig.subplots()
    _bars(ax, brief.years, series)
    ax.set_title("Pay cost of suspended officers, by financial year")
    ax.set_ylabel("GBP million a year")
    ax.set_ylim(bottom=0)
    _note(ax, "bar: mean; whisker: 90% of replications; at GBP"
          f" {brief.comparison.base.scenario.officers.cost_per_officer_year_gbp:,.0f} per"
          " officer-year (S-26)")
    return _save(fig, path)


def write_brief_charts(brief: BriefResult, out_dir: Path) -> dict[str, Path]:
    """The four charts as PNGs; returns them by name."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    level = brief.target.target_value if brief.target else None
    over_level = level if brief.target and brief.target.target.metric == \
        "iopc.open_over_12m.end" else None
    return {
        "iopc_open": _fans(brief, "iopc.open",
                           "IOPC independent investigations of Met cases open at month end",
                           out_dir / "iopc_open.png"),
        "iopc_over_12m": _fans(brief, "iopc.open_over_12m",
                               "IOPC investigations open over 12 months at month end",
                               out_dir / "iopc_over_12m.png", over_level),
        "uplift_cost": _cost_chart(brief, out_dir / "uplift_cost.png"),
        "suspended_cost": _suspension_chart(brief, out_dir / "suspended_cost.png"),
    }
