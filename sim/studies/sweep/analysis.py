"""What a sweep found: a summary table, sensitivity indices for SALib designs, and charts
of metrics against the swept parameters for grids."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.files.writing import write_with
from sim.studies.sweep.design import SampledDesign, Sweep, salib, salib_problem, sample_matrix

DEFAULT_CHART_METRICS = ("iopc.open_over_12m.end", "iopc.open.end", "dps.open_over_12m.end",
                         "psu.open_over_12m.end")


def every_point(sweep: Sweep, table: pd.DataFrame) -> pd.DataFrame:
    """The rows of every point in design order. Points that make the same scenario (a
    repeated grid value, a Morris trajectory revisiting a point, a one-parameter Sobol
    design's repeated rows) are simulated and stored once; each such point gets those rows,
    with its own number and parameter values, so an analysis sees the whole design."""
    keys = sweep.point_keys()
    if len(set(keys)) == len(keys):
        return table
    by_key = {key: rows for key, rows in table.groupby("key", sort=False)}
    parts = []
    for i, (key, point) in enumerate(zip(keys, sweep.points, strict=True)):
        rows = by_key[key].copy()
        rows["point"] = i
        for name in sweep.parameters:
            rows[name] = point.get(name)
        parts.append(rows)
    whole = pd.concat(parts, ignore_index=True)
    return whole.sort_values(["point", "metric"], kind="stable", ignore_index=True)


def wide_summary(sweep: Sweep, table: pd.DataFrame) -> pd.DataFrame:
    """One row per point: its parameter values and each metric's mean over replications."""
    wide = table.set_index(["point", *sweep.parameters, "metric"])["mean"].unstack("metric")
    wide = wide.reset_index()
    wide.columns.name = None
    return wide.sort_values("point", ignore_index=True)


def chart_metrics(sweep: Sweep, table: pd.DataFrame) -> list[str]:
    kept = list(dict.fromkeys(table.metric))
    chosen = [m for m in (sweep.spec.metrics or DEFAULT_CHART_METRICS) if m in kept]
    return chosen or kept[:4]


def sensitivity(sweep: Sweep, wide: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """Sobol first and total order indices, or Morris mu* and sigma, with 95% intervals.
    `wide` has a row for every point of the design, in its order (SALib needs them so);
    the bootstrap intervals are drawn from the design's seed, so the same sweep gives the
    same intervals."""
    design: SampledDesign = sweep.spec.design  # type: ignore[assignment]
    salib(sweep.source)
    from SALib.analyze import morris, sobol

    problem = salib_problem(design)
    x = sample_matrix(design)
    if len(wide) != len(x) or not (wide["point"].to_numpy() == np.arange(len(x))).all():
        raise ValueError(f"{len(wide)} summary rows for a design of {len(x)} points")
    rows = []
    for metric in metrics:
        y = wide[metric].to_numpy(dtype=float)
        if np.isnan(y).any() or np.ptp(y) == 0:
            continue  # no variation to apportion (or a point without a value)
        if design.kind == "sobol":
            # a Generator, not the int: SALib's Sobol analysis takes a seed of 0 as "unseeded"
            si = sobol.analyze(problem, y, calc_second_order=False,
                               seed=np.random.default_rng(design.design_seed))
            for j, name in enumerate(problem["names"]):
                rows += [{"metric": metric, "parameter": name, "index": "S1",
                          "value": si["S1"][j], "conf95": si["S1_conf"][j]},
                         {"metric": metric, "parameter": name, "index": "ST",
                          "value": si["ST"][j], "conf95": si["ST_conf"][j]}]
        else:
            si = morris.analyze(problem, x, y, num_levels=design.levels, seed=design.design_seed)
            for j, name in enumerate(problem["names"]):
                rows += [{"metric": metric, "parameter": name, "index": "mu_star",
                          "value": si["mu_star"][j], "conf95": si["mu_star_conf"][j]},
                         {"metric": metric, "parameter": name, "index": "sigma",
                          "value": si["sigma"][j], "conf95": np.nan}]
    return pd.DataFrame(rows, columns=["metric", "parameter", "index", "value", "conf95"])


def sensitivity_chart(indices: pd.DataFrame, metric: str, path: Path) -> Path:
    rows = indices[indices.metric == metric]
    kinds = list(dict.fromkeys(rows["index"]))
    names = list(dict.fromkeys(rows.parameter))
    fig = Figure(figsize=(9, 1.5 + 0.5 * len(names)), layout="constrained")
    ax = fig.subplots()
    height = 0.8 / max(len(kinds), 1)
    for k, kind in enumerate(kinds):
        part = rows[rows["index"] == kind].set_index("parameter").reindex(names)
        y = np.arange(len(names)) + k * height
        ax.barh(y, part["value"], height, xerr=part["conf95"].fillna(0), capsize=3, label=kind)
    ax.set_yticks(np.arange(len(names)) + height * (len(kinds) - 1) / 2, names, fontsize=8)
    ax.invert_yaxis()
    ax.legend()
    ax.set_title(f"Sensitivity of {metric} (bars: 95% interval)")
    write_with(path, lambda tmp: fig.savefig(tmp, format="png", dpi=90))
    return path


def grid_chart(sweep: Sweep, table: pd.DataFrame, metric: str, path: Path) -> Path:
    """A metric against each swept parameter (mean and 90% range across replications);
    with two parameters, one line per value of the second."""
    rows = table[table.metric == metric]
    params = sweep.parameters
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.subplots()
    x_name = params[0]
    groups = rows.groupby(params[1]) if len(params) == 2 else [(None, rows)]
    for value, part in groups:
        part = part.groupby(x_name)[["mean", "p05", "p95"]].mean().sort_index()
        label = f"{params[1]} = {value}" if value is not None else None
        ax.plot(part.index, part["mean"], marker="o", label=label)
        ax.fill_between(part.index, part["p05"], part["p95"], alpha=0.15)
    ax.set_xlabel(x_name)
    ax.set_ylabel(metric)
    if len(params) == 2:
        ax.legend(fontsize=8)
    extra = " (other parameters averaged)" if len(params) > 2 else ""
    ax.set_title(f"{metric}: mean and 90% range of replications{extra}", fontsize=10)
    write_with(path, lambda tmp: fig.savefig(tmp, format="png", dpi=90))
    return path


def analyse(sweep: Sweep, table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Write results.parquet, summary.csv, sensitivity.csv (SALib designs) and charts."""
    written = []
    table = every_point(sweep, table)
    results = out_dir / "results.parquet"
    write_with(results, lambda tmp: table.to_parquet(tmp, index=False))
    wide = wide_summary(sweep, table)
    summary = out_dir / "summary.csv"
    write_with(summary, lambda tmp: wide.to_csv(tmp, index=False, float_format="%.6g"))
    written += [results, summary]
    metrics = chart_metrics(sweep, table)
    plots = out_dir / "plots"
    plots.mkdir(exist_ok=True)
    kind = sweep.spec.design.kind
    if kind in ("sobol", "morris"):
        indices = sensitivity(sweep, wide, metrics)
        path = out_dir / "sensitivity.csv"
        write_with(path, lambda tmp: indices.to_csv(tmp, index=False, float_format="%.6g"))
        written.append(path)
        written += [sensitivity_chart(indices, m, plots / f"sensitivity_{m}.png")
                    for m in dict.fromkeys(indices.metric)]
    elif kind == "grid":
        written += [grid_chart(sweep, table, m, plots / f"grid_{m}.png") for m in metrics]
    return written
