"""Run a scenario: draw, simulate in chunks of replications, measure. No files, no plots.

Calibration, sweeps, comparisons and briefs all call `run_scenario`; none reaches into an
engine. Replications are independent and seeded by (seed, replication), so the results do
not depend on the chunk size or on which process ran which chunk.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from functools import partial

from sim.engine.cases import draw_replication
from sim.engine.engines import DEFAULT_ENGINE, get_engine
from sim.engine.metrics import Measured, measure
from sim.errors import InputError
from sim.model.levers import Regimes
from sim.model.scenario import Scenario
from sim.model.timeline import Timeline
from sim.version import __version__

MAX_REPS = 100_000
MAX_SEED = 2**63 - 1
BYTES_PER_CASE = 200  # records (12 times, 8 flags) plus draws and working copies
MEMORY_BUDGET_BYTES = 2 * 2**30  # per chunk of replications
MAX_CHUNK = 200  # replications at once: arrays stay under glibc's 32 MiB mmap threshold, so reused
MEMORY_SHARE = 0.75  # of the machine's memory a whole run may plan to use


@dataclass
class RunResult:
    scenario: Scenario
    timeline: Timeline
    engine: str
    reps: int
    seed: int
    measured: Measured
    started: str
    finished: str
    version: str = __version__

    def manifest(self) -> dict:
        return {
            "scenario_name": self.scenario.name,
            "scenario_hash": self.scenario.digest(),
            "engine": self.engine,
            "reps": self.reps,
            "seed": self.seed,
            "version": self.version,
            "started": self.started,
            "finished": self.finished,
            "rerun_one_replication":
                "sim.engine.cases.draw_replication(scenario, timeline, seed, r)",
            "scenario": self.scenario.to_dict(),
        }


def expected_cases_per_replication(scenario: Scenario) -> float:
    """Individual (investigated or referred) cases one replication holds, for sizing."""
    years = scenario.horizon_years + scenario.warmup_years + 1 / 12
    monthly = 0.0
    for name in ("complaints", "conduct"):
        stream = getattr(scenario.demand, name)
        shares = getattr(scenario.assessment, name)
        peak = max(s.value for s in stream.cases_per_month)
        monthly += peak * (shares.psu + shares.dps + shares.iopc)
    growth = max(p.officers for p in scenario.demand.officers) / min(
        p.officers for p in scenario.demand.officers)
    return monthly * 12 * years * growth**scenario.demand.elasticity


def plan_chunks(scenario: Scenario, reps: int, chunk_size: int | None = None) -> list[range]:
    """Split replications into chunks that fit the memory budget."""
    check_run_size(reps)
    per_rep = max(expected_cases_per_replication(scenario) * BYTES_PER_CASE, 1.0)
    if chunk_size is None:
        chunk_size = int(max(1, min(reps, MEMORY_BUDGET_BYTES // per_rep, MAX_CHUNK)))
    if per_rep > MEMORY_BUDGET_BYTES:
        raise InputError(
            f"one replication would need about {per_rep / 2**30:.1f} GiB of memory,"
            f" more than the {MEMORY_BUDGET_BYTES / 2**30:.0f} GiB budget",
            field="demand", allowed="smaller demand, a shorter horizon or warm-up",
        )
    need, have = estimate_run_bytes(scenario, reps, chunk_size), physical_memory_bytes()
    if need > MEMORY_SHARE * have:
        raise InputError(
            f"this run would need about {need / 2**30:.1f} GiB of memory; this machine has"
            f" {have / 2**30:.1f} GiB",
            field="reps", value=reps,
            allowed=f"fewer replications (about {int(reps * MEMORY_SHARE * have / need):,} fit)",
        )
    return [range(i, min(i + chunk_size, reps)) for i in range(0, reps, chunk_size)]


def estimate_run_bytes(scenario: Scenario, reps: int, chunk: int) -> float:
    """Peak memory of a run: one chunk's cases plus every replication's metric values and
    the long monthly table written at the end (about 64 bytes a row in pandas)."""
    months = scenario.horizon_years * 12
    working = chunk * expected_cases_per_replication(scenario) * BYTES_PER_CASE
    per_rep_values = (60 + 50 * scenario.horizon_years + 15 * months) * 8
    series_rows = 15 * months
    return working + reps * (per_rep_values + series_rows * 64)


def physical_memory_bytes() -> float:
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # not available on this platform
        return float("inf")


def check_run_size(reps: int, seed: int = 0, *, reps_field: str = "reps",
                   seed_field: str = "seed") -> None:
    """Replications and seed in range, named as the caller's user wrote them."""
    if not 1 <= reps <= MAX_REPS:
        raise InputError("replications out of range", field=reps_field, value=reps,
                         allowed=f"a whole number from 1 to {MAX_REPS:,}")
    if not 0 <= seed <= MAX_SEED:
        raise InputError("seed out of range", field=seed_field, value=seed,
                         allowed=f"a whole number from 0 to {MAX_SEED}")


