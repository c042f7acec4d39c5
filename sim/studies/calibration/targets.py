"""Calibration targets: published figures mapped to model statistics, with tolerances.

`calibration/targets.csv` holds one row per target: the figure (`figure_id` in
figures.csv), the model metric and its period (a fiscal year `2020/21` read from the yearly
values, or a month `2021-05` read from the month-end stock), the published value, a scale
applied to the model (e.g. 10/12 for a ten-month count), and its observation model: the
published figure is the model's expected value plus a normal error whose variance is the sum
of three parts, each relative (`rel`) or absolute (`abs`) by `sd_type`: rounding (the
figure's precision), sampling (one year's realisation of the process) and definition (the
gap between the published measure and the model's), argued in `basis` (quoted when it holds
a comma). The observation model is written before fitting and not changed after.

The file is checked whole before any simulation: a row with too many or too few fields, a
quote left open, a number that is not finite or not positive, an unknown column, metric or
period, or a target id used twice is an error naming the file, the line and the column. It
may be saved as a spreadsheet program saves it (`decode_csv`).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim.engine.metrics import GLOSSARY, MONTHLY_GLOSSARY, Measured
from sim.errors import InputError, shorten
from sim.files.reading import read_bytes, read_text
from sim.model.timeline import Timeline

COLUMNS = ("target_id", "figure_id", "metric", "period", "published", "model_scale", "kind",
           "sd_type", "rounding_sd", "sampling_sd", "definition_sd", "basis")
#: the parts of a target's error, in the order of their columns
ERROR_PARTS = ("rounding_sd", "sampling_sd", "definition_sd")
MONTH = re.compile(r"^(\d{4})-(\d{2})$")

#: the default tolerance per kind of target (the calibration issue: volumes +-5%, mean
#: durations +-10%, shares +-5 points, stocks +-20%; a count of events is a volume). A
#: target may argue a wider one from the data's own precision, saying why in `basis`; the
#: report shows the result at both.
DEFAULT_TOLERANCES = {"volume": (0.05, "rel"), "count": (0.05, "rel"),
                      "duration": (0.10, "rel"), "share": (0.05, "abs"),
                      "stock": (0.20, "rel")}


def in_units(tolerance: float, tolerance_type: str, published: float) -> float:
    """A tolerance in the published figure's units ("rel" is a fraction of the figure)."""
    return tolerance * abs(published) if tolerance_type == "rel" else tolerance


def default_tolerance(kind: str, tolerance: float, tolerance_type: str) -> tuple[float, str]:
    """The kind's default (tolerance, type); a kind with no default keeps its own."""
    return DEFAULT_TOLERANCES.get(kind, (tolerance, tolerance_type))


@dataclass(frozen=True)
class Target:
    target_id: str
    figure_id: str
    metric: str
    period: str
    published: float
    model_scale: float
    kind: str
    sd_type: str
    rounding_sd: float
    sampling_sd: float
    definition_sd: float
    basis: str

    @property
    def sd(self) -> float:
        """The observation error's standard deviation in the published figure's units."""
        parts = [getattr(self, part) for part in ERROR_PARTS]
        variance = sum(v * v for v in parts)
        return in_units(math.sqrt(variance), self.sd_type, self.published)

    @property
    def tolerance_abs(self) -> float:
        """Pass/fail band: two standard deviations of the observation error."""
        return 2 * self.sd

    @property
    def default_tolerance_abs(self) -> float:
        """The first calibration's default tolerance (DEFAULT_TOLERANCES) for the kind."""
        return in_units(*default_tolerance(self.kind, 2 * self.sd, "abs"), self.published)

    @property
    def is_month(self) -> bool:
        return bool(MONTH.match(self.period))

    def last_fiscal_year(self) -> str:
        """The fiscal year the period falls in (a month maps to its April-March year)."""
        m = MONTH.match(self.period)
        if not m:
            return self.period
        y, mo = int(m.group(1)), int(m.group(2))
        y = y if mo >= 4 else y - 1
        return f"{y}/{(y + 1) % 100:02d}"

    def values(self, measured: Measured, years: list[str], months: list[str]) -> np.ndarray:
        """The model's statistic per replication, scaled to compare with `published`."""
        if self.is_month:
            table, labels = measured.monthly, months
        else:
            table, labels = measured.yearly, years
        if self.metric not in table:
            raise InputError("no such model metric for this kind of period", field="metric",
                             value=self.metric, allowed=", ".join(sorted(table)))
        if self.period not in labels:
            raise InputError("the calibration run does not report this period",
                             field="period", value=self.period, allowed=", ".join(labels))
        return table[self.metric][:, labels.index(self.period)] * self.model_scale


