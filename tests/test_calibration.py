"""Calibration: targets trace to published figures with an observation model, the posterior
recovers a known parameter, the predictive scores are right, the shipped posterior is what
the baseline and the runs use, and parameter uncertainty is reproducible."""

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
from sim.studies.calibration.posterior import moving_walkers
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


def test_the_posterior_recovers_a_known_parameter_from_synthetic_targets() -> None:
    """A figure made by the model at effort 150 days, with a 3% observation error: the
    posterior (prior median 198 days) holds 150 in its 90% range and is far narrower than
    the prior (log-sd 0.5, a 90% range of about 87 to 450 days)."""
    base = scenario_from_dict(copy.deepcopy(baseline_dict()))
    variant = {"name": "tiny", "start": "2019-04-01", "horizon_years": 2, "warmup_years": 1,
               "demand": {"elasticity": 0.0}}
    param = cal.Param("psu_effort_complaints",
                      {"pools.psu.investigation_days.complaints.mean": 1},
                      185, 50, 400, "synthetic", ("synthetic*",))

    def target(published: float) -> Target:
        return Target("synthetic", "S-06", "psu.complaints.duration_wd.mean", "2020/21",
                      published, 1.0, "duration", "abs", 0.0, 0.0, 3.0, "synthetic")

    problem = cal.Problem(base, (param,), [target(1.0)], [target(1.0)], reps=3, seed=5,
                          variant=variant)
    truth = problem.evaluate(np.array([150.0])).values["synthetic"].mean()
    problem = cal.Problem(base, (param,), [target(truth)], [target(truth)], reps=3, seed=5,
                          variant=variant)
    fit = cal.fit(problem, report_reps=3, walkers=4, steps=60, predictive_draws=10, burn=20)
    lo, hi = fit.interval()
    assert lo[0] <= 150 <= hi[0], f"the 90% range {lo[0]:.0f} to {hi[0]:.0f} holds the truth"
    assert hi[0] - lo[0] < 60, "the figure narrows the prior's range of about 360 days"
    assert fit.predictive is not None and fit.predictive.samples.shape == (10, 1)


def test_crps_matches_the_normal_closed_form() -> None:
    """CRPS of N(mu, sigma) at y is sigma (z (2 Phi(z) - 1) + 2 phi(z) - 1/sqrt(pi)). From
    200,000 samples the estimate's relative error has a standard deviation of at most 0.2%
    (measured over 30 seeds at these three points), so 1% is five of them; and on a small
    sample the sorted-sample identity equals the pairwise definition to rounding."""
    from scipy import stats

    from sim.studies.calibration.predictive import crps

    rng = np.random.default_rng(1)
    mu, sigma = 10.0, 2.0
    x = rng.normal(mu, sigma, 200_000)
    for y in (10.0, 12.5, 4.0):
        z = (y - mu) / sigma
        exact = sigma * (z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z)
                         - 1 / np.sqrt(np.pi))
        assert crps(x, y) == pytest.approx(exact, rel=0.01)
    small = rng.gamma(2.0, 3.0, 300)
    pairwise = np.mean(np.abs(small - 5.0)) - 0.5 * np.mean(np.abs(small[:, None] - small))
    assert crps(small, 5.0) == pytest.approx(pairwise, rel=1e-9)
    assert crps(np.array([3.0]), 5.0) == pytest.approx(2.0), "a point forecast: |error|"


def test_predictive_checks_count_coverage() -> None:
    from sim.studies.calibration.predictive import Predictive, checks, scores

    samples = np.tile(np.arange(101.0), (2, 1)).T  # 0..100 for two targets
    table = checks(Predictive(["a", "b"], samples, samples), {"a": 50.0, "b": 97.0})
    assert list(table.in_50) == [True, False] and list(table.in_90) == [True, False]
    s = scores(table)
    assert s["coverage_50"] == 0.5 and s["coverage_90"] == 0.5 and s["targets"] == 2


def test_the_observation_model_adds_its_parts() -> None:
    """Each target's error variance is the sum of its three parts, each argued in its
    basis; sampling parts follow Poisson counts and binomial shares."""
    for t in load_targets(cal.DEFAULT_TARGETS):
        parts = np.array([t.rounding_sd, t.sampling_sd, t.definition_sd])
        unit = abs(t.published) if t.sd_type == "rel" else 1.0
        assert t.sd == pytest.approx(np.sqrt(np.sum(parts**2)) * unit), t.target_id
        assert t.tolerance_abs == pytest.approx(2 * t.sd)
        assert "sampling" in t.basis and "definition" in t.basis, t.target_id
        if t.kind in ("count", "volume") or t.kind == "stock":
            assert t.sampling_sd == pytest.approx(1 / np.sqrt(t.published), rel=1e-3), (
                f"{t.target_id}: Poisson sampling")
        if t.kind == "share":
            n = int(t.basis.split("binomial on about n = ")[1].split(":")[0])
            assert t.sampling_sd == pytest.approx(
                np.sqrt(t.published * (1 - t.published) / n), rel=1e-3), t.target_id


