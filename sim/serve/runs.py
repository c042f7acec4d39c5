"""The page's simulations: a request checked whole, then run in stages, one at a time.

A request names a base scenario, the controls' settings, replications and a seed. The option
(the base with the settings applied) and the base run with the same seed, so every stage is
a paired comparison (`sim.studies.compare`), exactly what `ccsim compare --fixed-parameters`
gives for that many replications: the page holds the fitted parameters at their calibrated
values, for speed. Stages rise (50, 200, then all): a first answer in a fraction of a second,
refined as more replications finish. A newer request from the same browser session stops the
one in flight at its next chunk; the base's stages are kept, so moving a lever reruns the
option only.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.engine.engines import DEFAULT_ENGINE
from sim.engine.run import MAX_SEED, RunResult, check_run, fixed_for_speed, run_in_stages
from sim.errors import InputError
from sim.files.shipped import shipped_path
from sim.model.scenario import Scenario, load_scenario
from sim.serve.controls import apply_settings, parse_settings
from sim.studies.compare import Comparison, check_comparable

#: replications a page may ask for: enough for tight paired intervals, few enough for seconds
MIN_REPS, DEFAULT_REPS, MAX_REPS = 20, 400, 2000
#: the first answers' replications (then the request's own count)
FIRST_STAGES = (50, 200)
#: base runs kept (scenario, seed, replications): a lever moved reruns the option only
BASE_RUNS_KEPT = 32
#: browser sessions whose latest answer is kept for its downloads (the oldest dropped)
SESSIONS_KEPT = 16
#: the page's fitted parameters: fixed, so an answer comes in about a second
PARAMETERS = fixed_for_speed("the what-if page does")
#: the shipped scenarios a page can start from (the order of its list)
BASES = ("baseline", "police_uplift", "police_uplift_low", "police_uplift_high",
         "rec7_in_line", "iopc_flat_cash", "package_rec7_plus", "dps_uplift", "psu_uplift",
         "hearings_capacity", "cps_faster", "early_contact_scaled", "rec1_threshold",
         "rec2_fast_removal")


def base_file(name: str) -> Path:
    return shipped_path(f"scenarios/{name}.yaml")


def load_base(name: Any) -> Scenario:
    if name not in BASES:
        raise InputError("not a shipped scenario", field="base", value=name,
                         allowed=", ".join(BASES))
    return load_scenario(base_file(name))


def stages_for(reps: int) -> list[int]:
    """The replication counts shown in turn: the first stages below `reps`, then `reps`."""
    return [n for n in FIRST_STAGES if n < reps] + [reps]


@dataclass(frozen=True)
class Request:
    """A page's question, checked whole: the base, the option, replications and seed."""

    base: Scenario
    option: Scenario
    reps: int
    seed: int
    engine: str = DEFAULT_ENGINE

    @staticmethod
    def parse(raw: Any) -> Request:
        """From the page's JSON; an InputError names the control or field at fault."""
        if not isinstance(raw, Mapping):
            raise InputError("the request must be an object", field="request", value=raw,
                             allowed="{base, controls, reps, seed}")
        base = load_base(raw.get("base", "baseline"))
        reps = _whole(raw.get("reps", DEFAULT_REPS), "reps", MIN_REPS, MAX_REPS)
        seed = _whole(raw.get("seed", 1), "seed", 0, MAX_SEED)
        option = apply_settings(base, parse_settings(raw.get("controls", {})))
        check_comparable(base, option, option.name)
        check_run([base, option], reps, seed, sources=[base.name, option.name])
        return Request(base, option, reps, seed)


def _whole(value: Any, name: str, low: int, high: int) -> int:
    ok = (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, float) and value.is_integer())
    if not ok or not low <= value <= high:
        raise InputError("out of range", field=name, value=value,
                         allowed=f"a whole number from {low:,} to {high:,}")
    return int(value)


class BaseRuns:
    """Base runs by (scenario, seed, replications), the most recent few kept."""

    def __init__(self, kept: int = BASE_RUNS_KEPT) -> None:
        self._runs: OrderedDict[tuple[str, int, int], RunResult] = OrderedDict()
        self._kept = kept
        self._lock = threading.Lock()

    def get(self, scenario: Scenario, seed: int, reps: int) -> RunResult | None:
        with self._lock:
            key = (scenario.digest(), seed, reps)
            run = self._runs.get(key)
            if run is not None:
                self._runs.move_to_end(key)
            return run

    def put(self, run: RunResult) -> None:
        with self._lock:
            self._runs[(run.scenario.digest(), run.seed, run.reps)] = run
            while len(self._runs) > self._kept:
                self._runs.popitem(last=False)


def comparisons(request: Request, base_runs: BaseRuns,
                stop: Callable[[], bool] | None = None) -> Iterator[Comparison]:
    """The paired comparison after each stage of `stages_for(request.reps)` (raises
    `sim.engine.run.Stopped` when `stop` says so). The option's own base, unchanged, is
    compared with itself: every difference zero."""
    base_so_far = option_so_far = None
    same = request.option.digest() == request.base.digest()
    for reps in stages_for(request.reps):
        base = base_runs.get(request.base, request.seed, reps)
        if base is None:
            base = next(run_in_stages(request.base, [reps], request.seed, request.engine,
                                      stop=stop, so_far=base_so_far, parameters=PARAMETERS))
            base_runs.put(base)
        option = base if same else next(run_in_stages(
            request.option, [reps], request.seed, request.engine, stop=stop,
            so_far=option_so_far, parameters=PARAMETERS))
        base_so_far, option_so_far = base, option
        yield Comparison(base, [option])


@dataclass
class Latest:
    """A session's latest answer: its request and the comparison at its last stage."""

    request: Request
    comparison: Comparison
    complete: bool
    files: dict[str, bytes] | None = None  # the downloads, once made


class Sessions:
    """One simulation at a time per browser session: `begin` makes a request the session's
    current one, and any earlier one stops (`current` turns False for it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: dict[str, int] = {}
        self._latest: OrderedDict[str, Latest] = OrderedDict()
        self._count = 0

    def begin(self, session: str) -> int:
        with self._lock:
            self._count += 1
            self._current[session] = self._count
            return self._count

    def current(self, session: str, ticket: int) -> bool:
        with self._lock:
            return self._current.get(session) == ticket

    def answered(self, session: str, ticket: int, latest: Latest) -> None:
        with self._lock:
            if self._current.get(session) == ticket:
                self._latest[session] = latest
                self._latest.move_to_end(session)
                while len(self._latest) > SESSIONS_KEPT:
                    dropped, _ = self._latest.popitem(last=False)
                    self._current.pop(dropped, None)

    def latest(self, session: str) -> Latest | None:
        with self._lock:
            return self._latest.get(session)


__all__ = ["BASES", "DEFAULT_REPS", "MAX_REPS", "MIN_REPS", "PARAMETERS", "BaseRuns", "Latest",
           "Request", "Sessions", "base_file", "comparisons", "load_base", "stages_for"]
