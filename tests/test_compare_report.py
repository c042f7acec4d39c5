"""The comparison page a planner reads: sentences from the numbers, figures by year, colours
that follow each metric's better direction, and charts whose axes say what they measure."""

from __future__ import annotations

import dataclasses
import html
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

import sim
from sim.engine.metrics import HEADLINE
from sim.model.scenario import Scenario, scenario_from_dict
from sim.outputs.compare_report import (
    FAN_METRICS,
    VERDICT_COLOURS,
    by_year_table,
    describe,
    difference_figure,
    headline_figure,
    option_sentence,
    ranges_note,
    render_comparison,
    write_comparison_plots,
)
from sim.outputs.labels import label
from sim.studies.compare import Comparison
from tests.conftest import small_dict


def iopc_staff(staff: float, name: str) -> Scenario:
    """The small baseline (two financial years) with its IOPC pool at `staff`: near
    saturation at 16, so more staff clear cases and fewer let them pile up (at 20, under the
    600-step posterior's IOPC lengths, four replications no longer separate 32 from it)."""
    d = small_dict(horizon_years=2, warmup_years=0.5)
    d["name"] = name
    d["pools"]["iopc"]["staff"] = [{"from": "2018-04-01", "value": staff}]
    return scenario_from_dict(d)


@pytest.fixture(scope="module")
def comparison() -> Comparison:
    scenarios = [iopc_staff(16, "base"), iopc_staff(28, "more_iopc"),
                 iopc_staff(11, "fewer_iopc")]
    return sim.compare(scenarios, reps=4, seed=1).result


@pytest.fixture(scope="module")
def table(comparison: Comparison) -> pd.DataFrame:
    return comparison.table()


def row(table: pd.DataFrame, option: str, metric: str, period: str = "all") -> pd.Series:
    rows = table[(table.scenario == option) & (table.metric == metric)
                 & (table.period == period)]
    assert len(rows) == 1, (option, metric, period)
    return rows.iloc[0]


def amount(metric: str, x: float) -> str:
    """A difference's size as labels write it, without the sign."""
    return label(metric).change(abs(x))[1:]


def cells(fragment: str) -> list[list[str]]:
    """The rows of an html_table (header row first), each a list of cell inner HTML."""
    return [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", tr)
            for tr in re.findall(r"<tr>(.*?)</tr>", fragment)]


def test_the_scenarios_move_the_iopc_backlog_both_ways(table: pd.DataFrame) -> None:
    """The fixture's premise: a distinguishable fall with more staff, a rise with fewer."""
    more, fewer = row(table, "more_iopc", "iopc.open.end"), row(table, "fewer_iopc",
                                                                  "iopc.open.end")
    assert more.distinguishable and more.diff_high < 0, more.to_dict()
    assert fewer.distinguishable and fewer.diff_low > 0, fewer.to_dict()


def test_each_sentence_states_the_tables_differences_in_labels_words(
        table: pd.DataFrame) -> None:
    more = option_sentence(table, "more_iopc", "base")
    assert more.startswith("more_iopc against base: ") and more.endswith(".")
    r = row(table, "more_iopc", "iopc.open.end")
    m = "iopc.open.end"
    assert (f"IOPC investigations open at the end {amount(m, r.diff_mean)} fewer (95% interval"
            f" {amount(m, r.diff_high)} to {amount(m, r.diff_low)} fewer), better") in more
    # an interval across zero: whichever headline metric has one (chance decides which);
    # its clause gives both ends in words, then says it is not told apart from no change
    crossing = [(o, m) for o in ("more_iopc", "fewer_iopc") for m in HEADLINE
                if row(table, o, m).diff_low < 0 < row(table, o, m).diff_high]
    assert crossing, "the fixture should hold an interval across zero, for its wording"
    o, m = crossing[0]
    r = row(table, o, m)
    clause = next(c for c in option_sentence(table, o, "base").split("; ")
                  if f"interval {amount(m, r.diff_low)} " in c)
    assert f"to {amount(m, r.diff_high)} " in clause, clause
    assert clause.endswith("not distinguishable from no change"), clause
    r = row(table, "more_iopc", "cost.suspended_gbp_per_year")
    assert (f"pay cost of suspended officers {amount(r.metric, r.diff_mean)} lower") in more
    assert "£" in amount(r.metric, r.diff_mean)

    fewer = option_sentence(table, "fewer_iopc", "base")
    r = row(table, "fewer_iopc", "iopc.within_12m.share")
    points = " percentage points"
    low, high = amount(r.metric, r.diff_high), amount(r.metric, r.diff_low)
    assert low.endswith(points) and high.endswith(points)
    assert (f"IOPC investigations finished within 12 months {amount(r.metric, r.diff_mean)}"
            f" lower (95% interval {low.removesuffix(points)} to {high} lower), worse") in fewer
    # the metrics an IOPC change cannot reach are named once, together
    assert ("the same in every replication: DPS investigations open over 12 months at the"
            " end, local (PSU) investigations open over 12 months at the end,") in fewer
    for metric in HEADLINE:
        assert label(metric).text in fewer, metric
        assert metric not in fewer, "metric keys are for programs, not sentences"


