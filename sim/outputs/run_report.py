"""A run's report: one self-contained HTML page a planner can email (charts inlined)."""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from sim.engine.metrics import HEADLINE
from sim.engine.run import OWN_PARAMETERS, parameters_drawn
from sim.files.writing import write_text_atomic
from sim.outputs.labels import BODIES, Label, label

STYLE = (
    "body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222;line-height:1.4}"
    "table{border-collapse:collapse;font-size:13px;margin:1em 0}"
    "td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}"
    "td:first-child,th:first-child{text-align:left}.sig{font-weight:bold;color:#8b0000}"
    "td.note{text-align:left;color:#555;font-size:12px}th.note{text-align:left}"
    "img{max-width:100%}details{margin:1em 0}pre{background:#f5f5f5;padding:1em;"
    "overflow-x:auto;font-size:12px}"
    "p.subtitle{color:#555;margin-top:-0.5em}p.lead{font-size:1.1em}"
)


def page(title: str, body: Iterable[str]) -> str:
    """Wrap body fragments in the shared page skeleton (title, style, no external assets)."""
    head = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{STYLE}</style></head><body>")
    return "\n".join([head, *body, "</body></html>"])


def image(path: Path) -> str:
    """An <img> with the PNG inlined, so the page stands alone."""
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return (f"<p><img alt='{html.escape(Path(path).stem)}' "
            f"src='data:image/png;base64,{data}'></p>")


def fmt(x: Any) -> str:
    """Three significant figures, thousands separated; a dash where there is no value."""
    if x is None or pd.isna(x):
        return "–"
    return f"{x:,.3g}" if abs(x) < 1000 else f"{x:,.0f}"


def html_table(header: Sequence[str], rows: Iterable[Sequence[str]],
               notes: Collection[int] = (), caption: str = "") -> str:
    """An HTML table in the shared style. Header text is escaped here; cells are HTML
    already (callers escape their text). `notes` are the prose columns (left-aligned)."""
    def cls(i: int) -> str:
        return " class='note'" if i in notes else ""

    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    head = "".join(f"<th{cls(i)}>{html.escape(h)}</th>" for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(f"<td{cls(i)}>{c}</td>" for i, c in enumerate(r)) + "</tr>"
                   for r in rows)
    return f"<table>{cap}<tr>{head}</tr>{body}</table>"


def shown_text(lab: Label) -> str:
    """A label as a row reads it: a cost a year says so, since its value shows only the £."""
    if lab.unit.endswith(" a year") and "a year" not in lab.text:
        return f"{lab.text} (a year)"
    return lab.text


def bare(text: str) -> str:
    """A written value without its unit words ("151 working days" -> "151"), for the ends
    of a range printed beside a value that names the unit."""
    return text.split(" ", 1)[0]


def value_range(lab: Label, low: Any, high: Any) -> str:
    """A range in the metric's units: "120 to 180", "82% to 90%", "£2,229,000 to £3,023,000"."""
    return f"{bare(lab.value(low))} to {bare(lab.value(high))}"


def headline_rows(summary: pd.DataFrame,
                  metrics: Iterable[str] = HEADLINE) -> list[tuple[str, str, str, str]]:
    """The headline figures as a planner reads them, the same in the terminal and the
    report: (metric, plain label, mean, 90% range across replications)."""
    rows = _by_metric(summary)
    out = []
    for m in (m for m in metrics if m in rows):
        lab, r = label(m), rows[m]
        out.append((m, shown_text(lab), lab.value(r["mean"]), value_range(lab, r["p05"],
                                                                          r["p95"])))
    return out


def _by_metric(summary: pd.DataFrame) -> dict[str, dict[str, float]]:
    """A summary table's mean and 90% range per metric."""
    table = summary.set_index("metric")[["mean", "p05", "p95"]].astype(float)
    return {str(m): {str(k): float(v) for k, v in r.items()} for m, r in table.iterrows()}


