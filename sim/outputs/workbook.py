"""The Excel workbook of a run, a comparison and a sweep: the numbers of the CSV files as
plain tables a planner can filter, with plain labels, units and number formats.

Planners work in Excel. Every sheet is one table: a bold header row (frozen, with the label
column), an autofilter, columns wide enough to read, and each number formatted by its
metric's unit (`sim.outputs.labels`): "£#,##0" for £ a year, "0.0%" for shares, "#,##0" for
cases, "#,##0.0" otherwise. The cells hold the full values (the CSV files round to six
significant figures); the metric's dotted name stays in a column (or, where metrics are
columns, in each header's note) so a formula can look a row up.

The workbook is written without wall-clock times: its created and modified properties and
the time of every part of the file are the run's `finished` time (a fixed date for a sweep),
so the same result always gives the same file, byte for byte.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import math
import numbers
import zipfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, WriteOnlyCell  # type: ignore[import-untyped]
from openpyxl.comments import Comment  # type: ignore[import-untyped]
from openpyxl.styles import Alignment, Font, PatternFill  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]
from openpyxl.writer.excel import ExcelWriter  # type: ignore[import-untyped]

from sim.engine.run import RunResult
from sim.model.fields import leaves
from sim.outputs.labels import label
from sim.studies.compare import Comparison
from sim.studies.sweep.design import Sweep
from sim.version import __version__

WORKBOOK = "workbook.xlsx"
#: number formats by unit; any other unit gets OTHER
UNIT_FORMATS = {"£ a year": "£#,##0", "share": "0.0%", "cases": "#,##0",
                "cases a year": "#,##0"}
OTHER = "#,##0.0"
COUNT = "#,##0"  # replications, point numbers
INDEX = "0.00"  # Sobol indices: shares of the variance
#: the time a sweep's workbook carries (a sweep's analysis has no time of its own)
SWEEP_TIME = dt.datetime(2000, 1, 1)

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDE4EE")
_HEADER_ALIGN = Alignment(wrap_text=True, vertical="top")
_MAX_WIDTH = 60
_HEADER_WIDTH = 28  # a longer header wraps rather than widen its column
_WIDTH_SAMPLE = 2000  # rows read to size the columns of a long table
_MAX_TEXT = 32767  # Excel's limit on the characters of a cell

#: a column's number format: none (text or General), one format, or one chosen per row
Format = str | None | Callable[[Sequence[Any]], str | None]


def unit_format(unit: str) -> str:
    """The number format of a value in `unit`."""
    return UNIT_FORMATS.get(unit, OTHER)


# -- the three workbooks -------------------------------------------------------------------

def run_workbook(result: RunResult, manifest: dict[str, Any], summary: pd.DataFrame,
                 yearly: pd.DataFrame, series: pd.DataFrame) -> Workbook:
    """Summary, By year, By month, Scenario and Provenance of one run (the tables given are
    those its CSV files hold)."""
    book = Workbook(write_only=True)
    rows = [[*_named(str(r.metric)), r.mean, r.p05, r.p95, r.p50, r.mc_se, r.reps]
            for r in summary.itertuples(index=False)]
    _table(book, "Summary",
           ["Measure", "Metric", "Unit", "Mean", "5th percentile", "95th percentile",
            "Median", "Monte Carlo s.e.", "Replications"],
           rows, [None] * 3 + [_by_unit(2)] * 5 + [COUNT])

    years = list(dict.fromkeys(yearly.year))
    means = yearly.pivot(index="metric", columns="year", values="mean")
    rows = [[*_named(m), *means.loc[m, years]] for m in dict.fromkeys(yearly.metric)]
    _table(book, "By year", ["Measure", "Metric", "Unit", *years], rows,
           [None] * 3 + [_by_unit(2)] * len(years))

    present = set(series.metric.unique())  # once: the long table has a row per replication
    order = [m for m in result.measured.monthly if m in present]
    monthly = series.groupby(["month", "metric"])["value"].mean().unstack("metric")
    monthly = monthly.sort_index()[order]
    _table(book, "By month", ["Month", *(label(m).text for m in order)],
           [[month, *values] for month, values in zip(monthly.index, monthly.to_numpy(),
                                                       strict=True)],
           [None] + [unit_format(label(m).unit) for m in order],
           notes={1 + i: _note(m) for i, m in enumerate(order)})

    _key_values(book, "Scenario", "Field", _flatten(manifest.get("scenario", {})))
    _key_values(book, "Provenance", "Key",
                _flatten({k: v for k, v in manifest.items() if k != "scenario"}))
    return book


def comparison_workbook(comparison: Comparison, table: pd.DataFrame,
                        manifest: dict[str, Any]) -> Workbook:
    """Differences (comparison.csv with labels and units), By year (each option's yearly mean
    beside the base's and the paired difference), Scenarios and Provenance."""
    book = Workbook(write_only=True)
    rows = [[r.scenario, *_named(str(r.metric)), r.period, r.base_mean, r.alt_mean, r.diff_mean,
             r.diff_low, r.diff_high, r.diff_pct, bool(r.distinguishable), r.reps]
            for r in table.itertuples(index=False)]
    _table(book, "Differences",
           ["Option", "Measure", "Metric", "Unit", "Period", "Base mean", "Option mean",
            "Difference (option − base)", "Difference: 95% low", "Difference: 95% high",
            "Difference (% of base)", "Distinguishable", "Replications"],
           rows, [None] * 5 + [_by_unit(3)] * 5 + [OTHER, None, COUNT], freeze="C2")

    # the table holds one block of rows per option, in order (two may share a name)
    option = np.arange(len(table)) // max(len(table) // max(len(comparison.alternatives), 1), 1)
    by_year = table.assign(option=option)[table.period != "all"]
    if len(by_year):
        years = list(dict.fromkeys(by_year.period))
        cells = {(k, metric, year): (base, alt, diff) for k, metric, year, base, alt, diff
                 in zip(by_year.option, by_year.metric, by_year.period, by_year.base_mean,
                        by_year.alt_mean, by_year.diff_mean, strict=True)}
        rows = []
        for k, metric in dict.fromkeys((k, m) for k, m, _ in cells):
            row: list[Any] = [comparison.alternatives[k].scenario.name, *_named(metric)]
            for year in years:
                row += cells.get((k, metric, year), (None, None, None))
            rows.append(row)
        headers = [f"{year} {what}" for year in years
                   for what in ("base", "option", "difference")]
        _table(book, "By year", ["Option", "Measure", "Metric", "Unit", *headers], rows,
               [None] * 4 + [_by_unit(3)] * len(headers), freeze="C2")

    runs = [("base", comparison.base)] + [("option", alt) for alt in comparison.alternatives]
    _table(book, "Scenarios", ["Role", "Scenario", "Scenario hash"],
           [[role, run.scenario.name, run.scenario.digest()] for role, run in runs],
           [None] * 3)
    identity = {"kind": manifest.get("kind"),
                "base": _without_scenario(manifest.get("base", {})),
                "alternatives": [_without_scenario(a) for a in manifest.get("alternatives", [])],
                "provenance": manifest.get("provenance", {})}
    _key_values(book, "Provenance", "Key", _flatten(identity))
    return book


def sweep_workbook(sweep: Sweep, wide: pd.DataFrame, indices: pd.DataFrame | None,
                   record: dict[str, Any]) -> Workbook:
    """Points (summary.csv: one row per point), Sensitivity (sensitivity.csv, for a design
    with indices) and Provenance (what manifest.json holds)."""
    book = Workbook(write_only=True)
    params = list(sweep.parameters)
    metrics = [c for c in wide.columns if c != "point" and c not in params]
    _table(book, "Points", ["Point", *params, *(label(m).text for m in metrics)],
           wide[["point", *params, *metrics]].itertuples(index=False, name=None),
           [COUNT] + [None] * len(params) + [unit_format(label(m).unit) for m in metrics],
           freeze=f"{get_column_letter(2 + len(params))}2",
           notes={1 + len(params) + i: _note(m) for i, m in enumerate(metrics)})
    if indices is not None:
        rows = [[label(str(r.metric)).text, r.metric, r.parameter, r.index, r.value, r.conf95]
                for r in indices.itertuples(index=False)]

        def index_format(row: Sequence[Any]) -> str:
            # Sobol indices are shares of the variance; Morris mu* and sigma are in the
            # metric's own units
            return INDEX if row[3] in ("S1", "ST") else unit_format(label(row[1]).unit)

        _table(book, "Sensitivity", ["Measure", "Metric", "Parameter", "Index", "Value",
                                     "95% interval (±)"],
               rows, [None] * 4 + [index_format] * 2)
    _key_values(book, "Provenance", "Key", _flatten(record))
    return book


def save_workbook(book: Workbook, path: Path, when: dt.datetime) -> None:
    """Write `book` to `path` stamped with `when` (its properties and every part's time), so
    the same cells always make the same file."""
    when = _naive_utc(when)
    book.properties.creator = f"ccsim {__version__}"
    book.properties.created = book.properties.modified = when
    built = io.BytesIO()
    with zipfile.ZipFile(built, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(book, archive).write_data()  # not book.save: that stamps the time now
    stamp = max(when, dt.datetime(1980, 1, 1)).timetuple()[:6]
    with zipfile.ZipFile(built) as parts, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in parts.infolist():
            part = zipfile.ZipInfo(info.filename, date_time=stamp)
            part.compress_type = zipfile.ZIP_DEFLATED
            part.external_attr = info.external_attr
            out.writestr(part, parts.read(info))


def finished_time(*runs: RunResult) -> dt.datetime:
    """The time the last of `runs` finished: the time a workbook of them carries."""
    return max(_naive_utc(dt.datetime.fromisoformat(run.finished)) for run in runs)


# -- sheets --------------------------------------------------------------------------------

def _table(book: Workbook, title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]],
           formats: Sequence[Format], freeze: str = "B2",
           notes: dict[int, str] | None = None) -> None:
    """One sheet holding one table: bold frozen header, autofilter, widths, number formats.
    `notes` puts a note on the header of column i (0-based), e.g. the metric's name. The
    rows are streamed (a sweep's can be many): the widths come from the first ones."""
    ws = book.create_sheet(title)
    cleaned = ([_value(v) for v in row] for row in rows)
    first = list(itertools.islice(cleaned, _WIDTH_SAMPLE))
    widths = _widths(headers, first)
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    lines = max((math.ceil(len(h) / max(w - 2, 1)) for h, w in zip(headers, widths,
                                                                     strict=True)), default=1)
    if lines > 1:
        ws.row_dimensions[1].height = 15 * lines
    ws.freeze_panes = freeze
    header = []
    for i, text in enumerate(headers):
        cell = _cell(ws, text)
        cell.font, cell.fill, cell.alignment = _HEADER_FONT, _HEADER_FILL, _HEADER_ALIGN
        if notes and i in notes:
            cell.comment = Comment(notes[i], "ccsim", width=300, height=60)
        header.append(cell)
    ws.append(header)
    count = 0
    for row in itertools.chain(first, cleaned):
        cells = []
        for value, fmt in zip(row, formats, strict=True):
            cell = _cell(ws, value)
            chosen = fmt(row) if callable(fmt) else fmt
            if chosen and isinstance(value, int | float) and not isinstance(value, bool):
                cell.number_format = chosen
            cells.append(cell)
        ws.append(cells)
        count += 1
    ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{count + 1}"  # written last


