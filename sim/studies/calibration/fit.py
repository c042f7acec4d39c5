"""Calibration: fit the parameters the figures do not fix, by simulation, and say how well.

Three kinds of number make up the baseline:

* parameters computed directly from the figures (`sim.studies.calibration.derived`, arithmetic
  shown);
* parameters fitted here: effort distributions, case slots where staffing is not
  published, hearing capacity, case-to-answer and suspension/restriction shares;
* ASSUMPTIONs the targets cannot separate from a fitted parameter (named in `FIXED`).

The fit runs a *calibration variant* of the baseline that reports 2019/20 to 2021/22 (the
baseline itself reports from April 2021), with demand replaying the published volumes.
Each evaluation runs the same replications with the same seed (common random numbers), so
the objective is a deterministic, nearly smooth function of the parameters, and
`scipy.optimize.least_squares` minimises the weighted residuals, each in units of half its
tolerance times the square root of its weight, i.e. in standard deviations of the published
figure (a default tolerance is two; an argued small-sample tolerance is 2.81, with weight
(2.81/2)^2). The parameter covariance is the Laplace (Gauss-Newton) approximation at the
optimum, (J'J)^-1 scaled by the residual variance: an approximate posterior under a flat
prior.

Two regimes. The Police (Complaints and Misconduct) Regulations 2020 took effect on
1 February 2020 (T03-26) and changed local handling, so 2019/20 (mostly the old rules) and
2020/21 cannot share one PSU/DPS effort or one PSU case-to-answer share. Those fields are
fitted twice: a `pre2020:`-prefixed parameter (identified by the 2019/20 targets) and the
post-2020 one (identified by the 2020/21 targets). The scenario's fields hold the post-2020
values, and its earlier rules (`earlier_rules`, until 2020-02-01) the pre-2020 ones, for
cases received before then; the baseline carries the same rule, so its warm-up runs the
old rules for the cases received under them and it starts from the stocks they left. The
2020 regulations' complaint effort is also identified by S-09, the Met's average
investigation time in 2021, mostly of cases received under them. The calibration variant
(`Problem.scenario(theta, variant=True)`) differs from the baseline (`variant=False`) only
in its reporting window and replayed demand. The `pre2020:` values are written to
parameters.csv and the report, not to `fitted.yaml` (whose values are fields); the
baseline's earlier rule carries them (tests/test_calibration.py checks they agree).
When a post-2020 parameter has no target in the fit window (the `--until 2019/20`
hold-out) it carries its pre-2020 twin's estimate forward.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import least_squares

from sim.engine.engines import DEFAULT_ENGINE
from sim.engine.run import run_scenario
from sim.engine.summaries import describe
from sim.errors import InputError
from sim.files.shipped import default_calibration_out, shipped_path
from sim.model.fields import flatten, get_path, set_path
from sim.model.scenario import Scenario, load_scenario, resolve_extends
from sim.studies.calibration.derived import derived
from sim.studies.calibration.targets import VARIANT, Target

DEFAULT_TARGETS = shipped_path("calibration/targets.csv")
DEFAULT_OUT = default_calibration_out()  # never inside site-packages
BASELINE = shipped_path("scenarios/baseline.yaml")
FIT_REPS, REPORT_REPS, SEED = 20, 60, 20210401
MAX_NFEV = 60
DIFF_STEP = 0.04  # relative finite-difference step: large enough to see past CRN's steps
Z90 = 1.6448536269514722

#: prefix of a fitted field's value under the regulations before 1 February 2020 (T03-26)
PRE2020 = "pre2020:"


def is_pre2020(path: str) -> bool:
    """Whether a parameter path holds a value under the regulations before February 2020."""
    return path.startswith(PRE2020)


#: the regime change the fit models (cases received from this date)
REGULATIONS_2020: dict[str, Any] = {"name": "Police (Complaints and Misconduct) Regulations 2020",
                    "from": "2020-02-01"}
#: the name of the earlier rule that holds the `pre2020:` values
BEFORE_2020 = "the rules before the Police (Complaints and Misconduct) Regulations 2020"


@dataclass(frozen=True)
class Param:
    """A fitted number; each path gets `estimate x coefficient` (tied fields share one)."""

    name: str
    paths: dict[str, float]
    initial: float
    lower: float
    upper: float
    targets: str  # which targets identify it, in words
    identified_by: tuple[str, ...] = ()  # target id patterns (`x.*` a prefix)
    needs_all: bool = False  # identified only when every pattern is among the fit's targets
    note: str = ""


def _pre2020_effort(pool: str, stream: str, initial: float, upper: float) -> Param:
    """The old regulations' effort mean for a pool and stream, identified by 2019/20 times."""
    return Param(f"pre2020_{pool}_effort_{stream}",
                 {f"{PRE2020}pools.{pool}.investigation_days.{stream}.mean": 1},
                 initial, 30, upper, f"time.{pool}.{stream}.1920, time.met.{stream}.1920",
                 (f"time.{pool}.{stream}.1920", f"time.met.{stream}.1920"), False,
                 "cases received before February 2020 (old regulations; calibration variant"
                 " only)")


