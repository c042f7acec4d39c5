"""Calibration: the posterior of the parameters the figures do not fix, and how well it predicts.

Three kinds of number make up the baseline:

* parameters computed directly from the figures (`sim.studies.calibration.derived`, arithmetic
  shown);
* parameters fitted here: effort distributions, the IOPC's spread of lengths, hearing
  time, case-to-answer and suspension/restriction scales, and the share of a case's time
  that follows the caseload in the DPS, the PSUs and the panels, each with a prior
  (`sim.studies.calibration.priors`);
* ASSUMPTIONs the targets cannot separate from a fitted parameter (named in `FIXED`).

The fit runs a *calibration variant* of the baseline that reports 2019/20 to 2022/23 (the
baseline itself reports from April 2021), with demand replaying the published volumes up to
the fit's last year. The targets' observation model (`calibration/targets.csv`: rounding,
sampling and definition errors, written before fitting) gives the likelihood; the posterior
is sampled by MCMC (`sim.studies.calibration.posterior`), its medians are the baseline's
values, and its draws (`posterior.csv`) are what runs use for parameter uncertainty. The
posterior predictive distribution of every target (`sim.studies.calibration.predictive`)
gives coverage and CRPS; with `until`, the later figures are a back-test.

Two regimes. The Police (Complaints and Misconduct) Regulations 2020 took effect on
1 February 2020 (T03-26) and changed local handling, so 2019/20 (mostly the old rules) and
2020/21 cannot share one PSU/DPS effort or one PSU case-to-answer share. Those fields are
fitted twice: a `pre2020:`-prefixed parameter (identified by the 2019/20 targets) and the
post-2020 one (identified by the 2020/21 and 2021/22 targets). The scenario's fields hold the
post-2020 values, and its earlier rules (`earlier_rules`, until 2020-02-01) the pre-2020 ones,
for cases received before then; the baseline carries the same rule, so its warm-up runs the
old rules for the cases received under them and it starts from the stocks they left. The
calibration variant (`Problem.scenario(theta, variant=True)`) differs from the baseline
(`variant=False`) only in its reporting window and replayed demand. The `pre2020:` values
are written to parameters.csv and the report, not to `fitted.yaml` (whose values are fields);
the baseline's earlier rule carries them (tests/test_calibration.py checks they agree). When
a post-2020 parameter has no target in the fit window (the `--until 2019/20` back-test) it
carries its pre-2020 twin's value forward, draw by draw; a parameter no target informs keeps
its prior.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.engine.engines import DEFAULT_ENGINE
from sim.engine.run import run_scenario
from sim.engine.summaries import describe
from sim.errors import InputError
from sim.files.shipped import default_calibration_out, shipped_path
from sim.model.fields import flatten, get_path, set_path
from sim.model.scenario import Scenario, load_scenario, resolve_extends
from sim.studies.calibration.derived import COMPLAINTS_2122, derived
from sim.studies.calibration.posterior import (
    BURN,
    MISSING_SD,
    STEPS,
    WALKERS,
    Posterior,
    covariance,
    require_sampler,
    sample,
    summary,
)
from sim.studies.calibration.predictive import Predictive
from sim.studies.calibration.priors import PRIORS
from sim.studies.calibration.targets import VARIANT, Target

DEFAULT_TARGETS = shipped_path("calibration/targets.csv")
DEFAULT_OUT = default_calibration_out()  # never inside site-packages
BASELINE = shipped_path("scenarios/baseline.yaml")
#: replications per likelihood evaluation, at the point, in the pilot run (Monte Carlo
#: variance), and the posterior draws the predictive check runs
FIT_REPS, REPORT_REPS, PILOT_REPS, SEED = 6, 60, 40, 20210401
PREDICTIVE_DRAWS = 100

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
          " time.met.complaints.2122 (S-31)",
          ("time.psu.complaints.2021", "time.met.complaints.2021",
           "time.met.complaints.2122"), False,
          "mean calendar days a PSU complaint investigation holds a slot (2020 regulations)"),
    Param("psu_effort_conduct", {"pools.psu.investigation_days.conduct.mean": 1},
          195, 30, 700, "time.psu.conduct.2021, time.met.conduct.2021",
          ("time.psu.conduct.2021", "time.met.conduct.2021"), False, "2020 regulations"),
    Param("dps_effort_complaints", {"pools.dps.investigation_days.complaints.mean": 1},
          250, 30, 900, "time.dps.complaints.2021, time.met.complaints.2021,"
          " time.met.complaints.2122 (S-31)",
          ("time.dps.complaints.2021", "time.met.complaints.2021",
           "time.met.complaints.2122"), False, "2020 regulations"),
    Param("dps_effort_conduct", {"pools.dps.investigation_days.conduct.mean": 1},
          380, 30, 900, "time.dps.conduct.2021, time.met.conduct.2021",
          ("time.dps.conduct.2021", "time.met.conduct.2021"), False, "2020 regulations"),
    Param("iopc_effort", {"pools.iopc.investigation_days.complaints.mean": 1,
                          "pools.iopc.investigation_days.conduct.mean": 1},
          240, 60, 900, "iopc.within12m.*, time.iopc.complaints.2122 (S-30),"
          " iopc.*_receipt.2122 (S-32)",
          ("iopc.within12m*", "time.iopc.*", "iopc.over18m*"), False,
          "one mean for complaints and conduct (tied)"),
    Param("iopc_effort_cv", {"pools.iopc.investigation_days.complaints.cv": 1,
                             "pools.iopc.investigation_days.conduct.cv": 1},
          0.6, 0.2, 3.0, "iopc.over18m_receipt.2122 (S-32), time.iopc.complaints.2122 (S-30)",
          ("iopc.over18m*", "time.iopc.*"), False,
          "the spread of IOPC investigation lengths (cv of the log-normal; tied)"),
    Param("psu_case_to_answer", {"proceedings.case_to_answer.psu": 1}, 0.30, 0.005, 0.95,
          "hear.meetings.2021, hear.hearings.2021, hear.dismissed.2021",
          ("hear.meetings.2021", "hear.hearings.2021", "hear.dismissed.2021"), False,
          "2020 regulations"),
    Param("dps_case_to_answer", {"proceedings.case_to_answer.dps": 1}, 0.33, 0.005, 0.95,
          "hear.hearings.2021, hear.accelerated.2021, hear.dismissed.2021",
          ("hear.hearings.2021", "hear.accelerated.2021", "hear.dismissed.2021"), False,
          "2020 regulations: DPS cases are gross misconduct (S-11), so their cases to answer"
          " are most of the hearings"),
    Param("hearing_days", {"proceedings.hearing_days.mean": 1}, 240, 30, 600,
          "stock.awaiting.*, hear.hearings.*", ("stock.awaiting.*", "hear.hearings.*"), False,
          "mean days a hearing holds a panel (listing, preparation, hearing)"),
    Param("suspended_scale", {"officers.suspended.iopc": 0.23, "officers.suspended.dps": 0.06},
          1, 0.05, 1.7, "stock.suspended.2106", ("stock.suspended.2106",), False,
          "IOPC:DPS:PSU = 0.23:0.06:0 of gross misconduct cases (ASSUMPTION: 2:1:0 of all"
          " their cases, as before severity; the IOPC's are about half gross misconduct);"
          " at most 1.7, so that with the restricted scale at its bound an IOPC officer's"
          " suspended and restricted shares stay under 1"),
    Param("restricted_scale", {"officers.restricted.iopc": 0.30, "officers.restricted.dps": 0.35,
                               "officers.restricted.psu": 0.45},
          1, 0.05, 2, "stock.restricted.2106", ("stock.restricted.2106",), False,
          "IOPC:DPS:PSU = 0.30:0.35:0.45 of cases subject to special procedures (ASSUMPTION:"
          " PSU's 0.45 is 0.15 of all its cases, as before severity)"),
    Param("psu_work_share", {"pools.psu.investigator_work_share": 1}, 0.5, 0.02, 1.0,
          "time.psu.*, time.met.* (caseloads that moved against fixed staff, 2019/20 to"
          " 2021/22)", ("time.psu.*", "time.met.*"), False,
          "share of a PSU case's time that follows the caseload (both regimes)"),
    Param("dps_work_share", {"pools.dps.investigator_work_share": 1}, 0.5, 0.02, 1.0,
          "time.dps.*, time.met.* (caseloads that moved against fixed staff, 2019/20 to"
          " 2021/22)", ("time.dps.*", "time.met.*"), False,
          "share of a DPS case's time that follows the caseload (both regimes)"),
    Param("panel_work_share", {"proceedings.panels.investigator_work_share": 1}, 0.5, 0.02,
          1.0, "stock.awaiting.*, hear.hearings.*", ("stock.awaiting.*", "hear.hearings.*"),
          False, "share of a hearing's time that follows the chairs' listings"),
    _pre2020_effort("psu", "complaints", 185, 700),
    _pre2020_effort("psu", "conduct", 195, 700),
    _pre2020_effort("dps", "complaints", 250, 900),
    _pre2020_effort("dps", "conduct", 380, 900),
    Param("pre2020_psu_case_to_answer", {f"{PRE2020}proceedings.case_to_answer.psu": 1},
          0.30, 0.005, 0.95,
          "hear.meetings.1920, hear.hearings.1920, hear.dismissed.1920, stock.awaiting.pre",
          ("hear.meetings.1920", "hear.hearings.1920", "hear.dismissed.1920",
           "stock.awaiting.pre"), False,
          "cases received before February 2020 (calibration variant only)"),
    Param("pre2020_dps_case_to_answer", {f"{PRE2020}proceedings.case_to_answer.dps": 1},
          0.33, 0.005, 0.95,
          "hear.hearings.1920, hear.accelerated.1920, hear.dismissed.1920, stock.awaiting.pre",
          ("hear.hearings.1920", "hear.accelerated.1920", "hear.dismissed.1920",
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
    "pools.*.reference_caseload": "the caseload at which a case takes its stated effort is"
    " a unit for the effort: another reference with the same work share rescales the fitted"
    " effort, not the forecast (ASSUMPTION: about each pool's caseload in 2020/21)",
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
    "pools.*.investigation_days.*.cv": "one mean per target; shapes are ASSUMPTIONs, but for"
    " the IOPC's, which S-32's share over 18 months identifies",
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


#: the 2021/22 complaint volume the variant replays when the fit reaches 2021/22 (S-29)
REPLAYED_2122: dict[str, Any] = {"from": "2021-04-01", "value": round(COMPLAINTS_2122 / 12, 2)}
REPLAY_FROM = "2021/22"


def replayed_demand(base: Scenario, until: str | None) -> dict[str, Any]:
    """The variant's demand: the base's published steps (S-01, S-03) up to the fit's last
    year, then S-29's 2021/22 complaint rate when the fit reaches 2021/22. A back-test keeps
    the last rate published inside its window (the forecast's own assumption, whatever
    later steps the base carries), so the later volumes are forecasts to check."""
    end = None if until is None else f"{int(until[:4]) + 1}-04-01"
    changes: dict[str, Any] = {}
    for stream in ("complaints", "conduct"):
        steps = copy.deepcopy(base.to_dict()["demand"][stream]["cases_per_month"])
        if not isinstance(steps, list):
            continue
        kept = [s for s in steps if end is None or str(s["from"]) < end]
        if stream == "complaints":
            kept = [s for s in kept if str(s["from"]) < REPLAYED_2122["from"]]
            if until is None or until >= REPLAY_FROM:
                kept.append(dict(REPLAYED_2122))
        changes[f"demand.{stream}.cases_per_month"] = kept
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
    until: str | None = None  # the last fiscal year of the fit's figures (None: all)

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
        changes = variant_changes(self.base, post, self.variant, pre)
        changes.update(replayed_demand(self.base, self.until))
        return self.base.with_changes(changes, source="the calibration variant")

    def evaluate(self, theta: np.ndarray, reps: int | None = None,
                 seed: int | None = None) -> Evaluation:
        self.evaluations += 1
        result = run_scenario(self.scenario(theta), reps or self.reps,
                              self.seed if seed is None else seed, self.engine)
        years = [label for label, _, _ in result.timeline.fiscal_years]
        months = [m.strftime("%Y-%m") for m in result.timeline.report_months]
        values = {t.target_id: t.values(result.measured, years, months) for t in self.targets}
        return Evaluation(np.asarray(theta, dtype=float), values)

    def residuals(self, ev: Evaluation, targets: list[Target] | None = None,
                  sd: np.ndarray | None = None) -> np.ndarray:
        """Each target's error in standard deviations: of its observation error, or `sd`
        (the fit adds the Monte Carlo variance); a figure the run cannot make counts as
        `MISSING_SD` off."""
        targets = targets or self.fit_targets
        sd = np.array([t.sd for t in targets]) if sd is None else sd
        means = np.array([ev.mean(t) for t in targets])
        published = np.array([t.published for t in targets])
        return np.where(np.isfinite(means), (means - published) / sd, MISSING_SD)


@dataclass
class Fit:
    """A calibration: the posterior, its point (medians), and the model at that point."""

    problem: Problem
    theta: np.ndarray  # posterior medians (the baseline's values); fixed or tied as stated
    cov: np.ndarray  # posterior covariance (zero rows for parameters held fixed)
    evaluation: Evaluation  # the model at `theta`, `report_reps` replications
    nfev: int  # simulations the posterior took
    cost: float  # sum of squared standardised errors at `theta`
    seconds: float
    message: str
    tied: dict[int, int] = field(default_factory=dict)  # carried forward: index -> source
    posterior: Posterior | None = None
    predictive: Predictive | None = None
    free: tuple[bool, ...] = ()

    def sd(self) -> np.ndarray:
        return np.sqrt(np.clip(np.diag(self.cov), 0, None))

    def drawn_as(self, i: int) -> str | None:
        """The posterior column parameter i follows: its own, or its `pre2020:` twin's when
        carried forward; None when it was not sampled (held at its value)."""
        name = (self.problem.params[self.tied[i]] if i in self.tied
                else self.problem.params[i]).name
        return name if self.posterior is not None and name in self.posterior.names else None

    def interval(self) -> tuple[np.ndarray, np.ndarray]:
        """The posterior's 5% and 95% quantiles (the point where held fixed)."""
        lo, hi = self.theta.copy(), self.theta.copy()
        if self.posterior is not None:
            table = summary(self.posterior).set_index("parameter")
            for i in range(len(self.problem.params)):
                source = self.drawn_as(i)
                if source is not None:
                    lo[i], hi[i] = table.loc[source, "p05"], table.loc[source, "p95"]
        return lo, hi


