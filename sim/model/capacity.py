"""Productive case slots over time, from staff steps, cases per head and training lag.

One rule serves every engine: a recruit is productive `training_lag_days` after joining,
a leaver goes at once, so productive staff at t is min(staff(t), staff(t - lag)); slots are
productive staff x cases per head, rounded down. A case started on a slot keeps it until it
is done (no pre-emption). When slots(t) rises, new slots open at once; when it falls, the
slots that come free first close: idle ones at once, busy ones when their case ends (an
investigator who leaves finishes the case in hand). Under this rule only the free times of
the slots matter, never which slot is which, so both engines can follow it exactly.

Shared time (`reference_caseload` k set): a case takes its stated effort when each
productive investigator carries k cases in hand, and the share of its time that is its
investigator's own work (`investigator_work_share` w) follows the caseload in proportion:
with n in hand among S productive staff a unit of effort takes (1 - w) + w max(n, S) / (S k)
of time, so every case in hand progresses at one common rate, the inverse of that
(`sim.engine.compiled.kernel.shared_rate`, which both engines call). Slower above k cases
each, faster below, never faster than with one case each; the rest of its time (waiting on
witnesses, evidence, others) goes at its own pace. w = 1 and k = 1 is processor sharing
(one case each at full pace, more share the time equally). Slots still cap the cases in
hand; the rest wait first come, first served.

Sittings (`proceedings.sittings` set): a hearing its chair has listed then needs a room
and its chair for its sitting days, so the hearings that can sit at once are the rooms or
the productive chairs, whichever is fewer (`sitting_schedule`); a room is a slot of its own
kind, and the same rule for falls holds (a hearing that has started sits to its end). The
chair's listing ends when the hearing is ready to sit (sequential stages: a chair who sits
for a few days of a hearing listed for months is busy with it throughout, which the
listing's shared time already counts).
"""

from __future__ import annotations

import math

import numpy as np

from sim.model.scenario import Capacity, Sittings
from sim.model.timeline import Timeline


def capacity_schedule(capacity: Capacity,
                      timeline: Timeline) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(times, slots, pace): from times[i] the pool has slots[i] case slots, and its cases in
    hand take their stated effort when they number pace[i] (productive staff x
    `reference_caseload`; inf for a pool of slots alone); times[0] is -inf."""
    times, productive = _productive(capacity, timeline)
    slots = [math.floor(p * capacity.cases_per_staff + 1e-9) for p in productive.tolist()]
    pace = [p * capacity.reference_caseload if capacity.reference_caseload is not None
            else math.inf
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


def sitting_schedule(sittings: Sittings, chairs: Capacity,
                     timeline: Timeline) -> tuple[np.ndarray, np.ndarray]:
    """(times, slots): from times[i] slots[i] hearings can sit at once, the whole rooms or
    the whole productive chairs, whichever is fewer; times[0] is -inf."""
    chair_times, productive = _productive(chairs, timeline)
    room_days = [timeline.day(s.from_) for s in sittings.rooms]
    times = np.array(sorted({*chair_times.tolist(), *room_days}))
    rooms = timeline.in_force(sittings.rooms, times)
    held = productive[np.searchsorted(chair_times, times, side="right") - 1]
    slots = [math.floor(min(r, c) + 1e-9) for r, c in zip(rooms.tolist(), held.tolist(),
                                                           strict=True)]
    keep = [0] + [i for i in range(1, len(times)) if slots[i] != slots[i - 1]]
    return times[keep], np.array([slots[i] for i in keep], dtype=np.int64)


def _productive(capacity: Capacity, timeline: Timeline) -> tuple[np.ndarray, np.ndarray]:
    """(times, productive staff from each): a recruit counts `training_lag_days` after the
    step that brings them, a leaver at once; times[0] is -inf."""
    step_days = np.array([timeline.day(s.from_) for s in capacity.staff])
    lag = capacity.training_lag_days
    times = np.array(sorted({-math.inf, *step_days.tolist(), *(step_days + lag).tolist()}))
    productive = np.minimum(timeline.in_force(capacity.staff, times),
                            timeline.in_force(capacity.staff, times - lag))
    return times, productive
