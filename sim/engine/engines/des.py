"""The reference engine: SimPy, one process per case, every rule written once and plainly.

Each case follows the life of a case in the brief: assessment, an IOPC decision if
referred, an investigator slot in its pool (first come, first served), the CPS and a trial
if charged, then a meeting, a panel hearing (a chair's listing, then sitting days in a room) or an
accelerated hearing. Slow but readable:
the compiled engine must agree with it, and it simulates the very draws the compiled kernel
makes (`draw_replication`), so the two can be compared case by case.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import deque

import numpy as np
import simpy

from sim.engine.cases import HEARING, IOPC, NO_POOL, POOL_CODE, CaseDraws
from sim.engine.compiled.kernel import shared_rate
from sim.engine.engines.compiled import draw_replication
from sim.engine.metrics import Measured, measure
from sim.engine.records import Records
from sim.engine.regimes import Regimes
from sim.model.capacity import capacity_schedule, sitting_schedule
from sim.model.scenario import Capacity, Scenario
from sim.model.timeline import Timeline


class EnginesDisagree(RuntimeError):
    """The DES reached a decision the compiled kernel's draws do not follow: a bug in one."""


class SlotPool:
    """Case slots whose number changes on dated steps; first come, first served.

    The rule for changes (shared with the vectorised engine, see `sim.model.capacity`): a rise
    opens slots at once; a fall retires the slots that come free first: idle ones at once,
    then busy ones as their cases end (an investigator who leaves finishes the case in
    hand). SimPy's Resource cannot shrink while busy, so the pool keeps its own queue.
    """

    def __init__(self, env: simpy.Environment, times: np.ndarray, slots: np.ndarray) -> None:
        self.env = env
        self.idle = int(slots[0])
        self.capacity = int(slots[0])  # the slots in force (the schedule's current step)
        self.busy: dict[int, float] = {}  # slot -> when its case ends
        self.retiring: set[int] = set()
        self.waiting: deque[tuple[simpy.Event, float]] = deque()
        self._ids = itertools.count()
        env.process(self._follow(times[1:], slots[1:]))

    def request(self, duration: float) -> simpy.Event:
        """An event that fires with a slot once this case is at the front of the queue."""
        event = self.env.event()
        self.waiting.append((event, duration))
        self._dispatch()
        return event

    def release(self, slot: int) -> None:
        if slot in self.retiring:
            self.retiring.remove(slot)
            return
        del self.busy[slot]
        self.idle += 1
        self._dispatch()

    def _dispatch(self) -> None:
        while self.waiting and self.idle:
            event, duration = self.waiting.popleft()
            self.idle -= 1
            slot = next(self._ids)
            self.busy[slot] = self.env.now + duration
            event.succeed(slot)

    def open_cases(self) -> int:
        """Cases waiting for or holding a slot (a retiring slot's case included)."""
        return len(self.waiting) + len(self.busy) + len(self.retiring)

    def _resize(self, target: int) -> None:
        self.capacity = target
        change = target - (self.idle + len(self.busy))
        if change >= 0:
            self.idle += change
            self._dispatch()
            return
        closing = min(-change, self.idle)
        self.idle -= closing
        for slot in sorted(self.busy, key=self.busy.__getitem__)[: -change - closing]:
            del self.busy[slot]
            self.retiring.add(slot)

    def _follow(self, times: np.ndarray, slots: np.ndarray):
        for t, n in zip(times, slots, strict=True):
            if t > self.env.now:
                yield self.env.timeout(t - self.env.now)
            self._resize(int(n))

    def work(self, slot: int, duration: float):
        """Hold the slot for the case's work (use with `yield from`)."""
        yield self.env.timeout(duration)
        self.release(slot)


