"""Demand from a CSV of monthly counts, read where the scenario file names it.

A stream's `cases_per_month` may name a CSV instead of listing dated steps:

    demand:
      complaints:
        cases_per_month: {csv: demand.csv}                 # its `complaints` column
      conduct:
        cases_per_month: {csv: demand.csv, column: conduct_matters}

The file (relative to the scenario file that names it) has a `month` column (`YYYY-MM`) and
a column of cases received in each month (the stream's name unless `column` says another).
Each row becomes a dated step from the first of its month, at the rate that gives exactly
that month's count on average (a 28-day month's count is a higher rate than a 31-day
month's). The resolved scenario holds the steps, so a run's manifest, its hash and
`ccsim run` on a downloaded scenario carry the numbers, not the file's name. A month the
file skips keeps the rate of the row before it; before the first row the first holds.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import io
import math
import re
from pathlib import Path
from typing import Any

from sim.errors import InputError
from sim.files.reading import read_text
from sim.model.bounds import FIRST_YEAR, LAST_YEAR, MAX_CASES_PER_MONTH, MAX_STEPS, STREAMS
from sim.model.timeline import DAYS_PER_YEAR

DAYS_PER_MONTH = DAYS_PER_YEAR / 12  # an average month, the unit of `cases_per_month`
MONTH = re.compile(r"^(\d{4})-(\d{2})$")
FORMAT = "a CSV with a month column (YYYY-MM) and a column of cases received in each month"


def expand_demand_files(data: dict[str, Any], scenario_path: Path) -> dict[str, Any]:
    """`data` (one scenario file's mapping) with each `cases_per_month: {csv: ...}` read and
    replaced by dated steps; anything else is left for the scenario's validation."""
    demand = data.get("demand")
    if not isinstance(demand, dict):
        return data
    for stream in STREAMS:
        spec = demand.get(stream, {}).get("cases_per_month") if isinstance(
            demand.get(stream), dict) else None
        if isinstance(spec, dict):
            demand[stream]["cases_per_month"] = steps_from_csv(
                spec, stream, scenario_path)
    return data


def steps_from_csv(spec: dict[str, Any], stream: str, scenario_path: Path) -> list[dict]:
    """The dated steps a `{csv: FILE, column: NAME}` mapping stands for."""
    field = f"demand.{stream}.cases_per_month"
    unknown = set(spec) - {"csv", "column"}  # keys of any type (a mapping typed by hand)
    if unknown or not isinstance(spec.get("csv"), str) or not spec["csv"].strip():
        raise InputError("a CSV of monthly counts is named as {csv: FILE} or"
                         " {csv: FILE, column: NAME}", file=scenario_path, field=field,
                         value=spec, allowed="dated steps, or {csv: FILE, column: NAME}")
    column = spec.get("column", stream)
    if not isinstance(column, str) or not column.strip():
        raise InputError("column must name a column of the CSV", file=scenario_path,
                         field=f"{field}.column", value=column, allowed="a column name")
    try:
        path = (scenario_path.parent / spec["csv"]).resolve()
    except (OSError, ValueError, RuntimeError) as exc:
        raise InputError(f"csv does not name a usable path ({exc})", file=scenario_path,
                         field=f"{field}.csv", value=spec["csv"],
                         allowed="a path relative to the scenario file") from None
    try:
        text = read_text(path, what=FORMAT)
    except InputError as exc:  # say which scenario field named it
        raise InputError(f"{exc.problem} (the CSV of {field} in {scenario_path.name})",
                         file=path, allowed=exc.allowed) from None
    rows = _rows(text, path, column)
    return [{"from": month.isoformat(), "value": count * DAYS_PER_MONTH
             / calendar.monthrange(month.year, month.month)[1]}
            for month, count in rows]


def _rows(text: str, path: Path, column: str) -> list[tuple[dt.date, float]]:
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    for name in ("month", column):
        if name not in header:
            raise InputError(f"no column '{name}'", file=path, field="header",
                             value=",".join(header)[:200], allowed=FORMAT)
    rows: list[tuple[dt.date, float]] = []
    for number, row in enumerate(reader, start=2):  # line 1 is the header
        if len(rows) >= MAX_STEPS:
            raise InputError(f"more than {MAX_STEPS} months", file=path,
                             allowed=f"at most {MAX_STEPS} rows, one a month")
        month, count = _month(row.get("month"), path, number), _count(
            row.get(column), path, number, column)
        if rows and month <= rows[-1][0]:
            raise InputError("months must be in increasing order, each once", file=path,
                             field=f"line {number}, month", value=row.get("month"),
                             allowed=f"a month after {rows[-1][0]:%Y-%m}")
        rows.append((month, count))
    if not rows:
        raise InputError("no months", file=path, allowed=FORMAT)
    return rows


def _month(text: Any, path: Path, line: int) -> dt.date:
    match = MONTH.match(str(text or "").strip())
    if (not match or not 1 <= int(match[2]) <= 12
            or not FIRST_YEAR <= int(match[1]) <= LAST_YEAR):
        raise InputError("not a month", file=path, field=f"line {line}, month", value=text,
                         allowed=f"YYYY-MM, a month from {FIRST_YEAR} to {LAST_YEAR}")
    return dt.date(int(match[1]), int(match[2]), 1)


def _count(text: Any, path: Path, line: int, column: str) -> float:
    try:
        value = float(str(text).strip())
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0 <= value <= MAX_CASES_PER_MONTH:
        raise InputError("not a count of cases", file=path, field=f"line {line}, {column}",
                         value=text, allowed=f"a number from 0 to {MAX_CASES_PER_MONTH:.0e}")
    return value


__all__ = ["expand_demand_files", "steps_from_csv"]