def fit(problem: Problem, report_reps: int = REPORT_REPS,
        progress: Callable[[str], None] | None = None,
        free: tuple[bool, ...] | None = None, walkers: int = WALKERS, steps: int = STEPS,
        predictive_draws: int = PREDICTIVE_DRAWS, burn: int = BURN) -> Fit:
    """The posterior over the parameters (MCMC, `sim.studies.calibration.posterior`):
    every parameter is sampled from its prior and weighed by the fit's targets, except a
    post-2020 parameter with no target in the fit window whose `pre2020:` twin has one,
    which carries the twin's value forward. A parameter no target informs keeps its prior
    (said in the report). Then the point (posterior medians), the model there, and the
    posterior predictive distribution of every target."""
    require_sampler()
    started = time.perf_counter()
    n = len(problem.params)
    free = free if free is not None else (True,) * n
    tied = {i: j for i, j in twins(problem.params).items() if not free[i] and free[j]}
    sampled = [i for i in range(n) if i not in tied]
    names = tuple(problem.params[i].name for i in sampled)

    def full(values: np.ndarray) -> np.ndarray:
        theta = np.array([p.initial for p in problem.params], dtype=float)
        theta[sampled] = values
        for i, j in tied.items():
            theta[i] = theta[j]
        return _rounded(problem.params, theta)

    targets = problem.fit_targets
    medians = np.array([PRIORS[problem.params[i].name].frozen().median() for i in sampled])
    pilot = problem.evaluate(full(medians), reps=PILOT_REPS)
    mc_var = np.array([np.nanvar(pilot.values[t.target_id]) for t in targets]) / problem.reps
    sd = np.sqrt(np.array([t.sd ** 2 for t in targets]) + np.nan_to_num(mc_var))

    def errors(values: np.ndarray) -> np.ndarray:
        return problem.residuals(problem.evaluate(full(values)), targets, sd)

    lower = np.array([problem.params[i].lower for i in sampled], dtype=float)
    upper = np.array([problem.params[i].upper for i in sampled], dtype=float)
    post = sample(names, errors, lower, upper, problem.seed, walkers, steps, burn,
                  progress=progress)
    table = summary(post).set_index("parameter")
    theta = full(np.array([table.loc[name, "p50"] for name in names]))
    cov = np.zeros((n, n))
    cov[np.ix_(sampled, sampled)] = covariance(post)
    for i, j in tied.items():  # the same number: perfectly correlated with its source
        row, var = cov[j, :].copy(), cov[j, j]
        cov[i, :], cov[:, i] = row, row
        cov[i, i] = var
    evaluation = problem.evaluate(theta, reps=report_reps)
    z = problem.residuals(evaluation)
    draws = post.draws.iloc[:predictive_draws]
    predictive = predict(problem, [full(d[list(names)].to_numpy(float))
                                   for _, d in draws.iterrows()])
    return Fit(problem, theta, cov, evaluation, post.simulations,
               float(np.sum(z ** 2)), time.perf_counter() - started,
               f"MCMC (emcee): {walkers} walkers x {steps} steps",
               tied, post, predictive, tuple(free))


