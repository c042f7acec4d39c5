"""Write a calibration: the overlay, the posterior, the predictive checks, charts, a page.

Files (each written whole, atomically): `fitted.yaml` (the scenario overlay: derived values
and posterior medians, each commented with its source), `parameters.csv` (posterior median,
mean, sd, 90% range and prior), `posterior.csv` (equal-weight draws, used by runs),
`covariance.csv`, `report.csv` (per target: observation model, the model at the point, the
posterior predictive quantiles, coverage, CRPS), `backtest.csv` and `backtest.txt` (with
`--until`: the later figures against the forecast), `predictive_check.png`, `posterior.png`,
`report.html` and `calibration.json` (settings, scores, chains).
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.files.shipped import shipped_path
from sim.files.writing import write_text_atomic
from sim.outputs.plots import save_png
from sim.outputs.run_report import fmt, html_table, image, page
from sim.studies.brief import figure_sources
from sim.studies.calibration.derived import derived
from sim.studies.calibration.fit import (
    FIXED,
    REGULATIONS_2020,
    Fit,
    base_dict,
    derived_values,
    is_pre2020,
    overlay_of,
    param_values,
    round_sig,
    with_values,
)
from sim.studies.calibration.posterior import summary
from sim.studies.calibration.predictive import checks, scores
from sim.studies.calibration.priors import PRIORS

OVERLAY_HEADER = """\
# Calibrated values for the baseline, written by `ccsim calibrate` (do not edit by hand).
# Derived: computed from published figures (data/figures.csv ids), arithmetic shown.
# FITTED: posterior medians (MCMC against calibration/targets.csv and its observation
# model); calibration/report.html shows the fit, calibration/parameters.csv the 90% ranges
# and calibration/posterior.csv the draws that runs use unless --fixed-parameters.
# scenarios/baseline.yaml holds the same values (tests/test_calibration.py checks it).
"""


def fit_table(fit: Fit) -> pd.DataFrame:
    """Per target: the observation model, the model at the point (posterior medians), and
    the posterior predictive check (`sim.studies.calibration.predictive`)."""
    ev, fitted_ids = fit.evaluation, {t.target_id for t in fit.problem.fit_targets}
    check = (checks(fit.predictive, {t.target_id: t.published for t in fit.problem.targets})
             .set_index("target_id") if fit.predictive is not None else None)
    rows = []
    for t in fit.problem.targets:
        d = ev.describe(t)
        mean = d["mean"]
        err = mean - t.published
        row = {
            "target_id": t.target_id, "figure_id": t.figure_id, "metric": t.metric,
            "period": t.period, "fiscal_year": t.last_fiscal_year(), "kind": t.kind,
            "published": t.published, "sd": t.sd,
            "model_mean": mean, "model_p05": d["p05"], "model_p95": d["p95"], "error": err,
            "error_rel": err / t.published if t.published else np.nan,
            "error_sd": err / t.sd,
            "pass": bool(np.isfinite(mean) and abs(err) <= t.tolerance_abs + 1e-12),
            "pass_at_default": bool(np.isfinite(mean)
                                    and abs(err) <= t.default_tolerance_abs + 1e-12),
            "in_fit": t.target_id in fitted_ids,
        }
        if check is not None:
            c = check.loc[t.target_id]
            row.update({f"predictive_{k}": c[k] for k in
                        ("mean", "p05", "p25", "p50", "p75", "p95")})
            row.update({k: c[k] for k in ("in_50", "in_90", "abs_pct_error", "crps",
                                          "crps_rel")})
        row["basis"] = t.basis
        rows.append(row)
    return pd.DataFrame(rows)


def _carried_note(fit: Fit, i: int) -> str:
    return (f"carried forward from {fit.problem.params[fit.tied[i]].name}: no target in the"
            " fit window")


def parameter_table(fit: Fit, free: tuple[bool, ...]) -> pd.DataFrame:
    """One row per parameter: the point (posterior median), the posterior's mean, sd and 90%
    range, and the prior; `pre2020:` rows (calibration variant only) included."""
    lo, hi = fit.interval()
    post = (summary(fit.posterior).set_index("parameter") if fit.posterior is not None
            else pd.DataFrame())
    rows = []
    for i, p in enumerate(fit.problem.params):
        drawn_as = fit.drawn_as(i)
        source = drawn_as or p.name
        drawn = drawn_as is not None
        note = "; ".join(x for x in (p.note, _carried_note(fit, i) if i in fit.tied else "",
                                     "" if free[i] or i in fit.tied else
                                     "no target in the fit window: the posterior is its prior")
                         if x)
        rows.append({
            "parameter": p.name, "paths": "; ".join(f"{k} x {v:g}" for k, v in p.paths.items()),
            "estimate": fit.theta[i],
            "posterior_mean": post.loc[source, "mean"] if drawn else fit.theta[i],
            "sd": post.loc[source, "sd"] if drawn else 0.0,
            "p05": lo[i], "p95": hi[i], "prior": PRIORS[source].describe(),
            "initial": p.initial, "lower_bound": p.lower, "upper_bound": p.upper,
            "fitted": free[i], "identified_by": p.targets, "note": note,
        })
    return pd.DataFrame(rows)


def overlay_yaml(fit: Fit, free: tuple[bool, ...]) -> str:
    """The overlay: derived then fitted values, nested as in a scenario, commented. The
    fitted `pre2020:` values (calibration variant only) are left out: the baseline continues
    the 2020 regulations."""
    dvals = derived_values()
    pvals = {k: v for k, v in param_values(fit.problem.params, fit.theta).items()
             if not is_pre2020(k)}
    comments = {d.path: f"{d.sources}: {d.arithmetic}" for d in derived()}
    lo, hi = fit.interval()
    for i, p in enumerate(fit.problem.params):
        for path, coef in p.paths.items():
            span = f"(90% range {round_sig(lo[i] * coef, 3)} to {round_sig(hi[i] * coef, 3)})"
            if free[i]:
                comments[path] = f"FITTED to {p.targets} {span}"
            elif i in fit.tied:
                comments[path] = (f"{_carried_note(fit, i)}; FITTED to"
                                  f" {fit.problem.params[fit.tied[i]].targets} {span}")
            else:
                comments[path] = "not fitted (no target in the fit window): initial value"
    full = with_values(base_dict(), {**dvals, **pvals})
    tree = overlay_of(full, [*dvals, *pvals])
    return OVERLAY_HEADER + "\n".join(_emit(tree, comments, "", 0)) + "\n"


def _emit(node: dict[str, Any], comments: dict[str, str], prefix: str, depth: int) -> list[str]:
    pad, out = "  " * depth, []
    for key, value in node.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out.append(f"{pad}{key}:")
            out += _emit(value, comments, f"{path}.", depth + 1)
        elif isinstance(value, list):
            out.append(f"{pad}{key}:")
            for i, item in enumerate(value):
                flow = ", ".join(f"{k}: {v}" for k, v in item.items())
                note = comments.get(f"{path}.{i}.value", "")
                out.append(f"{pad}  - {{{flow}}}" + (f"  # {note}" if note else ""))
        else:
            note = comments.get(path, "")
            out.append(f"{pad}{key}: {value}" + (f"  # {note}" if note else ""))
    return out


def chart(table: pd.DataFrame, path: Path) -> None:
    """The posterior predictive check per target, relative to the published figure (1):
    thick bar the 50% interval, thin line the 90%, dot the predictive mean; green when the
    published figure is inside the 90% interval, red when not; hollow when not in the fit."""
    n = len(table)
    fig = Figure(figsize=(9, 0.28 * n + 1.5), layout="constrained")
    ax = fig.subplots()
    y = np.arange(n)[::-1]
    pub = np.abs(table.published.to_numpy(float))
    colours = np.where(table.in_90, "#2e8b57", "#d1495b")
    ax.hlines(y, table.predictive_p05 / pub, table.predictive_p95 / pub, color=colours, lw=1,
              label="predictive 90%")
    ax.hlines(y, table.predictive_p25 / pub, table.predictive_p75 / pub, color=colours, lw=4,
              label="predictive 50%")
    inside = table.in_fit.to_numpy(bool)
    ratio = table.predictive_mean.to_numpy(float) / pub
    ax.scatter(ratio[inside], y[inside], c="#222", zorder=3, s=14, label="predictive mean")
    ax.scatter(ratio[~inside], y[~inside], facecolors="white", edgecolors="#222", zorder=3,
               s=18, label="predictive mean (not in the fit: a forecast)")
    ax.axvline(1, color="#1b6ca8", lw=1)
    ax.set_yticks(y, [f"{a} ({p})" for a, p in zip(table.target_id, table.figure_id,
                                                   strict=True)], fontsize=7)
    ax.set_xlabel("predicted / published (1 = the published figure)")
    ax.set_title("Posterior predictive check, per calibration target")
    ax.legend(loc="lower right", fontsize=7, frameon=False)
    save_png(fig, path)


def posterior_chart(fit: Fit, path: Path) -> None:
    """Prior (line) and posterior (histogram of the draws) of each sampled parameter."""
    assert fit.posterior is not None
    names = list(fit.posterior.names)
    cols = 4
    rows = -(-len(names) // cols)
    fig = Figure(figsize=(11, 2.1 * rows + 0.6), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, name in zip(axes, names, strict=False):
        x = fit.posterior.draws[name].to_numpy(float)
        prior = PRIORS[name].frozen()
        lo, hi = np.asarray(prior.ppf([0.01, 0.99]), float)
        lo, hi = min(lo, x.min()), max(hi, x.max())
        grid = np.linspace(lo, hi, 200)
        ax.hist(x, bins=25, density=True, color="#1b6ca8", alpha=0.6, label="posterior")
        ax.plot(grid, prior.pdf(grid), color="#d1495b", lw=1.2, label="prior")
        ax.set_title(name, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_yticks([])
    for ax in axes[len(names):]:
        ax.set_visible(False)
    axes[0].legend(fontsize=7, frameon=False)
    fig.suptitle("Priors and posteriors of the fitted parameters", fontsize=10)
    save_png(fig, path)


#: a register source that names a stored document by its file: "004_….txt (its title)"
_STORED_DOCUMENT = re.compile(r"\S+\.txt \((?P<title>.+)\)")
_WEB_ADDRESS = re.compile(r"https?://(?:www\.)?(?P<host>[^/\s]+)\S*")


def source_title(source: str) -> str:
    """A register source as a reader can look it up: the title of a document the register
    names by its file, otherwise the citation as the register gives it."""
    found = _STORED_DOCUMENT.fullmatch(source.strip())
    return found["title"] if found else source.strip()


def _source_html(source: str) -> str:
    title = source_title(source)
    web = _WEB_ADDRESS.fullmatch(title)
    if web:  # the register gives only an address: link it under its site's name
        return f"<a href='{html.escape(title)}'>{html.escape(web['host'])}</a>"
    return html.escape(title)


def _cited_ids(figure_id: str) -> list[str]:
    """The ids a target's figure column cites, as `target_figure_ids` reads them."""
    return [part.strip() for part in figure_id.split("+")]