#: Fitted parameters. The local (PSU) and DPS effort means and the PSU case-to-answer share
#: are fitted per regime: the post-2020 parameter (the baseline's value) is identified by the
#: 2020/21 targets, its `pre2020:` twin by the 2019/20 ones (cases received before
#: 1 February 2020, T03-26); the rest are one value across both regimes.
PARAMS: tuple[Param, ...] = (
    Param("psu_effort_complaints", {"pools.psu.investigation_days.complaints.mean": 1},
          185, 30, 700, "time.psu.complaints.2021, time.met.complaints.2021,"
          " time.met.complaints.2122 (S-09)",
          ("time.psu.complaints.2021", "time.met.complaints.2021",
           "time.met.complaints.2122"), False,
          "mean calendar days a PSU complaint investigation holds a slot (2020 regulations)"),
    Param("psu_effort_conduct", {"pools.psu.investigation_days.conduct.mean": 1},
          195, 30, 700, "time.psu.conduct.2021, time.met.conduct.2021",
          ("time.psu.conduct.2021", "time.met.conduct.2021"), False, "2020 regulations"),
    Param("dps_effort_complaints", {"pools.dps.investigation_days.complaints.mean": 1},
          250, 30, 900, "time.dps.complaints.2021, time.met.complaints.2021,"
          " time.met.complaints.2122 (S-09)",
          ("time.dps.complaints.2021", "time.met.complaints.2021",
           "time.met.complaints.2122"), False, "2020 regulations"),
    Param("dps_effort_conduct", {"pools.dps.investigation_days.conduct.mean": 1},
          380, 30, 900, "time.dps.conduct.2021, time.met.conduct.2021",
          ("time.dps.conduct.2021", "time.met.conduct.2021"), False, "2020 regulations"),
    Param("iopc_effort", {"pools.iopc.investigation_days.complaints.mean": 1,
                          "pools.iopc.investigation_days.conduct.mean": 1},
          240, 60, 900, "iopc.within12m.*", ("iopc.within12m.*",), False,
          "one mean for complaints and conduct (tied)"),
    Param("psu_case_to_answer", {"proceedings.case_to_answer.psu": 1}, 0.10, 0.005, 0.5,
          "hear.meetings.2021, hear.hearings.2021, hear.dismissed.2021",
          ("hear.meetings.2021", "hear.hearings.2021", "hear.dismissed.2021"), False,
          "2020 regulations"),
    Param("hearing_days", {"proceedings.hearing_days.mean": 1}, 240, 30, 600,
          "stock.awaiting.*, hear.hearings.*", ("stock.awaiting.*", "hear.hearings.*"), False,
          "mean days a hearing holds a panel (listing, preparation, hearing)"),
    Param("suspended_scale", {"officers.suspended.iopc": 0.12, "officers.suspended.dps": 0.06},
          1, 0.05, 3, "stock.suspended.2106", ("stock.suspended.2106",), False,
          "IOPC:DPS:PSU = 2:1:0 (ASSUMPTION)"),
    Param("restricted_scale", {"officers.restricted.iopc": 0.30, "officers.restricted.dps": 0.35,
                               "officers.restricted.psu": 0.15},
          1, 0.05, 2, "stock.restricted.2106", ("stock.restricted.2106",), False,
          "IOPC:DPS:PSU = 0.30:0.35:0.15 (ASSUMPTION)"),
    _pre2020_effort("psu", "complaints", 185, 700),
    _pre2020_effort("psu", "conduct", 195, 700),
    _pre2020_effort("dps", "complaints", 250, 900),
    _pre2020_effort("dps", "conduct", 380, 900),
    Param("pre2020_psu_case_to_answer", {f"{PRE2020}proceedings.case_to_answer.psu": 1},
          0.10, 0.005, 0.5,
          "hear.meetings.1920, hear.hearings.1920, hear.dismissed.1920, stock.awaiting.pre",
          ("hear.meetings.1920", "hear.hearings.1920", "hear.dismissed.1920",
           "stock.awaiting.pre"), False,
          "cases received before February 2020 (calibration variant only)"),
)


