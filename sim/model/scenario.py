"""The scenario: every assumption of a run, validated, immutable, loaded from YAML.

Units are in the field names: `_days` are calendar days, `_per_month` are cases in an
average month (365.25/12 days), shares are fractions in [0, 1]. A scenario rejects unknown
keys, so a misspelt lever is an error rather than a silent default.

Types are strict where a planner would be surprised: a number is written as a number (not
yes/no, not in quotes), a date as YYYY-MM-DD in the years 1900 to 2200 (not a number of
seconds). Every parameter is bounded (the MAX_ constants below and in sim.model.distributions), so
what `validate` accepts `run` can sample without overflow, nan or division by zero.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from sim.errors import InputError, ScenarioError, shorten
from sim.files.reading import read_text
from sim.files.writing import write_text_atomic
from sim.model.bounds import (
    FIRST_YEAR,
    LAST_YEAR,
    MAX_CASES_PER_MONTH,
    MAX_CASES_PER_STAFF,
    MAX_COST_GBP,
    MAX_LEVERS,
    MAX_NAME_CHARS,
    MAX_OFFICER_RATIO,
    MAX_OFFICERS,
    MAX_SLOTS,
    MAX_STAFF,
    MAX_STEPS,
    MAX_TEXT_CHARS,
    POOLS,
    SHARE_TOLERANCE,
    STREAMS,
)
from sim.model.demand_file import expand_demand_files
from sim.model.distributions import MAX_DAYS, Distribution, Number, Real, WholeNumber
from sim.model.fields import set_path
from sim.model.frozen import Frozen
from sim.model.levers import applied, case_rules, lever_path_problem

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _date_as_written(value: Any) -> Any:
    """Pydantic's lax mode reads a number as seconds since 1970 (`start: 0` is 1970-01-01,
    20210401 is in August 1970); a planner means neither. Text must be YYYY-MM-DD (a saved
    scenario writes dates as text, so text is allowed)."""
    if isinstance(value, bool | int | float | np.number):
        raise PydanticCustomError(
            "date_type", "a number is not a date (write it as YYYY-MM-DD, e.g. 2021-04-01)")
    if isinstance(value, str) and not _ISO_DATE.fullmatch(value):
        raise PydanticCustomError("date_parsing", "Input should be a date written YYYY-MM-DD")
    return value


def _in_calendar(day: dt.date) -> dt.date:
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValueError(f"dates must be in the years {FIRST_YEAR} to {LAST_YEAR}, got {day}")
    return day


def _printable(text: str) -> str:
    """Names and descriptions reach terminals and reports: no control characters (an escape
    sequence could rewrite the screen); a description may keep its line breaks and tabs."""
    bad = next((c for c in text if not c.isprintable() and c not in "\n\t"), None)
    if bad is not None:
        raise ValueError(f"control character {bad!r} in the text; only printable characters"
                         " (and, in a description, line breaks)")
    return text


def _one_line(text: str) -> str:
    if "\n" in text or "\t" in text:
        raise ValueError("a name is one line of text, without line breaks or tabs")
    return text


Date = Annotated[dt.date, BeforeValidator(_date_as_written), AfterValidator(_in_calendar)]
Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME_CHARS),
                 AfterValidator(_printable), AfterValidator(_one_line)]
Text = Annotated[str, Field(max_length=MAX_TEXT_CHARS), AfterValidator(_printable)]
Share = Annotated[float, Number, Field(ge=0, le=1, allow_inf_nan=False)]
PositiveFloat = Annotated[float, Number, Field(gt=0, allow_inf_nan=False)]
NonNegativeFloat = Annotated[float, Number, Field(ge=0, allow_inf_nan=False)]
Whole = Annotated[int, WholeNumber]


def _check_shares_sum(model: BaseModel, what: str) -> None:
    total = sum(getattr(model, name) for name in type(model).model_fields)
    if abs(total - 1.0) > SHARE_TOLERANCE:
        raise ValueError(f"{what} shares must sum to 1, but sum to {total:.6g}")


class Step(Frozen):
    """A value that holds from a date until the next step."""

    from_: Date = Field(alias="from")
    value: NonNegativeFloat


class RateStep(Step):
    value: NonNegativeFloat = Field(le=MAX_CASES_PER_MONTH)
    ramp_months: Whole = Field(
        default=0, ge=0, le=120, description="months over which the rate moves linearly from"
        " the step before, reaching this value in the ramp's last month (0: at once)")


class StaffStep(Step):
    value: NonNegativeFloat = Field(le=MAX_STAFF)


def _shown_dates(dates: list[dt.date]) -> str:
    """Dates for a message, the first few only (a list may hold a thousand)."""
    shown = ", ".join(d.isoformat() for d in dates[:8])
    return shown + (f", ... ({len(dates)} dates)" if len(dates) > 8 else "")


def _check_steps(steps: list[Step]) -> list[Step]:
    dates = [s.from_ for s in steps]
    if dates != sorted(dates) or len(set(dates)) != len(dates):
        raise ValueError("steps must be in strictly increasing date order, got"
                         f" {_shown_dates(dates)}")
    return steps


RateSteps = Annotated[list[RateStep], Field(min_length=1, max_length=MAX_STEPS)]
StaffSteps = Annotated[list[StaffStep], Field(min_length=1, max_length=MAX_STEPS)]


class StreamDemand(Frozen):
    """Arrivals of one stream (public complaints or conduct matters)."""

    cases_per_month: RateSteps = Field(
        description="Poisson arrival rate, cases in an average month; dated steps"
    )
    allegations_per_case: Real = Field(
        ge=1, le=50, allow_inf_nan=False,
        description="mean allegations per case (1 + Poisson extra allegations)",
    )

    _order = field_validator("cases_per_month")(_check_steps)

    @field_validator("cases_per_month")
    @classmethod
    def _first_does_not_ramp(cls, steps: list[RateStep]) -> list[RateStep]:
        if steps[0].ramp_months:
            raise ValueError("the first step cannot ramp: there is no rate before it to ramp"
                             " from (give an earlier step)")
        return steps


class OfficerPoint(Frozen):
    date: Date
    officers: PositiveFloat = Field(le=MAX_OFFICERS)


class Demand(Frozen):
    complaints: StreamDemand
    conduct: StreamDemand
    officers: list[OfficerPoint] = Field(
        min_length=1, max_length=MAX_STEPS,
        description="Met officer headcount; linear between points, flat beyond the ends",
    )
    elasticity: Real = Field(
        default=0.0, ge=0, le=5, allow_inf_nan=False,
        description="demand scales as (officers / officers at the start date) ** elasticity",
    )
    inexperience_extra: Real = Field(
        default=0.0, ge=0, le=5, allow_inf_nan=False,
        description="extra complaints drawn by an officer in the first two years, relative to"
        " an experienced one (0.25: a quarter more); applied to net growth over two years",
    )

    @field_validator("officers")
    @classmethod
    def _officers_ordered(cls, points: list[OfficerPoint]) -> list[OfficerPoint]:
        dates = [p.date for p in points]
        if dates != sorted(dates) or len(set(dates)) != len(dates):
            raise ValueError("officer points must be in strictly increasing date order, got"
                             f" {_shown_dates(dates)}")
        heads = [p.officers for p in points]
        if max(heads) > MAX_OFFICER_RATIO * min(heads):
            raise ValueError(
                f"officer numbers range from {min(heads):.6g} to {max(heads):.6g}; the largest"
                f" may be at most {MAX_OFFICER_RATIO:,} times the smallest (demand scales with"
                " their ratio raised to the elasticity)")
        return points

    @model_validator(mode="after")
    def _peak_demand(self) -> Demand:
        """Arrivals at their highest, officer growth and inexperience included, stay within
        MAX_CASES_PER_MONTH, so no month's Poisson draw can overflow."""
        heads = [p.officers for p in self.officers]
        growth = math.exp(self.elasticity * math.log(max(heads) / min(heads)))
        factor = growth * (1 + self.inexperience_extra)
        for name in STREAMS:
            peak = max(s.value for s in getattr(self, name).cases_per_month) * factor
            if peak > MAX_CASES_PER_MONTH:
                raise ValueError(
                    f"{name} demand reaches about {peak:.3g} cases a month (the peak rate x"
                    f" officer growth ** elasticity x inexperience, {factor:.3g}); at most"
                    f" {MAX_CASES_PER_MONTH:.0e}")
        return self


