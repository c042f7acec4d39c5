"""Random streams: one generator per replication and purpose, spawned from one SeedSequence.

A stream is addressed by (seed, replication, purpose), never by seed arithmetic, so one
replication can be rerun alone and two scenarios run with the same seed share random
numbers wherever their structure is the same (common random numbers): changing staffing
never changes a replication's arrivals.
"""

from __future__ import annotations

import numpy as np

# Fixed purpose numbers: appending is safe, renumbering breaks reproducibility.
PURPOSES = (
    "arrivals",
    "allegations",
    "assessment",
    "iopc_referral",
    "officers",
    "cps",
    "proceedings",
    "effort.iopc.complaints",
    "effort.iopc.conduct",
    "effort.dps.complaints",
    "effort.dps.conduct",
    "effort.psu.complaints",
    "effort.psu.conduct",
    "hearing_durations",
    "parameters",  # calibration draws per group of replications (studies/parameter_uncertainty)
    "iopc_declined",  # the other fate of a referral the IOPC may decline (caseload_limit)
    "sittings",  # a hearing's days in a room (proceedings.sittings)
)
_INDEX = {name: i for i, name in enumerate(PURPOSES)}


def stream(seed: int, replication: int, purpose: str) -> np.random.Generator:
    """The generator for one replication and purpose of a run with `seed`."""
    seq = np.random.SeedSequence(seed, spawn_key=(replication, _INDEX[purpose]))
    return np.random.Generator(np.random.PCG64(seq))


class Streams:
    """The streams of one replication, created on first use."""

    def __init__(self, seed: int, replication: int) -> None:
        self.seed = seed
        self.replication = replication
        self._made: dict[str, np.random.Generator] = {}

    def __getitem__(self, purpose: str) -> np.random.Generator:
        if purpose not in self._made:
            self._made[purpose] = stream(self.seed, self.replication, purpose)
        return self._made[purpose]