def twins(params: tuple[Param, ...]) -> dict[int, int]:
    """Post-2020 parameter index -> its `pre2020:` twin's index (same fields, prefixed)."""
    pre = {tuple(sorted(p.paths)): j for j, p in enumerate(params)
           if all(is_pre2020(k) for k in p.paths)}
    out = {}
    for i, p in enumerate(params):
        key = tuple(sorted(PRE2020 + k for k in p.paths))
        if key in pre:
            out[i] = pre[key]
    return out


#: numbers the targets cannot separate from a fitted one, fixed by a stated assumption
FIXED = {
    "proceedings.panels.cases_per_staff": "panel slots and the time a hearing holds a panel"
    " both make up the time in the hearing stage, which the awaiting-hearing stock and the"
    " hearings held measure together: the slots are fixed (ASSUMPTION, 12 chairs x 10 listed"
    " hearings: the published stock fell while hearings held fell, so it follows inflow, not"
    " panel capacity; fewer slots saturate the stage and the backlog drifts up) and the"
    " hearing time fitted",
    "pools.psu.cases_per_staff": "PSU case slots: the 2019/20 figure covers 10 months, so the"
    " monthly complaint rate rose only 3% into 2020/21 (not 24%); no target shows a PSU queue"
    " forming, and local conduct times fell while complaint times rose in the same units (a"
    " change of handling, fitted as the 2020 regulations' regime change, not a queue)."
    " Not identified: ASSUMPTION, 160 staff x 5 cases",
    "pools.dps.cases_per_staff": "DPS durations fell from 2019/20 to 2020/21 while demand rose,"
    " so no DPS queue is visible: slots are bounded below, not identified (ASSUMPTION, 4)",
    "pools.iopc.cases_per_staff": "no target sees an IOPC queue separately from effort:"
    " ASSUMPTION, 30 investigators x 2 cases, so the IOPC's Met-case slots run at about 90%"
    " utilisation (T04-05: capacity reduced by real-terms cuts; Recommendation 7's premise)",
    "cps.decision_days": "no target covers CPS time (IOPC durations end at the investigation);"
    " ASSUMPTION, 120 days",
    "pools.*.investigation_days.*.cv": "one mean per target; shapes are ASSUMPTIONs",
}


# ------------------------------------------------------------------ paths and overlays


