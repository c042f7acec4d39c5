"""Charts and a self-contained page for a comparison of scenarios (paired differences).

The page is written for a planner: it opens with one sentence per option in plain words
(labels, units and better directions from `sim.outputs.labels`), then tables by financial
year, then charts whose axes say what they measure. Colours follow the metric's better
direction, so a significant rise in a backlog is red and a significant fall green.
"""

from __future__ import annotations

import html
import math
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.engine.metrics import HEADLINE
from sim.engine.run import RunResult, parameters_drawn
from sim.engine.summaries import timeseries_table
from sim.outputs.labels import Label, glossary, label
from sim.outputs.plots import fan_chart, save_png
from sim.outputs.run_report import html_table, image, page, parameters_text
from sim.studies.compare import CONFIDENCE, Comparison

FAN_METRICS = ("iopc.open_over_12m", "dps.open_over_12m", "psu.open_over_12m",
               "iopc.open", "hearings.awaiting", "officers.suspended")

Verdict = Literal["better", "worse", "same"]
#: one colour per verdict, for the page and the bars: green better, red worse, grey neither
VERDICT_COLOURS: dict[str, str] = {"better": "#1a7f37", "worse": "#b42318", "same": "#767676"}
#: the page's own classes (the shared STYLE belongs to run_report)
COMPARE_STYLE = (
    "<style>"
    f".better{{color:{VERDICT_COLOURS['better']};font-weight:bold}}"
    f".worse{{color:{VERDICT_COLOURS['worse']};font-weight:bold}}"
    f".same{{color:{VERDICT_COLOURS['same']}}}"
    "p.subtitle{color:#444;font-size:14px}p.option{margin:.6em 0}"
    "p.legend{font-size:13px;border-left:4px solid #ccc;padding-left:.6em}"
    "</style>"
)
#: the page's words for the periods of comparison.csv
WHOLE = "whole forecast"
PERCENT = int(CONFIDENCE * 100)


# -- the words ---------------------------------------------------------------------------

def _directions(lab: Label) -> tuple[str, str]:
    """How a fall and a rise of this metric are said ("fewer"/"more" for counts)."""
    if lab.unit in ("cases", "officers", "cases a year"):
        return "fewer", "more"
    if lab.unit in ("working days", "days"):
        return "shorter", "longer"
    return "lower", "higher"


def _amount(lab: Label, x: float) -> str:
    """The size of a difference in the metric's units, without its sign (labels' format)."""
    return lab.change(abs(x)).lstrip("+−±")


def _finite(*xs: float) -> bool:
    return all(x is not None and math.isfinite(x) for x in xs)


def _change_words(lab: Label, x: float) -> str:
    """`4.2 fewer`, `£12,000 higher`, `no change`."""
    if x == 0:
        return "no change"
    down, up = _directions(lab)
    return f"{_amount(lab, x)} {down if x < 0 else up}"


def _unit_words(lab: Label) -> str:
    """The words labels write after an amount (" percentage points", " working days")."""
    if lab.unit == "share":
        return " percentage points"
    return f" {lab.unit}" if lab.unit in ("working days", "days") else ""


def interval_words(lab: Label, low: float, high: float) -> str:
    """A paired interval in words: `3.1 to 5.3 fewer`, `1.4 fewer to 2.0 more`."""
    down, up = _directions(lab)
    if low >= 0 or high <= 0:
        near, far = sorted((low, high), key=abs)
        first, unit = _amount(lab, near), _unit_words(lab)
        if unit and first.endswith(unit):
            first = first[:-len(unit)]  # the unit once: "0.8 to 3.1 percentage points"
        return f"{first} to {_amount(lab, far)} {up if low >= 0 else down}"
    return f"{_amount(lab, low)} {down} to {_amount(lab, high)} {up}"


def verdict_of(row: pd.Series) -> Verdict:
    """Better, worse or the same, for the metric's own better direction."""
    if not _finite(row.diff_mean):
        return "same"
    return label(row.metric).verdict(float(row.diff_mean), bool(row.distinguishable))


