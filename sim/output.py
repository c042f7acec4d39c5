"""Write a run directory whole: built beside the target, then renamed into place.

A run killed midway leaves only a hidden `.<name>.partial-*` folder (removed by the next
run to the same place); an earlier result at the target stays intact until the new one is
complete.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from sim.errors import InputError
from sim.metrics import GLOSSARY
from sim.run import RunResult
from sim.summarise import summary_table, timeseries_table, yearly_table

if TYPE_CHECKING:
    from sim.compare import Comparison

RUN_FILES = ("manifest.json", "summary.csv", "yearly.csv", "timeseries.parquet", "report.html")


def check_writable(out_dir: Path) -> None:
    """Fail before simulating if the results cannot be written."""
    parent = out_dir.resolve().parent
    existing = parent
    while not existing.exists():
        existing = existing.parent
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError("exists and is not a directory", file=out_dir,
                         allowed="a new or existing directory")
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise InputError("cannot write results here (permission denied)", file=out_dir,
                         allowed="a directory you can write to (--out DIR)")


def write_run(result: RunResult, out_dir: Path) -> Path:
    """Write every output of a run to `out_dir`, replacing an earlier run there atomically."""
    return _write_whole(out_dir, lambda staging: _run_files(result, staging))


def write_comparison(comparison: Comparison, out_dir: Path) -> Path:
    """comparison.csv, the paired-difference charts, report and manifest, written whole."""
    return _write_whole(out_dir, lambda staging: _comparison_files(comparison, staging))


def _write_whole(out_dir: Path, fill) -> Path:
    out_dir = Path(out_dir)
    check_writable(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(out_dir)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
    try:
        fill(staging)
        _swap_into_place(staging, out_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return out_dir


def _comparison_files(comparison: Comparison, staging: Path) -> None:
    from sim.compare_report import render_comparison, write_comparison_plots

    table = comparison.table()
    table.to_csv(staging / "comparison.csv", index=False, float_format="%.6g")
    plots = write_comparison_plots(comparison, table, staging / "plots")
    (staging / "report.html").write_text(render_comparison(comparison, table, plots))
    manifest = {
        "kind": "comparison",
        "base": comparison.base.manifest(),
        "alternatives": [alt.manifest() for alt in comparison.alternatives],
    }
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))


def _run_files(result: RunResult, staging: Path) -> None:
    from sim.plots import write_plots
    from sim.report import render_report, write_report

    manifest = result.manifest()
    summary = summary_table(result.measured)
    yearly = yearly_table(result.measured, result.timeline)
    series = timeseries_table(result.measured, result.timeline)
    summary.to_csv(staging / "summary.csv", index=False, float_format="%.6g")
    yearly.to_csv(staging / "yearly.csv", index=False, float_format="%.6g")
    series.to_parquet(staging / "timeseries.parquet", index=False)
    plots = write_plots(series, staging / "plots")
    html = render_report(manifest, summary, yearly, plots, GLOSSARY)
    write_report(staging / "report.html", html)
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))


def _swap_into_place(staging: Path, out_dir: Path) -> None:
    if not out_dir.exists():
        staging.rename(out_dir)
        return
    retired = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
    out_dir.rename(retired)
    staging.rename(out_dir)
    shutil.rmtree(retired, ignore_errors=True)


def _remove_leftovers(out_dir: Path) -> None:
    """Partial folders from killed runs to the same place are never mistaken for results.

    A run killed between the two renames of a swap leaves the earlier result, whole, under
    its retired name and nothing at the target: put it back rather than delete it."""
    for stale in out_dir.parent.glob(f".{out_dir.name}.partial-*"):
        shutil.rmtree(stale, ignore_errors=True)
    retired = sorted(out_dir.parent.glob(f".{out_dir.name}.old-*"), key=os.path.getmtime)
    if retired and not out_dir.exists():
        retired.pop().rename(out_dir)
    for stale in retired:
        shutil.rmtree(stale, ignore_errors=True)
