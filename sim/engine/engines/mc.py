"""The vectorised engine: the DES's rules, run for a whole chunk of replications at once.

The network is feed-forward, so every stage is computed in order over whole arrays:
unlimited stages (assessment, the IOPC decision, the CPS, trials, meetings) are a time plus
a delay, and each capacity-limited stage (the three investigator pools and the hearing
panels) is the Kiefer-Wolfowitz recursion for a first-come-first-served multi-slot queue,
looping over cases in queue order and vectorised over replications.

A pool's state is the free time of each open slot, an R x slots array kept in groups of
about sqrt(slots) with each group's minimum beside it, so that finding the earliest free
slot costs O(sqrt(slots)) per case rather than O(slots). Capacity changes follow the rule
in `sim.model.capacity`: a rise opens slots free from that day; a fall retires the slots that come
free first (idle ones at once, busy ones when their case ends). Slot identity never matters
under that rule, which is what makes the recursion exact rather than an approximation: the
tests compare it with the DES case by case.

Array code takes its array module as `xp` and uses only functions CuPy also provides, so a
GPU backend needs no rewrite.
"""

from __future__ import annotations

import math
from types import ModuleType

import numpy as np

from sim.engine.cases import HEARING, NO_POOL, POOL_CODE, CaseDraws
from sim.engine.records import Records
from sim.model.capacity import slot_schedule
from sim.model.scenario import Scenario
from sim.model.timeline import Timeline

#: Check for a finished stage (every replication past the horizon) every this many cases.
STOP_CHECK_EVERY = 32


class McEngine:
    """Simulates a chunk of replications together with NumPy (or a NumPy-like module)."""

    name = "mc"

    def __init__(self, xp: ModuleType = np) -> None:
        self.xp = xp

    def check(self, scenario: Scenario) -> None:
        """Every feature of the scenario schema is supported; nothing to refuse."""

    def simulate(self, scenario: Scenario, timeline: Timeline, draws: list[CaseDraws]) -> Records:
        records = Records.blank(draws)
        d = _concatenate(draws)
        t = records.columns
        horizon = timeline.horizon_days
        n_reps = len(draws)

        t["arrival"][:] = d["arrival"]
        t["assessed"][:] = d["arrival"] + d["assess_days"]
        referred = d["referred"]
        t["referral_decided"][referred] = t["assessed"][referred] + d["refer_days"][referred]
        ready = np.where(referred, t["referral_decided"], t["assessed"])

        pool = d["pool"]
        unassigned = pool == NO_POOL
        t["finalised"][unassigned] = ready[unassigned]

        inv_end = np.full(ready.size, np.nan)
        for name, code in POOL_CODE.items():
            rows = np.flatnonzero(pool == code)
            t["inv_queued"][rows] = ready[rows]
            start = queue_starts(records.rep[rows], ready[rows], d["effort_days"][rows], n_reps,
                                 slot_schedule(getattr(scenario.pools, name), timeline),
                                 horizon, self.xp)
            t["inv_start"][rows] = start
            inv_end[rows] = start + d["effort_days"][rows]
        t["inv_end"][:] = inv_end

        cps = d["cps_referred"]
        t["cps_decided"][cps] = inv_end[cps] + d["cps_days"][cps]
        charged = d["charged"]
        t["trial_end"][charged] = t["cps_decided"][charged] + d["trial_days"][charged]
        after = np.where(charged, t["trial_end"], np.where(cps, t["cps_decided"], inv_end))

        route = d["route"]
        hearing = np.flatnonzero(route == HEARING)
        t["hearing_queued"][hearing] = after[hearing]
        days = d["proceedings_days"]
        start = queue_starts(records.rep[hearing], after[hearing], days[hearing], n_reps,
                             slot_schedule(scenario.proceedings.panels, timeline), horizon,
                             self.xp)
        t["hearing_start"][hearing] = start
        proceedings_from = after.copy()
        proceedings_from[hearing] = start
        held = route >= 0
        t["proceedings_end"][held] = proceedings_from[held] + days[held]

        investigated = ~unassigned
        t["finalised"][investigated] = np.where(held, t["proceedings_end"], after)[investigated]
        records.censor(horizon)  # also turns "never started" (+inf) into NaN
        return records


def _concatenate(draws: list[CaseDraws]) -> dict[str, np.ndarray]:
    names = ("arrival", "assess_days", "referred", "refer_days", "pool", "effort_days",
             "cps_referred", "cps_days", "charged", "trial_days", "route", "proceedings_days")
    return {n: np.concatenate([getattr(d, n) for d in draws]) for n in names}