def _verdict_words(verdict: Verdict, distinguishable: bool) -> str:
    if verdict != "same":
        return verdict
    if distinguishable:
        return "a distinguishable change, neither better nor worse"
    return "not distinguishable from no change"


def identical(row: pd.Series) -> bool:
    """The option and the base gave the same value in every replication (zero difference,
    and a zero interval or, with one replication, none)."""
    if row.diff_mean != 0:
        return False
    no_interval = not _finite(row.diff_low, row.diff_high)
    return bool(no_interval or (row.diff_low == 0 and row.diff_high == 0))


def _name(row: pd.Series, when: str = " at the end") -> str:
    """The metric's label, with `when` after a stock (an `.end` metric)."""
    return label(row.metric).text + (when if row.metric.endswith(".end") else "")


def describe(row: pd.Series) -> str:
    """One metric's paired difference in words, from a row of `Comparison.table()`:
    `IOPC investigations open at the end 4.2 fewer (95% interval 3.1 to 5.3 fewer), better`."""
    lab = label(row.metric)
    name = _name(row)
    d, low, high = float(row.diff_mean), float(row.diff_low), float(row.diff_high)
    if not _finite(d):
        return f"{name}: no value (no replication had one in both)"
    if identical(row):
        return f"{name} the same in every replication"
    if not _finite(low, high):
        return (f"{name} {_change_words(lab, d)} (one replication: no interval),"
                " not distinguishable from no change")
    verdict = verdict_of(row)
    return (f"{name} {_change_words(lab, d)} ({PERCENT}% interval"
            f" {interval_words(lab, low, high)}), "
            f"{_verdict_words(verdict, bool(row.distinguishable))}")


def headline_rows(table: pd.DataFrame, option: str) -> list[pd.Series]:
    """The option's whole-forecast rows for the headline metrics, in HEADLINE's order."""
    rows = table[(table.scenario == option) & (table.period == "all")]
    by_metric = {r.metric: r for _, r in rows.iterrows()}
    return [by_metric[m] for m in HEADLINE if m in by_metric]


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def option_clauses(table: pd.DataFrame, option: str) -> list[tuple[Verdict, str]]:
    """The headline differences in words with their verdicts, in HEADLINE's order; the
    figures the option leaves the same in every replication are named together last."""
    rows = headline_rows(table, option)
    clauses: list[tuple[Verdict, str]] = [(verdict_of(r), describe(r))
                                          for r in rows if not identical(r)]
    same = [_name(r) for r in rows if identical(r)]
    if same:
        clauses.append(("same", f"the same in every replication: {_and(same)}"))
    return clauses


def option_sentence(table: pd.DataFrame, option: str, base: str) -> str:
    """The option's headline differences from the base as one plain sentence."""
    clauses = [text for _, text in option_clauses(table, option)]
    return f"{option} against {base}: " + "; ".join(clauses) + "."


def _option_paragraph(table: pd.DataFrame, option: str, base: str) -> str:
    """The sentence of `option_sentence`, each clause coloured by its verdict."""
    esc = html.escape
    clauses = [f"<span class='{verdict}'>{esc(text)}</span>"
               for verdict, text in option_clauses(table, option)]
    return (f"<p class='option'><b>{esc(option)}</b> against {esc(base)}: "
            + "; ".join(clauses) + ".</p>")


def ranges_note(runs: Sequence[RunResult]) -> str:
    """Where the intervals' spread comes from: parameter uncertainty as well as chance
    (parameters drawn from the calibration posterior, the command line's default) or chance
    alone (parameters fixed at each run's own values)."""
    notes = list(dict.fromkeys(r.parameters for r in runs))
    if all(parameters_drawn(n) for n in notes):
        same = ", the same draws for every option" if len(notes) == 1 else ""
        return (f"The ranges include parameter uncertainty as well as chance{same}: "
                + "; ".join(parameters_text(n) for n in notes) + ".")
    if not any(parameters_drawn(n) for n in notes):
        return ("The ranges come from chance alone (arrivals, routes and case lengths), with "
                + "; ".join(parameters_text(n) for n in notes)
                + ": every run used the scenario's own values.")
    each = "; ".join(
        f"{r.scenario.name}: " + (f"parameter uncertainty included ({r.parameters})"
                                  if parameters_drawn(r.parameters) else "chance alone")
        for r in runs)
    return f"The ranges do not all come from the same place: {each}."