class AssessmentShares(Frozen):
    """Where an assessed case goes; the six shares sum to 1."""

    outside_schedule3: Share = Field(description="resolved informally, outside Schedule 3")
    otherwise: Share = Field(description="handled otherwise than by investigation")
    reflective_practice: Share
    psu: Share = Field(description="triaged misconduct or not subject to special procedures:"
                       " investigated by a local Professional Standards Unit (S-11)")
    dps: Share = Field(description="triaged gross misconduct: investigated by the DPS (S-11)")
    iopc: Share = Field(description="referred to the IOPC")

    @model_validator(mode="after")
    def _sum(self) -> AssessmentShares:
        _check_shares_sum(self, "assessment outcome")
        return self


class Assessment(Frozen):
    time_days: Distribution
    complaints: AssessmentShares
    conduct: AssessmentShares


class LocalRouting(Frozen):
    """Where a referral the IOPC returns to the force goes."""

    psu: Share
    dps: Share
    none: Share = Field(description="handled without investigation")

    @model_validator(mode="after")
    def _sum(self) -> LocalRouting:
        _check_shares_sum(self, "IOPC local routing")
        return self


class IopcReferral(Frozen):
    assessment_days: Distribution
    independent: Share = Field(description="investigated by IOPC investigators")
    directed: Share = Field(description="investigated by DPS investigators under IOPC direction")
    local: Share = Field(description="returned to the force")
    local_routing: LocalRouting
    caseload_limit: PositiveFloat | None = Field(
        default=None, le=100,
        description="the IOPC takes a referral it would investigate itself only while its"
        " open Met investigations (waiting or in hand) are fewer than this many times its"
        " case slots; otherwise it is dealt with as one not taken (directed or local by"
        " their shares); unset: the IOPC takes its share whatever its caseload")

    @model_validator(mode="after")
    def _sum(self) -> IopcReferral:
        total = self.independent + self.directed + self.local
        if abs(total - 1.0) > SHARE_TOLERANCE:
            raise ValueError(
                f"independent + directed + local must sum to 1, but sum to {total:.6g}"
            )
        return self


