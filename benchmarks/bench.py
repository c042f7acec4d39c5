"""Benchmark the engines on a scenario (default: the shipped baseline). A benchmark, not a
test: it asserts nothing, and its numbers depend on the machine and on what else it runs.

    python benchmarks/bench.py [SCENARIO] [--reps 1000] [--des-reps 20] [--growth-reps 200]
                               [--seed 1] [--quick]

Prints three plain tables:

1. Engines, in one process: replications per second of the DES (`run_scenario(...,
   engine="des")` on `--des-reps` replications; its rate per replication does not depend on
   R, so fewer keep the benchmark short) and of the compiled engine (`engine="compiled"` on
   `--reps`, after warm-up calls so numba's compilation is not timed), and their ratio;
   case-stage events per second of the compiled engine (events per replication: the
   timestamps, over every TIME_FIELDS column, that are not NaN in `case_records("compiled",
   ...)` of 2 replications; times `--reps`, over its seconds); the untimed warm-up's
   seconds (numba compiling the kernel, or loading it from its cache); and peak memory
   (ru_maxrss of this process and of its children, MiB), a high-water mark so far that
   includes compilation when numba's cache was cold.
2. Whole process: `ccsim run SCENARIO --reps N --seed 1 --out <temporary dir>` for N = 100,
   1,000 and 10,000 (100 and 1,000 with `--quick`), each from a fresh `python -c` wrapper,
   with its wall seconds (interpreter start, imports, numba's cache, the run, the metrics
   and the files it writes) and its peak memory: the wrapper's RUSAGE_CHILDREN ru_maxrss,
   the largest single process of that run (`ccsim` or one of its workers), not their sum.
   (The wrapper is needed because on Linux a child's ru_maxrss starts from the size of
   the process it was forked from.)
3. Cost growth, compiled engine, `--growth-reps` replications each: seconds per individual
   case (`run_scenario` seconds, its set-up included, / (replications x cases per
   replication, counted from `case_records` of 2 replications)) and its ratio to the
   scenario as loaded, for a 5-, 10- and 20-year horizon (less the loaded one's), and
   demand x2 and x4 (every stream's `cases_per_month` steps) with capacity held, and with
   capacity scaled as well (every pool's `staff` steps and the panels').
   A ratio near 1 means the cost grows in proportion to the cases; above 1, faster.

`--quick` runs the shorter whole-process list and 50 replications a cost-growth row unless
`--growth-reps` says otherwise; with `--reps 50 --des-reps 3` it checks that the benchmark
runs (in about a minute once numba's cache is warm), not how fast anything is.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sim.engine.engines import case_records
from sim.engine.records import TIME_FIELDS
from sim.engine.run import run_scenario
from sim.model.scenario import STREAMS, Scenario, load_scenario
from sim.model.timeline import Timeline

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"
WHOLE_REPS = (100, 1_000, 10_000)
QUICK_WHOLE_REPS = (100, 1_000)
HORIZONS = (5, 10, 20)
DEMAND_FACTORS = (2, 4)
SAMPLE_REPS = 2  # replications whose records are counted (events, cases)


def _mib(maxrss: int) -> float:
    """ru_maxrss in MiB: kilobytes on Linux, bytes on macOS."""
    return maxrss / 2**20 if sys.platform == "darwin" else maxrss / 2**10


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell: the first left-aligned, the rest right."""
    cells = [list(headers), *[list(r) for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(row, widths, strict=True))).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *[line(r) for r in cells[1:]]])


def _sample_records(scenario: Scenario, seed: int) -> tuple[float, float]:
    """Case-stage events (non-NaN timestamps) and individual cases per replication, from
    the compiled engine's records of SAMPLE_REPS replications."""
    timeline = Timeline.for_scenario(scenario)
    records = case_records("compiled", scenario, timeline, seed, range(SAMPLE_REPS))
    events = sum(int(np.count_nonzero(~np.isnan(records.columns[f]))) for f in TIME_FIELDS)
    return events / SAMPLE_REPS, len(records.rep) / SAMPLE_REPS


def _timed_run(scenario: Scenario, reps: int, seed: int, engine: str) -> float:
    """Seconds for `run_scenario` (draws, engine, metrics) in this process."""
    t0 = time.perf_counter()
    run_scenario(scenario, reps, seed, engine=engine)
    return time.perf_counter() - t0