def _key_values(book: Workbook, title: str, key: str, pairs: Iterable[tuple[str, Any]]) -> None:
    _table(book, title, [key, "Value"], pairs, [None, None])


def _cell(ws: Any, value: Any) -> Any:
    """A cell holding `value`; text is always text (never a formula or an error code)."""
    cell = WriteOnlyCell(ws, value)
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


def _value(v: Any) -> Any:
    """A value Excel holds: numbers as numbers (a missing one, NaN, as an empty cell), text
    cleaned of characters a workbook cannot hold, anything else as its text."""
    if isinstance(v, np.bool_):
        return bool(v)
    if v is None or isinstance(v, bool | str):
        return _text(v) if isinstance(v, str) else v
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Real):
        x = float(v)
        return x if math.isfinite(x) else None
    if isinstance(v, dt.date | dt.datetime):
        return v.isoformat()
    return _text(str(v))


def _text(s: str) -> str:
    return ILLEGAL_CHARACTERS_RE.sub("", s)[:_MAX_TEXT]


def _widths(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[float]:
    """Each column as wide as its values (a sample of a long table) and at most a short
    header's width; a longer header wraps."""
    widths = [min(len(h), _HEADER_WIDTH) for h in headers]
    for row in rows[:_WIDTH_SAMPLE]:
        for i, v in enumerate(row):
            widths[i] = max(widths[i], _shown_length(v))
    return [min(w + 2, _MAX_WIDTH) for w in widths]


def _shown_length(v: Any) -> int:
    if v is None:
        return 0
    if isinstance(v, bool):
        return 5
    if isinstance(v, numbers.Real):
        return len(f"{v:,.1f}") + 1
    return len(str(v))


def _by_unit(column: int) -> Callable[[Sequence[Any]], str]:
    """The format of a row's numbers, chosen by the unit in its `column`."""
    return lambda row: unit_format(row[column])


def _named(metric: str) -> list[str]:
    """Measure (the plain label), metric (the dotted name) and unit."""
    lab = label(metric)
    return [lab.text, metric, lab.unit]


def _note(metric: str) -> str:
    return f"{metric} ({label(metric).unit})"


def _without_scenario(run: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in run.items() if k != "scenario"}


def _flatten(value: Any) -> list[tuple[str, Any]]:
    """(dotted path, value) for every leaf (`sim.model.fields.leaves`: list items by index,
    `pools.iopc.staff.0.value`); an empty mapping or list is written as `{}` or `[]`."""
    return [(path, ("{}" if isinstance(leaf, dict) else "[]")
             if isinstance(leaf, dict | list) else leaf)
            for path, leaf in leaves(value).items() if path]


def _naive_utc(when: dt.datetime) -> dt.datetime:
    """A workbook's times are UTC without a zone."""
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC).replace(tzinfo=None)
    return when.replace(microsecond=0)


__all__ = ["SWEEP_TIME", "UNIT_FORMATS", "WORKBOOK", "comparison_workbook", "finished_time",
           "run_workbook", "save_workbook", "sweep_workbook", "unit_format"]