def cited_figures_html(figure_id: str, register: dict[str, dict]) -> str:
    """Each figure a target cites (`S-02+S-04` cites two): id, what it is, its value and
    period as published, and its source, so a reader need not look the id up."""
    parts = []
    for fid in _cited_ids(figure_id):
        row = register.get(fid)
        if row is None:
            parts.append(f"<b>{html.escape(fid)}</b> (not in data/figures.csv)")
            continue
        parts.append(f"<b>{html.escape(fid)}</b>: {html.escape(row['figure'])} ="
                     f" {html.escape(row['value'])} ({html.escape(row['period'])}); source:"
                     f" {_source_html(row['source'])}")
    return "<br>".join(parts)


def _target_cells(r: pd.Series, register: dict[str, dict]) -> list[str]:
    return [html.escape(r.target_id), cited_figures_html(r.figure_id, register),
            html.escape(r.metric), r.period, fmt(r.published), fmt(r.sd),
            fmt(r.predictive_mean), f"{fmt(r.predictive_p25)} to {fmt(r.predictive_p75)}",
            f"{fmt(r.predictive_p05)} to {fmt(r.predictive_p95)}",
            "yes" if r.in_90 else "<span class='sig'>no</span>",
            f"{r.abs_pct_error:.1%}", fmt(r.crps), f"{r.error_sd:+.1f}",
            "yes" if r.in_fit else "no (forecast)", html.escape(r.basis)]


