"""Write a brief up twice from one list of blocks: a self-contained HTML page (charts
inlined, no external assets) and a Markdown version (charts beside it in plots/)."""

from __future__ import annotations

import html
import json
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.engine.metrics import GLOSSARY
from sim.engine.summaries import describe
from sim.outputs.brief_charts import metric_text, write_brief_charts
from sim.outputs.labels import label
from sim.outputs.provenance import git_commit, provenance
from sim.outputs.run_folder import write_folder
from sim.outputs.run_report import fmt, html_table, image, page, parameters_text, ranges_source
from sim.studies.brief import BriefResult, config_digest, figure_sources, year_end
from sim.studies.costs import ExtraStaff, StaffCost, costed_total, staff_costs
from sim.studies.goal_seek import GoalSeekResult, lever_name, lever_phrase, wilson
from sim.version import __version__

# --------------------------------------------------------------------------- blocks


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    caption: str = ""
    text_columns: tuple[int, ...] = ()  # left-aligned prose columns (numbers align right)


@dataclass
class Image:
    path: Path
    caption: str


Block = tuple[str, Any]  # ("h1" | "h2" | "p" | "list" | "table" | "img" | "pre", content)


def to_html(title: str, blocks: list[Block]) -> str:
    esc = html.escape
    body = []
    for kind, content in blocks:
        if kind in ("h1", "h2", "h3"):
            body.append(f"<{kind}>{esc(str(content))}</{kind}>")
        elif kind == "p":
            body.append(f"<p>{esc(str(content))}</p>")
        elif kind == "headline":
            body.append(f"<p style='font-size:1.15em;border-left:4px solid #1b6ca8;"
                        f"padding-left:.8em'>{esc(str(content))}</p>")
        elif kind == "list":
            body.append("<ul>" + "".join(f"<li>{esc(i)}</li>" for i in content) + "</ul>")
        elif kind == "table":
            t: Table = content
            body.append(html_table(t.header, ([esc(c) for c in r] for r in t.rows),
                                   t.text_columns, t.caption))
        elif kind == "img":
            im: Image = content
            body.append(image(im.path).replace("<p><img", "<figure><img", 1)
                        .replace("></p>", f"><figcaption>{esc(im.caption)}</figcaption>"
                                 "</figure>"))
        elif kind == "pre":
            summary, text = content
            body.append(f"<details><summary>{esc(summary)}</summary><pre>{esc(text)}</pre>"
                        "</details>")
    return page(title, body)


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(blocks: list[Block], image_dir: str = "plots") -> str:
    out = []
    for kind, content in blocks:
        if kind == "h1":
            out.append(f"# {content}")
        elif kind == "h2":
            out.append(f"## {content}")
        elif kind == "h3":
            out.append(f"### {content}")
        elif kind == "p":
            out.append(str(content))
        elif kind == "headline":
            out.append(f"> **{content}**")
        elif kind == "list":
            out.append("\n".join(f"- {i}" for i in content))
        elif kind == "table":
            t: Table = content
            lines = [f"*{t.caption}*", ""] if t.caption else []
            lines.append("| " + " | ".join(_md_cell(h) for h in t.header) + " |")
            lines.append("|" + "---|" * len(t.header))
            lines += ["| " + " | ".join(_md_cell(c) for c in r) + " |" for r in t.rows]
            out.append("\n".join(lines))
        elif kind == "img":
            im: Image = content
            out.append(f"![{im.caption}]({image_dir}/{im.path.name})\n\n*{im.caption}*")
        elif kind == "pre":
            summary, text = content
            out.append(f"<details><summary>{summary}</summary>\n\n```\n{text}\n```\n\n"
                       "</details>")
    return "\n\n".join(out) + "\n"


# --------------------------------------------------------------------------- numbers


def _gbp_m(x: float) -> str:
    return f"{'-' if x < -5e3 else ''}£{abs(x) / 1e6:,.2f}m"


def _range(v: np.ndarray) -> str:
    d = describe(v)
    return f"{fmt(d['p05'])} to {fmt(d['p95'])}" if d["reps"] else "–"


def _mean(v: np.ndarray) -> float:
    return describe(v)["mean"]