class Capacity(Frozen):
    """Staff over time and the cases each carries at once (case slots)."""

    staff: StaffSteps = Field(description="head count on dated steps (investigators or panels)")
    cases_per_staff: PositiveFloat = Field(le=MAX_CASES_PER_STAFF,
                                           description="cases each carries at once")
    training_lag_days: NonNegativeFloat = Field(
        default=0.0, le=MAX_DAYS,
        description="days before a new recruit is productive; leavers go at once"
    )
    reference_caseload: Annotated[float, Number, Field(allow_inf_nan=False)] | None = Field(
        default=None, ge=1.0, le=MAX_CASES_PER_STAFF,
        description="cases each investigator carries when a case takes its stated"
        " investigation_days: with more in hand per investigator the share of its time"
        " that is investigator work takes longer in proportion, with fewer shorter, down to"
        " one case each (time shared); unset: a case takes its stated time whatever the"
        " caseload (slots only)")
    investigator_work_share: Share = Field(
        default=1.0, gt=0.0,
        description="with reference_caseload set, the share of a case's time in hand that is"
        " its investigator's own work, and so follows the caseload; the rest (waiting on"
        " witnesses, evidence, others) takes the same time whatever the caseload; 1: all"
        " of it")

    _order = field_validator("staff")(_check_steps)

    @model_validator(mode="after")
    def _not_absurd(self) -> Capacity:
        if _max_slots(self) > MAX_SLOTS:
            raise ValueError(
                f"staff x cases_per_staff reaches {_max_slots(self):.3g} case slots; at most"
                f" {MAX_SLOTS:,} (a pool larger than the whole Met)"
            )
        if self.investigator_work_share < 1.0 and self.reference_caseload is None:
            raise ValueError(
                f"investigator_work_share {self.investigator_work_share:g} needs"
                " reference_caseload: the share that follows the caseload has no caseload to"
                " follow (set reference_caseload, or leave the share out)")
        return self

    @property
    def shares_time(self) -> bool:
        """Whether a case's time in hand follows its pool's caseload (a reference caseload
        set); otherwise a pool is slots alone."""
        return self.reference_caseload is not None

    @property
    def reference(self) -> float:
        """The reference caseload the engines use (1 for a pool of slots, which never
        reads it)."""
        return 1.0 if self.reference_caseload is None else self.reference_caseload


class StreamDurations(Frozen):
    complaints: Distribution
    conduct: Distribution


class Pool(Capacity):
    """An investigator pool: capacity plus the effort a case holds a slot for."""

    investigation_days: StreamDurations


class Pools(Frozen):
    iopc: Pool
    dps: Pool
    psu: Pool


class PerPool(Frozen):
    iopc: Share
    dps: Share
    psu: Share


class Cps(Frozen):
    referral_share: PerPool = Field(description="investigations whose file goes to the CPS")
    decision_days: Distribution
    charge_share: Share
    trial_days: Distribution = Field(description="charge to verdict")
    conviction_share: Share


class StreamShares(Frozen):
    complaints: Share
    conduct: Share


class Severity(Frozen):
    """How serious each investigated case is (S-11's severity assessment), drawn with the
    case. The Met's triage is its allocation (S-11): a case the assessment sends to the DPS
    (`assessment.*.dps`, and `iopc_referral.local_routing.dps`) is gross misconduct, one it
    sends to a PSU is misconduct or not subject to special procedures, so a change in the
    mix is a lever on those shares. Severity then decides what follows: a case not subject
    to special procedures has no indication of a criminal offence or of conduct justifying
    disciplinary proceedings, so no officer is suspended or restricted, no file goes to the
    CPS and there is no case to answer; a misconduct case to answer goes to a meeting, a
    gross misconduct one by `proceedings.route`."""

    local_not_special: StreamShares = Field(
        description="share of PSU investigations not subject to special procedures (the rest"
        " misconduct)")
    iopc_gross_misconduct: Share = Field(
        description="share of the IOPC's own investigations that are gross misconduct (the"
        " rest misconduct)")