def queue_starts(rep: np.ndarray, ready: np.ndarray, service: np.ndarray, n_reps: int,
                 schedule: tuple[np.ndarray, np.ndarray], horizon: float,
                 xp: ModuleType = np) -> np.ndarray:
    """Start times of cases in a FCFS slot pool, for the cases of many replications.

    `rep`, `ready` and `service` describe one case each (any order); cases of the same
    replication queue together, in order of `ready`. Returns each case's start time, +inf
    where it would start after the horizon (it did not start within the run).

    Replications in which no case ever waits are settled without the recursion (see
    `_never_wait`); the rest go through it. Both give the same start times.
    """
    out = np.full(ready.size, np.inf)
    if ready.size == 0:
        return out
    # cases ready after the horizon cannot start within it: their order does not matter
    ready = np.minimum(ready, horizon + 1.0)
    queued = np.ones(n_reps, dtype=bool)
    if np.all(np.diff(schedule[1]) >= 0):  # capacity never falls: the shortcut holds
        queued = _never_wait(rep, ready, service, n_reps, schedule, horizon)
        free_flow = ~queued[rep]
        out[free_flow] = ready[free_flow]
        if not queued.any():
            return out
    rows = np.flatnonzero(queued[rep])
    renumber = np.cumsum(queued) - 1
    out[rows] = _recursion(renumber[rep[rows]], ready[rows], service[rows],
                           int(queued.sum()), schedule, horizon, xp)
    return out


def _sort_key(rep: np.ndarray, t: np.ndarray, horizon: float,
              low: float | None = None) -> np.ndarray:
    """One float that orders cases by replication, then by time (low <= t <= horizon + 1)."""
    low = float(t.min()) if low is None else low
    return rep * (horizon + 2.0 - low) + (t - low)


