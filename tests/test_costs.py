"""Costs of the staff an option adds: every staffed lever the brief compares is counted, at a
stated cost per staff-year, and a change with no published cost is said, never summed as
free."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from sim.model.scenario import load_scenario
from sim.model.timeline import Timeline
from sim.outputs.brief_report import _Numbers, options_table
from sim.studies.costs import costed_total, extra_staff, staff_costs, uncosted
from tests.conftest import ROOT
from tests.test_brief import small_brief

IOPC_GBP = 62962.0  # briefs/rec7.yaml: S-25 / T04-01


def test_the_package_is_costed_for_each_staffed_lever() -> None:
    """package_rec7_plus against police_uplift: IOPC investigators in line with officers
    (rec7_in_line's steps), 50 more DPS investigators from November 2021 (T02-22) at a Met
    officer's cost (S-26), 6 more panels and 2 more hearing rooms from April 2022, not
    costed."""
    base = load_scenario(ROOT / "scenarios" / "police_uplift.yaml")
    package = load_scenario(ROOT / "scenarios" / "package_rec7_plus.yaml")
    timeline = Timeline.for_scenario(base)
    lines = {line.cost.path: line for line in extra_staff(package, base, timeline, IOPC_GBP)}
    np.testing.assert_allclose(lines["pools.iopc.staff"].extra, [0, 2.2, 3.5, 3.0, 2.0])
    _, first, end = timeline.fiscal_years[0]  # 2021/22: 50 more from 1 November
    dps_2021 = 50 * (end - timeline.day(dt.date(2021, 11, 1))) / (end - first)
    np.testing.assert_allclose(lines["pools.dps.staff"].extra, [dps_2021, 50, 50, 50, 50],
                               rtol=1e-9)
    np.testing.assert_allclose(lines["pools.psu.staff"].extra, 0)
    np.testing.assert_allclose(lines["proceedings.panels.staff"].extra, [0, 6, 6, 6, 6])
    officer = base.officers.cost_per_officer_year_gbp
    assert officer == 70508  # S-26
    expected = (lines["pools.iopc.staff"].extra * IOPC_GBP
                + lines["pools.dps.staff"].extra * officer)
    np.testing.assert_allclose(costed_total(list(lines.values())), expected)
    np.testing.assert_allclose(lines["proceedings.sittings.rooms"].extra, [0, 2, 2, 2, 2])
    panels, rooms = uncosted(list(lines.values()))
    assert (panels.cost.path, rooms.cost.path) == ("proceedings.panels.staff",
                                                   "proceedings.sittings.rooms")
    assert all(math.isnan(v) for v in [*panels.gbp, *rooms.gbp])


def test_every_cost_names_its_basis() -> None:
    costs = staff_costs(load_scenario(ROOT / "scenarios" / "baseline.yaml"), IOPC_GBP)
    assert [c.path for c in costs] == ["pools.iopc.staff", "pools.dps.staff",
                                       "pools.psu.staff", "proceedings.panels.staff",
                                       "proceedings.sittings.rooms"]
    assert "S-25" in costs[0].basis and all("S-26" in c.basis for c in costs[1:3])
    assert all(not c.costed and "no published figure" in c.basis for c in costs[3:])


@pytest.mark.xdist_group("small_brief")  # made once per worker (tests/test_brief.py)
def test_the_briefs_options_table_shows_each_options_staff_and_cost() -> None:
    brief = small_brief()
    table = options_table(brief, _Numbers(brief))
    staff = table.header.index(f"extra staff {brief.config.year}")
    rows = {row[0]: row for row in table.rows}
    package = rows["package_rec7_plus"][staff]
    assert "IOPC investigators +" in package and "DPS investigators +50" in package
    assert "hearing panels +6 (not costed)" in package
    assert rows["police_uplift (counterfactual)"][staff] == "none"
    assert "£70,508" in table.caption and "no published figure" in table.caption