class Routes(Frozen):
    """How a gross misconduct case to answer proceeds (a misconduct one goes to a meeting)."""

    meeting: Share = Field(description="a misconduct meeting (case to answer for misconduct"
                           " only)")
    hearing: Share
    accelerated: Share = Field(description="special case hearing: evidence incontrovertible")

    @model_validator(mode="after")
    def _sum(self) -> Routes:
        _check_shares_sum(self, "proceedings route")
        return self


class Outcomes(Frozen):
    meeting: Share
    hearing: Share
    accelerated: Share


class Sittings(Frozen):
    """Hearing days in rooms (T02-11: at most four rooms, most hearings several days): a
    hearing its chair has prepared and listed then sits for `days` in a free room, first
    come, first served, with its chair; a room holds one hearing at a time, and so does a
    productive chair (`sim.model.capacity.sitting_schedule`)."""

    rooms: StaffSteps = Field(description="hearing rooms on dated steps")
    days: Distribution = Field(description="calendar days a hearing holds a room (its sitting"
                               " days and the days between them)")

    _order = field_validator("rooms")(_check_steps)


class Proceedings(Frozen):
    case_to_answer: PerPool
    route: Routes = Field(description="how a gross misconduct case to answer proceeds (a"
                          " misconduct one goes to a meeting; a convicted officer always to"
                          " an accelerated hearing)")
    meeting_days: Distribution
    hearing_days: Distribution = Field(
        description="time a hearing is in its chair's hands before it sits: preparation,"
        " directions and listing (with `sittings` unset, the whole hearing)")
    accelerated_days: Distribution = Field(
        description="time to an accelerated hearing's outcome (S-27: 21-28 days)"
    )
    panels: Capacity = Field(description="chairs of misconduct hearings (legally qualified"
                             " chairs until 7 May 2024, R-01) and the hearings each has listed")
    sittings: Sittings | None = Field(
        default=None, description="hearing rooms and sitting days; unset: a hearing ends"
        " when its chair's hearing_days end (no room to wait for)")
    proven: Outcomes
    dismissed_if_proven: Outcomes


class Officers(Frozen):
    suspended: PerPool = Field(description="share of gross misconduct investigations with an"
                               " officer suspended")
    restricted: PerPool = Field(description="share of investigations subject to special"
                                " procedures with an officer restricted (not suspended)")
    cost_per_officer_year_gbp: PositiveFloat = Field(le=MAX_COST_GBP)

    @model_validator(mode="after")
    def _not_over_one(self) -> Officers:
        for pool in POOLS:
            total = getattr(self.suspended, pool) + getattr(self.restricted, pool)
            if total > 1 + SHARE_TOLERANCE:
                raise ValueError(
                    f"suspended + restricted for {pool} is {total:.6g}; an officer is one or"
                    " the other, so the two shares must sum to at most 1"
                )
        return self


def _first_of_month(what: str) -> Callable[[dt.date], dt.date]:
    def check(day: dt.date) -> dt.date:
        if day.day != 1:
            raise ValueError(f"{what} on the first day of a month, got {day}")
        return day
    return check


LeverName = Annotated[str, Field(max_length=MAX_NAME_CHARS), AfterValidator(_printable),
                      AfterValidator(_one_line)]
FieldChanges = Annotated[
    dict[Annotated[str, Field(min_length=1, max_length=MAX_NAME_CHARS)], Any],
    Field(min_length=1, description="dotted field path: new value")]


class Lever(Frozen):
    """Scenario fields set for cases received from a date, and until another if given (see
    sim/model/levers.py)."""

    name: LeverName = ""
    from_: Annotated[Date, AfterValidator(_first_of_month("a lever starts"))] = Field(
        alias="from", description="first day of a month")
    until: Annotated[Date, AfterValidator(_first_of_month("a lever ends"))] | None = Field(
        default=None, description="first day of the month from which cases are received"
        " under the scenario's own values again (none: the lever stays)")
    ramp_months: Whole = Field(default=0, ge=0, le=120,
                               description="months to reach the new values linearly")
    set: FieldChanges

    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> Lever:
        if self.until is not None and self.until <= self.from_:
            raise ValueError(f"until ({self.until}) must be after from ({self.from_})")
        return self


class EarlierRules(Frozen):
    """Case-handling values for cases received before a date: the rules of the past, so
    that a warm-up runs them and the first reported month holds the stocks they left (the
    scenario's own fields are the rules from `until`). History, not a policy option: kept
    apart from `levers`, so a scenario that lists its own levers keeps its parent's past."""

    name: LeverName = ""
    until: Annotated[Date, AfterValidator(_first_of_month("earlier rules end"))] = Field(
        description="first day of the month from which the scenario's own values apply")
    set: FieldChanges


