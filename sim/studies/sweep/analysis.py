"""What a sweep found: every point's rows in design order, a wide summary, and sensitivity
indices for SALib designs (`sim.outputs.sweep_folder` writes them and the charts)."""

from __future__ import annotations

import numpy as np
import pandas as pd

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
    # not dict(groupby): a groupby has a `keys` attribute, which dict() would take for a mapping's
    by_key = {key: rows for key, rows in table.groupby("key", sort=False)}  # noqa: C416
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
    from SALib.analyze import morris, sobol  # noqa: PLC0415 (optional: the sweep extra)

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
