"""The what-if page's levers, in a planner's units, and how each becomes scenario changes.

Every control turns a value and a month into the same kind of change a scenario file makes:
dated staff steps for investigators and panels, a dated lever for CPS decisions and the Early
Contact Team (levers act on cases received from their date), dated demand steps for growth.
The scenario model then validates the result exactly as it validates a file, so the page
refuses what `ccsim validate` would refuse, with the same message.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from sim.errors import InputError
from sim.files.shipped import shipped_path
from sim.model.scenario import STREAMS, Scenario, load_scenario
from sim.model.timeline import Timeline, add_months, first_of_month
from sim.studies.brief import load_brief_config
from sim.studies.costs import head_count
from sim.studies.goal_seek.levers import SearchLever

#: the month a control acts from unless moved: April 2022, as the brief's options
DEFAULT_FROM = dt.date(2022, 4, 1)
#: the shipped scenario that defines 50% Early Contact Team reach (its lever's shares)
EARLY_CONTACT = "scenarios/early_contact_scaled.yaml"
#: the brief file whose cost of an IOPC investigator-year the page uses
BRIEF = "briefs/rec7.yaml"


@dataclass(frozen=True)
class Control:
    """One lever on the page: what it is called, its unit and range, and what it changes."""

    id: str
    label: str
    unit: str
    low: float
    high: float
    step: float
    help: str
    path: str  # the scenario field it moves (staff steps, a lever's field, demand)
    dated: bool = True  # acts from a month the page asks for (False: the whole run)

    def describe(self) -> dict[str, Any]:
        return asdict(self)


CONTROLS: tuple[Control, ...] = (
    Control("iopc_staff", "IOPC investigators for Met cases", "investigators", 0, 200, 1,
            "Full-time equivalents, each leading two investigations at once.",
            "pools.iopc.staff"),
    Control("dps_staff", "DPS investigators", "investigators", 0, 1000, 5,
            "The Directorate of Professional Standards' investigators.", "pools.dps.staff"),
    Control("psu_staff", "Local (PSU) investigators", "investigators", 0, 1000, 5,
            "Investigators in the 12 BCU professional standards units.", "pools.psu.staff"),
    Control("panels", "Hearing panels (chairs)", "panels", 0, 100, 1,
            "Chairs of misconduct hearings, each listing hearings and sitting in one of the"
            " scenario's hearing rooms (four in the shipped ones).",
            "proceedings.panels.staff"),
    Control("cps_days", "CPS charging decision time (mean)", "days", 1, 730, 5,
            "For cases received from the month chosen.", "cps.decision_days"),
    Control("demand_growth", "Demand growth", "% a year", -50, 100, 1,
            "Complaint and conduct cases a month rise this much a year from the month"
            " chosen (yearly steps), on top of any growth with officer numbers.",
            "demand"),
    Control("early_contact", "Early Contact Team reach", "%", 0, 100, 5,
            "0%: complaints handled as today; 50%: the shipped early_contact_scaled"
            " scenario; 100%: the pilot's 51% resolved outside Schedule 3 (S-08)."
            " Phased in over 12 months, for complaints received from the month chosen.",
            "assessment.complaints"),
    Control("iopc_limit", "IOPC takes a Met referral while its open cases are under",
            "x its slots", 0, 10, 0.05,
            "0: it takes its fixed share whatever its caseload (the shipped scenarios);"
            " 1: only with a free investigator slot; 1.5: with up to half as many waiting."
            " A referral it does not take is directed or returned. No published figure"
            " gives this for Met cases. The whole run, not from a month.",
            "iopc_referral.caseload_limit", dated=False),
)
BY_ID = {c.id: c for c in CONTROLS}
POOL_OF = {"iopc_staff": "iopc", "dps_staff": "dps", "psu_staff": "psu"}


@dataclass(frozen=True)
class Setting:
    """A control's value on the page and the month it acts from."""

    value: float
    start: dt.date