def target_table_html(targets: pd.DataFrame, figures: Path | None = None) -> str:
    """The target table (one row per row of `report.csv`), each cited figure shown with its
    value and source from the figures register (default: the shipped data/figures.csv)."""
    ids = {fid for cited in targets.figure_id for fid in _cited_ids(cited)}
    register = figure_sources(figures or shipped_path("data/figures.csv"), ids)
    header = ["target", "published figure (id: value, period; source)", "model metric",
              "period", "published", "error sd", "predictive mean", "predictive 50%",
              "predictive 90%", "inside 90%", "abs. % error", "CRPS",
              "point error (sd)", "in fit", "observation model"]
    return html_table(header, (_target_cells(r, register) for _, r in targets.iterrows()),
                      notes={1, 14})


def _params_html(params: pd.DataFrame) -> str:
    rows = ([r.parameter, fmt(r.estimate), f"{fmt(r.p05)} to {fmt(r.p95)}", fmt(r.sd),
             html.escape(r.prior), html.escape(r.identified_by),
             html.escape(r.paths) + (f"; {html.escape(r.note)}" if r.note else "")]
            for _, r in params.iterrows())
    header = ["parameter", "posterior median", "posterior 90%", "posterior sd", "prior",
              "identified by", "fields"]
    return html_table(header, rows, notes={4, 5, 6})


