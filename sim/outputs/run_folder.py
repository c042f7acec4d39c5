"""Write a result folder whole: built beside the target, then renamed into place.

A run killed midway leaves only a hidden `.<name>.partial-<pid>-*` folder (removed by the
next write to the same place once that process is gone); an earlier result at the target
stays intact until the new one is complete. A folder is replaced only if it is an earlier
result of the same command holding nothing ccsim did not write (`sim.files.writing.check_out`);
swaps into one folder by several processes are serialised by a lock on that folder, and a
default name already taken gets `-2`, `-3` ... instead of replacing another run's result.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from sim.engine.metrics import GLOSSARY
from sim.engine.run import RunResult
from sim.engine.summaries import summary_table, timeseries_table, yearly_table
from sim.files.writing import (
    WriteError,
    check_out,
    check_writable,
    default_out,
    folder_lock,
    free_name,
    glob_escape,
    is_fresh,
    make_parents,
    make_staging,
    remove_if_empty,
    write_marker,
)
from sim.outputs.compare_report import render_comparison, write_comparison_plots
from sim.outputs.plots import write_plots
from sim.outputs.provenance import provenance
from sim.outputs.run_report import render_report, write_report
from sim.outputs.workbook import (
    WORKBOOK,
    comparison_workbook,
    finished_time,
    run_workbook,
    save_workbook,
)
from sim.studies.compare import Comparison
from sim.studies.goal_seek import GoalSeekResult

RUN_FILES = ("manifest.json", "summary.csv", "yearly.csv", "timeseries.parquet", "report.html",
             WORKBOOK)
KEPT = "nothing was written there and earlier results are untouched"
_PID = re.compile(r"\.(?:partial|old)-(\d+)-")

__all__ = ["RUN_FILES", "check_out", "check_writable", "default_out", "write_comparison",
           "write_folder", "write_goal_seek", "write_run"]


def write_run(result: RunResult, out_dir: Path) -> Path:
    """Write every output of a run to `out_dir`, replacing an earlier run there atomically."""
    return write_folder(out_dir, "run", lambda staging: _run_files(result, staging))


def write_comparison(comparison: Comparison, out_dir: Path) -> Path:
    """comparison.csv, the paired-difference charts, report, workbook and manifest, written
    whole."""
    return write_folder(out_dir, "compare",
                        lambda staging: _comparison_files(comparison, staging))


def write_goal_seek(result: GoalSeekResult, out_dir: Path) -> Path:
    """target.json (the answer, its interval, every point and the provenance) and
    points.csv (one row per evaluated lever value), written whole."""
    def fill(staging: Path) -> None:
        record = {**result.to_dict(), "provenance": provenance(
            scenario=result.scenario, reps=result.reps, seed=result.seed, engine=result.engine)}
        (staging / "target.json").write_text(json.dumps(record, indent=2, default=str),
                                             encoding="utf-8")
        pd.DataFrame([vars(p) for p in result.points]).to_csv(staging / "points.csv",
                                                              index=False)

    return write_folder(out_dir, "target", fill)


def write_folder(out_dir: Path, command: str, fill: Callable[[Path], None]) -> Path:
    """Fill a staging folder, mark it as `command`'s result and swap it in whole; return the
    folder written (a default name may have gained a suffix). A failed write raises
    WriteError and leaves no partial folder and the earlier result intact."""
    out_dir = Path(out_dir)
    check_out(out_dir, command)
    made: list[Path] = []
    try:
        made = make_parents(out_dir.parent)
        with folder_lock(out_dir.parent):
            _remove_leftovers(out_dir)
        staging = make_staging(out_dir)
        try:
            fill(staging)
            write_marker(staging, command)
            with folder_lock(out_dir.parent):
                target = free_name(out_dir) if is_fresh(out_dir) else out_dir
                if target == out_dir:
                    check_out(out_dir, command)  # again: nothing foreign arrived meanwhile
                _swap_into_place(staging, target)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
    except (OSError, WriteError) as exc:
        remove_if_empty(made)
        raise WriteError(out_dir, exc, KEPT) from exc
    except BaseException:
        remove_if_empty(made)
        raise
    return target


def _comparison_files(comparison: Comparison, staging: Path) -> None:
    table = comparison.table()
    table.to_csv(staging / "comparison.csv", index=False, float_format="%.6g")
    plots = write_comparison_plots(comparison, table, staging / "plots")
    (staging / "report.html").write_text(render_comparison(comparison, table, plots))
    manifest = {
        "kind": "comparison",
        "base": comparison.base.manifest(),
        "alternatives": [alt.manifest() for alt in comparison.alternatives],
        "provenance": provenance([comparison.base, *comparison.alternatives]),
    }
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
    runs = [comparison.base, *comparison.alternatives]
    save_workbook(comparison_workbook(comparison, table, manifest), staging / WORKBOOK,
                  finished_time(*runs))


def _run_files(result: RunResult, staging: Path) -> None:
    manifest = {"kind": "run", **result.manifest(), "provenance": provenance([result])}
    summary = summary_table(result.measured)
    yearly = yearly_table(result.measured, result.timeline)
    series = timeseries_table(result.measured, result.timeline)
    summary.to_csv(staging / "summary.csv", index=False, float_format="%.6g")
    yearly.to_csv(staging / "yearly.csv", index=False, float_format="%.6g")
    series.to_parquet(staging / "timeseries.parquet", index=False)
    plots = write_plots(series, staging / "plots")
    html = render_report(manifest, summary, yearly, plots, GLOSSARY)
    write_report(staging / "report.html", html)
    save_workbook(run_workbook(result, manifest, summary, yearly, series), staging / WORKBOOK,
                  finished_time(result))
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))


def _swap_into_place(staging: Path, out_dir: Path) -> None:
    """Two renames (called under the folder's lock): the earlier result aside, the new one in."""
    if not out_dir.exists():
        staging.rename(out_dir)
        return
    retired = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}-{os.urandom(4).hex()}")
    out_dir.rename(retired)
    staging.rename(out_dir)
    shutil.rmtree(retired, ignore_errors=True)


def _remove_leftovers(out_dir: Path) -> None:
    """Partial folders from killed runs to the same place are never mistaken for results.

    Called under the folder's lock, so no swap is under way: a retired folder is always left
    by a run killed between the two renames of its swap, with the earlier result whole in it
    and nothing at the target: put it back rather than delete it. A partial folder is cleared
    only once the process building it has gone."""
    name = glob_escape(out_dir.name)
    for stale in out_dir.parent.glob(f".{name}.partial-*"):
        if not _running(stale):
            shutil.rmtree(stale, ignore_errors=True)
    retired = sorted(out_dir.parent.glob(f".{name}.old-*"), key=os.path.getmtime)
    if retired and not out_dir.exists():
        retired.pop().rename(out_dir)
    for stale in retired:
        shutil.rmtree(stale, ignore_errors=True)


def _running(folder: Path) -> bool:
    """Whether the process named in a staging folder's name is still running."""
    found = _PID.search(folder.name)
    if not found or int(found[1]) == os.getpid():
        return False
    try:
        os.kill(int(found[1]), 0)
    except ProcessLookupError:
        return False
    except OSError:  # someone else's process: running
        return True
    return True
