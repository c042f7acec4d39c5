"""The fused pass: draw, route, queue and bin one replication, compiled with numba.

One replication at a time, in four steps over arrays of its own cases (nothing is kept
across replications, so memory does not grow with their number):
1. arrivals: Poisson counts per simulated month, stream and assessment outcome (splitting
   a Poisson stream by independent shares gives independent Poisson streams: exact), the
   investigated and referred ones placed uniformly in their month, put in arrival order;
2. each case's fate, in arrival order, from its purpose's stream (the rules of its arrival
   month's regime): assessment, the IOPC's decision, pool, severity, effort, officer status,
   the CPS, the route to proceedings;
3. the capacity-limited stages, first come first served (the pools, the hearing panels,
   then the hearing rooms): the Kiefer-Wolfowitz recursion over each stage's cases in order
   of readiness, the free times of the open slots in a
   binary heap, capacity changes as `sim.model.capacity` states them;
4. every case's times into the period bins of `sim.engine.bins`.

`records` returns steps 1-3 case by case (the draws feed the DES; the times are checked
against it); `simulate_chunk` runs many replications across threads and keeps only bins.
A replication's numbers depend only on (seed, replication): never on threads or chunks.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from sim.engine import bins as B
from sim.engine.cases import (
    ACCELERATED,
    DPS,
    GROSS_MISCONDUCT,
    HEARING,
    INVESTIGATIVE,
    IOPC,
    MEETING,
    MISCONDUCT,
    NO_POOL,
    NO_ROUTE,
    NO_SEVERITY,
    NOT_HELD,
    NOT_SPECIAL,
    OUTCOMES,
    PSU,
    RESTRICTED,
    SUSPENDED,
)
from sim.engine.compiled import tables as T
from sim.engine.compiled.streams import (
    PURPOSE,
    duration,
    empirical,
    four,
    make_rng,
    poisson,
    uniform,
)
from sim.model.timeline import EIGHTEEN_MONTHS_DAYS as EIGHTEEN_MONTHS
from sim.model.timeline import TWELVE_MONTHS_DAYS as TWELVE_MONTHS

# Purposes (stream numbers; numba reads module constants as compile-time values).
U_ARRIVALS = PURPOSE["arrivals"]
U_ALLEGATIONS = PURPOSE["allegations"]
U_ASSESSMENT = PURPOSE["assessment"]
U_REFERRAL = PURPOSE["iopc_referral"]
U_OFFICERS = PURPOSE["officers"]
U_CPS = PURPOSE["cps"]
U_PROCEEDINGS = PURPOSE["proceedings"]
U_EFFORT = PURPOSE["effort.iopc.complaints"]  # + 2 x pool + stream
U_HEARINGS = PURPOSE["hearing_durations"]
U_DECLINED = PURPOSE["iopc_declined"]
U_SITTINGS = PURPOSE["sittings"]

OUTCOME_PSU, OUTCOME_DPS, OUTCOME_IOPC = (OUTCOMES.index(o) for o in INVESTIGATIVE)
INF = math.inf


# --- ordering ------------------------------------------------------------------------------

@njit(cache=True)
def order_by_time(t, rows, lo):
    """`rows` sorted by t[rows], stably, in O(n): a counting sort by whole day from `lo`,
    then an insertion sort within each day (a few cases). Rows with t = inf go last."""
    n = rows.size
    if n == 0:
        return rows.copy()
    top = lo
    for j in range(n):
        x = t[rows[j]]
        if x < INF and x > top:
            top = x
    days = math.floor(top - lo) + 2  # the last bucket holds the infinite ones
    counts = np.zeros(days + 1, np.int64)
    key = np.empty(n, np.int64)
    for j in range(n):
        x = t[rows[j]]
        k = days - 1 if x == INF else math.floor(x - lo)
        key[j] = k
        counts[k + 1] += 1
    for k in range(days):
        counts[k + 1] += counts[k]
    out = np.empty(n, rows.dtype)
    for j in range(n):
        k = key[j]
        out[counts[k]] = rows[j]
        counts[k] += 1
    for j in range(1, n):  # insertion sort: stable, and each day's run is short
        r = out[j]
        x = t[r]
        i = j - 1
        while i >= 0 and t[out[i]] > x:
            out[i + 1] = out[i]
            i -= 1
        out[i + 1] = r
    return out


# --- the capacity-limited stages -----------------------------------------------------------

@njit(inline="always", cache=True)
def _sift_down(heap, size, i):
    x = heap[i]
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and heap[child + 1] < heap[child]:
            child += 1
        if heap[child] >= x:
            break
        heap[i] = heap[child]
        i = child
    heap[i] = x


@njit(inline="always", cache=True)
def _sift_up(heap, i):
    x = heap[i]
    while i > 0:
        parent = (i - 1) // 2
        if heap[parent] <= x:
            break
        heap[i] = heap[parent]
        i = parent
    heap[i] = x


@njit(cache=True)
def queue(order, ready, service, start, times, slots, steps, horizon, limit, admitted):
    """FCFS start times in a pool whose slots change on dated steps, for the cases in
    `order` (in order of readiness); a case that would start at or after the horizon, and
    every later one, keeps start = inf. The heap holds each open slot's free time.

    With `limit` > 0 each case is first admitted or not (`admitted`): only while the
    admitted cases still open at its readiness (waiting or in hand) are fewer than `limit`
    times the slots in force then; a case not admitted takes no slot (the IOPC's caseload
    limit). The open ones' end times are a second heap."""
    most = 1
    for k in range(steps):
        most = max(most, slots[k])
    heap = np.empty(most, np.float64)
    size = slots[0]
    for k in range(size):
        heap[k] = -INF
    step = 1
    last = -INF
    ends = np.empty(order.size if limit > 0.0 else 0, np.float64)
    still_open = 0
    in_force = 0  # the capacity step in force at the case's readiness
    beyond = False  # a case has started at or after the horizon: every later one does
    for j in range(order.size):
        i = order[j]
        if limit > 0.0:
            t = ready[i]
            while still_open > 0 and ends[0] <= t:
                still_open -= 1
                ends[0] = ends[still_open]
                _sift_down(ends, still_open, 0)
            while in_force + 1 < steps and times[in_force + 1] <= t:
                in_force += 1
            admitted[i] = still_open < limit * slots[in_force]
            if not admitted[i]:
                continue
        end = INF
        if not beyond:
            t0 = max(ready[i], last)
            begin = max(t0, heap[0] if size > 0 else INF)
            while step < steps and times[step] <= begin:
                target = slots[step]
                if target > size:  # a rise: new slots, free from the change
                    for _ in range(target - size):
                        heap[size] = times[step]
                        _sift_up(heap, size)
                        size += 1
                else:  # a fall: the slots that come free first close
                    for _ in range(size - target):
                        size -= 1
                        heap[0] = heap[size]
                        _sift_down(heap, size, 0)
                step += 1
                begin = max(t0, heap[0] if size > 0 else INF)
            if begin >= horizon:
                beyond = True  # first come, first served: every later case starts later
                if limit <= 0.0:
                    break
            else:
                start[i] = begin
                end = begin + service[i]
                heap[0] = end
                _sift_down(heap, size, 0)
                last = begin
        if limit > 0.0:
            ends[still_open] = end
            _sift_up(ends, still_open)
            still_open += 1