def _warm_up(scenario: Scenario, seed: int) -> None:
    """Compile (or load from numba's cache) the kernel's parallel and serial paths."""
    run_scenario(scenario, 2, seed, engine="compiled")  # a chunk of 2: parallel
    run_scenario(scenario, 1, seed, engine="compiled")  # a chunk of 1: serial


def engines_section(scenario: Scenario, reps: int, des_reps: int, seed: int) -> str:
    """Section 1: DES and compiled rates, their ratio, events per second, peak memory."""
    # first, so the records kernel the DES draws with is compiled before the DES is timed
    t0 = time.perf_counter()
    events_per_rep, _ = _sample_records(scenario, seed)
    warm_s = time.perf_counter() - t0
    des_s = _timed_run(scenario, des_reps, seed, "des")
    t0 = time.perf_counter()
    _warm_up(scenario, seed)
    warm_s += time.perf_counter() - t0
    compiled_s = _timed_run(scenario, reps, seed, "compiled")
    des_rate, compiled_rate = des_reps / des_s, reps / compiled_s
    rates = _table(
        ["engine", "replications", "seconds", "replications/s"],
        [["des", f"{des_reps:,}", f"{des_s:.2f}", f"{des_rate:.3g}"],
         ["compiled", f"{reps:,}", f"{compiled_s:.2f}", f"{compiled_rate:.3g}"]])
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    summary = _table(
        ["measure", "value"],
        [["compiled / DES, replications/s", f"{compiled_rate / des_rate:,.0f}x"],
         ["case-stage events per replication", f"{events_per_rep:,.0f}"],
         ["compiled case-stage events/s", f"{events_per_rep * reps / compiled_s:.3g}"],
         ["warm-up s (numba compile or cache load; untimed)", f"{warm_s:.2f}"],
         ["peak memory so far, this process (MiB)", f"{_mib(own):,.0f}"],
         ["peak memory, children (MiB)", f"{_mib(children):,.0f}" if children else "none"]])
    return f"{rates}\n\n{summary}"


def _ccsim() -> str:
    """The `ccsim` console script of this interpreter's environment, else the one on PATH."""
    beside = Path(sys.executable).parent / "ccsim"
    found = str(beside) if beside.exists() else shutil.which("ccsim")
    if found is None:
        raise SystemExit("bench: no `ccsim` command found (install the project: pip install -e .)")
    return found


# Run in a fresh interpreter that forks only `ccsim`: a child's ru_maxrss starts from the
# resident size of the process it was forked from (Linux), so forking `ccsim` from this
# process, grown by section 1, would report this process's peak instead of its own.
_WRAPPER = """
import json, resource, subprocess, sys, time
with open(sys.argv[1], "wb") as log:
    t0 = time.perf_counter()
    rc = subprocess.run(sys.argv[2:], stdout=log, stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL).returncode
    wall = time.perf_counter() - t0
print(json.dumps({"rc": rc, "wall": wall,
                  "maxrss": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def _whole_run(ccsim: str, scenario_path: Path, reps: int, seed: int) -> tuple[float, float, str]:
    """Wall seconds, peak memory (MiB) and outcome of one `ccsim run`. The peak is the
    largest single process of that run (`ccsim` or one of its workers), not their sum."""
    with tempfile.TemporaryDirectory(prefix="ccsim-bench-") as tmp:
        log = Path(tmp) / "output.txt"
        command = [ccsim, "run", str(scenario_path), "--reps", str(reps), "--seed", str(seed),
                   "--out", str(Path(tmp) / "run")]
        done = subprocess.run([sys.executable, "-c", _WRAPPER, str(log), *command],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            return float("nan"), float("nan"), f"wrapper failed: {done.stderr.strip()[-80:]}"
        result = json.loads(done.stdout)
        outcome = "ok"
        if result["rc"] != 0:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:] or [""]
            outcome = f"exit {result['rc']}: {tail[0][:80]}"
    return float(result["wall"]), _mib(int(result["maxrss"])), outcome


def whole_process_section(scenario_path: Path, counts: Sequence[int], seed: int) -> str:
    """Section 2: `ccsim run` end to end, in a fresh child process for each N."""
    ccsim = _ccsim()
    rows = []
    for reps in counts:
        wall, peak, outcome = _whole_run(ccsim, scenario_path, reps, seed)
        rows.append([f"{reps:,}", f"{wall:.2f}", f"{reps / wall:.3g}", f"{peak:,.0f}", outcome])
    return _table(["replications", "wall s", "replications/s", "peak MiB", "outcome"], rows)


def _steps_scaled(steps_path: str, steps: list[dict[str, Any]], factor: float
                  ) -> dict[str, float]:
    """Dotted-path changes multiplying every dated step's value by `factor`."""
    return {f"{steps_path}.{i}.value": step["value"] * factor for i, step in enumerate(steps)}


