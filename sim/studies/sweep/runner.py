"""Run a sweep: every point of a design, serially, on a local process pool or on Dask.

Each point is an independent run of `run_scenario` with the sweep's seed (so points share
random numbers: differences between points are not masked by noise). A finished point is
written at once as its own Parquet file named by its key (a hash of its resolved scenario
and run settings), carrying that key and a checksum of its rows; rerunning the same sweep
skips every point already written, so an interrupted sweep resumes where it stopped and ends
with the same results. A stored point that is truncated, corrupt or holds another point's
rows is computed again, with a warning.

The sweep folder is claimed for one sweep at a time (a lock file in it) and only if it is
new, empty or an earlier ccsim sweep holding nothing ccsim did not write.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import io
import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.engine.run import die_with_parent, run_scenario, stop_pool
from sim.engine.summaries import summary_table
from sim.errors import InputError
from sim.files.reading import read_bytes
from sim.files.writing import (
    WriteError,
    write_with,
)
from sim.model.scenario import Scenario
from sim.studies.sweep.design import Sweep

EXECUTORS = ("local", "dask", "serial")
POINT_META = b"ccsim.point"  # Parquet key-value metadata: the point's key and rows' checksum
MAX_POINT_BYTES = 64 * 2**20
SCHEDULER_TIMEOUT_S = 5
KEPT = "the points finished before it are kept: run the same command again to resume"


def _stderr(message: str) -> None:
    sys.stderr.write(f"ccsim: warning: {message}\n")


@dataclass(frozen=True)
class Task:
    index: int
    key: str
    point: dict
    scenario: dict  # the resolved scenario, as data (cheap to send to a worker)


def run_point(scenario: dict, reps: int, seed: int, engine: str,
              metrics: list[str] | None) -> pd.DataFrame:
    """One point: the summary table of its run (runs in a worker process)."""
    s = Scenario.model_validate(scenario)
    table = summary_table(run_scenario(s, reps, seed, engine).measured)
    return table[table.metric.isin(metrics)] if metrics else table


def rows_digest(table: pa.Table) -> str:
    """A checksum of a point's rows as stored: column names, types and every value."""
    plain = table.replace_schema_metadata(None)
    text = json.dumps([str(plain.schema), plain.to_pydict()], default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class PointStore:
    """One Parquet file per finished point under `points/`, written atomically, each
    carrying its key and a checksum of its rows."""

    def __init__(self, out_dir: Path, warn: Callable[[str], None] = _stderr) -> None:
        self.dir = Path(out_dir) / "points"
        self.warn = warn

    def path(self, key: str) -> Path:
        return self.dir / f"{key}.parquet"

    def finished(self) -> set[str]:
        """Keys with a stored file (not yet checked: see `valid`)."""
        return {p.stem for p in self.dir.glob("*.parquet")} if self.dir.exists() else set()

    def write(self, task: Task, table: pd.DataFrame, parameters: list[str]) -> None:
        rows = table.copy()
        rows.insert(0, "point", task.index)
        rows.insert(1, "key", task.key)
        for j, name in enumerate(parameters):
            rows.insert(2 + j, name, task.point.get(name))
        arrow = pa.Table.from_pandas(rows, preserve_index=False)
        meta = json.dumps({"key": task.key, "rows": arrow.num_rows,
                           "sha256": rows_digest(arrow)}).encode()
        arrow = arrow.replace_schema_metadata({**(arrow.schema.metadata or {}),
                                               POINT_META: meta})
        self.dir.mkdir(parents=True, exist_ok=True)
        write_with(self.path(task.key), lambda tmp: pq.write_table(arrow, tmp))

    def read(self, task: Task, parameters: list[str]) -> tuple[pd.DataFrame | None, str]:
        """A stored point's rows, or None and why they cannot be used."""
        try:
            data = read_bytes(self.path(task.key), what="a stored sweep point",
                              max_bytes=MAX_POINT_BYTES)
            arrow = pq.read_table(pa.BufferReader(data))
        except (InputError, OSError, ValueError, pa.ArrowException):
            return None, "cannot be read (truncated or corrupt)"
        raw = (arrow.schema.metadata or {}).get(POINT_META)
        try:
            meta = json.loads(raw) if raw is not None else None
        except ValueError:
            meta = None
        if not isinstance(meta, dict):
            return None, "has no checksum (written by an earlier ccsim, or not by ccsim)"
        if meta.get("key") != task.key:
            return None, f"holds the rows of another point (key {meta.get('key')})"
        if meta.get("sha256") != rows_digest(arrow) or meta.get("rows") != arrow.num_rows:
            return None, "does not match its checksum (changed or corrupt)"
        if arrow.column_names[:2 + len(parameters)] != ["point", "key", *parameters]:
            return None, "was stored by a sweep with other parameters"
        frame = pd.read_parquet(io.BytesIO(data))
        frame["point"] = task.index  # the same point may sit elsewhere in another design
        return frame, ""

    def valid(self, tasks: list[Task], parameters: list[str]) -> dict[str, pd.DataFrame]:
        """The stored points of `tasks` that pass their checks; a warning for each that
        does not (it is computed again)."""
        stored, found = self.finished(), {}
        for task in tasks:
            if task.key not in stored or task.key in found:
                continue
            frame, why = self.read(task, parameters)
            if frame is None:
                self.warn(f"sweep point {task.index} ({self.path(task.key)}) {why};"
                          " computing it again")
            else:
                found[task.key] = frame
        return found

    def load(self, tasks: list[Task] | None = None,
             parameters: list[str] | None = None) -> pd.DataFrame:
        """Every point of `tasks` (default: every stored file, unchecked), sorted by point."""
        if tasks is None:
            files = sorted(self.dir.glob("*.parquet"))
            frames = [pd.read_parquet(f) for f in files]
        else:
            found = self.valid(tasks, parameters or [])
            lost = [t for t in tasks if t.key not in found]
            if lost:
                raise WriteError(self.path(lost[0].key), OSError("not readable after writing"),
                                 KEPT)
            frames = [found[t.key] for t in {t.key: t for t in tasks}.values()]
        table = pd.concat(frames, ignore_index=True)
        return table.sort_values(["point", "metric"], kind="stable", ignore_index=True)


def plan(sweep: Sweep) -> list[Task]:
    tasks = []
    for i, point in enumerate(sweep.points):
        scenario = sweep.scenario(point)
        tasks.append(Task(i, sweep.key(scenario), point, scenario.to_dict()))
    return tasks


def run_sweep(
    sweep: Sweep,
    out_dir: Path,
    executor: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int], None] | None = None,
    warn: Callable[[str], None] = _stderr,
) -> pd.DataFrame:
    """Run every point not yet written (or whose file fails its checks); return all points'
    rows, sorted by point."""
    check_executor(executor)
    store = PointStore(out_dir, warn)
    tasks = plan(sweep)
    done = store.valid(tasks, sweep.parameters)
    todo = [t for t in {t.key: t for t in tasks}.values() if t.key not in done]
    if progress and len(todo) < len(tasks):
        progress(len(tasks) - len(todo))
    spec = sweep.spec
    args = (spec.reps, spec.seed, spec.engine, spec.metrics)
    runner = {"serial": _serial, "local": _local_pool, "dask": _dask}[executor]
    for task, table in runner(todo, args, workers, scheduler):
        store.write(task, table, sweep.parameters)
        if progress:
            progress(1)
    return store.load(tasks, sweep.parameters)


