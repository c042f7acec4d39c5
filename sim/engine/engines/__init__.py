"""The engines: `compiled` (numba, the default) and `des` (SimPy, the readable reference).

Both measure a chunk of replications from the same draws; `tests/test_engines.py` checks that
they agree case by case and in distribution.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from sim.errors import InputError

if TYPE_CHECKING:  # the engines load numba and SimPy: only a run pays for them, not --help
    from sim.engine.metrics import Measured
    from sim.engine.records import Records
    from sim.engine.regimes import Regimes
    from sim.model.scenario import Scenario
    from sim.model.timeline import Timeline


class Engine(Protocol):
    name: str

    def check(self, scenario: Scenario) -> None:
        """Refuse (InputError) a scenario feature this engine does not support."""

    def measure(self, scenario: Scenario, timeline: Timeline, regimes: Regimes,
                replications: range, seed: int) -> Measured:
        """Every metric of each replication numbered in `replications`."""


ENGINES = ("compiled", "des")
DEFAULT_ENGINE = "compiled"  # agrees with the DES case by case (tests/test_engines.py)
RETIRED = {"mc": "the vectorised NumPy engine (mc) was retired: the compiled engine replaces it"}


def get_engine(name: str, scenario: Scenario | None = None) -> Engine:
    """An engine by name; with `scenario`, refuse a feature the engine does not support."""
    if not isinstance(name, str) or name not in ENGINES:
        reason = RETIRED.get(name, "unknown engine") if isinstance(name, str) else "unknown engine"
        raise InputError(reason, field="engine", value=name, allowed=", ".join(ENGINES))
    engine: Engine
    if name == "compiled":
        from sim.engine.engines.compiled import CompiledEngine
        engine = CompiledEngine()
    else:
        from sim.engine.engines.des import DesEngine
        engine = DesEngine()
    if scenario is not None:
        engine.check(scenario)
    return engine


def case_records(name: str, scenario: Scenario, timeline: Timeline, seed: int,
                 replications: range) -> Records:
    """Every case's times from an engine, case by case (tests, and the DES comparison): the
    DES simulates the kernel's draws; the compiled kernel runs in its records mode."""
    from sim.engine.engines import compiled
    from sim.engine.engines.des import DesEngine
    from sim.engine.regimes import Regimes

    get_engine(name, scenario)
    if name == "compiled":
        return compiled.records(scenario, timeline, seed, replications)
    regimes = Regimes.for_scenario(scenario, timeline)
    draws = [compiled.draw_replication(scenario, timeline, seed, r, regimes) for r in replications]
    return DesEngine().simulate(scenario, timeline, draws)


__all__ = ["DEFAULT_ENGINE", "ENGINES", "Engine", "case_records", "get_engine"]
