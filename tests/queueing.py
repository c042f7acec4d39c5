"""Queueing theory and single-pool scenarios for the verification tests.

Theory: Erlang C for M/M/c (written out here, no library), the M/M/c relaxation time used
to size warm-ups, and M/G/infinity. Scenarios: the shipped baseline cut down to one
investigator pool fed by a Poisson stream, so that pool is a textbook queue. Measurements:
per-replication statistics from the engine's case records, and a Student t interval across
replications.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
from scipy import integrate, stats

from sim.engine.cases import PSU
from sim.engine.engines import case_records
from sim.engine.records import Records
from sim.model.scenario import Scenario, scenario_from_dict
from sim.model.timeline import DAYS_PER_YEAR, Timeline
from tests.conftest import small_dict

LONG_AGO = "1970-01-01"  # steps dated before any warm-up: constant rates and staff throughout
DAYS_PER_MONTH = DAYS_PER_YEAR / 12

# --------------------------------------------------------------------------- theory


def erlang_b(c: int, a: float) -> float:
    """Blocking probability of M/M/c/c with offered load `a` (stable recursion over c)."""
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(c: int, a: float) -> float:
    """Probability that an arrival waits in M/M/c with offered load a = lambda/mu < c."""
    if not 0 <= a < c:
        raise ValueError(f"offered load {a} must be below the {c} servers for a steady state")
    b = erlang_b(c, a)
    return c * b / (c - a * (1 - b))


def mmc_mean_wait(lam: float, mu: float, c: int) -> float:
    """Mean wait in queue, Wq = C(c, a) / (c mu - lambda)."""
    return erlang_c(c, lam / mu) / (c * mu - lam)


def mmc_relaxation_time(mu: float, c: int, rho: float) -> float:
    """Relaxation time of M/M/c, 1 / (c mu (1 - sqrt(rho))^2).

    The exact spectral-gap value for M/M/1 (Morse 1955) and its heavy-traffic form for c
    servers, which is when it matters: the distance from steady state decays about like
    exp(-t / relaxation time), so a warm-up of k relaxation times leaves a bias of order
    exp(-k) of the starting deviation.
    """
    return 1.0 / (c * mu * (1.0 - math.sqrt(rho)) ** 2)


def mg_inf_start_bias(lam: float, dist: stats.rv_continuous, warmup: float) -> float:
    """Upper bound on how far below lambda E[S] the mean occupancy is after `warmup`.

    An M/G/infinity queue started empty holds Poisson(lambda * int_0^t (1 - G)) cases at t,
    so its shortfall from lambda E[S] is lambda * int_t^inf (1 - G), largest at t = warmup.
    """
    tail, _ = integrate.quad(dist.sf, warmup, np.inf, limit=200)
    return lam * tail


def lognormal(mean: float, cv: float) -> stats.rv_continuous:
    """scipy's lognormal with the given mean and cv (the parametrisation of sim's LogNormal)."""
    sigma2 = math.log1p(cv**2)
    return stats.lognorm(s=math.sqrt(sigma2), scale=mean * math.exp(-sigma2 / 2))


# --------------------------------------------------------------------------- intervals


@dataclass(frozen=True)
class Interval:
    mean: float
    half_width: float
    level: float
    n: int

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width

    def __contains__(self, value: float) -> bool:
        return self.low <= value <= self.high

    def __str__(self) -> str:
        return (f"{self.mean:.5g} +/- {self.half_width:.3g} "
                f"({self.level:.0%} t interval over {self.n} replications)")


def t_interval(values: np.ndarray, level: float = 0.99) -> Interval:
    """Student t interval for the mean of independent replication values."""
    values = np.asarray(values, dtype=float)
    n = values.size
    q = stats.t.ppf(0.5 + level / 2, n - 1)
    return Interval(float(values.mean()), float(q * values.std(ddof=1) / math.sqrt(n)),
                    level, n)


# --------------------------------------------------------------------------- scenarios


def single_pool_dict(
    *, arrivals_per_day: float, service: dict, staff: float, cases_per_staff: float,
    warmup_years: float, horizon_years: int,
) -> dict:
    """The baseline reduced to one queue: Poisson arrivals straight into the PSU pool.

    Every complaint goes to the PSU pool with zero assessment time (so a case is ready for
    the pool the moment it arrives); there are no conduct matters, no IOPC referrals, no CPS
    files and no proceedings; staff, demand and officer numbers are constant from before
    the warm-up, so the training lag never bites and c = staff x cases_per_staff throughout.
    """
    d = copy.deepcopy(small_dict(horizon_years=horizon_years, warmup_years=warmup_years))
    d["name"] = "verification"
    d["demand"]["complaints"]["cases_per_month"] = [
        {"from": LONG_AGO, "value": arrivals_per_day * DAYS_PER_MONTH}]
    d["demand"]["conduct"]["cases_per_month"] = [{"from": LONG_AGO, "value": 0.0}]
    d["demand"]["officers"] = [{"date": LONG_AGO, "officers": 30000}]
    d["demand"]["elasticity"] = 0.0
    d["assessment"]["time_days"] = {"dist": "fixed", "value": 0.0}
    to_psu = {"outside_schedule3": 0.0, "otherwise": 0.0, "reflective_practice": 0.0,
              "psu": 1.0, "dps": 0.0, "iopc": 0.0}
    d["assessment"]["complaints"] = dict(to_psu)
    d["assessment"]["conduct"] = dict(to_psu)
    psu = d["pools"]["psu"]
    psu["staff"] = [{"from": LONG_AGO, "value": staff}]
    psu["cases_per_staff"] = cases_per_staff
    psu["training_lag_days"] = 0.0
    psu["investigation_days"] = {"complaints": service, "conduct": service}
    psu.pop("reference_caseload", None)  # slots alone: a case takes its effort whatever
    psu.pop("investigator_work_share", None)  # the pool carries
    d["cps"]["referral_share"]["psu"] = 0.0
    d["proceedings"]["case_to_answer"]["psu"] = 0.0
    return d


def single_pool(**kwargs) -> Scenario:
    return scenario_from_dict(single_pool_dict(**kwargs))


def iopc_loss_dict(*, arrivals_per_day: float, service: dict, slots: int, limit: float,
                   warmup_years: float, horizon_years: int) -> dict:
    """One IOPC queue with a caseload limit: every complaint is referred at once, the IOPC
    would take every referral (independent 1) with `slots` slots, and takes it only while
    fewer than limit x slots are open; a declined one leaves the system (local, none). So
    the IOPC is M/G/c/K with K = limit x slots: with limit 1 the Erlang loss system."""
    d = single_pool_dict(arrivals_per_day=arrivals_per_day, service=service, staff=slots,
                         cases_per_staff=1.0, warmup_years=warmup_years,
                         horizon_years=horizon_years)
    to_iopc = {"outside_schedule3": 0.0, "otherwise": 0.0, "reflective_practice": 0.0,
               "psu": 0.0, "dps": 0.0, "iopc": 1.0}
    d["assessment"]["complaints"] = dict(to_iopc)
    d["assessment"]["conduct"] = dict(to_iopc)
    d["iopc_referral"].update({
        "assessment_days": {"dist": "fixed", "value": 0.0}, "independent": 1.0,
        "directed": 0.0, "local": 0.0, "local_routing": {"psu": 0.0, "dps": 0.0, "none": 1.0},
        "caseload_limit": limit})
    iopc = d["pools"]["iopc"]
    iopc.update({"staff": [{"from": LONG_AGO, "value": slots}], "cases_per_staff": 1.0,
                 "training_lag_days": 0.0,
                 "investigation_days": {"complaints": service, "conduct": service}})
    d["cps"]["referral_share"]["iopc"] = 0.0
    d["proceedings"]["case_to_answer"]["iopc"] = 0.0
    return d


def mmck_blocking(c: int, k: int, a: float) -> float:
    """Blocking probability of M/M/c/K (K places in all, c servers, offered load a): by
    PASTA the probability an arrival finds all K places taken."""
    weights = [a**n / math.factorial(n) if n <= c
               else a**c / math.factorial(c) * (a / c) ** (n - c) for n in range(k + 1)]
    return weights[-1] / sum(weights)


def simulate(scenario: Scenario, reps: int, seed: int, engine: str = "des",
             ) -> tuple[Records, Timeline]:
    """Case records of `reps` replications from an engine (the DES engine by default)."""
    timeline = Timeline.for_scenario(scenario)
    return case_records(engine, scenario, timeline, seed, range(reps)), timeline


# --------------------------------------------------------------------------- measurements


def mean_wait_per_rep(rec: Records, arrived_from: float, arrived_to: float) -> np.ndarray:
    """Mean wait for a slot (start - ready) per replication, over PSU cases whose arrival
    lies in [arrived_from, arrived_to).

    `arrived_to` must leave enough time before the horizon for every such case to have
    started: a wait cut off by the horizon would be dropped and bias the mean down, so
    this raises rather than average a censored sample.
    """
    sel = (rec.pool == PSU) & (rec.arrival >= arrived_from) & (rec.arrival < arrived_to)
    if np.isnan(rec.inv_start[sel]).any():
        raise AssertionError("some measured cases had not started by the horizon: "
                             "leave a longer margin before the horizon")
    wait = rec.inv_start[sel] - rec.inv_queued[sel]
    return _per_rep_mean(rec, sel, wait)


def waited_share_per_rep(rec: Records, arrived_from: float, arrived_to: float) -> np.ndarray:
    """Share of those cases that waited at all (Erlang C's probability of waiting)."""
    sel = (rec.pool == PSU) & (rec.arrival >= arrived_from) & (rec.arrival < arrived_to)
    waited = (rec.inv_start[sel] > rec.inv_queued[sel]).astype(float)
    return _per_rep_mean(rec, sel, waited)


def _per_rep_mean(rec: Records, sel: np.ndarray, values: np.ndarray) -> np.ndarray:
    counts = np.bincount(rec.rep[sel], minlength=rec.n_reps)
    sums = np.bincount(rec.rep[sel], weights=values, minlength=rec.n_reps)
    if (counts == 0).any():
        raise AssertionError("a replication has no measured cases")
    return sums / counts


def mean_in_service_per_rep(rec: Records, lo: float, hi: float) -> np.ndarray:
    """Time-average number of PSU cases holding a slot over [lo, hi), per replication.

    A case counts from `inv_start` to `inv_end`. An end that is NaN (censored: the case was
    still in service at the horizon) counts as the horizon, so cases in service at the end
    still occupy; a start that is NaN means the case never got a slot before the horizon.
    """
    sel = (rec.pool == PSU) & ~np.isnan(rec.inv_start)
    start = rec.inv_start[sel]
    end = np.where(np.isnan(rec.inv_end[sel]), np.inf, rec.inv_end[sel])
    overlap = np.clip(np.minimum(end, hi) - np.maximum(start, lo), 0.0, None)
    return np.bincount(rec.rep[sel], weights=overlap, minlength=rec.n_reps) / (hi - lo)