def check_executor(executor: str, scheduler: str | None = None) -> None:
    """Refuse, before any work, an unknown executor, a missing optional dependency or (when
    `scheduler` is given) a Dask scheduler that cannot be reached within a few seconds."""
    if executor not in EXECUTORS:
        raise InputError("unknown executor", field="--executor", value=executor,
                         allowed=", ".join(EXECUTORS))
    if executor != "dask":
        return
    _import_dask()
    if scheduler:
        _connect(scheduler).close()


def _import_dask():
    try:
        # optional (the sweep extra); by its full name, so that a missing dask.distributed is
        # seen even when dask itself is loaded
        import dask.distributed as distributed  # noqa: PLC0415, PLR0402
    except ImportError:
        raise InputError("the dask executor needs dask.distributed, which is not installed",
                         field="--executor", value="dask",
                         allowed="pip install 'ccsim[sweep]', or --executor local") from None
    return distributed


def _connect(scheduler: str):
    distributed = _import_dask()
    try:
        return distributed.Client(scheduler, timeout=SCHEDULER_TIMEOUT_S)
    except (OSError, TimeoutError) as exc:
        problem = f"cannot reach the Dask scheduler ({exc})"
    except (ValueError, TypeError) as exc:
        problem = f"not a Dask scheduler address ({exc})"
    raise InputError(problem, field="--scheduler", value=scheduler,
                     allowed="the address of a running scheduler, e.g. tcp://HOST:8786, or no"
                             " --scheduler for a local cluster")


def _serial(tasks, args, workers, scheduler) -> Iterator[tuple[Task, pd.DataFrame]]:
    for task in tasks:
        yield task, run_point(task.scenario, *args)


def _local_pool(tasks, args, workers, scheduler) -> Iterator[tuple[Task, pd.DataFrame]]:
    if not tasks:
        return
    with cf.ProcessPoolExecutor(max_workers=workers, initializer=die_with_parent,
                                initargs=(os.getpid(),)) as pool:
        futures = {pool.submit(run_point, t.scenario, *args): t for t in tasks}
        try:
            for future in cf.as_completed(futures):
                yield futures[future], future.result()
        except BaseException:  # Ctrl-C, a failed write: stop now, not after every point
            stop_pool(pool)
            raise


def _dask(tasks, args, workers, scheduler) -> Iterator[tuple[Task, pd.DataFrame]]:
    """dask.distributed: a LocalCluster of processes unless a scheduler address is given.
    A LocalCluster's workers are dask's own: they end within seconds of this process, even
    when it is killed outright (they watch the process that started them)."""
    distributed = _import_dask()
    if not tasks:
        return
    if scheduler:
        client, cluster = _connect(scheduler), None
    else:
        cluster = distributed.LocalCluster(n_workers=workers or 2, threads_per_worker=1,
                                           processes=True, dashboard_address=None)
        client = distributed.Client(cluster)
    try:
        futures = {client.submit(run_point, t.scenario, *args, pure=False): t for t in tasks}
        for future in distributed.as_completed(futures):
            yield futures[future], future.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
