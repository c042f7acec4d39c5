"""Write a calibration: the fitted overlay, parameter ranges, the target table, a chart, a page.

Files (each written whole, atomically): `fitted.yaml` (the scenario overlay: derived and
fitted values, each commented with its source), `parameters.csv` (estimate and 90% range),
`covariance.csv`, `report.csv` (per target: published, model mean and 90% interval, error,
pass), `published_vs_modelled.png`, `report.html` and `calibration.json` (settings).
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
from sim.studies.calibration.targets import default_tolerance, in_units

OVERLAY_HEADER = """\
# Calibrated values for the baseline, written by `ccsim calibrate` (do not edit by hand).
# Derived: computed from published figures (data/figures.csv ids), arithmetic shown.
# FITTED: simulation-based least squares against calibration/targets.csv; see
# calibration/report.html for the fit and calibration/parameters.csv for the 90% ranges.
# scenarios/baseline.yaml holds the same values (tests/test_calibration.py checks it).
"""


def fit_table(fit: Fit) -> pd.DataFrame:
    ev, fitted_ids = fit.evaluation, {t.target_id for t in fit.problem.fit_targets}
    rows = []
    for t in fit.problem.targets:
        d = ev.describe(t)
        mean = d["mean"]
        err = mean - t.published
        rows.append({
            "target_id": t.target_id, "figure_id": t.figure_id, "metric": t.metric,
            "period": t.period, "kind": t.kind, "published": t.published,
            "model_mean": mean, "model_p05": d["p05"], "model_p95": d["p95"], "error": err,
            "error_rel": err / t.published if t.published else np.nan,
            "tolerance": t.tolerance, "tolerance_type": t.tolerance_type,
            "pass": bool(np.isfinite(mean) and abs(err) <= t.tolerance_abs + 1e-12),
            "pass_at_default": bool(np.isfinite(mean)
                                    and abs(err) <= t.default_tolerance_abs + 1e-12),
            "in_fit": t.target_id in fitted_ids, "weight": t.weight, "basis": t.basis,
        })
    return pd.DataFrame(rows)


def _carried_note(fit: Fit, i: int) -> str:
    return (f"carried forward from {fit.problem.params[fit.tied[i]].name}: no target in the"
            " fit window")


def parameter_table(fit: Fit, free: tuple[bool, ...]) -> pd.DataFrame:
    """One row per parameter; `pre2020:` rows (calibration variant only) included."""
    lo, hi = fit.interval()
    rows = []
    for i, p in enumerate(fit.problem.params):
        spread = free[i] or i in fit.tied
        note = "; ".join(x for x in (p.note, _carried_note(fit, i) if i in fit.tied else "")
                         if x)
        rows.append({
            "parameter": p.name, "paths": "; ".join(f"{k} x {v:g}" for k, v in p.paths.items()),
            "estimate": fit.theta[i], "sd": fit.sd()[i] if spread else 0.0,
            "p05": lo[i] if spread else fit.theta[i], "p95": hi[i] if spread else fit.theta[i],
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
    """Model / published per target: dot at the mean, line for the 90% interval, band for
    the tolerance; green passes, red fails."""
    n = len(table)
    fig = Figure(figsize=(9, 0.28 * n + 1.5), layout="constrained")
    ax = fig.subplots()
    y = np.arange(n)[::-1]
    pub = table.published.to_numpy(float)
    rows = list(zip(table.kind, table.tolerance, table.tolerance_type, pub, strict=True))
    tol = np.array([in_units(t, how, p) for _, t, how, p in rows]) / np.abs(pub)
    default = np.array([in_units(*default_tolerance(k, t, how), p)
                        for k, t, how, p in rows]) / np.abs(pub)
    ax.barh(y, 2 * tol, left=1 - tol, height=0.7, color="#dddddd", label="tolerance")
    argued = ~np.isclose(default, tol)
    ax.vlines(np.r_[1 - default[argued], 1 + default[argued]], np.r_[y[argued], y[argued]] - 0.35,
              np.r_[y[argued], y[argued]] + 0.35, color="#999", lw=1, linestyles=":",
              label="default tolerance, where another is argued")
    ratio = table.model_mean / pub
    colours = np.where(table["pass"], "#2e8b57", "#d1495b")
    ax.hlines(y, table.model_p05 / pub, table.model_p95 / pub, color="#555", lw=1,
              label="model 90% interval")
    ax.scatter(ratio, y, c=colours, zorder=3, s=18, label="model mean")
    ax.axvline(1, color="#1b6ca8", lw=1)
    ax.set_yticks(y, [f"{a} ({p})" for a, p in zip(table.target_id, table.figure_id,
                                                   strict=True)], fontsize=7)
    ax.set_xlabel("model / published (1 = the published figure)")
    ax.set_title("Published against modelled, per calibration target")
    ax.legend(loc="lower right", fontsize=7, frameon=False)
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
    rel = r.tolerance_type == "rel"
    return [html.escape(r.target_id), cited_figures_html(r.figure_id, register),
            html.escape(r.metric), r.period,
            fmt(r.published), fmt(r.model_mean), f"{fmt(r.model_p05)} to {fmt(r.model_p95)}",
            f"{r.error_rel:+.1%}" if rel else f"{r.error:+.3f}",
            f"±{r.tolerance:.0%}" if rel else f"±{r.tolerance:g}",
            "pass" if r["pass"] else "<span class='sig'>FAIL</span>",
            "pass" if r.pass_at_default else "miss", "yes" if r.in_fit else "no",
            html.escape(r.basis)]


def target_table_html(targets: pd.DataFrame, figures: Path | None = None) -> str:
    """The target table (one row per row of `report.csv`), each cited figure shown with its
    value and source from the figures register (default: the shipped data/figures.csv)."""
    ids = {fid for cited in targets.figure_id for fid in _cited_ids(cited)}
    register = figure_sources(figures or shipped_path("data/figures.csv"), ids)
    header = ["target", "published figure (id: value, period; source)", "model metric",
              "period", "published", "model mean", "model 90%", "error", "tolerance", "result",
              "at the default tolerance", "in fit", "basis"]
    return html_table(header, (_target_cells(r, register) for _, r in targets.iterrows()),
                      notes={1, 12})


def _params_html(params: pd.DataFrame) -> str:
    rows = ([r.parameter, fmt(r.estimate), f"{fmt(r.p05)} to {fmt(r.p95)}", fmt(r.sd),
             fmt(r.initial), "yes" if r.fitted else "no", html.escape(r.identified_by),
             html.escape(r.paths) + (f"; {html.escape(r.note)}" if r.note else "")]
            for _, r in params.iterrows())
    header = ["parameter", "estimate", "90% range", "sd", "initial", "fitted", "identified by",
              "fields"]
    return html_table(header, rows, notes={6, 7})


def _derived_html() -> str:
    values = derived_values()
    rows = ([d.path, f"{values[d.path]:g}", html.escape(d.arithmetic), html.escape(d.sources)]
            for d in derived())
    return html_table(["field", "value", "arithmetic", "sources"], rows, notes={2, 3})


def holdout_text(table: pd.DataFrame, until: str, carried: list[str] | None = None) -> str:
    """Plain text of how the forecast beyond `until` compares with the published figures;
    `carried` names the post-2020 parameters that took their pre-2020 twin's estimate."""
    later = table[~table.in_fit]
    if later.empty:
        return f"No targets after {until}."
    lines = [f"Hold-out: fitted on targets up to {until} only; forecast of the later targets:"]
    if carried:
        lines.append("The post-2020 (2020 regulations) parameters have no target in the fit"
                     " window, so they carry the pre-2020 estimates forward: "
                     + ", ".join(carried) + ".")
    for _, r in later.iterrows():
        err = f"{r.error_rel:+.1%}" if r.tolerance_type == "rel" else f"{r.error:+.3f}"
        lines.append(f"- {r.target_id} ({r.figure_id}, {r.period}): published {r.published:g},"
                     f" forecast {r.model_mean:.4g} (90% {r.model_p05:.4g} to "
                     f"{r.model_p95:.4g}), error {err}: {'within' if r['pass'] else 'OUTSIDE'}"
                     " tolerance")
    n_pass = int(later["pass"].sum())
    lines.append(f"{n_pass} of {len(later)} later targets within tolerance.")
    return "\n".join(lines)