class SharedPool:
    """Cases in hand share the pool's time (`sim.model.capacity`): each takes its stated
    effort with `pace` cases in hand, longer with more and shorter with fewer, for the share
    of its time that is investigator work (`shared_rate`); slots cap the cases in hand, the
    rest wait first come, first served.

    `done` is the work every case in hand has had since the first (virtual time): each event
    (a case ready, a case's end, a change of capacity) first brings it up to now at the rate
    in force since the last, and a case ends when it has grown by the case's work. A clock
    process sleeps until the next end or change, and is woken when a case arrives. The
    compiled kernel takes the same steps (`sim.engine.compiled.kernel.shared_queue`).
    """

    def __init__(self, env: simpy.Environment, times: np.ndarray, slots: np.ndarray,
                 pace: np.ndarray, reference: float, work_share: float) -> None:
        self.env = env
        self.slots, self.pace = int(slots[0]), float(pace[0])
        self.reference, self.work_share = reference, work_share
        self.done, self.since = 0.0, env.now
        self.in_hand: list[tuple[float, int, simpy.Event]] = []  # (done at its end, n, end)
        self.waiting: deque[tuple[simpy.Event, float]] = deque()
        self._order = itertools.count()
        self.wake = env.event()
        env.process(self._clock(times[1:], slots[1:], pace[1:]))

    def rate(self) -> float:
        """How fast each case in hand progresses now."""
        return shared_rate(len(self.in_hand), self.pace, self.reference, self.work_share)

    def request(self, work: float) -> simpy.Event:
        """An event that fires, with the case's end event, once the case is in hand."""
        self._catch_up()
        event = self.env.event()
        self.waiting.append((event, work))
        self._dispatch()
        if not self.wake.triggered:
            self.wake.succeed()  # the clock's next end has moved
        return event

    def work(self, end: simpy.Event, duration: float):
        """Wait for the case's end (use with `yield from`)."""
        yield end

    def _catch_up(self) -> None:
        if self.in_hand:
            self.done += self.rate() * (self.env.now - self.since)
        self.since = self.env.now

    def _dispatch(self) -> None:
        while self.waiting and len(self.in_hand) < self.slots:
            event, work = self.waiting.popleft()
            end = self.env.event()
            heapq.heappush(self.in_hand, (self.done + work, next(self._order), end))
            event.succeed(end)

    def _clock(self, times: np.ndarray, slots: np.ndarray, pace: np.ndarray):
        k = 0
        while True:
            self.wake = self.env.event()
            t_step = float(times[k]) if k < len(times) else math.inf
            rate = self.rate()
            to_end = ((self.in_hand[0][0] - self.done) / rate if self.in_hand and rate > 0
                      else math.inf)
            if self.env.now + to_end <= t_step and to_end < math.inf:
                ending = self.env.timeout(to_end, value="end")
            elif t_step < math.inf:
                ending = self.env.timeout(t_step - self.env.now, value="step")
            else:
                ending = None
            fired = yield (self.wake | ending) if ending is not None else self.wake
            if ending is None or ending not in fired:
                continue  # a case arrived: the next end is computed again
            if ending.value == "end":
                self.done, _, end = heapq.heappop(self.in_hand)
                self.since = self.env.now
                end.succeed()
            else:
                self._catch_up()
                self.slots, self.pace = int(slots[k]), float(pace[k])
                k += 1
            self._dispatch()


