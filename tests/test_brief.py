"""The brief: built from the shipped brief file's scenarios (shortened so the test is quick),
it has every section the issue asks for, stands alone, and says where its numbers came from."""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.cli import main
from sim.errors import InputError
from sim.model.capacity import slot_schedule
from sim.model.scenario import load_scenario, scenario_from_dict
from sim.model.timeline import Timeline
from sim.outputs.brief_report import headline_text, write_brief
from sim.studies.brief import (
    BriefConfig,
    BriefInputs,
    check_brief,
    default_brief_path,
    load_brief_config,
    make_brief,
)
from sim.studies.costs import staff_by_year
from sim.studies.goal_seek import wilson
from tests.conftest import ROOT

SHORT = {"horizon_years": 2, "warmup_years": 1.0}  # reports 2021/22 and 2022/23

#: the small brief is made once per process: keep its tests (and test_costs' and
#: test_browser's that read it) on one worker when the suite runs with -n (README)
pytestmark = pytest.mark.xdist_group("small_brief")


def short_inputs(config: BriefConfig) -> BriefInputs:
    full = BriefInputs.from_config(config, default_brief_path())
    cut = lambda s: s.model_copy(update=SHORT)  # noqa: E731
    return BriefInputs(cut(full.counterfactual), cut(full.uplift),
                       [cut(s) for s in full.options], full.figures, full.sources)


#: The questions on the shortened calendar: recruits from October 2021 are trained by
#: 2022/23, the year reported; curves every 4 investigators up to 44.
SHORT_QUESTIONS = {"from_": dt.date(2021, 10, 1), "max": 44.0, "curve_step": 4.0}


def short_config() -> BriefConfig:
    """The shipped brief file and its questions, reporting 2022/23 (see SHORT_QUESTIONS)."""
    config = load_brief_config(default_brief_path())
    return config.model_copy(update={
        "year": "2022/23", "target": config.target.model_copy(update=SHORT_QUESTIONS),
        "other_targets": [t.model_copy(update=SHORT_QUESTIONS) for t in config.other_targets]})


@functools.cache
def small_brief():
    """The small brief's result (compiled engine, 3 replications, two years), made once per
    session (the DES took 33 s here, the compiled engine 2 s)."""
    config = short_config()
    return make_brief(config, short_inputs(config), reps=3, seed=2, engine="compiled")


@functools.cache
def build_small_brief() -> Path:
    """One small brief (compiled, 3 replications, two years), written once per test session."""
    out = Path(tempfile.mkdtemp(prefix="ccsim-brief-")) / "brief"
    write_brief(small_brief(), out, default_brief_path())
    return out


@pytest.fixture
def small_brief_dir() -> Path:
    """The small brief's directory (the browser test opens the same one)."""
    return build_small_brief()


def test_the_brief_has_every_section(small_brief_dir: Path) -> None:
    html = (small_brief_dir / "brief.html").read_text()
    for heading in ("IOPC backlogs with and without the uplift", "What the uplift costs",
                    "Options", "Goal-seek", "Assumptions", "The model", "STRESS-DES",
                    "Provenance"):
        assert heading in html, heading
    assert html.count("<img") == 6, "open cases, over 12 months, uplift cost, suspensions," \
        " and one chart per goal-seek question"
    assert "Question 1 (the headline): the mean wait for an IOPC investigator" in html
    assert "Question 2: the number of IOPC investigations open over 12 months" in html
    for name in ("police_uplift", "iopc_flat_cash", "rec7_in_line", "package_rec7_plus"):
        assert name in html, f"option {name} in the table"
    for fid in ("S-25", "T04-01", "T04-02", "T05-09", "S-26"):
        assert fid in html, f"figure {fid} cited"
    assert "seed" in html and "git_commit" in html


def test_the_html_stands_alone_and_the_markdown_matches(small_brief_dir: Path) -> None:
    html = (small_brief_dir / "brief.html").read_text()
    assert not re.search(r"(src|href)=['\"]?(https?:|//|file:)", html), "no external assets"
    assert all(s.startswith("data:image/png;base64,")
               for s in re.findall(r"src='([^']*)'", html))
    md = (small_brief_dir / "brief.md").read_text()
    images = re.findall(r"!\[[^]]*\]\(([^)]+)\)", md)
    assert len(images) == 6 and all((small_brief_dir / p).exists() for p in images)
    assert md.splitlines()[0].startswith("# Recommendation 7")
    for f in ("options.csv", "target_points.csv", "brief.json"):
        assert (small_brief_dir / f).exists(), f


