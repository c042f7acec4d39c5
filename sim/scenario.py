"""The scenario: every assumption of a run, validated, immutable, loaded from YAML.

Units are in the field names: `_days` are calendar days, `_per_month` are cases in an
average month (365.25/12 days), shares are fractions in [0, 1]. A scenario rejects unknown
keys, so a misspelt lever is an error rather than a silent default.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from sim.distributions import Distribution
from sim.errors import InputError, ScenarioError

Share = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegativeFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]
SHARE_TOLERANCE = 1e-6
MAX_SLOTS = 100_000  # case slots in one pool: far above any real one, and what an engine holds
FIRST_YEAR, LAST_YEAR = 1900, 2200  # start dates the calendar (and bank holidays) can handle
POOLS = ("iopc", "dps", "psu")
STREAMS = ("complaints", "conduct")


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _check_shares_sum(model: BaseModel, what: str) -> None:
    total = sum(getattr(model, name) for name in type(model).model_fields)
    if abs(total - 1.0) > SHARE_TOLERANCE:
        raise ValueError(f"{what} shares must sum to 1, but sum to {total:.6g}")


class Step(Frozen):
    """A value that holds from a date until the next step."""

    from_: dt.date = Field(alias="from")
    value: NonNegativeFloat


def _check_steps(steps: list[Step]) -> list[Step]:
    dates = [s.from_ for s in steps]
    if dates != sorted(dates) or len(set(dates)) != len(dates):
        shown = ", ".join(d.isoformat() for d in dates)
        raise ValueError(f"steps must be in strictly increasing date order, got {shown}")
    return steps


Steps = Annotated[list[Step], Field(min_length=1)]


class StreamDemand(Frozen):
    """Arrivals of one stream (public complaints or conduct matters)."""

    cases_per_month: Steps = Field(
        description="Poisson arrival rate, cases in an average month; dated steps"
    )
    allegations_per_case: float = Field(
        ge=1, le=50, allow_inf_nan=False,
        description="mean allegations per case (1 + Poisson extra allegations)",
    )

    _order = field_validator("cases_per_month")(_check_steps)


class OfficerPoint(Frozen):
    date: dt.date
    officers: PositiveFloat


class Demand(Frozen):
    complaints: StreamDemand
    conduct: StreamDemand
    officers: list[OfficerPoint] = Field(
        min_length=1,
        description="Met officer headcount; linear between points, flat beyond the ends",
    )
    elasticity: float = Field(
        default=0.0, ge=0, le=5, allow_inf_nan=False,
        description="demand scales as (officers / officers at the start date) ** elasticity",
    )
    inexperience_extra: float = Field(
        default=0.0, ge=0, le=5, allow_inf_nan=False,
        description="extra complaints drawn by an officer in the first two years, relative to"
        " an experienced one (0.25: a quarter more); applied to net growth over two years",
    )

    @field_validator("officers")
    @classmethod
    def _officers_ordered(cls, points: list[OfficerPoint]) -> list[OfficerPoint]:
        dates = [p.date for p in points]
        if dates != sorted(dates) or len(set(dates)) != len(dates):
            shown = ", ".join(d.isoformat() for d in dates)
            raise ValueError(
                f"officer points must be in strictly increasing date order, got {shown}"
            )
        return points


class AssessmentShares(Frozen):
    """Where an assessed case goes; the six shares sum to 1."""

    outside_schedule3: Share = Field(description="resolved informally, outside Schedule 3")
    otherwise: Share = Field(description="handled otherwise than by investigation")
    reflective_practice: Share
    psu: Share = Field(description="investigated by a local Professional Standards Unit")
    dps: Share = Field(description="investigated by the DPS")
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

    staff: Steps = Field(description="head count on dated steps (investigators or panels)")
    cases_per_staff: PositiveFloat = Field(description="cases each carries at once")
    training_lag_days: NonNegativeFloat = Field(
        default=0.0, description="days before a new recruit is productive; leavers go at once"
    )

    _order = field_validator("staff")(_check_steps)

    @model_validator(mode="after")
    def _not_absurd(self) -> Capacity:
        if _max_slots(self) > MAX_SLOTS:
            raise ValueError(
                f"staff x cases_per_staff reaches {_max_slots(self):.3g} case slots; at most"
                f" {MAX_SLOTS:,} (a pool larger than the whole Met)"
            )
        return self


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


class Routes(Frozen):
    meeting: Share
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


class Proceedings(Frozen):
    case_to_answer: PerPool
    route: Routes = Field(description="how a case to answer proceeds (a convicted officer"
                          " always goes to an accelerated hearing)")
    meeting_days: Distribution
    hearing_days: Distribution = Field(description="time a hearing holds a panel")
    accelerated_days: Distribution = Field(
        description="time to an accelerated hearing's outcome (S-27: 21-28 days)"
    )
    panels: Capacity
    proven: Outcomes
    dismissed_if_proven: Outcomes


class Officers(Frozen):
    suspended: PerPool = Field(description="share of investigations with an officer suspended")
    restricted: PerPool = Field(description="share with an officer restricted (not suspended)")
    cost_per_officer_year_gbp: PositiveFloat

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


class Lever(Frozen):
    """Scenario fields set for cases received from a date (see sim/levers.py)."""

    name: str = ""
    from_: dt.date = Field(alias="from", description="first day of a month")
    ramp_months: int = Field(default=0, ge=0, le=120,
                             description="months to reach the new values linearly")
    set: dict[str, Any] = Field(min_length=1, description="dotted field path: new value")

    @field_validator("from_")
    @classmethod
    def _first_of_month(cls, day: dt.date) -> dt.date:
        if day.day != 1:
            raise ValueError(f"a lever starts on the first day of a month, got {day}")
        return day


class Scenario(Frozen):
    """A complete, validated scenario. Build variants with `model_copy(update=...)`."""

    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    start: dt.date = Field(description="first day reported; the clock's day 0")
    horizon_years: int = Field(ge=1, le=30, description="years reported from the start")
    warmup_years: float = Field(
        default=3.0, ge=0, le=20, allow_inf_nan=False,
        description="years simulated before the start so the system is not empty on day 0",
    )
    demand: Demand
    assessment: Assessment
    iopc_referral: IopcReferral
    pools: Pools
    cps: Cps
    proceedings: Proceedings
    officers: Officers
    levers: list[Lever] = Field(default_factory=list,
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
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise ValueError(f"the start must be in the years {FIRST_YEAR} to {LAST_YEAR},"
                             f" got {day}")
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
                raise ValueError(
                    f"pools.{pool} receives cases (share {feeds[pool]:.3g}) but never has a"
                    " case slot: staff x cases_per_staff must reach at least 1"
                )
        if self.proceedings.route.hearing > 0 and _max_slots(self.proceedings.panels) < 1:
            raise ValueError(
                "proceedings.panels: hearings are held but panels never reach one slot"
            )
        return self

    @model_validator(mode="after")
    def _levers_apply(self) -> Scenario:
        """Each lever names case-handling fields, and the scenario stays valid under it."""
        if not self.levers:
            return self
        from sim.levers import applied, lever_path_problem

        data = self.to_dict()
        for i, lever in enumerate(self.levers):
            for path in lever.set:
                problem = lever_path_problem(path, data)
                if problem:
                    raise ValueError(f"levers.{i}.set: {problem}")
        n = len(self.levers)
        checks = [tuple(float(j <= k) for j in range(n)) for k in range(n)]  # on in turn
        checks.append(tuple(0.5 if lv.ramp_months else 1.0 for lv in self.levers))  # mid-ramp
        try:
            for fractions in checks:
                Scenario.model_validate(applied(data, data["levers"], fractions))
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            loc = ".".join(str(p) for p in first["loc"])
            raise ValueError(f"with the levers applied, {loc}: "
                             f"{first['msg'].removeprefix('Value error, ')}") from None
        return self

    def digest(self) -> str:
        """A stable hash of the resolved scenario (the run's identity)."""
        text = json.dumps(self.to_dict(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


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
    data = read_yaml_mapping(path)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str) or not parent.strip():
        raise InputError("extends must name a scenario file", file=path, field="extends",
                         value=parent, allowed="a path such as baseline.yaml")
    parent_path = (path.parent / parent).resolve()
    if parent_path in seen or parent_path == path.resolve():
        chain = " -> ".join(p.name for p in (*seen, path.resolve(), parent_path))
        raise InputError(f"scenarios extend each other in a loop: {chain}", file=path,
                         field="extends")
    if not parent_path.exists():
        raise InputError(f"the scenario it extends was not found: {parent_path}", file=path,
                         field="extends", allowed="a path relative to this file")
    base = resolve_extends(parent_path, (*seen, path.resolve()))
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


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    """Safe-load a YAML file that must hold a mapping."""
    if not path.exists():
        raise InputError("file not found", file=path)
    if path.is_dir():
        raise InputError("is a directory, not a scenario file", file=path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the file ({exc})", file=path) from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader: no Python objects
    except RecursionError:
        raise InputError("malformed YAML: nested too deeply", file=path,
                         allowed="a YAML mapping of scenario fields") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(
            f"malformed YAML{where}: {problem}", file=path,
            allowed="a YAML mapping of scenario fields",
        ) from None
    if data is None:
        raise InputError("the file is empty", file=path,
                         allowed="a YAML mapping such as 'name: baseline'")
    if not isinstance(data, dict):
        raise InputError(
            "the file must hold a mapping of fields", file=path,
            value=type(data).__name__, allowed="a YAML mapping such as 'name: baseline'",
        )
    return data


class _UniqueKeyLoader(yaml.SafeLoader):
    """Safe loading that refuses a key given twice in one mapping (YAML would keep the last
    silently, so a second `pools:` block would drop the first)."""

    def construct_object(self, node, deep=False):
        """A value YAML recognises but Python cannot hold (2021-13-01, !!int x) is malformed
        YAML at its line, not a crash."""
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, OverflowError) as exc:
            shown = f" in {node.value!r}" if isinstance(node.value, str) else ""
            raise yaml.constructor.ConstructorError(
                None, None, f"{exc}{shown}"[:200], node.start_mark) from None

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, list | dict):  # unhashable: let SafeLoader say so
                break
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    f"the key '{key}' is given twice", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


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
        if kind == "extra_forbidden":
            message = "unknown key (misspelt, or not a field here)"
            allowed = "the fields documented in the README's scenario reference"
        if kind == "union_tag_invalid" or kind == "union_tag_not_found":
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
    from sim.atomic import write_text_atomic

    write_text_atomic(Path(path), yaml.safe_dump(scenario.to_dict(), sort_keys=False))
