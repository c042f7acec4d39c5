"""What a person reads for each metric: a plain label, its unit, how to write a value, and
which way is better.

The metric names (`iopc.open_over_12m.end`) stay the keys of every table a program reads;
every table, chart and sentence a planner reads uses these instead: "IOPC investigations
open over 12 months (at the end of the period)", "£2,527,000", "88%", "151 working days".
One definition, used by the terminal, the reports and the workbook.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from sim.engine.metrics import GLOSSARY, MONTHLY_GLOSSARY

#: a unit: "cases", "officers", "cases a year", "working days", "days", "share", "£ a year"
Unit = str
#: the better direction of a metric: "lower", "higher" or "neither"
Better = str

BODIES = {"iopc": "IOPC", "dps": "DPS", "psu": "local (PSU)", "met": "Met (DPS and PSU)"}


@dataclass(frozen=True)
class Label:
    """How a person reads one metric."""

    metric: str
    text: str  # "IOPC investigations open over 12 months"
    unit: Unit
    better: Better  # which direction of change is an improvement, for colours and words

    def value(self, x: float | None) -> str:
        """A value as a planner writes it: £ with thousands, shares as %, whole cases."""
        return format_value(x, self.unit)

    def change(self, x: float | None) -> str:
        """A signed difference in the same units (`+3.2`, `-£120,000`, `+1.5 points`)."""
        if x is None or not math.isfinite(x):
            return "–"
        sign = "+" if x > 0 else "−" if x < 0 else "±"
        if self.unit == "share":
            return f"{sign}{abs(x) * 100:.1f} percentage points"
        return sign + format_value(abs(x), self.unit)

    def verdict(self, diff: float, distinguishable: bool) -> Literal["better", "worse", "same"]:
        """Whether a paired difference is an improvement: only where it is told apart from
        no change and the metric has a better direction."""
        if not distinguishable or self.better == "neither" or diff == 0:
            return "same"
        improved = diff < 0 if self.better == "lower" else diff > 0
        return "better" if improved else "worse"


def format_value(x: float | None, unit: str) -> str:
    if x is None or not math.isfinite(x):
        return "–"
    if unit == "share":
        return f"{x:.0%}" if abs(x) >= 0.1 else f"{x:.1%}"
    if unit == "£ a year":  # a forecast is not good to the pound: thousands above £10,000
        if abs(x) >= 10_000:
            return f"£{round(x, -3):,.0f}"
        return f"£{x:,.0f}" if abs(x) >= 1000 else f"£{x:,.2f}"
    if unit in ("working days", "days"):
        return f"{x:,.0f} {unit}" if abs(x) >= 10 else f"{x:.1f} {unit}"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.1f}"


_STATES = {
    "open.end": ("{body} investigations open", "cases", "lower"),
    "open_over_12m.end": ("{body} investigations open over 12 months", "cases", "lower"),
    "open_age_days.mean_end": ("mean age of open {body} investigations", "days", "lower"),
    "wait_days.mean": ("mean wait for {a_body} investigator", "days", "lower"),
    "completed_per_year": ("{body} investigations completed a year", "cases a year", "higher"),
    "duration_wd.mean": ("mean time to finalise {body} cases", "working days", "lower"),
    "complaints.duration_wd.mean": ("mean time to finalise {body} complaint cases",
                                    "working days", "lower"),
    "conduct.duration_wd.mean": ("mean time to finalise {body} conduct cases",
                                 "working days", "lower"),
}

_WHOLE = {
    "complaints.cases_per_year": ("complaint cases received a year", "cases a year", "neither"),
    "allegations.per_year": ("allegations received a year", "cases a year", "neither"),
    "conduct.cases_per_year": ("conduct matters received a year", "cases a year", "neither"),
    "iopc.referrals_per_year": ("referrals to the IOPC a year", "cases a year", "neither"),
    "iopc.independent_per_year": ("referrals the IOPC investigates itself, a year",
                                  "cases a year", "neither"),
    "cps.decisions_per_year": ("CPS charging decisions a year", "cases a year", "neither"),
    "cps.charged_per_year": ("officers charged a year", "cases a year", "neither"),
    "meetings.held_per_year": ("misconduct meetings held a year", "cases a year", "neither"),
    "hearings.held_per_year": ("misconduct hearings held a year", "cases a year", "neither"),
    "accelerated.held_per_year": ("accelerated hearings held a year", "cases a year",
                                  "neither"),
    "officers.dismissed_per_year": ("officers dismissed a year", "cases a year", "neither"),
    "gross_misconduct.opened_per_year": ("investigations of gross misconduct opened a year",
                                         "cases a year", "neither"),
    "misconduct.opened_per_year": ("investigations of misconduct opened a year", "cases a year",
                                   "neither"),
    "not_special.opened_per_year": ("investigations not subject to special procedures opened"
                                    " a year", "cases a year", "neither"),
    "proceedings.proven.share": ("share of proceedings with a proven finding", "share",
                                 "neither"),
    "iopc.within_12m.share": ("IOPC investigations finished within 12 months", "share",
                              "higher"),
    "iopc.over_18m.share": ("IOPC investigations taking over 18 months", "share", "lower"),
    "iopc.complaints.within_12m_of_receipt.share": (
        "IOPC complaint investigations ended within 12 months of receipt", "share", "higher"),
    "iopc.complaints.over_18m_of_receipt.share": (
        "IOPC complaint investigations ended over 18 months after receipt", "share", "lower"),
    "hearings.wait_days.mean": ("mean wait for a hearing panel", "days", "lower"),
    "hearings.room_wait_days.mean": ("mean wait of a listed hearing for a room", "days",
                                     "lower"),
    "hearings.time_days.mean": ("mean time from case to answer to hearing's end", "days",
                                "lower"),
    "hearings.awaiting.end": ("cases awaiting a misconduct hearing", "cases", "lower"),
    "officers.suspended.mean": ("officers suspended (average)", "officers", "lower"),
    "officers.restricted.mean": ("officers on restricted duties (average)", "officers",
                                 "lower"),
    "cost.suspended_gbp_per_year": ("pay cost of suspended officers", "£ a year", "lower"),
}

_MONTHLY = {
    "complaints.cases": ("complaint cases received", "cases", "neither"),
    "conduct.cases": ("conduct matters received", "cases", "neither"),
    "allegations": ("allegations received", "cases", "neither"),
    "iopc.referrals": ("referrals to the IOPC", "cases", "neither"),
    "hearings.awaiting": ("cases awaiting a misconduct hearing", "cases", "lower"),
    "officers.suspended": ("officers suspended", "officers", "lower"),
    "officers.restricted": ("officers on restricted duties", "officers", "lower"),
    "gross_misconduct.opened": ("investigations of gross misconduct opened", "cases",
                                "neither"),
    "misconduct.opened": ("investigations of misconduct opened", "cases", "neither"),
    "not_special.opened": ("investigations not subject to special procedures opened", "cases",
                           "neither"),
}


def label(metric: str) -> Label:
    """The label of a summary, yearly or monthly metric (a metric with none: its name)."""
    if metric in _WHOLE:
        return Label(metric, *_WHOLE[metric])
    if metric in _MONTHLY:
        return Label(metric, *_MONTHLY[metric])
    body, _, rest = metric.partition(".")
    monthly = {"open": "open.end", "open_over_12m": "open_over_12m.end"}
    rest = monthly.get(rest, rest) if metric in MONTHLY_GLOSSARY else rest
    if body in BODIES and rest in _STATES:
        text, unit, better = _STATES[rest]
        a_body = ("an " if BODIES[body][0] in "AEIOU" else "a ") + BODIES[body]
        return Label(metric, text.format(body=BODIES[body], a_body=a_body), unit, better)
    return Label(metric, metric, "cases", "neither")


def glossary(metric: str) -> str:
    """The metric's full definition (the README glossary's line)."""
    return GLOSSARY.get(metric) or MONTHLY_GLOSSARY.get(metric, "")


__all__ = ["BODIES", "Label", "format_value", "glossary", "label"]