def test_until_selects_the_earlier_targets() -> None:
    targets = load_targets(cal.DEFAULT_TARGETS)
    early = cal.select_targets(targets, "2019/20")
    assert early and all(t.last_fiscal_year() <= "2019/20" for t in early)
    assert any(t.period == "2020-02" for t in early), "a month counts in its fiscal year"
    free = cal.identified(cal.PARAMS, early)
    names = {p.name for p, f in zip(cal.PARAMS, free, strict=True) if not f}
    assert {"iopc_effort", "suspended_scale", "restricted_scale"} <= names, (
        "parameters with no target before 2020/21 keep their priors")
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


def test_the_shipped_report_holds_the_predictive_checks() -> None:
    """report.csv covers every target; its pass column is the 2-sd test at the point; its
    coverage is what calibration.json reports; the point lies inside the posterior range."""
    report = pd.read_csv(SHIPPED / "report.csv")
    targets = load_targets(cal.DEFAULT_TARGETS)
    assert list(report.target_id) == [t.target_id for t in targets], "report covers targets"
    for t in targets:
        row = report[report.target_id == t.target_id].iloc[0]
        inside = abs(row.model_mean - t.published) <= t.tolerance_abs + 1e-9
        assert bool(row["pass"]) == inside, f"{t.target_id}: pass column disagrees"
        assert row.predictive_p05 <= row.predictive_p50 <= row.predictive_p95
        assert bool(row.in_90) == (row.predictive_p05 <= t.published <= row.predictive_p95)
    settings = json.loads((SHIPPED / "calibration.json").read_text())
    fitted = report[report.in_fit]
    assert settings["predictive"]["coverage_90"] == pytest.approx(fitted.in_90.mean())
    params = pd.read_csv(SHIPPED / "parameters.csv")
    assert (params.p05 <= params.estimate).all() and (params.estimate <= params.p95).all()
    draws = pd.read_csv(SHIPPED / "posterior.csv")
    assert list(draws.columns) == ["draw", *params.parameter], "one column per parameter"
    assert ((draws[params.parameter] >= params.lower_bound.to_numpy())
            & (draws[params.parameter] <= params.upper_bound.to_numpy())).all().all()


def test_the_shipped_backtests_forecast_every_later_figure() -> None:
    """backtest.csv of each shipped back-test: the issue's columns, every figure after the
    fit window, none inside it."""
    targets = load_targets(cal.DEFAULT_TARGETS)
    for until in ("2019/20", "2020/21"):
        folder = SHIPPED / f"backtest-{until.replace('/', '-')}"
        back = pd.read_csv(folder / "backtest.csv")
        assert {"target_id", "metric", "period", "published", "mean", "p05", "p50",
                "p95"} <= set(back.columns)
        later = [t.target_id for t in targets if t.last_fiscal_year() > until]
        assert list(back.target_id) == later, until
        assert (back.p05 <= back.p50).all() and (back.p50 <= back.p95).all()
        by_year = json.loads((folder / "calibration.json").read_text())["backtest_by_year"]
        assert sorted(by_year) == sorted(back.fiscal_year.unique())
        for year, rows in back.groupby("fiscal_year"):
            assert by_year[year]["targets"] == len(rows)
            assert by_year[year]["mape"] == pytest.approx(rows.abs_pct_error.mean(), rel=1e-5)
            assert by_year[year]["coverage_90"] == pytest.approx(rows.in_90.mean())


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


def test_each_replication_draws_its_own_parameters_by_default() -> None:
    """Replications that shared a draw would be correlated, and a comparison's intervals,
    which treat them as independent, too narrow: by default each has its own."""
    from sim.cli import build_parser
    from sim.studies.parameter_uncertainty import load_posterior, parameter_groups

    s = scenario_from_dict(copy.deepcopy(baseline_dict()))
    groups = parameter_groups(s, 4, 3, load_posterior(SHIPPED))
    assert [list(g.reps) for g in groups] == [[0], [1], [2], [3]]
    for command in ("run", "compare", "target", "brief"):
        argv = {"run": [], "compare": ["a", "b"], "brief": [],
                "target": ["s", "--lever", "x", "--metric", "m", "--year", "2021/22",
                           "--at-most", "1"]}[command]
        assert build_parser().parse_args([command, *argv]).reps_per_draw == 1, command


def test_a_backtest_replays_only_the_demand_published_in_its_window() -> None:
    """Up to 2019/20 the variant keeps 2019/20's rates (S-01, S-03), not the later steps the
    baseline carries; up to 2020/21 it keeps 2020/21's; the full fit replays S-29's 2021/22
    complaint rate."""
    base = load_scenario(BASELINE)

    def starts(until: str | None, stream: str) -> list[str]:
        return [str(x["from"]) for x in
                cal.replayed_demand(base, until)[f"demand.{stream}.cases_per_month"]]

    assert starts("2019/20", "complaints") == starts("2019/20", "conduct") == ["2018-04-01"]
    assert starts("2020/21", "complaints") == ["2018-04-01", "2020-04-01"]
    assert starts(None, "complaints") == ["2018-04-01", "2020-04-01", "2021-04-01"]
    assert cal.replayed_demand(base, None)["demand.complaints.cases_per_month"][-1][
        "value"] == pytest.approx(7216 / 12, abs=0.01), "S-29"