def _derived_html() -> str:
    values = derived_values()
    rows = ([d.path, f"{values[d.path]:g}", html.escape(d.arithmetic), html.escape(d.sources)]
            for d in derived())
    return html_table(["field", "value", "arithmetic", "sources"], rows, notes={2, 3})


def calibration_summary(table: pd.DataFrame, what: str) -> str:
    """One line: how many figures, their predictive coverage and error."""
    s = scores(table.rename(columns={"predictive_mean": "mean"}))
    if not s["targets"]:
        return f"no {what} figures"
    return (f"{s['targets']} {what} figures, {s['coverage_90']:.0%} inside their 90%"
            f" predictive interval and {s['coverage_50']:.0%} inside their 50%, mean absolute"
            f" error {s['mape']:.1%}")


BACKTEST_COLUMNS = ["target_id", "figure_id", "metric", "period", "fiscal_year", "published",
                    "mean",
                    "p05", "p25", "p50", "p75", "p95", "in_50", "in_90", "abs_pct_error",
                    "crps", "crps_rel"]


def backtest_table(table: pd.DataFrame) -> pd.DataFrame:
    """The targets after the fit window: published against the forecast's predictive
    distribution (`backtest.csv`)."""
    later = table[~table.in_fit].rename(columns={
        f"predictive_{k}": k for k in ("mean", "p05", "p25", "p50", "p75", "p95")})
    return later[BACKTEST_COLUMNS].reset_index(drop=True)


def scores_by_year(later: pd.DataFrame) -> dict[str, dict[str, float]]:
    """The back-test's scores per fiscal year forecast (a month counts in its April-March
    year): the first year ahead is the test the issue sets, later years are harder."""
    return {str(fy): scores(rows) for fy, rows in later.groupby("fiscal_year", sort=True)}


def backtest_text(table: pd.DataFrame, until: str, carried: list[str] | None = None) -> str:
    """Plain text of the back-test: the forecast of every later figure and its scores;
    `carried` names the post-2020 parameters that took their pre-2020 twin's value."""
    later = backtest_table(table)
    if later.empty:
        return f"No targets after {until}."
    s = scores(later)
    lines = [f"Back-test: fitted on figures up to {until} only; forecast of the"
             f" {len(later)} later figures: mean absolute error {s['mape']:.1%},"
             f" {s['coverage_90']:.0%} inside their 90% predictive interval,"
             f" {s['coverage_50']:.0%} inside their 50%; mean CRPS"
             f" {s['crps_rel_mean']:.1%} of the figure."]
    for fy, y in scores_by_year(later).items():
        lines.append(f"{fy}: {y['targets']} figures, mean absolute error {y['mape']:.1%},"
                     f" {y['coverage_90']:.0%} inside their 90% predictive interval,"
                     f" {y['coverage_50']:.0%} inside their 50%; mean CRPS"
                     f" {y['crps_rel_mean']:.1%} of the figure.")
    if carried:
        lines.append("The post-2020 (2020 regulations) parameters have no target in the fit"
                     " window, so they carry the pre-2020 values forward: "
                     + ", ".join(carried) + ".")
    for _, r in later.iterrows():
        lines.append(f"- {r.target_id} ({r.figure_id}, {r.period}): published {r.published:g},"
                     f" forecast {r['mean']:.4g} (90% {r.p05:.4g} to {r.p95:.4g}), error"
                     f" {r.abs_pct_error:.1%}: {'inside' if r.in_90 else 'OUTSIDE'} the 90%")
    return "\n".join(lines)


