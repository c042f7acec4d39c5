"""What happens to each case, drawn up front: routing decisions and every duration.

The queues are the only part of the system whose timing depends on other cases, so all
randomness is drawn once per case, from named streams, before any queueing: the engines
decide only *when* each case gets an investigator or a panel. The compiled kernel makes the
draws (`sim.engine.engines.compiled.draw_replication` returns them as `CaseDraws`); the DES
reads the same draws, which makes the common random numbers exact and lets tests compare
the engines case by case.

Cases the assessment resolves without investigation (outside Schedule 3, otherwise than by
investigation, reflective practice) hold no scarce resource, so they are kept as monthly
counts: splitting a Poisson stream by independent shares gives independent Poisson streams,
so this is exact in distribution, not an approximation.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from sim.model.scenario import POOLS

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
#: a case's severity (S-11); NO_SEVERITY for a case no pool investigates
NO_SEVERITY, GROSS_MISCONDUCT, MISCONDUCT, NOT_SPECIAL = -1, 0, 1, 2
SEVERITIES = ("gross_misconduct", "misconduct", "not_special")


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
    severity: np.ndarray  # GROSS_MISCONDUCT, MISCONDUCT, NOT_SPECIAL or NO_SEVERITY
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
    iopc_candidate: np.ndarray  # bool: with a caseload limit, the IOPC would take it if it can
    sitting_days: np.ndarray  # a hearing's days in a room (0: no sitting)

    def __len__(self) -> int:
        return int(self.arrival.size)

    def subset(self, keep: np.ndarray) -> CaseDraws:
        per_case = {f.name: getattr(self, f.name)[keep] for f in fields(self)
                    if f.name not in ("replication", "counts")}
        return CaseDraws(replication=self.replication, counts=self.counts, **per_case)