def current_values(scenario: Scenario) -> dict[str, float]:
    """Each control's value in `scenario` at `DEFAULT_FROM` (what the page shows first)."""
    data = scenario.to_dict()
    values = {c.id: SearchLever(c.path, DEFAULT_FROM).current(data, scenario.start)
              for c in CONTROLS if c.path.endswith(".staff")}
    values["cps_days"] = float(data["cps"]["decision_days"].get("mean", math.nan))
    values["demand_growth"] = 0.0
    values["early_contact"] = 0.0
    values["iopc_limit"] = float(scenario.iopc_referral.caseload_limit or 0.0)
    return values


def parse_settings(raw: Any) -> dict[str, Setting]:
    """The page's settings ({id: {value, from: "YYYY-MM"}}), checked for shape; a bad one is
    an InputError naming its control in `field`."""
    if not isinstance(raw, Mapping):
        raise InputError("the settings must be an object", field="controls", value=raw,
                         allowed="{control: {value, from}}")
    out = {}
    for key, item in raw.items():
        control = BY_ID.get(key)
        if control is None:
            raise InputError("not a control of this page", field=str(key), value=key,
                             allowed=", ".join(BY_ID))
        if not isinstance(item, Mapping):
            raise InputError("must give a value and a month", field=key, value=item,
                             allowed="{value: number, from: YYYY-MM}")
        value = _number(item.get("value"), control)
        out[key] = Setting(value, _month(item.get("from"), key))
    return out


def _number(value: Any, control: Control) -> float:
    allowed = f"a number from {control.low:g} to {control.high:g} ({control.unit})"
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InputError("not a number", field=control.id, value=value, allowed=allowed)
    try:
        x = float(value)
    except ValueError:
        raise InputError("not a number", field=control.id, value=value,
                         allowed=allowed) from None
    if not (math.isfinite(x) and control.low <= x <= control.high):
        raise InputError("out of range", field=control.id, value=value, allowed=allowed)
    return x


def _month(value: Any, key: str) -> dt.date:
    if value in (None, ""):
        return DEFAULT_FROM
    try:
        return dt.date.fromisoformat(f"{value}-01" if len(str(value)) == 7 else str(value))
    except ValueError:
        raise InputError("not a month", field=key, value=value,
                         allowed="a month written YYYY-MM, such as 2022-04") from None


def apply_settings(base: Scenario, settings: Mapping[str, Setting]) -> Scenario:
    """The base with every setting that differs from it applied, validated as a file is.
    A refusal names the control whose value the model refused (`InputError.field`)."""
    now = current_values(base)
    moved = {k: s for k, s in settings.items() if not math.isclose(s.value, now[k])}
    if not moved:
        return base
    for key, setting in moved.items():
        if BY_ID[key].dated and not base.start <= setting.start < base.end:
            raise InputError("not a month of the forecast", field=key,
                             value=setting.start.strftime("%Y-%m"),
                             allowed=f"a month from {base.start:%Y-%m} to"
                             f" {add_months(base.end, -1):%Y-%m}")
    for key, setting in moved.items():  # alone first: a refusal then names its control
        try:
            _derived(base, {key: setting})
        except InputError as exc:
            where = f"{exc.field}: " if exc.field else ""
            raise InputError(where + exc.problem, field=key, value=setting.value,
                             allowed=exc.allowed or BY_ID[key].help) from None
    return _derived(base, moved)