MAX_TARGETS_BYTES = 2**20  # 1 MiB: the shipped file is under 10 KiB
SPREADSHEET_HELP = "save it from the spreadsheet as 'CSV UTF-8 (comma delimited)'"
#: the columns that hold numbers: (may be empty with this default, must be above zero)
NUMBERS = {"published": (None, False), "model_scale": (1.0, True),
           "rounding_sd": (0.0, False), "sampling_sd": (0.0, False),
           "definition_sd": (0.0, False)}
#: end-of-run averages have a whole-run value only, no value per fiscal year
YEARLY_METRICS = frozenset(m for m in GLOSSARY if not m.endswith(".mean_end"))
#: month-end stocks and monthly flows (`allegations` counts every allegation received)
MONTHLY_METRICS = frozenset({*MONTHLY_GLOSSARY, "allegations"})


def decode_csv(data: bytes, path: Path) -> str:
    """A CSV's text as a spreadsheet program may have saved it: UTF-8 (with or without a
    byte-order mark), UTF-16 or UTF-32 with their marks (Excel's "Unicode text"), or else
    Windows-1252 (Excel's plain "CSV" on Windows: a £ is byte A3 there)."""
    marks = ((codecs.BOM_UTF32_LE, "utf-32", "UTF-32"), (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
             (codecs.BOM_UTF8, "utf-8-sig", "UTF-8"), (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
             (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"))
    codec, name = next(((c, n) for bom, c, n in marks if data.startswith(bom)), (None, ""))
    try:
        text = data.decode(codec or "utf-8")
    except UnicodeDecodeError as exc:
        if codec:
            raise InputError(f"starts with a {name} byte-order mark but is not {name} text"
                             f" ({exc.reason} at byte {exc.start})", file=path,
                             allowed=SPREADSHEET_HELP) from None
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError as exc2:
            raise InputError(f"is neither UTF-8 nor Windows-1252 text (byte"
                             f" 0x{data[exc2.start]:02x} at byte {exc2.start})", file=path,
                             allowed=SPREADSHEET_HELP) from None
    if "\x00" in text:
        raise InputError("holds NUL bytes: not a text CSV (UTF-16 without its byte-order"
                         " mark, or a binary file)", file=path, allowed=SPREADSHEET_HELP)
    return text


#: the calibration variant: report 2019/20 to 2022/23 (S-33's stocks are May 2022); demand
#: replays the published volumes (`sim.studies.calibration.fit.replayed_demand`).
#: Defined here, beside the targets it bounds; `sim.studies.calibration.fit` runs it.
VARIANT: dict[str, Any] = {"name": "calibration", "start": "2019-04-01", "horizon_years": 4,
           "warmup_years": 3, "demand": {"elasticity": 0.0, "inexperience_extra": 0.0}}


def calibration_periods() -> tuple[list[str], list[str]]:
    """The fiscal years and months the calibration run reports (`VARIANT`): a target
    outside them is refused before any simulation."""
    start = dt.date.fromisoformat(VARIANT["start"])
    end = start.replace(year=start.year + int(VARIANT["horizon_years"]))
    timeline = Timeline(start, end, start)
    return ([label for label, _, _ in timeline.fiscal_years],
            [m.strftime("%Y-%m") for m in timeline.report_months])


def csv_rows(text: str, path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of each row that is not blank or a `#` comment, separated by
    commas (or tabs, when the header has tabs and no comma); a quote left open, or text after
    a closing quote, is an error naming the line its row starts on."""
    lines = ["\n" if line.startswith("#") else line for line in text.splitlines(True)]
    header = next((line for line in lines if line.strip()), "")
    tabs = "\t" in header and "," not in header  # Excel's "Unicode text" is tab-separated
    reader = csv.reader(lines, delimiter="\t" if tabs else ",", strict=True)
    while True:
        done = reader.line_num
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            start = next((i + 1 for i in range(done, len(lines)) if lines[i].strip()), done)
            raise InputError(f"malformed CSV in the row from line {start} ({exc})",
                             file=path, allowed="fields separated by commas; a field holding"
                             " a comma or a quote in double quotes, each quote doubled") from None
        if any(field.strip() for field in row):
            yield reader.line_num - sum(field.count("\n") for field in row), row


def load_targets(path: str | Path,
                 periods: tuple[list[str], list[str]] | None = None) -> list[Target]:
    """Read and check a targets CSV before any simulation: every problem is an InputError
    naming the file, the line and the column. `periods` (default: the calibration run's
    fiscal years and months) are the periods a target may name."""
    path = Path(path)
    text = decode_csv(read_bytes(path, what="a calibration targets CSV",
                                 max_bytes=MAX_TARGETS_BYTES), path)
    rows = csv_rows(text, path)
    header_line, header = next(rows, (0, []))
    if not header:
        raise InputError("the file is empty (no header, no targets)", file=path,
                         allowed=f"a header line: {','.join(COLUMNS)}")
    header = [h.strip() for h in header]
    _check_header(header, path, header_line)
    years, months = periods or calibration_periods()
    out: list[Target] = []
    seen: dict[str, int] = {}
    for line, fields in rows:
        where = f"{path}, line {line}"
        if len(fields) != len(header):
            raise InputError(
                f"{len(fields)} fields where the header has {len(header)}", file=where,
                value=",".join(fields), allowed="one field per column; a text field holding"
                " a comma in double quotes (\"like, this\")")
        t = _target(dict(zip(header, fields, strict=True)), where, years, months)
        if t.target_id in seen:
            raise InputError(f"duplicate target id (first on line {seen[t.target_id]})",
                             file=where, field="target_id", value=t.target_id,
                             allowed="a target id used once")
        seen[t.target_id] = line
        out.append(t)
    if not out:
        raise InputError("no targets in the file (a header only)", file=path,
                         allowed="one target per line after the header")
    return out


def _check_header(header: list[str], path: Path, line: int) -> None:
    where = f"{path}, line {line}"
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise InputError(f"the header lacks column{'s' if len(missing) > 1 else ''}"
                         f" {', '.join(missing)}", file=where, value=",".join(header),
                         allowed=", ".join(COLUMNS))
    extra = [c for c in header if c not in COLUMNS]
    twice = sorted({c for c in header if header.count(c) > 1})
    if extra or twice:
        problem = (f"unknown column {', '.join(map(repr, extra))}" if extra
                   else f"column {', '.join(twice)} given twice")
        raise InputError(problem, file=where, allowed=", ".join(COLUMNS))


def _number(row: dict[str, str], column: str, where: str) -> float:
    default, positive = NUMBERS[column]
    raw = row[column].strip()
    if not raw and default is not None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or (value <= 0 if positive else value < 0):
        raise InputError("not a usable number", file=where, field=column, value=raw,
                         allowed="a finite number " + ("above 0" if positive else ">= 0")
                         + (f" (empty: {default:g})" if default is not None else ""))
    return value


def _text(row: dict[str, str], column: str, where: str) -> str:
    value = row[column].strip()
    if not value and column != "basis":
        raise InputError("empty", file=where, field=column, allowed="text")
    return value


def _target(row: dict[str, str], where: str, years: list[str], months: list[str]) -> Target:
    """One row as a Target, every column checked."""
    text = {c: _text(row, c, where) for c in COLUMNS if c not in NUMBERS}
    numbers = {c: _number(row, c, where) for c in NUMBERS}
    if text["sd_type"] not in ("rel", "abs"):
        raise InputError("unknown error type", file=where, field="sd_type",
                         value=text["sd_type"], allowed="rel or abs")
    if text["sd_type"] == "rel" and numbers["published"] == 0:
        raise InputError("a relative error of a published 0 is no error", file=where,
                         field="published", value=row["published"],
                         allowed="sd_type abs for a published 0")
    if not any(numbers[c] for c in ERROR_PARTS):
        raise InputError("no observation error (every part is 0): the figure could never be"
                         " matched by a stochastic model", file=where, field="sampling_sd",
                         value=row["sampling_sd"], allowed="at least one part above 0")
    period = text["period"]
    labels = months if MONTH.match(period) else years
    if period not in labels:
        raise InputError("not a period the calibration run reports", file=where,
                         field="period", value=period,
                         allowed=f"a fiscal year {years[0]} to {years[-1]} (YYYY/YY) or a"
                                 f" month {months[0]} to {months[-1]} (YYYY-MM)")
    known = MONTHLY_METRICS if labels is months else YEARLY_METRICS
    if text["metric"] not in known:
        kind = "monthly" if labels is months else "yearly"
        head = text["metric"].split(".")[0]
        close = sorted(m for m in known if m.startswith(head + ".")) or sorted(known)
        raise InputError(f"not a {kind} model metric (the period {period} is a"
                         f" {'month' if kind == 'monthly' else 'fiscal year'})", file=where,
                         field="metric", value=text["metric"],
                         allowed=shorten(", ".join(close), 400))
    return Target(text["target_id"], text["figure_id"], text["metric"], period,
                  numbers["published"], numbers["model_scale"], text["kind"],
                  text["sd_type"], numbers["rounding_sd"], numbers["sampling_sd"],
                  numbers["definition_sd"], text["basis"])


def figure_ids(figures_csv: Path) -> set[str]:
    text = read_text(figures_csv, what="a figures CSV")
    return {row["id"] for row in csv.DictReader(io.StringIO(text, newline=""))}


def target_figure_ids(target: Target) -> list[str]:
    """The figure ids a target cites (`S-02+S-04` cites two)."""
    return [part.strip() for part in target.figure_id.split("+")]


__all__ = ["Target", "figure_ids", "load_targets", "target_figure_ids"]