def overlay_of(full: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    """The part of `full` under `paths`, nested; a path into a list takes the whole list."""
    out: dict[str, Any] = {}
    for path in paths:
        parts = path.split(".")
        cut = next((i for i, p in enumerate(parts) if p.isdigit()), len(parts))
        keep = ".".join(parts[:cut])
        node = out
        for p in parts[:cut - 1]:
            node = node.setdefault(p, {})
        node[parts[cut - 1]] = copy.deepcopy(get_path(full, keep))
    return out


def round_sig(x: float, digits: int = 4) -> float:
    return float(f"{x:.{digits}g}")


def param_values(params: tuple[Param, ...], theta: np.ndarray) -> dict[str, float]:
    """Scenario field values for a parameter vector (rounded as they are written)."""
    out = {}
    for p, v in zip(params, theta, strict=True):
        for path, coef in p.paths.items():
            out[path] = round_sig(v * coef)
    return out


#: shares that must sum to 1: the last of each group takes the remainder after rounding
SHARE_GROUPS = (
    tuple(f"assessment.complaints.{o}" for o in
          ("outside_schedule3", "otherwise", "reflective_practice", "iopc", "dps", "psu")),
    tuple(f"assessment.conduct.{o}" for o in
          ("outside_schedule3", "otherwise", "reflective_practice", "iopc", "dps", "psu")),
    ("iopc_referral.independent", "iopc_referral.directed", "iopc_referral.local"),
    tuple(f"iopc_referral.local_routing.{o}" for o in ("psu", "dps", "none")),
    tuple(f"proceedings.route.{o}" for o in ("meeting", "hearing", "accelerated")),
)


def derived_values() -> dict[str, float]:
    """Derived values at four significant figures; shares of a split still sum to 1."""
    out = {d.path: round_sig(d.value) for d in derived()}
    for group in SHARE_GROUPS:
        *head, last = group
        out[last] = round(1.0 - sum(out[p] for p in head), 6)
    return out


def base_dict(baseline: Path = BASELINE) -> dict[str, Any]:
    """The baseline as a dict with the derived values applied, as written to the overlay."""
    data = resolve_extends(Path(baseline))
    for path, value in derived_values().items():
        set_path(data, path, value)
    return data


def base_scenario(baseline: Path = BASELINE) -> Scenario:
    """The baseline with the derived values applied (fitted ones come later)."""
    return load_scenario(baseline).with_changes(
        derived_values(), source=f"{baseline} with the derived values")


def earlier_rules_with(base: Scenario, pre: dict[str, float]) -> list[dict[str, Any]]:
    """The base's earlier rules with the `pre2020:` values set in the rule for cases
    received before the 2020 regulations (added if the base has none)."""
    rules = copy.deepcopy(base.to_dict()["earlier_rules"])
    values = {key[len(PRE2020):]: value for key, value in pre.items()}
    for rule in rules:
        if rule["until"] == REGULATIONS_2020["from"]:
            rule["set"].update(values)
            return rules
    return [*rules, {"name": BEFORE_2020, "until": REGULATIONS_2020["from"], "set": values}]


def variant_changes(base: Scenario, post: dict[str, float], variant: dict[str, Any],
                    pre: dict[str, float]) -> dict[str, Any]:
    """The changes that make the calibration variant of `base`: the post-2020 values at
    their fields, the variant's window (`VARIANT`), and the `pre2020:` values in the
    earlier rule for cases received before 2020-02-01."""
    changes: dict[str, Any] = {**post, **flatten(variant)}
    if pre:
        changes["earlier_rules"] = earlier_rules_with(base, pre)
    return changes


def with_values(data: dict[str, Any], values: dict[str, float]) -> dict[str, Any]:
    """A copy of scenario data with fields set, unvalidated: the overlay `fitted.yaml` is
    written from it (a scenario is derived with `Scenario.with_changes`)."""
    out = copy.deepcopy(data)
    for path, value in values.items():
        set_path(out, path, value)
    return out


# ------------------------------------------------------------------ the fit


@dataclass
class Evaluation:
    """Per target: the model's per-replication values at one parameter vector."""

    theta: np.ndarray
    values: dict[str, np.ndarray]

    def describe(self, t: Target) -> dict[str, float]:
        """Mean and quantiles across replications (`sim.engine.summaries.describe`)."""
        return describe(self.values[t.target_id])

    def mean(self, t: Target) -> float:
        return self.describe(t)["mean"]


@dataclass
class Problem:
    """What to fit: a base scenario dict, the parameters, the targets, and the run settings."""

    base: Scenario
    params: tuple[Param, ...]
    targets: list[Target]
    fit_targets: list[Target]
    reps: int = FIT_REPS
    seed: int = SEED
    engine: str = DEFAULT_ENGINE
    variant: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(VARIANT))
    evaluations: int = 0

    def scenario(self, theta: np.ndarray, variant: bool = True) -> Scenario:
        """The calibration variant (reporting the fit's years, demand replayed), or with
        `variant=False` the baseline; both with the 2020 regime change."""
        values = param_values(self.params, theta)
        post = {k: v for k, v in values.items() if not is_pre2020(k)}
        pre = {k: v for k, v in values.items() if is_pre2020(k)}
        if not variant:
            changes: dict[str, Any] = dict(post)
            if pre:
                changes["earlier_rules"] = earlier_rules_with(self.base, pre)
            return self.base.with_changes(changes, source="the calibrated baseline")
        return self.base.with_changes(variant_changes(self.base, post, self.variant, pre),
                                      source="the calibration variant")

    def evaluate(self, theta: np.ndarray, reps: int | None = None) -> Evaluation:
        self.evaluations += 1
        result = run_scenario(self.scenario(theta), reps or self.reps, self.seed, self.engine)
        years = [label for label, _, _ in result.timeline.fiscal_years]
        months = [m.strftime("%Y-%m") for m in result.timeline.report_months]
        values = {t.target_id: t.values(result.measured, years, months) for t in self.targets}
        return Evaluation(np.asarray(theta, dtype=float), values)

    def residuals(self, ev: Evaluation, targets: list[Target] | None = None) -> np.ndarray:
        """Weighted errors in units of half the tolerance (a tolerance is two sigma)."""
        out = []
        for t in targets or self.fit_targets:
            m = ev.mean(t)
            r = (m - t.published) / (t.tolerance_abs / 2) if np.isfinite(m) else 10.0
            out.append(np.sqrt(t.weight) * r)
        return np.array(out)