def write_calibration(fit: Fit, free: tuple[bool, ...], out_dir: Path, settings: dict,
                      until: str | None = None) -> list[Path]:
    """Every file of a calibration, each written whole: the overlay, the parameters and
    their posterior draws, the target table with its predictive checks, the back-test
    (with `until`), the charts, the page and the settings."""
    assert fit.posterior is not None
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    table = fit_table(fit)
    params = parameter_table(fit, free)
    written = []

    def put(name: str, text: str) -> None:
        write_text_atomic(out_dir / name, text)
        written.append(out_dir / name)

    put("fitted.yaml", overlay_yaml(fit, free))
    put("parameters.csv", params.to_csv(index=False, float_format="%.6g"))
    put("posterior.csv", posterior_draws(fit).to_csv(index=False, float_format="%.6g"))
    names = [p.name for p in fit.problem.params]
    cov = pd.DataFrame(fit.cov, index=names, columns=names)
    put("covariance.csv", cov.to_csv(float_format="%.6g", index_label="parameter"))
    put("report.csv", table.to_csv(index=False, float_format="%.6g"))
    for name, draw in (("predictive_check.png", lambda p: chart(table, p)),
                       ("posterior.png", lambda p: posterior_chart(fit, p))):
        draw(out_dir / name)
        written.append(out_dir / name)
    in_fit = table[table.in_fit]
    fitted_scores = scores(in_fit.rename(columns={"predictive_mean": "mean"}))
    settings = {**settings, "targets_passed": int(in_fit["pass"].sum()),
                "targets": len(in_fit), "failed": in_fit.target_id[~in_fit["pass"]].tolist(),
                "predictive": fitted_scores, "acceptance": fit.posterior.acceptance,
                "stuck_walkers": fit.posterior.stuck_walkers,
                "chains": fit.posterior.chains.to_dict(orient="records")}
    hold = ""
    if until:
        carried = [f"{fit.problem.params[i].name} = {fit.problem.params[j].name}"
                   for i, j in fit.tied.items()]
        back = backtest_table(table)
        put("backtest.csv", back.to_csv(index=False, float_format="%.6g"))
        settings["backtest"] = scores(back)
        settings["backtest_by_year"] = scores_by_year(back)
        hold = backtest_text(table, until, carried)
        put("backtest.txt", hold + "\n")
    put("calibration.json", json.dumps(settings, indent=2, default=str))
    put("report.html", _page(fit, table, params, settings, hold, out_dir))
    return written


def posterior_draws(fit: Fit) -> pd.DataFrame:
    """The equal-weight posterior draws, one column per parameter in parameters.csv's
    order: a tied parameter takes its source's draw, a fixed one its value."""
    assert fit.posterior is not None
    draws = fit.posterior.draws
    out = pd.DataFrame({"draw": draws["draw"]})
    for i, p in enumerate(fit.problem.params):
        source = fit.drawn_as(i)
        out[p.name] = draws[source] if source is not None else fit.theta[i]
    return out


