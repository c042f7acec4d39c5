"""What an engine returns: every timestamp of every case, for a chunk of replications.

Rows are cases of all replications in the chunk, one after another; `rep` says which.
A time is NaN where the stage never happened or had not happened by the horizon's end,
so every metric censors exactly as the published figures do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.engine.cases import CaseDraws

STATIC_FIELDS = ("stream", "pool", "severity", "officer", "route", "referred", "proven",
                 "dismissed", "convicted")
TIME_FIELDS = (
    "arrival",  # received by the force
    "assessed",  # assessment decision
    "referral_decided",  # IOPC decision on a referral
    "inv_queued",  # allocated to an investigator pool (waiting for a slot)
    "inv_start",  # an investigator slot taken
    "inv_end",  # investigation finished
    "cps_decided",  # CPS charging decision
    "trial_end",  # verdict
    "hearing_queued",  # ready for a hearing, waiting for a panel
    "hearing_start",  # a panel taken (a chair's listing)
    "sitting_queued",  # listed and ready to sit, waiting for a room (with sittings)
    "sitting_start",  # a room taken
    "proceedings_end",  # meeting, hearing or accelerated hearing concluded
    "finalised",  # the case is over
)


@dataclass
class Records:
    """Case timestamps and attributes for a chunk of replications, plus monthly counts."""

    replications: np.ndarray  # the replication number of each chunk position
    rep: np.ndarray  # chunk position of each row
    monthly_cases: np.ndarray  # (R, 2, months) arrivals per stream
    monthly_allegations: np.ndarray  # (R, 2, months)
    monthly_outcomes: np.ndarray  # (R, 2, 6, months)
    columns: dict[str, np.ndarray]

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            return self.__dict__["columns"][name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def n_reps(self) -> int:
        return int(self.replications.size)

    @classmethod
    def blank(cls, draws: list[CaseDraws]) -> Records:
        """Static columns from the draws; every time NaN, for an engine to fill in."""
        sizes = [len(d) for d in draws]
        rep = np.repeat(np.arange(len(draws), dtype=np.int32), sizes)
        columns = {f: np.concatenate([getattr(d, f) for d in draws]) for f in STATIC_FIELDS}
        n = int(rep.size)
        columns.update({f: np.full(n, np.nan) for f in TIME_FIELDS})
        return cls(
            replications=np.array([d.replication for d in draws], dtype=np.int64),
            rep=rep,
            monthly_cases=np.stack([d.counts.cases for d in draws]),
            monthly_allegations=np.stack([d.counts.allegations for d in draws]),
            monthly_outcomes=np.stack([d.counts.outcomes for d in draws]),
            columns=columns,
        )

    def censor(self, horizon_days: float) -> None:
        """Forget whatever happened at or after the horizon (it was not seen)."""
        for f in TIME_FIELDS:
            col = self.columns[f]
            col[col >= horizon_days] = np.nan

    def subset(self, keep: np.ndarray) -> Records:
        """The same replications with only the cases in `keep`."""
        return Records(self.replications, self.rep[keep], self.monthly_cases,
                       self.monthly_allegations, self.monthly_outcomes,
                       {k: v[keep] for k, v in self.columns.items()})

    def offsets(self) -> np.ndarray:
        """Row index where each replication's cases begin (and the total at the end)."""
        counts = np.bincount(self.rep, minlength=self.n_reps)
        return np.concatenate([[0], np.cumsum(counts)])

