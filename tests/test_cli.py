"""End-to-end tests of the `ccsim` command, called in-process through `main(argv)`."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

import sim
from sim import cli
from sim.cli import main
from sim.engine.engines import get_engine
from sim.engine.metrics import GLOSSARY, HEADLINE
from sim.engine.randomness import stream
from sim.errors import InputError
from sim.files.shipped import shipped_path
from sim.model.fields import get_path
from sim.outputs.labels import label
from sim.outputs.run_report import value_range
from sim.studies import parameter_uncertainty
from tests.conftest import BASELINE, ROOT, small_dict

RUN_FILES = ["manifest.json", "summary.csv", "yearly.csv", "timeseries.parquet", "report.html"]


@pytest.fixture(scope="module")
def small_yaml(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("scen") / "small.yaml"
    path.write_text(yaml.safe_dump(small_dict(horizon_years=2), sort_keys=False))
    return path


@pytest.fixture(scope="module")
def run_a(small_yaml: Path, tmp_path_factory) -> Path:
    """A run with the fitted parameters fixed: the plain run others are compared with."""
    out = tmp_path_factory.mktemp("runs") / "A"
    assert main(["run", str(small_yaml), "--reps", "3", "--seed", "1", "--out", str(out),
                 "--quiet", "--fixed-parameters"]) == 0
    return out


def test_run_writes_every_output(run_a: Path) -> None:
    for name in RUN_FILES:
        assert (run_a / name).is_file(), f"{name} missing"
    plots = sorted(p.name for p in (run_a / "plots").glob("*.png"))
    assert plots, "plots/*.png missing"
    manifest = json.loads((run_a / "manifest.json").read_text())
    for key in ("scenario", "scenario_hash", "engine", "reps", "seed", "version",
                "started", "finished"):
        assert key in manifest, key
    assert manifest["reps"] == 3 and manifest["seed"] == 1 and manifest["engine"] == "compiled"


def test_summary_columns_and_glossary(run_a: Path) -> None:
    summary = pd.read_csv(run_a / "summary.csv")
    assert list(summary.columns[:5]) == ["metric", "mean", "p05", "p50", "p95"]
    readme = (ROOT / "README.md").read_text()
    for metric in summary.metric:
        assert metric in GLOSSARY, f"{metric} has no glossary entry"
        assert f"`{metric}`" in readme, f"{metric} is not in the README glossary"


def test_yearly_is_by_fiscal_year(run_a: Path) -> None:
    yearly = pd.read_csv(run_a / "yearly.csv")
    assert list(yearly.columns[:6]) == ["year", "metric", "mean", "p05", "p50", "p95"]
    assert sorted(yearly.year.unique()) == ["2021/22", "2022/23"]


def test_same_seed_identical_summary(small_yaml: Path, run_a: Path, tmp_path: Path) -> None:
    out = tmp_path / "B"
    assert main(["run", str(small_yaml), "--reps", "3", "--seed", "1", "--out", str(out),
                 "--quiet", "--fixed-parameters"]) == 0  # as run_a
    assert (out / "summary.csv").read_bytes() == (run_a / "summary.csv").read_bytes()
    assert (out / "yearly.csv").read_bytes() == (run_a / "yearly.csv").read_bytes()


def test_rerun_replaces_whole_and_leaves_no_partials(small_yaml: Path, tmp_path: Path) -> None:
    out = tmp_path / "C"
    for seed in ("1", "2"):
        assert main(["run", str(small_yaml), "--reps", "2", "--seed", seed, "--out", str(out),
                     "--quiet"]) == 0
    assert json.loads((out / "manifest.json").read_text())["seed"] == 2
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "partial left over"


def test_validate_names_the_field_of_bad_shares(tmp_path: Path, capsys) -> None:
    data = small_dict()
    data["assessment"]["complaints"]["iopc"] = 0.19  # shares now sum to 1.1
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "assessment.complaints" in err and "sum to 1" in err and str(bad) in err
    assert "Traceback" not in err


def test_validate_good_file(capsys) -> None:
    assert main(["validate", str(BASELINE)]) == 0
    assert "valid" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["run", "--reps", "0"], ["reps", "1 to"]),
        (["run", "--seed", "-3", "--reps", "1"], ["seed", "0 to"]),
        (["run", "--engine", "warp", "--reps", "1"], ["engine", "des"]),
        (["run", "nowhere.yaml"], ["nowhere.yaml", "file not found"]),
        (["frobnicate"], ["invalid choice"]),
        (["run", "--reps", "many"], ["invalid int value"]),
    ],
)
def test_bad_arguments_exit_2_with_a_message(argv, words, capsys) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    for w in words:
        assert w in err, f"{argv}: {w!r} not in {err!r}"
    assert "Traceback" not in err


def test_unwritable_output_is_refused_before_running(tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["run", "--reps", "1", "--out", str(blocker), "--quiet"]) == 2
    assert "not a directory" in capsys.readouterr().err


def test_run_with_no_scenario_uses_packaged_baseline(tmp_path: Path) -> None:
    """From any directory, `ccsim run` with no scenario runs the shipped baseline."""
    proc = subprocess.run(
        [sys.executable, "-m", "sim.cli", "run", "--reps", "2", "--out", "out", "--quiet"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["scenario_name"] == "baseline"


def test_runs_draw_the_parameters_by_default_and_fixed_is_the_plain_run(
        small_yaml: Path, run_a: Path, tmp_path: Path, monkeypatch) -> None:
    """With neither flag `ccsim run` draws the fitted parameters from the shipped
    calibration's posterior, from any working directory (as `--parameter-uncertainty` with
    no folder), and its manifest says so; `--fixed-parameters` gives exactly the API's plain
    run (its default), and says so too."""
    monkeypatch.chdir(tmp_path)
    runs = {}
    for name, flags in (("default", []), ("flag", ["--parameter-uncertainty"])):
        runs[name] = tmp_path / name
        assert main(["run", str(small_yaml), "--reps", "3", "--seed", "1", "--out",
                     str(runs[name]), "--quiet", "--reps-per-draw", "1", *flags]) == 0
    manifest = json.loads((runs["default"] / "manifest.json").read_text())
    assert manifest["parameters"] == ("drawn from the calibration posterior"
                                      " (calibration/posterior.csv), one draw per replication")
    assert (runs["default"] / "summary.csv").read_bytes() == (
        runs["flag"] / "summary.csv").read_bytes()
    fixed = json.loads((run_a / "manifest.json").read_text())["parameters"]
    assert fixed == "fixed at the calibrated values (--fixed-parameters)"
    sim.run(small_yaml, reps=3, seed=1, out=tmp_path / "api")
    assert (run_a / "summary.csv").read_bytes() == (tmp_path / "api" / "summary.csv").read_bytes()
    drawn = pd.read_csv(runs["default"] / "summary.csv").set_index("metric")["mean"]
    plain = pd.read_csv(run_a / "summary.csv").set_index("metric")["mean"]
    assert drawn["officers.restricted.mean"] != plain["officers.restricted.mean"]
    for run in (runs["default"], run_a):
        subtitle = (run / "report.html").read_text().split("class='subtitle'>")[1]
        said = json.loads((run / "manifest.json").read_text())["parameters"]
        assert f"parameters {said}" in html.unescape(subtitle.split("</p>")[0])


def test_compare_gives_every_option_the_same_draw_for_each_group(
        small_yaml: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    """The pairing holds under the default draws: group g of every option runs under the
    posterior row stream(seed, g, "parameters") picks, applied to the option's own values."""
    groups: dict[str, list] = {}
    real = parameter_uncertainty.run_scenario

    def recorded(scenario, *args, **kwargs):
        groups.setdefault(scenario.name, []).append(kwargs["groups"])
        return real(scenario, *args, **kwargs)

    monkeypatch.setattr(parameter_uncertainty, "run_scenario", recorded)
    other = small_dict(horizon_years=2)
    other["name"] = "cheaper_cps"
    other["cps"]["charge_share"] = 0.5  # not a fitted field
    alt = tmp_path / "alt.yaml"
    alt.write_text(yaml.safe_dump(other, sort_keys=False))
    assert main(["compare", str(small_yaml), str(alt), "--reps", "6", "--seed", "7",
                 "--reps-per-draw", "2", "--out", str(tmp_path / "cmp"), "--quiet"]) == 0
    assert "parameters drawn from the calibration posterior" in capsys.readouterr().out
    posterior = parameter_uncertainty.load_posterior(ROOT / "calibration")
    fields = [(j, item.split(" x ")[0]) for j, paths in enumerate(posterior.parameters.paths)
              for item in paths.split("; ")
              if not item.startswith(("pre2020:", "officers."))]
    base = sim.load_scenario(small_yaml).to_dict()
    (base_groups,), (alt_groups,) = groups["baseline"], groups["cheaper_cps"]
    assert len(base_groups) == len(alt_groups) == 3
    for g, (a, b) in enumerate(zip(base_groups, alt_groups, strict=True)):
        row = stream(7, g, "parameters").integers(len(posterior.draws))
        assert a.reps == b.reps == range(2 * g, 2 * g + 2)
        for j, path in fields:
            factor = posterior.draws[row, j] / posterior.parameters.estimate[j]
            expected = get_path(base, path) * factor
            assert get_path(a.scenario.to_dict(), path) == pytest.approx(expected, rel=1e-12)
            assert get_path(b.scenario.to_dict(), path) == pytest.approx(expected, rel=1e-12)
        assert b.scenario.cps.charge_share == 0.5, "the option keeps its own change"