#: the capacities whose cases may share their time, as the comparison names them
SHARED_CAPACITY = {"DPS": ("pools", "dps"), "PSU": ("pools", "psu"),
                   "panel": ("proceedings", "panels")}


def capacity_note(runs: Sequence[RunResult]) -> str | None:
    """The assumption an option's DPS, PSU or panel effect rests on, said beside it: those
    stages respond to staff through the share of a case's time that follows the caseload,
    which the published figures barely identify. None when no option changes such staff."""
    base, *options = runs

    def capacity(run: RunResult, name: str):
        part, field = SHARED_CAPACITY[name]
        return getattr(getattr(run.scenario, part), field)

    changed = [name for name in SHARED_CAPACITY
               if capacity(base, name).shares_time
               and any(capacity(o, name).staff != capacity(base, name).staff
                       for o in options)]
    if not changed:
        return None
    shares = ", ".join(f"{n} {capacity(base, n).investigator_work_share:.2f}" for n in changed)
    return (f"The {_and(changed)} differences rest on an assumption: part of each case's time"
            " is its investigator's (or chair's) work and follows the caseload"
            f" (investigator_work_share in {base.scenario.name}: {shares}), a share the"
            " published figures barely narrow from its prior; with slots alone those staff"
            " change nothing at today's demand (README, \"Capacity: slots, and shared time\").")


# -- the charts --------------------------------------------------------------------------

def difference_figure(comparison: Comparison, alt: RunResult) -> Figure:
    """Fans of one option's paired monthly difference from the base, a panel per metric."""
    diff = timeseries_table(comparison.monthly_differences(alt), comparison.base.timeline)
    fig = Figure(figsize=(13, 8), layout="constrained")
    axes = fig.subplots(2, 3).ravel()
    for ax, metric in zip(axes, FAN_METRICS, strict=True):
        lab = label(metric)
        fan_chart(ax, diff, metric, lab.text)
        ax.axhline(0, color="black", lw=0.8)
        ax.set_title(textwrap.fill(f"{lab.text} at month end", 40), fontsize=10)
        ax.set_xlabel("month", fontsize=9)
        ax.set_ylabel(f"difference in {lab.unit} (option minus base)", fontsize=9)
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    fig.suptitle(f"{alt.scenario.name} minus {comparison.base.scenario.name}: paired monthly"
                 f" difference (line: median; bands: 50% and 90% of {alt.reps} replications)")
    return fig


def _change_with_unit(lab: Label, x: float) -> str:
    """A signed difference with its unit: `−2.9 cases`, `+2.0 percentage points`."""
    text = lab.change(x)
    return f"{text} {lab.unit}" if lab.unit in ("cases", "officers", "cases a year") else text


