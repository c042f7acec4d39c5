"""Calibration: targets trace to published figures, the machinery recovers a known parameter,
the shipped fit is what the baseline uses and is within tolerance where the report says so,
and parameter uncertainty is reproducible."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import sim.api
from sim.cli import main
from sim.model.scenario import load_scenario, scenario_from_dict
from sim.studies.calibration import fit as cal
from sim.studies.calibration.targets import (
    Target,
    figure_ids,
    load_targets,
    target_figure_ids,
)
from tests.conftest import BASELINE, baseline_dict

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ROOT / "data" / "figures.csv"
SHIPPED = ROOT / "calibration"

#: targets the shipped fit misses (none: every target is within its tolerance; the report
#: also flags the two that would miss at the issue's default tolerances, see
#: calibration/README.md)
KNOWN_FAILURES: set[str] = set()


def test_targets_cite_only_published_figures() -> None:
    known = figure_ids(FIGURES)
    for t in load_targets(cal.DEFAULT_TARGETS):
        for fid in target_figure_ids(t):
            assert fid in known, f"{t.target_id} cites {fid}, not in figures.csv"


def test_targets_resolve_to_model_statistics() -> None:
    """Every target names a metric and period that the calibration variant reports."""
    targets = load_targets(cal.DEFAULT_TARGETS)
    problem = cal.Problem(cal.base_scenario(), cal.PARAMS, targets, targets, reps=1)
    ev = problem.evaluate(np.array([p.initial for p in cal.PARAMS]))
    for t in targets:
        assert ev.values[t.target_id].shape == (1,), t.target_id


def test_recovers_a_known_parameter_from_synthetic_targets() -> None:
    """Targets made by the model at effort 150 days: the fit from 185 finds 150 again."""
    base = scenario_from_dict(copy.deepcopy(baseline_dict()))
    variant = {"name": "tiny", "start": "2019-04-01", "horizon_years": 2, "warmup_years": 1,
               "demand": {"elasticity": 0.0}}
    param = cal.Param("psu_effort", {"pools.psu.investigation_days.complaints.mean": 1},
                      185, 50, 400, "synthetic", ("synthetic*",))
    target = Target("synthetic", "S-06", "psu.complaints.duration_wd.mean", "2020/21", 0.0,
                    1.0, "duration", 0.10, "abs", 1.0, "synthetic")
    problem = cal.Problem(base, (param,), [target], [target], reps=3, seed=5, variant=variant)
    truth = problem.evaluate(np.array([150.0])).values["synthetic"].mean()
    target = Target("synthetic", "S-06", "psu.complaints.duration_wd.mean", "2020/21", truth,
                    1.0, "duration", 0.10, "abs", 1.0, "synthetic")
    problem = cal.Problem(base, (param,), [target], [target], reps=3, seed=5, variant=variant)
    fit = cal.fit(problem, max_nfev=30, report_reps=3)
    assert fit.theta[0] == pytest.approx(150, rel=0.02), "the fit recovers the known effort"
    assert fit.sd()[0] > 0, "an identified parameter gets a positive spread"


def test_until_selects_the_earlier_targets() -> None:
    targets = load_targets(cal.DEFAULT_TARGETS)
    early = cal.select_targets(targets, "2019/20")
    assert early and all(t.last_fiscal_year() <= "2019/20" for t in early)
    assert any(t.period == "2020-02" for t in early), "a month counts in its fiscal year"
    free = cal.identified(cal.PARAMS, early)
    names = {p.name for p, f in zip(cal.PARAMS, free, strict=True) if not f}
    assert {"iopc_effort", "suspended_scale", "restricted_scale"} <= names, (
        "parameters with no target before 2020/21 stay at their initial values")
    assert "psu_effort_complaints" in names and "pre2020_psu_effort_complaints" not in names, (
        "post-2020 parameters have no target there (they carry the pre-2020 estimate)")


def test_the_regime_change_is_an_earlier_rule_in_the_variant_and_the_baseline() -> None:
    """The fields take the post-2020 values and the earlier rule until February 2020 the
    pre-2020 ones, in the calibration variant and the baseline alike (so the baseline's
    warm-up runs the old rules for the cases received under them)."""
    targets = load_targets(cal.DEFAULT_TARGETS)
    problem = cal.Problem(cal.base_scenario(), cal.PARAMS, targets, targets, reps=1)
    theta = np.array([p.initial for p in cal.PARAMS])
    names = [p.name for p in cal.PARAMS]
    theta[names.index("psu_effort_complaints")] = 200.0
    theta[names.index("pre2020_psu_effort_complaints")] = 120.0
    path = "pools.psu.investigation_days.complaints.mean"
    for scenario in (problem.scenario(theta), problem.scenario(theta, variant=False)):
        assert scenario.pools.psu.investigation_days.complaints.mean == 200.0
        assert not scenario.levers
        (rule,) = scenario.earlier_rules
        assert rule.name == cal.BEFORE_2020
        assert str(rule.until) == "2020-02-01" and rule.set[path] == 120.0
        assert "proceedings.case_to_answer.psu" in rule.set, "case to answer changes with it"
        assert "proceedings.proven.meeting" not in rule.set, (
            "proven shares are pooled: proceedings in both years were of pre-2020 cases")
    assert all(not cal.is_pre2020(k) for k, _ in _leaves(yaml.safe_load(
        (SHIPPED / "fitted.yaml").read_text()))), "pre2020: values stay out of the overlay"
    assert cal.twins(cal.PARAMS) and all(
        cal.PARAMS[j].name == "pre2020_" + cal.PARAMS[i].name
        for i, j in cal.twins(cal.PARAMS).items())


def test_the_baselines_earlier_rule_holds_the_shipped_pre2020_estimates() -> None:
    """The baseline's rule for cases received before the 2020 regulations carries the fit's
    `pre2020:` estimates (calibration/parameters.csv, as rounded there), and nothing else."""
    params = pd.read_csv(SHIPPED / "parameters.csv")
    pre = params[params.parameter.str.startswith("pre2020_")]
    expected = {paths.split(" x ")[0].removeprefix(cal.PRE2020): estimate
                for paths, estimate in zip(pre.paths, pre.estimate, strict=True)}
    (rule,) = load_scenario(BASELINE).earlier_rules
    assert rule.name == cal.BEFORE_2020 and str(rule.until) == "2020-02-01"
    assert rule.set == pytest.approx(expected, rel=1e-9)


def test_derived_shares_sum_to_one() -> None:
    values = cal.derived_values()
    for group in cal.SHARE_GROUPS:
        assert abs(sum(values[p] for p in group) - 1) < 1e-6, group


def _leaves(node, prefix=""):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaves(v, f"{prefix}{k}.")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _leaves(v, f"{prefix}{i}.")
    else:
        yield prefix[:-1], node


def test_baseline_uses_the_shipped_fit() -> None:
    """Every value in calibration/fitted.yaml is the baseline's value for that field."""
    overlay = yaml.safe_load((SHIPPED / "fitted.yaml").read_text())
    base = baseline_dict()
    for path, value in _leaves(overlay):
        expected = pytest.approx(value, rel=1e-9, abs=1e-9) if isinstance(
            value, int | float) and not isinstance(value, bool) else value
        assert cal.get_path(base, path) == expected, (
            f"baseline.yaml {path} differs from calibration/fitted.yaml")
    text = BASELINE.read_text()
    assert "calibration/fitted.yaml" in text, "the baseline says where its fitted values are"


