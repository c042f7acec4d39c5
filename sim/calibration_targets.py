"""Calibration targets: published figures mapped to model statistics, with tolerances.

`calibration/targets.csv` holds one row per target: the figure (`figure_id` in
figures.csv), the model metric and its period (a fiscal year `2020/21` read from the yearly
values, or a month `2021-05` read from the month-end stock), the published value, a scale
applied to the model (e.g. 10/12 for a ten-month count), and a tolerance, relative (`rel`)
or absolute (`abs`), with its basis.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.errors import InputError
from sim.metrics import Measured

COLUMNS = ("target_id", "figure_id", "metric", "period", "published", "model_scale", "kind",
           "tolerance", "tolerance_type", "weight", "basis")
FISCAL = re.compile(r"^(\d{4})/(\d{2})$")
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
    tolerance: float
    tolerance_type: str
    weight: float
    basis: str

    @property
    def tolerance_abs(self) -> float:
        return in_units(self.tolerance, self.tolerance_type, self.published)

    @property
    def default_tolerance_abs(self) -> float:
        """The kind's default tolerance (DEFAULT_TOLERANCES) in the published figure's units."""
        return in_units(*default_tolerance(self.kind, self.tolerance, self.tolerance_type),
                        self.published)

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


def load_targets(path: Path) -> list[Target]:
    """Read and check targets.csv; every problem is an InputError naming row and column."""
    path = Path(path)
    if not path.exists():
        raise InputError("targets file not found", file=path)
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(row for row in f if not row.startswith("#")))
    if not rows:
        raise InputError("no targets in the file", file=path)
    missing = [c for c in COLUMNS if c not in rows[0]]
    if missing:
        raise InputError(f"missing columns {missing}", file=path, allowed=", ".join(COLUMNS))
    out, seen = [], set()
    for i, row in enumerate(rows, start=2):
        where = f"row {i}"
        try:
            t = Target(
                row["target_id"].strip(), row["figure_id"].strip(), row["metric"].strip(),
                row["period"].strip(), float(row["published"]), float(row["model_scale"] or 1),
                row["kind"].strip(), float(row["tolerance"]), row["tolerance_type"].strip(),
                float(row["weight"] or 1), row["basis"].strip())
        except ValueError as exc:
            raise InputError(f"{where}: not a number ({exc})", file=path) from None
        if t.tolerance_type not in ("rel", "abs") or t.tolerance <= 0:
            raise InputError(f"{where}: bad tolerance", file=path, field="tolerance",
                             value=f"{t.tolerance} {t.tolerance_type}",
                             allowed="a positive number with tolerance_type rel or abs")
        if not (FISCAL.match(t.period) or MONTH.match(t.period)):
            raise InputError(f"{where}: bad period", file=path, field="period", value=t.period,
                             allowed="a fiscal year such as 2020/21 or a month such as 2021-05")
        if t.target_id in seen:
            raise InputError(f"{where}: duplicate target id", file=path, value=t.target_id)
        seen.add(t.target_id)
        out.append(t)
    return out


def figure_ids(figures_csv: Path) -> set[str]:
    with Path(figures_csv).open(newline="", encoding="utf-8") as f:
        return {row["id"] for row in csv.DictReader(f)}


def target_figure_ids(target: Target) -> list[str]:
    """The figure ids a target cites (`S-02+S-04` cites two)."""
    return [part.strip() for part in target.figure_id.split("+")]


__all__ = ["Target", "figure_ids", "load_targets", "target_figure_ids"]
