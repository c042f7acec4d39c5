"""What a planner reads after a run: the report's opening sentences and subtitle, chart
labels, and progress that says how long is left. Labels, units and value formats come from
sim.outputs.labels; these tests check that every page and line uses them."""

from __future__ import annotations

import html
import io
import itertools
import re
import sys

import pandas as pd
import pytest

import sim
from sim.engine.metrics import HEADLINE
from sim.engine.summaries import summary_table
from sim.model.scenario import scenario_from_dict
from sim.outputs.labels import label
from sim.outputs.plots import CHARTS, chart
from sim.outputs.run_report import value_range
from sim.outputs.terminal import Progress as _progress
from tests.conftest import ROOT, small_dict


@pytest.fixture(scope="module")
def plain_run(tmp_path_factory):
    scenario = scenario_from_dict(small_dict(horizon_years=2))
    return sim.run(scenario, reps=3, seed=1, out=tmp_path_factory.mktemp("plain") / "run")


@pytest.fixture(scope="module")
def drawn_run(tmp_path_factory):
    scenario = scenario_from_dict(small_dict(horizon_years=2))
    return sim.run(scenario, reps=2, seed=1, parameter_uncertainty=ROOT / "calibration",
                   reps_per_draw=1, out=tmp_path_factory.mktemp("drawn") / "run")


def _paragraph(page: str, cls: str) -> str:
    found = re.search(rf"<p class='{cls}'>(.*?)</p>", page, re.S)
    assert found, f"no <p class='{cls}'> in the report"
    return html.unescape(found.group(1))


def test_report_opens_with_sentences_built_from_the_run_s_numbers(plain_run) -> None:
    page = (plain_run.folder / "report.html").read_text()
    lead = _paragraph(page, "lead")
    summary = summary_table(plain_run.result.measured).set_index("metric")
    for metric, body in (("iopc.open_over_12m.end", "IOPC"),
                         ("psu.open_over_12m.end", "local (PSU)")):
        lab, r = label(metric), summary.loc[metric]
        said = f"{lab.value(r['mean'])} {body} investigations (90% range"
        assert f"{said} {value_range(lab, r.p05, r.p95)})" in lead, (metric, lead)
    for metric in ("met.duration_wd.mean", "officers.suspended.mean",
                   "cost.suspended_gbp_per_year"):
        assert label(metric).value(summary.loc[metric, "mean"]) in lead, (metric, lead)
    assert "April 2021 to March 2023" in lead and "from 3 replications" in lead
    assert 2 <= lead.count(". ") + 1 <= 3, "two or three sentences"
    order = [page.index(x) for x in ("<h1>", "class='subtitle'", "class='lead'",
                                     "Headline figures", "About this run", "Every metric")]
    assert order == sorted(order), "sentences, then the headline table, then the rest"


def test_report_headline_table_has_plain_labels_not_metric_names(plain_run) -> None:
    page = (plain_run.folder / "report.html").read_text()
    headline = page[page.index("Headline figures"):page.index("About this run")]
    for metric in HEADLINE:
        assert f">{html.escape(label(metric).text)}" in headline, metric
        assert metric not in headline, f"{metric}: the name stays in summary.csv"
    assert "working days</td>" in headline and "%</td>" in headline and "£" in headline


def test_subtitle_of_a_plain_run_says_its_ranges_come_from_chance_alone(plain_run) -> None:
    subtitle = _paragraph((plain_run.folder / "report.html").read_text(), "subtitle")
    assert "chance alone" in subtitle and "scenario's own values" in subtitle, subtitle
    assert "drawn from the calibration" not in subtitle


def test_subtitle_with_parameter_uncertainty_includes_the_fitted_parameters(drawn_run) -> None:
    assert drawn_run.result.parameters.startswith("drawn from the calibration")
    subtitle = _paragraph((drawn_run.folder / "report.html").read_text(), "subtitle")
    assert "what we do not know about the fitted parameters" in subtitle, subtitle
    assert drawn_run.result.parameters in subtitle, "names the calibration it drew from"
    assert "chance alone" not in subtitle