class DesEngine:
    """Runs replications one at a time with SimPy."""

    name = "des"

    def check(self, scenario: Scenario) -> None:
        """Every feature of the scenario schema is supported; nothing to refuse."""

    def measure(self, scenario: Scenario, timeline: Timeline, regimes: Regimes,
                replications: range, seed: int) -> Measured:
        draws = [draw_replication(scenario, timeline, seed, r, regimes) for r in replications]
        return measure(self.simulate(scenario, timeline, draws), scenario, timeline)

    def simulate(self, scenario: Scenario, timeline: Timeline, draws: list[CaseDraws]) -> Records:
        """The records of every case of every replication in `draws`."""
        records = Records.blank(draws)
        starts = records.offsets()
        for k, d in enumerate(draws):
            self._replicate(scenario, timeline, d, records, int(starts[k]))
        records.censor(timeline.horizon_days)
        return records

    def _replicate(self, scenario, timeline, d: CaseDraws, rec: Records, row0: int) -> None:
        env = simpy.Environment(initial_time=-timeline.warmup_days)

        def pool_of(capacity: Capacity) -> SlotPool | SharedPool:
            times, slots, pace = capacity_schedule(capacity, timeline)
            if capacity.shares_time:
                return SharedPool(env, times, slots, pace, capacity.reference,
                                  capacity.investigator_work_share)
            return SlotPool(env, times, slots)

        pools = {code: pool_of(getattr(scenario.pools, p)) for p, code in POOL_CODE.items()}
        panels = pool_of(scenario.proceedings.panels)
        sittings = scenario.proceedings.sittings
        rooms = (SlotPool(env, *sitting_schedule(sittings, scenario.proceedings.panels,
                                                 timeline))
                 if sittings is not None else None)
        t = rec.columns
        limit = scenario.iopc_referral.caseload_limit
        iopc = pools[IOPC]

        def iopc_decides(i: int) -> None:
            """The caseload limit, from this engine's own IOPC queue: the IOPC takes the
            case while its open cases are fewer than limit x its slots. The draws hold the
            fate that follows the kernel's decision, so the two must agree."""
            assert isinstance(iopc, SlotPool)  # a limit needs slots (the scenario checks)
            takes = iopc.open_cases() < limit * iopc.capacity
            if takes != (d.pool[i] == IOPC):
                raise EnginesDisagree(
                    f"replication {d.replication}, case {i} at day {env.now:.6g}: the DES's"
                    f" IOPC {'takes' if takes else 'declines'} it ({iopc.open_cases()} open,"
                    f" {iopc.capacity} slots, limit {limit}); the kernel's draws say otherwise")

        def case(i: int):
            row = row0 + i
            t["arrival"][row] = env.now
            yield env.timeout(d.assess_days[i])
            t["assessed"][row] = env.now
            if d.referred[i]:
                yield env.timeout(d.refer_days[i])
                t["referral_decided"][row] = env.now
                if limit is not None and d.iopc_candidate[i]:
                    iopc_decides(i)
            if d.pool[i] == NO_POOL:
                t["finalised"][row] = env.now
                return
            pool = pools[d.pool[i]]
            t["inv_queued"][row] = env.now
            slot = yield pool.request(d.effort_days[i])
            t["inv_start"][row] = env.now
            yield from pool.work(slot, d.effort_days[i])
            t["inv_end"][row] = env.now
            if d.cps_referred[i]:
                yield env.timeout(d.cps_days[i])
                t["cps_decided"][row] = env.now
                if d.charged[i]:  # misconduct proceedings wait for the criminal case
                    yield env.timeout(d.trial_days[i])
                    t["trial_end"][row] = env.now
            if d.route[i] == HEARING:
                t["hearing_queued"][row] = env.now
                slot = yield panels.request(d.proceedings_days[i])
                t["hearing_start"][row] = env.now
                yield from panels.work(slot, d.proceedings_days[i])
                if rooms is not None:  # listed: it sits in the first free room
                    t["sitting_queued"][row] = env.now
                    room = yield rooms.request(d.sitting_days[i])
                    t["sitting_start"][row] = env.now
                    yield from rooms.work(room, d.sitting_days[i])
                t["proceedings_end"][row] = env.now
            elif d.route[i] >= 0:  # a meeting or accelerated hearing: no panel queue
                yield env.timeout(d.proceedings_days[i])
                t["proceedings_end"][row] = env.now
            t["finalised"][row] = env.now

        def source():
            for i, arrival in enumerate(d.arrival):
                if arrival > env.now:
                    yield env.timeout(arrival - env.now)
                env.process(case(i))

        env.process(source())
        env.run(until=timeline.horizon_days)
