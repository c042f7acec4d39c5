"""Policy levers: dated, optionally ramped changes to how cases are handled.

A lever sets scenario fields from a date (and until another, if it says), e.g. faster CPS
decisions from April 2022 ramped over six months. Earlier rules (`earlier_rules`) set them
for cases received before a date: the past's regimes, which the warm-up runs. Both act on
*cases received* in their months (a case keeps the rules in force when it arrived);
capacities and demand already change by their own dated steps.
Ramps move numbers linearly, month by month, reaching the new value in the ramp's last month.

The months of a run fall into a few *regimes* (distinct sets of lever fractions); each regime
is a complete, validated scenario (`sim.engine.regimes`), and `sim.engine.cases` draws each
case from its month's regime.
"""

from __future__ import annotations

import copy
import reprlib
from typing import Any

from sim.model.fields import get_path, set_path

# Levers change case handling; capacity and demand have dated steps of their own.
LEVER_ROOTS = ("assessment", "severity", "iopc_referral", "pools", "cps", "proceedings", "officers")
NOT_LEVERS = ("staff", "cases_per_staff", "training_lag_days", "reference_caseload",
              "investigator_work_share", "panels", "rooms",
              "cost_per_officer_year_gbp", "caseload_limit")


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


def lever_fraction(lever_month: int, ramp_months: int, month: int,
                   end_month: int | None = None) -> float:
    """How far a lever has moved by simulated month `month` (0 before, 1 when complete, 0
    again from `end_month`, when the scenario's own values return at once)."""
    k = month - lever_month
    if k < 0 or (end_month is not None and month >= end_month):
        return 0.0
    return 1.0 if ramp_months == 0 else min(1.0, (k + 1) / ramp_months)


def lever_changes(base: dict[str, Any], levers: list[dict[str, Any]],
                  fractions: tuple[float, ...]) -> list[tuple[str, Any]]:
    """The (field, value) changes that apply each lever to the given fraction, in order, to
    the scenario data `base`, with no levers left (the result is one regime's rules). Set in
    order: a later lever blends from the value an earlier one set."""
    return [("levers", []), ("earlier_rules", []),
            *_set_levers(copy.deepcopy(base), levers, fractions)]


def _set_levers(work: dict[str, Any], levers: list[dict[str, Any]],
                fractions: tuple[float, ...]) -> list[tuple[str, Any]]:
    """Apply each lever to its fraction in `work`, in order; the (field, value) pairs set."""
    changes: list[tuple[str, Any]] = []
    for lever, f in zip(levers, fractions, strict=True):
        if f <= 0:
            continue
        for path, value in lever["set"].items():
            new = blend(get_path(work, path), value, f, path)
            set_path(work, path, new)
            changes.append((path, new))
    return changes


def case_rules(data: dict[str, Any]) -> list[dict[str, Any]]:
    """A scenario's dated changes to case handling, in the order they apply: its earlier
    rules, then its levers (a regime sets them in turn, `lever_changes`)."""
    return [*data.get("earlier_rules", []), *data.get("levers", [])]


def applied(base: dict[str, Any], levers: list[dict[str, Any]],
            fractions: tuple[float, ...]) -> dict[str, Any]:
    """The scenario data with each lever applied to the given fraction (unvalidated: the
    scenario's own validator checks it; `Scenario.with_changes` derives a scenario)."""
    out = copy.deepcopy(base)  # one copy: it is both the work and the result
    _set_levers(out, levers, fractions)
    set_path(out, "levers", [])
    set_path(out, "earlier_rules", [])
    return out