def test_the_page_opens_with_the_sentences_then_names_the_base_and_the_method(
        comparison: Comparison, table: pd.DataFrame) -> None:
    page = render_comparison(comparison, table, [])
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    first = text.index("more_iopc against base: ")
    assert text.index("fewer_iopc against base: ") > first
    assert text.index("Headline figures by financial year") > first
    sentence = option_sentence(table, "fewer_iopc", "base")
    assert sentence in text, "the page carries the sentence word for word"
    assert ("The base is base: each option is compared with it by paired differences under"
            " common random numbers. Every scenario ran with the same seed (1) and the same 4"
            " replications") in text
    assert "The ranges come from chance alone" in text.split("more_iopc against")[0], (
        "the subtitle, above the sentences, says where the ranges come from")


def test_by_year_table_holds_each_options_own_means_and_the_paired_differences(
        comparison: Comparison, table: pd.DataFrame) -> None:
    metric = "iopc.open.end"
    lab = label(metric)
    rows = cells(by_year_table(comparison, table, metric))
    assert rows[0] == ["financial year", "base (base)", "more_iopc", "difference",
                       "95% interval", "fewer_iopc", "difference", "95% interval"]
    assert [r[0] for r in rows[1:]] == ["2021/22", "2022/23", "whole forecast"]
    yearly = {r.scenario.name: r.measured.yearly[metric]
              for r in [comparison.base, *comparison.alternatives]}
    for cells_, period in zip(rows[1:], ["2021/22", "2022/23", "all"], strict=True):
        j = None if period == "all" else ["2021/22", "2022/23"].index(period)
        for k, option in enumerate(["more_iopc", "fewer_iopc"]):
            r = row(table, option, metric, period)
            own, diff, interval = cells_[2 + 3 * k: 5 + 3 * k]
            assert html.unescape(cells_[1]) == lab.value(r.base_mean)
            assert html.unescape(own) == lab.value(r.alt_mean)
            assert html.unescape(re.sub(r"<[^>]+>", "", diff)) == lab.change(r.diff_mean)
            assert html.unescape(interval) == (f"{lab.change(r.diff_low)} to"
                                               f" {lab.change(r.diff_high)}")
            if j is not None:
                assert r.alt_mean == pytest.approx(np.mean(yearly[option][:, j]))
    # the stock at the end of the forecast is the stock at the last 31 March
    assert rows[-1][1:] == rows[-2][1:]


def test_colours_follow_each_metrics_better_direction(
        comparison: Comparison, table: pd.DataFrame) -> None:
    def verdict_class(option: str, metric: str, period: str = "whole forecast") -> str:
        rows = cells(by_year_table(comparison, table, metric))
        k = rows[0].index(option)
        line = next(r for r in rows if r[0] == period)
        found = re.match(r"<span class='(\w+)'>", line[k + 1])
        assert found, line
        return found.group(1)

    assert verdict_class("more_iopc", "iopc.open.end") == "better"  # fewer open: better
    assert verdict_class("fewer_iopc", "iopc.open.end") == "worse"
    assert verdict_class("fewer_iopc", "iopc.within_12m.share") == "worse"  # lower share
    # a distinguishable rise in a backlog (whichever option and backlog chance gives) is
    # worse, and a change not told apart from none is neither
    rises = [(o, m) for o in ("more_iopc", "fewer_iopc") for m in HEADLINE
             if label(m).better == "lower" and row(table, o, m).distinguishable
             and row(table, o, m).diff_mean > 0]
    assert rises, "the fixture should hold a distinguishable rise in a backlog"
    assert verdict_class(*rises[0]) == "worse", rises[0]
    unclear = [(o, m) for o in ("more_iopc", "fewer_iopc") for m in HEADLINE
               if not row(table, o, m).distinguishable and row(table, o, m).diff_mean != 0]
    assert unclear, "the fixture should hold a change not told apart from none"
    assert verdict_class(*unclear[0]) == "same", unclear[0]
    assert verdict_class("more_iopc", "dps.open.end") == "same"

    page = render_comparison(comparison, table, [])
    clause = html.escape(describe(row(table, "more_iopc", "iopc.open.end")))
    assert f"<span class='better'>{clause}</span>" in page
    clause = html.escape(describe(row(table, "fewer_iopc", "iopc.open.end")))
    assert f"<span class='worse'>{clause}</span>" in page
    assert f".better{{color:{VERDICT_COLOURS['better']}" in page, "the page's own style"
    assert f".worse{{color:{VERDICT_COLOURS['worse']}" in page
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    assert "Colours: green, a change whose 95% interval excludes zero and that is better" in text
    assert "red, such a change that is worse; grey, not distinguishable" in text
    assert "class='sig'" not in page, "no colour that ignores the better direction"


