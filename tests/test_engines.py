"""The compiled engine against the SimPy reference, and both against Ciw.

Three levels of evidence, cheapest first (and, beside them, the kernel's own period bins
against the metrics layer's bins from its records: one definition of every metric):
1. case by case: fed the same draws, the two engines give every case the same timestamps
   (to 1e-6 days) on the baseline and on stress scenarios (a near-saturated pool, a large
   CPS share, capacity falling and rising mid-run, both in pools and in panels, hearing
   rooms saturated and stepping, the severity mix turning to gross misconduct mid-run);
2. in distribution: run on independent seeds, every summary metric agrees by Welch's
   two-sample t-test, with Holm's correction holding the family-wise error rate at 1%;
3. against an independent library: Ciw simulates the same small network (infinite-server
   assessment, then a c-slot FCFS investigator pool) and the mean wait and time in system
   agree within Monte Carlo error.
"""

from __future__ import annotations

import copy
import datetime as dt

import ciw
import numpy as np
import pytest
from scipy import stats

from sim.engine.bins import CHANNEL, CHANNELS
from sim.engine.cases import GROSS_MISCONDUCT, HEARING
from sim.engine.compiled import kernel
from sim.engine.engines import case_records
from sim.engine.engines.compiled import tables
from sim.engine.metrics import bins_from_records
from sim.engine.records import TIME_FIELDS
from sim.engine.regimes import Regimes
from sim.engine.run import run_scenario
from sim.model.capacity import sitting_schedule
from sim.model.scenario import scenario_from_dict
from sim.model.timeline import Timeline
from tests.conftest import small_dict

FAMILY_ERROR = 0.01  # Holm-corrected family-wise error rate of the agreement tests


def _stress(kind: str) -> dict:
    d = small_dict(horizon_years=2, warmup_years=1.0)
    if kind == "saturated":  # IOPC demand at ~98% of its slots
        d["pools"]["iopc"]["staff"] = [{"from": "2018-04-01", "value": 6}]
    elif kind == "cps":  # most investigations go to the CPS, and most charged
        d["cps"]["referral_share"] = {"iopc": 0.8, "dps": 0.6, "psu": 0.5}
        d["cps"]["charge_share"] = 0.7
    elif kind == "steps":  # falls while busy, then rises, in a pool and in the panels
        d["pools"]["iopc"]["staff"] = [
            {"from": "2018-04-01", "value": 40}, {"from": "2020-11-01", "value": 12},
            {"from": "2021-02-01", "value": 30}, {"from": "2021-09-01", "value": 8},
            {"from": "2022-01-01", "value": 50}]
        d["pools"]["iopc"]["training_lag_days"] = 60
        d["pools"]["psu"]["staff"] = [
            {"from": "2018-04-01", "value": 160}, {"from": "2021-06-01", "value": 40},
            {"from": "2021-08-01", "value": 200}]
        d["proceedings"]["panels"]["staff"] = [
            {"from": "2018-04-01", "value": 12}, {"from": "2021-05-01", "value": 2},
            {"from": "2022-02-01", "value": 20}]
    elif kind == "shared":  # shared time: cases in hand slow each other, with pace steps
        iopc = d["pools"]["iopc"]
        iopc["staff"] = [{"from": "2018-04-01", "value": 8}, {"from": "2021-01-01",
                                                             "value": 4},
                         {"from": "2021-07-01", "value": 12}]
        iopc["cases_per_staff"], iopc["reference_caseload"] = 4, 1.5
        iopc["training_lag_days"] = 45
        psu = d["pools"]["psu"]
        psu["cases_per_staff"], psu["reference_caseload"] = 5, 3.0
        psu["investigator_work_share"] = 0.6  # part of a case's time slowed by caseload
        psu["staff"] = [{"from": "2018-04-01", "value": 160}, {"from": "2021-06-01",
                                                              "value": 90}]
        panels = d["proceedings"]["panels"]
        panels["reference_caseload"] = 4
        panels["investigator_work_share"] = 0.5
        panels["staff"] = [{"from": "2018-04-01", "value": 12}, {"from": "2021-05-01",
                                                                "value": 3}]
    elif kind == "hearings":  # a saturated hearing stage: two panels for ~57 hearings a year
        d["proceedings"]["panels"]["staff"] = [{"from": "2018-04-01", "value": 2}]
    elif kind == "rooms":  # hearing rooms saturated and stepping, chairs falling below them
        d["proceedings"]["sittings"] = {
            "rooms": [{"from": "2018-04-01", "value": 1}, {"from": "2021-03-01", "value": 3},
                      {"from": "2021-10-01", "value": 0}, {"from": "2022-01-01", "value": 2}],
            "days": {"dist": "lognormal", "mean": 20, "cv": 0.8}}
        d["proceedings"]["panels"]["staff"] = [
            {"from": "2018-04-01", "value": 12}, {"from": "2021-05-01", "value": 1},
            {"from": "2021-07-01", "value": 12}]
        d["proceedings"]["hearing_days"] = {"dist": "lognormal", "mean": 60, "cv": 0.5}
    elif kind == "iopc_limit":  # a full IOPC declines referrals: queue and declines both
        d["pools"]["iopc"]["staff"] = [{"from": "2018-04-01", "value": 6},
                                       {"from": "2021-03-01", "value": 3},
                                       {"from": "2021-09-01", "value": 9}]
        d["iopc_referral"]["caseload_limit"] = 1.3
    elif kind == "severity":  # the mix turns to gross misconduct mid-run, hearings scarce
        d["proceedings"]["panels"]["staff"] = [{"from": "2018-04-01", "value": 3}]
        d["levers"] = [{"name": "more gross misconduct", "from": "2021-03-01", "ramp_months": 3,
                        "set": {"assessment.conduct.dps": 0.25, "assessment.conduct.psu": 0.01,
                                "assessment.complaints.dps": 0.05,
                                "assessment.complaints.psu": 0.061380,
                                "severity.local_not_special.complaints": 0.3,
                                "severity.iopc_gross_misconduct": 0.9}}]
    elif kind == "empirical":  # resampled durations (the kernel's second pass draws them)
        d["assessment"]["time_days"] = {"dist": "empirical", "values": [5, 20, 60],
                                        "weights": [1, 2, 1]}
        d["pools"]["psu"]["investigation_days"]["complaints"] = {
            "dist": "empirical", "values": [40, 90, 150, 400]}
        d["proceedings"]["hearing_days"] = {"dist": "empirical", "values": [3, 10]}
    return d


