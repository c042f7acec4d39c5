"""What an option's extra staff cost: one costing for the brief and the what-if page.

An option may add IOPC, DPS or PSU investigators, hearing panels or hearing rooms (dated
steps). Each
is counted as the scenario's engines read its steps (`Timeline.in_force`, so a step's date
matters to the day) and costed per staff-year:

* an IOPC investigator at the brief file's figure (the IOPC's budget per staff member,
  S-25 / T04-01);
* a DPS or PSU investigator at the average total cost of a Met officer (S-26), an
  ASSUMPTION: they are mostly officers, and no figure gives a Met investigator's cost;
* a hearing panel (a chair) or a hearing room is not costed: no figure gives a chair's, a
  panel's or a room's cost, so its change is reported as uncosted, never as free.

Restricted officers work (on restricted duties), so they carry no extra pay to cost; the
pay of suspended officers is a metric of the run (`cost.suspended_gbp_per_year`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.model.scenario import Scenario
from sim.model.timeline import Timeline

#: staffed capacities an option may change, with what a planner calls them
STAFFED = {
    "pools.iopc.staff": "IOPC investigators",
    "pools.dps.staff": "DPS investigators",
    "pools.psu.staff": "PSU investigators",
    "proceedings.panels.staff": "hearing panels",
    "proceedings.sittings.rooms": "hearing rooms",
}
NO_PANEL_COST = "not costed: no published figure gives a chair's or a panel's cost"
NO_ROOM_COST = "not costed: no published figure gives a hearing room's cost"


@dataclass(frozen=True)
class StaffCost:
    """The cost of a staff-year of one staffed capacity, and where it comes from."""

    path: str
    what: str
    gbp_per_year: float  # NaN: no published cost
    basis: str

    @property
    def costed(self) -> bool:
        return math.isfinite(self.gbp_per_year)


def staff_costs(scenario: Scenario, iopc_gbp_per_year: float) -> list[StaffCost]:
    """Each staffed capacity's cost per staff-year (GBP), in `STAFFED`'s order."""
    officer = scenario.officers.cost_per_officer_year_gbp
    return [
        StaffCost("pools.iopc.staff", STAFFED["pools.iopc.staff"], iopc_gbp_per_year,
                  "IOPC budget per staff-year (S-25, T04-01; briefs/rec7.yaml)"),
        StaffCost("pools.dps.staff", STAFFED["pools.dps.staff"], officer,
                  "ASSUMPTION: a DPS investigator costs an average Met officer (S-26)"),
        StaffCost("pools.psu.staff", STAFFED["pools.psu.staff"], officer,
                  "ASSUMPTION: a PSU investigator costs an average Met officer (S-26)"),
        StaffCost("proceedings.panels.staff", STAFFED["proceedings.panels.staff"], math.nan,
                  NO_PANEL_COST),
        StaffCost("proceedings.sittings.rooms", STAFFED["proceedings.sittings.rooms"],
                  math.nan, NO_ROOM_COST),
    ]


def head_count(scenario: Scenario, path: str, timeline: Timeline, first_day: float,
               end_day: float) -> float:
    """Mean head count of a staff-steps field over days [first_day, end_day) of the clock,
    as the engines read the steps (0 where the field is unset: no sittings, no rooms)."""
    steps: Any = scenario
    for name in path.split("."):
        steps = getattr(steps, name, None)
        if steps is None:
            return 0.0
    return float(timeline.in_force(steps, np.arange(first_day, end_day) + 0.5).mean())


def staff_by_year(scenario: Scenario, path: str, timeline: Timeline) -> np.ndarray:
    """Mean head count of a staff-steps field in each fiscal year of the forecast."""
    return np.array([head_count(scenario, path, timeline, lo, hi)
                     for _, lo, hi in timeline.fiscal_years])


@dataclass(frozen=True)
class ExtraStaff:
    """Staff an option has beyond its base, per fiscal year, and what they cost."""

    cost: StaffCost
    extra: np.ndarray  # staff above the base, mean over each fiscal year

    @property
    def gbp(self) -> np.ndarray:
        """Their cost per fiscal year (NaN where the capacity is not costed)."""
        return self.extra * self.cost.gbp_per_year


def extra_staff(option: Scenario, base: Scenario, timeline: Timeline,
                iopc_gbp_per_year: float) -> list[ExtraStaff]:
    """Every staffed capacity's change from `base` to `option`, by fiscal year."""
    return [ExtraStaff(c, staff_by_year(option, c.path, timeline)
                       - staff_by_year(base, c.path, timeline))
            for c in staff_costs(option, iopc_gbp_per_year)]


def costed_total(lines: list[ExtraStaff]) -> np.ndarray:
    """The cost per fiscal year of the costed changes (uncosted ones are left out; see
    `uncosted`)."""
    total = np.zeros_like(lines[0].extra) if lines else np.zeros(0)
    for line in lines:
        if line.cost.costed:
            total = total + line.gbp
    return total


def uncosted(lines: list[ExtraStaff]) -> list[ExtraStaff]:
    """The changes with no published cost, so a total is never read as complete."""
    return [line for line in lines if not line.cost.costed and np.any(line.extra != 0)]


__all__ = ["NO_PANEL_COST", "NO_ROOM_COST", "STAFFED", "ExtraStaff", "StaffCost", "costed_total",
           "extra_staff", "head_count", "staff_by_year", "staff_costs", "uncosted"]
