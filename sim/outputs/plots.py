"""Monthly fan charts of a run: median with 50% and 90% bands across replications.

Built on matplotlib's Figure API (no pyplot state), so charts are safe to draw in worker
processes and tests without a screen.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.engine.metrics import POOLS
from sim.files.writing import write_with
from sim.outputs.labels import label as plain

#: One chart per question a planner asks of a run: file name, title, metrics drawn on it
#: (each line labelled by sim.outputs.labels), and the y-axis with its unit.
CHARTS: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    ("open_cases", "Investigations open at month end",
     tuple(f"{p}.open" for p in POOLS), "cases open"),
    ("over_12_months", "Investigations open over 12 months at month end",
     tuple(f"{p}.open_over_12m" for p in POOLS), "cases open over 12 months"),
    ("officers", "Officers suspended or restricted at month end",
     ("officers.suspended", "officers.restricted"), "officers"),
    ("hearings", "Cases awaiting a misconduct hearing at month end",
     ("hearings.awaiting",), "cases awaiting a hearing"),
    ("demand", "Cases received per month",
     ("complaints.cases", "conduct.cases", "iopc.referrals"), "cases a month"),
)
COLOURS = ("#1b6ca8", "#d1495b", "#2e8b57", "#8e6c8a", "#e39b2d")


def save_png(fig: Figure, path: Path) -> Path:
    """Write a chart as PNG, whole or not at all."""
    write_with(path, lambda tmp: fig.savefig(tmp, format="png", dpi=90))
    return path


def fan_quantiles(series: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Per month: 5th, 25th, 50th, 75th and 95th percentile across replications."""
    rows = series[series.metric == metric]
    if rows.empty:
        return pd.DataFrame(columns=["p05", "p25", "p50", "p75", "p95"])
    wide = rows.pivot(index="month", columns="replication", values="value").sort_index()
    q = np.nanquantile(wide.to_numpy(dtype=float), [0.05, 0.25, 0.5, 0.75, 0.95], axis=1)
    return pd.DataFrame(q.T, index=wide.index, columns=["p05", "p25", "p50", "p75", "p95"])


def fan_chart(ax: Axes, series: pd.DataFrame, metric: str, label: str | None = None,
              color: str = COLOURS[0]) -> None:
    """Draw one metric's fan on `ax`: the median line, a 50% band and a 90% band; the line
    is labelled `label`, or the metric's plain label."""
    q = fan_quantiles(series, metric)
    if q.empty:
        return
    x = pd.to_datetime(q.index, format="%Y-%m")
    ax.fill_between(x, q.p05, q.p95, color=color, alpha=0.15, lw=0)
    ax.fill_between(x, q.p25, q.p75, color=color, alpha=0.30, lw=0)
    ax.plot(x, q.p50, color=color, lw=1.6, label=label or plain(metric).text)
    ax.grid(alpha=0.3)


def chart(series: pd.DataFrame, title: str, metrics: tuple[str, ...], y_label: str) -> Figure:
    """One chart of CHARTS: a fan per metric, each line under its plain label, the title
    and the y-axis with its unit."""
    reps = series.replication.nunique() if not series.empty else 0
    fig = Figure(figsize=(9, 4.5))
    # fixed margins, room for six-digit ticks: a constrained layout took a third of the
    # charts' time (0.7 s of every `ccsim run`) for the same five simple charts
    fig.subplots_adjust(left=0.09, right=0.98, top=0.92, bottom=0.13)
    ax = fig.subplots()
    for metric, colour in zip(metrics, COLOURS, strict=False):
        fan_chart(ax, series, metric, plain(metric).text, colour)
    ax.set_title(title)
    ax.set_ylabel(y_label)
    ax.set_ylim(bottom=0)
    ax.legend(loc="best", fontsize=8, framealpha=0.8)
    ax.set_xlabel(f"month (line: median; bands: 50% and 90% of {reps} replications)",
                  fontsize=8, color="#555")
    return fig


def write_plots(series: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Write one PNG per chart in CHARTS; returns the paths in the order of CHARTS."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, title, metrics, y_label in CHARTS:
        path = out_dir / f"{name}.png"
        save_png(chart(series, title, metrics, y_label), path)
        paths.append(path)
    return paths