def _records(scenario, engine: str, reps: int, seed: int = 7):
    return case_records(engine, scenario, Timeline.for_scenario(scenario), seed, range(reps))


KINDS = ["baseline", "saturated", "cps", "steps", "empirical", "shared", "hearings",
         "rooms", "iopc_limit", "severity"]


@pytest.mark.parametrize("kind", KINDS)
def test_kernel_bins_equal_the_bins_of_its_records(kind: str) -> None:
    """The bins the kernel fills while it simulates equal those `metrics.bins_from_records`
    computes from the same replications' records (to rounding in sums of values), so every
    metric is the same whichever route made it."""
    scenario = scenario_from_dict(_stress(kind))
    timeline = Timeline.for_scenario(scenario)
    regimes = Regimes.for_scenario(scenario, timeline)
    tb = tables(scenario, timeline, regimes)
    fused = np.zeros((3, CHANNELS, tb.report_edges.size - 1))
    kernel.simulate_serial(tb, np.uint32(7), np.uint32(0), np.arange(3), fused)
    from_records = bins_from_records(_records(scenario, "compiled", 3), timeline)
    for name, c in CHANNEL.items():
        np.testing.assert_allclose(fused[:, c], from_records[:, c], rtol=1e-12, atol=1e-9,
                                   err_msg=f"{kind}: {name}")
    assert fused.sum() > 0


@pytest.mark.parametrize("kind", KINDS)
def test_engines_agree_case_by_case(kind: str) -> None:
    scenario = scenario_from_dict(_stress(kind))
    des, mc = _records(scenario, "des", 2), _records(scenario, "compiled", 2)
    for name in TIME_FIELDS:
        a, b = des.columns[name], mc.columns[name]
        assert np.array_equal(np.isnan(a), np.isnan(b)), f"{kind}: {name} happened differently"
        assert np.allclose(a[~np.isnan(a)], b[~np.isnan(b)], rtol=0, atol=1e-6), (
            f"{kind}: {name} differs by up to {np.nanmax(np.abs(a - b)):.3g} days")