def write_calibration(fit: Fit, free: tuple[bool, ...], out_dir: Path, settings: dict,
                      until: str | None = None) -> list[Path]:
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
    names = [p.name for p in fit.problem.params]
    cov = pd.DataFrame(fit.cov, index=names, columns=names)
    put("covariance.csv", cov.to_csv(float_format="%.6g", index_label="parameter"))
    put("report.csv", table.to_csv(index=False, float_format="%.6g"))
    chart(table, out_dir / "published_vs_modelled.png")
    written.append(out_dir / "published_vs_modelled.png")
    settings = {**settings, "targets_passed": int(table["pass"].sum()),
                "targets": len(table), "failed": table.target_id[~table["pass"]].tolist()}
    put("calibration.json", json.dumps(settings, indent=2, default=str))
    carried = [f"{fit.problem.params[i].name} = {fit.problem.params[j].name}"
               for i, j in fit.tied.items()]
    hold = holdout_text(table, until, carried) if until else ""
    put("report.html", _page(fit, table, params, settings, hold,
                             out_dir / "published_vs_modelled.png"))
    if until:
        put("holdout.txt", hold + "\n")
    return written


def _page(fit: Fit, table, params, settings, hold: str, png: Path) -> str:
    esc = html.escape
    n_pass, n = int(table["pass"].sum()), len(table)
    title = "ccsim calibration" + (f" (hold-out: fitted up to {settings['until']})"
                                   if settings.get("until") else "")
    body = [
        f"<h1>{esc(title)}</h1>",
        f"<p>{n_pass} of {n} targets within tolerance. Fit: {settings['fit_reps']} replications"
        f" per evaluation, {settings['nfev']} evaluations of the objective, seed"
        f" {settings['seed']}, engine {esc(settings['engine'])}, {settings['seconds']:.0f} s;"
        f" model values below from {settings['report_reps']} replications at the fitted"
        " values. The same command and seed reproduce these numbers.</p>",
        "<p>The calibration variant of the baseline reports 2019/20 to 2021/22 (start"
        " 2019-04-01, three years' warm-up) with demand replaying the published volumes"
        " (no officer elasticity). Durations are means over cases finalised in the year, as"
        " published.</p>",
        "<p>Tolerances: volumes ±5%, mean durations ±10%, shares ±5 points, stocks ±20% (the"
        " issue's defaults), except for the ten small-sample targets (meetings, hearings,"
        " accelerated hearings and dismissals held in a year; proven shares), whose tolerance"
        " is argued from the data's own precision: a year's count of N events has a Poisson"
        " standard deviation of √N, a share of n findings a binomial one, and with ten such"
        " targets checked together a correct model would miss at least one 2-standard-"
        "deviation tolerance about 40% of the time. Their tolerance is therefore 2.81"
        " standard deviations, the two-sided 95% family-wise level over the ten (Bonferroni),"
        " and their fit weight keeps every residual in standard deviations. The column"
        f" <i>at the default tolerance</i> shows the issue's ±5% / ±5 points instead:"
        f" {int(table.pass_at_default.sum())} of {n} within it.</p>",
        f"<p>Regime change: the {esc(REGULATIONS_2020['name'])} took effect on"
        f" {REGULATIONS_2020['from']} (T03-26) for cases received from then. Cases received"
        " before that date follow the <code>pre2020:</code> values (PSU and DPS effort means"
        " and the PSU case-to-answer share, fitted to the 2019/20 targets), held in the"
        " scenario's earlier rules; cases received from it the scenario's own fields (fitted"
        " to the 2020/21 targets and S-09). Route, proven and dismissal shares are pooled over"
        " both years: proceedings in both years were almost all of cases received before"
        " 2020. The baseline carries the same earlier rule (its warm-up runs the old rules),"
        " with the <code>pre2020:</code> estimates of <code>parameters.csv</code>; they are"
        " not in <code>fitted.yaml</code>, whose values are fields.</p>",
        *([f"<h2>Hold-out</h2><pre>{esc(hold)}</pre>"] if hold else []),
        "<h2>Targets: published against modelled</h2>", image(png), target_table_html(table),
        "<h2>Fitted parameters</h2>",
        "<p>Ranges are 90% intervals from the Laplace approximation at the optimum:"
        " covariance (J'J)<sup>-1</sup> s², J the Jacobian of the residuals (each error in"
        " standard deviations of the published figure: half its tolerance times the square"
        " root of its weight), s² = max(1, residual variance), so a misfit widens the"
        " ranges. It reuses the optimiser's Jacobian, so it costs nothing extra; a bootstrap"
        " would need a refit per resample, beyond the ten-minute budget.</p>",
        _params_html(params),
        "<h2>Fixed by assumption (not separable by the targets)</h2><ul>",
        *(f"<li><b>{esc(k)}</b>: {esc(v)}</li>" for k, v in FIXED.items()), "</ul>",
        "<h2>Derived from the figures (no fitting)</h2>", _derived_html(),
        "<details><summary>Settings</summary><pre>"
        + esc(json.dumps(settings, indent=2, default=str)) + "</pre></details>",
    ]
    return page(title, body)


__all__ = ["cited_figures_html", "fit_table", "holdout_text", "overlay_yaml", "source_title",
           "target_table_html", "write_calibration"]