def test_a_brief_file_can_fix_the_parameters_and_a_flag_wins(tmp_path: Path) -> None:
    """The brief file's `parameters:` (drawn unless it says fixed) is the default of
    `ccsim brief`; --fixed-parameters and --parameter-uncertainty override it."""
    shipped = ROOT / "briefs" / "rec7.yaml"
    fixed = tmp_path / "fixed.yaml"
    fixed.write_text(shipped.read_text().replace("parameters: drawn", "parameters: fixed")
                     .replace("../", f"{ROOT}/"))
    assert "parameters: fixed" in fixed.read_text()

    def chosen(*argv: str):
        return cli._brief_parameters(cli.build_parser().parse_args(["brief", *argv]))

    assert chosen() == chosen("--config", str(shipped)) == shipped_path("calibration")
    assert chosen("--config", str(fixed)) is None
    assert chosen("--config", str(fixed), "--parameter-uncertainty", str(tmp_path)) == tmp_path
    assert chosen("--config", str(fixed), "--parameter-uncertainty") == shipped_path(
        "calibration")
    assert chosen("--config", str(shipped), "--fixed-parameters") is None
    bad = tmp_path / "bad.yaml"
    bad.write_text(shipped.read_text().replace("parameters: drawn", "parameters: sometimes")
                   .replace("../", f"{ROOT}/"))
    with pytest.raises(InputError, match=r"(?s)bad\.yaml.*field 'parameters'.*'drawn' or"
                                         r" 'fixed'"):
        chosen("--config", str(bad))


