"""Shared fixtures: the shipped baseline as a dict, and small fast variants of it."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from sim.model.scenario import Scenario, scenario_from_dict

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"


def pytest_configure(config: pytest.Config) -> None:
    """The README's test command (`--dist loadgroup`) keeps each `xdist_group` on one worker,
    so the small brief (tests/test_brief.py) is made once. pytest 9.2 silently broke that
    grouping (pytest-xdist#1386: tests run, each worker makes the brief): refuse it, with the
    pin in pyproject.toml's dev extra; lift both when pytest-xdist handles 9.2."""
    if config.getoption("dist", "no") == "loadgroup" and pytest.version_tuple[:2] >= (9, 2):
        raise pytest.UsageError(
            f"pytest {pytest.__version__} does not keep xdist_group tests on one worker"
            " (pytest-xdist#1386); install the dev extra's pytest: pip install -e '.[dev]'")


def baseline_dict() -> dict:
    return yaml.safe_load(BASELINE.read_text())


def small_dict(horizon_years: int = 1, warmup_years: float = 1.0) -> dict:
    """The baseline, shortened so a replication takes a fraction of a second. Its earlier
    rules (before February 2020) are left out: a warm-up of a year or two starts after
    them, and a test that replaces a distribution should not meet them."""
    d = copy.deepcopy(baseline_dict())
    d["horizon_years"] = horizon_years
    d["warmup_years"] = warmup_years
    d.pop("earlier_rules", None)
    return d


def small_yaml_in(folder: Path, horizon_years: int = 1, warmup_years: float = 1.0) -> Path:
    """`small_dict` written as a scenario file in `folder` (what a planner's file would be)."""
    path = Path(folder) / "small.yaml"
    path.write_text(yaml.safe_dump(small_dict(horizon_years, warmup_years), sort_keys=False))
    return path


@pytest.fixture
def baseline_data() -> dict:
    return baseline_dict()


@pytest.fixture
def small_scenario() -> Scenario:
    return scenario_from_dict(small_dict())