class _Numbers:
    """The figures the text quotes, looked up once."""

    def __init__(self, brief: BriefResult) -> None:
        self.b = brief
        self.j = brief.years.index(brief.config.year)
        self.table = brief.comparison.table()

    def values(self, name: str, metric: str, year: str | None = None) -> np.ndarray:
        j = self.j if year is None else self.b.years.index(year)
        return self.b.result(name).measured.yearly[metric][:, j]

    def diff(self, name: str, metric: str) -> dict:
        rows = self.table[(self.table.scenario == name) & (self.table.metric == metric)
                          & (self.table.period == self.b.config.year)]
        return rows.iloc[0].to_dict()

    def meets(self, name: str) -> str:
        t = self.b.probability_question() or self.b.target
        if t is None:
            return "–"
        v = self.values(name, t.target.metric)
        k = int(t.target.meets(v, t.target_value).sum())
        lo, hi = wilson(k, v.size)
        return f"{100 * k / v.size:.0f}% ({100 * lo:.0f}–{100 * hi:.0f}%)"


def _zero(d: dict) -> bool:
    return d["diff_low"] == d["diff_high"] == d["diff_mean"] == 0


def _change(d: dict) -> str:
    if _zero(d):
        return "none (the same in every replication)"
    return (f"{d['diff_mean']:+.3g} (95% interval {d['diff_low']:+.3g} to"
            f" {d['diff_high']:+.3g})" + (" *" if d["distinguishable"] else ""))


def headline(brief: BriefResult, n: _Numbers) -> str:
    cf, up = brief.comparison.base.scenario.name, brief.inputs.uplift.name
    y, when = brief.config.year, year_end(brief.config.year)
    metric = "iopc.open_over_12m.end"
    a = n.values(cf, metric)
    c = n.values(up, metric)
    d = n.diff(up, metric)
    cost = brief.extra_cost(brief.inputs.uplift)[n.j]
    first = brief.years[0]
    today = n.values(cf, metric, first)
    text = (f"By {when}, with Met officer numbers raised by the Police Uplift Programme and"
            f" IOPC capacity held flat, the model forecasts {fmt(_mean(a))} IOPC"
            f" investigations of Met cases open over 12 months (90% of futures:"
            f" {_range(a)}), against {fmt(_mean(today))} at {year_end(first)}. With IOPC"
            f" investigators rising in line with police numbers (Recommendation 7) it"
            f" forecasts {fmt(_mean(c))} ({_range(c)}): "
            + ("no change (the same in every replication)" if _zero(d)
               else f"a change of {_change(d)}, from {_range(c - a)} in 90% of futures")
            + f", for about {_gbp_m(cost)} in {y}.")
    for number, t in enumerate(brief.questions(), start=1):
        text += " " + (_headline_answer(brief, n, t) if t is brief.target
                       else _headline_more(t, number))
    return text


def value_text(metric: str) -> Callable[[float], str]:
    """How a value of `metric` is written (its label's unit: days, %, cases)."""
    return label(metric).value


def _goal_words(t: GoalSeekResult) -> str:
    return t.goal_text(metric_text(t.target.metric), value_text(t.target.metric))


def goal_sentence(t: GoalSeekResult) -> str:
    """The goal-seek's answer in plain words: the lever's name and the metric's label."""
    return t.sentence(metric_text(t.target.metric), value_text(t.target.metric))


def _level_words(t: GoalSeekResult) -> str:
    """'at or below its 2021/22 level (6.2 days)', 'at or above 85%'."""
    side = "at or below" if t.target.at_most_goal else "at or above"
    v = value_text(t.target.metric)(t.target_value)
    year = t.target.baseline_year
    return f"{side} its {year} level ({v})" if year else f"{side} {v}"