def test_the_dps_step_of_november_2021_cannot_place_the_dps_work_share() -> None:
    """Why the fit does not carry T02-22 (50 more DPS investigators from 1 November 2021)
    to identify the DPS work share (README, "Capacity"): at the share's posterior 95%
    point, where staff matter most, the step moves no fitted figure of 2021/22 or May 2022
    by half its observation error (measured: at most 0.25, restricted officers in May 2022;
    S-31's Met-run mean by 0.02), so no fit could tell that share from one near 0. The
    DPS's own later times, which would, are outcomes kept out of the register. Common
    random numbers (one seed) keep the difference's noise below a tenth of a deviation at
    40 replications."""
    targets = load_targets(cal.DEFAULT_TARGETS)
    late = [t for t in targets if t.period in ("2021/22", "2022-05")]
    problem = cal.Problem(cal.base_scenario(), cal.PARAMS, targets, late, reps=40, seed=7)
    shipped = pd.read_csv(SHIPPED / "parameters.csv").set_index("parameter")
    theta = np.array([shipped.loc[p.name, "estimate"] for p in cal.PARAMS])
    theta[[p.name for p in cal.PARAMS].index("dps_work_share")] = shipped.loc[
        "dps_work_share", "p95"]
    without = problem.evaluate(theta)
    problem.base = problem.base.with_changes(
        {"pools.dps.staff": [{"from": "2018-04-01", "value": 100},
                             {"from": "2021-11-01", "value": 150}]}, source="T02-22")
    with_step = problem.evaluate(theta)
    assert len(late) >= 8, [t.target_id for t in late]
    moves = {t.target_id: (with_step.mean(t) - without.mean(t)) / t.sd for t in late}
    assert max(abs(m) for m in moves.values()) < 0.5, moves
    assert moves["stock.restricted.2206"] < 0, moves  # the step does act: faster DPS cases


@pytest.mark.parametrize(("flags", "words"), [
    (["--walkers", "10"], ("field '--walkers'", "at least 40", "got: 10")),
    (["--burn-in", "-1"], ("field '--burn-in'", "at least 0", "got: -1")),
    (["--steps", "50", "--burn-in", "45"], ("field '--steps'", "at least 55", "got: 50")),
])
def test_calibrate_refuses_a_sampler_too_small(tmp_path, capsys, flags, words) -> None:
    """Before any simulation (and into a scratch folder, were it to start)."""
    assert main(["calibrate", "--quiet", "--out", str(tmp_path / "cal"), *flags]) == 2
    assert not (tmp_path / "cal").exists()
    err = capsys.readouterr().err
    assert all(w in err for w in words), err


def test_calibrate_rejects_a_bad_year(capsys) -> None:
    assert main(["calibrate", "--until", "2019-20"]) == 2
    assert "--until" in capsys.readouterr().err


@pytest.mark.slow
def test_calibrate_reproduces_the_shipped_posterior(tmp_path: Path) -> None:
    """The shipped posterior, from its seed and settings: the same draws, the same summary
    (about 25 minutes on two cores: 600 steps)."""
    settings = json.loads((SHIPPED / "calibration.json").read_text())
    saved = sim.api.calibrate(out=tmp_path, reps=settings["fit_reps"],
                              report_reps=settings["report_reps"], seed=settings["seed"],
                              engine=settings["engine"], walkers=settings["walkers"],
                              steps=settings["steps"], burn_in=settings["burn_in"])
    assert saved.folder == tmp_path
    for name in ("parameters.csv", "posterior.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / name),
                                      pd.read_csv(SHIPPED / name), rtol=1e-9, obj=name)


def test_a_walker_that_never_moves_is_left_out() -> None:
    """A walker stuck on a spike of the Monte Carlo likelihood is not sampling the
    posterior: `moving_walkers` keeps every walker that moved at least once."""
    rng = np.random.default_rng(1)
    chain = rng.normal(size=(20, 5, 3))
    chain[:, 2, :] = chain[0, 2, :]  # walker 2 never moves
    chain[1:, 4, 0] = chain[0, 4, 0]  # walker 4 moves in two parameters only: it moved
    assert moving_walkers(chain).tolist() == [True, True, False, True, True]


def test_every_corner_of_the_fitted_bounds_is_a_valid_scenario() -> None:
    """The sampler may propose any point inside the bounds, so each must make a scenario:
    at the bounds of the officers' scales (the pair that could push an officer's suspended
    and restricted shares over 1) and of every other parameter, the baseline validates."""
    base = cal.base_scenario()
    lower = np.array([p.lower for p in cal.PARAMS])
    upper = np.array([p.upper for p in cal.PARAMS])
    for theta in (lower, upper):
        values = cal.param_values(cal.PARAMS, theta)
        post = {k: v for k, v in values.items() if not cal.is_pre2020(k)}
        pre = {k: v for k, v in values.items() if cal.is_pre2020(k)}
        base.with_changes({**post, "earlier_rules": cal.earlier_rules_with(base, pre)},
                          source="a corner of the bounds")
