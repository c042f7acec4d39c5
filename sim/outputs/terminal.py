"""What the command line prints: the headline tables of a run, a comparison, a goal-seek
and a scenario diff, in plain labels and units, and progress with the time left.

Each function returns text (the command line prints it; tests read it); the metric names
stay in the CSV files.
"""

from __future__ import annotations

import sys
import textwrap
import time
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
from tqdm import tqdm

from sim.engine.metrics import HEADLINE
from sim.engine.run import RunResult
from sim.engine.summaries import summary_table
from sim.errors import shorten, visible
from sim.outputs.brief_report import goal_sentence, metric_text
from sim.outputs.compare_report import capacity_note, ranges_note
from sim.outputs.labels import label
from sim.outputs.run_report import bare, headline_rows, ranges_source, reported_period, shown_text
from sim.studies.goal_seek import GoalSeekResult, lever_name


def headline_table(result: RunResult) -> str:
    """The headline figures as a planner reads them: plain labels, values in their units
    (£, %, working days) and the 90% range. The metric names stay in summary.csv."""
    scenario = result.scenario
    first, last, _ = reported_period({"start": scenario.start,
                                      "horizon_years": scenario.horizon_years})
    rows = [("", "mean", "90% range")] + [row[1:] for row in
                                          headline_rows(summary_table(result.measured))]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    out = ["", f"{scenario.name}, {first} to {last}: {result.reps:,} replications"
                f" (seed {result.seed}, engine {result.engine})"]
    out += [f"{text:{widths[0]}s}  {mean:>{widths[1]}s}  {span:>{widths[2]}s}"
            for text, mean, span in rows]
    out.append(textwrap.fill(
        "Means across replications; 90% of replications fall within the range. Investigations"
        f" open and cases awaiting a hearing are counted at the end of {last}; the other"
        f" figures cover the whole period. {ranges_source(result.parameters)}", width=92))
    return "\n".join(out)


def comparison_table(table: pd.DataFrame, runs: Sequence[RunResult] = ()) -> str:
    """Each option against the base, as a planner reads it: plain labels, values and the
    paired difference (95% interval) in the metric's units, and whether that is better,
    worse or no clear change; with the `runs`, where the intervals come from (parameters
    drawn or fixed). The metric names stay in comparison.csv."""
    rows = table[(table.period == "all") & table.metric.isin(HEADLINE)].set_index(
        ["scenario", "metric"])
    lines = [("option", "", "base", "with option", "difference (95% interval)", "")]
    for name in dict.fromkeys(rows.index.get_level_values("scenario")):
        for metric in (m for m in HEADLINE if (name, m) in rows.index):
            r, lab = rows.loc[(name, metric)], label(metric)
            verdict = lab.verdict(r.diff_mean, bool(r.distinguishable))
            word = {"better": "better", "worse": "worse"}.get(verdict, "no clear change")
            if verdict == "same" and r.distinguishable and r.diff_mean != 0:
                word = "higher" if r.diff_mean > 0 else "lower"  # no better direction
            lines.append((str(name), shown_text(lab), lab.value(r.base_mean),
                          lab.value(r.alt_mean),
                          f"{lab.change(r.diff_mean)} ({bare(lab.change(r.diff_low))} to"
                          f" {bare(lab.change(r.diff_high))})", word))
    widths = [max(len(line[i]) for line in lines) for i in range(6)]
    out = [""]
    for line in lines:
        out.append(f"{line[0]:{widths[0]}s}  {line[1]:{widths[1]}s}  {line[2]:>{widths[2]}s}"
                   f"  {line[3]:>{widths[3]}s}  {line[4]:>{widths[4]}s}  {line[5]}".rstrip())
    out.append("difference: option minus base, replication by replication (the same random"
               " numbers);\nbetter or worse: its 95% interval excludes no change; no clear"
               " change: it does not.")
    if runs:
        out.append(textwrap.fill(ranges_note(runs), width=92))
        if (note := capacity_note(runs)) is not None:
            out.append(textwrap.fill(note, width=92))
    return "\n".join(out)


