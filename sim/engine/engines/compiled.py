"""The compiled engine: the default; every rule of the DES in one fused numba pass.

`measure` runs a chunk of replications across numba's threads, keeping only period bins;
`records` runs the same kernel case by case, for the tests that hold it to the DES. Which
thread runs which replication never matters: each has its own streams (seed, replication,
purpose), so results do not depend on the thread count or the chunking.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import numba
import numpy as np

from sim.engine.bins import CHANNELS
from sim.engine.cases import CaseDraws, MonthlyCounts
from sim.engine.compiled import kernel
from sim.engine.compiled.streams import key_words
from sim.engine.compiled.tables import Tables, tables_for
from sim.engine.metrics import Measured, from_bins
from sim.engine.records import Records
from sim.engine.regimes import Regimes
from sim.model.scenario import Scenario
from sim.model.timeline import Timeline

#: set in worker processes (`single_threaded`): a process pool already uses every core
_SERIAL = threading.local()
#: set on a thread that may spread the kernel over numba's threads (`launcher`)
_LAUNCHER = threading.local()
#: numba's default thread pool takes one parallel launch at a time: two threads launching
#: at once abort the process, so every parallel launch holds this lock
_LAUNCH = threading.Lock()


def single_threaded() -> None:
    """Run the kernel on the calling thread only: in worker processes, which already use
    every core between them (and, forked, must not touch the parent's thread pool)."""
    _SERIAL.on = True


@contextmanager
def launcher() -> Iterator[None]:
    """Let the calling thread, not only the main one, spread the kernel over numba's threads
    (`ccsim serve` simulates on a thread of its own, so the page stays answered meanwhile).
    Other non-main threads (sweep pools) keep running the kernel serially."""
    _LAUNCHER.on = True
    try:
        yield
    finally:
        _LAUNCHER.on = False


@contextmanager
def threads(workers: int) -> Iterator[None]:
    """Run the kernel on `workers` threads (at most the cores numba found) for a while."""
    before = numba.get_num_threads()
    cores = getattr(numba.config, "NUMBA_NUM_THREADS", 1)  # the threads numba may start
    numba.set_num_threads(max(1, min(workers, cores)))
    try:
        yield
    finally:
        numba.set_num_threads(before)


def needs_compiling() -> bool:
    """Whether the kernel has yet to be compiled on this machine (a first run takes about
    a minute and a half longer on two cores). numba caches beside the code, or, where that
    folder is read-only, in its own user cache (NUMBA_CACHE_DIR, or ~/.cache/numba): only
    those are looked in."""
    if kernel.simulate_parallel.signatures:
        return False
    pattern = "kernel.simulate_parallel-*.nbi"
    if any((Path(kernel.__file__).parent / "__pycache__").glob(pattern)):
        return False
    user = getattr(numba.config, "CACHE_DIR", "") or str(Path.home() / ".cache" / "numba")
    return not (Path(user).is_dir() and any(Path(user).rglob(pattern)))


def tables(scenario: Scenario, timeline: Timeline, regimes: Regimes) -> Tables:
    """The kernel's tables for a run, built once and kept with its regimes."""
    return regimes.cached("compiled.tables", partial(tables_for, scenario, timeline, regimes))


class CompiledEngine:
    """Simulates and measures replications in one compiled pass each."""

    name = "compiled"

    def check(self, scenario: Scenario) -> None:
        """Every feature of the scenario schema is supported; nothing to refuse."""

    def measure(self, scenario: Scenario, timeline: Timeline, regimes: Regimes,
                replications: range, seed: int) -> Measured:
        tb = tables(scenario, timeline, regimes)
        numbers = np.arange(replications.start, replications.stop, dtype=np.int64)
        bins = np.zeros((numbers.size, CHANNELS, tb.report_edges.size - 1))
        launches = (threading.current_thread() is threading.main_thread()
                    or getattr(_LAUNCHER, "on", False))
        if launches and not getattr(_SERIAL, "on", False) and numbers.size > 1:
            with _LAUNCH:
                kernel.simulate_parallel(tb, *key_words(seed), numbers, bins)
        else:
            kernel.simulate_serial(tb, *key_words(seed), numbers, bins)
        return from_bins(bins, numbers, scenario, timeline)


def replication_records(scenario: Scenario, timeline: Timeline, seed: int, replication: int,
                        regimes: Regimes | None = None) -> tuple[CaseDraws, dict[str, np.ndarray]]:
    """One replication case by case: its draws, and the kernel's time for every stage
    (NaN where the case never reached it within the run)."""
    regimes = regimes or Regimes.for_scenario(scenario, timeline)
    tb = tables(scenario, timeline, regimes)
    counts, (arrival, stream, candidate), fates, sitting, times = kernel.records(
        tb, *key_words(seed), replication)
    (assess, referred, refer, pool, effort, officer, cps_referred, cps_days, charged, trial,
     convicted, route, proceedings, proven, dismissed, severity) = fates
    draws = CaseDraws(
        replication=replication, counts=MonthlyCounts(*counts), arrival=arrival, stream=stream,
        assess_days=assess, referred=referred, refer_days=refer, pool=pool, severity=severity,
        effort_days=effort,
        officer=officer, cps_referred=cps_referred, cps_days=cps_days, charged=charged,
        trial_days=trial, convicted=convicted, route=route, proceedings_days=proceedings,
        proven=proven, dismissed=dismissed, iopc_candidate=candidate, sitting_days=sitting)
    names = ("assessed", "referral_decided", "inv_queued", "inv_start", "inv_end",
             "cps_decided", "trial_end", "hearing_queued", "hearing_start", "sitting_queued",
             "sitting_start", "proceedings_end", "finalised")
    stages = {"arrival": arrival.copy(), **dict(zip(names, times, strict=True))}
    for t in stages.values():
        t[~(t < timeline.horizon_days)] = np.nan  # not seen: after the horizon, or never
    return draws, stages


def draw_replication(scenario: Scenario, timeline: Timeline, seed: int, replication: int,
                     regimes: Regimes | None = None) -> CaseDraws:
    """Everything random about one replication (what the DES simulates); pass `regimes` to
    avoid recomputing the lever schedule for every replication."""
    return replication_records(scenario, timeline, seed, replication, regimes)[0]


def records(scenario: Scenario, timeline: Timeline, seed: int, replications: range) -> Records:
    """The kernel's records of a chunk (tests: the same layout as any engine's)."""
    regimes = Regimes.for_scenario(scenario, timeline)
    runs = [replication_records(scenario, timeline, seed, r, regimes) for r in replications]
    out = Records.blank([d for d, _ in runs])
    for name in out.columns:
        if name in runs[0][1]:
            out.columns[name][:] = np.concatenate([t[name] for _, t in runs])
    return out
