"""The engines: `des` (SimPy, the readable reference) and `mc` (vectorised NumPy).

Both turn one chunk of replications' case draws into records of when each case reached each
stage; `tests/test_engines.py` checks that they agree case by case.
"""

from __future__ import annotations

from typing import Protocol

from sim.engine.cases import CaseDraws
from sim.engine.engines.des import DesEngine
from sim.engine.engines.mc import McEngine
from sim.engine.records import Records
from sim.errors import InputError
from sim.model.scenario import Scenario
from sim.model.timeline import Timeline


class Engine(Protocol):
    def check(self, scenario: Scenario) -> None:
        """Refuse (InputError) a scenario feature this engine does not support."""

    def simulate(self, scenario: Scenario, timeline: Timeline,
                 draws: list[CaseDraws]) -> Records:
        """The records of every case of every replication in `draws`."""


_ENGINES: dict[str, type[Engine]] = {"des": DesEngine, "mc": McEngine}
ENGINES = tuple(_ENGINES)
DEFAULT_ENGINE = "mc"  # agrees with the DES case by case (tests/test_engines.py)


def get_engine(name: str, scenario: Scenario | None = None) -> Engine:
    """An engine by name; with `scenario`, refuse a feature the engine does not support."""
    if not isinstance(name, str) or name not in _ENGINES:
        raise InputError("unknown engine", field="engine", value=name,
                         allowed=", ".join(ENGINES))
    engine = _ENGINES[name]()
    if scenario is not None:
        engine.check(scenario)
    return engine


__all__ = ["DEFAULT_ENGINE", "ENGINES", "Engine", "get_engine"]
