"""The `ccsim` command: a thin adapter from arguments to the public API and back.

Exit codes: 0 success, 2 bad input (a message naming the file, field and what is allowed),
3 results could not be written (disk full, an I/O error: one line naming the folder; no
partial folder, earlier results intact), 4 `ccsim target` found no value up to the maximum
that meets the target (the points are still printed and written), 1 an internal error (a
bug: the traceback is kept for a report).
"""

from __future__ import annotations

import argparse
import datetime as dt
import errno
import os
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from sim.engine.engines import DEFAULT_ENGINE, ENGINES
from sim.errors import InputError
from sim.files.shipped import shipped_path
from sim.files.writing import WriteError, default_out
from sim.serve.server import HOST, PORT
from sim.version import __version__

# Each command imports its machinery (numba, pandas, SciPy, Matplotlib) when it runs, so
# `ccsim --help`, `ccsim validate` and a refused file answer in about a second. The parser
# therefore names these defaults itself; tests/test_cli.py checks they are the library's.
GOAL_KINDS = ("probability", "mean")  # sim.studies.goal_seek.GOAL_KINDS
REPS_PER_DRAW = 1  # sim.studies.parameter_uncertainty.REPS_PER_DRAW
STEPS, BURN = 600, 200  # sim.studies.calibration.posterior.STEPS, BURN

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_IO, EXIT_TARGET_NOT_MET = 0, 1, 2, 3, 4
IO_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.EFBIG})


def baseline_path() -> Path:
    """The shipped baseline (the checkout's, or the installed copy's), from any folder."""
    return shipped_path("scenarios/baseline.yaml")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # usage errors are bad input: exit 2 with the usage line
        self.print_usage(sys.stderr)
        raise InputError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ccsim", description="Simulate investigative capacity in the London"
                     " police complaints and conduct system: forecasts, comparisons of options,"
                     " sweeps, goal-seeks and the Recommendation 7 brief. Every command answers"
                     " --help; README.md has a first-ten-minutes walk-through.")
    parser.add_argument("--version", action="version", version=f"ccsim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="simulate a scenario and write a run directory")
    run.add_argument("scenario", nargs="?", type=Path,
                     help="scenario YAML (default: the shipped baseline)")
    run.add_argument("--reps", type=int, default=100, help="replications (default 100)")
    run.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    run.add_argument("--engine", default=DEFAULT_ENGINE, choices=ENGINES,
                     help="compiled (the default) or des (the SimPy reference)")
    run.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                     help="cores to share the replications: threads of the compiled engine,"
                     " processes of the DES (default: all cores)")
    run.add_argument("--out", type=Path, help="run directory (default results/<name>-<time>)")
    run.add_argument("--chunk-size", type=int, help="replications simulated at once")
    run.add_argument("--quiet", action="store_true", help="no progress bar or table")
    _add_uncertainty_options(run)
    run.set_defaults(handler=cmd_run)

    cal = sub.add_parser(
        "calibrate", help="the posterior of the baseline's parameters given published figures",
        description="MCMC (emcee, the calibrate extra) on the likelihood that"
        " calibration/targets.csv's observation model gives; writes the posterior draws"
        " that runs use, posterior predictive checks, and with --until a back-test of the"
        " later figures.")
    cal.add_argument("--targets", type=Path, help="targets CSV (default calibration/targets.csv)")
    cal.add_argument("--out", type=Path, help="output directory (default the checkout's"
                     " calibration/, or ./calibration when installed from a wheel; under it"
                     " backtest-YYYY-YY with --until)")
    cal.add_argument("--until", help="fit only figures up to this fiscal year (e.g. 2020/21)"
                     " and write backtest.csv: the later figures against the forecast")
    cal.add_argument("--reps", type=int,
                     help="replications per likelihood evaluation (common random numbers)")
    cal.add_argument("--report-reps", type=int, help="replications at the posterior medians")
    cal.add_argument("--seed", type=int, help="random seed (default: the shipped fit's)")
    cal.add_argument("--engine", default=DEFAULT_ENGINE,
                     help="compiled (the default) or des (the SimPy reference)")
    cal.add_argument("--walkers", type=int, help="MCMC walkers (at least twice the parameters)")
    cal.add_argument("--steps", type=int, help=f"MCMC steps per walker (default {STEPS})")
    cal.add_argument("--burn-in", type=int, help=f"steps discarded as burn-in (default {BURN})")
    cal.add_argument("--quiet", action="store_true", help="no progress lines")
    cal.set_defaults(handler=cmd_calibrate)

    comp = sub.add_parser("compare", help="compare scenarios: paired differences from BASE")
    comp.add_argument("base", type=Path, help="the base scenario")
    comp.add_argument("alternatives", nargs="+", type=Path, help="options to compare with it")
    comp.add_argument("--reps", type=int, default=100, help="replications (default 100)")
    comp.add_argument("--seed", type=int, default=1, help="random seed shared by all")
    comp.add_argument("--engine", default=DEFAULT_ENGINE, choices=ENGINES,
                      help="compiled (the default) or des (the SimPy reference)")
    comp.add_argument("--out", type=Path, help="output directory (default results/compare-...)")
    comp.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_uncertainty_options(comp)
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

    diff = sub.add_parser("diff", help="what differs between two scenarios, as resolved")
    diff.add_argument("first", type=Path)
    diff.add_argument("second", type=Path)
    diff.set_defaults(handler=cmd_diff)

    validate = sub.add_parser("validate", help="check scenario files and report every problem")
    validate.add_argument("scenarios", nargs="+", type=Path)
    validate.set_defaults(handler=cmd_validate)
    _add_target_parser(sub)
    _add_brief_parser(sub)
    _add_serve_parser(sub)
    for command in sub.choices.values():  # dest -> option, to name refused values as typed
        command.set_defaults(flags={a.dest: a.option_strings[-1] for a in command._actions
                                    if a.option_strings and a.dest != "help"})
    return parser


