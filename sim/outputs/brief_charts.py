"""The brief's charts: IOPC backlogs with and without the uplift, the uplift's cost, the
cost of suspended officers, and one per goal-seek question (the mean, or the probability,
against the lever, with 95% intervals and the target). matplotlib's Figure API only (no
pyplot state)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.engine.metrics import Measured
from sim.engine.run import RunResult
from sim.engine.summaries import timeseries_table
from sim.outputs.labels import label as metric_label
from sim.outputs.plots import COLOURS, fan_chart, fan_quantiles, save_png
from sim.studies.brief import BriefResult
from sim.studies.goal_seek import GoalSeekResult, lever_name, lever_phrase

WITHOUT, WITH, GOAL = COLOURS[1], COLOURS[0], COLOURS[2]


def metric_text(metric: str) -> str:
    """A metric as a sentence or title names it, from its plain label
    (`sim.outputs.labels`): "the number of" a count, "the share of" a share, so that "its
    level" reads right."""
    lab = metric_label(metric)
    text = lab.text
    if lab.text == metric:  # no label: the name itself
        return text
    if lab.unit == "cases":
        return f"number of {text}"
    if lab.unit == "share" and not text.startswith("share"):
        return f"share of {text}"
    return text


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
          level: float | None = None, level_label: str = "target") -> Path:
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
        ax.axhline(level, color="black", lw=1, ls="--", label=level_label)
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
        assert brief.target.answer is not None  # the goal option is its answer
        series.append((f"the headline question's answer"
                       f" ({lever_phrase(brief.target.lever, brief.target.answer)})",
                       brief.extra_cost(goal) / 1e6, None, GOAL))
    fig = Figure(figsize=(9, 4), layout="constrained")
    ax = fig.subplots()
    _bars(ax, years, series)
    ax.set_title("Cost of the extra staff, by financial year")
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


def _question_chart(t: GoalSeekResult, number: int, path: Path) -> Path:
    """A question's curve: the probability (with Wilson 95% intervals and the probability
    asked for) or the mean (with its 95% interval and the target) at every evaluated value,
    the answer marked."""
    lab = metric_label(t.target.metric)
    points = sorted(t.points, key=lambda p: p.value)
    x = np.array([p.value for p in points])
    fig = Figure(figsize=(9, 4.2), layout="constrained")
    ax = fig.subplots()
    if t.target.kind == "probability":
        y = np.array([p.share for p in points]) * 100
        err = np.clip(np.array([[p.share - p.share_low, p.share_high - p.share]
                                for p in points]).T * 100, 0, None)  # float noise at 0, 1
        ax.errorbar(x, y, yerr=err, fmt="o-", color=WITH, ms=4, capsize=3, lw=1.2,
                    label="probability (Wilson 95% interval)")
        ax.axhline(100 * t.target.confidence, color="black", lw=1, ls="--",
                   label=f"{t.target.confidence:.0%} asked for")
        ax.set_ylim(0, 100)
        ax.set_ylabel(f"futures {t.target.direction} {lab.value(t.target_value)} (%)")
        best = t.best()
        ax.annotate(f"highest: {best.share:.0%} at {best.value:g}", (best.value,
                    100 * best.share), textcoords="offset points", xytext=(8, -14),
                    fontsize=8)
        title = (f"Question {number}: the probability that the {metric_text(t.target.metric)}"
                 f" in {t.target.year} is {t.target.direction} {lab.value(t.target_value)}")
    else:
        y = np.array([p.metric_mean for p in points])
        # the t-interval, cut at zero: these metrics (cases, days, shares) are never negative
        err = np.array([[p.metric_mean - max(p.mean_low, 0.0), p.mean_high - p.metric_mean]
                        for p in points]).T
        err = np.clip(np.where(np.isfinite(err), err, 0.0), 0, None)
        ax.errorbar(x, y, yerr=err, fmt="o-", color=WITH, ms=4, capsize=3, lw=1.2,
                    label="mean over futures (95% interval)")
        ax.axhline(t.target_value, color="black", lw=1, ls="--",
                   label=f"target: {lab.value(t.target_value)}"
                   + (f" (the {t.target.baseline_year} level)" if t.target.baseline_year
                      else ""))
        ax.set_ylim(bottom=0)
        ax.set_ylabel(lab.unit)
        title = (f"Question {number}: the {metric_text(t.target.metric)} in {t.target.year},"
                 " on average over futures")
    if t.answer is not None:
        ax.axvline(t.answer, color=GOAL, lw=1, ls=":", label=f"answer: {t.answer:g}")
        ax.axvspan(t.low if t.answer_low is None else t.answer_low,
                   t.high if t.answer_high is None else t.answer_high, color=GOAL, alpha=0.1,
                   label="its 95% interval")
    ax.set_xlabel(lever_name(t.lever))
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8, frameon=False)
    return _save(fig, path)


def write_brief_charts(brief: BriefResult, out_dir: Path) -> dict[str, Path]:
    """The charts as PNGs (four, and one per goal-seek question); returns them by name."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    over = next((t for t in brief.questions() if t.target.metric == "iopc.open_over_12m.end"),
                None)
    over_level = over.target_value if over else None
    level_label = ("target" if over is None or over.target.baseline_year is None
                   else f"target: the {over.target.baseline_year} level")
    questions = {f"question_{i}": _question_chart(t, i, out_dir / f"question_{i}.png")
                 for i, t in enumerate(brief.questions(), start=1)}
    return questions | {
        "iopc_open": _fans(brief, "iopc.open",
                           "IOPC independent investigations of Met cases open at month end",
                           out_dir / "iopc_open.png"),
        "iopc_over_12m": _fans(brief, "iopc.open_over_12m",
                               "IOPC investigations open over 12 months at month end",
                               out_dir / "iopc_over_12m.png", over_level, level_label),
        "uplift_cost": _cost_chart(brief, out_dir / "uplift_cost.png"),
        "suspended_cost": _suspension_chart(brief, out_dir / "suspended_cost.png"),
    }