@dataclass
class Fit:
    problem: Problem
    theta: np.ndarray
    cov: np.ndarray
    evaluation: Evaluation
    nfev: int
    cost: float
    seconds: float
    message: str
    tied: dict[int, int] = field(default_factory=dict)  # carried forward: index -> source

    def sd(self) -> np.ndarray:
        return np.sqrt(np.clip(np.diag(self.cov), 0, None))

    def interval(self) -> tuple[np.ndarray, np.ndarray]:
        lo = np.array([p.lower for p in self.problem.params])
        hi = np.array([p.upper for p in self.problem.params])
        return (np.clip(self.theta - Z90 * self.sd(), lo, hi),
                np.clip(self.theta + Z90 * self.sd(), lo, hi))


def fit(problem: Problem, max_nfev: int = MAX_NFEV, report_reps: int = REPORT_REPS,
        progress: Callable[[str], None] | None = None,
        free: tuple[bool, ...] | None = None) -> Fit:
    """Least squares over the free parameters, in units of their initial values; the others
    stay at their initial values, but a post-2020 parameter whose `pre2020:` twin is free
    carries the twin's value (and spread) forward."""
    started = time.perf_counter()
    n = len(problem.params)
    idx = np.flatnonzero(free if free is not None else [True] * n)
    scale = np.array([p.initial for p in problem.params], dtype=float)
    lower = np.array([p.lower for p in problem.params]) / scale
    upper = np.array([p.upper for p in problem.params]) / scale
    cache: dict[tuple, np.ndarray] = {}
    is_free = np.zeros(n, dtype=bool)
    is_free[idx] = True
    tied = {i: j for i, j in twins(problem.params).items() if not is_free[i] and is_free[j]}

    def full(zf: np.ndarray) -> np.ndarray:
        z = np.ones(n)
        z[idx] = zf
        theta = z * scale
        for i, j in tied.items():
            theta[i] = theta[j]
        return _rounded(problem.params, theta)

    def objective(zf: np.ndarray) -> np.ndarray:
        theta = full(zf)
        key = tuple(theta)
        if key not in cache:
            cache[key] = problem.residuals(problem.evaluate(theta))
            if progress:
                progress(f"evaluation {len(cache)}: sum of squares {np.sum(cache[key]**2):.2f}")
        return cache[key]

    cov = np.zeros((n, n))
    if idx.size:
        result = least_squares(objective, np.ones(idx.size), bounds=(lower[idx], upper[idx]),
                               diff_step=np.full(idx.size, DIFF_STEP), max_nfev=max_nfev,
                               x_scale=1.0, method="trf")
        theta = full(result.x)
        jac = np.asarray(result.jac)  # dense: the objective is a few dozen residuals
        cov[np.ix_(idx, idx)] = _laplace_cov(jac, result.fun, scale[idx])
        for i in idx[_flat_directions(jac)]:  # not identified: uniform over bounds
            p = problem.params[i]
            cov[i, :] = cov[:, i] = 0.0
            cov[i, i] = (p.upper - p.lower) ** 2 / 12
        for i, j in tied.items():  # the same number: perfectly correlated with its source
            row, var = cov[j, :].copy(), cov[j, j]
            cov[i, :], cov[:, i] = row, row
            cov[i, i] = var
        nfev, cost, message = int(result.nfev), float(result.cost), str(result.message)
    else:
        theta, nfev, cost, message = full(np.ones(0)), 0, float("nan"), "nothing to fit"
    evaluation = problem.evaluate(theta, reps=report_reps)
    return Fit(problem, theta, cov, evaluation, nfev, cost,
               time.perf_counter() - started, message, tied)