def test_headline_bars_are_labelled_in_words_and_coloured_by_verdict(
        table: pd.DataFrame) -> None:
    fig = headline_figure(table, "base")
    ax = fig.axes[0]
    assert fig.get_suptitle().startswith("Headline differences from base")
    assert ax.get_xlabel().startswith("difference in % of the base's mean (option minus base")
    assert ax.get_ylabel()
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    bars = ax.patches
    assert len(ticks) == len(bars) == 2 * len(HEADLINE)
    for metric in HEADLINE:
        for option in ("more_iopc", "fewer_iopc"):
            r = row(table, option, metric)
            lab = label(metric)
            i = next(i for i, t in enumerate(ticks) if t.startswith(f"{lab.text}, {option}: "))
            assert lab.change(r.diff_mean) in ticks[i]
            verdict = lab.verdict(r.diff_mean, r.distinguishable)
            assert to_hex(bars[i].get_facecolor()) == VERDICT_COLOURS[verdict], (metric, option)
    assert not any(m in t for t in ticks for m in HEADLINE), "plain words, not metric keys"


def test_difference_charts_have_titles_and_axes_in_the_metrics_units(
        comparison: Comparison) -> None:
    for alt in comparison.alternatives:
        fig = difference_figure(comparison, alt)
        assert fig.get_suptitle().startswith(f"{alt.scenario.name} minus base")
        assert len(fig.axes) == len(FAN_METRICS)
        for ax, metric in zip(fig.axes, FAN_METRICS, strict=True):
            lab = label(metric)
            assert ax.get_title().replace("\n", " ") == f"{lab.text} at month end"
            assert ax.get_xlabel() == "month"
            assert ax.get_ylabel() == f"difference in {lab.unit} (option minus base)"
    units = {label(m).unit for m in FAN_METRICS}
    assert units == {"cases", "officers"}


def test_the_written_charts_are_inlined_in_the_page(comparison: Comparison,
                                                    table: pd.DataFrame,
                                                    tmp_path: Path) -> None:
    plots = write_comparison_plots(comparison, table, tmp_path)
    assert [p.name for p in plots] == ["difference_more_iopc.png", "difference_fewer_iopc.png",
                                       "headline_differences.png"]
    page = render_comparison(comparison, table, plots)
    assert page.count("src='data:image/png;base64,") == 3


def test_the_subtitle_says_where_the_ranges_come_from(comparison: Comparison) -> None:
    runs = [comparison.base, *comparison.alternatives]
    assert ranges_note(runs) == ("The ranges come from chance alone (arrivals, routes and case"
                                 " lengths), with parameters fixed at the calibrated values"
                                 " (--fixed-parameters): every run used the scenario's own"
                                 " values.")
    drawn = ("drawn from the calibration posterior (calibration/posterior.csv), one draw per"
             " 10 replications")
    uncertain = [dataclasses.replace(r, parameters=drawn) for r in runs]
    assert ranges_note(uncertain) == ("The ranges include parameter uncertainty as well as"
                                      " chance, the same draws for every option:"
                                      f" parameters {drawn}.")
    mixed = ranges_note([runs[0], uncertain[1]])
    assert mixed.startswith("The ranges do not all come from the same place: base: chance"
                            " alone; more_iopc: parameter uncertainty included (drawn from")
    page = render_comparison(Comparison(uncertain[0], uncertain[1:]),
                             comparison.table(), [])
    assert "parameter uncertainty as well as chance" in page.split("against base")[0]


def test_one_replication_has_no_interval_and_no_verdict() -> None:
    r = pd.Series({"metric": "iopc.open.end", "diff_mean": 3.0, "diff_low": np.nan,
                   "diff_high": np.nan, "distinguishable": False})
    assert describe(r) == ("IOPC investigations open at the end 3.0 more (one replication:"
                           " no interval), not distinguishable from no change")
    same = r.copy()
    same["diff_mean"] = 0.0
    assert describe(same) == "IOPC investigations open at the end the same in every replication"