@njit(inline="always", cache=True)
def _push(keys, rows, size, key, row):
    """Add (key, row) to a binary min-heap of keys with their rows beside them."""
    i = size
    while i > 0:
        parent = (i - 1) // 2
        if keys[parent] <= key:
            break
        keys[i], rows[i] = keys[parent], rows[parent]
        i = parent
    keys[i], rows[i] = key, row


@njit(inline="always", cache=True)
def _pop(keys, rows, size):
    """Remove the smallest key (size: the heap's size before)."""
    size -= 1
    key, row = keys[size], rows[size]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and keys[child + 1] < keys[child]:
            child += 1
        if keys[child] >= key:
            break
        keys[i], rows[i] = keys[child], rows[child]
        i = child
    if size > 0:
        keys[i], rows[i] = key, row


@njit(inline="always", cache=True)
def shared_rate(in_hand, pace, reference, share):
    """How fast each case in hand progresses (1: its stated effort's pace) with `in_hand`
    cases where `pace` is the reference load (staff x `reference` cases each): the share of
    its time that is investigator work at pace / max(in_hand, staff) (`sim.model.capacity`).
    The one copy of the rule: the DES calls it too (`SharedPool.rate`)."""
    if pace <= 0.0:
        return 0.0  # no productive staff: cases in hand wait for one
    load = max(in_hand / pace, 1.0 / reference)
    return 1.0 / ((1.0 - share) + share * load)