def test_the_hearing_stress_really_queues() -> None:
    """Two panels (20 slots) for hearings that hold one about 470 days: cases wait months."""
    rec = _records(scenario_from_dict(_stress("hearings")), "compiled", 2)
    wait = rec.columns["hearing_start"] - rec.columns["hearing_queued"]
    assert np.nanmean(wait) > 60


def test_the_room_stress_really_queues() -> None:
    """One room for hearings that sit about 20 days, then none for three months: listed
    hearings wait weeks for a room (and the room wait is part of the time to a hearing's end)."""
    rec = _records(scenario_from_dict(_stress("rooms")), "compiled", 2)
    room_wait = rec.columns["sitting_start"] - rec.columns["sitting_queued"]
    assert np.nanmean(room_wait) > 20
    heard = ~np.isnan(rec.columns["proceedings_end"]) & (rec.route == HEARING)
    assert np.all(rec.columns["proceedings_end"][heard] >= rec.columns["sitting_start"][heard])


def test_the_severity_stress_changes_the_mix_and_the_hearings() -> None:
    """After the lever, more cases are gross misconduct, so more go to hearings, and with
    three chairs the cases awaiting one pile up; without it, the baseline's mix."""
    d = _stress("severity")
    rec = _records(scenario_from_dict(d), "compiled", 2)
    d.pop("levers")
    before = _records(scenario_from_dict(d), "compiled", 2)
    after = (dt.date(2021, 6, 1) - d["start"]).days  # the clock's day 0 is the start
    late, late_before = rec.arrival > after, before.arrival > after
    gross = np.mean(rec.severity[late & (rec.pool >= 0)] == GROSS_MISCONDUCT)
    gross_before = np.mean(before.severity[late_before & (before.pool >= 0)] == GROSS_MISCONDUCT)
    assert gross > 2 * gross_before
    heard, heard_before = (rec.route == HEARING) & late, (before.route == HEARING) & late_before
    assert np.sum(heard) > 2 * np.sum(heard_before)

    def awaiting(r) -> int:  # ready for a hearing, not concluded by the horizon
        return int(np.sum(~np.isnan(r.columns["hearing_queued"])
                          & np.isnan(r.columns["proceedings_end"])))

    assert awaiting(rec) > 1.5 * awaiting(before)


def test_saturated_stress_really_queues() -> None:
    """The stress scenario must stress: IOPC cases wait months for a slot."""
    rec = _records(scenario_from_dict(_stress("saturated")), "compiled", 2)
    wait = rec.inv_start - rec.inv_queued
    assert np.nanmean(wait[rec.pool == 0]) > 60


def _holm_rejections(p_values: dict[str, float], alpha: float) -> list[str]:
    names = sorted(p_values, key=p_values.get)
    rejected = []
    for i, name in enumerate(names):
        if p_values[name] > alpha / (len(names) - i):
            break
        rejected.append(name)
    return rejected


def _agreement(scenario, reps: int) -> list[str]:
    """Metrics whose means differ between engines run on independent seeds (Welch + Holm)."""
    des = run_scenario(scenario, reps, seed=11, engine="des").measured.summary
    mc = run_scenario(scenario, reps, seed=12, engine="compiled").measured.summary
    p_values = {}
    for metric, values in des.items():
        a, b = values[~np.isnan(values)], mc[metric][~np.isnan(mc[metric])]
        if min(a.size, b.size) < 3 or (np.ptp(a) == 0 and np.ptp(b) == 0):
            continue  # no variation (e.g. a metric that is structurally zero)
        p_values[metric] = stats.ttest_ind(a, b, equal_var=False).pvalue
    assert len(p_values) > 30
    return _holm_rejections(p_values, FAMILY_ERROR)


def test_engines_agree_in_distribution_small() -> None:
    assert _agreement(scenario_from_dict(_stress("baseline")), reps=12) == []


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["baseline", "saturated", "cps", "steps", "shared", "rooms",
                                  "severity"])
def test_engines_agree_in_distribution(kind: str) -> None:
    assert _agreement(scenario_from_dict(_stress(kind)), reps=40) == []