class Scenario(Frozen):
    """A complete, validated scenario. Derive variants with `with_changes`."""

    name: Name
    description: Text = ""
    start: Date = Field(description="first day reported; the clock's day 0")
    horizon_years: Whole = Field(ge=1, le=30, description="years reported from the start")
    warmup_years: Real = Field(
        default=3.0, ge=0, le=20, allow_inf_nan=False,
        description="years simulated before the start so the system is not empty on day 0",
    )
    demand: Demand
    assessment: Assessment
    severity: Severity
    iopc_referral: IopcReferral
    pools: Pools
    cps: Cps
    proceedings: Proceedings
    officers: Officers
    earlier_rules: list[EarlierRules] = Field(
        default_factory=list, max_length=MAX_LEVERS,
        description="case handling for cases received before a date (the past's regimes)")
    levers: list[Lever] = Field(default_factory=list, max_length=MAX_LEVERS,
                                description="dated changes to case handling (policy options)")

    @property
    def end(self) -> dt.date:
        return _add_years(self.start, self.horizon_years)

    @property
    def warmup_start(self) -> dt.date:
        return self.start - dt.timedelta(days=round(self.warmup_years * 365.25))

    @field_validator("start")
    @classmethod
    def _start_of_month(cls, day: dt.date) -> dt.date:
        if day.day != 1:
            raise ValueError(
                f"the start must be the first day of a month (months are reported whole), got {day}"
            )
        return day

    @model_validator(mode="after")
    def _capacity_where_needed(self) -> Scenario:
        """A pool that receives cases must have some capacity at some time."""
        feeds = _pool_feeds(self)
        for pool in POOLS:
            capacity = getattr(self.pools, pool)
            if feeds[pool] > 0 and _max_slots(capacity) < 1:
                raise _field_error(
                    f"pools.{pool}", f"pools.{pool} receives cases (share {feeds[pool]:.3g})"
                    " but never has a case slot: staff x cases_per_staff must reach at least 1")
        if self.proceedings.route.hearing > 0 and _max_slots(self.proceedings.panels) < 1:
            raise _field_error(
                "proceedings.panels",
                "proceedings.panels: hearings are held but panels never reach one slot")
        sittings = self.proceedings.sittings
        if (self.proceedings.route.hearing > 0 and sittings is not None
                and max(s.value for s in sittings.rooms) < 1):
            raise _field_error(
                "proceedings.sittings.rooms",
                "proceedings.sittings.rooms: hearings are held but there is never a whole room"
                " to sit in (at least one room at some date, or leave sittings out)")
        return self

    @model_validator(mode="after")
    def _caseload_limit_supported(self) -> Scenario:
        """A caseload limit counts open cases against case slots, so the IOPC pool must
        have slots, not shared time."""
        if self.iopc_referral.caseload_limit is not None and self.pools.iopc.shares_time:
            raise _field_error("iopc_referral.caseload_limit", "a caseload limit needs case"
                               " slots in the IOPC pool: unset pools.iopc.reference_caseload"
                               " or the limit")
        return self

    @model_validator(mode="after")
    def _levers_apply(self) -> Scenario:
        """Each lever and earlier rule names case-handling fields, and the scenario stays
        valid under each (earlier rules first, as the regimes apply them)."""
        changes: list[Lever | EarlierRules] = [*self.earlier_rules, *self.levers]
        if not changes:
            return self
        data = self.to_dict()
        for i, change in enumerate(changes):
            for path, value in change.set.items():
                problem = lever_path_problem(path, data)
                if problem:
                    raise _lever_error(self._where(i), path, value, problem,
                                       "a case-handling field path")
        n = len(changes)
        checks = [tuple(float(j <= k) for j in range(n)) for k in range(n)]  # on in turn
        checks.append(tuple(0.5 if getattr(c, "ramp_months", 0) else 1.0
                            for c in changes))  # mid-ramp
        for k, fractions in enumerate(checks):
            try:
                Scenario.model_validate(applied(data, case_rules(data), fractions))
            except ValueError as exc:  # a ValidationError, or a value that cannot be ramped
                raise _levers_broke(changes, min(k, n - 1), exc, self._where) from None
        return self

    def _where(self, i: int) -> str:
        """Where the i-th of [earlier rules, levers] is in the file (`levers.0`)."""
        n = len(self.earlier_rules)
        return f"earlier_rules.{i}" if i < n else f"levers.{i - n}"

    def digest(self) -> str:
        """A stable hash of the resolved scenario (the run's identity)."""
        text = json.dumps(self.to_dict(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)

    def with_changes(self, changes: Mapping[str, Any] | Iterable[tuple[str, Any]],
                     source: str | Path | None = None) -> Scenario:
        """This scenario with each dotted field (`pools.iopc.staff.0.value`, wildcards
        allowed) set to a new value, in order, validated as a file is; problems name
        `source`. The one way levers' regimes, sweeps, calibration, parameter draws,
        goal-seek and the brief derive a scenario."""
        data = self.to_dict()
        pairs = changes.items() if isinstance(changes, Mapping) else changes
        for path, value in pairs:
            set_path(data, path, value)
        return scenario_from_dict(data, source=source)


def _levers_broke(levers: Sequence[Lever | EarlierRules], k: int, exc: ValueError,
                  where: Callable[[int], str]) -> PydanticCustomError:
    """The first problem of a scenario with levers applied, placed on the lever (`k`, the
    last one switched on) and the `set:` path that reaches the field, with its value."""
    if isinstance(exc, ValidationError):
        first = exc.errors(include_url=False)[0]
        loc = ".".join(str(p) for p in first["loc"] if not _is_union_tag(p))
        message = f"with the levers applied, {loc}: {first['msg'].removeprefix('Value error, ')}"
        allowed = _ALLOWED.get(first["type"])
    else:
        loc, message, allowed = getattr(exc, "path", ""), f"with the levers applied, {exc}", None
    for i in [k, *range(len(levers) - 1, -1, -1)]:
        for path, value in levers[i].set.items():
            if loc == path or loc.startswith(path + ".") or path.startswith(loc + "."):
                return _lever_error(where(i), path, value, message, allowed)
    return _lever_error(where(k), None, None, message, allowed)


def _field_error(field: str, message: str) -> PydanticCustomError:
    """A whole-scenario check's error, reported at `field` (see `validation_problems`)."""
    return PydanticCustomError("value_error", message, {"at_field": field})


def _lever_error(at: str, path: str | None, value: Any, message: str,
                 allowed: str | None) -> PydanticCustomError:
    """An error the loader reports at `levers.i.set.PATH` (or `earlier_rules.i.set.PATH`;
    `at` is `levers.i`; see `validation_problems`)."""
    where = f"{at}.set" + (f".{path}" if path else "")
    ctx: dict[str, Any] = {"at_field": where, "at_allowed": allowed or ""}
    if path is not None:
        ctx["at_value"] = value
    return PydanticCustomError("lever_invalid", message, ctx)


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _max_slots(capacity: Capacity) -> float:
    return max(s.value for s in capacity.staff) * capacity.cases_per_staff


def _pool_feeds(s: Scenario) -> dict[str, float]:
    """How much of the assessed demand can reach each pool (zero means none)."""
    ref = s.iopc_referral
    feeds = {}
    for pool in POOLS:
        direct = sum(getattr(getattr(s.assessment, st), pool) for st in STREAMS)
        iopc = sum(s.assessment.__getattribute__(st).iopc for st in STREAMS)
        via_iopc = {
            "iopc": ref.independent,
            "dps": ref.directed + ref.local * ref.local_routing.dps,
            "psu": ref.local * ref.local_routing.psu,
        }[pool]
        feeds[pool] = (0 if pool == "iopc" else direct) + iopc * via_iopc
    return feeds


# --------------------------------------------------------------------------- loading


SCENARIO_FILE = "a scenario file (YAML)"
MAX_EXTENDS = 32  # files in one chain of `extends:`
MAX_YAML_VALUES = 100_000  # list items, keys and values in one file, aliases expanded
MAX_YAML_DEPTH = 64  # nested lists and mappings (a scenario nests six deep)


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; every problem is an `InputError` naming the file.

    A file may start from another with `extends: other.yaml` (resolved relative to the
    file) and list only its changes: mappings merge key by key, anything else replaces.
    """
    path = Path(path)
    data = resolve_extends(path)
    return scenario_from_dict(data, source=path)


def resolve_extends(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The file's mapping merged over the files it extends, innermost first."""
    data = read_yaml_mapping(path, what=SCENARIO_FILE)
    return _merge_parent(path, data, seen)


def _merge_parent(path: Path, data: dict[str, Any], seen: tuple[Path, ...]) -> dict[str, Any]:
    data = expand_demand_files(data, Path(path))  # a CSV is named relative to its own file
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str) or not parent.strip():
        raise InputError("extends must name a scenario file", file=path, field="extends",
                         value=parent, allowed="a path such as baseline.yaml")
    if len(seen) >= MAX_EXTENDS:
        raise InputError(f"more than {MAX_EXTENDS} files extend one another", file=path,
                         field="extends", allowed=f"a chain of at most {MAX_EXTENDS} files")
    try:
        parent_path = (path.parent / parent).resolve()
    except (OSError, ValueError, RuntimeError) as exc:  # a NUL byte, a symlink loop
        raise InputError(f"extends does not name a usable path ({exc})", file=path,
                         field="extends", value=parent,
                         allowed="a path relative to this file") from None
    if parent_path in seen or parent_path == path.resolve():
        chain = " -> ".join(p.name for p in (*seen, path.resolve(), parent_path))
        raise InputError(f"scenarios extend each other in a loop: {chain}", file=path,
                         field="extends")
    try:
        text = read_text(parent_path, what=SCENARIO_FILE)
    except InputError as exc:
        if exc.problem == "file not found":
            raise InputError("the scenario it extends was not found:"
                             f" {shorten(str(parent_path), 200)}",
                             file=path, field="extends",
                             allowed="a path relative to this file") from None
        raise InputError(f"the scenario it extends ({shorten(str(parent_path), 200)}):"
                         f" {exc.problem}", file=path,
                         field="extends", allowed=exc.allowed or SCENARIO_FILE) from None
    base = _merge_parent(parent_path, parse_yaml_mapping(text, parent_path, SCENARIO_FILE),
                         (*seen, path.resolve()))
    return deep_merge(base, data)