@njit(cache=True)
def shared_queue(order, ready, work, start, end, times, slots, pace, reference, share,
                 steps, horizon):
    """Start and end times in a pool whose cases in hand share its time (`shared_rate`),
    with slots capping the cases in hand and the rest waiting first come, first served, for
    the cases in `order` (in order of readiness). `done` is the work every case in hand has
    had since the first (virtual time): a case ends when it has grown by the case's work.
    Events in time order (on a tie: an end, then a change of capacity, then a case ready);
    what would happen at or after the horizon is left inf. The DES follows the same steps
    (`sim.engine.engines.des.SharedPool`)."""
    most = 1
    for k in range(steps):
        most = max(most, slots[k])
    keys = np.empty(most, np.float64)
    rows = np.empty(most, np.int64)
    size = 0
    now, done = -INF, 0.0
    n_slots, n_pace = slots[0], pace[0]
    step, arrived, started = 1, 0, 0
    while True:
        t_ready = ready[order[arrived]] if arrived < order.size else INF
        t_step = times[step] if step < steps else INF
        t_end = INF
        if size > 0:
            rate = shared_rate(size, n_pace, reference, share)
            if rate > 0:
                t_end = now + (keys[0] - done) / rate
        t_next = min(t_end, t_step, t_ready)
        if t_next >= horizon:
            break
        if size > 0:
            if t_next == t_end:
                done = keys[0]
            else:
                done += shared_rate(size, n_pace, reference, share) * (t_next - now)
        now = t_next
        if t_next == t_end:
            end[rows[0]] = now
            _pop(keys, rows, size)
            size -= 1
        elif t_next == t_step:
            n_slots, n_pace = slots[step], pace[step]
            step += 1
        else:
            arrived += 1
        while started < arrived and size < n_slots:
            i = order[started]
            start[i] = now
            _push(keys, rows, size, done + work[i], i)
            size += 1
            started += 1


# --- one replication -----------------------------------------------------------------------

@njit(cache=True)
def _arrivals(tb, rng):
    """Monthly counts, then the individual cases placed in their months, in arrival order."""
    months = tb.expected.shape[1]
    cases = np.zeros((2, months), np.int64)
    allegations = np.zeros((2, months), np.int64)
    outcomes = np.zeros((2, 6, months), np.int64)
    total = 0
    for m in range(months):
        g = tb.regime_of_month[m]
        for s in range(2):
            for o in range(6):
                k = poisson(rng, U_ARRIVALS, tb.expected[s, m] * tb.outcome_share[g, s, o])
                outcomes[s, o, m] = k
                cases[s, m] += k
                if o >= OUTCOME_PSU:
                    total += k
            allegations[s, m] = cases[s, m] + poisson(
                rng, U_ALLEGATIONS, cases[s, m] * tb.extra_allegations[s])
    arrival = np.empty(total, np.float64)
    stream = np.empty(total, np.int8)
    outcome = np.empty(total, np.int8)
    month = np.empty(total, np.int64)
    j = 0
    for m in range(months):
        lo, width = tb.month_edges[m], tb.month_edges[m + 1] - tb.month_edges[m]
        for s in range(2):
            for o in range(OUTCOME_PSU, 6):
                for _ in range(outcomes[s, o, m]):
                    arrival[j] = lo + uniform(rng, U_ARRIVALS) * width
                    stream[j], outcome[j], month[j] = s, o, m
                    j += 1
    order = order_by_time(arrival, np.arange(total), tb.month_edges[0])
    return (cases, allegations, outcomes, arrival[order], stream[order], outcome[order],
            month[order])


@njit(cache=True)
def _severity(tb, g, pool, stream, u):
    """A case's severity from its pool (S-11: the Met's triage is its allocation) and one
    uniform: DPS cases are gross misconduct, PSU cases misconduct or not subject to special
    procedures, the IOPC's own gross misconduct or misconduct."""
    if pool == DPS:
        return GROSS_MISCONDUCT
    if pool == PSU:
        return NOT_SPECIAL if u < tb.severity[g, stream] else MISCONDUCT
    if pool == IOPC:
        return GROSS_MISCONDUCT if u < tb.severity[g, 2] else MISCONDUCT
    return NO_SEVERITY