def run_scenario(
    scenario: Scenario,
    reps: int,
    seed: int,
    engine: str = DEFAULT_ENGINE,
    chunk_size: int | None = None,
    progress: Callable[[int], None] | None = None,
    workers: int = 1,
) -> RunResult:
    """Simulate `reps` replications and measure every metric for each.

    With `workers` > 1, chunks run in that many processes; the results are identical
    (each replication has its own random streams), only sooner.
    """
    check_run_size(reps, seed)
    get_engine(engine, scenario)  # refuse an unknown engine or unsupported feature up front
    timeline = Timeline.for_scenario(scenario)
    regimes = Regimes.for_scenario(scenario, timeline)
    started = _now()
    chunks = plan_chunks(scenario, reps, chunk_size)
    if workers > 1 and len(chunks) < workers and chunk_size is None:
        chunks = plan_chunks(scenario, reps, -(-reps // workers))
    job = partial(run_chunk, scenario, timeline, regimes, seed, engine)
    if workers > 1 and len(chunks) > 1:
        parts = _in_processes(job, chunks, workers, progress)
    else:
        parts = []
        for chunk in chunks:
            parts.append(job(chunk))
            if progress:
                progress(len(chunk))
    return RunResult(scenario, timeline, engine, reps, seed, Measured.concat(parts),
                     started, _now())


def run_chunk(scenario: Scenario, timeline: Timeline, regimes: Regimes, seed: int,
              engine: str, chunk: range) -> Measured:
    """Draw, simulate and measure the replications in `chunk` (numbers, not positions)."""
    draws = [draw_replication(scenario, timeline, seed, r, regimes) for r in chunk]
    records = get_engine(engine).simulate(scenario, timeline, draws)
    return measure(records, scenario, timeline)


def _in_processes(job: Callable[[range], Measured], chunks: list[range], workers: int,
                  progress: Callable[[int], None] | None) -> list[Measured]:
    parts: dict[int, Measured] = {}
    context = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(chunks)), mp_context=context,
                             initializer=die_with_parent, initargs=(os.getpid(),)) as pool:
        futures = {pool.submit(job, chunk): i for i, chunk in enumerate(chunks)}
        try:
            for future in as_completed(futures):
                parts[futures[future]] = future.result()
                if progress:
                    progress(len(chunks[futures[future]]))
        except BaseException:
            stop_pool(pool)
            raise
    return [parts[i] for i in range(len(chunks))]


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """On Ctrl-C or an error: drop the chunks still queued rather than wait for every one of
    them (minutes on a large run), and end the workers."""
    workers = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in workers:
        process.terminate()
    for process in workers:
        process.join(timeout=5)


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(parent: int) -> None:
    """Worker initializer for every process pool ccsim starts: the worker ends when the
    process that started the pool does, even one killed outright (SIGKILL), instead of
    running on for minutes holding its memory. Linux: the kernel sends SIGKILL when the
    parent dies (prctl PR_SET_PDEATHSIG); elsewhere a thread watches the parent."""
    bound = False
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            bound = libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
        except (OSError, AttributeError):
            bound = False
    if not bound:
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    if not _alive(parent):  # it died before the binding took hold
        os._exit(1)


def _watch_parent(parent: int, every: float = 1.0) -> None:
    while _alive(parent):
        time.sleep(every)
    os._exit(1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, but not ours to signal
        return True
    return True


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


__all__ = ["RunResult", "check_run_size", "die_with_parent", "plan_chunks", "run_chunk",
           "run_scenario", "stop_pool"]