def deep_merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """`changes` over `base`: nested mappings merge, lists and values replace. A distribution
    that names its `dist` replaces the parent's whole (its parameters differ by kind)."""
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and "dist" not in value:
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def read_yaml_mapping(path: Path, what: str = "a YAML file") -> dict[str, Any]:
    """Safe-load a YAML file that must hold a mapping. Scenario, sweep and brief files all
    come through here: a regular file of bounded size (`sim.files.reading`), parsed by a loader
    that bounds what aliases and nesting can make of it."""
    path = Path(path)
    return parse_yaml_mapping(read_text(path, what=what), path, what)


def parse_yaml_mapping(text: str, path: Path, what: str = "a YAML file") -> dict[str, Any]:
    """The mapping `text` holds (read from `path`); any problem is an `InputError`."""
    allowed = f"{what}: a YAML mapping of fields"
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader: no Python objects
    except _TooMuch as exc:
        where = f" (line {exc.problem_mark.line + 1})" if exc.problem_mark else ""
        raise InputError(f"{exc.problem}{where}", file=path,
                         field=exc.field, allowed=exc.allowed) from None
    except RecursionError:
        raise InputError("malformed YAML: nested too deeply", file=path,
                         allowed=allowed) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (a NUL byte)
        line = text.count("\n", 0, max(exc.position, 0)) + 1
        char = exc.character
        shown = f"U+{char:04X}" if isinstance(char, int) else repr(char)
        raise InputError(f"malformed YAML at line {line}: the control character {shown} is"
                         " not allowed in YAML text", file=path, allowed=allowed) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(f"malformed YAML{where}: {shorten(problem, 300)}", file=path,
                         allowed=allowed) from None
    if data is None:
        raise InputError("the file is empty", file=path,
                         allowed="a YAML mapping such as 'name: baseline'")
    if not isinstance(data, dict):
        raise InputError(
            "the file must hold a mapping of fields", file=path,
            value=type(data).__name__, allowed="a YAML mapping such as 'name: baseline'",
        )
    return data