def _headline_answer(brief: BriefResult, n: _Numbers, t: GoalSeekResult) -> str:
    """The headline question's answer: the staffing, its interval and cost, and what it
    does to the 12-month count."""
    y, metric = brief.config.year, t.target.metric
    what = metric_text(metric)
    how = "on average" if t.target.kind == "mean" else f"in {t.target.confidence:.0%} of futures"
    if t.answer is None:
        return goal_sentence(t)
    low = f"at most {t.low:g}" if t.answer_low is None else f"{t.answer_low:g}"
    high = f"more than {t.high:g}" if t.answer_high is None else f"{t.answer_high:g}"
    assert brief.goal_option is not None  # an answer's scenario is always run (make_brief)
    goal_cost = brief.extra_cost(brief.result(brief.goal_option).scenario)[n.j]
    text = (f"Keeping the {what} in {y} {_level_words(t)} {how} needs"
            f" {lever_phrase(t.lever, t.answer)} (95% interval {low} to {high};"
            f" {t.answer - t.current:+g} on today's {t.current:g}), about {_gbp_m(goal_cost)}"
            f" a year.")
    over = "iopc.open_over_12m.end"
    if metric != over:
        at = n.values(brief.goal_option, over)
        today = n.values(brief.comparison.base.scenario.name, over, brief.years[0])
        more = _mean(at) > _mean(today) + 1e-9
        text += (f" With them, {fmt(_mean(at))} IOPC investigations would be open over 12"
                 f" months at {year_end(y)} ({_range(at)}), against {fmt(_mean(today))} at"
                 f" {year_end(brief.years[0])}"
                 + (": more investigators remove the wait, not the extra cases that more"
                    " police officers bring." if more else "."))
    return text


def _headline_more(t: GoalSeekResult, number: int) -> str:
    """A further question in one sentence: its answer, or the most that can be had."""
    what = metric_text(t.target.metric)
    how = ("on average" if t.target.kind == "mean"
           else f"in {t.target.confidence:.0%} of futures")
    goal = f"Keeping the {what} {_level_words(t)} {how}"
    if t.answer is not None:
        return f"{goal} needs {lever_phrase(t.lever, t.answer)} (question {number})."
    best = t.best()
    reach = ("no future does" if t.target.kind == "probability" and best.met == 0
             else f"at most {best.share:.0%} of futures do, from {best.value:g}"
             if t.target.kind == "probability"
             else f"the closest is {value_text(t.target.metric)(best.metric_mean)}"
                  f" at {best.value:g}")
    return (f"{goal} is not possible with up to {t.high:g} {lever_name(t.lever)} in this"
            f" model: {reach} (question {number}).")


def headline_text(brief: BriefResult) -> str:
    """The brief's headline sentence, what it rests on, and where its intervals come from
    (parameters drawn or fixed), for the terminal."""
    return "\n".join([headline(brief, _Numbers(brief)),
                      *(f"  rests on: {c}" for c in brief.config.caveats),
                      ranges_source(brief.comparison.base.parameters)])


def caveat_blocks(brief: BriefResult) -> list[Block]:
    """The brief file's caveats, right under the headline: an assumption that alone makes
    the headline's effect is said where the headline is read, not only in the table."""
    caveats = brief.config.caveats
    return [("p", "What this answer rests on:"), ("list", caveats)] if caveats else []


def _question_metrics(brief: BriefResult) -> list[str]:
    """The questions' metrics the table does not already show, in question order."""
    shown = {"iopc.open_over_12m.end", "iopc.open.end", "cost.suspended_gbp_per_year"}
    return list(dict.fromkeys(t.target.metric for t in brief.questions()
                              if t.target.metric not in shown))


