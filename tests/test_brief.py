"""The brief: built from the shipped brief file's scenarios (shortened so the test is quick),
it has every section the issue asks for, stands alone, and says where its numbers came from."""

from __future__ import annotations

import functools
import re
import tempfile
from pathlib import Path

import numpy as np
import pytest

from sim.cli import main
from sim.errors import InputError
from sim.model.capacity import slot_schedule
from sim.model.scenario import load_scenario, scenario_from_dict
from sim.model.timeline import Timeline
from sim.outputs.brief_report import write_brief
from sim.studies.brief import (
    BriefConfig,
    BriefInputs,
    default_brief_path,
    load_brief_config,
    make_brief,
    staff_by_year,
)
from tests.conftest import ROOT

SHORT = {"horizon_years": 2, "warmup_years": 1.0}  # reports 2021/22 and 2022/23


def short_inputs(config: BriefConfig) -> BriefInputs:
    full = BriefInputs.from_config(config, default_brief_path())
    cut = lambda s: s.model_copy(update=SHORT)  # noqa: E731
    return BriefInputs(cut(full.counterfactual), cut(full.uplift),
                       [cut(s) for s in full.options], full.figures, full.sources)


def short_config() -> BriefConfig:
    """The shipped brief file, reporting 2022/23, with a narrow goal-seek grid."""
    config = load_brief_config(default_brief_path())
    target = config.target.model_copy(update={"min": 41.0, "max": 53.0, "step": 4.0})
    return config.model_copy(update={"year": "2022/23", "target": target})


@functools.cache
def build_small_brief() -> Path:
    """One small brief (des, 3 replications, two years), written once per test session."""
    config = short_config()
    brief = make_brief(config, short_inputs(config), reps=3, seed=2, engine="des")
    out = Path(tempfile.mkdtemp(prefix="ccsim-brief-")) / "brief"
    write_brief(brief, out, default_brief_path())
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
    assert html.count("<img") == 4, "open cases, over 12 months, uplift cost, suspensions"
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
    assert len(images) == 4 and all((small_brief_dir / p).exists() for p in images)
    assert md.splitlines()[0].startswith("# Recommendation 7")
    for f in ("options.csv", "target_points.csv", "brief.json"):
        assert (small_brief_dir / f).exists(), f


def test_the_headline_quotes_numbers_with_intervals(small_brief_dir: Path) -> None:
    md = (small_brief_dir / "brief.md").read_text()
    headline = next(line for line in md.splitlines() if line.startswith("> **"))
    assert "31 March 2023" in headline and "90% of futures" in headline
    assert "£" in headline, "the uplift's cost"
    assert "investigators for Met cases (95% interval" in headline or "No value of" in headline, \
        "the goal-seek's answer with its interval, or that there is none"
    assert len(re.findall(r"\d", headline)) > 10


def test_staff_by_year_averages_dated_steps_over_each_fiscal_year() -> None:
    """rec7_in_line: 30 until April 2022, then 32.2, 33.5, 33, 32 from each April."""
    s = load_scenario(ROOT / "scenarios" / "rec7_in_line.yaml")
    got = staff_by_year(s, "iopc", Timeline.for_scenario(s))
    assert np.allclose(got, [30, 32.2, 33.5, 33, 32])


def test_staff_by_year_counts_the_staff_the_engines_simulate() -> None:
    """Before its first dated step a pool has that step's staff (`Timeline.in_force`, which
    sets the engines' slots), so the brief costs the staff that were simulated."""
    d = load_scenario(ROOT / "scenarios" / "rec7_in_line.yaml").to_dict()
    d["pools"]["iopc"]["staff"] = [{"from": "2022-04-01", "value": 40}]
    s = scenario_from_dict(d)
    timeline = Timeline.for_scenario(s)
    assert np.allclose(staff_by_year(s, "iopc", timeline), 40)
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