class _TooMuch(yaml.composer.ComposerError):
    """A document larger or deeper than any input ccsim reads; stops the parse at once."""

    def __init__(self, problem: str, mark: yaml.Mark, field: str | None, allowed: str) -> None:
        super().__init__(None, None, problem, mark)
        self.field = field
        self.allowed = allowed


# YAML 1.1 reads 1e-3 (no dot) as text; YAML 1.2 and every planner read it as a number.
_EXPONENT_FLOAT = re.compile(r"[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$")


class _UniqueKeyLoader(yaml.SafeLoader):
    """Safe loading that refuses a key given twice in one mapping (YAML would keep the last
    silently, so a second `pools:` block would drop the first), and any document that would
    expand past MAX_YAML_VALUES values or nest past MAX_YAML_DEPTH levels. Aliases share
    one node, so a few lines of `*a` can stand for a billion values ("billion laughs"):
    each node's expanded size is counted as it is composed, and the parse stops at the cap
    before anything is built or validated."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._composed = 0
        self._sizes: dict[int, int] = {}  # id(node) -> values it expands to
        self._path: list[str] = []

    def compose_node(self, parent, index):
        """Count, measure and bound every node as the composer makes it."""
        mark = self.peek_event().start_mark
        is_alias = self.check_event(yaml.AliasEvent)
        self._path.append(_part(parent, index))
        try:
            self._composed += 1
            if self._composed > MAX_YAML_VALUES:
                self._refuse(f"the file holds more than {MAX_YAML_VALUES:,} values", mark)
            if len(self._path) > MAX_YAML_DEPTH:
                self._refuse(f"lists and mappings are nested more than {MAX_YAML_DEPTH}"
                             " levels deep", mark)
            node = super().compose_node(parent, index)
            self._measure(node, is_alias, mark)
            return node
        finally:
            self._path.pop()

    def _measure(self, node, is_alias: bool, mark) -> None:
        if is_alias:
            if id(node) not in self._sizes:
                self._refuse("an alias refers to the list or mapping that contains it (a"
                             " value that never ends)", mark)
            return
        if isinstance(node, yaml.SequenceNode):
            size = 1 + sum(self._sizes[id(c)] for c in node.value)
        elif isinstance(node, yaml.MappingNode):
            size = 1 + sum(self._sizes[id(k)] + self._sizes[id(v)] for k, v in node.value)
        else:
            size = 1
        if size > MAX_YAML_VALUES:
            self._refuse(f"YAML aliases (*name) here expand to more than {MAX_YAML_VALUES:,}"
                         " values", node.start_mark)
        self._sizes[id(node)] = size

    def _refuse(self, problem: str, mark) -> None:
        field = ".".join(p for p in self._path[1:] if p) or None
        raise _TooMuch(problem, mark, shorten(field, 120) if field else None,
                       f"at most {MAX_YAML_VALUES:,} values (list items, keys and values,"
                       f" aliases expanded), nested at most {MAX_YAML_DEPTH} deep")

    def construct_object(self, node, deep=False):
        """A value YAML recognises but Python cannot hold (2021-13-01, !!int x) is malformed
        YAML at its line, not a crash."""
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, OverflowError) as exc:
            shown = f" in {shorten(node.value, 60)!r}" if isinstance(node.value, str) else ""
            raise yaml.constructor.ConstructorError(
                None, None, f"{exc}{shown}"[:200], node.start_mark) from None

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *base`, merged by SafeLoader
                continue
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, list | dict):  # unhashable: let SafeLoader say so
                break
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    f"the key '{shorten(str(key), 60)}' is given twice", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_implicit_resolver("tag:yaml.org,2002:float", _EXPONENT_FLOAT,
                                       list("-+0123456789"))


def _part(parent, index) -> str:
    """The name of a node's place in its parent, for a message (`levers.0.set`)."""
    if isinstance(index, yaml.ScalarNode):
        return str(index.value)
    if isinstance(index, int) and not isinstance(index, bool):
        return str(index)
    return "" if parent is None else "(a key)"


