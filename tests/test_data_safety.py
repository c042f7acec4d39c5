"""Never lose a user's files: what `--out` may be, default names, parallel and concurrent
writers, stored sweep points that went bad, a full disk, orphaned workers, permissions, and
a Dask scheduler that cannot be reached.

Refusals are checked to come before any work by replacing the command's simulation with one
that fails the test if it is ever called.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sim.cli import EXIT_INPUT, EXIT_IO, main
from sim.errors import InputError
from sim.files.writing import MARKER, check_out, default_out, safe_name, write_text_atomic
from tests.conftest import ROOT, small_dict

SHIPPED_CALIBRATION = ROOT / "calibration"
GRID = {"kind": "grid", "parameters": {"pools.iopc.staff.*.value": [30, 45],
                                       "cps.charge_share": [0.1, 0.2]}}


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(small_dict(horizon_years=1, warmup_years=0.5)))
    return path


@pytest.fixture
def sweep_file(tmp_path: Path) -> Path:
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(small_dict(horizon_years=1,
                                                                  warmup_years=0.5)))
    spec = {"name": "t", "base": "base.yaml", "reps": 1, "seed": 4,
            "metrics": ["iopc.open.end", "psu.open.end"], "design": GRID}
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def user_folder(path: Path, name: str = "notes.txt") -> dict[str, bytes]:
    path.mkdir(parents=True, exist_ok=True)
    (path / name).write_text("mine\n")
    return snapshot(path)


def no_work(monkeypatch, *targets: str) -> None:
    """Any of these functions being called means the refusal came too late."""
    def fail(*args, **kwargs):
        raise AssertionError("the command did work before refusing --out")

    for target in targets:
        monkeypatch.setattr(target, fail)


def command_args(command: str, scenario: Path, sweep_file: Path, out: Path) -> list[str]:
    return {
        "run": ["run", str(scenario), "--reps", "1"],
        "compare": ["compare", str(scenario), str(scenario), "--reps", "1"],
        "sweep": ["sweep", str(sweep_file), "--executor", "serial"],
        "brief": ["brief", "--no-target", "--reps", "2"],
        "target": ["target", str(scenario), "--lever", "pools.iopc.staff", "--metric",
                   "iopc.open_over_12m.end", "--year", "2021/22", "--at-most", "100",
                   "--reps", "1"],
        "calibrate": ["calibrate", "--reps", "1"],
    }[command] + ["--out", str(out), "--quiet"]


WORK = {"run": ["sim.api.run_scenario"], "compare": ["sim.api.compare_runs"],
        "sweep": ["sim.outputs.sweep_folder.run_sweep"],
        "brief": ["sim.api.make_brief"],
        "target": ["sim.api.seek"],
        "calibrate": ["sim.studies.calibration.fit.fit"]}


# -- a user's files in --out -----------------------------------------------------------------

@pytest.mark.parametrize("command", list(WORK))
def test_a_users_folder_is_refused_before_any_work(command: str, scenario: Path,
                                                   sweep_file: Path, tmp_path: Path,
                                                   monkeypatch, capsys) -> None:
    out = tmp_path / "mine"
    before = user_folder(out, "summary.csv" if command == "sweep" else "notes.txt")
    no_work(monkeypatch, *WORK[command])
    assert main(command_args(command, scenario, sweep_file, out)) == EXIT_INPUT
    err = capsys.readouterr().err
    assert str(out) in err and "did not write" in err and "mine-2" in err, err
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_an_earlier_run_is_replaced_whole_but_not_with_a_users_file_in_it(
        scenario: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "new" / "parents" / "run"  # missing parents are created
    run = ["run", str(scenario), "--reps", "1", "--out", str(out), "--quiet"]
    assert main(run) == 0
    assert json.loads((out / MARKER).read_text())["command"] == "run"
    assert main([*run, "--seed", "2"]) == 0
    assert json.loads((out / "manifest.json").read_text())["seed"] == 2
    (out / "plots" / "my-chart.png").write_bytes(b"mine")
    assert main(run) == EXIT_INPUT
    assert "plots/my-chart.png" in capsys.readouterr().err
    assert (out / "plots" / "my-chart.png").read_bytes() == b"mine"


def test_out_results_never_wipes_the_earlier_runs(scenario: Path, tmp_path: Path,
                                                   monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    for seed in ("1", "2"):
        assert main(["run", str(scenario), "--reps", "1", "--seed", seed, "--quiet"]) == 0
    before = snapshot(tmp_path / "results")
    assert len(list((tmp_path / "results").iterdir())) == 2
    assert main(["run", str(scenario), "--reps", "1", "--out", "results",
                 "--quiet"]) == EXIT_INPUT
    assert snapshot(tmp_path / "results") == before


def test_another_commands_result_is_not_replaced(scenario: Path, tmp_path: Path,
                                                 capsys) -> None:
    out = tmp_path / "r"
    assert main(["run", str(scenario), "--reps", "1", "--out", str(out), "--quiet"]) == 0
    before = snapshot(out)
    assert main(["compare", str(scenario), str(scenario), "--reps", "1", "--out", str(out),
                 "--quiet"]) == EXIT_INPUT
    assert "holds a ccsim run result, not a comparison result" in capsys.readouterr().err
    assert snapshot(out) == before


def test_a_result_written_before_markers_is_still_replaced(tmp_path: Path) -> None:
    """A folder with exactly an older ccsim run's files (no marker) is ccsim's own."""
    out = tmp_path / "old"
    (out / "plots").mkdir(parents=True)
    for name in ("manifest.json", "summary.csv", "report.html", "plots/demand.png"):
        (out / name).write_text("x")
    check_out(out, "run")
    (out / "mine.txt").write_text("x")
    with pytest.raises(InputError, match=r"mine\.txt"):
        check_out(out, "run")


def test_the_shipped_calibration_folders_are_calibrate_results() -> None:
    check_out(SHIPPED_CALIBRATION, "calibrate")
    for until in ("2019-20", "2020-21"):
        check_out(SHIPPED_CALIBRATION / f"backtest-{until}", "calibrate")
    with pytest.raises(InputError, match="not a run result"):
        check_out(SHIPPED_CALIBRATION, "run")


def test_calibrate_never_overwrites_a_file_it_did_not_list(tmp_path: Path) -> None:
    out = tmp_path / "cal"
    out.mkdir()
    (out / "targets.csv").write_text("mine")  # an input beside the results: kept, allowed
    write_text_atomic(out / MARKER, json.dumps({"command": "calibrate",
                                                "files": ["fitted.yaml"]}))
    check_out(out, "calibrate")
    (out / "report.html").write_text("mine")
    with pytest.raises(InputError, match=r"report\.html"):
        check_out(out, "calibrate")


# -- where --out may point -----------------------------------------------------------------

@pytest.mark.parametrize("value", [".", "", "..", "CWD", "/", "x" * 250])
def test_the_working_folder_and_impossible_names_are_refused(value: str, scenario: Path,
                                                             tmp_path: Path, monkeypatch,
                                                             capsys) -> None:
    work = tmp_path / "work"
    before = user_folder(work)
    monkeypatch.chdir(work)
    no_work(monkeypatch, "sim.api.run_scenario")
    out = str(work) if value == "CWD" else value
    assert main(["run", str(scenario), "--reps", "1", "--out", out, "--quiet"]) == EXIT_INPUT
    err = capsys.readouterr().err
    assert "--out" in err and ("working folder" in err or "longer than" in err), err
    assert snapshot(work) == before


def test_a_file_or_a_link_as_out_is_refused(scenario: Path, tmp_path: Path,
                                            monkeypatch) -> None:
    no_work(monkeypatch, "sim.api.run_scenario")
    target = tmp_path / "real"
    user_folder(target)
    (tmp_path / "link").symlink_to(target)
    for out in (target / "notes.txt", tmp_path / "link", target / "notes.txt" / "below"):
        assert main(["run", str(scenario), "--reps", "1", "--out", str(out),
                     "--quiet"]) == EXIT_INPUT
    assert (target / "notes.txt").read_text() == "mine\n"


# -- default names -------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["../../etc/x", "a/b\\c", "/abs/path", "..", ".hidden",
                                  "Révision — 2025/26 " * 30, "警察" * 150, "-rf"])
def test_default_names_stay_inside_results(name: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = default_out("compare", name)
    assert out.parent == Path("results")
    assert "/" not in out.name and "\\" not in out.name and ".." not in out.name
    assert not out.name.startswith((".", "-")) and len(out.name) <= 100
    assert out.name.isascii()
    assert (tmp_path / out).resolve().parent == tmp_path / "results"


def test_a_scenario_named_like_a_path_runs_into_results(tmp_path: Path,
                                                        monkeypatch) -> None:
    data = small_dict(horizon_years=1, warmup_years=0.5)
    data["name"] = "../../etc/x"
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(data))
    monkeypatch.chdir(tmp_path)
    assert main(["run", "s.yaml", "--reps", "1", "--quiet"]) == 0
    [made] = (tmp_path / "results").iterdir()
    assert made.name.startswith("etc_x-") and (made / "summary.csv").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results", "s.yaml"]
    assert safe_name("") == "" and default_out("").name.startswith("result-")


# -- many writers at once ------------------------------------------------------------------

# Runs `ccsim` with the clock of default names frozen: every run gets the same default name.
SAME_SECOND = r"""
import sys
import sim.files.writing
sim.files.writing._stamp = lambda: "20250101-000000"
from sim.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_runs_started_at_once_into_one_results_folder_all_succeed(scenario: Path,
                                                                   tmp_path: Path) -> None:
    procs = [subprocess.Popen([sys.executable, "-c", SAME_SECOND, "run", str(scenario),
                               "--reps", "1", "--seed", str(seed), "--quiet"],
                              cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
             for seed in (1, 2, 3, 4)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [err for _, err in outs]
    folders = sorted((tmp_path / "results").iterdir())
    assert [f.name for f in folders] == ["baseline-20250101-000000", "baseline-20250101-000000-2",
                                         "baseline-20250101-000000-3", "baseline-20250101-000000-4"]
    seeds = sorted(json.loads((f / "manifest.json").read_text())["seed"] for f in folders)
    assert seeds == [1, 2, 3, 4]
    for (stdout, _), seed in zip(outs, (1, 2, 3, 4), strict=True):
        written = tmp_path / stdout.split("results written to ")[1].strip()
        assert json.loads((written / "manifest.json").read_text())["seed"] == seed


def test_a_second_sweep_on_the_same_folder_is_refused(sweep_file: Path, tmp_path: Path,
                                                      capsys) -> None:
    from sim.outputs.sweep_folder import sweep_folder

    out = tmp_path / "sw"
    with sweep_folder(out):  # another sweep holds the folder
        assert main(["sweep", str(sweep_file), "--out", str(out), "--executor", "serial",
                     "--quiet"]) == EXIT_INPUT
        err = capsys.readouterr().err
        assert "another ccsim sweep" in err and f"process {os.getpid()}" in err, err
        assert not (out / "points").exists()
    assert main(["sweep", str(sweep_file), "--out", str(out), "--executor", "serial",
                 "--quiet"]) == 0


# -- stored sweep points that went bad -----------------------------------------------------

def test_a_bad_stored_point_is_computed_again_with_a_warning(sweep_file: Path,
                                                             tmp_path: Path, capsys) -> None:
    out = tmp_path / "sw"
    sweep = ["sweep", str(sweep_file), "--out", str(out), "--executor", "serial", "--quiet"]
    assert main(sweep) == 0
    results = pd.read_parquet(out / "results.parquet")
    summary = (out / "summary.csv").read_bytes()
    points = sorted((out / "points").glob("*.parquet"))
    data = points[0].read_bytes()
    points[0].write_bytes(data[: len(data) // 2])  # truncated
    points[1].write_bytes(points[2].read_bytes())  # another point's rows
    points[3].write_text("not parquet")  # corrupt
    table = pd.read_parquet(points[2])
    table.loc[0, "mean"] += 1  # changed rows under a valid key
    table.to_parquet(points[2], index=False)
    capsys.readouterr()
    assert main(sweep) == 0
    err = capsys.readouterr().err
    assert err.count("computing it again") == 4, err
    assert "truncated or corrupt" in err and "another point" in err and "checksum" in err
    assert "Traceback" not in err
    pd.testing.assert_frame_equal(pd.read_parquet(out / "results.parquet"), results)
    assert (out / "summary.csv").read_bytes() == summary
    wide = pd.read_csv(out / "summary.csv")
    assert sorted(wide.point) == sorted(set(results.point))
    assert main(sweep) == 0
    assert "warning" not in capsys.readouterr().err


# -- a full disk ---------------------------------------------------------------------------

def disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_full_disk_leaves_the_earlier_result_and_no_partial_folder(
        scenario: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    out = tmp_path / "runs" / "A"
    assert main(["run", str(scenario), "--reps", "1", "--out", str(out), "--quiet"]) == 0
    before = snapshot(out)
    monkeypatch.setattr(pd.DataFrame, "to_parquet", disk_full)
    capsys.readouterr()
    for target in (out, tmp_path / "new" / "B"):
        assert main(["run", str(scenario), "--reps", "1", "--seed", "2", "--out",
                     str(target), "--quiet"]) == EXIT_IO
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "No space left on device" in err, err
        assert str(target) in err and "earlier results are untouched" in err
    assert snapshot(out) == before
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["A"]
    assert not (tmp_path / "new").exists()


def test_a_full_disk_in_a_sweep_keeps_the_points_for_a_resume(
        sweep_file: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    import pyarrow.parquet as pq

    real, calls = pq.write_table, []

    def second_fails(*args, **kwargs):
        calls.append(1)
        return disk_full() if len(calls) == 2 else real(*args, **kwargs)

    out = tmp_path / "sw"
    sweep = ["sweep", str(sweep_file), "--out", str(out), "--executor", "serial", "--quiet"]
    monkeypatch.setattr(pq, "write_table", second_fails)
    assert main(sweep) == EXIT_IO
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "No space left" in err and "resume" in err, err
    assert len(list((out / "points").glob("*.parquet"))) == 1
    assert [p.name for p in (out / "points").iterdir()] == [
        p.name for p in (out / "points").glob("*.parquet")], "a temporary file was left"
    monkeypatch.setattr(pq, "write_table", real)
    assert main(sweep) == 0


# -- workers die with the process that started them ----------------------------------------

@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_killing_a_run_leaves_no_worker_processes(scenario: Path, tmp_path: Path) -> None:
    psutil = pytest.importorskip("psutil")
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "run", str(scenario), "--reps",
                             "2000", "--chunk-size", "1", "--engine", "des", "--workers", "2",
                             "--out", str(tmp_path / "o"), "--quiet"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parent = psutil.Process(proc.pid)
    deadline = time.monotonic() + 30
    while len(workers := parent.children(recursive=True)) < 2:
        assert time.monotonic() < deadline and proc.poll() is None, "no workers started"
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    _, alive = psutil.wait_procs(workers, timeout=5)
    for survivor in alive:  # do not leave them running if the test fails
        survivor.kill()
    assert alive == [], f"workers outlived their parent: {alive}"
    assert not (tmp_path / "o").exists()


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs process groups")
def test_ctrl_c_stops_a_run_and_its_workers_at_once(scenario: Path, tmp_path: Path) -> None:
    """Ctrl-C (SIGINT to the whole process group, as a terminal sends it): exit 130 within
    seconds, not after every queued chunk has run; workers gone, no result written."""
    psutil = pytest.importorskip("psutil")
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "run", str(scenario), "--reps",
                             "2000", "--chunk-size", "1", "--engine", "des", "--workers", "2",
                             "--out", str(tmp_path / "o"), "--quiet"], cwd=ROOT,
                            start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True,
                            # a background shell starts children ignoring SIGINT: undo it
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # noqa: PLW1509
    parent = psutil.Process(proc.pid)
    deadline = time.monotonic() + 30
    while len(workers := parent.children(recursive=True)) < 2:
        assert time.monotonic() < deadline and proc.poll() is None, "no workers started"
        time.sleep(0.1)
    time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGINT)
    try:
        assert proc.wait(timeout=10) == 130
    finally:
        _, alive = psutil.wait_procs([parent, *workers], timeout=5)
        for survivor in alive:
            survivor.kill()
    assert alive == []
    assert "interrupted; earlier results are untouched" in proc.stderr.read()
    assert not (tmp_path / "o").exists()


# -- permissions ---------------------------------------------------------------------------

def test_files_are_written_with_the_users_umask(scenario: Path, sweep_file: Path,
                                                tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        out, sw = tmp_path / "r", tmp_path / "sw"
        assert main(["run", str(scenario), "--reps", "1", "--out", str(out), "--quiet"]) == 0
        assert main(["sweep", str(sweep_file), "--out", str(sw), "--executor", "serial",
                     "--quiet"]) == 0
    finally:
        os.umask(old)
    for folder in (out, sw):
        for path in [folder, *folder.rglob("*")]:
            mode = path.stat().st_mode & 0o777
            assert mode == (0o755 if path.is_dir() else 0o644), (path, oct(mode))
    assert {"report.html", "plots"} <= {p.name for p in out.iterdir()}


# -- a Dask scheduler that cannot be reached -----------------------------------------------

@pytest.mark.parametrize("address", ["tcp://127.0.0.1:1", "not an address", "foo://x:1"])
def test_an_unreachable_or_malformed_scheduler_is_refused_quickly(
        address: str, sweep_file: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    pytest.importorskip("dask.distributed")
    monkeypatch.setattr("sim.studies.sweep.runner.SCHEDULER_TIMEOUT_S", 1)
    no_work(monkeypatch, "sim.studies.sweep.runner.run_point")
    out = tmp_path / "sw"
    started = time.monotonic()
    assert main(["sweep", str(sweep_file), "--out", str(out), "--executor", "dask",
                 "--scheduler", address, "--quiet"]) == EXIT_INPUT
    assert time.monotonic() - started < 10
    err = capsys.readouterr().err
    assert "--scheduler" in err and "Traceback" not in err, err
    assert not out.exists()


def test_a_missing_dask_names_the_extra_to_install(sweep_file: Path, tmp_path: Path,
                                                   monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # import fails
    assert main(["sweep", str(sweep_file), "--out", str(tmp_path / "sw"), "--executor",
                 "dask", "--quiet"]) == EXIT_INPUT
    assert "pip install 'ccsim[sweep]'" in capsys.readouterr().err
    assert not (tmp_path / "sw").exists()
