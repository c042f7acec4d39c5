"""Regimes: the distinct rule sets a run's levers produce, and which one each month follows.

A lever moves case-handling fields from its date, perhaps ramped (`sim.model.levers`); the
months of a run then fall into a few distinct sets of lever fractions. Each is derived once
as a complete, validated scenario, and every case is drawn under its arrival month's regime.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.model.levers import lever_changes, lever_fraction
from sim.model.scenario import Scenario
from sim.model.timeline import Timeline


@dataclass(frozen=True)
class Regimes:
    """The distinct rule sets of a run and which one each simulated month follows."""

    scenarios: list[Scenario]
    of_month: np.ndarray  # regime index per simulated month
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def cached(self, key: str, make: Callable[[], Any]) -> Any:
        """A value computed once per run (e.g. expected arrivals), reused by every replication."""
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    @classmethod
    def for_scenario(cls, scenario: Scenario, timeline: Timeline) -> Regimes:
        months = len(timeline.month_edges) - 1
        if not scenario.levers:
            return cls([scenario], np.zeros(months, dtype=np.int64))
        base = scenario.to_dict()
        starts = [timeline.month_starts.index(lv.from_) if lv.from_ in timeline.month_starts
                  else (0 if lv.from_ < timeline.month_starts[0] else months)
                  for lv in scenario.levers]
        keys = [tuple(lever_fraction(s, lv.ramp_months, m)
                      for s, lv in zip(starts, scenario.levers, strict=True))
                for m in range(months)]
        distinct = sorted(set(keys), key=keys.index)
        index = {k: i for i, k in enumerate(distinct)}
        regimes = [scenario.with_changes(lever_changes(base, base["levers"], k),
                                         source=f"{scenario.name} (levers at {k})")
                   for k in distinct]
        return cls(regimes, np.array([index[k] for k in keys], dtype=np.int64))


__all__ = ["Regimes"]