def reported_period(scenario: Mapping) -> tuple[str, str, int]:
    """The first and last month reported ("April 2021", "March 2026") and the years."""
    start = dt.date.fromisoformat(str(scenario["start"]))
    years = int(scenario["horizon_years"])
    last = start.replace(year=start.year + years) - dt.timedelta(days=1)
    return f"{start:%B %Y}", f"{last:%B %Y}", years


def parameters_text(parameters: str | None) -> str:
    """How a run's fitted parameters were set, as every report and terminal line says it:
    "parameters drawn from the calibration posterior (...), one draw per N replications" or
    "parameters fixed at the calibrated values (--fixed-parameters)"."""
    return f"parameters {parameters or OWN_PARAMETERS}"


def ranges_source(parameters: str | None) -> str:
    """Where a run's ranges come from: chance and what we do not know about the fitted
    parameters when they were drawn (the command line's default); chance alone when they
    were fixed at the scenario's own values."""
    if parameters is not None and parameters_drawn(parameters):
        return ("The ranges include chance and what we do not know about the fitted"
                f" parameters: {parameters_text(parameters)}.")
    return ("The ranges come from chance alone (which cases arrive and how long each"
            f" takes), with {parameters_text(parameters)}: the fitted parameters are held"
            " at the scenario's own values, so the ranges leave out what we do not know"
            " about them.")


def opening_sentences(manifest: Mapping, summary: pd.DataFrame) -> list[str]:
    """What this run says, in two or three sentences built from its numbers: the period and
    replications, the investigations open over 12 months at the end, the time to finalise,
    and suspended officers with their cost."""
    rows = _by_metric(summary)

    def said(metric: str) -> tuple[str, str] | None:
        if metric not in rows:
            return None
        lab, r = label(metric), rows[metric]
        return lab.value(r["mean"]), value_range(lab, r["p05"], r["p95"])

    first, last, years = reported_period(manifest.get("scenario", {}))
    reps = int(manifest["reps"])
    out = [f"This run forecasts the {manifest.get('scenario_name', 'scenario')} scenario over"
           f" {years} year{'' if years == 1 else 's'}, {first} to {last}, from {reps:,}"
           f" replication{'' if reps == 1 else 's'}."]
    over = [(BODIES[p], v) for p in ("iopc", "psu") if (v := said(f"{p}.open_over_12m.end"))]
    if over:
        out.append(f"At the end of {last} it expects on average "
                   + " and ".join(f"{v} {body} investigations (90% range {r})"
                                  for body, (v, r) in over)
                   + " to be open more than 12 months after their case was received.")
    clauses = []
    if finalise := said("met.duration_wd.mean"):
        clauses.append(f"{BODIES['met']} cases take {finalise[0]} on average to finalise"
                       f" (90% range {finalise[1]})")
    if suspended := said("officers.suspended.mean"):
        clause = f"an average of {suspended[0]} officers are suspended (90% range {suspended[1]})"
        if cost := said("cost.suspended_gbp_per_year"):
            clause += f", at a pay cost of {cost[0]} a year (90% range {cost[1]})"
        clauses.append(clause)
    if clauses:
        text = "; ".join(clauses)
        out.append(text[0].upper() + text[1:] + ".")
    return out


def _headline_table(summary: pd.DataFrame, glossary: Mapping[str, str]) -> str:
    esc = html.escape
    cells = ([esc(text), esc(mean), esc(rng), esc(glossary.get(m, ""))]
             for m, text, mean, rng in headline_rows(summary))
    return html_table(["", "mean", "90% of replications", "what it counts"], cells, notes={3})


def _metric_rows(summary: pd.DataFrame, glossary: Mapping[str, str]) -> list[str]:
    """Every metric: its plain label and the name it has in summary.csv."""
    esc = html.escape
    cells = []
    for m, r in summary.set_index("metric").iterrows():
        lab = label(str(m))
        cells.append([esc(shown_text(lab)), esc(str(m)), esc(lab.value(r["mean"])),
                      esc(value_range(lab, r.p05, r.p95)), esc(lab.value(r.p50)),
                      fmt(r.get("mc_se")), esc(glossary.get(str(m), ""))])
    header = ["", "metric (summary.csv)", "mean", "90% of replications", "median",
              "Monte Carlo s.e.", "meaning"]
    return [html_table(header, cells, notes={1, 6})]


