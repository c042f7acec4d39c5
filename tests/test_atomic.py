"""Atomic outputs: a run killed at any moment leaves the earlier result at its `--out` whole,
and the next run to the same place succeeds without being confused by what was left.

`sim/outputs/run_folder.py` builds a run in a hidden `.NAME.partial-*` folder beside the target
and swaps it in with two renames; a later run clears partial folders. The tests kill a real
`ccsim run` process with SIGKILL (no clean-up handlers run) while it simulates, and once more
when its staging folder is complete but not yet swapped in.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from sim.cli import main
from sim.outputs.run_folder import _remove_leftovers
from tests.conftest import ROOT, small_dict

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")

# Runs `ccsim` with a hook that says (on stdout) when it reaches a stage, then waits there.
DRIVER = r"""
import sys, time
import sim.outputs.run_folder
if sys.argv[1] == "staged":
    def hold(staging, out_dir):
        print("STAGED", flush=True)
        time.sleep(600)
    sim.outputs.run_folder._swap_into_place = hold
from sim.cli import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(small_dict(horizon_years=1, warmup_years=0.5)))
    return path


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


def earlier_run(scenario: Path, out: Path) -> dict[str, bytes]:
    assert main(["run", str(scenario), "--reps", "2", "--seed", "1", "--out", str(out),
                 "--quiet"]) == 0
    return snapshot(out)


def start(args: list[str], stage: str = "none") -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", DRIVER, stage, *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def kill(proc: subprocess.Popen) -> None:
    assert proc.poll() is None, "the run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    proc.stderr.close()


def next_run_succeeds(scenario: Path, out: Path) -> None:
    assert main(["run", str(scenario), "--reps", "1", "--seed", "2", "--out", str(out),
                 "--quiet"]) == 0
    assert json.loads((out / "manifest.json").read_text())["seed"] == 2
    assert leftovers(out) == [], "partial or retired folders left behind"


def test_killed_while_simulating_leaves_the_earlier_result(scenario: Path,
                                                             tmp_path: Path) -> None:
    out = tmp_path / "runs" / "A"
    before = earlier_run(scenario, out)
    # about a tenth of a second a replication: far longer than the wait below
    proc = start(["run", str(scenario), "--reps", "2000", "--chunk-size", "1", "--seed", "3",
                  "--engine", "des", "--workers", "1", "--out", str(out), "--quiet"])
    time.sleep(4)
    kill(proc)
    assert snapshot(out) == before, "the earlier result changed"
    next_run_succeeds(scenario, out)


def test_killed_before_the_swap_leaves_the_earlier_result(scenario: Path,
                                                           tmp_path: Path) -> None:
    out = tmp_path / "runs" / "B"
    before = earlier_run(scenario, out)
    proc = start(["run", str(scenario), "--reps", "2", "--seed", "3", "--out", str(out),
                  "--quiet"], stage="staged")
    assert proc.stdout.readline().strip() == "STAGED", proc.stderr.read()
    kill(proc)
    assert snapshot(out) == before, "the earlier result changed"
    partial = leftovers(out)
    assert len(partial) == 1 and ".partial-" in partial[0], partial
    assert (out.parent / partial[0] / "summary.csv").is_file(), "the staging was complete"
    next_run_succeeds(scenario, out)


def test_first_run_killed_leaves_nothing_that_looks_like_a_result(scenario: Path,
                                                                  tmp_path: Path) -> None:
    out = tmp_path / "runs" / "C"
    proc = start(["run", str(scenario), "--reps", "2", "--out", str(out), "--quiet"],
                 stage="staged")
    assert proc.stdout.readline().strip() == "STAGED", proc.stderr.read()
    kill(proc)
    assert not out.exists(), "only a hidden partial folder may exist"
    next_run_succeeds(scenario, out)


def test_killed_between_the_renames_the_earlier_result_comes_back(tmp_path: Path) -> None:
    """The swap's one unguarded moment: the old result renamed away, the new one not yet in
    place. The next write to the same place restores the old one before anything else."""
    out = tmp_path / "D"
    retired = tmp_path / ".D.old-12345"
    retired.mkdir()
    (retired / "summary.csv").write_text("metric,mean\n")
    partial = tmp_path / ".D.partial-abc"
    partial.mkdir()
    _remove_leftovers(out)
    assert (out / "summary.csv").read_text() == "metric,mean\n"
    assert leftovers(out) == []
