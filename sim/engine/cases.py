"""What happens to each case, drawn up front: routing decisions and every duration.

The queues are the only part of the system whose timing depends on other cases, so all
randomness is drawn here, once, from named streams; the engines decide only *when* each
case gets an investigator or a panel. Both engines read the same draws, which makes the
common random numbers exact and lets tests compare the engines case by case.

Cases the assessment resolves without investigation (outside Schedule 3, otherwise than by
investigation, reflective practice) hold no scarce resource, so they are kept as monthly
counts: splitting a Poisson stream by independent shares gives independent Poisson streams,
so this is exact in distribution, not an approximation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from functools import partial

import numpy as np

from sim.engine.randomness import Streams
from sim.engine.regimes import Regimes
from sim.model.demand import monthly_expected_cases, place_in_months
from sim.model.distributions import Distribution
from sim.model.scenario import POOLS, STREAMS, Scenario
from sim.model.timeline import Timeline

OUTCOMES = ("outside_schedule3", "otherwise", "reflective_practice", "psu", "dps", "iopc")
INVESTIGATIVE = ("psu", "dps", "iopc")  # outcomes that become individual cases

#: a case's pool as a number: its position in `POOLS`, the order the engines index pools in
#: (add a pool to `POOLS` and every code follows); NO_POOL for a case no pool investigates
POOL_CODE = {name: code for code, name in enumerate(POOLS)}
IOPC, DPS, PSU = POOL_CODE["iopc"], POOL_CODE["dps"], POOL_CODE["psu"]
NO_POOL = -1
NO_ROUTE, MEETING, HEARING, ACCELERATED = -1, 0, 1, 2
ROUTES = ("meeting", "hearing", "accelerated")
NOT_HELD, SUSPENDED, RESTRICTED = 0, 1, 2


@dataclass(frozen=True)
class MonthlyCounts:
    """Every arrival, as counts per simulated month (index: stream, [outcome,] month)."""

    cases: np.ndarray  # (2, months)
    allegations: np.ndarray  # (2, months)
    outcomes: np.ndarray  # (2, 6, months)


@dataclass(frozen=True)
class CaseDraws:
    """The individual cases of one replication, in arrival order, and their fates."""

    replication: int
    counts: MonthlyCounts
    arrival: np.ndarray  # day the case was received
    stream: np.ndarray  # 0 complaint, 1 conduct
    assess_days: np.ndarray  # receipt to assessment decision
    referred: np.ndarray  # bool: referred to the IOPC
    refer_days: np.ndarray  # IOPC's decision time (0 if not referred)
    pool: np.ndarray  # IOPC, DPS, PSU or NO_POOL
    effort_days: np.ndarray  # time the case holds an investigator slot
    officer: np.ndarray  # NOT_HELD, SUSPENDED or RESTRICTED while the case is open
    cps_referred: np.ndarray  # bool
    cps_days: np.ndarray  # file to charging decision
    charged: np.ndarray  # bool
    trial_days: np.ndarray  # charge to verdict
    convicted: np.ndarray  # bool
    route: np.ndarray  # NO_ROUTE, MEETING, HEARING or ACCELERATED
    proceedings_days: np.ndarray  # meeting, hearing (panel time) or accelerated duration
    proven: np.ndarray  # bool
    dismissed: np.ndarray  # bool

    def __len__(self) -> int:
        return int(self.arrival.size)

    def subset(self, keep: np.ndarray) -> CaseDraws:
        per_case = {f.name: getattr(self, f.name)[keep] for f in fields(self)
                    if f.name not in ("replication", "counts")}
        return CaseDraws(replication=self.replication, counts=self.counts, **per_case)


def draw_replication(
    scenario: Scenario, timeline: Timeline, seed: int, replication: int,
    regimes: Regimes | None = None,
) -> CaseDraws:
    """Draw everything random about one replication.

    `regimes` (the lever schedule) is computed from the scenario when not given; pass it
    to avoid recomputing it for every replication.
    """
    regimes = regimes or Regimes.for_scenario(scenario, timeline)
    rng = Streams(seed, replication)
    counts, arrival, stream, outcome = _draw_arrivals(scenario, timeline, rng, regimes)
    month = np.searchsorted(timeline.month_edges, arrival, side="right") - 1
    by = _ByRegime(regimes.scenarios, regimes.of_month[month])
    assess_days = by.sample(lambda s: s.assessment.time_days, rng["assessment"])

    referred = outcome == OUTCOMES.index("iopc")
    refer_days, pool = _draw_referrals(by, rng["iopc_referral"], outcome, referred)
    effort_days = _draw_effort(by, rng, pool, stream)
    officer = _draw_officer_status(by, rng["officers"], pool)
    cps = _draw_cps(by, rng["cps"], pool)
    proceedings = _draw_proceedings(by, rng, pool, cps["convicted"])
    return CaseDraws(
        replication=replication, counts=counts, arrival=arrival, stream=stream,
        assess_days=assess_days, referred=referred, refer_days=refer_days, pool=pool,
        effort_days=effort_days, officer=officer, **cps, **proceedings,
    )


class _ByRegime:
    """Parameters looked up per case from the rules in force when it was received."""

    def __init__(self, scenarios: list[Scenario], regime: np.ndarray) -> None:
        self.scenarios = scenarios
        self.regime = regime
        self.n = int(regime.size)

    def value(self, get: Callable[[Scenario], float]) -> np.ndarray | float:
        """A parameter for each case (a scalar when one rule set holds throughout)."""
        if len(self.scenarios) == 1:
            return float(get(self.scenarios[0]))
        return np.array([get(s) for s in self.scenarios], dtype=float)[self.regime]

    def per_code(self, get: Callable[[Scenario], object], names: tuple[str, ...],
                 code: np.ndarray) -> np.ndarray:
        """A share named by each case's code (a pool or a route); 0 for code -1 (none)."""
        table = np.array([[getattr(get(s), n) for n in names] + [0.0] for s in self.scenarios])
        return table[0, code] if len(self.scenarios) == 1 else table[self.regime, code]

    def sample(self, get: Callable[[Scenario], Distribution], rng: np.random.Generator,
               mask: np.ndarray | None = None) -> np.ndarray:
        """Durations for the cases in `mask` (all by default); 0 elsewhere."""
        if len(self.scenarios) == 1:
            if mask is None:
                return get(self.scenarios[0]).sample(rng, self.n)
            out = np.zeros(self.n)
            out[mask] = get(self.scenarios[0]).sample(rng, int(mask.sum()))
            return out
        out = np.zeros(self.n)
        for g, s in enumerate(self.scenarios):
            m = self.regime == g if mask is None else mask & (self.regime == g)
            out[m] = get(s).sample(rng, int(m.sum()))
        return out


