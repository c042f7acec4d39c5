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
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from sim.engine.engines import DEFAULT_ENGINE, get_engine
from sim.engine.engines.compiled import single_threaded, threads
from sim.engine.metrics import Measured
from sim.engine.regimes import Regimes
from sim.errors import InputError
from sim.model.scenario import Scenario
from sim.model.timeline import Timeline
from sim.version import __version__

MAX_REPS = 100_000
MAX_SEED = 2**63 - 1
BYTES_PER_CASE = 200  # records (12 times, 8 flags) plus draws and working copies
MEMORY_BUDGET_BYTES = 2 * 2**30  # per chunk of replications
# Replications simulated at once: about 20 chunks a run, so progress moves smoothly. The
# compiled engine keeps only period bins per replication, so a chunk's memory is small; the
# DES holds every case's records for a chunk (measured on the retired vectorised engine:
# chunks of 50 used under half the memory of chunks of 200, at no loss of speed).
MAX_CHUNK = 50
MIN_CHUNK = 10
PROGRESS_STEPS = 20
MEMORY_SHARE = 0.75  # of the machine's memory a whole run may plan to use
MAX_WORKERS_PER_CORE = 4  # more processes than this only add memory: each holds a chunk


#: how the note of a run with fixed parameters begins: the fitted fields keep the scenario's
#: own values, which are the calibrated ones unless the scenario changes them
FIXED_PARAMETERS = "fixed at the calibrated values"
#: the note of a run with fixed parameters (`RunResult.parameters`): the command line's
#: `--fixed-parameters`, the Python API's default
OWN_PARAMETERS = f"{FIXED_PARAMETERS} (--fixed-parameters)"
def fixed_for_speed(which: str) -> str:
    """The note of a tool that holds the fitted parameters fixed so that its many runs stay
    quick (`which`: "sweeps do", "the what-if page does"), and where they are drawn."""
    return (f"{FIXED_PARAMETERS} ({which} not draw them, for speed; ccsim compare does unless"
            " given --fixed-parameters)")


#: how the note of a run with parameter uncertainty begins (`RunResult.parameters`)
DRAWN_PARAMETERS = "drawn from the calibration posterior"


def parameters_drawn(parameters: str) -> bool:
    """Whether a run's parameter note (`RunResult.parameters`, a manifest's `parameters`)
    says its fitted parameters were drawn from a calibration, not the scenario's own."""
    return parameters.startswith(DRAWN_PARAMETERS)


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
    #: fixed (the scenario's own values), or how they were drawn (the command line's default)
    parameters: str = OWN_PARAMETERS

    def identity(self) -> dict[str, Any]:
        """What makes this run's numbers: the scenario (name, hash), how it was run (engine,
        replications, seed), where its parameters came from, and when."""
        return {
            "scenario_name": self.scenario.name,
            "scenario_hash": self.scenario.digest(),
            "engine": self.engine,
            "reps": self.reps,
            "seed": self.seed,
            "parameters": self.parameters,
            "version": self.version,
            "started": self.started,
            "finished": self.finished,
        }

    def manifest(self) -> dict[str, Any]:
        """The identity, how to rerun one replication, and the whole resolved scenario."""
        return {
            **self.identity(),
            "rerun_one_replication":
                "sim.engine.engines.compiled.draw_replication(scenario, timeline, seed, r)",
            "scenario": self.scenario.to_dict(),
        }


