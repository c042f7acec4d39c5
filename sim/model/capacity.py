"""Productive case slots over time, from staff steps, cases per head and training lag.

One rule serves every engine: a recruit is productive `training_lag_days` after joining,
a leaver goes at once, so productive staff at t is min(staff(t), staff(t - lag)); slots are
productive staff x cases per head, rounded down. A case started on a slot keeps it until it
is done (no pre-emption). When slots(t) rises, new slots open at once; when it falls, the
slots that come free first close: idle ones at once, busy ones when their case ends (an
investigator who leaves finishes the case in hand). Under this rule only the free times of
the slots matter, never which slot is which, so both engines can follow it exactly.

Shared time (`full_pace_caseload` set below `cases_per_staff`): cases in hand progress at
full pace while there are at most productive staff x `full_pace_caseload` of them; with n
more than that pace p, each progresses at p / n of full pace (the pool's time shared
equally, processor sharing), so a case takes longer when its pool carries more. Slots still
cap the cases in hand; the rest wait first come, first served.
"""

from __future__ import annotations

import math

import numpy as np

from sim.model.scenario import Capacity
from sim.model.timeline import Timeline


def capacity_schedule(capacity: Capacity,
                      timeline: Timeline) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(times, slots, pace): from times[i] the pool has slots[i] case slots, and its cases in
    hand progress at full pace while they number at most pace[i] (productive staff x
    `full_pace_caseload`; inf for a pool of slots alone); times[0] is -inf."""
    step_days = np.array([timeline.day(s.from_) for s in capacity.staff])
    lag = capacity.training_lag_days
    times = sorted({-math.inf, *step_days.tolist(), *(step_days + lag).tolist()})
    productive = np.minimum(timeline.in_force(capacity.staff, np.array(times)),
                            timeline.in_force(capacity.staff, np.array(times) - lag))
    slots = [math.floor(p * capacity.cases_per_staff + 1e-9) for p in productive.tolist()]
    pace = [p * capacity.full_pace_caseload if capacity.shares_time
            and capacity.full_pace_caseload is not None else math.inf
            for p in productive.tolist()]
    keep = [0] + [i for i in range(1, len(times))
                  if (slots[i], pace[i]) != (slots[i - 1], pace[i - 1])]
    return (np.array([times[i] for i in keep]), np.array([slots[i] for i in keep],
                                                         dtype=np.int64),
            np.array([pace[i] for i in keep]))


def slot_schedule(capacity: Capacity, timeline: Timeline) -> tuple[np.ndarray, np.ndarray]:
    """(times, slots): from times[i] the pool has slots[i] case slots; times[0] is -inf."""
    times, slots, _ = capacity_schedule(capacity, timeline)
    return times, slots
