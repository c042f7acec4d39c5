"""Run a sweep: every point of a design, serially, on a local process pool or on Dask.

Each point is an independent run of `run_scenario` with the sweep's seed (so points share
random numbers: differences between points are not masked by noise). A finished point is
written at once as its own Parquet file named by its key (a hash of its resolved scenario
and run settings); rerunning the same sweep skips every point already written, so an
interrupted sweep resumes where it stopped and ends with the same results.
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim.atomic import write_with
from sim.errors import InputError
from sim.run import run_scenario
from sim.scenario import Scenario
from sim.summarise import summary_table
from sim.sweep_design import Sweep

EXECUTORS = ("local", "dask", "serial")


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


class PointStore:
    """One Parquet file per finished point under `points/`, written atomically."""

    def __init__(self, out_dir: Path) -> None:
        self.dir = out_dir / "points"

    def finished(self) -> set[str]:
        return {p.stem for p in self.dir.glob("*.parquet")} if self.dir.exists() else set()

    def write(self, task: Task, table: pd.DataFrame, parameters: list[str]) -> None:
        rows = table.copy()
        rows.insert(0, "point", task.index)
        rows.insert(1, "key", task.key)
        for j, name in enumerate(parameters):
            rows.insert(2 + j, name, task.point.get(name))
        self.dir.mkdir(parents=True, exist_ok=True)
        write_with(self.dir / f"{task.key}.parquet",
                   lambda tmp: rows.to_parquet(tmp, index=False))

    def load(self) -> pd.DataFrame:
        files = sorted(self.dir.glob("*.parquet"))
        table = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
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
) -> pd.DataFrame:
    """Run every point not yet written; return all points' rows, sorted by point."""
    if executor not in EXECUTORS:
        raise InputError("unknown executor", field="--executor", value=executor,
                         allowed=", ".join(EXECUTORS))
    store = PointStore(out_dir)
    tasks = plan(sweep)
    done = store.finished()
    todo = [t for t in tasks if t.key not in done]
    if progress and len(todo) < len(tasks):
        progress(len(tasks) - len(todo))
    spec = sweep.spec
    args = (spec.reps, spec.seed, spec.engine, spec.metrics)
    runner = {"serial": _serial, "local": _local_pool, "dask": _dask}[executor]
    for task, table in runner(todo, args, workers, scheduler):
        store.write(task, table, sweep.parameters)
        if progress:
            progress(1)
    wanted = {t.key for t in tasks}
    table = store.load()
    return table[table.key.isin(wanted)].reset_index(drop=True)


def _serial(tasks, args, workers, scheduler) -> Iterator[tuple[Task, pd.DataFrame]]:
    for task in tasks:
        yield task, run_point(task.scenario, *args)


def _local_pool(tasks, args, workers, scheduler) -> Iterator[tuple[Task, pd.DataFrame]]:
    if not tasks:
        return
    with cf.ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(run_point, t.scenario, *args): t for t in tasks}
        for future in cf.as_completed(futures):
            yield futures[future], future.result()


def _dask(tasks, args, workers, scheduler) -> Iterator[tuple[Task, pd.DataFrame]]:
    """dask.distributed: a LocalCluster of processes unless a scheduler address is given."""
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise InputError("the dask executor needs dask.distributed",
                         allowed="pip install 'ccsim[sweep]', or --executor local") from None
    if not tasks:
        return
    if scheduler:
        client, cluster = Client(scheduler), None
    else:
        cluster = LocalCluster(n_workers=workers or 2, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    try:
        futures = {client.submit(run_point, t.scenario, *args, pure=False): t for t in tasks}
        for future in as_completed(futures):
            yield futures[future], future.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