def _draw_arrivals(scenario: Scenario, timeline: Timeline, rng: Streams, regimes: Regimes):
    months = len(timeline.month_edges) - 1
    cases = np.zeros((2, months), dtype=np.int64)
    allegations = np.zeros((2, months), dtype=np.int64)
    outcomes = np.zeros((2, len(OUTCOMES), months), dtype=np.int64)
    days, streams, kinds = [], [], []
    for s, name in enumerate(STREAMS):
        demand = getattr(scenario.demand, name)
        expected = regimes.cached(f"expected.{name}", partial(monthly_expected_cases, demand,
                                                              scenario, timeline))
        cases[s] = rng["arrivals"].poisson(expected)
        extra = demand.allegations_per_case - 1.0
        allegations[s] = cases[s] + rng["allegations"].poisson(cases[s] * extra)
        table = regimes.cached(f"outcomes.{name}", partial(_outcome_table, regimes, name))
        if len(regimes.scenarios) == 1:
            outcomes[s] = rng["assessment"].multinomial(cases[s], table[0]).T
        else:
            outcomes[s] = rng["assessment"].multinomial(cases[s], table[regimes.of_month]).T
        for o in INVESTIGATIVE:
            k = OUTCOMES.index(o)
            placed = place_in_months(outcomes[s, k], timeline, rng["arrivals"])
            days.append(placed)
            streams.append(np.full(placed.size, s, dtype=np.int8))
            kinds.append(np.full(placed.size, k, dtype=np.int8))
    arrival = np.concatenate(days)
    order = np.argsort(arrival, kind="stable")
    return (MonthlyCounts(cases, allegations, outcomes), arrival[order],
            np.concatenate(streams)[order], np.concatenate(kinds)[order])


def _outcome_table(regimes: Regimes, stream: str) -> np.ndarray:
    """Assessment outcome shares per regime (rows normalised against rounding)."""
    table = np.array([[getattr(getattr(r.assessment, stream), o) for o in OUTCOMES]
                      for r in regimes.scenarios])
    return table / table.sum(axis=1, keepdims=True)


