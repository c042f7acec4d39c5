"""The public API and the single ways of doing things the layout promises: deriving a
scenario, numbering pools, one run loop, one provenance block in every manifest."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.engine.cases import NO_POOL, POOL_CODE
from sim.engine.run import run_scenario
from sim.errors import InputError, ScenarioError
from sim.model.scenario import POOLS, scenario_from_dict
from sim.outputs.provenance import PACKAGES
from sim.studies.parameter_uncertainty import run_with_parameter_uncertainty
from tests.conftest import ROOT, small_dict, small_yaml_in

CALIBRATION = ROOT / "calibration"


@pytest.fixture(scope="module")
def small_yaml(tmp_path_factory) -> Path:
    return small_yaml_in(tmp_path_factory.mktemp("scen"), horizon_years=1, warmup_years=0.5)


def test_with_changes_derives_a_validated_scenario_and_leaves_the_original() -> None:
    s = scenario_from_dict(small_dict())
    faster = s.with_changes({"cps.decision_days.mean": 20.0, "name": "faster"}, source="x")
    assert faster.cps.decision_days.mean == 20.0 and faster.name == "faster"
    assert s.cps.decision_days.mean != 20.0, "the original is unchanged"
    every = s.with_changes({"pools.*.cases_per_staff": 1.5})
    assert all(getattr(every.pools, p).cases_per_staff == 1.5 for p in POOLS)
    with pytest.raises(ScenarioError, match=r"bad\.yaml"):
        s.with_changes({"cps.charge_share": 2.0}, source="bad.yaml")


def test_changes_apply_in_order() -> None:
    s = scenario_from_dict(small_dict())
    later_wins = s.with_changes([("pools.*.cases_per_staff", 1.5),
                                 ("pools.iopc.cases_per_staff", 3.0)])
    assert later_wins.pools.iopc.cases_per_staff == 3.0
    assert later_wins.pools.dps.cases_per_staff == 1.5


def test_pool_codes_follow_the_order_of_pools() -> None:
    assert list(POOL_CODE) == list(POOLS)
    assert [POOL_CODE[p] for p in POOLS] == list(range(len(POOLS)))
    assert NO_POOL not in POOL_CODE.values()


def test_parameter_uncertainty_runs_through_the_one_run_loop(monkeypatch) -> None:
    """The same numbers in one process, in two, and in chunks of one replication."""
    s = scenario_from_dict(small_dict(horizon_years=1, warmup_years=0.5))
    one = run_with_parameter_uncertainty(s, 6, 3, "compiled", CALIBRATION, reps_per_draw=2)
    two = run_with_parameter_uncertainty(s, 6, 3, "compiled", CALIBRATION, reps_per_draw=2,
                                         workers=2, chunk_size=1)
    for name, values in one.measured.summary.items():
        np.testing.assert_array_equal(values, two.measured.summary[name], err_msg=name)
    assert "drawn from the calibration posterior" in one.parameters
    plain = run_scenario(s, 6, 3, "compiled")  # the API's default: fixed
    assert plain.parameters == "fixed at the calibrated values (--fixed-parameters)"
    assert any(not np.array_equal(v, one.measured.summary[k], equal_nan=True)
               for k, v in plain.measured.summary.items()), "the draws change the results"


def test_the_api_runs_a_scenario_file_and_writes_its_folder(tmp_path: Path,
                                                           small_yaml: Path) -> None:
    saved = sim.run(small_yaml, reps=2, seed=4, out=tmp_path / "r")
    assert saved.folder == tmp_path / "r" and (saved.folder / "summary.csv").is_file()
    assert saved.result.reps == 2 and saved.result.seed == 4
    assert sim.run(sim.load_scenario(small_yaml), reps=2, seed=4).folder is None


def test_the_api_checks_inputs_before_any_run(small_yaml: Path, monkeypatch) -> None:
    monkeypatch.setattr("sim.api.run_scenario", lambda *a, **k: pytest.fail("it ran"))
    for bad, field in (({"reps": 0}, "reps"), ({"seed": -1}, "seed"),
                       ({"chunk_size": 0}, "chunk_size"), ({"workers": 0}, "workers"),
                       ({"engine": "warp"}, "engine")):
        with pytest.raises(InputError) as caught:
            sim.run(small_yaml, **{"reps": 1, **bad})
        assert caught.value.field == field


def test_every_manifest_carries_the_same_provenance(tmp_path: Path, small_yaml: Path) -> None:
    sim.run(small_yaml, reps=2, out=tmp_path / "run")
    sim.compare([small_yaml, small_yaml], reps=2, out=tmp_path / "cmp")
    blocks = [json.loads((tmp_path / "run" / "manifest.json").read_text())["provenance"],
              json.loads((tmp_path / "cmp" / "manifest.json").read_text())["provenance"]]
    for block in blocks:
        assert {"ccsim_version", "git_commit", "command", "python", "platform"} <= set(block)
        assert set(block["packages"]) == set(PACKAGES)
        run = block["runs"][0]
        assert {"scenario_hash", "seed", "reps", "engine", "parameters"} <= set(run)
    assert len(blocks[1]["runs"]) == 2


def test_diff_names_every_field_that_differs_as_resolved(capsys) -> None:
    from sim.cli import main

    changes = sim.diff(ROOT / "scenarios/police_uplift.yaml",
                       ROOT / "scenarios/rec7_in_line.yaml")
    paths = [p for p, _, _ in changes]
    assert "name" in paths and "pools.iopc.staff.1.value" in paths
    assert all(p.startswith(("name", "description", "pools.iopc.staff")) for p in paths), paths
    assert sim.diff(ROOT / "scenarios/baseline.yaml", ROOT / "scenarios/baseline.yaml") == []
    assert main(["diff", str(ROOT / "scenarios/police_uplift.yaml"),
                 str(ROOT / "scenarios/rec7_in_line.yaml")]) == 0
    out = capsys.readouterr().out
    assert f"{len(changes)} fields differ" in out and "(absent) -> 2022-04-01" in out


def test_compare_with_parameter_uncertainty_pairs_the_draws(small_yaml: Path) -> None:
    """Each scenario's group g runs under the same draw g: a scenario against itself differs
    by exactly zero, and the runs record where their parameters came from."""
    saved = sim.compare([small_yaml, small_yaml], reps=4, seed=2,
                        parameter_uncertainty=CALIBRATION, reps_per_draw=2)
    table = saved.result.table()
    assert (table.diff_mean.fillna(0) == 0).all()
    assert saved.result.base.parameters.startswith("drawn from the calibration")
    plain = sim.run(small_yaml, reps=4, seed=2).result
    drawn = saved.result.base
    assert any(not np.array_equal(v, drawn.measured.summary[k], equal_nan=True)
               for k, v in plain.measured.summary.items())


def test_goal_seek_takes_parameter_uncertainty(small_yaml: Path, tmp_path: Path) -> None:
    """The searched values run under the calibration's draws; a missing calibration is
    refused before any run."""
    from sim.studies.goal_seek import Goal, SearchLever

    saved = sim.goal_seek(small_yaml, SearchLever("pools.iopc.staff"),
                          Goal("iopc.open.end", "2021/22", 1e6, 0.8), reps=4, seed=3,
                          high=40, parameter_uncertainty=CALIBRATION, reps_per_draw=2,
                          out=tmp_path / "t")
    assert saved.result.answer is not None
    record = json.loads((tmp_path / "t" / "target.json").read_text())
    assert "provenance" in record
    with pytest.raises(InputError, match="calibration file not found"):
        sim.goal_seek(small_yaml, SearchLever("pools.iopc.staff"),
                      Goal("iopc.open.end", "2021/22", 1e6, 0.8), reps=2,
                      parameter_uncertainty=tmp_path, reps_per_draw=2)


def test_a_brief_with_parameter_uncertainty_says_so() -> None:
    from sim.api import _runner
    from sim.outputs.brief_report import brief_blocks
    from sim.studies.brief import make_brief
    from tests.test_brief import short_config, short_inputs

    config = short_config()
    inputs = short_inputs(config)
    runner = _runner([inputs.counterfactual, *inputs.all_options()], CALIBRATION, 2)
    brief = make_brief(config.model_copy(update={"target": None, "other_targets": []}),
                       inputs, reps=2, seed=2, run_one=runner)
    assert all(r.parameters.startswith("drawn from the calibration")
               for r in (brief.comparison.base, *brief.comparison.alternatives))
    text = " ".join(str(c) for kind, c in brief_blocks(brief, _no_charts()) if kind == "p")
    assert "what we do not know about the fitted parameters" in text
    assert "parameters drawn from the calibration posterior (calibration/posterior.csv)" in text


def _no_charts() -> dict[str, Path]:
    class Anything(dict):
        def __missing__(self, key: str) -> Path:
            return Path(f"{key}.png")
    return Anything()


@pytest.mark.parametrize("command", ["run", "compare", "target", "brief"])
def test_a_missing_calibration_is_refused_before_any_run(command: str, small_yaml: Path,
                                                         tmp_path: Path, monkeypatch,
                                                         capsys) -> None:
    from sim.cli import EXIT_INPUT, main

    monkeypatch.setattr("sim.engine.run.run_chunk", lambda *a: pytest.fail("it ran"))
    args = {"run": ["run", str(small_yaml)],
            "compare": ["compare", str(small_yaml), str(small_yaml)],
            "target": ["target", str(small_yaml), "--lever", "pools.iopc.staff", "--metric",
                       "iopc.open.end", "--year", "2021/22", "--at-most", "5"],
            "brief": ["brief", "--no-target"]}[command]
    missing = tmp_path / "no-calibration"
    assert main([*args, "--reps", "2", "--parameter-uncertainty", str(missing), "--out",
                 str(tmp_path / "out"), "--quiet"]) == EXIT_INPUT
    err = capsys.readouterr().err
    assert "--parameter-uncertainty" in err and str(missing) in err
    assert not (tmp_path / "out").exists()


def test_runs_are_chunked_for_smooth_progress_and_bounded_memory() -> None:
    """About 20 chunks a run, each of 10 to 50 replications (measured no slower than 200)."""
    from sim.engine.run import MAX_CHUNK, MIN_CHUNK, plan_chunks

    s = scenario_from_dict(small_dict())
    for reps, sizes in ((1000, {50}), (400, {20}), (100, {10}), (7, {7})):
        chunks = plan_chunks(s, reps)
        assert {len(c) for c in chunks} <= sizes | {reps % max(sizes)}, (reps, chunks)
        assert sum(len(c) for c in chunks) == reps
        assert all(len(c) <= MAX_CHUNK for c in chunks)
        assert reps < MIN_CHUNK or min(len(c) for c in chunks[:-1] or chunks) >= MIN_CHUNK
