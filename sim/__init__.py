"""ccsim: investigative capacity in the London police complaints and conduct system.

The public API (`sim.api`), one function per command:

    import sim
    base = sim.load_scenario("scenarios/baseline.yaml")
    saved = sim.compare([base, "scenarios/rec7_in_line.yaml"], reps=200, out="results/rec7")

The API is imported on first use, so `import sim.engine` (the engines, in worker processes)
loads no pandas, matplotlib or scipy.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from sim.version import __version__

if TYPE_CHECKING:
    from sim.api import (
        Saved,
        brief,
        calibrate,
        compare,
        diff,
        goal_seek,
        load_scenario,
        run,
        sweep,
    )

__all__ = ["Saved", "__version__", "brief", "calibrate", "compare", "diff", "goal_seek",
           "load_scenario", "run", "sweep"]


def __getattr__(name: str) -> Any:
    if name in __all__ and name != "__version__":
        return getattr(import_module("sim.api"), name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