@dataclass(frozen=True)
class Group:
    """Replications that follow one scenario: all of a run's, or one parameter draw's."""

    scenario: Scenario
    reps: range


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
    """Split replications into chunks that fit the memory budget; refuse (InputError) a run
    too big for it or for this machine."""
    per_rep = max(expected_cases_per_replication(scenario) * BYTES_PER_CASE, 1.0)
    if chunk_size is None:
        steps = max(MIN_CHUNK, -(-reps // PROGRESS_STEPS))
        chunk_size = int(max(1, min(reps, MEMORY_BUDGET_BYTES // per_rep, MAX_CHUNK, steps)))
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


def default_workers(engine: str) -> int:
    """Cores a run uses unless told: every core for the compiled engine (threads in this
    process, nothing to start), one process for the DES (a pool costs a fork a chunk)."""
    return (os.cpu_count() or 1) if engine == "compiled" else 1


def check_run_size(reps: int, seed: int = 0) -> None:
    """Replications and seed in range."""
    if not 1 <= reps <= MAX_REPS:
        raise InputError("replications out of range", field="reps", value=reps,
                         allowed=f"a whole number from 1 to {MAX_REPS:,}")
    if not 0 <= seed <= MAX_SEED:
        raise InputError("seed out of range", field="seed", value=seed,
                         allowed=f"a whole number from 0 to {MAX_SEED}")


def check_workers(workers: int, tasks: int | None = None) -> int:
    """Refuse fewer than 1 worker or more than MAX_WORKERS_PER_CORE per core (a process
    each: 1,000 would start 1,000 processes, each holding a chunk's memory, for no gain);
    with `tasks`, the workers that can have one (no idle processes)."""
    if workers < 1:
        raise InputError("workers must be at least 1", field="workers", value=workers,
                         allowed="a whole number >= 1")
    cores = os.cpu_count() or 1
    most = MAX_WORKERS_PER_CORE * cores
    if workers > most:
        raise InputError(f"more worker processes than {MAX_WORKERS_PER_CORE} per core (this"
                         f" machine has {cores}) only add memory", field="workers",
                         value=workers, allowed=f"a whole number from 1 to {most}")
    return min(workers, tasks) if tasks else workers


def check_run(scenarios: Sequence[Scenario], reps: int, seed: int, engine: str = DEFAULT_ENGINE,
              chunk_size: int | None = None, workers: int | None = None,
              sources: Sequence[str] | None = None) -> None:
    """Every input of a run, checked once before any simulation (`sim.api` calls it; the
    engine layer below trusts its inputs): replications and seed in range, a chunk size and
    workers that make sense, an engine that supports each scenario, and memory for each.
    A refusal about a scenario names it by its entry in `sources` (its file)."""
    check_run_size(reps, seed)
    if chunk_size is not None and chunk_size < 1:
        raise InputError("chunk size must be positive", field="chunk_size", value=chunk_size,
                         allowed="a whole number >= 1")
    if workers is not None:
        check_workers(workers)
    simulator = get_engine(engine)
    for i, scenario in enumerate(scenarios):
        try:
            simulator.check(scenario)
            plan_chunks(scenario, reps, chunk_size)
        except InputError as exc:
            if sources is not None:
                exc.file = exc.file or sources[i]
            raise


def run_scenario(
    scenario: Scenario,
    reps: int,
    seed: int,
    engine: str = DEFAULT_ENGINE,
    chunk_size: int | None = None,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
    groups: Sequence[Group] | None = None,
    parameters: str = OWN_PARAMETERS,
) -> RunResult:
    """Simulate `reps` replications and measure every metric for each: the one run loop.

    `groups` give replications scenarios of their own (parameter uncertainty: one drawn
    scenario per group); by default every replication runs `scenario`. `workers` defaults
    to `default_workers(engine)`. With `workers` > 1,
    the compiled engine runs each chunk on that many threads, the DES chunks in that many
    processes; the results are identical (each replication has its own random streams,
    whatever chunk, thread or process runs it), only sooner. Inputs are checked
    by `check_run` first.
    """
    workers = default_workers(engine) if workers is None else workers
    groups = list(groups) if groups is not None else [Group(scenario, range(reps))]
    started = _now()
    jobs = [job for group in groups
            for job in _jobs(group, chunk_size, workers if len(groups) == 1 else 1)]
    parts = _measure_jobs(jobs, seed, engine, workers, progress)
    return RunResult(scenario, Timeline.for_scenario(scenario), engine, reps, seed,
                     Measured.concat(parts), started, _now(), parameters=parameters)


class Stopped(Exception):
    """A staged run told to stop (`run_in_stages`): a newer request replaced it."""


def run_in_stages(
    scenario: Scenario,
    stages: Sequence[int],
    seed: int,
    engine: str = DEFAULT_ENGINE,
    workers: int | None = None,
    stop: Callable[[], bool] | None = None,
    so_far: RunResult | None = None,
    parameters: str = OWN_PARAMETERS,
) -> Iterator[RunResult]:
    """The run so far after each of `stages` (rising replication counts): a first answer
    soon, then the same run refined. Each result is exactly `run_scenario` with that many
    replications and the same seed (each replication has its own random streams), so only
    the new replications are simulated at each stage; `so_far` (this scenario's first
    replications, same seed) continues an earlier run. `stop` is asked before each chunk;
    when it says so, `Stopped` is raised; `parameters` is the results' note of where their
    fitted parameters came from. Inputs are checked by `check_run` first."""
    workers = default_workers(engine) if workers is None else workers
    started, done, parts = _now(), 0, []
    if so_far is not None:
        started, done, parts = so_far.started, so_far.reps, [so_far.measured]
    for reps in stages:
        if reps <= done:
            raise ValueError(f"stages must rise: {list(stages)}")
        jobs = _jobs(Group(scenario, range(done, reps)), None, workers)
        parts += _measure_jobs(jobs, seed, engine, workers, stop=stop)
        done = reps
        yield RunResult(scenario, Timeline.for_scenario(scenario), engine, reps, seed,
                        Measured.concat(parts), started, _now(), parameters=parameters)


Job = tuple[Scenario, Timeline, Regimes, range]


def _measure_jobs(jobs: list[Job], seed: int, engine: str, workers: int,
                  progress: Callable[[int], None] | None = None,
                  stop: Callable[[], bool] | None = None) -> list[Measured]:
    """Every chunk measured, in order: the compiled engine in this process (each chunk over
    `workers` threads), the DES in `workers` processes (in this one when 1)."""
    if engine != "compiled" and workers > 1 and len(jobs) > 1 and stop is None:
        return _in_processes(jobs, seed, engine, workers, progress)
    parts = []
    with threads(workers) if engine == "compiled" else nullcontext():
        for job in jobs:
            if stop is not None and stop():
                raise Stopped
            parts.append(run_chunk(*job, seed, engine))
            if progress:
                progress(len(job[-1]))
    return parts


def _jobs(group: Group, chunk_size: int | None, workers: int) -> list[Job]:
    """The chunks of a group's replications, each with what its simulation needs; spread
    over the workers when the default chunks would leave some idle."""
    timeline = Timeline.for_scenario(group.scenario)
    regimes = Regimes.for_scenario(group.scenario, timeline)
    n = len(group.reps)
    chunks = plan_chunks(group.scenario, n, chunk_size)
    if workers > 1 and len(chunks) < workers and chunk_size is None:
        chunks = plan_chunks(group.scenario, n, -(-n // workers))
    first = group.reps.start
    return [(group.scenario, timeline, regimes, range(first + c.start, first + c.stop))
            for c in chunks]


def run_chunk(scenario: Scenario, timeline: Timeline, regimes: Regimes, chunk: range,
              seed: int, engine: str) -> Measured:
    """Draw, simulate and measure the replications in `chunk` (numbers, not positions)."""
    return get_engine(engine).measure(scenario, timeline, regimes, chunk, seed)


def _in_processes(jobs: list[Job], seed: int, engine: str, workers: int,
                  progress: Callable[[int], None] | None) -> list[Measured]:
    parts: dict[int, Measured] = {}
    context = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context,
                             initializer=die_with_parent, initargs=(os.getpid(),)) as pool:
        futures: dict[Future[Measured], int] = {}
        try:  # submitting many chunks takes a moment: Ctrl-C then must stop the pool too
            for i, job in enumerate(jobs):
                futures[pool.submit(run_chunk, *job, seed, engine)] = i
            for future in as_completed(futures):
                parts[futures[future]] = future.result()
                if progress:
                    progress(len(jobs[futures[future]][-1]))
        except BaseException:
            stop_pool(pool)
            raise
    return [parts[i] for i in range(len(jobs))]


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
    parent dies (prctl PR_SET_PDEATHSIG); elsewhere a thread watches the parent. The
    compiled engine runs single-threaded in the worker: the pool already spreads the work."""
    single_threaded()
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


__all__ = ["DRAWN_PARAMETERS", "FIXED_PARAMETERS", "OWN_PARAMETERS", "Group", "RunResult",
           "Stopped", "check_run", "check_run_size", "check_workers", "default_workers",
           "die_with_parent", "fixed_for_speed", "parameters_drawn", "plan_chunks",
           "run_chunk", "run_in_stages", "run_scenario", "stop_pool"]
