"""Charts and a self-contained page for a comparison of scenarios (paired differences)."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from sim.engine.metrics import GLOSSARY, HEADLINE
from sim.engine.summaries import timeseries_table
from sim.outputs.plots import fan_chart, save_png
from sim.outputs.run_report import fmt, image, page
from sim.studies.compare import CONFIDENCE, Comparison

FAN_METRICS = ("iopc.open_over_12m", "dps.open_over_12m", "psu.open_over_12m",
               "iopc.open", "hearings.awaiting", "officers.suspended")


def write_comparison_plots(comparison: Comparison, table: pd.DataFrame,
                           out_dir: Path) -> list[Path]:
    """A fan of paired monthly differences per alternative, and bars of headline deltas."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for alt in comparison.alternatives:
        diff = timeseries_table(comparison.monthly_differences(alt), comparison.base.timeline)
        fig = Figure(figsize=(12, 7), layout="constrained")
        axes = fig.subplots(2, 3).ravel()
        for ax, metric in zip(axes, FAN_METRICS, strict=True):
            fan_chart(ax, diff, metric)
            ax.axhline(0, color="black", lw=0.8)
            ax.set_title(metric, fontsize=10)
        fig.suptitle(f"{alt.scenario.name} minus {comparison.base.scenario.name}: paired"
                     f" monthly difference (median, 50% and 90% of {alt.reps} replications)")
        path = out_dir / f"difference_{alt.scenario.name}.png"
        save_png(fig, path)
        paths.append(path)
    paths.append(_headline_bars(table, out_dir / "headline_differences.png"))
    return paths


def _headline_bars(table: pd.DataFrame, path: Path) -> Path:
    rows = table[(table.period == "all") & table.metric.isin(HEADLINE)]
    names = list(dict.fromkeys(rows.scenario))
    fig = Figure(figsize=(12, 1.0 + 0.45 * len(HEADLINE) * max(1, len(names))),
                 layout="constrained")
    ax = fig.subplots()
    labels, means, lows, highs = [], [], [], []
    for metric in HEADLINE:
        for name in names:
            r = rows[(rows.metric == metric) & (rows.scenario == name)]
            if r.empty:
                continue
            r = r.iloc[0]
            labels.append(f"{metric}  [{name}]")
            means.append(r.diff_pct)
            lows.append(r.diff_pct - 100 * r.diff_low / r.base_mean if r.base_mean else 0)
            highs.append(100 * r.diff_high / r.base_mean - r.diff_pct if r.base_mean else 0)
    y = range(len(labels))
    ax.barh(y, means, xerr=[lows, highs], color="#4c72b0", ecolor="black", capsize=3)
    ax.set_yticks(list(y), labels, fontsize=8)
    ax.invert_yaxis()
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel(f"change from base, % (bars: {int(CONFIDENCE * 100)}% interval of the paired"
                  " difference)")
    save_png(fig, path)
    return path


def render_comparison(comparison: Comparison, table: pd.DataFrame, plots: list[Path]) -> str:
    """One self-contained HTML page: paired differences with intervals, charts, provenance."""
    base = comparison.base
    esc = html.escape
    parts = [
        f"<h1>Comparison with {esc(base.scenario.name)}</h1>",
        f"<p>{base.reps} replications each, seed {base.seed}, engine {esc(base.engine)}, ccsim"
        f" {esc(base.version)}. All scenarios share random numbers (common random numbers);"
        f" each difference is taken replication by replication and its {int(CONFIDENCE*100)}%"
        " interval comes from those paired differences. <span class='sig'>Bold red</span>:"
        " the interval excludes zero.</p>",
    ]
    for alt in comparison.alternatives:
        rows = table[(table.scenario == alt.scenario.name) & (table.period == "all")]
        parts.append(f"<h2>{esc(alt.scenario.name)} (hash {alt.scenario.digest()})</h2>")
        parts.append(f"<p>{esc(alt.scenario.description)}</p>")
        parts.append("<table><tr><th>metric</th><th>base</th><th>option</th><th>difference"
                     "</th><th>interval</th><th>%</th></tr>")
        for _, r in rows.iterrows():
            cls = " class='sig'" if r.distinguishable else ""
            title = esc(GLOSSARY.get(r.metric, ""))
            parts.append(
                f"<tr><td title='{title}'>{esc(r.metric)}</td><td>{fmt(r.base_mean)}</td>"
                f"<td>{fmt(r.alt_mean)}</td><td{cls}>{fmt(r.diff_mean)}</td>"
                f"<td>{fmt(r.diff_low)} to {fmt(r.diff_high)}</td>"
                f"<td>{fmt(r.diff_pct)}</td></tr>")
        parts.append("</table>")
    parts.extend(image(p) for p in plots)
    return page(f"ccsim comparison: {base.scenario.name}", parts)