@njit(cache=True)
def _fates(tb, rng, stream, outcome, month):
    """Every case's draws, in arrival order, under its arrival month's rules. With an IOPC
    caseload limit, a case the IOPC would investigate itself also gets the fate it has if
    the IOPC declines it (its pool by the directed and local shares, then its own draws from
    the `iopc_declined` stream), in a row after the n cases (`declined_row[i]`); which one
    holds is known only once the IOPC's queue is run (`_admit`)."""
    n = stream.size
    limited = tb.iopc_limit > 0.0
    rows = n
    if limited:
        for i in range(n):
            rows += outcome[i] == OUTCOME_IOPC
    assess = np.empty(rows)
    referred = np.zeros(rows, np.bool_)
    refer = np.zeros(rows)
    pool = np.empty(rows, np.int8)
    severity = np.full(rows, NO_SEVERITY, np.int8)
    effort = np.zeros(rows)
    officer = np.zeros(rows, np.int8)
    cps_referred = np.zeros(rows, np.bool_)
    cps_days = np.zeros(rows)
    charged = np.zeros(rows, np.bool_)
    trial = np.zeros(rows)
    convicted = np.zeros(rows, np.bool_)
    route = np.full(rows, NO_ROUTE, np.int8)
    proceedings = np.zeros(rows)
    proven = np.zeros(rows, np.bool_)
    dismissed = np.zeros(rows, np.bool_)
    declined_row = np.full(n, -1, np.int64)
    dt = tb.durations
    regime_of_month, referral, per_pool = tb.regime_of_month, tb.referral, tb.per_pool
    cps_share, route_share, per_route = tb.cps, tb.route, tb.per_route
    # a case's durations are drawn together at one call site (inlined once: eight inlined
    # samplers made this function take half a minute to compile); each purpose's stream is
    # read in the same order as drawing them stage by stage
    purposes = np.empty(6, np.int64)
    kinds = np.empty(6, np.int64)
    extra = n
    for i in range(n):
        g = regime_of_month[month[i]]
        u_mode, u_local, _, _ = four(rng, U_REFERRAL)
        u_officer, u_severity, _, _ = four(rng, U_OFFICERS)
        u_cps, u_charge, u_convict, _ = four(rng, U_CPS)
        u_answer, u_route, u_proven, u_dismiss = four(rng, U_PROCEEDINGS)
        purposes[0], kinds[0] = U_ASSESSMENT, T.D_ASSESS
        wanted = 1
        p = PSU
        q = NO_POOL  # the pool if the IOPC declines (with a caseload limit)
        if outcome[i] == OUTCOME_IOPC:
            referred[i] = True
            purposes[wanted], kinds[wanted] = U_REFERRAL, T.D_REFER
            wanted += 1
            independent, directed = referral[g, T.R_INDEPENDENT], referral[g, T.R_DIRECTED]
            local_psu, local_dps = referral[g, T.R_LOCAL_PSU], referral[g, T.R_LOCAL_DPS]
            if u_mode < independent:
                p = IOPC
                # declined: directed or local by their shares, u_mode / independent being
                # uniform on [0, 1) given that the IOPC would have taken the case
                if u_mode / independent < directed / max(1.0 - independent, 1e-300):
                    q = DPS
                elif u_local < local_psu:
                    q = PSU
                elif u_local < local_psu + local_dps:
                    q = DPS
            elif u_mode < independent + directed:
                p = DPS
            elif u_local < local_psu:
                p = PSU
            elif u_local < local_psu + local_dps:
                p = DPS
            else:
                p = NO_POOL
        elif outcome[i] == OUTCOME_DPS:
            p = DPS
        variants = 2 if limited and p == IOPC else 1
        for variant in range(variants):
            r = i
            if variant == 1:  # the fate if declined, from its own stream
                r = extra
                extra += 1
                declined_row[i] = r
                p = q
                referred[r] = True
                u_officer, u_cps, u_charge, u_convict = four(rng, U_DECLINED)
                u_answer, u_route, u_proven, u_dismiss = four(rng, U_DECLINED)
                wanted = 0
            pool[r] = p
            rt = NO_ROUTE
            if p != NO_POOL:
                kind = 2 * p + stream[i]  # effort by pool and stream
                purposes[wanted], kinds[wanted] = U_EFFORT + kind, T.D_EFFORT + kind
                wanted += 1
                # one severity per case: a declined case keeps its uniform in its new pool
                sev = _severity(tb, g, p, stream[i], u_severity)
                severity[r] = sev
                special = sev != NOT_SPECIAL  # else: no restriction, CPS file or case to answer
                suspended = per_pool[g, T.P_SUSPENDED, p] if sev == GROSS_MISCONDUCT else 0.0
                if special and u_officer < suspended:
                    officer[r] = SUSPENDED
                elif special and u_officer < suspended + per_pool[g, T.P_RESTRICTED, p]:
                    officer[r] = RESTRICTED
                if special and u_cps < per_pool[g, T.P_CPS, p]:
                    cps_referred[r] = True
                    purposes[wanted], kinds[wanted] = U_CPS, T.D_CPS
                    wanted += 1
                    if u_charge < cps_share[g, 0]:
                        charged[r] = True
                        purposes[wanted], kinds[wanted] = U_CPS, T.D_TRIAL
                        wanted += 1
                        convicted[r] = u_convict < cps_share[g, 1]
                if convicted[r]:
                    rt = ACCELERATED
                elif special and u_answer < per_pool[g, T.P_CASE_TO_ANSWER, p]:
                    if sev == MISCONDUCT or u_route < route_share[g, 0]:
                        rt = MEETING
                    elif u_route < route_share[g, 0] + route_share[g, 1]:
                        rt = HEARING
                    else:
                        rt = ACCELERATED
                route[r] = rt
                if rt == HEARING:
                    purposes[wanted], kinds[wanted] = U_HEARINGS, T.D_HEARING
                elif rt != NO_ROUTE:
                    purposes[wanted] = U_PROCEEDINGS
                    kinds[wanted] = T.D_MEETING if rt == MEETING else T.D_ACCELERATED
                wanted += rt != NO_ROUTE
                if rt != NO_ROUTE:
                    proven[r] = u_proven < per_route[g, 0, rt]
                    dismissed[r] = proven[r] and u_dismiss < per_route[g, 1, rt]
            for j in range(wanted):
                x = duration(rng, purposes[j] if variant == 0 else U_DECLINED, dt, g,
                             kinds[j])
                k = kinds[j]
                if k == T.D_ASSESS:
                    assess[r] = x
                elif k == T.D_REFER:
                    refer[r] = x
                elif k == T.D_CPS:
                    cps_days[r] = x
                elif k == T.D_TRIAL:
                    trial[r] = x
                elif k >= T.D_MEETING:
                    proceedings[r] = x
                else:
                    effort[r] = x
            if variant == 1:
                assess[r], refer[r] = assess[i], refer[i]
    if tb.has_empirical:
        _empirical_durations(tb, rng, stream, month, pool, route, assess, refer, effort,
                             cps_days, trial, proceedings, declined_row)
    return (assess, referred, refer, pool, effort, officer, cps_referred, cps_days, charged,
            trial, convicted, route, proceedings, proven, dismissed, severity), declined_row


