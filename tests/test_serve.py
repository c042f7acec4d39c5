"""The what-if page's server (`ccsim serve`) without a browser: its controls become the same
changes a scenario file makes, a run streams rising stages that equal `ccsim compare` for
as many replications, a newer request stops the older, bad values are refused beside their
control, downloads reproduce the page, and nothing is fetched from outside the machine.
The browser itself: tests/test_serve_browser.py."""

from __future__ import annotations

import io
import json
import re
import zipfile

import numpy as np
import openpyxl
import pytest
import yaml
from starlette.testclient import TestClient

from sim import api
from sim.engine.run import Stopped
from sim.errors import InputError
from sim.model.scenario import load_scenario, scenario_from_dict
from sim.serve.app import STATIC, create_app
from sim.serve.controls import CONTROLS, apply_settings, current_values, parse_settings
from sim.serve.runs import BaseRuns, Request, Sessions, comparisons, load_base, stages_for
from sim.serve.server import check_port
from tests.conftest import ROOT

MORE_IOPC = {"iopc_staff": {"value": 40, "from": "2022-04"}}


@pytest.fixture(scope="module")
def client() -> TestClient:
    c = TestClient(create_app())
    assert c.get("/").status_code == 200  # sets the session cookie
    return c


def _stages(response) -> list[dict]:
    assert response.status_code == 200, response.text
    return [json.loads(line) for line in response.text.splitlines()]


def test_the_page_and_its_assets_are_all_local() -> None:
    """No CDN, no internet: every asset the page names is served by the package."""
    html = (STATIC / "index.html").read_text()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets and not [a for a in assets if "//" in a], assets
    for name in ("app.js", "app.css", "vendor/uPlot.iife.min.js", "vendor/uPlot.min.css",
                 "vendor/uPlot.LICENSE", "icon.svg"):
        assert (STATIC / name).is_file(), name
    script = (STATIC / "app.js").read_text()
    assert "http://" not in script and "https://" not in script


def test_setup_lists_the_controls_with_the_base_values(client: TestClient) -> None:
    setup = client.get("/api/setup", params={"base": "police_uplift"}).json()
    values = {c["id"]: c["value"] for c in setup["controls"]}
    assert values["iopc_staff"] == 30 and values["panels"] == 12 and values["cps_days"] == 120
    assert {b["name"] for b in setup["bases"]} >= {"baseline", "police_uplift", "rec7_in_line"}
    refused = client.get("/api/setup", params={"base": "../../etc/passwd"})
    assert refused.status_code == 400 and refused.json()["error"]["field"] == "base"


def test_controls_make_the_changes_a_scenario_file_makes() -> None:
    base = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    option = apply_settings(base, parse_settings({
        "iopc_staff": {"value": 40, "from": "2022-04"},
        "panels": {"value": 18, "from": "2022-04"},
        "cps_days": {"value": 60, "from": "2022-04"},
        "early_contact": {"value": 50, "from": "2022-04"}}))
    assert [(s.from_.isoformat(), s.value) for s in option.pools.iopc.staff] == [
        ("2018-04-01", 30), ("2022-04-01", 40)]
    assert option.proceedings.panels.staff[-1].value == 18
    cps, ect = option.levers
    assert cps.set["cps.decision_days"] == {"dist": "lognormal", "mean": 60.0, "cv": 1.0}
    # 50% reach is the shipped early_contact_scaled scenario's lever, exactly
    shipped = load_scenario(ROOT / "scenarios" / "early_contact_scaled.yaml").levers[0]
    assert ect.ramp_months == shipped.ramp_months == 12
    assert ect.set["assessment.complaints"] == pytest.approx(
        shipped.set["assessment.complaints"], abs=1e-9)
    assert current_values(base) == {c.id: current_values(base)[c.id] for c in CONTROLS}
    assert apply_settings(base, parse_settings({"iopc_staff": {"value": 30}})) is base