def goal_seek_table(result: GoalSeekResult, metric: str, year: str) -> str:
    """What `ccsim target` prints: the answer in plain words, then every value evaluated
    with its mean, paired difference from the target and probability."""
    lever = result.lever
    out = [goal_sentence(result), "",
           f"{metric_text(metric)} in {year}, target {result.target_value:.4g};"
           f" {lever} is {lever_name(lever)}",
           f"{lever:>20s} {'mean (95% interval)':>28s} {'minus target (paired 95%)':>30s}"
           f" {'met':>9s} {'probability (Wilson 95%)':>26s}"]
    for p in result.points:
        mean = f"{p.metric_mean:.4g} ({p.mean_low:.4g} to {p.mean_high:.4g})"
        diff = f"{p.diff_mean:+.3g} ({p.diff_low:+.3g} to {p.diff_high:+.3g})"
        share = f"{p.share:.2f} ({p.share_low:.2f}-{p.share_high:.2f})"
        out.append(f"{p.value:20g} {mean:>28s} {diff:>30s} {f'{p.met}/{p.reps}':>9s}"
                   f" {share:>26s}")
    if result.non_monotone:
        out.append(f"note: not monotone between {result.non_monotone}")
    out.append(textwrap.fill(f"Every value ran with the same random numbers. "
                             f"{ranges_source(result.parameters)}", width=92))
    return "\n".join(out)


def differences_table(changes: list[tuple[str, Any, Any]], first: object,
                      second: object) -> str:
    """What `ccsim diff` prints: each field that differs, with both values."""
    out = [f"{len(changes)} field{'s' if len(changes) != 1 else ''} differ"
           f"{'s' if len(changes) == 1 else ''} ({first} -> {second}):"]
    width = min(max(len(path) for path, _, _ in changes), 60)
    out += [f"  {visible(shorten(path, 60)):{width}s}  {_shown(a)} -> {_shown(b)}"
            for path, a, b in changes]
    return "\n".join(out)


def _shown(value: object) -> str:
    return "(absent)" if value is None else visible(shorten(str(value), 50))


class Progress:
    """Progress of run, compare and sweep on stderr, with the time left: a tqdm bar on a
    terminal; plain lines (when another 10% is done or 30 s have passed) when stderr is a
    file or a pipe, so a log shows how far a long run has got; nothing under --quiet."""

    EVERY_SHARE, EVERY_SECONDS = 0.1, 30.0

    def __init__(self, total: int, quiet: bool, label: str, unit: str | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total, self.quiet, self.label, self.clock = total, quiet, label, clock
        # a sweep advances point by point; run and compare replication by replication
        self.unit = unit or ("points" if label.startswith("sweep") else "replications")
        self.bar: tqdm | None = None

    def __enter__(self) -> Callable[[int], None]:
        self.done, self.started = 0, self.clock()
        self.said_done, self.said_at = 0, self.started
        if not self.quiet and sys.stderr.isatty():
            self.bar = tqdm(total=self.total, desc=self.label, file=sys.stderr,
                            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt} of"
                            f" {{total_fmt}} {self.unit} [{{elapsed}} so far, about"
                            " {remaining} left]")
        return self.advance

    def advance(self, steps: int) -> None:
        self.done += steps
        if self.bar is not None:
            self.bar.update(steps)
            return
        now = self.clock()
        due = (self.done - self.said_done >= self.EVERY_SHARE * self.total
               or now - self.said_at >= self.EVERY_SECONDS or self.done >= self.total)
        if self.quiet or not due or self.done <= 0:  # nothing done yet: no rate to tell
            return
        elapsed = now - self.started
        if self.done >= self.total:
            when = f"done in {self._duration(elapsed)}"
        else:
            when = f"about {self._duration(elapsed / self.done * (self.total - self.done))} left"
        print(f"{self.label}: {self.done:,} of {self.total:,} {self.unit}, {when}",
              file=sys.stderr, flush=True)
        self.said_done, self.said_at = self.done, now

    @staticmethod
    def _duration(seconds: float) -> str:
        """A time as a person says it: "40 s", "3 min", "1 h 5 min"."""
        if seconds < 90:
            return f"{max(round(seconds), 1)} s"
        minutes = round(seconds / 60)
        return f"{minutes} min" if minutes < 90 else f"{minutes // 60} h {minutes % 60} min"

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()




__all__ = ["Progress", "comparison_table", "differences_table", "goal_seek_table",
           "headline_table"]
