"""A run's report: one self-contained HTML page a planner can email (charts inlined)."""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from sim.engine.metrics import HEADLINE
from sim.files.writing import write_text_atomic

STYLE = (
    "body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222;line-height:1.4}"
    "table{border-collapse:collapse;font-size:13px;margin:1em 0}"
    "td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}"
    "td:first-child,th:first-child{text-align:left}.sig{font-weight:bold;color:#8b0000}"
    "td.note{text-align:left;color:#555;font-size:12px}th.note{text-align:left}"
    "img{max-width:100%}details{margin:1em 0}pre{background:#f5f5f5;padding:1em;"
    "overflow-x:auto;font-size:12px}"
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


def _metric_rows(summary: pd.DataFrame, glossary: Mapping[str, str],
                 metrics: Iterable[str] | None = None) -> list[str]:
    rows = summary.set_index("metric")
    names = [m for m in (metrics or rows.index) if m in rows.index]
    cells = ([html.escape(m), fmt(r["mean"]), f"{fmt(r.p05)} to {fmt(r.p95)}", fmt(r.p50),
              fmt(r.get("mc_se")), html.escape(glossary.get(m, ""))]
             for m, r in zip(names, (rows.loc[m] for m in names), strict=True))
    header = ["metric", "mean", "90% of replications", "median", "Monte Carlo s.e.", "meaning"]
    return [html_table(header, cells, notes={5})]


def _yearly_rows(yearly: pd.DataFrame) -> list[str]:
    """Headline metrics by financial year, as the IOPC and the Met publish them."""
    shown = yearly[yearly.metric.isin(HEADLINE)]
    if shown.empty:
        return []
    years = list(dict.fromkeys(shown.year))
    out = ["<table><tr><th>metric</th>" + "".join(f"<th>{html.escape(y)}</th>" for y in years)
           + "</tr>"]
    for m in HEADLINE:
        cells = []
        for y in years:
            r = shown[(shown.metric == m) & (shown.year == y)]
            cells.append("<td>–</td>" if r.empty else
                         f"<td title='90%: {fmt(r.p05.iloc[0])} to {fmt(r.p95.iloc[0])}'>"
                         f"{fmt(r['mean'].iloc[0])}</td>")
        if any(c != "<td>–</td>" for c in cells):
            out.append(f"<tr><td>{html.escape(m)}</td>{''.join(cells)}</tr>")
    out.append("</table>")
    return out


def render_report(manifest: Mapping, summary: pd.DataFrame, yearly: pd.DataFrame,
                  plots: Iterable[Path], glossary: Mapping[str, str]) -> str:
    """The page: provenance first, then headline figures, years, charts, every metric."""
    esc = html.escape
    scenario = manifest.get("scenario", {})
    name = manifest.get("scenario_name", "scenario")
    body = [
        f"<h1>ccsim forecast: {esc(name)}</h1>",
        f"<p>{esc(str(scenario.get('description', '')))}</p>",
        "<p>" + ", ".join([
            f"{manifest.get('reps')} replications", f"seed {manifest.get('seed')}",
            f"engine {esc(str(manifest.get('engine')))}",
            f"ccsim {esc(str(manifest.get('version')))}",
            f"scenario hash {esc(str(manifest.get('scenario_hash')))}",
            f"run {esc(str(manifest.get('started')))} to {esc(str(manifest.get('finished')))}",
        ]) + ". The same scenario and seed give the same numbers.</p>",
        "<h2>Headline figures (whole reported period)</h2>",
        "<p>Means across replications, with the range that holds 90% of them: the"
        " uncertainty that comes from chance in arrivals and case lengths under this"
        " scenario's assumptions. Stocks are at the end of the period.</p>",
        *_metric_rows(summary, glossary, HEADLINE),
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