@njit(cache=True)
def _empirical_durations(tb, rng, stream, month, pool, route, assess, refer, effort,
                         cps_days, trial, proceedings, declined_row):
    """Draw the empirical durations `duration` left as NaN, each from its own purpose's
    stream after that purpose's other draws (a second pass keeps the first one fast), and
    those of the fates drawn for a declined referral from the `iopc_declined` stream."""
    dt, ev, ec = tb.durations, tb.empirical_values, tb.empirical_cumulative
    for i in range(stream.size):
        r = declined_row[i]
        if r < 0:
            continue
        g = tb.regime_of_month[month[i]]
        p = pool[r]
        if p != NO_POOL and np.isnan(effort[r]):
            k = 2 * p + stream[i]
            effort[r] = empirical(rng, U_DECLINED, dt, g, T.D_EFFORT + k, ev, ec)
        if np.isnan(cps_days[r]):
            cps_days[r] = empirical(rng, U_DECLINED, dt, g, T.D_CPS, ev, ec)
        if np.isnan(trial[r]):
            trial[r] = empirical(rng, U_DECLINED, dt, g, T.D_TRIAL, ev, ec)
        if np.isnan(proceedings[r]):
            kind = (T.D_HEARING if route[r] == HEARING
                    else T.D_MEETING if route[r] == MEETING else T.D_ACCELERATED)
            proceedings[r] = empirical(rng, U_DECLINED, dt, g, kind, ev, ec)
    for i in range(stream.size):
        g = tb.regime_of_month[month[i]]
        if np.isnan(assess[i]):
            assess[i] = empirical(rng, U_ASSESSMENT, dt, g, T.D_ASSESS, ev, ec)
        if np.isnan(refer[i]):
            refer[i] = empirical(rng, U_REFERRAL, dt, g, T.D_REFER, ev, ec)
        p = pool[i]
        if p != NO_POOL and np.isnan(effort[i]):
            k = 2 * p + stream[i]
            effort[i] = empirical(rng, U_EFFORT + k, dt, g, T.D_EFFORT + k, ev, ec)
        if np.isnan(cps_days[i]):
            cps_days[i] = empirical(rng, U_CPS, dt, g, T.D_CPS, ev, ec)
        if np.isnan(trial[i]):
            trial[i] = empirical(rng, U_CPS, dt, g, T.D_TRIAL, ev, ec)
        if np.isnan(proceedings[i]):
            if route[i] == HEARING:
                proceedings[i] = empirical(rng, U_HEARINGS, dt, g, T.D_HEARING, ev, ec)
            else:
                kind = T.D_MEETING if route[i] == MEETING else T.D_ACCELERATED
                proceedings[i] = empirical(rng, U_PROCEEDINGS, dt, g, kind, ev, ec)


@njit(cache=True)
def _sitting_days(tb, rng, month, route):
    """Each hearing's days in a room, from the `sittings` stream in arrival order, drawn once
    the IOPC's decisions have fixed every route (0 where nothing sits); a stream of its own,
    so sittings leave every other draw as it was."""
    n = route.size
    sitting = np.zeros(n)
    if not tb.has_sittings:
        return sitting
    dt, ev, ec = tb.durations, tb.empirical_values, tb.empirical_cumulative
    for i in range(n):
        if route[i] == HEARING:
            g = tb.regime_of_month[month[i]]
            x = duration(rng, U_SITTINGS, dt, g, T.D_SITTING)
            if np.isnan(x):
                x = empirical(rng, U_SITTINGS, dt, g, T.D_SITTING, ev, ec)
            sitting[i] = x
    return sitting


@njit(cache=True)
def _stage(tb, p, order, ready, work, start, end):
    """Start and end times of the cases in `order` at capacity-limited stage `p` (a pool,
    or the panels): slots alone (`queue`, then end = start + work), or shared time."""
    times, slots, steps = tb.capacity_times[p], tb.capacity_slots[p], tb.capacity_steps[p]
    if tb.capacity_shared[p]:
        for j in range(order.size):
            end[order[j]] = INF  # until it ends within the run
        shared_queue(order, ready, work, start, end, times, slots, tb.capacity_pace[p],
                     tb.capacity_reference[p], tb.capacity_work_share[p], steps, tb.horizon)
        return
    queue(order, ready, work, start, times, slots, steps, tb.horizon, 0.0,
          np.ones(0, np.bool_))  # no caseload limit: every case is admitted
    for j in range(order.size):
        i = order[j]
        end[i] = start[i] + work[i]