def _derived(base: Scenario, moved: Mapping[str, Setting]) -> Scenario:
    data = base.to_dict()
    changes: dict[str, Any] = {}
    levers = list(data["levers"])
    words = []
    for key, s in moved.items():
        control, when = BY_ID[key], first_of_month(s.start)
        words.append(f"{control.label} {s.value:g} {control.unit}"
                     + (f" from {when:%B %Y}" if control.dated else ""))
        if key == "iopc_limit":
            changes["iopc_referral.caseload_limit"] = s.value or None
        elif control.path.endswith(".staff"):
            changes.update(SearchLever(control.path, when).changes(data, s.value, base.start))
        elif key == "cps_days":
            days = dict(data["cps"]["decision_days"])
            if "mean" not in days:
                raise InputError("this scenario's CPS decision time has no mean to change",
                                 field=key, value=days.get("dist"),
                                 allowed="a scenario whose cps.decision_days has a mean")
            levers.append({"name": "CPS decision time (what-if page)", "from": when.isoformat(),
                           "set": {"cps.decision_days": {**days, "mean": s.value}}})
        elif key == "demand_growth":
            changes.update(_growth(data, base, s.value / 100, when))
        else:
            levers.append({"name": "Early Contact Team reach (what-if page)",
                           "from": when.isoformat(), "ramp_months": 12,
                           "set": {"assessment.complaints":
                                   early_contact_shares(data, s.value / 100)}})
    changes["levers"] = levers
    changes["name"] = f"{base.name}_what_if"
    changes["description"] = f"{base.name} with " + "; ".join(words) + " (ccsim serve)."
    return base.with_changes(changes, source=f"{base.name} with the page's settings")


def _growth(data: dict[str, Any], base: Scenario, rate: float,
            when: dt.date) -> dict[str, Any]:
    """Each stream's cases a month from `when` times (1 + rate) ** (k + 0.5) in year k after
    it (each year at its mid-year level), the base's own later steps kept and scaled."""
    end = Timeline.for_scenario(base).end
    out = {}
    for stream in STREAMS:
        steps = data["demand"][stream]["cases_per_month"]
        dates = sorted({dt.date.fromisoformat(s["from"]) for s in steps
                        if dt.date.fromisoformat(s["from"]) > when}
                       | {add_months(when, 12 * k) for k in range(200)
                          if add_months(when, 12 * k) < end})
        kept = [s for s in steps if dt.date.fromisoformat(s["from"]) < when]
        for day in dates:
            in_force = [s for s in steps if dt.date.fromisoformat(s["from"]) <= day] or steps
            years = (day.year - when.year) + (day.month - when.month) / 12
            factor = (1 + rate) ** (math.floor(years + 1e-9) + 0.5)
            kept.append({"from": day.isoformat(), "value": in_force[-1]["value"] * factor})
        out[f"demand.{stream}.cases_per_month"] = kept
    return out


def early_contact_shares(data: dict[str, Any], reach: float) -> dict[str, float]:
    """Complaint shares at an Early Contact Team reach (0 to 1): the base's moved along the
    shipped early_contact_scaled scenario's change, which is reach 0.5 (its lever takes the
    baseline half way to the pilot's 51% outside Schedule 3, S-08)."""
    target, origin = _early_contact_change()
    shares = data["assessment"]["complaints"]
    moved = {k: shares[k] + 2 * reach * (target[k] - origin[k]) for k in shares}
    return {k: round(v, 9) for k, v in moved.items()}


@functools.cache
def _early_contact_change() -> tuple[dict[str, float], dict[str, float]]:
    scaled = load_scenario(shipped_path(EARLY_CONTACT))
    data = scaled.to_dict()
    origin = data["assessment"]["complaints"]
    target = {**origin, **data["levers"][0]["set"]["assessment.complaints"]}
    return target, origin


# --------------------------------------------------------------------------- costs


@functools.cache
def iopc_cost() -> float:
    """An IOPC investigator-year (GBP), as the shipped brief file costs it."""
    return load_brief_config(shipped_path(BRIEF)).cost_per_investigator_year_gbp


def staff_years(scenario: Scenario, path: str) -> float:
    """Mean head count of a staff-steps field over the forecast (as the engines read it)."""
    timeline = Timeline.for_scenario(scenario)
    return head_count(scenario, path, timeline, 0, timeline.horizon_days)


__all__ = [
    "BY_ID",
    "CONTROLS",
    "DEFAULT_FROM",
    "Control",
    "Setting",
    "apply_settings",
    "current_values",
    "early_contact_shares",
    "iopc_cost",
    "parse_settings",
    "staff_years",
]
