"""Regimes: the distinct rule sets a run's levers produce, and which one each month follows.

A lever moves case-handling fields from its date, perhaps ramped (`sim.model.levers`); the
months of a run then fall into a few distinct sets of lever fractions. Each is derived once
as a complete, validated scenario, and every case is drawn under its arrival month's regime.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.model.levers import case_rules, lever_changes, lever_fraction
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
        if not scenario.levers and not scenario.earlier_rules:
            return cls([scenario], np.zeros(months, dtype=np.int64))
        base = scenario.to_dict()

        def month(day: dt.date) -> int:
            """The simulated month a date begins (0 before the first, `months` after)."""
            if day in timeline.month_starts:
                return timeline.month_starts.index(day)
            return 0 if day < timeline.month_starts[0] else months

        # earlier rules are levers on from the first month until their date, applied first
        spans: list[tuple[int, int, int | None]] = [(0, 0, month(r.until))
                                                     for r in scenario.earlier_rules]
        spans += [(month(lv.from_), lv.ramp_months, None if lv.until is None else month(lv.until))
                  for lv in scenario.levers]
        keys = [tuple(lever_fraction(s, ramp, m, end) for s, ramp, end in spans)
                for m in range(months)]
        distinct = sorted(set(keys), key=keys.index)
        index = {k: i for i, k in enumerate(distinct)}
        regimes = [scenario.with_changes(lever_changes(base, case_rules(base), k),
                                         source=f"{scenario.name} (levers at {k})")
                   for k in distinct]
        return cls(regimes, np.array([index[k] for k in keys], dtype=np.int64))


__all__ = ["Regimes"]