def test_the_iopc_caseload_rule_is_for_the_whole_run() -> None:
    """The caseload-limit control sets `iopc_referral.caseload_limit` (0: none, the shipped
    fixed share), has no month (a month outside the forecast is not refused), and is the
    sensitivity scenario's rule at 1."""
    base = load_scenario(ROOT / "scenarios" / "police_uplift.yaml")
    assert current_values(base)["iopc_limit"] == 0.0
    control = next(c for c in CONTROLS if c.id == "iopc_limit")
    assert not control.dated and control.describe()["dated"] is False
    option = apply_settings(base, parse_settings({"iopc_limit": {"value": 1,
                                                                  "from": "1999-01"}}))
    shipped = load_scenario(ROOT / "scenarios" / "sensitivity"
                            / "police_uplift_iopc_capacity_bound.yaml")
    assert option.iopc_referral == shipped.iopc_referral
    assert "from" not in option.description.split("IOPC takes")[1]
    assert apply_settings(option, parse_settings({"iopc_limit": {"value": 0}})
                          ).iopc_referral.caseload_limit is None


def test_demand_growth_compounds_by_year_from_its_month() -> None:
    base = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    option = apply_settings(base, parse_settings({"demand_growth": {"value": 10,
                                                                     "from": "2022-04"}}))
    steps = option.demand.complaints.cases_per_month
    kept = [s for s in steps if s.from_.year < 2022]
    assert [s.value for s in kept] == [s.value for s in base.demand.complaints.cases_per_month]
    grown = [s.value / 601.33 for s in steps if s.from_.year >= 2022]  # S-29: 2021/22
    assert grown == pytest.approx([1.1 ** (k + 0.5) for k in range(len(grown))])


@pytest.mark.parametrize(("settings", "field"), [
    ({"iopc_staff": {"value": -1}}, "iopc_staff"),
    ({"iopc_staff": {"value": "many"}}, "iopc_staff"),
    ({"iopc_staff": {"value": None}}, "iopc_staff"),
    ({"cps_days": {"value": float("nan")}}, "cps_days"),
    ({"panels": {"value": 10, "from": "April"}}, "panels"),
    ({"nonsense": {"value": 1}}, "nonsense"),
    ({"early_contact": {"value": 100, "from": "2030-01"}}, "early_contact"),
])
def test_a_bad_value_is_refused_beside_its_control(settings: dict, field: str) -> None:
    base = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    with pytest.raises(InputError) as caught:
        apply_settings(base, parse_settings(settings))
    assert caught.value.field == field and caught.value.problem


def test_the_server_refuses_bad_values_with_the_field(client: TestClient) -> None:
    for body, field in ((MORE_IOPC | {"demand_growth": {"value": 500}}, "demand_growth"),
                        ({}, "reps")):
        request = {"base": "baseline", "controls": body, "reps": 100, "seed": 1}
        if field == "reps":
            request["reps"] = 10**9
        (refused,) = _stages(client.post("/api/run", json=request))
        assert refused["status"] == "refused"
        error = refused["error"]
        assert error["field"] == field and error["allowed"], error
    assert client.post("/api/run", content=b"{not json").status_code == 400
    assert client.post("/api/run", content=b"x" * 200_000).status_code == 400
    no_session = TestClient(create_app()).post("/api/run", json={"base": "baseline"})
    assert no_session.status_code == 400 and no_session.json()["error"]["field"] == "session"