@njit(cache=True)
def _admit(tb, arrival, fates, declined_row):
    """With an IOPC caseload limit: run the IOPC's queue in order of its decisions (`queue`
    with the limit), and give each referral it declines the fate drawn for that (the row
    after the n cases); returns the n cases' fates and which ones it could have declined."""
    (assess, referred, refer, pool, effort, officer, cps_referred, cps_days, charged, trial,
     convicted, route, proceedings, proven, dismissed, severity) = fates
    n = arrival.size
    candidate = declined_row >= 0
    if tb.iopc_limit > 0.0:
        ready = arrival + assess[:n] + refer[:n]
        rows = np.flatnonzero(candidate)
        admitted = np.ones(n, np.bool_)
        start = np.full(n, INF)
        queue(order_by_time(ready, rows, tb.month_edges[0] - 1.0), ready, effort, start,
              tb.capacity_times[IOPC], tb.capacity_slots[IOPC], tb.capacity_steps[IOPC],
              tb.horizon, tb.iopc_limit, admitted)
        for i in rows:
            if admitted[i]:
                continue
            r = declined_row[i]
            pool[i], effort[i], officer[i] = pool[r], effort[r], officer[r]
            cps_referred[i], cps_days[i], charged[i] = cps_referred[r], cps_days[r], charged[r]
            trial[i], convicted[i], route[i] = trial[r], convicted[r], route[r]
            proceedings[i], proven[i], dismissed[i] = proceedings[r], proven[r], dismissed[r]
            severity[i] = severity[r]
    return (assess[:n], referred[:n], refer[:n], pool[:n], effort[:n], officer[:n],
            cps_referred[:n], cps_days[:n], charged[:n], trial[:n], convicted[:n], route[:n],
            proceedings[:n], proven[:n], dismissed[:n], severity[:n]), candidate


@njit(cache=True)
def _times(tb, arrival, assess, referred, refer, pool, effort, cps_referred, cps_days,
           charged, trial, route, proceedings, sitting):
    """Every stage's time (inf: not reached within the run; NaN: not a stage of the case)."""
    n = arrival.size
    nan = np.nan
    assessed = arrival + assess
    decided = np.full(n, nan)
    queued = np.full(n, nan)
    inv_start = np.full(n, nan)
    inv_end = np.full(n, nan)
    cps_at = np.full(n, nan)
    trial_end = np.full(n, nan)
    hearing_queued = np.full(n, nan)
    hearing_start = np.full(n, nan)
    sitting_queued = np.full(n, nan)
    sitting_start = np.full(n, nan)
    ended = np.full(n, nan)
    finalised = np.empty(n)
    ready = np.empty(n)
    for i in range(n):
        ready[i] = assessed[i]
        if referred[i]:
            decided[i] = assessed[i] + refer[i]
            ready[i] = decided[i]
        if pool[i] == NO_POOL:
            finalised[i] = ready[i]
    lo = tb.month_edges[0] - 1.0
    start = np.full(n, INF)
    for p in range(3):
        rows = np.flatnonzero(pool == p)
        for i in rows:
            queued[i] = ready[i]
        _stage(tb, p, order_by_time(ready, rows, lo), ready, effort, start, inv_end)
    after = np.empty(n)
    for i in range(n):
        if pool[i] == NO_POOL:
            continue
        inv_start[i] = start[i]
        after[i] = inv_end[i]
        if cps_referred[i]:
            cps_at[i] = inv_end[i] + cps_days[i]
            after[i] = cps_at[i]
            if charged[i]:
                trial_end[i] = cps_at[i] + trial[i]
                after[i] = trial_end[i]
    hearing = np.flatnonzero(route == HEARING)
    for i in hearing:
        hearing_queued[i] = after[i]
    panel_start = np.full(n, INF)
    panel_end = np.full(n, INF)
    _stage(tb, T.PANELS, order_by_time(after, hearing, lo), after, proceedings, panel_start,
           panel_end)
    room_start = np.full(n, INF)
    room_end = panel_end  # no sittings: a hearing ends with its listing
    if tb.has_sittings:  # then it sits in a room, in order of its listing's end
        room_end = np.full(n, INF)
        _stage(tb, T.ROOMS, order_by_time(panel_end, hearing, lo), panel_end, sitting,
               room_start, room_end)
    for i in range(n):
        if pool[i] == NO_POOL:
            continue
        if route[i] == HEARING:
            hearing_start[i] = panel_start[i]
            if tb.has_sittings:
                sitting_queued[i] = panel_end[i]
                sitting_start[i] = room_start[i]
            ended[i] = room_end[i]
            finalised[i] = ended[i]
        elif route[i] >= 0:
            ended[i] = after[i] + proceedings[i]
            finalised[i] = ended[i]
        else:
            finalised[i] = after[i]
    return (assessed, decided, queued, inv_start, inv_end, cps_at, trial_end, hearing_queued,
            hearing_start, sitting_queued, sitting_start, ended, finalised)