def scenario_from_dict(data: dict[str, Any], source: str | Path | None = None) -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(source, validation_problems(exc, source)) from None


def validation_problems(exc: ValidationError, source: str | Path | None) -> list[InputError]:
    """Turn pydantic's errors into planner-readable problems (field path, value, rule)."""
    problems = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"] if not _is_union_tag(p))
        message = err["msg"].removeprefix("Value error, ")
        kind = err["type"]
        allowed = _ALLOWED.get(kind)
        ctx = err.get("ctx") or {}
        if "at_field" in ctx:  # an error placed on a field by a model check (levers)
            problems.append(InputError(
                message, file=source, field=ctx["at_field"], value=ctx.get("at_value"),
                has_value="at_value" in ctx, allowed=ctx.get("at_allowed") or None))
            continue
        if kind == "extra_forbidden":
            message = "unknown key (misspelt, or not a field here)"
            allowed = "the fields documented in the README's scenario reference"
        if kind in {"union_tag_invalid", "union_tag_not_found"}:
            key = str(err.get("ctx", {}).get("discriminator", "dist")).strip("'")
            tags = str(err.get("ctx", {}).get("expected_tags", _TAGS.get(key, "")))
            allowed = f"{key}: {tags.replace(chr(39), '')}"
        shown = err.get("input")
        has_value = kind != "missing" and "input" in err and not isinstance(shown, dict)
        problems.append(
            InputError(
                message, file=source, field=loc or "(whole scenario)",
                value=shown if has_value else None,
                has_value=has_value,
                allowed=allowed,
            )
        )
    return problems


def _is_union_tag(part: Any) -> bool:
    return part in ("fixed", "exponential", "lognormal", "gamma", "empirical") or (
        isinstance(part, str) and part.startswith("function-")
    )


_TAGS = {"dist": "fixed, exponential, lognormal, gamma, empirical",
         "kind": "grid, list, latin_hypercube, sobol, morris"}
_ALLOWED = {
    "missing": "this field is required",
    "date_from_datetime_parsing": "a date written YYYY-MM-DD",
    "date_parsing": "a date written YYYY-MM-DD",
    "date_type": "a date written YYYY-MM-DD",
    "date_from_datetime_inexact": "a date written YYYY-MM-DD",
    "string_type": "text",
    "float_parsing": "a number",
    "float_type": "a number",
    "int_parsing": "a whole number",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "list_type": "a YAML list",
    "model_type": "a YAML mapping",
    "dict_type": "a YAML mapping",
    "finite_number": "a finite number",
}


def save_scenario(scenario: Scenario, path: str | Path) -> None:
    write_text_atomic(Path(path), yaml.safe_dump(scenario.to_dict(), sort_keys=False))