def test_the_headline_quotes_numbers_with_intervals(small_brief_dir: Path) -> None:
    md = (small_brief_dir / "brief.md").read_text()
    headline = next(line for line in md.splitlines() if line.startswith("> **"))
    assert "31 March 2023" in headline and "90% of futures" in headline
    assert "£" in headline, "the uplift's cost"
    assert re.search(r"Keeping the mean wait for an IOPC investigator in 2022/23 at or below"
                     r" its 2021/22 level \([\d.]+ days\) on average needs \d+ IOPC"
                     r" investigators for Met cases \(95% interval", headline), \
        "the headline question's answer with its interval"
    assert "IOPC investigations would be open over 12 months at 31 March 2023" in headline
    assert "in 80% of futures" in headline and "(question 2)" in headline
    assert len(re.findall(r"\d", headline)) > 10
    # the small brief's year has the uplift's recruits still in training: no change yet
    assert "no change (the same in every replication)" in headline or re.search(
        r"a change of [-+][\d.]+ \(95% interval [-+][\d.]+ to [-+][\d.]+\)"
        r"( \*)?, from -?[\d.]+ to -?[\d.]+ in 90% of futures", headline), \
        "the expected change with its interval, and its spread over futures and draws"


def test_what_the_headline_rests_on_is_said_beside_it(small_brief_dir: Path) -> None:
    """The standard: an assumption that alone makes the headline's effect is said in the
    headline's vicinity. The shipped brief's caveats follow the headline in the Markdown and
    HTML, and are in brief.json."""
    caveats = load_brief_config(default_brief_path()).caveats
    assert any("nearly fully busy" in c for c in caveats) and any("S-32" in c for c in caveats)
    lines = (small_brief_dir / "brief.md").read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("> **"))
    after = "\n".join(lines[at + 1: at + 8])
    assert "What this answer rests on:" in after
    assert all(f"- {' '.join(c.split())}" in after for c in caveats)
    html = (small_brief_dir / "brief.html").read_text()
    assert html.index("What this answer rests on:") < html.index("Forecasts from ccsim")
    record = json.loads((small_brief_dir / "brief.json").read_text())
    assert record["caveats"] == [" ".join(c.split()) for c in caveats]


def test_the_brief_says_where_its_parameters_come_from(small_brief_dir: Path) -> None:
    """The small brief runs through `make_brief` with fixed parameters (the API's default):
    its page, Markdown, brief.json and terminal text say so; the shipped brief file asks
    `ccsim brief` to draw them."""
    said = "parameters fixed at the calibrated values (--fixed-parameters)"
    for name in ("brief.html", "brief.md"):
        assert said in " ".join((small_brief_dir / name).read_text().split()), name
    record = json.loads((small_brief_dir / "brief.json").read_text())
    assert record["parameters"] == said and "chance alone" in record["ranges"]
    assert said in headline_text(small_brief())
    assert load_brief_config(default_brief_path()).parameters == "drawn"


def test_the_shipped_default_question_is_the_expected_wait_and_the_probability_second() -> None:
    """The headline question asks for the expected value (it has an answer: the count open
    over 12 months with 80% probability does not, see briefs/rec7.yaml); the probability
    version stays as question 2, with a curve."""
    config = load_brief_config(default_brief_path())
    head, (second,) = config.target, config.other_targets
    assert (head.goal, head.metric, head.at_most) == ("mean", "iopc.wait_days.mean",
                                                      "baseline:2021/22")
    assert (second.goal, second.metric, second.at_most, second.confidence) == (
        "probability", "iopc.open_over_12m.end", "baseline:2021/22", 0.8)
    assert second.curve_step and second.max and head.lever == second.lever


def test_the_default_question_has_an_answer_on_a_short_run() -> None:
    """On the shortened configuration the headline (mean) question is met: the answer's
    expected wait is at most its 2021/22 level and one investigator fewer's is not; its
    scenario is in the options table."""
    brief = small_brief()
    t = brief.target
    assert t is not None and t.target.kind == "mean" and t.answer is not None
    at = {p.value: p for p in t.points}
    assert at[t.answer].diff_mean <= 0 < at[t.answer - 1].diff_mean
    assert t.answer_high is None or t.answer_high >= t.answer
    assert brief.goal_option == "target_uplift"
    assert brief.result("target_uplift").scenario.pools.iopc.staff[-1].value == t.answer