def predict(problem: Problem, thetas: list[np.ndarray]) -> Predictive:
    """The posterior predictive of every target: per draw, the model's mean over
    `problem.reps` replications (its own seed) plus the target's observation error."""
    means = np.empty((len(thetas), len(problem.targets)))
    for k, theta in enumerate(thetas):
        ev = problem.evaluate(theta, seed=problem.seed + 1 + k)
        means[k] = [ev.mean(t) for t in problem.targets]
    noise = np.random.default_rng(problem.seed).standard_normal(means.shape)
    sd = np.array([t.sd for t in problem.targets])
    return Predictive([t.target_id for t in problem.targets], means + noise * sd, means)


def _rounded(params: tuple[Param, ...], theta: np.ndarray) -> np.ndarray:
    """Parameters at four significant figures: the fit evaluates what the files hold."""
    lo = np.array([p.lower for p in params])
    hi = np.array([p.upper for p in params])
    return np.array([round_sig(v) for v in np.clip(theta, lo, hi)])


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


__all__ = [
    "BEFORE_2020",
    "BURN",
    "FIXED",
    "PARAMS",
    "PREDICTIVE_DRAWS",
    "REGULATIONS_2020",
    "STEPS",
    "WALKERS",
    "Fit",
    "Param",
    "Problem",
    "fit",
    "is_pre2020",
    "require_sampler",
    "select_targets",
    "twins",
]