def _page(fit: Fit, table: pd.DataFrame, params: pd.DataFrame, settings: dict, hold: str,
          out_dir: Path) -> str:
    assert fit.posterior is not None
    esc = html.escape
    in_fit = table[table.in_fit]
    sc = settings["predictive"]
    title = "ccsim calibration" + (f" (back-test: fitted up to {settings['until']})"
                                   if settings.get("until") else "")
    chains = fit.posterior.chains
    body = [
        f"<h1>{esc(title)}</h1>",
        f"<p><b>Predictive coverage</b> over the {sc['targets']} figures in the fit:"
        f" {sc['coverage_90']:.0%} inside their 90% posterior predictive interval,"
        f" {sc['coverage_50']:.0%} inside their 50% (a calibrated model: about 90% and 50%);"
        f" mean absolute error of the predictive mean {sc['mape']:.1%}; mean CRPS"
        f" {sc['crps_rel_mean']:.1%} of the figure. At the point (posterior medians)"
        f" {int(in_fit['pass'].sum())} of {len(in_fit)} are within two standard deviations"
        " of their observation error.</p>",
        "<p>Posterior: MCMC (emcee's ensemble sampler, differential-evolution moves) on the"
        " likelihood the observation model gives, each evaluation the mean of"
        f" {settings['fit_reps']} replications with one seed (common random numbers; their"
        " Monte Carlo variance added to each target's error variance), from the posterior"
        f" mode; {settings['walkers']} walkers x {settings['steps']} steps, the first"
        f" {settings['burn_in']} discarded, {fit.nfev} simulations in"
        f" {settings['seconds']:.0f} s (engine {esc(settings['engine'])}, one process, every"
        f" core through its threads); acceptance {fit.posterior.acceptance:.0%};"
        f" {_stuck(fit.posterior.stuck_walkers)}effective"
        f" draws per parameter {chains.effective_draws.min():.0f} to"
        f" {chains.effective_draws.max():.0f} (table below). Seed {settings['seed']}: the"
        " same command and seed reproduce every number here. Predictive checks from"
        f" {settings['predictive_draws']} posterior draws, each the mean of"
        f" {settings['fit_reps']} replications (its own seed) plus its observation error."
        " Why MCMC and not ABC-SMC: <code>sim/studies/calibration/posterior.py</code>.</p>",
        "<p>The calibration variant of the baseline reports 2019/20 to 2022/23 (start"
        " 2019-04-01, three years' warm-up) with demand replaying the published volumes up to"
        " the fit's last year (no officer elasticity); after it, the last published rate"
        " continues, as in a forecast.</p>",
        "<p><b>Observation model</b> (<code>targets.csv</code>, written before fitting):"
        " each published figure is the model's expected value plus a normal error whose"
        " variance adds rounding (the figure's precision), sampling (one year's realisation"
        " of the process: a Poisson count, a mean of n cases, a binomial share) and"
        " definition (the gap between the published measure and the model's; the"
        " ASSUMPTIONs are said per row).</p>",
        f"<p>Regime change: the {esc(REGULATIONS_2020['name'])} took effect on"
        f" {REGULATIONS_2020['from']} (T03-26) for cases received from then. Cases received"
        " before that date follow the <code>pre2020:</code> values (PSU and DPS effort means"
        " and the PSU case-to-answer share, identified by the 2019/20 figures), held in the"
        " scenario's earlier rules; cases received from it the scenario's own fields. The"
        " baseline carries the same earlier rule with the <code>pre2020:</code> medians of"
        " <code>parameters.csv</code>.</p>",
        *([f"<h2>Back-test</h2><pre>{esc(hold)}</pre>"] if hold else []),
        "<h2>Targets: published against the posterior predictive</h2>",
        image(out_dir / "predictive_check.png"), target_table_html(table),
        "<h2>Priors and posteriors</h2>", image(out_dir / "posterior.png"),
        _params_html(params),
        "<h2>Chains</h2>",
        html_table(["parameter", "autocorrelation (steps)", "effective draws"],
                   ([r.parameter, fmt(r.autocorrelation_steps), fmt(r.effective_draws)]
                    for _, r in chains.iterrows())),
        "<h2>Fixed by assumption (not separable by the targets)</h2><ul>",
        *(f"<li><b>{esc(k)}</b>: {esc(v)}</li>" for k, v in FIXED.items()), "</ul>",
        "<h2>Derived from the figures (no fitting)</h2>", _derived_html(),
        "<details><summary>Settings</summary><pre>"
        + esc(json.dumps(settings, indent=2, default=str)) + "</pre></details>",
    ]
    return page(title, body)


def _stuck(count: int) -> str:
    """Words for the walkers left out of the draws because they never moved."""
    if not count:
        return ""
    return (f"{count} walker{'s' if count > 1 else ''} never moved after burn-in (stuck on a"
            f" spike of the Monte Carlo likelihood) and {'are' if count > 1 else 'is'} left"
            " out of the draws; ")


__all__ = ["backtest_table", "backtest_text", "calibration_summary", "cited_figures_html",
           "fit_table", "overlay_yaml", "posterior_draws", "scores_by_year", "source_title",
           "target_table_html", "write_calibration"]