# --- binning -------------------------------------------------------------------------------

@njit(inline="always", cache=True)
def _seen(t, horizon):
    """Whether a time was seen: it happened (not NaN or inf) before the horizon."""
    return t < horizon  # NaN and inf compare False


@njit(inline="always", cache=True)
def _add(bins, channel, month_of_day, h, t, value):
    """An event at t (in the window) into a flow channel, or a mean's count and sum."""
    if t >= 0.0 and t < h:
        k = month_of_day[int(t)]
        bins[channel, k] += 1.0
        if not math.isnan(value):  # a mean: its sum follows the count
            bins[channel + 1, k] += value


@njit(inline="always", cache=True)
def _stock(bins, channel, month_of_day, h, enter, leave):
    """A case present from `enter` until `leave` (either unseen: never) in a stock channel."""
    if not _seen(enter, h):
        return
    bins[channel, 0 if enter < 0.0 else month_of_day[int(enter)]] += 1.0
    if _seen(leave, h):
        bins[channel, 0 if leave < 0.0 else month_of_day[int(leave)]] -= 1.0


@njit(inline="always", cache=True)
def _held(bins, channel, month_of_day, edges, h, enter, leave):
    """Officer-days of a case from `enter` until `leave` (unseen: the horizon), by month."""
    if not _seen(enter, h):
        return
    stop = leave if _seen(leave, h) else h
    k = 0 if enter < 0.0 else month_of_day[int(enter)]
    while k < edges.size - 1 and edges[k] < stop:
        overlap = min(stop, edges[k + 1]) - max(enter, edges[k])
        if overlap > 0.0:
            bins[channel, k] += overlap
        k += 1


@njit(inline="always", cache=True)
def _workdays(cum, first, t0, t1):
    return cum[math.floor(t1) - first] - cum[math.floor(t0) - first]


@njit(cache=True)
def _bin(tb, bins, cases, allegations, arrival, stream, pool, severity, officer, referred,
         route, proven, dismissed, assessed, decided, queued, inv_start, inv_end, cps_at, trial_end,
         hearing_queued, hearing_start, sitting_queued, sitting_start, ended, finalised):
    """Every case's times into the period bins (`sim.engine.bins`), as `metrics` defines."""
    # the tables' arrays as locals: an inlined helper given `tb` would touch every array in it
    h, mod, edges = tb.horizon, tb.month_of_day, tb.report_edges
    cum, wfirst = tb.workday_cumulative, tb.workday_first
    nan = np.nan
    first = tb.first_report_month
    for k in range(bins.shape[1]):
        for s in range(2):
            bins[B.V_CASES + s, k] = cases[s, first + k]
        bins[B.V_ALLEGATIONS, k] = allegations[0, first + k] + allegations[1, first + k]
    for i in range(arrival.size):
        if finalised[i] < 0.0:
            continue  # over before the window: in no metric
        p = pool[i]
        if referred[i]:
            _add(bins, B.F_REFERRALS, mod, h, assessed[i], nan)
        if p == IOPC:
            _add(bins, B.F_INDEPENDENT, mod, h, decided[i], nan)
        if p != NO_POOL:
            _add(bins, B.F_OPENED + severity[i], mod, h, queued[i], nan)
            _add(bins, B.F_COMPLETED + p, mod, h, inv_end[i], nan)
            _stock(bins, B.S_OPEN + p, mod, h, queued[i], inv_end[i])
            over = max(arrival[i] + TWELVE_MONTHS, queued[i])
            _stock(bins, B.S_OVER_12M + p, mod, h, over,
                   max(inv_end[i], over) if _seen(inv_end[i], h) else nan)
            if _seen(inv_start[i], h):
                _add(bins, B.M_WAIT + 2 * p, mod, h, inv_start[i], inv_start[i] - queued[i])
            if _seen(queued[i], h) and not _seen(inv_end[i], h):
                bins[B.A_AGE + 2 * p, bins.shape[1] - 1] += 1.0
                bins[B.A_AGE + 2 * p + 1, bins.shape[1] - 1] += h - arrival[i]
            if _seen(finalised[i], h):
                _add(bins, B.M_DURATION + 2 * (2 * p + stream[i]), mod, h, finalised[i],
                     _workdays(cum, wfirst, arrival[i], finalised[i]))
            if p == IOPC and _seen(inv_end[i], h):
                length = inv_end[i] - queued[i]
                _add(bins, B.M_IOPC_DURATION, mod, h, inv_end[i],
                     _workdays(cum, wfirst, queued[i], inv_end[i]))
                within, over_18 = length <= TWELVE_MONTHS, length > EIGHTEEN_MONTHS
                _add(bins, B.M_WITHIN_12M, mod, h, inv_end[i], 1.0 if within else 0.0)
                _add(bins, B.M_OVER_18M, mod, h, inv_end[i], 1.0 if over_18 else 0.0)
                if stream[i] == 0:  # complaint cases, from receipt (the Met bulletin's)
                    since = inv_end[i] - arrival[i]
                    _add(bins, B.M_RECEIPT_12M, mod, h, inv_end[i],
                         1.0 if since <= TWELVE_MONTHS else 0.0)
                    _add(bins, B.M_RECEIPT_18M, mod, h, inv_end[i],
                         1.0 if since > EIGHTEEN_MONTHS else 0.0)
            if officer[i] != NOT_HELD:
                held = officer[i] - SUSPENDED  # 0 suspended, 1 restricted
                _stock(bins, B.S_SUSPENDED + held, mod, h, assessed[i], finalised[i])
                _held(bins, B.H_SUSPENDED + held, mod, edges, h, assessed[i], finalised[i])
        _add(bins, B.F_CPS_DECISIONS, mod, h, cps_at[i], nan)
        _add(bins, B.F_CHARGED, mod, h, trial_end[i], nan)
        r = route[i]
        if r >= 0:
            _add(bins, B.F_HELD + r, mod, h, ended[i], nan)
            if _seen(ended[i], h):
                _add(bins, B.M_PROVEN, mod, h, ended[i], 1.0 if proven[i] else 0.0)
        if dismissed[i]:
            _add(bins, B.F_DISMISSED, mod, h, finalised[i], nan)
        if r == HEARING:
            _stock(bins, B.S_AWAITING, mod, h, hearing_queued[i], ended[i])
            if _seen(hearing_start[i], h):
                _add(bins, B.M_HEARING_WAIT, mod, h, hearing_start[i],
                     hearing_start[i] - hearing_queued[i])
            if _seen(sitting_start[i], h):
                _add(bins, B.M_ROOM_WAIT, mod, h, sitting_start[i],
                     sitting_start[i] - sitting_queued[i])
            if _seen(ended[i], h):
                _add(bins, B.M_HEARING_TIME, mod, h, ended[i], ended[i] - hearing_queued[i])


