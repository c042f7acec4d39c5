"""Unit tests: the scenario model accepts the baseline and rejects each class of bad input
with a message that names the field, the value and what is allowed."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from sim.errors import InputError, ScenarioError
from sim.model.scenario import load_scenario, save_scenario, scenario_from_dict
from tests.conftest import BASELINE, baseline_dict


def problems_for(data: dict) -> str:
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data, source="s.yaml")
    return str(info.value)


def edited(path: str, value) -> dict:
    """The baseline with one field (dotted path) replaced."""
    data = copy.deepcopy(baseline_dict())
    node = data
    *parents, last = path.split(".")
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return data


def test_baseline_loads_and_round_trips(tmp_path: Path) -> None:
    s = load_scenario(BASELINE)
    save_scenario(s, tmp_path / "again.yaml")
    again = load_scenario(tmp_path / "again.yaml")
    assert again == s, "a saved scenario must load back equal"
    assert again.digest() == s.digest(), "the hash identifies the resolved scenario"


def test_scenario_is_immutable() -> None:
    s = load_scenario(BASELINE)
    with pytest.raises(Exception, match="frozen"):
        s.horizon_years = 9  # type: ignore[misc]
    changed = s.model_copy(update={"horizon_years": 2})
    assert s.horizon_years == 5 and changed.horizon_years == 2


@pytest.mark.parametrize(
    ("path", "value", "words"),
    [
        ("assessment.complaints.iopc", 0.5,
         ["assessment.complaints", "sum to 1", "but sum to 1.4"]),
        ("assessment.conduct.psu", 1.5, ["assessment.conduct.psu", "less than or equal to 1"]),
        ("iopc_referral.independent", -0.1, ["iopc_referral.independent",
                                             "greater than or equal to 0"]),
        ("pools.psu.cases_per_staff", 0, ["pools.psu.cases_per_staff", "greater than 0"]),
        ("pools.dps.investigation_days.complaints.cv", -1, ["cv", "greater than 0"]),
        ("pools.dps.investigation_days.complaints.dist", "weibull",
         ["pools.dps.investigation_days.complaints", "fixed, exponential, lognormal"]),
        ("horizon_years", 0, ["horizon_years", "greater than or equal to 1"]),
        ("horizon_years", 500, ["horizon_years", "less than or equal to 30"]),
        ("start", "2021-04-15", ["start", "first day of a month"]),
        ("start", "April 2021", ["start", "YYYY-MM-DD"]),
        ("demand.complaints.allegations_per_case", "two", ["allegations_per_case", "number"]),
        ("demand.complaints.cases_per_month.0.value", -5, ["cases_per_month.0.value"]),
        ("pools.iopc.staff", [], ["pools.iopc.staff", "at least 1"]),
        ("officers.cost_per_officer_year_gbp", 0, ["cost_per_officer_year_gbp"]),
    ],
)
def test_bad_field_is_named_with_rule(path: str, value, words: list[str]) -> None:
    message = problems_for(edited(path, value))
    for word in words:
        assert word in message, f"message for {path}={value!r} must mention {word!r}:\n{message}"


def test_unknown_key_is_rejected_and_named() -> None:
    data = baseline_dict()
    data["pools"]["iopc"]["investigators"] = 50
    message = problems_for(data)
    assert "pools.iopc.investigators" in message and "unknown key" in message


def test_steps_out_of_date_order() -> None:
    data = baseline_dict()
    steps = data["demand"]["complaints"]["cases_per_month"]
    steps.reverse()
    assert "increasing date order" in problems_for(data)


def test_pool_receiving_cases_without_capacity() -> None:
    data = edited("pools.dps.staff", [{"from": "2018-04-01", "value": 0}])
    message = problems_for(data)
    assert "pools.dps receives cases" in message and "slot" in message


def test_suspended_and_restricted_over_one() -> None:
    data = edited("officers.restricted.iopc", 0.95)
    assert "suspended + restricted for iopc" in problems_for(data)


def test_every_problem_is_reported_at_once() -> None:
    data = edited("horizon_years", 0)
    data["warmup_years"] = -1
    assert "2 problems" in problems_for(data)


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        load_scenario(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(InputError, match="malformed YAML at line"):
        load_scenario(bad)
    bad.write_text("- a\n- list\n")
    with pytest.raises(InputError, match="must hold a mapping"):
        load_scenario(bad)
    with pytest.raises(InputError, match="is a directory"):
        load_scenario(tmp_path)


def test_yaml_loading_is_safe(tmp_path: Path) -> None:
    """Only safe YAML: a python-object tag is a YAML error, never executed."""
    bad = tmp_path / "evil.yaml"
    bad.write_text("name: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(InputError, match="malformed YAML"):
        load_scenario(bad)


def test_dates_shown_as_written() -> None:
    message = problems_for(edited("start", "2021-04-15"))
    assert "2021-04-15" in message and "datetime" not in message


def test_yaml_of_baseline_is_commented_with_sources() -> None:
    """Every number in the baseline carries a figure id, says ASSUMPTION, or cites the
    system description (docs/SYSTEM.md) for a rule of the system."""
    import re

    for line in BASELINE.read_text().splitlines():
        body = line.split("#")[0]
        if re.search(r":\s*-?\d", body) and not line.lstrip().startswith("#"):
            comment = line.split("#", 1)[1] if "#" in line else ""
            assert re.search(r"(S|T\d\d)-\d\d|ASSUMPTION|issue|docs/SYSTEM.md", comment), (
                f"number in the baseline without a figure id or ASSUMPTION: {line!r}")


def test_round_trip_keeps_aliases(tmp_path: Path) -> None:
    s = load_scenario(BASELINE)
    save_scenario(s, tmp_path / "s.yaml")
    text = yaml.safe_load((tmp_path / "s.yaml").read_text())
    assert "from" in text["demand"]["complaints"]["cases_per_month"][0]
    assert "mean" in text["assessment"]["time_days"]


def test_extends_merges_changes_over_the_parent(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(BASELINE.read_text())
    (tmp_path / "more_dps.yaml").write_text(
        "extends: base.yaml\nname: more_dps\n"
        "pools:\n  dps:\n    staff:\n"
        "      - {from: 2018-04-01, value: 100}\n      - {from: 2021-11-01, value: 150}\n"
    )
    child, base = load_scenario(tmp_path / "more_dps.yaml"), load_scenario(BASELINE)
    assert child.name == "more_dps"
    assert [s.value for s in child.pools.dps.staff] == [100, 150]
    assert child.pools.dps.cases_per_staff == base.pools.dps.cases_per_staff, "siblings kept"
    assert child.pools.psu == base.pools.psu


def test_extends_errors(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("extends: b.yaml\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\n")
    with pytest.raises(InputError, match="loop"):
        load_scenario(tmp_path / "a.yaml")
    (tmp_path / "c.yaml").write_text("extends: missing.yaml\n")
    with pytest.raises(InputError, match="not found"):
        load_scenario(tmp_path / "c.yaml")