def test_run_prints_plain_headlines_in_their_units_and_where_the_report_is(
        small_yaml: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "plain"
    assert main(["run", str(small_yaml), "--reps", "3", "--seed", "1", "--out", str(out),
                 "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    lines = printed.strip().splitlines()
    assert lines[-2:] == [f"results written to {out}", f"open {out / 'report.html'}"], (
        "the run ends by saying where the report is")
    for metric in HEADLINE:
        assert metric not in printed, f"{metric}: metric names stay in the CSV files"
    summary = pd.read_csv(out / "summary.csv").set_index("metric")
    for metric in ("iopc.open_over_12m.end", "iopc.within_12m.share", "met.duration_wd.mean"):
        lab, r = label(metric), summary.loc[metric]
        row = next(x for x in lines if x.startswith(lab.text + "  "))
        assert row.split("  ")[-1].strip() == value_range(lab, r.p05, r.p95), row
        assert f"  {lab.value(r['mean'])}  " in row, row
    assert "%" in next(x for x in lines if x.startswith("IOPC investigations finished"))
    assert "working days" in next(x for x in lines if x.startswith("mean time to finalise"))
    assert next(x for x in lines if x.startswith("pay cost of suspended officers")).count("£") == 3
    assert "what we do not know about the fitted" in printed, "where the ranges come from"
    assert "parameters drawn from the calibration posterior" in " ".join(printed.split())


def test_compare_prints_each_option_in_plain_words_with_a_verdict(
        small_yaml: Path, tmp_path: Path, capsys) -> None:
    fewer = small_dict(horizon_years=2)
    fewer["name"] = "fewer_iopc"
    fewer["pools"]["iopc"]["staff"] = [{"from": "2018-04-01", "value": 15}]
    alt = tmp_path / "fewer_iopc.yaml"
    alt.write_text(yaml.safe_dump(fewer, sort_keys=False))
    out = tmp_path / "cmp"
    assert main(["compare", str(small_yaml), str(alt), "--reps", "3", "--out", str(out),
                 "--quiet", "--fixed-parameters"]) == 0  # chance alone: 3 reps suffice
    printed = capsys.readouterr().out
    for metric in HEADLINE:
        assert metric not in printed, f"{metric}: metric names stay in comparison.csv"
    table = pd.read_csv(out / "comparison.csv")
    r = table[(table.period == "all") & (table.metric == "iopc.open.end")].iloc[0]
    lab = label("iopc.open.end")
    row = next(x for x in printed.splitlines() if x.startswith(f"fewer_iopc  {lab.text}  "))
    assert f"  {lab.value(r.base_mean)}  " in row and f"  {lab.value(r.alt_mean)}  " in row
    assert f"{lab.change(r.diff_mean)} (" in row, "the difference in the metric's units"
    word = lab.verdict(r.diff_mean, bool(r.distinguishable))
    assert row.endswith({"same": "no clear change"}.get(word, word)), row
    assert word == "worse", "half the IOPC investigators: more IOPC investigations open"


def test_progress_is_plain_lines_when_not_a_terminal_and_silent_when_quiet(
        small_yaml: Path, tmp_path: Path, capsys) -> None:
    assert main(["run", str(small_yaml), "--reps", "3", "--out", str(tmp_path / "a"),
                 "--workers", "1", "--chunk-size", "1"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 3, f"a line per third of the run (each more than 10%): {err}"
    for done, line in zip((1, 2), err, strict=False):
        assert re.fullmatch(rf"baseline \[compiled\]: {done} of 3 replications, about \d+ (s|min)"
                            " left", line), line
    assert re.fullmatch(r"baseline \[compiled\]: 3 of 3 replications, done in \d+ s", err[2]), err
    assert main(["run", str(small_yaml), "--reps", "3", "--out", str(tmp_path / "b"),
                 "--quiet"]) == 0
    quiet = capsys.readouterr()
    assert quiet.err == "", "nothing at all on stderr under --quiet"
    assert quiet.out == f"results written to {tmp_path / 'b'}\n"


def test_a_cold_engine_says_it_is_compiling(monkeypatch, capsys) -> None:
    """A first run spends about a minute and a half compiling: the command says so (on stderr),
    unless --quiet; a warm cache says nothing."""
    monkeypatch.setattr("sim.engine.engines.compiled.needs_compiling", lambda: True)
    cli._say_if_compiling(cli.build_parser().parse_args(["run", "--reps", "1"]))
    assert "compiling the simulation engine" in capsys.readouterr().err
    cli._say_if_compiling(cli.build_parser().parse_args(["run", "--reps", "1", "--quiet"]))
    cli._say_if_compiling(cli.build_parser().parse_args(["run", "--engine", "des"]))
    monkeypatch.setattr("sim.engine.engines.compiled.needs_compiling", lambda: False)
    cli._say_if_compiling(cli.build_parser().parse_args(["run"]))
    assert capsys.readouterr().err == ""


def test_the_retired_engine_is_refused_by_name() -> None:
    with pytest.raises(InputError, match="retired"):
        get_engine("mc")


def test_the_parsers_own_defaults_are_the_librarys() -> None:
    """The command line names a few defaults itself, so that it starts without loading the
    engine (`sim/cli.py`): they must be the ones the library uses."""
    from sim.studies.calibration.posterior import BURN, STEPS
    from sim.studies.goal_seek import GOAL_KINDS
    from sim.studies.parameter_uncertainty import REPS_PER_DRAW

    assert (cli.GOAL_KINDS, cli.REPS_PER_DRAW, cli.STEPS, cli.BURN) == (
        GOAL_KINDS, REPS_PER_DRAW, STEPS, BURN)
