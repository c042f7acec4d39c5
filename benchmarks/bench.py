"""Benchmark the engines on a scenario (default: the shipped baseline).

    python benchmarks/bench.py [SCENARIO] [--reps 1000] [--des-reps 100] [--workers 2]

Prints, from one run: DES and MC replications per second and their ratio; where the MC's
time goes (drawing random numbers, the engine, the metrics); case-stage events per second
(every timestamp an engine computes, counted from its records); the end-to-end time of a
whole forecast (draws, engine and metrics, on all workers); and peak memory. The DES rate
is per replication and does not depend on R, so it is measured on fewer replications
(`--des-reps`) to keep the benchmark short; pass `--des-reps 1000` to measure it at R.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import numpy as np

from sim.engine.cases import draw_replication
from sim.engine.engines import get_engine
from sim.engine.metrics import measure
from sim.engine.records import TIME_FIELDS
from sim.engine.regimes import Regimes
from sim.engine.run import plan_chunks, run_scenario
from sim.model.scenario import load_scenario
from sim.model.timeline import Timeline

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"


def _phases(scenario, timeline, regimes, engine: str, reps: int, seed: int) -> dict[str, float]:
    """Seconds spent drawing, simulating and measuring, and the events simulated."""
    spent = {"draw": 0.0, "engine": 0.0, "metrics": 0.0, "events": 0.0}
    sim_engine = get_engine(engine)
    for chunk in plan_chunks(scenario, reps):
        t0 = time.perf_counter()
        draws = [draw_replication(scenario, timeline, seed, r, regimes) for r in chunk]
        t1 = time.perf_counter()
        records = sim_engine.simulate(scenario, timeline, draws)
        t2 = time.perf_counter()
        measure(records, scenario, timeline)
        t3 = time.perf_counter()
        spent["draw"] += t1 - t0
        spent["engine"] += t2 - t1
        spent["metrics"] += t3 - t2
        spent["events"] += sum(int(np.count_nonzero(~np.isnan(records.columns[f])))
                               for f in TIME_FIELDS)
    return spent


def _peak_gib() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 2**20  # ru_maxrss is in KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", type=Path, default=BASELINE)
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--des-reps", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    scenario = load_scenario(args.scenario)
    timeline = Timeline.for_scenario(scenario)
    regimes = Regimes.for_scenario(scenario, timeline)
    des = _phases(scenario, timeline, regimes, "des", args.des_reps, args.seed)
    mc = _phases(scenario, timeline, regimes, "mc", args.reps, args.seed)
    des_rate = args.des_reps / (des["draw"] + des["engine"] + des["metrics"])
    mc_total = mc["draw"] + mc["engine"] + mc["metrics"]
    mc_rate = args.reps / mc_total

    t0 = time.perf_counter()
    run_scenario(scenario, args.reps, args.seed, "mc", workers=args.workers)
    whole = time.perf_counter() - t0

    print(f"scenario {scenario.name}, seed {args.seed}")
    print(f"DES: {args.des_reps} replications, {des_rate:.2f} replications/s"
          f" (engine alone {args.des_reps / des['engine']:.2f}/s)")
    print(f"MC:  {args.reps} replications, {mc_rate:.1f} replications/s on one core"
          f" (draw {mc['draw']:.2f} s, engine {mc['engine']:.2f} s,"
          f" metrics {mc['metrics']:.2f} s)")
    print(f"MC / DES: {mc_rate / des_rate:.0f}x end to end;"
          f" engine alone {(args.reps / mc['engine']) / (args.des_reps / des['engine']):.0f}x")
    print(f"case-stage events: {mc['events'] / args.reps:,.0f} per replication;"
          f" MC engine {mc['events'] / mc['engine']:.3g}/s,"
          f" end to end {mc['events'] / mc_total:.3g}/s")
    print(f"whole forecast ({args.reps} replications, draws+engine+metrics,"
          f" {args.workers} workers): {whole:.2f} s")
    print(f"peak memory: {_peak_gib():.2f} GiB")


if __name__ == "__main__":
    main()