def test_a_tolerance_other_than_the_default_is_argued_from_precision() -> None:
    """The issue's tolerances hold unless a target argues another from the data's own
    precision; the argued ones are 2.81 standard deviations (95% family-wise over the
    ten small-sample targets) and carry the weight that keeps residuals in deviations."""
    z = 2.807  # Bonferroni: norm.ppf(1 - 0.05 / 20)
    argued = [t for t in load_targets(cal.DEFAULT_TARGETS)
              if not np.isclose(t.tolerance_abs, t.default_tolerance_abs)]
    assert len(argued) == 10 and {t.kind for t in argued} == {"count", "share"}
    for t in argued:
        assert "precision" in t.basis and "family-wise" in t.basis, t.target_id
        if t.kind == "count":
            sd = np.sqrt(t.published)
        else:
            n = int(t.basis.split("precision on ")[1].split()[0])
            sd = np.sqrt(t.published * (1 - t.published) / n)
        assert t.tolerance_abs == pytest.approx(z * sd, rel=0.03), t.target_id
        assert t.weight == pytest.approx((z / 2) ** 2, abs=0.01), t.target_id


def test_shipped_fit_is_within_tolerance_but_for_documented_misses() -> None:
    report = pd.read_csv(SHIPPED / "report.csv")
    targets = load_targets(cal.DEFAULT_TARGETS)
    assert list(report.target_id) == [t.target_id for t in targets], "report covers targets"
    failed = set(report.target_id[~report["pass"]])
    assert failed <= KNOWN_FAILURES, f"targets newly outside tolerance: {failed - KNOWN_FAILURES}"
    for t in targets:
        row = report[report.target_id == t.target_id].iloc[0]
        inside = abs(row.model_mean - t.published) <= t.tolerance_abs + 1e-9
        assert bool(row["pass"]) == inside, f"{t.target_id}: pass column disagrees"
        at_default = abs(row.model_mean - t.published) <= t.default_tolerance_abs + 1e-9
        assert bool(row.pass_at_default) == at_default, f"{t.target_id}: default column"
    params = pd.read_csv(SHIPPED / "parameters.csv")
    assert (params.p05 <= params.estimate).all() and (params.estimate <= params.p95).all()


def test_parameter_uncertainty_is_reproducible_and_spreads(tmp_path: Path) -> None:
    from sim.engine.run import run_scenario
    from sim.studies.parameter_uncertainty import run_with_parameter_uncertainty

    d = copy.deepcopy(baseline_dict())
    d.update(horizon_years=1, warmup_years=1)
    s = scenario_from_dict(d)
    a = run_with_parameter_uncertainty(s, 4, 3, "compiled", SHIPPED, reps_per_draw=2)
    b = run_with_parameter_uncertainty(s, 4, 3, "compiled", SHIPPED, reps_per_draw=2)
    plain = run_scenario(s, 4, 3, "compiled")
    metric = "officers.restricted.mean"
    np.testing.assert_array_equal(a.measured.summary[metric], b.measured.summary[metric])
    assert not np.array_equal(a.measured.summary[metric], plain.measured.summary[metric]), (
        "drawn parameters change the replications")


def test_calibrate_rejects_a_bad_year(capsys) -> None:
    assert main(["calibrate", "--until", "2019-20"]) == 2
    assert "--until" in capsys.readouterr().err


@pytest.mark.slow
def test_calibrate_reproduces_the_shipped_fit(tmp_path: Path) -> None:
    settings = json.loads((SHIPPED / "calibration.json").read_text())
    fit = sim.api.calibrate(out=tmp_path, reps=settings["fit_reps"],
                            report_reps=settings["report_reps"], seed=settings["seed"],
                            engine=settings["engine"],
                            max_evals=settings["max_nfev"]).result
    shipped = pd.read_csv(SHIPPED / "parameters.csv")
    np.testing.assert_allclose(fit.theta, shipped.estimate.to_numpy(), rtol=1e-9)
