"""The `ccsim` command: a thin adapter from arguments to the public API and back.

Exit codes: 0 success, 2 bad input (a message naming the file, field and what is allowed),
1 an internal error (a bug: the traceback is kept for a report).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

import sim
from sim import __version__
from sim.errors import InputError

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT = 0, 1, 2


def baseline_path() -> Path:
    """The shipped baseline, found beside the package from any working directory."""
    return Path(sim.__file__).resolve().parent.parent / "scenarios" / "baseline.yaml"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # usage errors are bad input: exit 2 with the usage line
        self.print_usage(sys.stderr)
        raise InputError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ccsim", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"ccsim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="simulate a scenario and write a run directory")
    run.add_argument("scenario", nargs="?", type=Path,
                     help="scenario YAML (default: the shipped baseline)")
    run.add_argument("--reps", type=int, default=100, help="replications (default 100)")
    run.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    run.add_argument("--engine", default="des", help="des (SimPy) or mc (vectorised)")
    run.add_argument("--out", type=Path, help="run directory (default results/<name>-<time>)")
    run.add_argument("--chunk-size", type=int, help="replications simulated at once")
    run.add_argument("--quiet", action="store_true", help="no progress bar or table")
    run.set_defaults(handler=cmd_run)

    comp = sub.add_parser("compare", help="compare scenarios: paired differences from BASE")
    comp.add_argument("base", type=Path, help="the base scenario")
    comp.add_argument("alternatives", nargs="+", type=Path, help="options to compare with it")
    comp.add_argument("--reps", type=int, default=100, help="replications (default 100)")
    comp.add_argument("--seed", type=int, default=1, help="random seed shared by all")
    comp.add_argument("--engine", default="des", help="des (SimPy) or mc (vectorised)")
    comp.add_argument("--out", type=Path, help="output directory (default results/compare-...)")
    comp.add_argument("--quiet", action="store_true", help="no progress bar")
    comp.set_defaults(handler=cmd_compare)

    sweep = sub.add_parser("sweep", help="run a sweep file's design; resumes if interrupted")
    sweep.add_argument("sweep_file", type=Path)
    sweep.add_argument("--out", type=Path, required=True, help="sweep directory")
    sweep.add_argument("--executor", default="local", help="local (process pool, default),"
                       " dask (dask.distributed) or serial")
    sweep.add_argument("--workers", type=int, help="worker processes (default: all cores)")
    sweep.add_argument("--scheduler", help="a Dask scheduler address (default: LocalCluster)")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")
    sweep.set_defaults(handler=cmd_sweep)

    validate = sub.add_parser("validate", help="check scenario files and report every problem")
    validate.add_argument("scenarios", nargs="+", type=Path)
    validate.set_defaults(handler=cmd_validate)
    return parser


def cmd_run(args: argparse.Namespace) -> int:
    from sim.output import check_writable, write_run
    from sim.run import check_run_size, plan_chunks, run_scenario
    from sim.scenario import load_scenario

    path = args.scenario or baseline_path()
    scenario = load_scenario(path)
    check_run_size(args.reps, args.seed)
    if args.chunk_size is not None and args.chunk_size < 1:
        raise InputError("chunk size must be positive", field="--chunk-size",
                         value=args.chunk_size, allowed="a whole number >= 1")
    plan_chunks(scenario, args.reps, args.chunk_size)  # refuses oversized runs up front
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = args.out or Path("results") / f"{scenario.name}-{stamp}"
    check_writable(out)
    with _progress(args.reps, args.quiet, f"{scenario.name} [{args.engine}]") as advance:
        result = run_scenario(scenario, args.reps, args.seed, args.engine,
                              args.chunk_size, progress=advance)
    write_run(result, out)
    if not args.quiet:
        _print_headline(result)
    print(f"results written to {out}")
    return EXIT_OK


def cmd_compare(args: argparse.Namespace) -> int:
    from sim.compare import check_comparable, compare
    from sim.output import check_writable, write_comparison
    from sim.run import check_run_size, plan_chunks
    from sim.scenario import load_scenario

    scenarios = [load_scenario(p) for p in [args.base, *args.alternatives]]
    for path, s in zip(args.alternatives, scenarios[1:], strict=True):
        check_comparable(scenarios[0], s, str(path))
    check_run_size(args.reps, args.seed)
    for s in scenarios:
        plan_chunks(s, args.reps)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = args.out or Path("results") / f"compare-{scenarios[0].name}-{stamp}"
    check_writable(out)
    total = args.reps * len(scenarios)
    with _progress(total, args.quiet, f"compare [{args.engine}]") as advance:
        result = compare(scenarios, args.reps, args.seed, args.engine, progress=advance)
    table = result.table()
    write_comparison(result, out)
    _print_comparison(table)
    print(f"results written to {out}")
    return EXIT_OK


def _print_comparison(table) -> None:
    from sim.metrics import HEADLINE

    rows = table[(table.period == "all") & table.metric.isin(HEADLINE)]
    print(f"\n{'option':24s} {'metric':30s} {'base':>10s} {'option':>10s} "
          f"{'difference (95% interval)':>34s}")
    for _, r in rows.iterrows():
        mark = " *" if r.distinguishable else ""
        interval = f"{r.diff_mean:.4g} ({r.diff_low:.4g} to {r.diff_high:.4g}){mark}"
        print(f"{r.scenario:24s} {r.metric:30s} {r.base_mean:10.4g} {r.alt_mean:10.4g} "
              f"{interval:>34s}")
    print("* the paired difference's interval excludes zero")


def cmd_sweep(args: argparse.Namespace) -> int:
    from sim.output import check_writable
    from sim.sweep import run_sweep
    from sim.sweep_analysis import analyse
    from sim.sweep_design import load_sweep

    sweep = load_sweep(args.sweep_file)
    if args.workers is not None and args.workers < 1:
        raise InputError("workers must be at least 1", field="--workers", value=args.workers,
                         allowed="a whole number >= 1")
    check_writable(args.out)
    points = len(sweep.points)
    with _progress(points, args.quiet, f"sweep {sweep.spec.name}") as advance:
        table = run_sweep(sweep, args.out, args.executor, args.workers, args.scheduler,
                          progress=advance)
    written = analyse(sweep, table, args.out)
    print(f"{points} points, {sweep.spec.reps} replications each; wrote"
          f" {', '.join(p.name for p in written[:4])}{' ...' if len(written) > 4 else ''}"
          f" in {args.out}")
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from sim.scenario import load_scenario

    failed = 0
    for path in args.scenarios:
        try:
            s = load_scenario(path)
        except InputError as exc:
            failed += 1
            print(exc.render() if hasattr(exc, "render") else str(exc), file=sys.stderr)
        else:
            print(f"{path}: valid (scenario '{s.name}', hash {s.digest()})")
    return EXIT_INPUT if failed else EXIT_OK


class _progress:
    """A tqdm bar on stderr for interactive runs; silent when quiet or not a terminal."""

    def __init__(self, total: int, quiet: bool, label: str) -> None:
        self.total, self.quiet, self.label = total, quiet, label

    def __enter__(self) -> Callable[[int], None]:
        from tqdm import tqdm

        self.bar = tqdm(total=self.total, desc=self.label, unit="step",
                        disable=True if self.quiet else None, file=sys.stderr)
        return self.bar.update

    def __exit__(self, *exc) -> None:
        self.bar.close()


def _print_headline(result) -> None:
    from sim.metrics import HEADLINE
    from sim.summarise import summary_table

    table = summary_table(result.measured).set_index("metric")
    rows = [m for m in HEADLINE if m in table.index]
    print(f"\n{result.scenario.name}: {result.reps} replications, seed {result.seed},"
          f" engine {result.engine}, {result.scenario.start} to {result.scenario.end}")
    print(f"{'metric':34s} {'mean':>12s} {'90% interval':>26s}")
    for m in rows:
        r = table.loc[m]
        print(f"{m:34s} {r['mean']:12.4g} {f'{r.p05:.4g} to {r.p95:.4g}':>26s}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return args.handler(args)
    except InputError as exc:
        print(f"ccsim: error: {exc.render()}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("ccsim: interrupted; earlier results are untouched", file=sys.stderr)
        return 130
    except Exception:  # a bug: keep the traceback, say so plainly
        print("ccsim: internal error (please report it with the text below)", file=sys.stderr)
        traceback.print_exc()
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