def _series() -> pd.DataFrame:
    metrics = sorted({m for _, _, ms, _ in CHARTS for m in ms})
    return pd.DataFrame([{"month": f"2021-{mo:02d}", "metric": m, "replication": r,
                          "value": 10.0 + r + mo}
                         for m, mo, r in itertools.product(metrics, (4, 5, 6), (0, 1))])


@pytest.mark.parametrize(("name", "title", "metrics", "y_label"), CHARTS,
                         ids=[c[0] for c in CHARTS])
def test_every_chart_line_has_its_plain_label_and_the_axis_its_unit(name, title, metrics,
                                                                    y_label) -> None:
    ax = chart(_series(), title, metrics, y_label).axes[0]
    assert ax.get_title() == title and title
    assert ax.get_ylabel() == y_label and any(
        unit in y_label for unit in ("cases", "officers")), "the y-axis names its unit"
    assert ax.get_legend_handles_labels()[1] == [label(m).text for m in metrics]


def test_the_referrals_line_is_not_called_iopc_independent() -> None:
    _, title, metrics, y_label = next(c for c in CHARTS if c[0] == "demand")
    lines = chart(_series(), title, metrics, y_label).axes[0].get_legend_handles_labels()[1]
    assert "referrals to the IOPC" in lines and "IOPC independent" not in " ".join(lines)
    assert y_label == "cases a month"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_is_a_bar_with_the_time_left(monkeypatch) -> None:
    screen = _Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    with _progress(10, False, "baseline [compiled]") as advance:
        for _ in range(10):
            advance(1)
    shown = screen.getvalue()
    assert "baseline [compiled]" in shown and "10 of 10 replications" in shown, shown
    assert re.search(r"about \d\d:\d\d left\]", shown), f"no time left in {shown!r}"


def test_progress_is_silent_under_quiet_even_on_a_terminal(monkeypatch) -> None:
    screen = _Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    with _progress(10, True, "baseline [compiled]") as advance:
        advance(10)
    assert screen.getvalue() == ""


def _log(total: int, step: int, seconds_a_step: float, label: str, capsys) -> list[str]:
    clock = itertools.count(0.0, seconds_a_step)
    with _progress(total, False, label, clock=lambda: next(clock)) as advance:
        for _ in range(total // step):
            advance(step)
    return capsys.readouterr().err.splitlines()


def test_progress_lines_come_every_10_percent_of_a_fast_run(capsys) -> None:
    lines = _log(1000, 10, 0.5, "baseline [compiled]", capsys)  # 50 s in all: 10% every 5 s
    assert len(lines) == 10, lines
    assert lines[1] == "baseline [compiled]: 200 of 1,000 replications, about 40 s left"
    assert lines[-1] == "baseline [compiled]: 1,000 of 1,000 replications, done in 50 s"


def test_progress_lines_come_every_30_seconds_of_a_slow_run(capsys) -> None:
    lines = _log(1000, 10, 10.0, "baseline [compiled]", capsys)  # 10 s a step: 30 s is 3%
    assert lines[0] == "baseline [compiled]: 30 of 1,000 replications, about 16 min left"
    assert lines[-1] == "baseline [compiled]: 1,000 of 1,000 replications, done in 17 min"


def test_a_sweep_counts_points(capsys) -> None:
    lines = _log(4, 1, 1.0, "sweep grid", capsys)
    assert lines[-1] == "sweep grid: 4 of 4 points, done in 4 s"


def test_a_resumed_sweep_that_reports_nothing_done_yet_says_nothing(capsys) -> None:
    clock = itertools.count(0.0, 60.0)  # a minute between calls: the 30 s rule is due
    with _progress(4, False, "sweep grid", clock=lambda: next(clock)) as advance:
        advance(0)  # the sweep runner reports the points it resumed: here none
    assert capsys.readouterr().err == ""