def _yearly_rows(yearly: pd.DataFrame) -> list[str]:
    """Headline metrics by financial year, as the IOPC and the Met publish them."""
    shown = yearly[yearly.metric.isin(HEADLINE)]
    if shown.empty:
        return []
    esc = html.escape
    years = list(dict.fromkeys(shown.year))
    out = ["<table><tr><th></th>" + "".join(f"<th>{esc(y)}</th>" for y in years) + "</tr>"]
    for m in HEADLINE:
        lab, cells = label(m), []
        for y in years:
            r = shown[(shown.metric == m) & (shown.year == y)]
            cells.append("<td>–</td>" if r.empty else
                         f"<td title='90%: {esc(value_range(lab, r.p05.iloc[0], r.p95.iloc[0]))}'>"
                         f"{esc(lab.value(r['mean'].iloc[0]))}</td>")
        if any(c != "<td>–</td>" for c in cells):
            out.append(f"<tr><td>{esc(shown_text(lab))}</td>{''.join(cells)}</tr>")
    out.append("</table>")
    return out


def render_report(manifest: Mapping, summary: pd.DataFrame, yearly: pd.DataFrame,
                  plots: Iterable[Path], glossary: Mapping[str, str]) -> str:
    """The page: what the run says (sentences from its numbers, and where its ranges come
    from), the headline figures, then provenance, years, charts and every metric."""
    esc = html.escape
    scenario = manifest.get("scenario", {})
    name = manifest.get("scenario_name", "scenario")
    first, last, _ = reported_period(scenario)
    source = ranges_source(manifest.get("parameters"))
    body = [
        f"<h1>ccsim forecast: {esc(name)}</h1>",
        f"<p class='subtitle'>{manifest.get('reps'):,} replications, {esc(first)} to"
        f" {esc(last)}. {esc(source)}</p>",
        "<p class='lead'>" + esc(" ".join(opening_sentences(manifest, summary))) + "</p>",
        "<h2>Headline figures (whole reported period)</h2>",
        "<p>Means across replications, with the range that holds 90% of them. Investigations"
        f" open and cases awaiting a hearing are counted at the end of {esc(last)}; the other"
        " figures cover the whole period.</p>",
        _headline_table(summary, glossary),
        "<h2>About this run</h2>",
        f"<p>{esc(str(scenario.get('description', '')))}</p>",
        "<p>" + ", ".join([
            f"{manifest.get('reps')} replications", f"seed {manifest.get('seed')}",
            f"engine {esc(str(manifest.get('engine')))}",
            f"ccsim {esc(str(manifest.get('version')))}",
            f"scenario hash {esc(str(manifest.get('scenario_hash')))}",
            esc(parameters_text(manifest.get("parameters"))),
            f"run {esc(str(manifest.get('started')))} to {esc(str(manifest.get('finished')))}",
        ]) + ". The same scenario and seed give the same numbers.</p>",
        "<h2>By financial year (April to March)</h2>",
        "<p>Flows within the year, stocks at 31 March, averages over the year; hover a cell"
        " for its 90% range.</p>",
        *_yearly_rows(yearly),
        "<h2>Month by month</h2>",
        *(image(p) for p in plots),
        "<h2>Every metric</h2>",
        *_metric_rows(summary, glossary),
        "<details><summary>Scenario as run (with defaults)</summary><pre>"
        + esc(json.dumps(scenario, indent=2, default=str)) + "</pre></details>",
    ]
    return page(f"ccsim forecast: {name}", body)


def write_report(path: Path, text: str) -> None:
    write_text_atomic(Path(path), text)