def _add_uncertainty_options(parser: argparse.ArgumentParser, default: str = "") -> None:
    """--parameter-uncertainty [DIR] and --fixed-parameters (one or the other: argparse
    refuses both, exit 2), and --reps-per-draw. Drawing is the default, so a decision's
    intervals include what the calibration does not pin down."""
    how = parser.add_mutually_exclusive_group()
    how.add_argument("--parameter-uncertainty", nargs="?", type=Path,
                     const=shipped_path("calibration"), metavar="CALIBRATION_DIR",
                     help="draw the fitted parameters from this calibration folder's posterior"
                          " (posterior.csv), one draw per group of replications, so the"
                          " intervals include parameter uncertainty (the default, from the"
                          f" shipped calibration/{default})")
    how.add_argument("--fixed-parameters", action="store_true",
                     help="hold the fitted parameters at their calibrated values: the"
                          " intervals then show chance alone")
    parser.add_argument("--reps-per-draw", type=int, default=REPS_PER_DRAW,
                        help="replications per parameter draw (default 1: each replication its"
                             " own draw; more is quicker, but replications sharing a draw are"
                             " correlated and the 95%% intervals then too narrow)")


def _parameters(args: argparse.Namespace) -> Path | None:
    """The calibration folder to draw the fitted parameters from (None: fixed): the one
    named, else the shipped one, unless --fixed-parameters."""
    if args.fixed_parameters:
        return None
    return args.parameter_uncertainty or shipped_path("calibration")


