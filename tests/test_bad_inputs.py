"""A corpus of bad inputs: each exits 2 with a message naming the file, the field and what is
allowed, never a traceback.

The files live in tests/bad_inputs/; most are `extends: ../../scenarios/baseline.yaml` with
one change, so they follow the baseline as it is recalibrated. Each row of `CASES` says how
the file is used (validate, run, sweep or compare) and the words its message must contain.
Rows run in-process through `sim.cli.main`; a few run again as a real subprocess to prove
that nothing but the message reaches stderr.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from sim.cli import main
from tests.conftest import ROOT

HERE = Path(__file__).resolve().parent / "bad_inputs"
SHARES = "sum to 1"
ALLOWED_DIST = "dist: fixed, exponential, lognormal, gamma, empirical"


@dataclass(frozen=True)
class Case:
    file: str  # under tests/bad_inputs/ ("" where the input is on the command line)
    command: str  # validate, run, sweep or compare
    words: tuple[str, ...]  # every one must be in the message
    extra: tuple[str, ...] = ()  # more arguments

    @property
    def id(self) -> str:
        return f"{self.command}-{self.file or '-'.join(self.extra)}"


def c(file: str, command: str, *words: str, extra: tuple[str, ...] = (),
      named: bool = True) -> Case:
    """A case whose message must name its file (unless the fault is elsewhere: `named`)."""
    name = f"{file}.yaml" if file else ""
    return Case(name, command, (*((name,) if named else ()), *words), extra)


CASES = [
    # the file itself: unreadable, malformed, not a mapping, unsafe
    c("malformed_yaml", "validate", "malformed YAML", "line 2"),
    c("tab_indent", "validate", "malformed YAML", "line 3", "'\\t'"),
    c("duplicate_key", "validate", "'horizon_years' is given twice", "line 3"),
    c("not_a_mapping", "validate", "must hold a mapping", "'list'", "allowed: a YAML mapping"),
    c("empty", "validate", "the file is empty", "allowed: a YAML mapping"),
    c("python_tag", "validate", "malformed YAML", "python/object/apply"),
    c("not_utf8", "validate", "cannot read the file", "utf-8"),
    # unknown keys and missing fields
    c("unknown_key", "validate", "field 'horizon'", "unknown key", "allowed:"),
    c("unknown_key_nested", "validate", "pools.iopc.investigators", "unknown key"),
    c("unknown_key_in_distribution", "validate", "assessment.time_days.sd", "unknown key",
      "assessment.time_days.cv", "required"),
    c("missing_fields", "validate", "8 problems", "field 'demand'", "field 'pools'",
      "this field is required"),
    # wrong types
    c("wrong_type_whole_number", "validate", "horizon_years", "'five'", "a whole number"),
    c("wrong_type_fraction", "validate", "horizon_years", "2.5", "a whole number"),
    c("wrong_type_number", "validate", "demand.complaints.allegations_per_case", "'two'",
      "allowed: a number"),
    c("wrong_type_list", "validate", "pools.iopc.staff", "got: 45", "a YAML list"),
    c("wrong_type_mapping", "validate", "field 'pools'", "a YAML mapping"),
    c("wrong_type_date", "validate", "field 'start'", "'April 2021'", "YYYY-MM-DD"),
    c("wrong_type_text", "validate", "field 'name'", "valid string", "allowed: text"),
    c("not_a_number", "validate", "pools.dps.cases_per_staff", "got: nan", "a finite number"),
    c("infinite", "validate", "warmup_years", "got: inf", "a finite number"),
    # negative or zero rates, capacities and durations
    # shared time: a reference caseload and the share of a case's time that follows it
    c("work_share_zero", "validate", "pools.psu.investigator_work_share", "greater than 0"),
    c("reference_caseload_below_one", "validate", "pools.dps.reference_caseload",
      "greater than or equal to 1"),
    c("work_share_without_reference", "validate", "pools.psu", "needs reference_caseload"),
    c("sittings_no_room", "validate", "proceedings.sittings.rooms", "never a whole room"),
    c("sittings_rooms_unordered", "validate", "proceedings.sittings.rooms",
      "strictly increasing date order"),
    c("demand_csv_number_key", "validate", "demand.complaints.cases_per_month",
      "{csv: FILE, column: NAME}"),
    # severity
    c("severity_share_over_one", "validate", "severity.iopc_gross_misconduct",
      "less than or equal to 1"),
    c("severity_unknown_stream", "validate", "severity.local_not_special.gross_misconduct",
      "unknown key"),
    c("severity_lever_negative", "validate", "levers.0.set.severity.local_not_special",
      "greater than or equal to 0"),
    # the IOPC's caseload limit
    c("iopc_limit_with_shared_time", "validate", "iopc_referral.caseload_limit",
      "needs case slots in the IOPC pool"),
    c("iopc_limit_zero", "validate", "iopc_referral.caseload_limit", "greater than 0"),
    # demand from a CSV of monthly counts, and ramped steps
    c("demand_csv_missing", "validate", "no_such_demand.csv", "file not found", named=False),
    c("demand_csv_bad_month", "validate", "demand_bad_month.csv", "line 3, month",
      "2022-13", "YYYY-MM", named=False),
    c("demand_csv_negative", "validate", "demand_negative.csv", "line 3, complaints", "-4",
      "a number from 0", named=False),
    c("demand_csv_no_column", "validate", "demand_negative.csv", "no column 'complaint'",
      "month,complaints", named=False),
    c("demand_csv_unsorted", "validate", "demand_unsorted.csv", "increasing order",
      "line 3, month", named=False),
    c("demand_csv_bad_key", "validate", "demand.complaints.cases_per_month",
      "{csv: FILE, column: NAME}"),
    c("demand_ramp_first", "validate", "demand.complaints.cases_per_month",
      "the first step cannot ramp"),
    c("negative_rate", "validate", "demand.conduct.cases_per_month.0.value", "-5",
      "greater than or equal to 0"),
    c("negative_staff", "validate", "pools.psu.staff.0.value", "greater than or equal to 0"),
    c("zero_caseload", "validate", "pools.psu.cases_per_staff", "got: 0", "greater than 0"),
    c("negative_caseload", "validate", "pools.iopc.cases_per_staff", "-2", "greater than 0"),
    c("zero_officers", "validate", "demand.officers.0.officers", "greater than 0"),
    c("negative_training_lag", "validate", "pools.dps.training_lag_days", "-30",
      "greater than or equal to 0"),
    c("negative_mean_duration", "validate", "cps.decision_days.mean", "-120",
      "greater than 0"),
    c("negative_cv", "validate", "pools.dps.investigation_days.complaints.cv", "-0.7",
      "greater than 0"),
    c("zero_cv", "validate", "assessment.time_days.cv", "greater than 0"),
    c("negative_fixed_duration", "validate", "1 problem", "proceedings.meeting_days.value",
      "greater than or equal to 0"),
    c("empirical_no_values", "validate", "proceedings.accelerated_days.values",
      "at least 1 item"),
    c("empirical_weights_mismatch", "validate", "proceedings.accelerated_days",
      "one weight per value"),
    c("unknown_distribution", "validate", "pools.psu.investigation_days.conduct", "'weibull'",
      ALLOWED_DIST),
    c("distribution_without_dist", "validate", "iopc_referral.assessment_days", ALLOWED_DIST),
    c("allegations_below_one", "validate", "demand.conduct.allegations_per_case", "0.5",
      "greater than or equal to 1"),
    c("elasticity_negative", "validate", "demand.elasticity", "greater than or equal to 0"),
    # shares outside [0, 1] or not summing to 1
    c("share_above_one", "validate", "cps.charge_share", "1.4", "less than or equal to 1"),
    c("share_negative", "validate", "cps.conviction_share", "-0.25",
      "greater than or equal to 0"),
    c("assessment_shares_not_summing", "validate", "assessment.complaints", SHARES, "1.2"),
    c("referral_shares_not_summing", "validate", "iopc_referral",
      "independent + directed + local", SHARES, "1.2"),
    c("local_routing_not_summing", "validate", "iopc_referral.local_routing", SHARES, "1.2"),
    c("route_not_summing", "validate", "proceedings.route", SHARES, "0.8"),
    c("suspended_plus_restricted_over_one", "validate", "field 'officers'",
      "suspended + restricted for iopc is 1.1", "at most 1"),
    # dates out of order, starts and horizons
    c("steps_out_of_order", "validate", "pools.dps.staff", "increasing date order",
      "2022-04-01, 2018-04-01"),
    c("steps_same_date", "validate", "demand.complaints.cases_per_month",
      "strictly increasing date order"),
    c("officer_dates_out_of_order", "validate", "demand.officers", "increasing date order",
      "2021-03-31, 2019-02-28"),
    c("start_mid_month", "validate", "field 'start'", "first day of a month", "2021-04-15"),
    c("start_absurd_year", "validate", "field 'start'", "1900 to 2200", "9999-01-01"),
    c("horizon_zero", "validate", "horizon_years", "greater than or equal to 1"),
    c("horizon_absurd", "validate", "horizon_years", "got: 500", "less than or equal to 30"),
    c("warmup_negative", "validate", "warmup_years", "greater than or equal to 0"),
    c("warmup_absurd", "validate", "warmup_years", "got: 100", "less than or equal to 20"),
    c("name_empty", "validate", "field 'name'", "at least 1 character"),
    # capacity where cases arrive, and none absurd
    c("pool_without_capacity", "validate", "pools.dps receives cases", "case slot",
      "staff x cases_per_staff must reach at least 1"),
    c("panels_without_capacity", "validate", "proceedings.panels", "one slot"),
    c("pool_absurd_capacity", "validate", "pools.psu", "case slots", "at most 100,000"),
    # levers
    c("lever_mid_month", "validate", "levers.0.from", "first day of a month"),
    c("lever_on_capacity", "validate", "levers.0.set", "pools.iopc.staff",
      "dated staff steps"),
    c("lever_on_reference_caseload", "validate", "levers.0.set",
      "pools.psu.reference_caseload", "a capacity or cost"),
    c("lever_on_rooms", "validate", "levers.0.set", "proceedings.sittings.rooms",
      "a capacity or cost"),
    c("lever_makes_invalid", "validate", "with the levers applied", "cps.charge_share",
      "less than or equal to 1"),
    c("lever_unknown_field", "validate", "levers.0.set", "cps.charge_shar",
      "does not name a field"),
    # extends
    c("extends_missing", "validate", "field 'extends'", "no_such_parent.yaml", "not found",
      "relative to this file"),
    c("extends_loop_a", "validate", "field 'extends'", "loop",
      "extends_loop_a.yaml -> extends_loop_b.yaml"),
    c("extends_not_text", "validate", "field 'extends'", "must name a scenario file",
      "allowed: a path"),
    # missing files and folders
    Case("no_such_file.yaml", "validate", ("no_such_file.yaml", "file not found")),
    Case("", "validate", ("bad_inputs", "is a directory"), extra=(str(HERE),)),
    Case("no_such_file.yaml", "run", ("no_such_file.yaml", "file not found")),
    # runs refused before simulating: size, memory, output folder, arguments
    c("huge_demand", "run", "field 'demand'", "GiB of memory", "budget",
      "smaller demand, a shorter horizon"),
    c("short_horizon", "run", "field '--chunk-size'", "got: 0", "a whole number >= 1",
      extra=("--chunk-size", "0"), named=False),
    c("short_horizon", "run", "field '--workers'", "got: -1", "a whole number >= 1",
      extra=("--workers", "-1"), named=False),
    c("short_horizon", "run", "not a directory", "allowed: a new or existing directory",
      extra=("--out", "{blocker}"), named=False),
    c("short_horizon", "run", "cannot write results here", "allowed: a directory you can",
      extra=("--out", "{blocker}/sub/run"), named=False),
    # sweeps
    c("sweep_empty_grid", "sweep", "design.grid.parameters", "at least 1 item"),
    c("sweep_empty_list", "sweep", "design.list.points", "at least 1 item"),
    c("sweep_empty_values", "sweep", "design.grid.parameters.cps.charge_share",
      "at least 1 item"),
    c("sweep_unknown_kind", "sweep", "field 'design'", "'factorial'",
      "kind: grid, list, latin_hypercube, sobol, morris"),
    c("sweep_base_missing", "sweep", "field 'base'", "no_such_base.yaml", "not found",
      "relative to the sweep file"),
    c("sweep_bad_parameter", "sweep", "design.parameters.pools.iopc.staf",
      "does not name a field"),
    c("sweep_invalid_point", "sweep", "point 1", "invalid scenario", "cps.charge_share",
      "less than or equal to 1"),
    c("sweep_unknown_metric", "sweep", "field 'metrics'", "iopc.opne.end", "README glossary"),
    c("sweep_unknown_engine", "sweep", "field 'engine'", "'warp'", "compiled, des"),
    c("sweep_zero_reps", "sweep", "field 'reps'", "greater than or equal to 1"),
    c("sweep_huge_point", "sweep", "point 0", "GiB of memory", "smaller demand"),
    c("sweep_sobol_not_power_of_two", "sweep", "design.sobol", "power of 2"),
    c("sweep_range_reversed", "sweep", "design.latin_hypercube.parameters.cps.charge_share",
      "must be below high"),
    c("sweep_ok", "sweep", "--workers", "got: 0", ">= 1", extra=("--workers", "0"),
      named=False),
    c("sweep_ok", "sweep", "--executor", "'cloud'", "local, dask, serial",
      extra=("--executor", "cloud"), named=False),
    # YAML 1.1 booleans, quoted numbers and numbers as dates (pydantic's lax mode took them)
    c("share_yes", "validate", "field 'cps.charge_share'", "a yes/no value is not a number",
      "got: True", "allowed: a number"),
    c("number_off", "validate", "field 'demand.elasticity'", "yes/no value", "a number"),
    c("whole_number_true", "validate", "field 'horizon_years'", "yes/no value",
      "allowed: a whole number"),
    c("number_quoted", "validate", "field 'officers.cost_per_officer_year_gbp'", "got: '1e5'",
      "text is not a number", "without quotes"),
    c("start_zero", "validate", "field 'start'", "a number is not a date", "got: 0",
      "YYYY-MM-DD"),
    c("start_digits", "validate", "field 'start'", "a number is not a date", "got: 20210401",
      "YYYY-MM-DD"),
    c("lever_value_yes", "validate", "field 'levers.0.set.cps.charge_share'",
      "with the levers applied", "yes/no value", "got: True", "allowed: a number"),
    c("lever_value_not_rampable", "validate", "field 'levers.0.set.cps.decision_days'",
      "kind of distribution", "ramp_months: 0"),
    c("lever_set_empty", "validate", "field 'levers.0.set'", "at least 1 item"),
    c("lever_set_key_not_text", "validate", "levers.0.set", "valid string", "got: 1"),
    c("key_not_text", "validate", "field 'pools.1'", "Keys should be strings"),
    # dates outside the calendar, on any dated field
    c("lever_date_ancient", "validate", "field 'levers.0.from'", "1900 to 2200",
      "0001-01-01"),
    c("lever_date_far", "validate", "field 'levers.0.from'", "1900 to 2200", "9999-12-01"),
    c("step_date_ancient", "validate", "field 'pools.iopc.staff.0.from'", "1900 to 2200"),
    # parameters bounded so that sampling never overflows or divides by zero
    c("cv_huge", "validate", "field 'assessment.time_days.cv'", "got: 1e+200",
      "less than or equal to 20"),
    c("cv_tiny", "validate", "field 'cps.trial_days.cv'", "got: 1e-200",
      "greater than or equal to 0.001", "dist: fixed"),
    c("mean_huge", "validate", "field 'cps.decision_days.mean'", "got: 1e+300",
      "less than or equal to 36525"),
    c("rate_huge", "validate", "field 'demand.conduct.cases_per_month.0.value'",
      "got: 1e+19", "less than or equal to 100000000"),
    c("officers_ratio", "validate", "field 'demand.officers'", "at most 1,000 times"),
    c("demand_growth_huge", "validate", "field 'demand'", "complaints demand reaches about",
      "at most 1e+08"),
    c("cost_huge", "validate", "field 'officers.cost_per_officer_year_gbp'", "got: 1e+308",
      "less than or equal to 10000000"),
    c("empirical_weights_huge", "validate", "field 'proceedings.accelerated_days.weights.0'",
      "less than or equal to 1000000000000"),
    c("empirical_weight_negative", "validate",
      "field 'proceedings.accelerated_days.weights.0'", "greater than or equal to 0"),
    # text a terminal would obey
    c("name_control_characters", "validate", "field 'name'", "control character '\\x1b'",
      "got: 'baseline\\x1b[2J'"),
    # YAML that stands for far more than it shows: aliases and nesting are bounded
    c("alias_bomb", "validate", "field 'a4'", "YAML aliases (*name) here expand to more than"
      " 100,000 values", "line 6", "allowed: at most 100,000 values"),
    c("alias_bomb_in_lever", "validate", "field 'levers.0.set.cps.charge_share.0.0.0.0'",
      "expand to more than 100,000 values"),
    c("alias_in_lever", "validate", "field 'levers.0.set.cps.charge_share'",
      "Input should be a valid number", "got: [[[[...]"),
    c("alias_recursive", "validate", "field 'levers.0.set.cps.charge_share.0'",
      "refers to the list or mapping that contains it"),
    c("nested_too_deep", "validate", "field 'description.0.0.0", "nested more than 64 levels"),
    # a parent that is not a regular file
    c("extends_device", "validate", "field 'extends'", "/dev/zero", "not a regular file",
      "allowed: a scenario file (YAML), as a regular file"),
    c("extends_directory", "validate", "field 'extends'", "is a directory"),
    # comparisons
    c("other_horizon", "compare", "other_horizon.yaml", "horizon"),
    c("negative_cv", "compare", "pools.dps.investigation_days.complaints.cv"),
]


def argv_for(case: Case, tmp: Path) -> list[str]:
    blocker = tmp / "blocker"
    blocker.write_text("a file where a folder is expected")
    extra = [a.replace("{blocker}", str(blocker)) for a in case.extra]
    path = [str(HERE / case.file)] if case.file else []
    if case.command == "validate":
        return ["validate", *path, *extra]
    if case.command == "run":
        return ["run", *path, "--reps", "1", "--quiet", "--out", str(tmp / "out"), *extra]
    if case.command == "sweep":
        return ["sweep", *path, "--out", str(tmp / "sweep"), "--executor", "serial",
                "--quiet", *extra]
    assert case.command == "compare"
    base = str(HERE / "short_horizon.yaml")
    return ["compare", base, *path, "--reps", "1", "--quiet", "--out", str(tmp / "cmp"),
            *extra]


def test_the_corpus_is_large_and_every_file_is_used() -> None:
    files = {p.name for p in HERE.glob("*.yaml")}
    used = {case.file for case in CASES if case.file}
    helpers = {"extends_loop_b.yaml"}  # the other half of a loop
    assert len(CASES) >= 40
    assert files - used - helpers == set(), "files in tests/bad_inputs/ with no case"
    assert used - files == {"no_such_file.yaml"}


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_bad_input_exits_2_with_a_message(case: Case, tmp_path: Path, capsys) -> None:
    code = main(argv_for(case, tmp_path))
    out, err = capsys.readouterr()
    assert code == 2, f"exit {code}, expected 2\n{err}{out}"
    for word in case.words:
        assert word in err, f"{word!r} not in the message:\n{err}"
    assert "Traceback" not in err + out
    assert not (tmp_path / "out").exists() and not (tmp_path / "cmp").exists(), (
        "a refused run must not leave results behind")


def test_a_run_needing_more_memory_than_the_machine_is_refused(
        tmp_path: Path, capsys, monkeypatch) -> None:
    """The estimate is made before simulating; the machine is made small so the test does
    not depend on the memory of the machine it runs on."""
    import sim.engine.run

    monkeypatch.setattr(sim.engine.run, "physical_memory_bytes", lambda: 1.0 * 2**30)
    code = main(["run", str(HERE / "short_horizon.yaml"), "--reps", "100000", "--quiet",
                 "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2, err
    for word in ("field 'reps'", "would need about", "GiB of memory",
                 "this machine has 1.0 GiB", "short_horizon.yaml", "got: 100000",
                 "fewer replications"):
        assert word in err, f"{word!r} not in {err}"
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root may write anywhere")
def test_read_only_output_folder_is_refused(tmp_path: Path, capsys) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        code = main(["run", str(HERE / "short_horizon.yaml"), "--reps", "1", "--quiet",
                     "--out", str(locked / "run")])
    finally:
        locked.chmod(0o700)
    assert code == 2
    assert "permission denied" in capsys.readouterr().err


SUBPROCESS = ["malformed_yaml", "pool_absurd_capacity", "huge_demand", "sweep_empty_grid",
              "start_absurd_year"]


@pytest.mark.parametrize("name", SUBPROCESS)
def test_a_real_process_prints_no_traceback(name: str, tmp_path: Path) -> None:
    case = next(k for k in CASES if k.file == f"{name}.yaml")
    command = "run" if case.command == "validate" else case.command
    argv = argv_for(Case(case.file, command, case.words), tmp_path)
    proc = subprocess.run([sys.executable, "-m", "sim.cli", *argv], cwd=ROOT,
                          capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("ccsim: error: "), proc.stderr
    assert "Traceback" not in proc.stderr and "File \"" not in proc.stderr
    for word in case.words:
        assert word in proc.stderr, f"{word!r} not in {proc.stderr}"


# ------------------------------------------------------------------ safe loading, paths


def test_every_yaml_read_in_the_package_is_safe() -> None:
    """No module loads YAML but through `read_yaml_mapping`, whose loader is a SafeLoader."""
    import re

    import yaml

    from sim.model.scenario import _UniqueKeyLoader

    assert issubclass(_UniqueKeyLoader, yaml.SafeLoader)
    for source in (ROOT / "sim").rglob("*.py"):
        text = source.read_text()
        for call in re.findall(r"yaml\.(?:load|load_all|unsafe_load|full_load)\([^)]*\)", text):
            assert "Loader=_UniqueKeyLoader" in call, f"{source.name}: {call}"
        assert "yaml.Loader" not in text and "FullLoader" not in text, source.name


@pytest.mark.parametrize("kind", ["scenario", "sweep"])
def test_python_tags_are_refused_in_every_file(tmp_path: Path, kind: str, capsys) -> None:
    marker = tmp_path / "executed"
    tag = ("!!python/object/apply:pathlib.Path.touch"
           f" [!!python/object/apply:pathlib.Path ['{marker}']]")
    path = tmp_path / f"{kind}.yaml"
    path.write_text(f"name: {tag}\n")
    argv = (["validate", str(path)] if kind == "scenario"
            else ["sweep", str(path), "--out", str(tmp_path / "o"), "--quiet"])
    assert main(argv) == 2
    assert "malformed YAML" in capsys.readouterr().err
    assert not marker.exists(), "a Python object was constructed"


def test_paths_resolve_relative_to_the_file_not_the_working_directory(
        tmp_path: Path, monkeypatch, capsys) -> None:
    """extends: and a sweep's base: are relative to the file that names them, at every level:
    sweeps/s.yaml -> ../options/child.yaml -> ../base/parent.yaml -> grand.yaml."""
    import yaml

    from sim.model.scenario import load_scenario
    from sim.studies.sweep.design import load_sweep
    from tests.conftest import small_dict

    for folder in ("base", "options", "sweeps", "elsewhere"):
        (tmp_path / folder).mkdir()
    (tmp_path / "base" / "grand.yaml").write_text(yaml.safe_dump(small_dict()))
    (tmp_path / "base" / "parent.yaml").write_text("extends: grand.yaml\nname: parent\n")
    (tmp_path / "options" / "child.yaml").write_text(
        "extends: ../base/parent.yaml\nname: child\ncps: {charge_share: 0.5}\n")
    (tmp_path / "sweeps" / "s.yaml").write_text(yaml.safe_dump({
        "name": "rel", "base": "../options/child.yaml", "reps": 1, "seed": 1,
        "design": {"kind": "list", "points": [{"cps.conviction_share": 0.5}]}}))
    monkeypatch.chdir(tmp_path / "elsewhere")  # a working directory that explains nothing
    child = load_scenario(Path("../options/child.yaml"))
    assert child.name == "child" and child.cps.charge_share == 0.5
    assert child.horizon_years == small_dict()["horizon_years"], "the grandparent's fields"
    sweep = load_sweep(Path("../sweeps/s.yaml"))
    point = sweep.scenario(sweep.points[0])
    assert point.name == "child" and point.cps.charge_share == 0.5
    assert point.cps.conviction_share == 0.5
    assert main(["validate", "../options/child.yaml"]) == 0
    capsys.readouterr()
    # a file moved away from its parent says where it looked
    moved = tmp_path / "elsewhere" / "deeper" / "child.yaml"
    moved.parent.mkdir()
    moved.write_text((tmp_path / "options" / "child.yaml").read_text())
    assert main(["validate", "deeper/child.yaml"]) == 2
    err = capsys.readouterr().err
    looked = tmp_path / "elsewhere" / "base" / "parent.yaml"
    assert str(looked) in err and "relative to this file" in err, err