def options_table(brief: BriefResult, n: _Numbers) -> Table:
    y = brief.config.year
    extra_metrics = _question_metrics(brief)
    chance = brief.probability_question() or brief.target
    chance_header = "probability of meeting the target" if chance is None else (
        f"futures with the {metric_text(chance.target.metric)} {chance.target.direction}"
        f" {value_text(chance.target.metric)(chance.target_value)} (Wilson 95%)")
    header = ["option", "what changes", f"IOPC open over 12 months, {year_end(y)}",
              "change", "IOPC open", "change",
              *[h for m in extra_metrics for h in (f"{metric_text(m)}, {y}", "change")],
              chance_header, f"extra staff {y}",
              f"their cost {y}", f"suspended officers' pay {y}"]
    rows = []
    for run in (brief.comparison.base, *brief.comparison.alternatives):
        name = run.scenario.name
        over = n.values(name, "iopc.open_over_12m.end")
        open_ = n.values(name, "iopc.open.end")
        susp = n.values(name, "cost.suspended_gbp_per_year")
        base = name == brief.comparison.base.scenario.name
        staff = brief.extra_staff(run.scenario)
        susp_change = "" if base else (
            f" ({n.diff(name, 'cost.suspended_gbp_per_year')['diff_mean'] / 1e6:+.2f}m)")
        questions = []
        for m in extra_metrics:
            v, lab = n.values(name, m), label(m)
            questions += [f"{lab.value(_mean(v))} ({lab.value(describe(v)['p05'])} to"
                          f" {lab.value(describe(v)['p95'])})",
                          "–" if base else _change(n.diff(name, m))]
        rows.append([
            name + (" (counterfactual)" if base else ""),
            " ".join(run.scenario.description.split())[:160],
            f"{fmt(_mean(over))} ({_range(over)})",
            "–" if base else _change(n.diff(name, "iopc.open_over_12m.end")),
            f"{fmt(_mean(open_))} ({_range(open_)})",
            "–" if base else _change(n.diff(name, "iopc.open.end")),
            *questions,
            n.meets(name),
            _staff_text(staff, n.j),
            _gbp_m(costed_total(staff)[n.j]),
            _gbp_m(_mean(susp)) + susp_change,
        ])
    target = ("the probability is the share of replications meeting that level, with a"
              " Wilson 95% interval; " if chance else "")
    goal = (f"{brief.goal_option} is the counterfactual with the headline question's answer"
            " (goal-seek); " if brief.goal_option else "")
    return Table(header, rows,
                 f"{y}: stocks at {year_end(y)}, costs over the year. Means with the range"
                 f" holding 90% of {brief.reps} replications; changes are paired differences"
                 " from the counterfactual (the same random numbers and parameter draws), with 95%"
                 " intervals of the expected change (they narrow as replications are added;"
                 " the headline also gives the change's range over futures); * marks an"
                 f" interval that excludes zero; {target}{goal}extra staff are"
                 " averaged over the year (recruits are paid while they train) and costed"
                 " per staff-year: " + "; ".join(
                     f"{c.what}, {_cost_words(c)}"
                     for c in staff_costs(brief.comparison.base.scenario,
                                          brief.config.cost_per_investigator_year_gbp))
                 + ". CPS decision times and case-handling levers carry no cost here.",
                 text_columns=(1, len(header) - 3))


def _staff_text(staff: list[ExtraStaff], j: int) -> str:
    """The staff an option adds (or removes) in the brief's year, in words."""
    parts = [f"{line.cost.what} {line.extra[j]:+.3g}"
             + ("" if line.cost.costed else " (not costed)")
             for line in staff if abs(line.extra[j]) > 1e-9]
    return "; ".join(parts) or "none"


def _cost_words(cost: StaffCost) -> str:
    if not cost.costed:
        return cost.basis
    return f"£{cost.gbp_per_year:,.0f} ({cost.basis})"


def _role(t: GoalSeekResult, value: float) -> str:
    """What a point is to the answer: the answer, or an end of its 95% interval."""
    return ("answer" if value == t.answer else "95% interval from" if value == t.answer_low
            else "95% interval to" if value == t.answer_high else "")


def goal_seek_table(t: GoalSeekResult) -> Table:
    """Every evaluated point of one question: the mean with its 95% interval, the paired
    difference from the target, and the probability with its Wilson 95% interval."""
    v = value_text(t.target.metric)
    rows = [[f"{p.value:g}",  # the mean's t-interval cut at zero: no metric here is negative
             f"{v(p.metric_mean)} ({v(max(p.mean_low, 0.0))} to {v(p.mean_high)})",
             f"{p.diff_mean:+.3g} ({p.diff_low:+.3g} to {p.diff_high:+.3g})",
             f"{p.met}/{p.reps}",
             f"{p.share:.0%} ({p.share_low:.0%}–{p.share_high:.0%})",
             _role(t, p.value),
             str(p.order + 1)] for p in t.points]
    what = metric_text(t.target.metric)
    return Table([lever_name(t.lever),
                  f"{what[:1].upper() + what[1:]}, {t.target.year}: average over futures"
                  " (95% interval)",
                  "difference from the target (paired 95% interval)",
                  f"futures {t.target.direction} {v(t.target_value)}",
                  "probability (Wilson 95%)", "", "evaluated"],
                 rows, "Every lever value the goal-seek evaluated, in lever order (the"
                 " curve's and the bisection's); the target is"
                 f" {v(t.target_value)}" + (f", the {t.target.baseline_year} mean of the same"
                                            " replications" if t.target.baseline_year else "")
                 + ".")