def _draw_referrals(by: _ByRegime, rng: np.random.Generator, outcome, referred):
    """IOPC decision time and the pool each case ends up in."""
    refer_days = by.sample(lambda s: s.iopc_referral.assessment_days, rng, referred)
    u_mode, u_local = rng.random(by.n), rng.random(by.n)
    local_psu = by.value(lambda s: s.iopc_referral.local_routing.psu)
    local_dps = by.value(lambda s: s.iopc_referral.local_routing.dps)
    independent = by.value(lambda s: s.iopc_referral.independent)
    directed = by.value(lambda s: s.iopc_referral.directed)
    local_pool = np.select([u_local < local_psu, u_local < local_psu + local_dps],
                           [PSU, DPS], NO_POOL)
    via_iopc = np.select([u_mode < independent, u_mode < independent + directed],
                         [IOPC, DPS], local_pool)
    direct = np.where(outcome == OUTCOMES.index("dps"), DPS, PSU)
    return refer_days, np.where(referred, via_iopc, direct).astype(np.int8)


def _draw_effort(by: _ByRegime, rng: Streams, pool, stream) -> np.ndarray:
    """Investigation effort per case, from its own stream per pool and case type."""
    effort = np.zeros(by.n)
    for pool_name in POOLS:
        for s, stream_name in enumerate(STREAMS):
            mask = (pool == POOL_CODE[pool_name]) & (stream == s)

            def dist(sc: Scenario, p=pool_name, st=stream_name) -> Distribution:
                return getattr(getattr(sc.pools, p).investigation_days, st)

            effort += by.sample(dist, rng[f"effort.{pool_name}.{stream_name}"], mask)
    return effort


def _draw_officer_status(by: _ByRegime, rng: np.random.Generator, pool) -> np.ndarray:
    u = rng.random(by.n)
    s = by.per_code(lambda sc: sc.officers.suspended, POOLS, pool)
    r = by.per_code(lambda sc: sc.officers.restricted, POOLS, pool)
    return np.select([u < s, u < s + r], [SUSPENDED, RESTRICTED], NOT_HELD).astype(np.int8)


def _draw_cps(by: _ByRegime, rng: np.random.Generator, pool) -> dict[str, np.ndarray]:
    n = by.n
    referred = rng.random(n) < by.per_code(lambda s: s.cps.referral_share, POOLS, pool)
    charged = referred & (rng.random(n) < by.value(lambda s: s.cps.charge_share))
    convicted = charged & (rng.random(n) < by.value(lambda s: s.cps.conviction_share))
    # Durations only for the cases that have the stage: the uniforms above keep every
    # case's fate aligned across scenarios, and this is most of the sampling saved.
    return {"cps_referred": referred,
            "cps_days": by.sample(lambda s: s.cps.decision_days, rng, referred),
            "charged": charged,
            "trial_days": by.sample(lambda s: s.cps.trial_days, rng, charged),
            "convicted": convicted}


def _draw_proceedings(by: _ByRegime, rng: Streams, pool, convicted) -> dict[str, np.ndarray]:
    n = by.n
    g = rng["proceedings"]
    case_to_answer = g.random(n) < by.per_code(lambda s: s.proceedings.case_to_answer, POOLS,
                                               pool)
    u = g.random(n)
    meeting = by.value(lambda s: s.proceedings.route.meeting)
    hearing = by.value(lambda s: s.proceedings.route.hearing)
    chosen = np.select([u < meeting, u < meeting + hearing], [MEETING, HEARING], ACCELERATED)
    route = np.where(convicted, ACCELERATED, np.where(case_to_answer, chosen, NO_ROUTE))
    route = np.where(pool == NO_POOL, NO_ROUTE, route).astype(np.int8)
    proceedings_days = (
        by.sample(lambda s: s.proceedings.meeting_days, g, route == MEETING)
        + by.sample(lambda s: s.proceedings.hearing_days, rng["hearing_durations"],
                    route == HEARING)
        + by.sample(lambda s: s.proceedings.accelerated_days, g, route == ACCELERATED))
    u_proven, u_dismiss = g.random(n), g.random(n)
    proven_p = by.per_code(lambda s: s.proceedings.proven, ROUTES, route)
    dismissed_p = by.per_code(lambda s: s.proceedings.dismissed_if_proven, ROUTES, route)
    proven = (route >= 0) & (u_proven < proven_p)
    dismissed = proven & (u_dismiss < dismissed_p)
    return {"route": route, "proceedings_days": proceedings_days,
            "proven": proven, "dismissed": dismissed}
