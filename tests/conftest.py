"""Shared fixtures: the shipped baseline as a dict, and small fast variants of it."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from sim.model.scenario import Scenario, scenario_from_dict

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"


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