def assumptions_table(brief: BriefResult) -> Table:
    register = figure_sources(brief.inputs.figures,
                              {f for a in brief.config.assumptions for f in a.figures})
    rows = []
    for a in brief.config.assumptions:
        cited = []
        for fid in a.figures:
            r = register.get(fid)
            cited.append(f"{fid}: {r['figure']} = {r['value']} ({r['period']})" if r else fid)
        rows.append([a.what, a.value, "; ".join(cited), a.source])
    return Table(["assumption", "value", "figures (ids)", "source"], rows,
                 text_columns=(1, 2, 3))


def brief_provenance(brief: BriefResult, config_path: Path | None) -> dict[str, Any]:
    """The shared provenance block, with the brief file and the source of each scenario."""
    runs = [brief.comparison.base, *brief.comparison.alternatives]
    return provenance(
        runs,
        brief_file=str(config_path) if config_path else None,
        brief_file_hash=config_digest(config_path) if config_path else None,
        scenario_files={r.scenario.name: brief.inputs.sources.get(r.scenario.name,
                                                                    "goal-seek answer")
                        for r in runs},
        started=brief.started, finished=brief.finished, seconds=round(brief.seconds, 1),
    )


def stress_des(brief: BriefResult) -> Table:
    s = brief.comparison.base.scenario
    rows = [
        ["1.1 Purpose", "Quantify Recommendation 7 (London Assembly, Police Conduct and"
         " Complaints, Nov 2022) for MOPAC: IOPC backlogs and 12-month breaches if police"
         " numbers rise and IOPC capacity does not; the uplift that holds them; its cost."],
        ["1.2 Outputs", "IOPC investigations open, and open over 12 months from receipt, at"
         " each 31 March and month end; suspended officers and their pay cost; cost of extra"
         " investigators. Definitions: the model section above."],
        ["1.3 Experimentation aims", "Compare the options in the table with the"
         " counterfactual; find the smallest IOPC staffing meeting each goal-seek question"
         + (" (" + "; ".join(f"{i}: {_goal_words(q)}"
                             for i, q in enumerate(brief.questions(), start=1)) + ")"
            if brief.questions() else "") + "."],
        ["2.1 Overview", "arrival (complaints, conduct matters) → DPS assessment → informal /"
         " no investigation / PSU / DPS / referral to the IOPC → IOPC decision (independent,"
         " directed, local) → investigation in a pool of case slots → CPS decision and trial"
         " (some) → misconduct meeting, hearing (panels) or accelerated hearing → exit."],
        ["2.2 Base model logic", "One process per case; a case holds one investigator slot"
         " (investigators × cases each) for its investigation; officers may be suspended or"
         " restricted from the assessment until the case ends."],
        ["2.3 Scenario logic", "Options change dated staff steps, demand (officer numbers ×"
         " elasticity) or, through dated levers, how cases received from a date are handled."],
        ["2.4 Algorithms", "Poisson arrivals at dated monthly rates scaled by officer"
         " numbers; lognormal, gamma or empirical durations; FCFS multi-slot queues (compiled"
         " engine: the Kiefer–Wolfowitz recursion over each pool's cases, one fused numba"
         " pass per replication)."],
        ["2.5 Components", "Entities: cases (with allegations and an officer status)."
         " Activities: assessment, IOPC decision, investigation, CPS decision, trial,"
         " proceedings. Resources: IOPC, DPS and PSU investigator slots; misconduct panels."
         " Queues: FCFS per pool and for panels. Entry: arrival; exit: finalisation."],
        ["3.1 Data sources", "Published figures with ids (assumptions table; the register"
         " data/figures.csv): MOPAC oversight paper (June 2021), London Assembly"
         " report (Nov 2022), IOPC and Home Office statistics."],
        ["3.2 Pre-processing", "Working days converted to calendar days (about 1.45 calendar"
         " days a working day); annual counts to monthly rates."],
        ["3.3 Input parameters", "The scenario files (provenance) with a source or"
         " ASSUMPTION on every line; the brief file for costs; the fitted"
         f" {parameters_text(brief.comparison.base.parameters)}."],
        ["3.4 Assumptions", "The assumptions table above; simplifications: FCFS, no"
         " priorities, capacity in case slots, no abandonment."],
        ["4.1 Initialisation", f"{s.warmup_years:g} years of warm-up before {s.start}, not"
         " reported, so the system is not empty on day 0."],
        ["4.2 Run length", f"{s.horizon_years} financial years from {s.start}."],
        ["4.3 Estimation", f"{brief.reps} independent replications per scenario; 90% ranges"
         " across replications; common random numbers with paired t-intervals for"
         " differences; Wilson intervals for probabilities; for a probability goal a"
         " distribution-free order-statistic interval for the goal-seek answer, for a mean"
         " goal the lever values whose paired 95% interval for the mean straddles the"
         " target (bisection on the CRN estimate, sim/studies/goal_seek/)."],
        ["5.1 Software", f"Python {sys.version.split()[0]}, NumPy, SimPy, pandas, matplotlib;"
         f" ccsim {__version__}."],
        ["5.2 Random sampling", "numpy.random.Generator streams spawned from one SeedSequence"
         f" per replication and purpose (seed {brief.seed}); changing staffing does not change"
         " arrivals."],
        ["5.3 Model execution", f"engine '{brief.engine}' (des: SimPy processes; compiled:"
         " one numba pass per replication on the same draws; tested to agree case by case)."],
        ["5.4 System", platform.platform()],
        ["6 Code access", f"ccsim {__version__}, commit {git_commit()[:12]}."],
    ]
    return Table(["STRESS-DES item", "this model"], rows, text_columns=(1,))


