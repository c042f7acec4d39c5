"""Metrics: every reported number, defined once, computed from any engine's records.

Three shapes per replication: `summary` (one value over the reporting window, or at its
end), `yearly` (per fiscal year: flows within the year, stocks at 31 March, averages over
the year) and `monthly` (flows within the month, stocks at the month's end). A duration is
counted only for cases finalised in the period, as published figures are; the age of
cases still open is reported beside it.

Glossary: `GLOSSARY` below; the README's glossary is generated from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import overload

import numpy as np

from sim.engine.cases import (
    ACCELERATED,
    HEARING,
    IOPC,
    MEETING,
    NO_POOL,
    POOL_CODE,
    RESTRICTED,
    SUSPENDED,
)
from sim.engine.records import Records
from sim.model.scenario import POOLS, STREAMS, Scenario
from sim.model.timeline import (
    DAYS_PER_YEAR,
    EIGHTEEN_MONTHS_DAYS,
    TWELVE_MONTHS_DAYS,
    Timeline,
)

POOL_TITLES = {"iopc": "IOPC independent", "dps": "DPS", "psu": "PSU (local)"}

GLOSSARY: dict[str, str] = {
    "complaints.cases_per_year": "Public complaint cases received (flow).",
    "allegations.per_year": "Allegations received, complaints and conduct matters together.",
    "conduct.cases_per_year": "Conduct matter cases received.",
    "iopc.referrals_per_year": "Cases the Met refers to the IOPC (counted at the assessment"
    " decision).",
    "iopc.independent_per_year": "Referrals the IOPC decides to investigate independently.",
    "iopc.completed_per_year": "IOPC independent investigations completed.",
    "dps.completed_per_year": "DPS investigations completed (including IOPC-directed ones).",
    "psu.completed_per_year": "Local PSU investigations completed.",
    "cps.decisions_per_year": "CPS charging decisions on investigation files.",
    "cps.charged_per_year": "Officers charged after a CPS decision.",
    "meetings.held_per_year": "Misconduct meetings concluded.",
    "hearings.held_per_year": "Misconduct hearings (before a panel) concluded.",
    "accelerated.held_per_year": "Accelerated and special case hearings concluded.",
    "officers.dismissed_per_year": "Officers dismissed (or who would have been) at proceedings.",
    "iopc.duration_wd.mean": "Mean working days of IOPC independent investigations completed"
    " in the period, from the IOPC's decision to investigate to the end of the investigation"
    " (as the IOPC publishes).",
    "dps.duration_wd.mean": "Mean working days from receipt to finalisation of DPS-investigated"
    " cases finalised in the period (Met timeliness tables).",
    "psu.duration_wd.mean": "Mean working days from receipt to finalisation of PSU-investigated"
    " cases finalised in the period.",
    "met.duration_wd.mean": "The same for DPS and PSU cases together.",
    "proceedings.proven.share": "Share of meetings, hearings and accelerated hearings"
    " concluded in the period whose finding was proven (Met table of officers by finding).",
    "iopc.within_12m.share": "Share of IOPC investigations completed in the period that took at"
    " most 12 months (365 days) from the decision to investigate.",
    "iopc.over_18m.share": "Share of IOPC investigations completed in the period that took"
    " more than 18 months (547 days).",
    "hearings.wait_days.mean": "Mean calendar days a case ready for a hearing waited for a"
    " panel, for hearings that started in the period.",
    "hearings.awaiting.end": "Cases ready for a misconduct hearing and not yet concluded"
    " (waiting for a panel or being heard) at the end of the period.",
    "officers.suspended.mean": "Average number of officers suspended (time-average over the"
    " period).",
    "officers.restricted.mean": "Average number of officers on restricted duties.",
    "cost.suspended_gbp_per_year": "Pay cost of suspended officers a year: average suspended"
    " times the cost per officer-year.",
}
for _pool in POOLS:
    _t = POOL_TITLES[_pool]
    GLOSSARY[f"{_pool}.open.end"] = (
        f"{_t} investigations open (waiting for or with an investigator) at the end of the"
        " period.")
    GLOSSARY[f"{_pool}.open_over_12m.end"] = (
        f"{_t} investigations open at the end of the period whose case was received more than"
        " 12 months (365 days) earlier: the cases MOPAC must be notified of.")
    GLOSSARY[f"{_pool}.open_age_days.mean_end"] = (
        f"Mean age in calendar days since receipt of {_t} investigations open at the end of the"
        " period: what the published (finalised-only) durations hide.")
    GLOSSARY[f"{_pool}.wait_days.mean"] = (
        f"Mean calendar days {_t} investigations waited for an investigator slot, for"
        " investigations started in the period.")
#: The figures a planner reads first, in the order tables and terminals show them.
HEADLINE = (
    "iopc.open_over_12m.end", "dps.open_over_12m.end", "psu.open_over_12m.end",
    "iopc.open.end", "dps.open.end", "psu.open.end", "iopc.within_12m.share",
    "met.duration_wd.mean", "hearings.awaiting.end", "officers.suspended.mean",
    "cost.suspended_gbp_per_year",
)
for _pool in ("dps", "psu", "met"):
    for _stream in STREAMS:
        GLOSSARY[f"{_pool}.{_stream}.duration_wd.mean"] = (
            f"As {_pool}.duration_wd.mean, {_stream} cases only (Met tables 7 and 8).")

MONTHLY_GLOSSARY = {
    "complaints.cases": "complaint cases received in the month",
    "conduct.cases": "conduct matters received in the month",
    "iopc.referrals": "referrals to the IOPC in the month",
    "hearings.awaiting": "cases awaiting a hearing at month end",
    "officers.suspended": "officers suspended at month end",
    "officers.restricted": "officers restricted at month end",
    **{f"{p}.open": f"{POOL_TITLES[p]} investigations open at month end" for p in POOLS},
    **{f"{p}.open_over_12m": f"{POOL_TITLES[p]} investigations open over 12 months at month end"
       for p in POOLS},
}


@dataclass
class Measured:
    """Per-replication metric values for a chunk (or, concatenated, a whole run)."""

    replications: np.ndarray
    summary: dict[str, np.ndarray] = field(default_factory=dict)  # (R,)
    yearly: dict[str, np.ndarray] = field(default_factory=dict)  # (R, years)
    monthly: dict[str, np.ndarray] = field(default_factory=dict)  # (R, months)

    @staticmethod
    def concat(parts: list[Measured]) -> Measured:
        def cat(name: str) -> dict[str, np.ndarray]:
            keys = getattr(parts[0], name).keys()
            return {k: np.concatenate([getattr(p, name)[k] for p in parts]) for k in keys}

        return Measured(np.concatenate([p.replications for p in parts]),
                        cat("summary"), cat("yearly"), cat("monthly"))


class _Periods:
    """Counting helpers over the replications of a chunk, vectorised with bincount."""

    def __init__(self, rec: Records, timeline: Timeline) -> None:
        self.rec = rec
        self.R = rec.n_reps
        self.window = (0.0, timeline.horizon_days)
        self.years = [(lo, hi) for _, lo, hi in timeline.fiscal_years]
        self.year_edges = np.array([lo for lo, _ in self.years] + [self.years[-1][1]])
        self.year_ends = np.array([hi for _, hi in self.years])
        self.month_edges = np.concatenate([[0.0], timeline.report_month_ends])
        self.month_ends = timeline.report_month_ends
        # financial years are runs of whole months: count by month once, add up the rest
        self.year_first_month = np.searchsorted(self.month_edges, self.year_edges[:-1])
        self.year_last_month = np.searchsorted(self.month_ends, self.year_ends)
        if not (np.array_equal(self.month_edges[self.year_first_month], self.year_edges[:-1])
                and np.array_equal(self.month_ends[self.year_last_month], self.year_ends)):
            raise ValueError("financial years must start and end on month boundaries")
        # months start on whole days: a day's month is a lookup, not a search per event
        self.horizon = float(self.month_edges[-1])
        days = np.arange(int(np.ceil(self.horizon)))
        self.month_of_day = np.searchsorted(self.month_edges, days, side="right") - 1

    def month_of(self, t: np.ndarray) -> np.ndarray:
        """Report month of each time in [0, horizon)."""
        return self.month_of_day[t.astype(np.int64)]

    @overload
    def by_month(self, t: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, None]: ...

    @overload
    def by_month(self, t: np.ndarray, mask: np.ndarray,
                 values: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...

    def by_month(self, t: np.ndarray, mask: np.ndarray,
                 values: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """Events (and the sum of `values` over them) per replication and report month."""
        months = len(self.month_edges) - 1
        ok = mask & (t >= 0.0) & (t < self.horizon)
        k = self.month_of(t[ok])
        cell = self.rec.rep[ok] * months + k
        size = self.R * months
        counts = np.bincount(cell, minlength=size).reshape(self.R, months).astype(float)
        if values is None:
            return counts, None
        sums = np.bincount(cell, weights=values[ok], minlength=size).reshape(self.R, months)
        return counts, sums

    def to_years(self, monthly: np.ndarray) -> np.ndarray:
        """Monthly flows added up by financial year: (R, years)."""
        return np.add.reduceat(monthly, self.year_first_month, axis=1)

    def stock_at(self, enter: np.ndarray, leave: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Cases with enter <= T < leave (leave NaN: still there) just before each month end
        T (nothing at or after the horizon was seen): shape (R, months)."""
        return self._count_by_month_end(enter, mask) - self._count_by_month_end(leave, mask)

    def _count_by_month_end(self, t: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Cases with t before each month end, per replication: (R, months)."""
        ok = mask & ~np.isnan(t)
        tt = t[ok]
        months = len(self.month_ends)
        inside = (tt >= 0.0) & (tt < self.horizon)
        k = np.where(tt < 0.0, 0, months)  # counted from the first month end, or never
        k[inside] = self.month_of(tt[inside])
        width = months + 1
        flat = np.bincount(self.rec.rep[ok] * width + k, minlength=self.R * width)
        return np.cumsum(flat.reshape(self.R, width), axis=1)[:, :-1].astype(float)

    def time_average(self, enter, leave, mask, periods) -> np.ndarray:
        """Mean number present over each period [lo, hi): shape (R, periods)."""
        leave = np.where(np.isnan(leave), np.inf, leave)
        out = np.zeros((self.R, len(periods)))
        for j, (lo, hi) in enumerate(periods):
            overlap = np.clip(np.minimum(leave, hi) - np.maximum(enter, lo), 0, None)
            overlap = np.where(mask & ~np.isnan(enter), overlap, 0.0)
            out[:, j] = np.bincount(self.rec.rep, weights=overlap, minlength=self.R) / (hi - lo)
        return out


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def measure(records: Records, scenario: Scenario, timeline: Timeline) -> Measured:
    """Every metric for every replication of a chunk of records."""
    out = Measured(records.replications.copy())
    # A case over before day 0 counts in no metric (every period starts at 0 or later):
    # dropping it first makes each metric below cheaper, exactly.
    r = records.subset(~(records.finalised < 0))
    p = _Periods(r, timeline)
    horizon_years = timeline.horizon_days / DAYS_PER_YEAR

    def flow(name: str, monthly_name: str | None, t: np.ndarray, mask: np.ndarray) -> None:
        counts, _ = p.by_month(t, mask)
        out.summary[name] = counts.sum(axis=1) / horizon_years
        out.yearly[name] = p.to_years(counts)
        if monthly_name:
            out.monthly[monthly_name] = counts

    def mean_of(name: str, t: np.ndarray, mask: np.ndarray, values: np.ndarray) -> None:
        counts, sums = p.by_month(t, mask, values)
        out.summary[name] = _ratio(sums.sum(axis=1), counts.sum(axis=1))
        out.yearly[name] = _ratio(p.to_years(sums), p.to_years(counts))

    def stock(name: str, enter, leave, mask) -> None:
        # stocks just before each month end: nothing at or after the horizon was seen
        monthly = p.stock_at(enter, leave, mask)
        out.summary[f"{name}.end"] = monthly[:, -1]
        out.yearly[f"{name}.end"] = monthly[:, p.year_last_month]
        out.monthly[name] = monthly

    _volumes(out, r, timeline, p, horizon_years)
    everyone = np.ones(r.rep.size, dtype=bool)
    flow("iopc.referrals_per_year", "iopc.referrals", r.assessed, r.referred)
    flow("iopc.independent_per_year", None, r.referral_decided, r.pool == IOPC)

    for name in POOLS:
        in_pool = r.pool == POOL_CODE[name]
        flow(f"{name}.completed_per_year", None, r.inv_end, in_pool)
        stock(f"{name}.open", r.inv_queued, r.inv_end, in_pool)
        over_from = np.maximum(r.arrival + TWELVE_MONTHS_DAYS, r.inv_queued)
        stock(f"{name}.open_over_12m", over_from, np.maximum(r.inv_end, over_from), in_pool)
        mean_of(f"{name}.wait_days.mean", r.inv_start, in_pool, r.inv_start - r.inv_queued)
        out.summary[f"{name}.open_age_days.mean_end"] = _open_age(p, r, in_pool)

    wd_receipt = timeline.working_days(r.arrival, np.nan_to_num(r.finalised, nan=0.0))
    met = np.isin(r.pool, [POOL_CODE["dps"], POOL_CODE["psu"]])
    for name in ("dps", "psu"):
        in_pool = r.pool == POOL_CODE[name]
        mean_of(f"{name}.duration_wd.mean", r.finalised, in_pool, wd_receipt)
        for s, stream_name in enumerate(STREAMS):
            mean_of(f"{name}.{stream_name}.duration_wd.mean", r.finalised,
                    in_pool & (r.stream == s), wd_receipt)
    mean_of("met.duration_wd.mean", r.finalised, met, wd_receipt)
    for s, stream_name in enumerate(STREAMS):
        mean_of(f"met.{stream_name}.duration_wd.mean", r.finalised, met & (r.stream == s),
                wd_receipt)

    iopc = r.pool == IOPC
    length = r.inv_end - r.inv_queued
    wd_iopc = timeline.working_days(np.nan_to_num(r.inv_queued), np.nan_to_num(r.inv_end))
    mean_of("iopc.duration_wd.mean", r.inv_end, iopc, wd_iopc)
    mean_of("iopc.within_12m.share", r.inv_end, iopc, (length <= TWELVE_MONTHS_DAYS) * 1.0)
    mean_of("iopc.over_18m.share", r.inv_end, iopc, (length > EIGHTEEN_MONTHS_DAYS) * 1.0)

    flow("cps.decisions_per_year", None, r.cps_decided, everyone)
    flow("cps.charged_per_year", None, r.trial_end, everyone)
    for route, name in ((MEETING, "meetings"), (HEARING, "hearings"),
                        (ACCELERATED, "accelerated")):
        flow(f"{name}.held_per_year", None, r.proceedings_end, r.route == route)
    flow("officers.dismissed_per_year", None, r.finalised, r.dismissed)
    mean_of("proceedings.proven.share", r.proceedings_end, r.route >= 0, r.proven * 1.0)
    hearing = r.route == HEARING
    stock("hearings.awaiting", r.hearing_queued, r.proceedings_end, hearing)
    mean_of("hearings.wait_days.mean", r.hearing_start, hearing, r.hearing_start - r.hearing_queued)

    _officers(out, r, p, scenario, stock)
    return out


def _volumes(out: Measured, r: Records, timeline: Timeline, p: _Periods, years: float) -> None:
    """Arrivals, from the monthly counts every engine carries through unchanged."""
    first = len(timeline.month_starts) - len(timeline.report_months)
    series = {
        "complaints.cases": r.monthly_cases[:, 0, first:],
        "conduct.cases": r.monthly_cases[:, 1, first:],
        "allegations": r.monthly_allegations[:, :, first:].sum(axis=1),
    }
    names = {"complaints.cases": "complaints.cases_per_year",
             "conduct.cases": "conduct.cases_per_year", "allegations": "allegations.per_year"}
    for monthly_name, raw in series.items():
        counts = raw.astype(float)
        out.monthly[monthly_name] = counts
        out.summary[names[monthly_name]] = counts.sum(axis=1) / years
        out.yearly[names[monthly_name]] = p.to_years(counts)


def _open_age(p: _Periods, r: Records, mask: np.ndarray) -> np.ndarray:
    end = p.window[1]
    still_open = mask & (r.inv_queued < end) & ~(r.inv_end < end)
    age = np.where(still_open, end - r.arrival, 0.0)
    counts = np.bincount(r.rep[still_open], minlength=p.R)
    return _ratio(np.bincount(r.rep, weights=age, minlength=p.R), counts)


def _officers(out: Measured, r: Records, p: _Periods, scenario: Scenario,
              stock: Callable) -> None:
    """Officers suspended or restricted from the decision to investigate until the case ends."""
    investigated = r.pool != NO_POOL
    cost = scenario.officers.cost_per_officer_year_gbp
    for status, name in ((SUSPENDED, "suspended"), (RESTRICTED, "restricted")):
        mask = investigated & (r.officer == status)
        out.summary[f"officers.{name}.mean"] = p.time_average(
            r.assessed, r.finalised, mask, [p.window])[:, 0]
        out.yearly[f"officers.{name}.mean"] = p.time_average(
            r.assessed, r.finalised, mask, p.years)
        out.monthly[f"officers.{name}"] = p.stock_at(r.assessed, r.finalised, mask)
    out.summary["cost.suspended_gbp_per_year"] = out.summary["officers.suspended.mean"] * cost
    out.yearly["cost.suspended_gbp_per_year"] = out.yearly["officers.suspended.mean"] * cost