def _queue_order(rep: np.ndarray, key: np.ndarray,
                 n_reps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cases in key order; where each replication's cases begin; each sorted case's place
    in its replication's queue."""
    order = np.argsort(key, kind="stable")
    first = np.concatenate([[0], np.cumsum(np.bincount(rep, minlength=n_reps))[:-1]])
    return order, first, np.arange(order.size) - first[rep[order]]


def _never_wait(rep: np.ndarray, ready: np.ndarray, service: np.ndarray, n_reps: int,
                schedule: tuple[np.ndarray, np.ndarray], horizon: float) -> np.ndarray:
    """Which replications would make some case wait if every case started when ready.

    If, with capacity never falling, every case finds fewer than the open slots busy at
    its ready time when all start on arrival, then no case waits, FCFS or not, and start =
    ready is exact. Occupancy at a case's ready time is the cases ready by then (its rank)
    less those already finished, counted with one sort and one search.
    """
    ends = np.minimum(ready + service, horizon + 1.0)
    low = min(float(ready.min()), float(ends.min()))
    ready_key = _sort_key(rep, ready, horizon, low)
    end_keys = np.sort(_sort_key(rep, ends, horizon, low))
    order, first, position = _queue_order(rep, ready_key, n_reps)
    rank = np.empty(ready.size, dtype=np.int64)
    rank[order] = position
    ended = np.empty(ready.size, dtype=np.int64)  # sorted needles search far faster
    ended[order] = np.searchsorted(end_keys, ready_key[order], side="right")
    ended -= first[rep]
    times, slots = schedule
    open_slots = slots[np.searchsorted(times, ready, side="right") - 1]
    busy = rank + 1 - ended  # including the case itself
    waits = (busy > open_slots) & (ready < horizon)
    return np.bincount(rep[waits], minlength=n_reps) > 0


def _recursion(rep: np.ndarray, ready: np.ndarray, service: np.ndarray, n_reps: int,
               schedule: tuple[np.ndarray, np.ndarray], horizon: float,
               xp: ModuleType) -> np.ndarray:
    """Lay the cases out case-major and run the Kiefer-Wolfowitz recursion."""
    out = np.empty(ready.size)
    order, _, position = _queue_order(rep, _sort_key(rep, ready, horizon), n_reps)
    rep_sorted = rep[order]
    width = int(position.max()) + 1
    # case-major layout: the recursion reads one row (that case of every replication) a step
    ready_m = np.full((width, n_reps), np.inf)
    service_m = np.zeros((width, n_reps))
    ready_m[position, rep_sorted] = ready[order]
    service_m[position, rep_sorted] = service[order]
    start_m = kiefer_wolfowitz(xp.asarray(ready_m), xp.asarray(service_m), schedule, horizon,
                               xp)
    out[order] = _to_numpy(start_m)[position, rep_sorted]
    return out


def kiefer_wolfowitz(ready, service, schedule: tuple[np.ndarray, np.ndarray], horizon: float,
                     xp: ModuleType = np):
    """FCFS start times for an N x R array of cases in queue order, in a time-varying pool.

    Column r is one replication, row j its j-th case in queue order; padding cases have
    ready = +inf. A case starts at the
    latest of its ready time, the previous case's start (first come, first served) and the
    earliest free open slot; capacity changes due by then are applied first.
    """
    n_cases, n_reps = ready.shape
    times, slots = schedule
    change_at = [float(x) for x in times[1:]]
    change_to = [int(x) for x in slots[1:]]
    pool = _SlotState(n_reps, int(slots.max()), int(slots[0]), xp)
    starts = xp.full((n_cases, n_reps), math.inf)
    last = xp.full(n_reps, -math.inf)
    step = xp.zeros(n_reps, dtype=xp.int64)  # next capacity change, per replication
    next_at = xp.full(n_reps, change_at[0] if change_at else math.inf)
    for j in range(n_cases):
        t0 = xp.maximum(ready[j], last)
        group, earliest = pool.earliest()
        start = xp.maximum(t0, earliest)
        if change_at:
            while True:
                due = (next_at <= start) & (next_at < math.inf)
                if not bool(due.any()):
                    break
                pool.change(due, step, change_at, change_to, xp)
                step = step + due
                next_at = xp.where(due, _lookup(change_at, step, xp), next_at)
                group, earliest = pool.earliest()
                start = xp.maximum(t0, earliest)
        pool.take(group, start + service[j])
        starts[j] = start
        last = start
        if j % STOP_CHECK_EVERY == 0 and bool((start >= horizon).all()):
            break  # FCFS: every later case starts later still, beyond the run
    return starts


def _lookup(values: list[float], index, xp: ModuleType):
    table = xp.asarray([*values, math.inf])
    return table[xp.minimum(index, len(values))]


def _to_numpy(a) -> np.ndarray:
    return a.get() if hasattr(a, "get") else np.asarray(a)


class _SlotState:
    """Free times of each replication's open slots, grouped for a fast minimum.

    Closed slots (beyond the capacity) hold +inf; an open idle slot holds the time it came
    free (-inf for slots open since before the run).
    """

    def __init__(self, n_reps: int, most: int, initial: int, xp: ModuleType) -> None:
        self.xp = xp
        most = max(most, 1)
        self.size = max(1, math.isqrt(most - 1) + 1)
        self.groups = -(-most // self.size)
        self.free = xp.full((n_reps, self.groups * self.size), math.inf)
        self.free[:, :initial] = -math.inf
        self.free = self.free.reshape(n_reps, self.groups, self.size)
        self.group_min = self.free.min(axis=2)
        self.open = xp.full(n_reps, initial, dtype=xp.int64)
        self.rows = xp.arange(n_reps)

    def earliest(self):
        """Per replication: the group holding the earliest free slot, and that time."""
        group = self.group_min.argmin(axis=1)
        return group, self.group_min[self.rows, group]

    def take(self, group, until) -> None:
        """Give each replication's earliest free slot (in `group`) a case lasting `until`."""
        block = self.free[self.rows, group]
        block[self.rows, block.argmin(axis=1)] = until
        self.free[self.rows, group] = block
        self.group_min[self.rows, group] = block.min(axis=1)

    def change(self, due, step, change_at: list[float], change_to: list[int],
               xp: ModuleType) -> None:
        """Apply each due replication's next capacity change (rare: a loop is fine)."""
        at = _lookup(change_at, step, xp)
        target = xp.asarray([*change_to, 0])[xp.minimum(step, len(change_to))]
        rows = xp.flatnonzero(due)
        flat = self.free.reshape(self.free.shape[0], -1)
        sub = flat[rows]
        delta = target[rows] - self.open[rows]
        # a rise: that many closed slots open, free from the change date
        closed = xp.isinf(sub) & (sub > 0)
        opening = closed & (xp.cumsum(closed, axis=1) <= delta[:, None])
        sub = xp.where(opening, at[rows][:, None], sub)
        # a fall: the slots that come free first close (idle ones at once)
        rank = xp.argsort(xp.argsort(sub, axis=1, kind="stable"), axis=1, kind="stable")
        closing = rank < (-delta)[:, None]
        sub = xp.where(closing, math.inf, sub)
        flat[rows] = sub
        self.free = flat.reshape(self.free.shape)
        self.group_min[rows] = self.free[rows].min(axis=2)
        self.open[rows] = target[rows]