# --- entry points --------------------------------------------------------------------------

@njit(cache=True)
def records(tb, k0, k1, replication):
    """One replication case by case: (monthly counts, draws, sitting days, times), as
    `sim.engine.cases` and `sim.engine.records` lay them out."""
    rng = make_rng(k0, k1, replication)
    cases, allegations, outcomes, arrival, stream, outcome, month = _arrivals(tb, rng)
    drawn, declined_row = _fates(tb, rng, stream, outcome, month)
    fates, candidate = _admit(tb, arrival, drawn, declined_row)
    (assess, referred, refer, pool, effort, _, cps_referred, cps_days, charged, trial, _,
     route, proceedings, _, _, _) = fates
    sitting = _sitting_days(tb, rng, month, route)
    times = _times(tb, arrival, assess, referred, refer, pool, effort, cps_referred,
                   cps_days, charged, trial, route, proceedings, sitting)
    return (cases, allegations, outcomes), (arrival, stream, candidate), fates, sitting, times


@njit(cache=True)
def _one(tb, k0, k1, replication, bins):
    (cases, allegations, _), (arrival, stream, _), fates, _, times = records(tb, k0, k1,
                                                                            replication)
    (_, referred, _, pool, _, officer, _, _, _, _, _, route, _, proven, dismissed,
     severity) = fates
    (assessed, decided, queued, inv_start, inv_end, cps_at, trial_end, hearing_queued,
     hearing_start, sitting_queued, sitting_start, ended, finalised) = times
    _bin(tb, bins, cases, allegations, arrival, stream, pool, severity, officer, referred,
         route, proven, dismissed, assessed, decided, queued, inv_start, inv_end, cps_at, trial_end,
         hearing_queued, hearing_start, sitting_queued, sitting_start, ended, finalised)


@njit(cache=True, parallel=True, nogil=True)
def simulate_parallel(tb, k0, k1, replications, bins):
    """The bins of many replications, spread over numba's threads (one row each); without
    the GIL, so a server's other threads go on answering meanwhile."""
    for j in prange(replications.size):
        _one(tb, k0, k1, replications[j], bins[j])


@njit(cache=True, nogil=True)
def simulate_serial(tb, k0, k1, replications, bins):
    """As `simulate_parallel`, on the calling thread (inside worker processes and threads)."""
    for j in range(replications.size):
        _one(tb, k0, k1, replications[j], bins[j])