def _add_target_parser(sub) -> None:
    target = sub.add_parser(
        "target", help="goal-seek: the smallest lever value meeting a target, on average or"
        " with a stated probability (see sim/studies/goal_seek/)",
        description="The smallest value of a lever (e.g. IOPC investigators) at which a"
        " yearly metric meets a level: on average over the replications (--goal mean), or"
        " in a share of them (--goal probability, the default, with --confidence). Every"
        " evaluated value is printed with the mean and its 95% interval and the probability"
        " with its Wilson 95% interval; --curve-step adds a regular curve.",
        epilog=f"exit codes: {EXIT_OK} a value meets the target,"
        f" {EXIT_TARGET_NOT_MET} no value up to the maximum does (the"
        f" points are still printed, and written with --out),"
        f" {EXIT_INPUT} bad input, {EXIT_IO} results could not be written")
    target.add_argument("scenario", type=Path)
    target.add_argument("--lever", required=True, help="dotted path, e.g. pools.iopc.staff")
    target.add_argument("--metric", required=True, help="yearly metric, e.g."
                        " iopc.open_over_12m.end, iopc.wait_days.mean, iopc.within_12m.share")
    target.add_argument("--year", required=True, help="fiscal year, e.g. 2025/26")
    target.add_argument("--goal", choices=GOAL_KINDS, default="probability",
                        help="probability: meet the level in --confidence of futures"
                        " (default); mean: meet it on average over futures")
    level = target.add_mutually_exclusive_group(required=True)
    level.add_argument("--at-most", help="a number, or baseline:YEAR (the metric's mean in"
                       " YEAR in the scenario as given)")
    level.add_argument("--at-least", help="as --at-most, for a metric that should be high"
                       " (e.g. iopc.within_12m.share at least 0.85)")
    target.add_argument("--confidence", type=float,
                        help="with --goal probability: the probability of meeting the target"
                        " (default 0.8)")
    target.add_argument("--curve-step", type=float, help="also evaluate every CURVE_STEP"
                        " from the lowest value to --max (a curve of the goal against the"
                        " lever; needs --max)")
    target.add_argument("--from", dest="from_date", type=dt.date.fromisoformat,
                        help="for dated steps: the date the value holds from (default: start)")
    target.add_argument("--step", type=float, default=1.0, help="grid step (default 1)")
    target.add_argument("--min", type=float, help="lowest value (default: the current one)")
    target.add_argument("--max", type=float, help="highest value (default: found by doubling)")
    target.add_argument("--reps", type=int, default=100, help="replications (default 100)")
    target.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    target.add_argument("--engine", default=DEFAULT_ENGINE,
                        help="compiled or des (default: as ccsim run)")
    target.add_argument("--out", type=Path, help="write target.json and points.csv here")
    target.add_argument("--quiet", action="store_true", help="no progress lines")
    _add_uncertainty_options(target)
    target.set_defaults(handler=cmd_target)


def _add_brief_parser(sub) -> None:
    brief = sub.add_parser("brief", help="write the Recommendation 7 brief (HTML and Markdown)")
    brief.add_argument("--config", type=Path, help="brief file (default: briefs/rec7.yaml)")
    brief.add_argument("--reps", type=int, help="replications (default: the brief file's)")
    brief.add_argument("--seed", type=int, help="random seed (default: the brief file's)")
    brief.add_argument("--engine", default=DEFAULT_ENGINE,
                       help="compiled or des (default: as ccsim run)")
    brief.add_argument("--year", help="the year reported (default: the brief file's)")
    brief.add_argument("--confidence", type=float, help="the probability asked for in the"
                       " brief's probability questions (default: the brief file's)")
    brief.add_argument("--cost-per-investigator", type=float,
                       help="GBP per IOPC investigator-year (default: the brief file's)")
    brief.add_argument("--no-target", action="store_true", help="skip the goal-seek")
    brief.add_argument("--out", type=Path, help="output directory (default results/brief-...)")
    brief.add_argument("--quiet", action="store_true", help="no progress lines")
    _add_uncertainty_options(brief, default=", unless the brief file says parameters: fixed")
    brief.set_defaults(handler=cmd_brief)