def test_a_run_streams_rising_stages_equal_to_ccsim_compare(client: TestClient) -> None:
    stages = _stages(client.post("/api/run", json={
        "base": "baseline", "controls": MORE_IOPC, "reps": 120, "seed": 3}))
    assert [s["reps"] for s in stages] == stages_for(120) == [50, 120]
    assert [s["status"] for s in stages] == ["partial", "done"]
    last = stages[-1]
    assert {c["metric"] for c in last["charts"]} >= {"iopc.open", "hearings.awaiting",
                                                     "officers.suspended", "psu.open_over_12m"}
    chart = next(c for c in last["charts"] if c["metric"] == "iopc.open")
    assert len(chart["base"]["p50"]) == len(last["months"]) == 60
    option = load_scenario(ROOT / "scenarios" / "baseline.yaml").with_changes(
        {"pools.iopc.staff": [{"from": "2018-04-01", "value": 30},
                              {"from": "2022-04-01", "value": 40}]})
    table = api.compare([ROOT / "scenarios" / "baseline.yaml", option], reps=120,
                        seed=3).result.table()
    whole = table[table.period == "all"].set_index("metric")
    for figure in last["figures"]:
        row = whole.loc[figure["metric"]]
        for key, column in (("base", "base_mean"), ("option", "alt_mean"),
                            ("difference", "diff_mean")):
            expected = row[column]
            got = figure[key]
            assert (got is None and np.isnan(expected)) or got == pytest.approx(
                expected, rel=1e-12, abs=1e-12), (figure["metric"], key)
    said = " ".join(s["text"] for s in last["sentences"])
    assert "IOPC investigations open" in said and "95% interval" in said
    costs = last["costs"]
    iopc = costs["staff"][0]
    assert iopc["gbp_per_year"] == pytest.approx(iopc["extra"] * 62962)
    assert 7.9 < iopc["extra"] < 8.1  # 10 more from April 2022, a 5-year forecast from 2021


def test_a_newer_request_stops_the_older_and_the_base_is_kept() -> None:
    sessions, base_runs = Sessions(), BaseRuns()
    request = Request.parse({"base": "baseline", "controls": MORE_IOPC, "reps": 200})
    first = sessions.begin("browser")
    older = comparisons(request, base_runs, lambda: not sessions.current("browser", first))
    assert next(older).base.reps == 50
    second = sessions.begin("browser")
    with pytest.raises(Stopped):
        next(older)
    assert sessions.current("browser", second) and not sessions.current("browser", first)
    assert base_runs.get(request.base, request.seed, 50) is not None  # kept for the next
    newer = list(comparisons(request, base_runs))
    assert [c.base.reps for c in newer] == [50, 200]


def test_the_base_alone_differs_from_itself_by_nothing(client: TestClient) -> None:
    last = _stages(client.post("/api/run", json={"base": "baseline", "reps": 30}))[-1]
    assert last["option"] == last["base"] == "baseline"
    assert all(f["same"] for f in last["figures"])


def test_downloads_reproduce_the_page(client: TestClient, tmp_path) -> None:
    last = _stages(client.post("/api/run", json={
        "base": "police_uplift", "controls": MORE_IOPC, "reps": 40, "seed": 5}))[-1]
    text = client.get("/api/download/scenario.yaml").text
    assert "ccsim run police_uplift_what_if.yaml --reps 40 --seed 5 --fixed-parameters" in text
    path = tmp_path / "police_uplift_what_if.yaml"
    path.write_text(text)
    scenario = load_scenario(path)
    assert scenario.digest() == scenario_from_dict(yaml.safe_load(text)).digest()
    run = api.run(path, reps=40, seed=5).result
    for figure in last["figures"]:
        values = run.measured.summary[figure["metric"]]
        expected = np.nanmean(values) if np.isfinite(values).any() else None
        assert figure["option"] == pytest.approx(expected, rel=1e-12), figure["metric"]
    book = openpyxl.load_workbook(io.BytesIO(client.get("/api/download/workbook.xlsx").content))
    assert "Differences" in book.sheetnames
    said = [row[1] for row in book["Provenance"].iter_rows(values_only=True)
            if row[0] == "base.parameters"]
    assert said and said[0].startswith("fixed at the calibrated values (the what-if page does"
                                       " not draw them, for speed"), said
    charts = zipfile.ZipFile(io.BytesIO(client.get("/api/download/charts.zip").content))
    assert any(n.endswith(".png") for n in charts.namelist())
    assert client.get("/api/download/nothing").status_code == 404
    assert TestClient(create_app()).get("/api/download/scenario.yaml").status_code == 404


def test_the_port_and_the_bases_are_checked() -> None:
    with pytest.raises(InputError):
        check_port(70000)
    with pytest.raises(InputError):
        load_base("scenarios/baseline")