def question_title(brief: BriefResult, t: GoalSeekResult, number: int) -> str:
    """'Question 1 (the headline): on average' and so on."""
    role = " (the headline)" if t is brief.target else ""
    how = ("on average" if t.target.kind == "mean"
           else f"in {t.target.confidence:.0%} of futures")
    return (f"Question {number}{role}: the {metric_text(t.target.metric)} in {t.target.year}"
            f" {_level_words(t)} {how}")


def question_blocks(brief: BriefResult, t: GoalSeekResult, number: int,
                    chart: Path | None) -> list[Block]:
    """One goal-seek question: its answer in words, the method, its chart and its points."""
    if t.target.kind == "mean":
        method = ("Method: the expected value is the mean over the replications, every lever"
                  " value run with the same random numbers; bisection on the sign of its"
                  " paired difference from the target. The 95% interval is the set of"
                  " values at which the expected value is not clearly on either side of the"
                  " target (its paired 95% interval straddles it).")
        caption = (f"The {metric_text(t.target.metric)} in {t.target.year} against"
                   f" {lever_name(t.lever)}: mean over {t.reps} futures with its 95% interval;"
                   " dashed: the target.")
    else:
        method = ("Method: bisection over the lever on the share of replications meeting the"
                  " target, every lever value run with the same random numbers; the interval"
                  " is the distribution-free 95% interval for the quantile. The chart and"
                  " table show the probability at every value evaluated, with Wilson 95%"
                  " intervals, so what is achievable shows even where the target is not.")
        caption = (f"Probability that the {metric_text(t.target.metric)} in {t.target.year}"
                   f" is {t.target.direction} {value_text(t.target.metric)(t.target_value)},"
                   f" against {lever_name(t.lever)}, with Wilson 95% intervals; dashed: the"
                   f" {t.target.confidence:.0%} asked for.")
    blocks: list[Block] = [
        ("h3", question_title(brief, t, number)),
        ("p", goal_sentence(t) + " " + method
         + (f" Values where the estimate moves the wrong way: {t.non_monotone}."
            if t.non_monotone else "")),
    ]
    if chart is not None:
        blocks.append(("img", Image(chart, caption)))
    blocks.append(("table", goal_seek_table(t)))
    return blocks