# --- Ciw: the same small network in an independent simulator -----------------------------

LAMBDA, MEAN_ASSESS, MEAN_SERVICE, CV_SERVICE, SLOTS = 1.5, 5.0, 12.0, 0.8, 20  # rho = 0.9
WARMUP, HORIZON = 365.0, 730.0


def _one_pool_scenario() -> dict:
    """Every case assessed (exponential) then investigated by the PSU; nothing after."""
    d = copy.deepcopy(small_dict(horizon_years=2, warmup_years=1.0))
    per_month = LAMBDA * 365.25 / 12
    d["demand"]["complaints"]["cases_per_month"] = [{"from": "2018-04-01", "value": per_month}]
    d["demand"]["conduct"]["cases_per_month"] = [{"from": "2018-04-01", "value": 1e-9}]
    only_psu = {"outside_schedule3": 0.0, "otherwise": 0.0, "reflective_practice": 0.0,
                "psu": 1.0, "dps": 0.0, "iopc": 0.0}
    d["assessment"]["complaints"] = dict(only_psu)
    d["assessment"]["conduct"] = dict(only_psu)
    d["assessment"]["time_days"] = {"dist": "exponential", "mean": MEAN_ASSESS}
    lognormal = {"dist": "lognormal", "mean": MEAN_SERVICE, "cv": CV_SERVICE}
    d["pools"]["psu"] = {"staff": [{"from": "2018-04-01", "value": SLOTS}],
                         "cases_per_staff": 1, "training_lag_days": 0,
                         "investigation_days": {"complaints": lognormal, "conduct": lognormal}}
    d["cps"]["referral_share"] = {"iopc": 0.0, "dps": 0.0, "psu": 0.0}
    d["proceedings"]["case_to_answer"] = {"iopc": 0.0, "dps": 0.0, "psu": 0.0}
    return d


def _ours(reps: int) -> tuple[np.ndarray, np.ndarray]:
    scenario = scenario_from_dict(_one_pool_scenario())
    rec = _records(scenario, "compiled", reps, seed=3)
    warm = (rec.arrival >= 0) & ~np.isnan(rec.inv_end)  # arrived after the warm-up, finished
    wait = np.bincount(rec.rep[warm], (rec.inv_start - rec.inv_queued)[warm]) / np.bincount(
        rec.rep[warm])
    sojourn = np.bincount(rec.rep[warm], (rec.inv_end - rec.arrival)[warm]) / np.bincount(
        rec.rep[warm])
    return wait, sojourn


def _ciw(reps: int) -> tuple[np.ndarray, np.ndarray]:
    sigma = np.sqrt(np.log1p(CV_SERVICE**2))
    mu = np.log(MEAN_SERVICE) - sigma**2 / 2
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(LAMBDA), None],
        service_distributions=[ciw.dists.Exponential(1 / MEAN_ASSESS),
                               ciw.dists.Lognormal(mu, sigma)],
        number_of_servers=[float("inf"), SLOTS],
        routing=[[0.0, 1.0], [0.0, 0.0]],
    )
    waits, sojourns = [], []
    for r in range(reps):
        ciw.seed(100 + r)
        q = ciw.Simulation(network)
        q.simulate_until_max_time(WARMUP + HORIZON)
        recs = q.get_all_records()
        arrived = {x.id_number: x.arrival_date for x in recs if x.node == 1}
        done = [x for x in recs if x.node == 2 and arrived[x.id_number] >= WARMUP]
        waits.append(np.mean([x.waiting_time for x in done]))
        sojourns.append(np.mean([x.exit_date - arrived[x.id_number] for x in done]))
    return np.array(waits), np.array(sojourns)


@pytest.mark.slow
def test_agrees_with_ciw() -> None:
    """Mean wait for a slot and mean time to the end of the investigation: Welch's t-test
    on 30 replications each, each at the 0.5% level (1% for the pair, Bonferroni). Both
    simulators censor the same way (cases finished by the horizon), so the estimands match."""
    ours, theirs = _ours(30), _ciw(30)
    for name, a, b in zip(("wait", "time in system"), ours, theirs, strict=True):
        p = stats.ttest_ind(a, b, equal_var=False).pvalue
        assert p > FAMILY_ERROR / 2, f"{name}: ccsim {a.mean():.3f} vs Ciw {b.mean():.3f}"
    assert theirs[0].mean() > 1.0  # rho = 0.9 on 20 slots: the queue is not trivial


