"""Metrics: every reported number, defined once, computed from any engine's records.

Three shapes per replication: `summary` (one value over the reporting window, or at its
end), `yearly` (per fiscal year: flows within the year, stocks at 31 March, averages over
the year) and `monthly` (flows within the month, stocks at the month's end). A duration is
counted only for cases finalised in the period, as published figures are; the age of
cases still open is reported beside it.

Glossary: `GLOSSARY` below; the README's glossary is generated from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.engine.bins import CHANNEL, CHANNELS
from sim.engine.cases import (
    ACCELERATED,
    HEARING,
    IOPC,
    MEETING,
    NO_POOL,
    POOL_CODE,
    RESTRICTED,
    SEVERITIES,
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
    "gross_misconduct.opened_per_year": "Investigations opened (by the IOPC, the DPS or a PSU)"
    " of cases of gross misconduct (S-11's severity; the DPS investigates the Met's).",
    "misconduct.opened_per_year": "Investigations opened of cases of misconduct.",
    "not_special.opened_per_year": "Investigations opened of complaints not subject to special"
    " procedures (no indication of a criminal offence or of conduct justifying proceedings).",
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
    " chair to take it on (a panel), for hearings that started in the period.",
    "hearings.room_wait_days.mean": "Mean calendar days a hearing its chair had prepared and"
    " listed waited for a hearing room (and a chair free to sit), for hearings that began"
    " sitting in the period; none without sittings.",
    "hearings.time_days.mean": "Mean calendar days from a case ready for a hearing to the"
    " hearing's end (waiting, preparation and listing, a room, and the sitting), for hearings"
    " concluded in the period.",
    "hearings.awaiting.end": "Cases ready for a misconduct hearing and not yet concluded"
    " (waiting for a panel, being prepared and listed, waiting for a room or sitting) at"
    " the end of the period.",
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
    "iopc.independent_per_year", "met.duration_wd.mean", "hearings.awaiting.end",
    "officers.suspended.mean", "cost.suspended_gbp_per_year",
)
for _pool in ("dps", "psu", "met"):
    for _stream in STREAMS:
        GLOSSARY[f"{_pool}.{_stream}.duration_wd.mean"] = (
            f"As {_pool}.duration_wd.mean, {_stream} cases only (Met tables 7 and 8).")
GLOSSARY["iopc.complaints.duration_wd.mean"] = (
    "Mean working days from receipt to finalisation of IOPC-investigated complaint cases"
    " finalised in the period: the Met bulletin's measure (S-30 gives it for allegations in"
    " those cases; with no published link between a case's allegations and its length, the"
    " case mean is its expected value), not the IOPC's own (iopc.duration_wd.mean).")
GLOSSARY["iopc.conduct.duration_wd.mean"] = (
    "As iopc.complaints.duration_wd.mean, conduct cases only (no published counterpart).")
GLOSSARY["iopc.complaints.within_12m_of_receipt.share"] = (
    "Share of IOPC investigations of complaint cases completed in the period that ended at"
    " most 12 months (365 days) after the case was received (S-32's measure; the IOPC's own,"
    " iopc.within_12m.share, counts from its decision to investigate).")
GLOSSARY["iopc.complaints.over_18m_of_receipt.share"] = (
    "As iopc.complaints.within_12m_of_receipt.share, the share that ended more than 18 months"
    " (547 days) after receipt.")

MONTHLY_GLOSSARY = {
    "complaints.cases": "complaint cases received in the month",
    "conduct.cases": "conduct matters received in the month",
    "iopc.referrals": "referrals to the IOPC in the month",
    "gross_misconduct.opened": "investigations of gross misconduct opened in the month",
    "misconduct.opened": "investigations of misconduct opened in the month",
    "not_special.opened": "investigations not subject to special procedures opened in the"
    " month",
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
    """The reporting clock of a run: months, financial years as runs of whole months."""

    def __init__(self, timeline: Timeline) -> None:
        self.years = [(lo, hi) for _, lo, hi in timeline.fiscal_years]
        year_edges = np.array([lo for lo, _ in self.years] + [self.years[-1][1]])
        year_ends = np.array([hi for _, hi in self.years])
        self.month_ends = timeline.report_month_ends
        self.month_edges = np.concatenate([[0.0], self.month_ends])
        self.months = len(self.month_ends)
        # financial years are runs of whole months: count by month once, add up the rest
        self.year_first_month = np.searchsorted(self.month_edges, year_edges[:-1])
        self.year_last_month = np.searchsorted(self.month_ends, year_ends)
        if not (np.array_equal(self.month_edges[self.year_first_month], year_edges[:-1])
                and np.array_equal(self.month_ends[self.year_last_month], year_ends)):
            raise ValueError("financial years must start and end on month boundaries")
        # months start on whole days: a day's month is a lookup, not a search per event
        self.horizon = float(self.month_edges[-1])
        days = np.arange(int(np.ceil(self.horizon)))
        self.month_of_day = np.searchsorted(self.month_edges, days, side="right") - 1

    def to_years(self, monthly: np.ndarray) -> np.ndarray:
        """Monthly flows added up by financial year: (R, years)."""
        return np.add.reduceat(monthly, self.year_first_month, axis=1)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def measure(records: Records, scenario: Scenario, timeline: Timeline) -> Measured:
    """Every metric for every replication of a chunk of records."""
    return from_bins(bins_from_records(records, timeline), records.replications, scenario,
                     timeline)


def from_bins(bins: np.ndarray, replications: np.ndarray, scenario: Scenario,
              timeline: Timeline) -> Measured:
    """Every summary, yearly and monthly metric from period bins (`sim.engine.bins`): the one
    definition of each metric, whichever engine filled the bins."""
    out = Measured(np.asarray(replications, dtype=np.int64).copy())
    p = _Periods(timeline)
    years = timeline.horizon_days / DAYS_PER_YEAR

    def channel(kind: str, name: str) -> np.ndarray:
        return bins[:, CHANNEL[f"{kind}:{name}"], :]

    def flow(name: str, counts: np.ndarray, monthly_name: str | None = None) -> None:
        out.summary[name] = counts.sum(axis=1) / years
        out.yearly[name] = p.to_years(counts)
        if monthly_name:
            out.monthly[monthly_name] = counts

    def mean_of(name: str, *parts: str) -> None:
        counts = np.sum([channel("count", part) for part in parts], axis=0)
        sums = np.sum([channel("sum", part) for part in parts], axis=0)
        out.summary[name] = _ratio(sums.sum(axis=1), counts.sum(axis=1))
        out.yearly[name] = _ratio(p.to_years(sums), p.to_years(counts))

    def stock(name: str) -> None:
        monthly = np.cumsum(channel("stock", name), axis=1)  # just before each month end
        out.summary[f"{name}.end"] = monthly[:, -1]
        out.yearly[f"{name}.end"] = monthly[:, p.year_last_month]
        out.monthly[name] = monthly

    for volume, name in (("complaints.cases", "complaints.cases_per_year"),
                         ("conduct.cases", "conduct.cases_per_year"),
                         ("allegations", "allegations.per_year")):
        flow(name, channel("volume", volume), volume)
    flow("iopc.referrals_per_year", channel("flow", "iopc.referrals"), "iopc.referrals")
    flow("iopc.independent_per_year", channel("flow", "iopc.independent"))
    for name in POOLS:
        flow(f"{name}.completed_per_year", channel("flow", f"{name}.completed"))
        stock(f"{name}.open")
        stock(f"{name}.open_over_12m")
        mean_of(f"{name}.wait_days.mean", f"{name}.wait_days")
        ages = f"{name}.open_age"
        out.summary[f"{name}.open_age_days.mean_end"] = _ratio(
            channel("sum", ages)[:, -1], channel("count", ages)[:, -1])
    for name in ("dps", "psu"):
        mean_of(f"{name}.duration_wd.mean", *(f"{name}.{s}.duration_wd" for s in STREAMS))
        for s in STREAMS:
            mean_of(f"{name}.{s}.duration_wd.mean", f"{name}.{s}.duration_wd")
    mean_of("met.duration_wd.mean", *(f"{n}.{s}.duration_wd" for n in ("dps", "psu")
                                      for s in STREAMS))
    for s in STREAMS:
        mean_of(f"met.{s}.duration_wd.mean", *(f"{n}.{s}.duration_wd" for n in ("dps", "psu")))
    mean_of("iopc.duration_wd.mean", "iopc.duration_wd")
    mean_of("iopc.within_12m.share", "iopc.within_12m")
    mean_of("iopc.over_18m.share", "iopc.over_18m")
    for s in STREAMS:  # the Met bulletin's measure (S-30), beside the IOPC's own above
        mean_of(f"iopc.{s}.duration_wd.mean", f"iopc.{s}.duration_wd")
    mean_of("iopc.complaints.within_12m_of_receipt.share",
            "iopc.complaints.within_12m_of_receipt")
    mean_of("iopc.complaints.over_18m_of_receipt.share",
            "iopc.complaints.over_18m_of_receipt")
    flow("cps.decisions_per_year", channel("flow", "cps.decisions"))
    flow("cps.charged_per_year", channel("flow", "cps.charged"))
    for name in ("meetings", "hearings", "accelerated"):
        flow(f"{name}.held_per_year", channel("flow", f"{name}.held"))
    flow("officers.dismissed_per_year", channel("flow", "officers.dismissed"))
    for name in SEVERITIES:
        flow(f"{name}.opened_per_year", channel("flow", f"{name}.opened"), f"{name}.opened")
    mean_of("proceedings.proven.share", "proceedings.proven")
    stock("hearings.awaiting")
    mean_of("hearings.wait_days.mean", "hearings.wait_days")
    mean_of("hearings.time_days.mean", "hearings.time_days")
    mean_of("hearings.room_wait_days.mean", "hearings.room_wait_days")

    cost = scenario.officers.cost_per_officer_year_gbp
    spans = np.array([hi - lo for lo, hi in p.years])
    for name in ("suspended", "restricted"):
        # officers held from the assessment decision until the case ends; time averages
        # are officer-days over the period's days
        days = channel("held", f"officers.{name}")
        out.summary[f"officers.{name}.mean"] = days.sum(axis=1) / timeline.horizon_days
        out.yearly[f"officers.{name}.mean"] = p.to_years(days) / spans
        monthly = np.cumsum(channel("stock", f"officers.{name}"), axis=1)
        out.monthly[f"officers.{name}"] = monthly
    out.summary["cost.suspended_gbp_per_year"] = out.summary["officers.suspended.mean"] * cost
    out.yearly["cost.suspended_gbp_per_year"] = out.yearly["officers.suspended.mean"] * cost
    return out


def bins_from_records(records: Records, timeline: Timeline) -> np.ndarray:
    """The period bins of a chunk of case records: what the compiled kernel fills while it
    simulates, computed here from any engine's records (tested to agree)."""
    p = _Periods(timeline)
    # A case over before day 0 counts in no metric (every period starts at 0 or later):
    # dropping it first makes each channel below cheaper, exactly.
    r = records.subset(~(records.finalised < 0))
    R, M = r.n_reps, p.months
    bins = np.zeros((R, CHANNELS, M))

    def month_of(t: np.ndarray) -> np.ndarray:
        return p.month_of_day[t.astype(np.int64)]

    def add(name: str, t: np.ndarray, mask: np.ndarray, values: np.ndarray | None = None,
            kind: str = "flow") -> None:
        ok = mask & (t >= 0.0) & (t < p.horizon)
        cell = r.rep[ok] * M + month_of(t[ok])
        c = CHANNEL[f"{kind}:{name}"]
        bins[:, c, :] = np.bincount(cell, minlength=R * M).reshape(R, M)
        if values is not None:
            bins[:, c + 1, :] = np.bincount(cell, weights=values[ok],
                                            minlength=R * M).reshape(R, M)

    def mean(name: str, t: np.ndarray, mask: np.ndarray, values: np.ndarray) -> None:
        add(name, t, mask, values, kind="count")

    def by_month_from(t: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Cases per replication and month of t (the first month if before day 0)."""
        ok = mask & (t < p.horizon)  # NaN: never
        k = np.where(t[ok] < 0.0, 0, month_of(np.maximum(t[ok], 0.0)))
        return np.bincount(r.rep[ok] * M + k, minlength=R * M).reshape(R, M)

    def stock(name: str, enter: np.ndarray, leave: np.ndarray, mask: np.ndarray) -> None:
        bins[:, CHANNEL[f"stock:{name}"], :] = (by_month_from(enter, mask)
                                                 - by_month_from(leave, mask & (enter < p.horizon)))

    def held(name: str, enter: np.ndarray, leave: np.ndarray, mask: np.ndarray) -> None:
        ok = mask & (enter < p.horizon)
        e, stop, rep = enter[ok], np.where(leave[ok] < p.horizon, leave[ok], p.horizon), r.rep[ok]
        c = CHANNEL[f"held:{name}"]
        for k in range(M):
            overlap = np.minimum(stop, p.month_edges[k + 1]) - np.maximum(e, p.month_edges[k])
            bins[:, c, k] = np.bincount(rep, weights=np.clip(overlap, 0.0, None), minlength=R)

    first = len(timeline.month_starts) - len(timeline.report_months)
    bins[:, CHANNEL["volume:complaints.cases"], :] = r.monthly_cases[:, 0, first:]
    bins[:, CHANNEL["volume:conduct.cases"], :] = r.monthly_cases[:, 1, first:]
    bins[:, CHANNEL["volume:allegations"], :] = r.monthly_allegations[:, :, first:].sum(axis=1)

    add("iopc.referrals", r.assessed, r.referred)
    add("iopc.independent", r.referral_decided, r.pool == IOPC)
    wd_receipt = timeline.working_days(r.arrival, np.nan_to_num(r.finalised, nan=0.0))
    for name in POOLS:
        code = POOL_CODE[name]
        in_pool = r.pool == code
        add(f"{name}.completed", r.inv_end, in_pool)
        stock(f"{name}.open", r.inv_queued, r.inv_end, in_pool)
        over_from = np.maximum(r.arrival + TWELVE_MONTHS_DAYS, r.inv_queued)
        stock(f"{name}.open_over_12m", over_from, np.maximum(r.inv_end, over_from), in_pool)
        mean(f"{name}.wait_days", r.inv_start, in_pool, r.inv_start - r.inv_queued)
        still_open = in_pool & (r.inv_queued < p.horizon) & ~(r.inv_end < p.horizon)
        c = CHANNEL[f"count:{name}.open_age"]
        bins[:, c, -1] = np.bincount(r.rep[still_open], minlength=R)
        bins[:, c + 1, -1] = np.bincount(r.rep[still_open],
                                         weights=(p.horizon - r.arrival)[still_open], minlength=R)
        for s, stream_name in enumerate(STREAMS):
            mean(f"{name}.{stream_name}.duration_wd", r.finalised, in_pool & (r.stream == s),
                 wd_receipt)
    iopc = r.pool == IOPC
    length = r.inv_end - r.inv_queued
    wd_iopc = timeline.working_days(np.nan_to_num(r.inv_queued), np.nan_to_num(r.inv_end))
    mean("iopc.duration_wd", r.inv_end, iopc, wd_iopc)
    mean("iopc.within_12m", r.inv_end, iopc, (length <= TWELVE_MONTHS_DAYS) * 1.0)
    mean("iopc.over_18m", r.inv_end, iopc, (length > EIGHTEEN_MONTHS_DAYS) * 1.0)
    since = r.inv_end - r.arrival
    complaint = iopc & (r.stream == 0)
    mean("iopc.complaints.within_12m_of_receipt", r.inv_end, complaint,
         (since <= TWELVE_MONTHS_DAYS) * 1.0)
    mean("iopc.complaints.over_18m_of_receipt", r.inv_end, complaint,
         (since > EIGHTEEN_MONTHS_DAYS) * 1.0)
    everyone = np.ones(r.rep.size, dtype=bool)
    add("cps.decisions", r.cps_decided, everyone)
    add("cps.charged", r.trial_end, everyone)
    for route, name in ((MEETING, "meetings"), (HEARING, "hearings"),
                        (ACCELERATED, "accelerated")):
        add(f"{name}.held", r.proceedings_end, r.route == route)
    add("officers.dismissed", r.finalised, r.dismissed)
    for code, name in enumerate(SEVERITIES):
        add(f"{name}.opened", r.inv_queued, r.severity == code)
    mean("proceedings.proven", r.proceedings_end, r.route >= 0, r.proven * 1.0)
    hearing = r.route == HEARING
    stock("hearings.awaiting", r.hearing_queued, r.proceedings_end, hearing)
    mean("hearings.wait_days", r.hearing_start, hearing, r.hearing_start - r.hearing_queued)
    mean("hearings.time_days", r.proceedings_end, hearing, r.proceedings_end - r.hearing_queued)
    mean("hearings.room_wait_days", r.sitting_start, hearing,
         r.sitting_start - r.sitting_queued)
    investigated = r.pool != NO_POOL
    for status, name in ((SUSPENDED, "suspended"), (RESTRICTED, "restricted")):
        mask = investigated & (r.officer == status)
        stock(f"officers.{name}", r.assessed, r.finalised, mask)
        held(f"officers.{name}", r.assessed, r.finalised, mask)
    return bins