def test_the_probability_curve_is_in_the_brief(small_brief_dir: Path) -> None:
    """Question 2's probability at every curve value, with its Wilson interval, in the table
    (target_points.csv and the Markdown) and as a chart."""
    points = pd.read_csv(small_brief_dir / "target_points.csv")
    curve = points[points.question == 2]
    assert set(curve.goal) == {"probability"}
    assert {30, 34, 38, 42, 44} <= set(curve.value), "every curve value"
    assert (curve.share_low <= curve.share).all() and (curve.share <= curve.share_high).all()
    for _, p in curve.iterrows():
        assert (p.share_low, p.share_high) == pytest.approx(  # the CSV holds 6 figures
            wilson(int(p.met), int(p.reps)), rel=1e-5)
    md = (small_brief_dir / "brief.md").read_text()
    section = md[md.index("### Question 2"):md.index("## Assumptions")]
    assert "(plots/question_2.png)" in section and "Wilson 95%" in section
    rows = [line for line in section.splitlines() if re.match(r"\| \d", line)]
    assert [int(r.split("|")[1]) for r in rows] == sorted(curve.value.astype(int))
    assert (small_brief_dir / "plots" / "question_2.png").stat().st_size > 10_000


def test_staff_by_year_averages_dated_steps_over_each_fiscal_year() -> None:
    """rec7_in_line: 30 until April 2022, then 32.2, 33.5, 33, 32 from each April."""
    s = load_scenario(ROOT / "scenarios" / "rec7_in_line.yaml")
    got = staff_by_year(s, "pools.iopc.staff", Timeline.for_scenario(s))
    assert np.allclose(got, [30, 32.2, 33.5, 33, 32])


def test_staff_by_year_counts_the_staff_the_engines_simulate() -> None:
    """Before its first dated step a pool has that step's staff (`Timeline.in_force`, which
    sets the engines' slots), so the brief costs the staff that were simulated."""
    d = load_scenario(ROOT / "scenarios" / "rec7_in_line.yaml").to_dict()
    d["pools"]["iopc"]["staff"] = [{"from": "2022-04-01", "value": 40}]
    s = scenario_from_dict(d)
    timeline = Timeline.for_scenario(s)
    assert np.allclose(staff_by_year(s, "pools.iopc.staff", timeline), 40)
    _, slots = slot_schedule(s.pools.iopc, timeline)
    assert slots[0] == 40 * s.pools.iopc.cases_per_staff


def test_cost_per_investigator_is_derived_as_documented() -> None:
    """S-25 GBP 63.78m core budget over T04-01's 1,013 staff."""
    config = load_brief_config(default_brief_path())
    assert config.cost_per_investigator_year_gbp == round(63.78e6 / 1013)


def test_bad_brief_input_is_refused(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text((default_brief_path()).read_text().replace("year: 2025/26",
                                                              "yeer: 2025/26"))
    with pytest.raises(InputError, match="yeer"):
        load_brief_config(bad)
    assert main(["brief", "--year", "2031/32", "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert "2025/26" in capsys.readouterr().err
    assert main(["brief", "--confidence", "1.5", "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert "target.confidence" in capsys.readouterr().err


@pytest.mark.parametrize(("change", "words"), [
    ({"at_least": 0.9}, "at_most or at_least, not both"),
    ({"max": None}, "curve_step needs max"),
    ({"goal": "median"}, "other_targets.0.goal"),
])
def test_a_bad_question_is_refused(tmp_path: Path, change: dict, words: str) -> None:
    config = load_brief_config(default_brief_path()).model_dump(by_alias=True, mode="json")
    config["other_targets"][0].update(change)
    for key in ("counterfactual", "uplift", "figures"):
        config[key] = str((default_brief_path().parent / config[key]).resolve())
    config["options"] = [str((default_brief_path().parent / o).resolve())
                         for o in config["options"]]
    path = tmp_path / "brief.yaml"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(InputError, match=re.escape(words)):
        load_brief_config(path)


def test_a_question_naming_an_unknown_metric_is_refused_before_any_run(monkeypatch) -> None:
    config = short_config()
    bad = config.model_copy(update={"other_targets": [
        config.other_targets[0].model_copy(update={"metric": "iopc.nonsense"})]})
    monkeypatch.setattr("sim.studies.brief.run_scenario", _no_run)
    with pytest.raises(InputError, match=re.escape("other_targets.0.metric")):
        check_brief(bad, short_inputs(bad), 3)


def _no_run(*args, **kwargs):
    raise AssertionError("a run before the brief's inputs were checked")
