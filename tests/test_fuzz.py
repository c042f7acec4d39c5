"""Loader fuzzing: no document, however wrong, gets anything but an `InputError` (exit 2).

Three sources of bad documents: arbitrary text; arbitrary YAML data (nested mappings,
lists and scalars of every type); and the baseline with random mutations (a key deleted,
a value of the wrong type, an extra key, a number written as text or made absurd). A
mutation may happen to leave a valid scenario; then its calendar and run plan must build
without error too. Sweep files are fuzzed the same way from a small valid one.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.cli import main
from sim.engine.run import plan_chunks
from sim.errors import InputError
from sim.model.scenario import Scenario, load_scenario, scenario_from_dict
from sim.model.timeline import Timeline
from sim.studies.sweep.design import load_sweep
from tests.conftest import BASELINE, baseline_dict

FAST = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow,
                                       HealthCheck.function_scoped_fixture])
SLOW = settings(FAST, max_examples=1500)

scalars = (st.none() | st.booleans() | st.integers(-10**30, 10**30)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12)
           | st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)))
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=8) | st.integers(), inner, max_size=4),
    max_leaves=12,
)


def paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path into a nested document (mapping keys and list positions)."""
    out = []
    items = node.items() if isinstance(node, dict) else (
        enumerate(node) if isinstance(node, list) else [])
    for key, child in items:
        out.append((*prefix, key))
        out.extend(paths(child, (*prefix, key)))
    return out


BASELINE_PATHS = paths(baseline_dict())


def as_text(value: Any) -> Any:
    """A number written as text, as a planner might by mistake ('45' or '45 staff')."""
    return f"{value} staff" if isinstance(value, int | float) else f"{value!s}x"


MUTATIONS = {
    "delete": lambda old, new: None,
    "replace": lambda old, new: new,
    "text": lambda old, new: as_text(old),
    "negate": lambda old, new: -old if isinstance(old, int | float) else new,
    "absurd": lambda old, new: 1e300 if isinstance(old, int | float) else new,
    "wrap": lambda old, new: [old],
    "extra": lambda old, new: new,
}


@st.composite
def mutated_baselines(draw) -> dict:
    data = baseline_dict()
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(BASELINE_PATHS))
        kind = draw(st.sampled_from(sorted(MUTATIONS)))
        parent = data
        try:
            for key in path[:-1]:
                parent = parent[key]
            old = parent[path[-1]]
        except (KeyError, IndexError, TypeError):  # an earlier mutation removed the way
            continue
        if not isinstance(parent, dict | list):  # or turned it into text ('abc'[0] is 'a')
            continue
        new = draw(values)
        if kind == "delete":
            del parent[path[-1]]
        elif kind == "extra" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=8))] = new
        else:
            parent[path[-1]] = MUTATIONS[kind](old, new)
    return data


def must_be_input_error_or_valid(data: Any, source: str = "fuzz.yaml") -> Scenario | None:
    try:
        scenario = scenario_from_dict(data, source=source)
    except InputError as exc:
        assert exc.render(), "an error must say something"
        return None
    Timeline.for_scenario(scenario).fiscal_years  # noqa: B018 - the calendar builds
    with contextlib.suppress(InputError):  # too big to run is a refusal too
        plan_chunks(scenario, 1)
    return scenario


def validate_file(path: Path, capsys) -> None:
    code = main(["validate", str(path)])
    out, err = capsys.readouterr()
    assert code in (0, 2), f"exit {code}:\n{err}"
    assert "Traceback" not in err and "internal error" not in err, err
    assert (code == 0) == ("valid" in out)
    if code == 2:
        assert path.name in err, f"the message must name the file:\n{err}"


# ------------------------------------------------------------------ scenario files


@FAST
@given(text=st.text(max_size=200))
def test_any_text_is_a_scenario_or_an_input_error(tmp_path: Path, capsys, text: str) -> None:
    path = tmp_path / "text.yaml"
    path.write_text(text, encoding="utf-8")
    validate_file(path, capsys)