def test_bucket_order_is_a_stable_sort() -> None:
    """The kernel's O(n) ordering (a counting sort by day, then insertion within the day)
    equals NumPy's stable argsort, ties, cases never ready (inf) and all."""
    rng = np.random.default_rng(5)
    t = np.round(rng.uniform(-300.0, 2000.0, 5000), 1)  # rounding makes ties
    t[rng.random(t.size) < 0.05] = np.inf
    rows = np.flatnonzero(rng.random(t.size) < 0.7)
    ours = kernel.order_by_time(t, rows, -301.0)
    assert np.array_equal(ours, rows[np.argsort(t[rows], kind="stable")])


def _plain_queue(ready, service, times, slots, horizon):
    """FCFS with the capacity rule of sim.model.capacity, one case at a time, plainly: a
    rise opens slots free from the change; a fall closes the slots that come free first."""
    free = [-np.inf] * int(slots[0])  # free time of each open slot
    step, last, start = 1, -np.inf, np.full(ready.size, np.inf)
    for i in np.argsort(ready, kind="stable"):
        t0 = max(ready[i], last)
        begin = max(t0, min(free, default=np.inf))
        while step < len(times) and times[step] <= begin:
            change = int(slots[step]) - len(free)
            free = sorted(free)[-change:] if change < 0 else free + [times[step]] * change
            step += 1
            begin = max(t0, min(free, default=np.inf))
        if begin >= horizon:
            break
        start[i] = begin
        free[int(np.argmin(free))] = begin + service[i]
        last = begin
    return start


@pytest.mark.parametrize("slots", [[8, 12], [12, 3], [5, 0, 9]])
def test_heap_queue_equals_a_plain_one(slots) -> None:
    """The kernel's heap-based FCFS queue against a plain list version, with capacity
    rising, falling (busy slots retire when their case ends) and closing altogether."""
    rng = np.random.default_rng(len(slots) + slots[1])
    ready = rng.uniform(-200, 2000.0, 600)
    service = rng.exponential(40.0, ready.size)
    times = np.array([-np.inf, *np.linspace(600.0, 1200.0, len(slots) - 1)])
    slots = np.array(slots, dtype=np.int64)
    start = np.full(ready.size, np.inf)
    order = kernel.order_by_time(ready, np.arange(ready.size), -201.0)
    kernel.queue(order, ready, service, start, times, slots, slots.size, 2000.0, 0.0,
                 np.ones(0, np.bool_))
    expected = _plain_queue(ready, service, times, slots, 2000.0)
    assert np.array_equal(np.isinf(start), np.isinf(expected))
    assert np.allclose(start[np.isfinite(start)], expected[np.isfinite(expected)], atol=1e-9)
    assert (start[np.isfinite(start)] > ready[np.isfinite(start)]).any()  # someone waited


def test_sittings_are_the_fewer_of_rooms_and_productive_chairs() -> None:
    """Rooms step 4 -> 2; chairs fall to 3 and then rise to 12 with a 60-day lag: the
    hearings that can sit at once follow whichever is fewer, whole ones only."""
    d = small_dict()
    d["proceedings"]["panels"]["staff"] = [
        {"from": "2018-04-01", "value": 12}, {"from": "2021-06-01", "value": 3.5},
        {"from": "2021-09-01", "value": 12}]
    d["proceedings"]["panels"]["training_lag_days"] = 60
    d["proceedings"]["sittings"]["rooms"] = [{"from": "2018-04-01", "value": 4},
                                             {"from": "2022-01-01", "value": 2}]
    scenario = scenario_from_dict(d)
    timeline = Timeline.for_scenario(scenario)
    times, slots = sitting_schedule(scenario.proceedings.sittings,
                                    scenario.proceedings.panels, timeline)
    day = timeline.day
    np.testing.assert_array_equal(times, [-np.inf, day(dt.date(2021, 6, 1)),
                                          day(dt.date(2021, 9, 1)) + 60,
                                          day(dt.date(2022, 1, 1))])
    np.testing.assert_array_equal(slots, [4, 3, 4, 2])
