"""The clock: calendar days from the scenario's start date, months, fiscal years, working days.

Day 0 is the start date; the warm-up has negative days. Published durations are in working
days (weekdays less England and Wales bank holidays), so the metrics convert with NumPy's
business-day functions and the `holidays` package's England calendar.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache, cached_property

import holidays
import numpy as np

DAYS_PER_YEAR = 365.25
TWELVE_MONTHS_DAYS = 365.0  # "breaching 12 months" is open for more than 365 calendar days
EIGHTEEN_MONTHS_DAYS = 547.0


def first_of_month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(day: dt.date, months: int) -> dt.date:
    y, m = divmod(day.month - 1 + months, 12)
    return dt.date(day.year + y, m + 1, 1)


@cache
def england_bank_holidays(first_year: int, end_year: int) -> np.ndarray:
    """England's bank holidays from `first_year` to before `end_year`, sorted, read-only:
    worked out once per span (each parameter draw's scenario has its own timeline)."""
    days = holidays.country_holidays("GB", subdiv="ENG", years=range(first_year, end_year))
    out = np.array(sorted(days), dtype="datetime64[D]")
    out.setflags(write=False)
    return out


def fiscal_year_label(day: dt.date) -> str:
    """'2021/22' for any day from 1 April 2021 to 31 March 2022."""
    y = day.year if day.month >= 4 else day.year - 1
    return f"{y}/{(y + 1) % 100:02d}"


@dataclass(frozen=True)
class Timeline:
    """Dates and days of one scenario: warm-up, reporting window, months, fiscal years."""

    start: dt.date
    end: dt.date
    warmup_start: dt.date

    @classmethod
    def for_scenario(cls, scenario) -> Timeline:
        return cls(scenario.start, scenario.end, first_of_month(scenario.warmup_start))

    def day(self, date: dt.date) -> float:
        return float((date - self.start).days)

    def date(self, day: float) -> dt.date:
        return self.start + dt.timedelta(days=int(np.floor(day)))

    def in_force(self, steps, t: np.ndarray) -> np.ndarray:
        """The value of dated steps (`from_`, `value`: demand rates, staff) in force at days
        `t`; the first step also holds before its date."""
        values = np.array([s.value for s in steps])
        return values[self.step_in_force(steps, t)]

    def step_in_force(self, steps, t: np.ndarray) -> np.ndarray:
        """Which of the dated steps is in force at days `t` (0 before the first)."""
        days = np.array([self.day(s.from_) for s in steps])
        return np.maximum(np.searchsorted(days, t, side="right") - 1, 0)

    @property
    def horizon_days(self) -> float:
        return self.day(self.end)

    @property
    def warmup_days(self) -> float:
        return -self.day(self.warmup_start)

    @cached_property
    def month_starts(self) -> list[dt.date]:
        """First days of every simulated month, warm-up included, and the end's month."""
        months, day = [], self.warmup_start
        while day < self.end:
            months.append(day)
            day = add_months(day, 1)
        return months

    @cached_property
    def month_edges(self) -> np.ndarray:
        """Day numbers of month boundaries: month k is [edges[k], edges[k+1])."""
        dates = [*self.month_starts, min(add_months(self.month_starts[-1], 1), self.end)]
        return np.array([self.day(d) for d in dates])

    @cached_property
    def report_months(self) -> list[dt.date]:
        """First days of the months reported (from the start date)."""
        return [m for m in self.month_starts if m >= first_of_month(self.start)]

    @cached_property
    def report_month_ends(self) -> np.ndarray:
        """Day number of the last moment of each reported month (its next month's first day)."""
        return np.array([min(self.day(add_months(m, 1)), self.horizon_days)
                         for m in self.report_months])

    @cached_property
    def fiscal_years(self) -> list[tuple[str, float, float]]:
        """(label, first day, day after last) of each fiscal year, clipped to the window."""
        out = []
        y = self.start.year if self.start.month >= 4 else self.start.year - 1
        while dt.date(y, 4, 1) < self.end:
            lo = max(self.day(dt.date(y, 4, 1)), 0.0)
            hi = min(self.day(dt.date(y + 1, 4, 1)), self.horizon_days)
            out.append((fiscal_year_label(dt.date(y, 4, 1)), lo, hi))
            y += 1
        return out

    @cached_property
    def _holidays(self) -> np.ndarray:
        return england_bank_holidays(self.warmup_start.year - 1, self.end.year + 2)

    @cached_property
    def working_day_table(self) -> tuple[int, np.ndarray]:
        """(first day, cumulative working days before each day) over the run and a margin."""
        first = int(np.floor(-self.warmup_days)) - 400
        last = int(np.ceil(self.horizon_days)) + 400
        origin = np.datetime64(self.start, "D")
        days = origin + np.arange(first, last + 1)
        open_ = np.is_busday(days, holidays=self._holidays)
        return first, np.concatenate([[0], np.cumsum(open_)]).astype(float)

    def working_days(self, t0: np.ndarray, t1: np.ndarray) -> np.ndarray:
        """Working days from day t0 to day t1 (weekdays less bank holidays in [t0, t1)).

        A lookup in a cumulative table (np.busday_count per case is 20x slower); days
        outside the table's range fall back to busday_count.
        """
        first, cum = self.working_day_table
        k0 = np.floor(t0).astype("int64") - first
        k1 = np.floor(t1).astype("int64") - first
        inside = (k0 >= 0) & (k1 >= 0) & (k0 < cum.size) & (k1 < cum.size)
        if inside.all():
            return cum[k1] - cum[k0]
        origin = np.datetime64(self.start, "D")
        return np.busday_count(origin + np.floor(t0).astype("int64"),
                               origin + np.floor(t1).astype("int64"),
                               holidays=self._holidays).astype(float)
