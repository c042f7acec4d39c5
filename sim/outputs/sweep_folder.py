"""A sweep's folder: claimed for one sweep at a time, resumable, its analysis written whole.

The folder is claimed only if it is new, empty or an earlier ccsim sweep holding nothing
ccsim did not write, and locked while a sweep writes there (a second sweep is refused). The
runner (`sim.studies.sweep.runner`) stores each finished point in it; when every point is
in, `write_analysis` writes results.parquet, summary.csv, sensitivity indices and charts,
and the marker lists them (the files of an earlier analysis that this one did not write are
removed, so no chart is stale).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.engine.run import fixed_for_speed
from sim.errors import InputError
from sim.files.writing import (
    LOCK,
    MARKER,
    WriteError,
    check_out,
    fcntl,
    layout_files,
    leftovers_of,
    make_parents,
    read_marker,
    remove_if_empty,
    write_marker,
    write_text_atomic,
    write_with,
)
from sim.outputs.plots import save_png
from sim.outputs.provenance import provenance
from sim.outputs.workbook import SWEEP_TIME, WORKBOOK, save_workbook, sweep_workbook
from sim.studies.sweep.analysis import chart_metrics, every_point, sensitivity, wide_summary
from sim.studies.sweep.design import Sweep
from sim.studies.sweep.runner import KEPT, check_executor, run_sweep

#: a sweep's fitted parameters: fixed, so its many points stay quick (each point's own
#: change is the question)
SWEEP_PARAMETERS = fixed_for_speed("sweeps do")


def sweep_into(
    sweep: Sweep,
    out_dir: Path,
    executor: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[pd.DataFrame, list[Path]]:
    """Run a sweep in `out_dir` and analyse it, holding the folder for this sweep alone.
    A failed write raises WriteError: the points finished so far are kept for a resume."""
    check_executor(executor, scheduler)
    out_dir = Path(out_dir)
    with sweep_folder(out_dir):
        try:
            table = run_sweep(sweep, out_dir, executor, workers, scheduler, progress)
            written = write_analysis(sweep, table, out_dir)
            _record_analysis(out_dir, written)
        except (OSError, WriteError) as exc:
            raise WriteError(out_dir, exc, KEPT) from exc
    return table, written


@contextlib.contextmanager
def sweep_folder(out_dir: Path) -> Iterator[Path]:
    """Claim `out_dir` for one sweep: refuse a folder that holds anything ccsim did not
    write, or that another sweep is writing now (a lock that ends with its process). A
    folder this call made is removed again if the sweep stores nothing."""
    out_dir = Path(out_dir)
    check_out(out_dir, "sweep")
    made = make_parents(out_dir)
    fd = _lock(out_dir, made)
    try:
        check_out(out_dir, "sweep")  # again, now that no other sweep can change it
        if read_marker(out_dir) is None:
            write_marker(out_dir, "sweep", files=layout_files(out_dir, "sweep"))
        for stale in leftovers_of(out_dir, "sweep"):
            stale.unlink(missing_ok=True)
        yield out_dir
    except BaseException:
        if _holds_nothing(out_dir):  # nothing to resume: leave the folder as it was
            for name in (MARKER, LOCK):
                (out_dir / name).unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                (out_dir / "points").rmdir()
            remove_if_empty(made)
        raise
    finally:
        os.close(fd)


def _lock(out_dir: Path, made: list[Path]) -> int:
    fd = os.open(out_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o666)
    if fcntl is None:
        return fd
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode(errors="replace").strip()
        os.close(fd)
        raise InputError(f"another ccsim sweep{f' (process {holder})' if holder else ''} is"
                         " writing to this folder now; nothing was changed", file=out_dir,
                         field="--out", allowed="wait for it to finish (then this sweep"
                         " resumes from its points), or another --out") from None
    except OSError:  # a file system without locks
        return fd
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def _holds_nothing(out_dir: Path) -> bool:
    """Only the marker, the lock and an empty points/ folder: no work to keep."""
    names = {p.name for p in out_dir.iterdir()} if out_dir.is_dir() else set()
    points = out_dir / "points"
    return names <= {MARKER, LOCK, "points"} and not (points.is_dir() and any(points.iterdir()))


def _record_analysis(out_dir: Path, written: list[Path]) -> None:
    """List this analysis in the marker; remove the files an earlier analysis in the same
    folder wrote and this one did not (charts of another design), so none is stale."""
    now = {p.relative_to(out_dir).as_posix() for p in written}
    now |= {f"{Path(r).parent.as_posix()}/" for r in now if "/" in r}
    before = read_marker(out_dir)
    for rel in set(before["files"] if before else ()) - now:
        path = out_dir / rel
        if not rel.endswith("/") and path.is_file() and not path.is_symlink():
            path.unlink()
    write_marker(out_dir, "sweep", files=sorted(now))


def sensitivity_chart(indices: pd.DataFrame, metric: str, path: Path) -> Path:
    rows = indices[indices.metric == metric]
    kinds = list(dict.fromkeys(rows["index"]))
    names = list(dict.fromkeys(rows.parameter))
    fig = Figure(figsize=(9, 1.5 + 0.5 * len(names)), layout="constrained")
    ax = fig.subplots()
    height = 0.8 / max(len(kinds), 1)
    for k, kind in enumerate(kinds):
        part = rows[rows["index"] == kind].set_index("parameter").reindex(names)
        y = np.arange(len(names)) + k * height
        ax.barh(y, part["value"], height, xerr=part["conf95"].fillna(0), capsize=3, label=kind)
    ax.set_yticks(np.arange(len(names)) + height * (len(kinds) - 1) / 2, names, fontsize=8)
    ax.invert_yaxis()
    ax.legend()
    ax.set_title(f"Sensitivity of {metric} (bars: 95% interval)")
    save_png(fig, path)
    return path


def grid_chart(sweep: Sweep, table: pd.DataFrame, metric: str, path: Path) -> Path:
    """A metric against each swept parameter (mean and 90% range across replications);
    with two parameters, one line per value of the second."""
    rows = table[table.metric == metric]
    params = sweep.parameters
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.subplots()
    x_name = params[0]
    groups = rows.groupby(params[1]) if len(params) == 2 else [(None, rows)]
    for value, part in groups:
        line = part.groupby(x_name)[["mean", "p05", "p95"]].mean().sort_index()
        label = f"{params[1]} = {value!s}" if value is not None else None
        ax.plot(line.index, line["mean"], marker="o", label=label)
        ax.fill_between(line.index, line["p05"], line["p95"], alpha=0.15)
    ax.set_xlabel(x_name)
    ax.set_ylabel(metric)
    if len(params) == 2:
        ax.legend(fontsize=8)
    extra = " (other parameters averaged)" if len(params) > 2 else ""
    ax.set_title(f"{metric}: mean and 90% range of replications{extra}", fontsize=10)
    save_png(fig, path)
    return path


def write_analysis(sweep: Sweep, table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Write results.parquet, summary.csv, sensitivity.csv (SALib designs), charts,
    manifest.json (the sweep file, its base scenario and the provenance) and workbook.xlsx
    (the same tables for Excel)."""
    manifest = out_dir / "manifest.json"
    record = {"kind": "sweep", "sweep_file": str(sweep.source), "sweep": sweep.spec.model_dump(),
              "points": len(sweep.points), "base_scenario": sweep.base.name,
              "base_scenario_hash": sweep.base.digest(), "parameters": SWEEP_PARAMETERS,
              "provenance": provenance(reps=sweep.spec.reps, seed=sweep.spec.seed,
                                       engine=sweep.spec.engine)}
    write_text_atomic(manifest, json.dumps(record, indent=2, default=str))
    written = [manifest]
    table = every_point(sweep, table)
    results = out_dir / "results.parquet"
    write_with(results, lambda tmp: table.to_parquet(tmp, index=False))
    wide = wide_summary(sweep, table)
    summary = out_dir / "summary.csv"
    write_with(summary, lambda tmp: wide.to_csv(tmp, index=False, float_format="%.6g"))
    written += [results, summary]
    metrics = chart_metrics(sweep, table)
    plots = out_dir / "plots"
    plots.mkdir(exist_ok=True)
    kind = sweep.spec.design.kind
    indices = None
    if kind in ("sobol", "morris"):
        indices = sensitivity(sweep, wide, metrics)
        path = out_dir / "sensitivity.csv"
        write_with(path, lambda tmp: indices.to_csv(tmp, index=False, float_format="%.6g"))
        written.append(path)
        written += [sensitivity_chart(indices, m, plots / f"sensitivity_{m}.png")
                    for m in dict.fromkeys(indices.metric)]
    elif kind == "grid":
        written += [grid_chart(sweep, table, m, plots / f"grid_{m}.png") for m in metrics]
    book = out_dir / WORKBOOK
    write_with(book, lambda tmp: save_workbook(sweep_workbook(sweep, wide, indices, record), tmp,
                                               SWEEP_TIME))
    written.append(book)
    return written


__all__ = ["grid_chart", "sensitivity_chart", "sweep_folder", "sweep_into", "write_analysis"]