def validate_yaml_of(doc: Any, tmp_path: Path, capsys) -> None:
    """Write `doc` as a YAML file and validate it: a scenario or a clean refusal."""
    path = tmp_path / "data.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    validate_file(path, capsys)


@FAST
@given(doc=values)
def test_any_yaml_data_is_refused_cleanly(tmp_path: Path, capsys, doc: Any) -> None:
    validate_yaml_of(doc, tmp_path, capsys)
    if isinstance(doc, dict):
        must_be_input_error_or_valid(doc)


@FAST
@given(data=mutated_baselines())
def test_mutated_baseline_is_valid_or_an_input_error(data: dict) -> None:
    must_be_input_error_or_valid(data)


@FAST
@given(data=mutated_baselines())
def test_mutated_baseline_file_exits_0_or_2(tmp_path: Path, capsys, data: dict) -> None:
    path = tmp_path / "mutated.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    validate_file(path, capsys)


@FAST
@given(changes=st.dictionaries(st.sampled_from(sorted(baseline_dict())), values, max_size=3))
def test_extends_with_random_changes(tmp_path: Path, capsys, changes: dict) -> None:
    """A child file of the baseline with random top-level changes."""
    path = tmp_path / "child.yaml"
    path.write_text(yaml.safe_dump({"extends": str(BASELINE), **changes}), encoding="utf-8")
    with contextlib.suppress(InputError):
        load_scenario(path)
    validate_file(path, capsys)


@pytest.mark.slow
@SLOW
@given(data=mutated_baselines())
def test_many_mutated_baselines(data: dict) -> None:
    must_be_input_error_or_valid(data)


@pytest.mark.slow
@SLOW
@given(doc=values)
def test_much_yaml_data(tmp_path: Path, capsys, doc: Any) -> None:
    validate_yaml_of(doc, tmp_path, capsys)


@pytest.mark.parametrize(
    "text",
    [
        "start: 2021-13-01\n",  # a date YAML recognises but the calendar has not
        "horizon_years: !!int five\n",
        "warmup_years: !!float lots\n",
        "name: 0x_\n",
        "a: " + "9" * 5000 + "\n",  # beyond Python's digit limit
        "a: " + "[" * 3000 + "]" * 3000 + "\n",  # nested too deeply
        "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b, *b]\n",
        "? [1, 2]\n: value\n",  # a key that cannot be a key
        "name: a\nname: b\n",
        "\x00\x01",
        "%YAML 9.9\n--- {}\n",
        "--- {}\n--- {}\n",  # two documents
    ],
)
def test_awkward_yaml(tmp_path: Path, capsys, text: str) -> None:
    path = tmp_path / "awkward.yaml"
    path.write_text(text, encoding="utf-8")
    validate_file(path, capsys)


def test_alias_bomb_is_refused_quickly(tmp_path: Path, capsys) -> None:
    """YAML aliases can describe a billion-element value in a few lines; showing it in the
    message must not expand it."""
    import time

    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    began = time.perf_counter()
    validate_file(path, capsys)
    assert time.perf_counter() - began < 5


# ------------------------------------------------------------------ sweep files

SWEEP = {"name": "fuzz", "base": str(BASELINE), "reps": 1, "seed": 1,
         "metrics": ["iopc.open.end"],
         "design": {"kind": "grid", "parameters": {"cps.charge_share": [0.1, 0.2]}}}
SWEEP_PATHS = paths(SWEEP)


@st.composite
def mutated_sweeps(draw) -> dict:
    data = copy.deepcopy(SWEEP)
    path = draw(st.sampled_from(SWEEP_PATHS))
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    if draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(values)
    return data


@FAST
@given(data=mutated_sweeps())
def test_mutated_sweep_is_valid_or_an_input_error(tmp_path: Path, data: dict) -> None:
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    try:
        sweep = load_sweep(path)
    except InputError as exc:
        assert exc.render()
        return
    assert sweep.points and all(math.isfinite(sweep.spec.reps) for _ in [0])
