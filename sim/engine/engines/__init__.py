"""The engines: `des` (SimPy, the readable reference) and `mc` (vectorised NumPy)."""

from __future__ import annotations

from sim.errors import InputError
from sim.model.scenario import Scenario

ENGINES = ("des", "mc")
DEFAULT_ENGINE = "mc"  # agrees with the DES case by case (tests/test_engines.py)


def get_engine(name: str, scenario: Scenario | None = None):
    """An engine by name; the vectorised one may refuse features it does not support."""
    if name == "des":
        from sim.engine.engines.des import DesEngine

        return DesEngine()
    if name == "mc":
        from sim.engine.engines.mc import McEngine

        engine = McEngine()
        if scenario is not None and hasattr(engine, "check"):
            engine.check(scenario)
        return engine
    raise InputError("unknown engine", field="engine", value=name,
                     allowed=", ".join(ENGINES))
