"""Policy levers: dated, optionally ramped changes to how cases are handled.

A lever sets scenario fields from a date, e.g. faster CPS decisions from April 2022 ramped
over six months. Levers act on *cases received* from their date (a case keeps the rules in
force when it arrived); capacities and demand already change by their own dated steps.
Ramps move numbers linearly, month by month, reaching the new value in the ramp's last month.

The months of a run fall into a few *regimes* (distinct sets of lever fractions); each regime
is a complete, validated scenario, and `sim.engine.cases` draws each case from its month's regime.
"""

from __future__ import annotations

import copy
import reprlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.model.fields import get_path, set_path
from sim.model.timeline import Timeline

# Levers change case handling; capacity and demand have dated steps of their own.
LEVER_ROOTS = ("assessment", "iopc_referral", "pools", "cps", "proceedings", "officers")
NOT_LEVERS = ("staff", "cases_per_staff", "training_lag_days", "panels",
              "cost_per_officer_year_gbp")


def lever_path_problem(path: str, data: dict[str, Any]) -> str | None:
    """Why `path` cannot be a lever (None if it can)."""
    parts = path.split(".")
    if parts[0] not in LEVER_ROOTS:
        return (f"'{path}' is not a case-handling field; levers may set fields under "
                f"{', '.join(LEVER_ROOTS)} (demand and staff change by their dated steps)")
    if any(p in NOT_LEVERS for p in parts):
        return f"'{path}' is a capacity or cost: change it with dated staff steps instead"
    node: Any = data
    for p in parts:
        if not isinstance(node, dict) or p not in node:
            return f"'{path}' does not name a field of the scenario"
        node = node[p]
    return None


class RampError(ValueError):
    """A lever's value that cannot be reached by a ramp; `path` names the field."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


def blend(old: Any, new: Any, f: float, path: str = "") -> Any:
    """`old` moved a fraction `f` of the way to `new` (numbers, distributions, lists)."""
    if f >= 1 or old == new:
        return new
    if f <= 0:
        return old
    if isinstance(old, bool) or isinstance(new, bool):
        return new if f >= 0.5 else old
    if isinstance(old, int | float) and isinstance(new, int | float):
        return old + (new - old) * f
    if isinstance(old, dict) and isinstance(new, dict):
        if old.get("dist") != new.get("dist"):
            raise RampError(path, "a ramp cannot change the kind of distribution"
                            f" ({old.get('dist')} to {new.get('dist')}); use ramp_months: 0")
        return {k: blend(old.get(k, v), v, f, f"{path}.{k}") for k, v in new.items()}
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [blend(a, b, f, path) for a, b in zip(old, new, strict=True)]
    raise RampError(path, f"cannot ramp from {reprlib.repr(old)} to {reprlib.repr(new)};"
                    " use ramp_months: 0")


def lever_fraction(lever_month: int, ramp_months: int, month: int) -> float:
    """How far a lever has moved by simulated month `month` (0 before, 1 when complete)."""
    k = month - lever_month
    if k < 0:
        return 0.0
    return 1.0 if ramp_months == 0 else min(1.0, (k + 1) / ramp_months)


def applied(base: dict[str, Any], levers: list[dict[str, Any]], fractions: tuple) -> dict:
    """The scenario dict with each lever applied to the given fraction, in order."""
    out = copy.deepcopy(base)
    out["levers"] = []
    for lever, f in zip(levers, fractions, strict=True):
        if f <= 0:
            continue
        for path, value in lever["set"].items():
            set_path(out, path, blend(get_path(out, path), value, f, path))
    return out


@dataclass(frozen=True)
class Regimes:
    """The distinct rule sets of a run and which one each simulated month follows."""

    scenarios: list  # list[Scenario]
    of_month: np.ndarray  # regime index per simulated month
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def cached(self, key: str, make):
        """A value computed once per run (e.g. expected arrivals), reused by every replication."""
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    @classmethod
    def for_scenario(cls, scenario, timeline: Timeline) -> Regimes:
        months = len(timeline.month_edges) - 1
        if not scenario.levers:
            return cls([scenario], np.zeros(months, dtype=np.int64))
        from sim.model.scenario import scenario_from_dict

        base = scenario.to_dict()
        levers = base["levers"]
        starts = [timeline.month_starts.index(lv.from_) if lv.from_ in timeline.month_starts
                  else (0 if lv.from_ < timeline.month_starts[0] else months)
                  for lv in scenario.levers]
        keys = [tuple(lever_fraction(s, lv.ramp_months, m)
                      for s, lv in zip(starts, scenario.levers, strict=True))
                for m in range(months)]
        distinct = sorted(set(keys), key=keys.index)
        index = {k: i for i, k in enumerate(distinct)}
        regimes = [scenario_from_dict(applied(base, levers, k)) for k in distinct]
        return cls(regimes, np.array([index[k] for k in keys], dtype=np.int64))