def headline_figure(table: pd.DataFrame, base: str) -> Figure:
    """Bars of each option's whole-forecast headline differences, as % of the base's mean,
    with their paired intervals; coloured by verdict and labelled in plain words."""
    rows = table[(table.period == "all") & table.metric.isin(HEADLINE)]
    names = list(dict.fromkeys(rows.scenario))
    fig = Figure(figsize=(12, 1.6 + 0.4 * len(HEADLINE) * max(1, len(names))),
                 layout="constrained")
    ax = fig.subplots()
    ticks, means, lows, highs, colours = [], [], [], [], []
    for metric in HEADLINE:
        lab = label(metric)
        for name in names:
            r = rows[(rows.metric == metric) & (rows.scenario == name)]
            if r.empty:
                continue
            r = r.iloc[0]
            ticks.append(f"{lab.text}, {name}: {_change_with_unit(lab, r.diff_mean)}")
            base_mean = float(r.base_mean)
            pct = float(r.diff_pct) if _finite(r.diff_pct) else 0.0
            if base_mean and _finite(r.diff_low, r.diff_high):
                low, high = 100 * r.diff_low / base_mean, 100 * r.diff_high / base_mean
                lo, hi = sorted((low, high))
                lows.append(max(pct - lo, 0.0))
                highs.append(max(hi - pct, 0.0))
            else:
                lows.append(0.0)
                highs.append(0.0)
            means.append(pct)
            colours.append(VERDICT_COLOURS[verdict_of(r)])
    y = np.arange(len(ticks))
    ax.barh(y, means, xerr=[lows, highs], color=colours, ecolor="black", capsize=3)
    ax.set_yticks(list(y), ticks, fontsize=8)
    ax.invert_yaxis()
    ax.axvline(0, color="black", lw=0.8)
    fig.suptitle(f"Headline differences from {base} over the whole forecast\n(green: better,"
                 " red: worse, grey: not distinguishable from no change)")
    ax.set_xlabel(f"difference in % of the base's mean (option minus base; lines: {PERCENT}%"
                  " interval of the paired difference)")
    ax.set_ylabel("headline figure, option: difference in its own units")
    return fig


def write_comparison_plots(comparison: Comparison, table: pd.DataFrame,
                           out_dir: Path) -> list[Path]:
    """A fan of paired monthly differences per alternative, and bars of headline deltas."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [save_png(difference_figure(comparison, alt),
                      out_dir / f"difference_{alt.scenario.name}.png")
             for alt in comparison.alternatives]
    paths.append(save_png(headline_figure(table, comparison.base.scenario.name),
                          out_dir / "headline_differences.png"))
    return paths


# -- the page ----------------------------------------------------------------------------

def _own_mean(values: np.ndarray) -> float:
    """A run's own mean over its replications with a value (NaN where none has one)."""
    ok = values[~np.isnan(values)]
    return float(ok.mean()) if ok.size else math.nan


def own_means(run: RunResult, metric: str) -> dict[str, float]:
    """The run's own mean of a metric per period of comparison.csv ('all' and each year)."""
    out = {"all": _own_mean(run.measured.summary[metric])} if (
        metric in run.measured.summary) else {}
    yearly = run.measured.yearly.get(metric)
    if yearly is not None:
        for j, (year, _, _) in enumerate(run.timeline.fiscal_years):
            out[year] = _own_mean(yearly[:, j])
    return out


def _difference_cell(row: pd.Series | None, lab: Label) -> tuple[str, str]:
    if row is None:
        return "–", "–"
    verdict = verdict_of(row)
    diff = f"<span class='{verdict}'>{html.escape(lab.change(row.diff_mean))}</span>"
    if not _finite(row.diff_low, row.diff_high):
        return diff, "–"
    if identical(row):
        return diff, "identical in every replication"
    return diff, html.escape(f"{lab.change(row.diff_low)} to {lab.change(row.diff_high)}")


def by_year_table(comparison: Comparison, table: pd.DataFrame, metric: str) -> str:
    """One headline metric by financial year: the base's and each option's own mean,
    beside each option's paired difference and its interval."""
    lab = label(metric)
    esc = html.escape
    base = comparison.base
    years = [y for y, _, _ in base.timeline.fiscal_years]
    periods = [*years, "all"]
    means = {r.scenario.name: own_means(r, metric) for r in [base, *comparison.alternatives]}
    rows_of = {(r.scenario, r.period): r for _, r in table[table.metric == metric].iterrows()}
    header = ["financial year", f"{base.scenario.name} (base)"]
    for alt in comparison.alternatives:
        header += [alt.scenario.name, "difference", f"{PERCENT}% interval"]
    body = []
    for period in periods:
        cells = [esc(WHOLE if period == "all" else period),
                 esc(lab.value(means[base.scenario.name].get(period)))]
        for alt in comparison.alternatives:
            row = rows_of.get((alt.scenario.name, period))
            cells += [esc(lab.value(means[alt.scenario.name].get(period))),
                      *_difference_cell(row, lab)]
        body.append(cells)
    when = " (at 31 March; whole forecast: at its end)" if metric.endswith(".end") else ""
    return html_table(header, body, caption=f"{lab.text}{when}, {lab.unit}")


