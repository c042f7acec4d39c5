"""The `ccsim` command: a thin adapter from arguments to the public API and back.

Exit codes: 0 success, 2 bad input (a message naming the file, field and what is allowed),
3 results could not be written (disk full, an I/O error: one line naming the folder; no
partial folder, earlier results intact), 4 `ccsim target` found no value up to the maximum
that meets the target (the points are still printed and written), 1 an internal error (a
bug: the traceback is kept for a report).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import errno
import os
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from sim.engine.engines import DEFAULT_ENGINE, ENGINES
from sim.errors import InputError
from sim.files.shipped import shipped_path
from sim.files.writing import WriteError
from sim.version import __version__

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_IO, EXIT_TARGET_NOT_MET = 0, 1, 2, 3, 4
MAX_WORKERS_PER_CORE = 4  # more processes than this only add memory: each holds a chunk
IO_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.EFBIG})


def baseline_path() -> Path:
    """The shipped baseline (the checkout's, or the installed copy's), from any folder."""
    return shipped_path("scenarios/baseline.yaml")


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
    run.add_argument("--engine", default=DEFAULT_ENGINE, choices=ENGINES,
                     help="mc (vectorised, default) or des (SimPy reference)")
    run.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                     help="processes to share the replications (default: all cores)")
    run.add_argument("--out", type=Path, help="run directory (default results/<name>-<time>)")
    run.add_argument("--chunk-size", type=int, help="replications simulated at once")
    run.add_argument("--quiet", action="store_true", help="no progress bar or table")
    run.add_argument("--parameter-uncertainty", nargs="?", type=Path,
                     const=shipped_path("calibration"),
                     metavar="CALIBRATION_DIR",
                     help="draw fitted parameters from the calibration's ranges per group of"
                          " replications (default dir: the shipped calibration/)")
    run.add_argument("--reps-per-draw", type=int, default=10,
                     help="replications per parameter draw (default 10)")
    run.set_defaults(handler=cmd_run)

    cal = sub.add_parser("calibrate", help="fit the baseline's parameters to published figures")
    cal.add_argument("--targets", type=Path, help="targets CSV (default calibration/targets.csv)")
    cal.add_argument("--out", type=Path, help="output directory (default the checkout's"
                     " calibration/, or ./calibration when installed from a wheel; under it"
                     " holdout-YYYY-YY with --until)")
    cal.add_argument("--until", help="fit only targets up to this fiscal year (e.g. 2019/20)"
                     " and report the later ones as a hold-out check")
    cal.add_argument("--reps", type=int, help="replications per objective evaluation")
    cal.add_argument("--report-reps", type=int, help="replications for the final report")
    cal.add_argument("--seed", type=int, help="random seed (default: the shipped fit's)")
    cal.add_argument("--engine", default=DEFAULT_ENGINE, help="mc (vectorised, default) or des")
    cal.add_argument("--max-evals", type=int, help="most objective evaluations")
    cal.add_argument("--quiet", action="store_true", help="no progress lines")
    cal.set_defaults(handler=cmd_calibrate)

    comp = sub.add_parser("compare", help="compare scenarios: paired differences from BASE")
    comp.add_argument("base", type=Path, help="the base scenario")
    comp.add_argument("alternatives", nargs="+", type=Path, help="options to compare with it")
    comp.add_argument("--reps", type=int, default=100, help="replications (default 100)")
    comp.add_argument("--seed", type=int, default=1, help="random seed shared by all")
    comp.add_argument("--engine", default=DEFAULT_ENGINE, choices=ENGINES,
                      help="mc (vectorised, default) or des (SimPy reference)")
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
    _add_target_parser(sub)
    _add_brief_parser(sub)
    return parser


def _add_target_parser(sub) -> None:
    target = sub.add_parser("target", help="goal-seek: the smallest lever value meeting a"
                            " target with a stated probability (see sim/studies/goal_seek.py)",
                            epilog=f"exit codes: {EXIT_OK} a value meets the target,"
                            f" {EXIT_TARGET_NOT_MET} no value up to the maximum does (the"
                            f" points are still printed, and written with --out),"
                            f" {EXIT_INPUT} bad input")
    target.add_argument("scenario", type=Path)
    target.add_argument("--lever", required=True, help="dotted path, e.g. pools.iopc.staff")
    target.add_argument("--metric", required=True, help="yearly metric, e.g."
                        " iopc.open_over_12m.end")
    target.add_argument("--year", required=True, help="fiscal year, e.g. 2025/26")
    target.add_argument("--at-most", required=True, help="a number, or baseline:YEAR (the"
                        " metric's mean in YEAR in the scenario as given)")
    target.add_argument("--confidence", type=float, default=0.8,
                        help="probability of meeting the target (default 0.8)")
    target.add_argument("--from", dest="from_date", type=dt.date.fromisoformat,
                        help="for dated steps: the date the value holds from (default: start)")
    target.add_argument("--step", type=float, default=1.0, help="grid step (default 1)")
    target.add_argument("--min", type=float, help="lowest value (default: the current one)")
    target.add_argument("--max", type=float, help="highest value (default: found by doubling)")
    target.add_argument("--reps", type=int, default=100, help="replications (default 100)")
    target.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    target.add_argument("--engine", default=DEFAULT_ENGINE,
                        help="des or mc (default: as ccsim run)")
    target.add_argument("--out", type=Path, help="write target.json and points.csv here")
    target.add_argument("--quiet", action="store_true", help="no progress lines")
    target.set_defaults(handler=cmd_target)


def _add_brief_parser(sub) -> None:
    brief = sub.add_parser("brief", help="write the Recommendation 7 brief (HTML and Markdown)")
    brief.add_argument("--config", type=Path, help="brief file (default: briefs/rec7.yaml)")
    brief.add_argument("--reps", type=int, help="replications (default: the brief file's)")
    brief.add_argument("--seed", type=int, help="random seed (default: the brief file's)")
    brief.add_argument("--engine", default=DEFAULT_ENGINE,
                       help="des or mc (default: as ccsim run)")
    brief.add_argument("--year", help="the year reported (default: the brief file's)")
    brief.add_argument("--confidence", type=float, help="goal-seek probability")
    brief.add_argument("--cost-per-investigator", type=float,
                       help="GBP per IOPC investigator-year (default: the brief file's)")
    brief.add_argument("--no-target", action="store_true", help="skip the goal-seek")
    brief.add_argument("--out", type=Path, help="output directory (default results/brief-...)")
    brief.add_argument("--quiet", action="store_true", help="no progress lines")
    brief.set_defaults(handler=cmd_brief)


def cmd_run(args: argparse.Namespace) -> int:
    from sim.engine.run import check_run_size, plan_chunks, run_scenario
    from sim.model.scenario import load_scenario
    from sim.outputs.run_folder import check_out, default_out, write_run

    path = args.scenario or baseline_path()
    scenario = load_scenario(path)
    check_run_size(args.reps, args.seed)
    if args.chunk_size is not None and args.chunk_size < 1:
        raise InputError("chunk size must be positive", field="--chunk-size",
                         value=args.chunk_size, allowed="a whole number >= 1")
    _check_workers(args.workers)
    with _naming(path):
        plan_chunks(scenario, args.reps, args.chunk_size)  # refuses oversized runs up front
    if args.parameter_uncertainty is not None:  # its files and settings, before any run
        from sim.studies.parameter_uncertainty import check_uncertainty

        check_uncertainty(scenario, args.parameter_uncertainty, args.reps_per_draw)
    out = args.out or default_out(scenario.name)
    check_out(out, "run")
    with _progress(args.reps, args.quiet, f"{scenario.name} [{args.engine}]") as advance:
        if args.parameter_uncertainty is not None:
            from sim.studies.parameter_uncertainty import run_with_parameter_uncertainty

            result = run_with_parameter_uncertainty(
                scenario, args.reps, args.seed, args.engine, args.parameter_uncertainty,
                args.reps_per_draw,
                progress=advance)
        else:
            result = run_scenario(scenario, args.reps, args.seed, args.engine,
                                  args.chunk_size, progress=advance, workers=args.workers)
    out = write_run(result, out)
    if not args.quiet:
        _print_headline(result)
    print(f"results written to {out}")
    return EXIT_OK


def cmd_compare(args: argparse.Namespace) -> int:
    from sim.engine.run import check_run_size, plan_chunks
    from sim.model.scenario import load_scenario
    from sim.outputs.run_folder import check_out, default_out, write_comparison
    from sim.studies.compare import check_comparable, compare

    scenarios = [load_scenario(p) for p in [args.base, *args.alternatives]]
    for path, s in zip(args.alternatives, scenarios[1:], strict=True):
        check_comparable(scenarios[0], s, str(path))
    check_run_size(args.reps, args.seed)
    for path, s in zip([args.base, *args.alternatives], scenarios, strict=True):
        with _naming(path):
            plan_chunks(s, args.reps)
    out = args.out or default_out("compare", scenarios[0].name)
    check_out(out, "compare")
    total = args.reps * len(scenarios)
    with _progress(total, args.quiet, f"compare [{args.engine}]") as advance:
        result = compare(scenarios, args.reps, args.seed, args.engine, progress=advance,
                         workers=os.cpu_count() or 1)
    table = result.table()
    out = write_comparison(result, out)
    _print_comparison(table)
    print(f"results written to {out}")
    return EXIT_OK


def _print_comparison(table) -> None:
    from sim.engine.metrics import HEADLINE

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
    from sim.files.writing import check_out
    from sim.studies.sweep.design import load_sweep
    from sim.studies.sweep.runner import check_executor, sweep_into

    sweep = load_sweep(args.sweep_file)
    if args.workers is not None:
        args.workers = _check_workers(args.workers, tasks=len(sweep.points))
    check_out(args.out, "sweep")
    check_executor(args.executor, args.scheduler)
    points = len(sweep.points)
    with _progress(points, args.quiet, f"sweep {sweep.spec.name}") as advance:
        _, written = sweep_into(sweep, args.out, args.executor, args.workers, args.scheduler,
                                progress=advance)
    print(f"{points} points, {sweep.spec.reps} replications each; wrote"
          f" {', '.join(p.name for p in written[:4])}{' ...' if len(written) > 4 else ''}"
          f" in {args.out}")
    return EXIT_OK


def cmd_calibrate(args: argparse.Namespace) -> int:
    import re
    import time

    from sim.studies.calibration import fit as cal

    if args.until is not None and not re.fullmatch(r"\d{4}/\d{2}", args.until):
        raise InputError("not a fiscal year", field="--until", value=args.until,
                         allowed="a fiscal year such as 2019/20")
    for name in ("reps", "report_reps", "max_evals"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise InputError("must be at least 1", field=f"--{name.replace('_', '-')}",
                             value=value, allowed="a whole number >= 1")
    out = args.out or (cal.DEFAULT_OUT if args.until is None else
                       cal.DEFAULT_OUT / f"holdout-{args.until.replace('/', '-')}")
    check_seed = args.seed if args.seed is not None else cal.SEED
    from sim.engine.run import check_run_size

    check_run_size(args.reps or cal.FIT_REPS, check_seed)
    from sim.engine.engines import get_engine

    get_engine(args.engine)
    started = time.perf_counter()
    fit, files = cal.calibrate(
        args.targets or cal.DEFAULT_TARGETS, out, args.until, args.reps or cal.FIT_REPS,
        args.report_reps or cal.REPORT_REPS, check_seed, args.engine,
        args.max_evals or cal.MAX_NFEV,
        progress=None if args.quiet else (lambda s: print(s, file=sys.stderr)))
    from sim.outputs.calibration_report import target_table

    table = target_table(fit)
    print(f"{int(table['pass'].sum())} of {len(table)} targets within tolerance;"
          f" {fit.nfev} evaluations in {time.perf_counter() - started:.0f} s")
    for _, r in table[~table["pass"]].iterrows():
        print(f"  outside tolerance: {r.target_id} published {r.published:g},"
              f" model {r.model_mean:.4g}")
    print(f"written to {out}: {', '.join(p.name for p in files)}")
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from sim.model.scenario import load_scenario

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


def cmd_target(args: argparse.Namespace) -> int:
    import json

    from sim.model.scenario import load_scenario
    from sim.studies.goal_seek import Lever, Target, goal_seek, parse_at_most

    scenario = load_scenario(args.scenario)
    target = Target(args.metric, args.year, parse_at_most(args.at_most), args.confidence)
    if args.out:
        from sim.files.writing import check_out

        check_out(args.out, "target")
    engine = args.engine

    def said(value: float, met: int, reps: int) -> None:
        if not args.quiet:
            print(f"  {args.lever} = {value:g}: {met}/{reps} replications meet the target",
                  file=sys.stderr)

    result = goal_seek(scenario, Lever(args.lever, args.from_date), target, reps=args.reps,
                       seed=args.seed, engine=engine, step=args.step, low=args.min,
                       high=args.max, progress=said)
    print(result.sentence())
    print(f"\n{args.lever:>20s} {'met':>9s} {'probability (Wilson 95%)':>26s}"
          f" {args.metric + ' mean':>30s}")
    for p in result.points:
        print(f"{p.value:20g} {f'{p.met}/{p.reps}':>9s}"
              f" {f'{p.share:.2f} ({p.share_low:.2f}-{p.share_high:.2f})':>26s}"
              f" {p.metric_mean:30.4g}")
    if result.non_monotone:
        print(f"note: not monotone between {result.non_monotone}")
    code = EXIT_OK if result.answer is not None else EXIT_TARGET_NOT_MET
    if args.out:
        import pandas as pd

        from sim.outputs.run_folder import write_folder

        def fill(staging: Path) -> None:
            (staging / "target.json").write_text(
                json.dumps(result.to_dict(), indent=2, default=str), encoding="utf-8")
            pd.DataFrame([vars(p) for p in result.points]).to_csv(staging / "points.csv",
                                                                  index=False)

        print(f"results written to {write_folder(args.out, 'target', fill)}")
    return code


def cmd_brief(args: argparse.Namespace) -> int:
    from sim.outputs.brief_report import headline_text, write_brief
    from sim.outputs.run_folder import check_out, default_out
    from sim.studies.brief import (
        BriefInputs,
        default_brief_path,
        load_brief_config,
        make_brief,
        with_overrides,
    )

    path = args.config or default_brief_path()
    config = with_overrides(load_brief_config(path), year=args.year,
                            cost_per_investigator_year_gbp=args.cost_per_investigator,
                            confidence=args.confidence)
    if args.no_target:
        config = config.model_copy(update={"target": None})
    inputs = BriefInputs.from_config(config, path)
    out = args.out or default_out("brief")
    check_out(out, "brief")

    def said(message: str) -> None:
        if not args.quiet:
            print(f"  {message}", file=sys.stderr)

    brief = make_brief(config, inputs, reps=args.reps, seed=args.seed,
                       engine=args.engine, progress=said,
                       argv=["brief", *(f"--{k.replace('_', '-')}={v}" for k, v in
                                        vars(args).items() if k not in ("handler", "command")
                                        and v not in (None, False))])
    out = write_brief(brief, out, path)
    print(headline_text(brief))
    print(f"brief written to {out / 'brief.html'} and {out / 'brief.md'}"
          f" ({brief.seconds:.0f} s)")
    return EXIT_OK


def _check_workers(workers: int, tasks: int | None = None) -> int:
    """Refuse fewer than 1 worker or more than MAX_WORKERS_PER_CORE per core (a process
    each: 1,000 would start 1,000 processes, each holding a chunk's memory, for no gain);
    with `tasks`, the workers that can have one (no idle processes)."""
    if workers < 1:
        raise InputError("workers must be at least 1", field="--workers", value=workers,
                         allowed="a whole number >= 1")
    cores = os.cpu_count() or 1
    most = MAX_WORKERS_PER_CORE * cores
    if workers > most:
        raise InputError(f"more worker processes than {MAX_WORKERS_PER_CORE} per core (this"
                         f" machine has {cores}) only add memory", field="--workers",
                         value=workers, allowed=f"a whole number from 1 to {most}")
    return min(workers, tasks) if tasks else workers


@contextlib.contextmanager
def _naming(source: Path | str) -> Iterator[None]:
    """Name the scenario in a refusal that did not say which one (e.g. a memory estimate)."""
    try:
        yield
    except InputError as exc:
        exc.file = exc.file or str(source)
        raise


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
    from sim.engine.metrics import HEADLINE
    from sim.engine.summaries import summary_table

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
    except WriteError as exc:
        print(f"ccsim: error: {exc}", file=sys.stderr)
        return EXIT_IO
    except KeyboardInterrupt:
        print("ccsim: interrupted; earlier results are untouched", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: keep the traceback, say so plainly
        if isinstance(exc, OSError) and exc.errno in IO_ERRNOS:  # disk full outside a result
            print(f"ccsim: error: cannot write {exc.filename or 'the results'}:"
                  f" {exc.strerror}", file=sys.stderr)
            return EXIT_IO
        print("ccsim: internal error (please report it with the text below)", file=sys.stderr)
        traceback.print_exc()
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