def brief_blocks(brief: BriefResult, charts: dict[str, Path],
                 config_path: Path | None = None) -> list[Block]:
    n = _Numbers(brief)
    c = brief.config
    up = brief.inputs.uplift.name
    blocks: list[Block] = [
        ("h1", c.title),
        ("headline", headline(brief, n)),
        *caveat_blocks(brief),
        ("p", f"Forecasts from ccsim {__version__}: {brief.reps} replications of each"
         f" option, engine {brief.engine}, seed {brief.seed}; ranges show 90% of simulated"
         " futures under the stated assumptions, not the uncertainty in those assumptions. "
         + ranges_source(brief.comparison.base.parameters)),
        ("h2", "IOPC backlogs with and without the uplift"),
        ("img", Image(charts["iopc_open"], "IOPC investigations of Met cases open at month"
                      f" end: {brief.comparison.base.scenario.name} (without) and {up}"
                      " (with the Recommendation 7 uplift).")),
        ("img", Image(charts["iopc_over_12m"], "IOPC investigations open over 12 months from"
                      " receipt (the cases MOPAC must be notified of), with and without the"
                      " uplift; dashed: the target level.")),
        ("h2", "What the uplift costs"),
        ("img", Image(charts["uplift_cost"], "Cost of the extra IOPC investigators per"
                      " financial year.")),
        ("p", f"Cost of an investigator-year: £{c.cost_per_investigator_year_gbp:,.0f}."
         f" {' '.join(c.cost_per_investigator_note.split())}"),
        ("img", Image(charts["suspended_cost"], "Pay cost of suspended officers per financial"
                      " year (officers suspended on full pay while their case is open).")),
        ("h2", "Options"),
        ("table", options_table(brief, n)),
    ]
    if brief.questions():
        blocks.append(("h2", "Goal-seek: the uplift that holds the target"))
    for number, t in enumerate(brief.questions(), start=1):
        blocks += question_blocks(brief, t, number, charts.get(f"question_{number}"))
    blocks += [
        ("h2", "Assumptions"),
        ("table", assumptions_table(brief)),
        ("h2", "The model"),
        ("p", "ccsim simulates each complaint and conduct matter from arrival through DPS"
         " assessment, referral to the IOPC, investigation by IOPC, DPS or local PSU"
         " investigators (each carrying several cases at once), CPS charging decisions and"
         " trials, to misconduct meetings and hearings, whose panels are scarce. Complaints"
         " grow with Met officer numbers. A case waits for an investigator slot first come,"
         " first served, so when demand outgrows capacity backlogs and 12-month breaches"
         " build. Published durations count finalised cases only; the model reports the"
         " cases still open too."),
        ("list", [f"{m}: {GLOSSARY[m]}" for m in dict.fromkeys((
            "iopc.open.end", "iopc.open_over_12m.end", "cost.suspended_gbp_per_year",
            *(t.target.metric for t in brief.questions()))) if m in GLOSSARY]),
        ("h2", "Appendix: STRESS-DES reporting checklist"),
        ("table", stress_des(brief)),
        ("h2", "Provenance"),
        ("pre", ("Runs, versions and inputs (JSON)",
                 json.dumps(brief_provenance(brief, config_path), indent=2, default=str))),
    ]
    return blocks


def write_brief(brief: BriefResult, out_dir: Path, config_path: Path | None = None) -> Path:
    """brief.html (self-contained), brief.md with plots/, options.csv, target_points.csv and
    brief.json, written whole: built beside `out_dir`, then renamed into place."""
    def fill(staging: Path) -> None:
        charts = write_brief_charts(brief, staging / "plots")
        blocks = brief_blocks(brief, charts, config_path)
        (staging / "brief.html").write_text(to_html(brief.config.title, blocks),
                                            encoding="utf-8")
        (staging / "brief.md").write_text(to_markdown(blocks), encoding="utf-8")
        brief.comparison.table().to_csv(staging / "options.csv", index=False,
                                        float_format="%.6g")
        record: dict[str, Any] = {"provenance": brief_provenance(brief, config_path),
                                  "headline": headline(brief, _Numbers(brief)),
                                  "caveats": brief.config.caveats,
                                  "parameters": parameters_text(
                                      brief.comparison.base.parameters),
                                  "ranges": ranges_source(brief.comparison.base.parameters)}
        if brief.questions():
            pd.DataFrame([{"question": i, "goal": t.target.kind, "metric": t.target.metric,
                           "target_value": t.target_value, **vars(p)}
                          for i, t in enumerate(brief.questions(), start=1)
                          for p in t.points]).to_csv(
                staging / "target_points.csv", index=False, float_format="%.6g")
        if brief.target:
            record["target"] = brief.target.to_dict()
        record["other_targets"] = [t.to_dict() for t in brief.other_targets]
        (staging / "brief.json").write_text(json.dumps(record, indent=2, default=str))

    return write_folder(Path(out_dir), "brief", fill)