def _add_serve_parser(sub) -> None:
    serve = sub.add_parser("serve", help="the what-if page: move a lever, see the paired"
                           " answer (a local web app)")
    serve.add_argument("--host", default=HOST, help="address to listen on (default"
                       f" {HOST}: this machine only)")
    serve.add_argument("--port", type=int, default=PORT, help=f"port (default {PORT})")
    serve.add_argument("--open", action="store_true", help="open the page in a browser")
    serve.set_defaults(handler=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    from sim.serve.server import serve

    serve(args.host, args.port, open_browser=args.open)
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from sim.model.scenario import load_scenario

    path = args.scenario or baseline_path()
    scenario = load_scenario(path)  # a bad file is refused before the engine loads
    from sim import api
    from sim.outputs.terminal import Progress, headline_table

    out = args.out or default_out(scenario.name)
    with Progress(args.reps, args.quiet, f"{scenario.name} [{args.engine}]") as advance:
        saved = api.run(path, args.reps, args.seed, args.engine, workers=args.workers,
                        chunk_size=args.chunk_size,
                        parameter_uncertainty=_parameters(args),
                        reps_per_draw=args.reps_per_draw, out=out, progress=advance)
    if not args.quiet:
        print(headline_table(saved.result))
    report = [] if args.quiet else [f"open {(saved.folder or out) / 'report.html'}"]
    print(f"results written to {saved.folder}", *report, sep="\n")
    return EXIT_OK


def cmd_compare(args: argparse.Namespace) -> int:
    from sim.model.scenario import load_scenario

    paths = [args.base, *args.alternatives]
    out = args.out or default_out("compare", load_scenario(args.base).name)
    from sim import api
    from sim.outputs.terminal import Progress, comparison_table

    with Progress(args.reps * len(paths), args.quiet, f"compare [{args.engine}]") as advance:
        saved = api.compare(paths, args.reps, args.seed, args.engine,
                            workers=os.cpu_count() or 1,
                            parameter_uncertainty=_parameters(args),
                            reps_per_draw=args.reps_per_draw, out=out, progress=advance)
    comparison = saved.result
    print(comparison_table(comparison.table(), [comparison.base, *comparison.alternatives]))
    print(f"results written to {saved.folder}")
    if not args.quiet:
        print(f"open {saved.folder / 'report.html' if saved.folder else 'report.html'}")
    return EXIT_OK


def cmd_sweep(args: argparse.Namespace) -> int:
    from sim.studies.sweep.design import load_sweep

    design = load_sweep(args.sweep_file)
    from sim import api
    from sim.outputs.terminal import Progress

    points = len(design.points)
    with Progress(points, args.quiet, f"sweep {design.spec.name}", unit="points") as advance:
        saved = api.sweep(design, args.out, args.executor, args.workers, args.scheduler,
                          progress=advance)
    written = saved.files
    print(f"{points} points, {design.spec.reps} replications each; wrote"
          f" {', '.join(p.name for p in written[:4])}{' ...' if len(written) > 4 else ''}"
          f" in {args.out}")
    return EXIT_OK


def cmd_calibrate(args: argparse.Namespace) -> int:
    from sim import api
    from sim.outputs.calibration_report import calibration_summary, fit_table
    from sim.studies.calibration.fit import (
        DEFAULT_TARGETS,
        FIT_REPS,
        REPORT_REPS,
        SEED,
        WALKERS,
    )

    started = time.perf_counter()
    defaults = {"reps": FIT_REPS, "report_reps": REPORT_REPS, "seed": SEED,
                "walkers": WALKERS, "steps": STEPS, "burn_in": BURN}
    given = {k: getattr(args, k) for k in defaults}
    saved = api.calibrate(
        args.targets or DEFAULT_TARGETS, args.out, args.until, engine=args.engine,
        progress=None if args.quiet else (lambda s: print(s, file=sys.stderr)),
        **{k: defaults[k] if v is None else v for k, v in given.items()})
    table = fit_table(saved.result)
    in_fit, later = table[table.in_fit], table[~table.in_fit]
    print(f"posterior from {saved.result.nfev} simulations in"
          f" {time.perf_counter() - started:.0f} s; {calibration_summary(in_fit, 'fitted')}")
    if not later.empty:
        print(f"back-test: {calibration_summary(later, 'later')}")
        for fy, rows in later.groupby("fiscal_year", sort=True):
            print(f"  {fy}: {calibration_summary(rows, 'forecast')}")
        for _, r in later[~later.in_90].iterrows():
            print(f"  outside its 90% interval: {r.target_id} published {r.published:g},"
                  f" forecast {r.predictive_mean:.4g}")
    print(f"written to {saved.folder}: {', '.join(p.name for p in saved.files)}")
    return EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    from sim import api
    from sim.outputs.terminal import differences_table

    changes = api.diff(args.first, args.second)
    if not changes:
        print(f"{args.first} and {args.second} are the same model (as resolved)")
        return EXIT_OK
    print(differences_table(changes, args.first, args.second))
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from sim.model.scenario import load_scenario

    failed = 0
    for path in args.scenarios:
        try:
            s = load_scenario(path)
        except InputError as exc:
            failed += 1
            print(exc.render(), file=sys.stderr)
        else:
            print(f"{path}: valid (scenario '{s.name}', hash {s.digest()})")
    return EXIT_INPUT if failed else EXIT_OK


def cmd_target(args: argparse.Namespace) -> int:
    """Exit 0 when a value meets the goal, EXIT_TARGET_NOT_MET (4) when none up to the
    maximum does; the sentence uses plain names, the table the lever's path."""
    from sim import api
    from sim.outputs.terminal import goal_seek_table
    from sim.studies.goal_seek import Goal, Point, SearchLever, lever_name, parse_level

    if args.goal == "mean" and args.confidence is not None:
        raise InputError("a mean goal has no probability", field="--confidence",
                         value=args.confidence, allowed="leave it out, or --goal probability")
    goal = Goal(args.metric, args.year,
                None if args.at_most is None else parse_level(args.at_most, "--at-most"),
                0.8 if args.confidence is None else args.confidence,
                None if args.at_least is None else parse_level(args.at_least, "--at-least"),
                args.goal)

    def said(p: Point) -> None:
        if not args.quiet:
            print(f"  {lever_name(args.lever)} = {p.value:g}: {p.met}/{p.reps} replications"
                  f" meet the target; mean {p.metric_mean:.4g}", file=sys.stderr)

    saved = api.goal_seek(args.scenario, SearchLever(args.lever, args.from_date), goal,
                          reps=args.reps, seed=args.seed, engine=args.engine, step=args.step,
                          low=args.min, high=args.max, curve_step=args.curve_step,
                          parameter_uncertainty=_parameters(args),
                          reps_per_draw=args.reps_per_draw, out=args.out, progress=said)
    result = saved.result
    print(goal_seek_table(result, args.metric, args.year))
    if saved.folder is not None:
        print(f"results written to {saved.folder}")
    return EXIT_OK if result.answer is not None else EXIT_TARGET_NOT_MET


def _brief_parameters(args: argparse.Namespace) -> Path | None:
    """As `_parameters`, except that with neither flag the brief file decides (its
    `parameters:`, drawn unless it says fixed): a flag on the command line wins."""
    from sim import api

    if args.fixed_parameters:
        return None
    return args.parameter_uncertainty or api.brief_parameters(args.config)


def cmd_brief(args: argparse.Namespace) -> int:
    from sim import api
    from sim.outputs.brief_report import headline_text

    out = args.out or default_out("brief")

    def said(message: str) -> None:
        if not args.quiet:
            print(f"  {message}", file=sys.stderr)

    saved = api.brief(args.config, reps=args.reps, seed=args.seed, engine=args.engine,
                      year=args.year, confidence=args.confidence,
                      cost_per_investigator_year_gbp=args.cost_per_investigator,
                      with_goal_seek=not args.no_target,
                      parameter_uncertainty=_brief_parameters(args),
                      reps_per_draw=args.reps_per_draw, out=out, progress=said)
    out = saved.folder or out
    print(headline_text(saved.result))
    print(f"brief written to {out / 'brief.html'} and {out / 'brief.md'}"
          f" ({saved.result.seconds:.0f} s)")
    return EXIT_OK


def _as_flag(exc: InputError, args: argparse.Namespace | None) -> InputError:
    """An API refusal of a value given on the command line (no file) names its option as
    the user typed it (`--chunk-size`, not `chunk_size`)."""
    flags = getattr(args, "flags", None) or {}
    if exc.file is None and exc.field in flags:
        exc.field = flags[exc.field]
    return exc


def _say_if_compiling(args: argparse.Namespace) -> None:
    """A cold first run spends about a minute and a half compiling the engine (two cores):
    say so, rather than look stuck (numba keeps the result, so later runs start at once)."""
    simulates = getattr(args, "engine", DEFAULT_ENGINE) == "compiled" and hasattr(args, "reps")
    if not simulates or getattr(args, "quiet", False):
        return
    from sim.engine.engines.compiled import needs_compiling

    if needs_compiling():
        print("ccsim: compiling the simulation engine (the first run on this machine only;"
              " about a minute and a half)", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    from sim.outputs.provenance import recording_command

    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = None
    try:
        args = parser.parse_args(argv)
        _say_if_compiling(args)
        with recording_command(argv):
            return int(args.handler(args))
    except InputError as exc:
        print(f"ccsim: error: {_as_flag(exc, args).render()}", file=sys.stderr)
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