def _every_metric_table(table: pd.DataFrame, option: str) -> str:
    """Every metric over the whole forecast for one option, in plain labels."""
    esc = html.escape
    rows = table[(table.scenario == option) & (table.period == "all")]
    body = []
    for _, r in rows.iterrows():
        lab = label(r.metric)
        diff, interval = _difference_cell(r, lab)
        pct = f"{r.diff_pct:+.1f}%" if _finite(r.diff_pct) else "–"
        body.append([
            f"<span title='{esc(r.metric)}: {esc(glossary(r.metric))}'>{esc(lab.text)}</span>",
            esc(lab.value(r.base_mean)), esc(lab.value(r.alt_mean)), diff, interval, pct])
    return html_table(["metric", "base", "option", "difference", f"{PERCENT}% interval",
                       "% of base"], body)


LEGEND = (
    "<p class='legend'>Colours: <span class='better'>green</span>, a change whose"
    f" {PERCENT}% interval excludes zero and that is better for the metric (fewer cases"
    " waiting, shorter times, a higher share finished within 12 months);"
    " <span class='worse'>red</span>, such a change that is worse;"
    " <span class='same'>grey</span>, not distinguishable from no change (or a figure with"
    " no better direction).</p>"
)


def render_comparison(comparison: Comparison, table: pd.DataFrame, plots: list[Path]) -> str:
    """One self-contained HTML page: what each option changes in plain words, the
    headline figures by year, every metric with its interval, charts, provenance."""
    base = comparison.base
    base_name = base.scenario.name
    esc = html.escape
    runs = [base, *comparison.alternatives]
    parts = [
        COMPARE_STYLE,
        f"<h1>Comparison with {esc(base_name)}</h1>",
        f"<p class='subtitle'>{base.reps} replications each, seed {base.seed}, engine"
        f" {esc(base.engine)}, ccsim {esc(base.version)}. {esc(ranges_note(runs))}"
        f" {esc(capacity_note(runs) or '')}</p>",
        *(_option_paragraph(table, alt.scenario.name, base_name)
          for alt in comparison.alternatives),
        f"<p>The base is {esc(base_name)}: each option is compared with it by paired"
        " differences under common random numbers. Every scenario ran with the same seed"
        f" ({base.seed}) and the same {base.reps} replications, so replication r of each saw"
        " the same arrivals and case lengths; each difference is the option minus the base,"
        f" replication by replication, and its {PERCENT}% interval comes from the spread of"
        " those paired differences. The figures are over the whole forecast: stocks at its"
        " end, flows a year, averages over it.</p>",
        LEGEND,
        "<h2>Headline figures by financial year (April to March)</h2>",
        "<p>Each scenario's own mean across its replications, and each option's paired"
        " difference from the base. Stocks at 31 March, flows within the year, averages"
        " over the year.</p>",
        *(by_year_table(comparison, table, m) for m in HEADLINE
          if m in base.measured.summary or m in base.measured.yearly),
    ]
    for alt in comparison.alternatives:
        parts.append(f"<h2>{esc(alt.scenario.name)}: every figure over the whole forecast"
                     f" (hash {alt.scenario.digest()})</h2>")
        parts.append(f"<p>{esc(alt.scenario.description)}</p>")
        parts.append(_every_metric_table(table, alt.scenario.name))
    parts.append("<h2>Charts</h2>")
    parts.extend(image(p) for p in plots)
    return page(f"ccsim comparison: {base_name}", parts)
