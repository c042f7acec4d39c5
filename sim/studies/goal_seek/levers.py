"""The lever a goal-seek moves: a dotted field path (dated steps from a date), and its
plain name for a planner."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sim.errors import InputError
from sim.model.fields import expand, get_path, values_at
from sim.model.scenario import Scenario
from sim.studies.sweep.design import path_problem

# --------------------------------------------------------------------------- plain names

#: What a planner calls the levers the shipped scenarios, sweeps and brief move: a template
#: for a value ("{} IOPC investigators for Met cases") and the plain noun. Other paths are
#: written as themselves ("pools.x.y = 3").
LEVER_NAMES: dict[str, tuple[str, str]] = {
    "pools.iopc.staff": ("{} IOPC investigators for Met cases",
                         "IOPC investigators for Met cases"),
    "pools.iopc.staff.*.value": ("{} IOPC investigators for Met cases",
                                 "IOPC investigators for Met cases"),
    "pools.dps.staff": ("{} DPS investigators", "DPS investigators"),
    "pools.psu.staff": ("{} local (PSU) investigators", "local (PSU) investigators"),
    "proceedings.panels.staff": ("{} misconduct panels (legally qualified chairs)",
                                 "misconduct panels"),
    "pools.iopc.cases_per_staff": ("{} investigations led at once by each IOPC investigator",
                                   "investigations each IOPC investigator leads at once"),
    "pools.dps.cases_per_staff": ("{} cases carried at once by each DPS investigator",
                                  "cases each DPS investigator carries"),
    "pools.psu.cases_per_staff": ("{} cases carried at once by each PSU investigator",
                                  "cases each PSU investigator carries"),
    "cps.decision_days.mean": ("a mean CPS charging decision time of {} days",
                               "the CPS's mean charging decision time"),
    "iopc_referral.assessment_days.mean": ("a mean IOPC decision time of {} days",
                                           "the IOPC's mean decision time"),
}


def lever_name(path: str) -> str:
    """The lever as a planner names it ("IOPC investigators for Met cases"), else its path."""
    return LEVER_NAMES[path][1] if path in LEVER_NAMES else path


def lever_phrase(path: str, value: float) -> str:
    """A lever value in words ("34 IOPC investigators for Met cases"), else "path = 34"."""
    template = LEVER_NAMES[path][0] if path in LEVER_NAMES else f"{path} = {{}}"
    return template.format(f"{value:g}")


# --------------------------------------------------------------------------- levers


def _is_steps(node: Any) -> bool:
    return isinstance(node, list) and bool(node) and all(
        isinstance(s, dict) and set(s) == {"from", "value"} for s in node)


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


@dataclass(frozen=True)
class SearchLever:
    """A numeric scenario field the search moves: a dotted path, and for dated steps the
    date from which the searched value holds."""

    path: str
    from_date: dt.date | None = None

    def check(self, data: dict[str, Any]) -> None:
        problem = path_problem(data, self.path)
        if problem:
            raise InputError(problem, field="--lever", value=self.path,
                             allowed="a dotted path to a number or to dated steps, e.g."
                             " pools.iopc.staff or pools.iopc.cases_per_staff")
        for node in values_at(data, self.path):
            numeric = isinstance(node, int | float) and not isinstance(node, bool)
            if not (numeric or _is_steps(node)):
                raise InputError("the lever must name a number or a list of dated steps",
                                 field="--lever", value=self.path,
                                 allowed="e.g. pools.iopc.staff, pools.iopc.cases_per_staff")

    def current(self, data: dict[str, Any], start: dt.date) -> float:
        """The lever's value now (for steps: the step in force on the lever's date)."""
        node = values_at(data, self.path)[0]
        if _is_steps(node):
            when = self.from_date or start
            in_force = [s for s in node if _as_date(s["from"]) <= when] or node[:1]
            return float(in_force[-1]["value"])
        return float(node)

    def changes(self, data: dict[str, Any], value: float, start: dt.date) -> dict[str, Any]:
        """The field changes that set the lever to `value` in the scenario data `data`: the
        number itself, or for dated steps each list with a step from the lever's date."""
        nodes = values_at(data, self.path)
        if not (nodes and _is_steps(nodes[0])):
            return {self.path: value}
        when = self.from_date or start
        step = {"from": when.isoformat(), "value": value}
        return {path: [*(s for s in get_path(data, path) if _as_date(s["from"]) < when), step]
                for path in expand(data, self.path)}

    def scenario_at(self, scenario: Scenario, value: float,
                    changes: Mapping[str, Any] | None = None) -> Scenario:
        """`scenario` with the lever set to `value` (and any other `changes`, e.g. a name)."""
        return scenario.with_changes(
            {**self.changes(scenario.to_dict(), value, scenario.start), **(changes or {})},
            source=f"{scenario.name} with {self.path} = {value:g}")