def _rounded(params: tuple[Param, ...], theta: np.ndarray) -> np.ndarray:
    """Parameters at four significant figures: the fit evaluates what the files hold."""
    lo = np.array([p.lower for p in params])
    hi = np.array([p.upper for p in params])
    return np.array([round_sig(v) for v in np.clip(theta, lo, hi)])


def _laplace_cov(jac: np.ndarray, fun: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """(J'J)^-1 s^2 in parameter units; s^2 = max(1, residual variance) absorbs misfit."""
    m, n = jac.shape
    dof = max(m - n, 1)
    s2 = max(1.0, float(np.sum(fun**2)) / dof)
    cov_z = np.linalg.pinv(jac.T @ jac) * s2
    return cov_z * np.outer(scale, scale)


def _flat_directions(jac: np.ndarray) -> np.ndarray:
    """Parameters the targets did not move at all (a zero Jacobian column)."""
    return np.linalg.norm(jac, axis=0) < 1e-9


def select_targets(targets: list[Target], until: str | None) -> list[Target]:
    """Targets whose period ends by the fiscal year `until` (all when None)."""
    if until is None:
        return list(targets)
    chosen = [t for t in targets if t.last_fiscal_year() <= until]
    if not chosen:
        raise InputError("no targets fall in or before this year", field="--until",
                         value=until, allowed="a fiscal year such as 2019/20")
    return chosen


def identified(params: tuple[Param, ...], fit_targets: list[Target]) -> tuple[bool, ...]:
    """Whether any fitted target names each parameter (the rest stay at their initial value)."""
    ids = {t.target_id for t in fit_targets}
    out = []
    for p in params:
        seen = [any(_matches(i, pat) for i in ids) for pat in p.identified_by]
        out.append(all(seen) if p.needs_all else any(seen))
    return tuple(out)


def _matches(target_id: str, pattern: str) -> bool:
    if pattern.endswith("*"):
        return target_id.startswith(pattern[:-1])
    return target_id == pattern


__all__ = ["BEFORE_2020", "FIXED", "PARAMS", "REGULATIONS_2020", "Fit", "Param", "Problem", "fit",
           "is_pre2020", "select_targets", "twins"]