def variants(scenario: Scenario) -> list[tuple[str, Scenario]]:
    """The scenario as loaded (the reference), then each horizon and demand change."""
    data = scenario.to_dict()
    source = "benchmark variant"
    out = [(f"as loaded (horizon {scenario.horizon_years} y, demand x1)", scenario)]
    for years in HORIZONS:
        if years != scenario.horizon_years:
            out.append((f"horizon {years} y",
                        scenario.with_changes({"horizon_years": years}, source=source)))
    for factor in DEMAND_FACTORS:
        demand: dict[str, float] = {}
        for stream in STREAMS:
            path = f"demand.{stream}.cases_per_month"
            demand |= _steps_scaled(path, data["demand"][stream]["cases_per_month"],
                                    factor)
        capacity: dict[str, float] = {}
        for pool, spec in data["pools"].items():
            capacity |= _steps_scaled(f"pools.{pool}.staff", spec["staff"], factor)
        capacity |= _steps_scaled("proceedings.panels.staff",
                                  data["proceedings"]["panels"]["staff"], factor)
        out.append((f"demand x{factor}, capacity held",
                    scenario.with_changes(demand, source=source)))
        out.append((f"demand x{factor}, capacity x{factor}",
                    scenario.with_changes({**demand, **capacity}, source=source)))
    return out


def growth_section(scenario: Scenario, reps: int, seed: int) -> str:
    """Section 3: compiled seconds per individual case as the horizon and demand grow."""
    rows = []
    reference: float | None = None
    for label, variant in variants(scenario):
        _, cases_per_rep = _sample_records(variant, seed)
        seconds = _timed_run(variant, reps, seed, "compiled")
        per_case = seconds / (reps * cases_per_rep)
        reference = reference or per_case
        rows.append([label, f"{cases_per_rep:,.0f}", f"{seconds:.2f}",
                     f"{per_case * 1e6:.3g}", f"{per_case / reference:.2f}"])
    return _table(["variant", "cases/rep", "seconds", "us/case", "x as loaded"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Benchmark the DES and compiled engines, whole `ccsim run` processes and"
        " the compiled engine's cost growth on a scenario (a benchmark, not a test).")
    parser.add_argument("scenario", nargs="?", type=Path, default=BASELINE,
                        help="scenario YAML (default: scenarios/baseline.yaml)")
    parser.add_argument("--reps", type=int, default=1000,
                        help="compiled-engine replications in section 1 (default 1000)")
    parser.add_argument("--des-reps", type=int, default=20,
                        help="DES replications in section 1 (default 20)")
    parser.add_argument("--growth-reps", type=int, default=None,
                        help="replications a cost-growth row (default 200; 50 with --quick)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--quick", action="store_true",
                        help="whole-process runs of 100 and 1,000 only; fewer growth reps")
    args = parser.parse_args()
    growth_reps = args.growth_reps or (50 if args.quick else 200)
    for name, value in (("--reps", args.reps), ("--des-reps", args.des_reps),
                        ("--growth-reps", growth_reps)):
        if value < 1:
            parser.error(f"{name} must be at least 1")

    scenario = load_scenario(args.scenario)
    try:
        import numba
        threads = f", {numba.get_num_threads()} numba threads"
    except ImportError:  # pragma: no cover - numba is a dependency
        threads = ""
    print(f"scenario {scenario.name} ({args.scenario}), seed {args.seed},"
          f" {os.cpu_count()} cores{threads}")

    print("\n1. Engines, in this process (run_scenario, default workers: the DES in one"
          " process, the compiled engine on every core)\n")
    print(engines_section(scenario, args.reps, args.des_reps, args.seed))

    counts = QUICK_WHOLE_REPS if args.quick else WHOLE_REPS
    print("\n2. Whole process: ccsim run SCENARIO --reps N --seed"
          f" {args.seed} (default workers), each in a fresh child\n")
    print(whole_process_section(args.scenario, counts, args.seed))

    print(f"\n3. Cost growth, compiled engine, {growth_reps:,} replications a row\n")
    print(growth_section(scenario, growth_reps, args.seed))


if __name__ == "__main__":
    main()
