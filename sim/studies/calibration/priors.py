"""Priors of the fitted parameters, each with its source: what we believed before the fit.

Weakly informative on purpose: each sets a parameter's scale from one published figure or a
stated assumption and spreads it by a factor of about 2.3 either way (a log-normal with
log-sd 0.5 holds 90% of its mass within x0.44 to x2.3 of its median), so the targets, not
the prior, place the posterior. A prior never uses the figure it would be fitted to alone:
effort priors take the Met's overall mean time for the stream (S-06, S-07 2019/20) for every
pool and both regimes, so the pool and regime differences come from the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

#: calendar days per working day (365 / 253 working days a year, England)
CALENDAR_PER_WORKING_DAY = 365 / 253
#: the Met's mean working days to finalise, 2019/20 (S-06 complaints, S-07 conduct)
MET_COMPLAINTS_WD_1920, MET_CONDUCT_WD_1920 = 137, 292
#: little's law for the hearing stage: S-12's 78 awaiting (June 2021) over S-15's 57 + 26
#: hearings and accelerated hearings in 2020/21 a year, in days
HEARING_DAYS_LITTLE = 78 / (57 + 26) * 365
LOG_SD = 0.5


@dataclass(frozen=True)
class Prior:
    """A log-normal (median, log-sd) or a beta (a, b) prior, with its source in words."""

    kind: str  # "lognormal" or "beta"
    first: float  # lognormal: median; beta: a
    second: float  # lognormal: log-sd; beta: b
    source: str

    def frozen(self) -> Any:
        """The frozen scipy distribution (for its quantiles and density)."""
        if self.kind == "lognormal":
            return stats.lognorm(s=self.second, scale=self.first)
        return stats.beta(self.first, self.second)

    def describe(self) -> str:
        """The prior in words, with its 90% range."""
        lo, hi = np.asarray(self.frozen().ppf([0.05, 0.95]), float)
        if self.kind == "lognormal":
            shape = f"log-normal, median {self.first:.4g}, log-sd {self.second:g}"
        else:
            shape = f"beta({self.first:g}, {self.second:g}), mean {self.frozen().mean():.3g}"
        return f"{shape} (90%: {lo:.3g} to {hi:.3g}); {self.source}"


def _effort(working_days: float, figure: str) -> Prior:
    median = working_days * CALENDAR_PER_WORKING_DAY
    return Prior("lognormal", round(median, 1), LOG_SD,
                 f"the Met's mean of {working_days} working days in 2019/20 ({figure}) x 365/253"
                 " calendar days per working day, for every pool and both regimes")


COMPLAINTS_EFFORT = _effort(MET_COMPLAINTS_WD_1920, "S-06")
CONDUCT_EFFORT = _effort(MET_CONDUCT_WD_1920, "S-07")
CASE_TO_ANSWER = Prior("beta", 2, 4, "weak: about one PSU case in three subject to special"
                       " procedures ends in a meeting or hearing (S-15's 287 proceedings in"
                       " 2019/20 against about 1,600 investigations finalised, about a third"
                       " of the PSU's subject to special procedures, T01-36); the same for"
                       " both regimes")

DPS_CASE_TO_ANSWER = Prior("beta", 4, 8, "T09-05: a case to answer for 33% of the Met's"
                           " finalised allegations; weak (mean 0.33, 90% 0.13 to 0.57), as"
                           " the DPS's gross misconduct cases need not match the Met's whole;"
                           " the same for both regimes")

WORK_SHARE = Prior("beta", 2, 2, "ASSUMPTION: no figure measures how much of a case's time"
                   " is its investigator's own work; symmetric and weak, so the years in which"
                   " caseloads moved against fixed staff (2019/20 to 2021/22) place it as far"
                   " as they can")

#: parameter name -> prior (names as in `sim.studies.calibration.fit.PARAMS`)
PRIORS: dict[str, Prior] = {
    "psu_effort_complaints": COMPLAINTS_EFFORT,
    "psu_effort_conduct": CONDUCT_EFFORT,
    "dps_effort_complaints": COMPLAINTS_EFFORT,
    "dps_effort_conduct": CONDUCT_EFFORT,
    "pre2020_psu_effort_complaints": COMPLAINTS_EFFORT,
    "pre2020_psu_effort_conduct": CONDUCT_EFFORT,
    "pre2020_dps_effort_complaints": COMPLAINTS_EFFORT,
    "pre2020_dps_effort_conduct": CONDUCT_EFFORT,
    "iopc_effort": Prior("lognormal", 300, LOG_SD, "the IOPC's aim of finishing within 12"
                         " months (T03-21: 86% did in 2020/21) puts a typical investigation"
                         " below a year: median 300 days"),
    "iopc_effort_cv": Prior("lognormal", 0.8, LOG_SD, "ASSUMPTION: case lengths vary about as"
                            " much as their mean (no figure gives the spread directly; S-32's"
                            " share over 18 months identifies it)"),
    "psu_case_to_answer": CASE_TO_ANSWER,
    "pre2020_psu_case_to_answer": CASE_TO_ANSWER,
    "dps_case_to_answer": DPS_CASE_TO_ANSWER,
    "pre2020_dps_case_to_answer": DPS_CASE_TO_ANSWER,
    "hearing_days": Prior("lognormal", round(HEARING_DAYS_LITTLE, 1), LOG_SD,
                          "Little's law: S-12's 78 awaiting a hearing over S-15's 83 hearings"
                          " and accelerated hearings a year (2020/21)"),
    "psu_work_share": WORK_SHARE,
    "dps_work_share": WORK_SHARE,
    "panel_work_share": WORK_SHARE,
    "suspended_scale": Prior("lognormal", 1.0, LOG_SD, "the derived shares as they are"
                             " (scale 1), give or take a factor of 2.3"),
    "restricted_scale": Prior("lognormal", 1.0, LOG_SD, "the derived shares as they are"
                              " (scale 1), give or take a factor of 2.3"),
}


__all__ = ["PRIORS", "Prior"]
