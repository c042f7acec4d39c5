"""The shipped scenarios say what they are compared with, and what they say of the baseline
is true.

Two conventions a planner relies on when reading `scenarios/*.yaml`:

- Each file's header (its leading comment lines) has a `Compare with:` field naming, in
  backticks, the scenario it is to be compared with (its counterfactual) and why. Comparing
  an option with the wrong base mixes its effect with another's (Recommendation 7 against
  the baseline carries the police uplift's extra demand and seems to make things worse).
- A value whose comment says `# baseline` (or `# baseline (...)`, `# ASSUMPTION (baseline)`)
  claims to be the baseline's value at that field: the option leaves it as it is. A claim
  that is false makes the option appear to change something it does not mean to
  (`early_contact_scaled` once set the DPS share to 0.02 "# baseline" against the
  baseline's 0.005071, and seemed to add 58 open DPS cases).

The comments are invisible to a YAML parser, so a small line-based reader finds them: a
line `key: value  # comment` or `- value  # comment`, placed under its parent keys by
indentation. Inside a lever, `set:` keys are dotted field paths.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from sim.model.fields import get_path
from sim.model.scenario import load_scenario, resolve_extends
from tests.conftest import BASELINE, ROOT

#: the options, and the sensitivities (`scenarios/sensitivity/`) that change an assumption
SCENARIOS = [*sorted((ROOT / "scenarios").glob("*.yaml")),
             *sorted((ROOT / "scenarios" / "sensitivity").glob("*.yaml"))]
PATHS = {path.stem: path for path in SCENARIOS}
NAMES = set(PATHS)
#: scenarios whose point is a different demand: the police uplift and its variants, and the
#: published history from April 2022 (`met_2022_surge`)
DEMAND_VARIANTS = ("police_uplift", "police_uplift_low", "police_uplift_high",
                   "met_2022_surge")

#: a comment that claims the baseline's value: `baseline`, `baseline (ASSUMPTION)`,
#: `baseline: ...`, `ASSUMPTION (baseline): ...` -- not `baseline mean 120 halved`, nor
#: `ASSUMPTION: baseline x 0.8`, which only refer to it.
CLAIM = re.compile(r"^(?:baseline|ASSUMPTION \(baseline\))(?:\s*[(:;]|\s*$)")
LINE = re.compile(r"^(?P<indent> *)(?P<dash>- +)?(?P<body>.*?)\s*(?:#\s*(?P<comment>.*))?$")
KEY = re.compile(r"^(?P<key>[A-Za-z0-9_.]+):(?:\s+(?P<value>.*))?$")


@dataclass(frozen=True)
class Claim:
    """A value the file says is the baseline's."""

    line: int
    field: str  # a dotted path into the baseline (`pools.iopc.staff.0`)
    text: str  # the value as written


def baseline_claims(path: Path) -> list[Claim]:
    """Every `# baseline` claim in a scenario file, with the baseline field it names."""
    claims = []
    parents: list[tuple[int, str]] = []  # (indent, key) of the open mappings and lists
    items: dict[tuple[str, ...], int] = {}  # list items seen under each parent path
    block_indent: int | None = None  # inside a `>-` or `|` text block deeper than this
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        if block_indent is not None and indent > block_indent:
            continue
        block_indent = None
        match = LINE.match(raw)
        assert match, f"{path.name}:{number}: unreadable line"
        body, comment = match["body"], (match["comment"] or "").strip()
        while parents and parents[-1][0] >= indent:
            parents.pop()
        if match["dash"]:
            under = tuple(key for _, key in parents)
            index = items.get(under, 0)
            items[under] = index + 1
            parents.append((indent, str(index)))
            indent += len(match["dash"])  # an item's own keys sit after its dash
            if not KEY.match(body):  # a whole item: `- {from: ..., value: 30}`
                if CLAIM.match(comment):
                    claims.append(Claim(number, field_of(path, number, parents), body))
                continue
        key = KEY.match(body)
        assert key, f"{path.name}:{number}: expected `key: value`, found {body!r}"
        value = key["value"] or ""
        if value in (">", ">-", "|", "|-"):
            block_indent = indent
        elif not value:
            parents.append((indent, key["key"]))
        elif CLAIM.match(comment):
            claims.append(Claim(number, field_of(path, number, [*parents, (indent, key["key"])]),
                                value))
    return claims


def field_of(path: Path, number: int, parents: list[tuple[int, str]]) -> str:
    """The baseline field a line's keys name; a lever's `set:` keys are field paths."""
    keys = [key for _, key in parents]
    if keys[0] == "levers":
        assert len(keys) > 3 and keys[2] == "set", (
            f"{path.name}:{number}: a `# baseline` comment in a lever must be on a value it"
            f" sets, not on {'.'.join(keys)}")
        keys = keys[3:]
    return ".".join(keys)


def plain(value: Any) -> Any:
    """A value as the resolved scenario's `to_dict()` writes it: dates as text, numbers as
    floats, mappings without the unset (None) options."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    return float(value)


def same(written: Any, baseline: Any) -> bool:
    if isinstance(written, dict) and isinstance(baseline, dict):
        return written.keys() == baseline.keys() and all(
            same(written[k], baseline[k]) for k in written)
    if isinstance(written, list) and isinstance(baseline, list):
        return len(written) == len(baseline) and all(map(same, written, baseline))
    if isinstance(written, float) and isinstance(baseline, float):
        return math.isclose(written, baseline, rel_tol=1e-9, abs_tol=1e-12)
    return written == baseline


def header(path: Path) -> str:
    """The file's leading comment lines, without their `#`."""
    lines = []
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("#").strip())
    return " ".join(lines)


@pytest.fixture(scope="module")
def baseline() -> dict[str, Any]:
    """The baseline as its file writes it (defaults a file leaves out are not claimed)."""
    return resolve_extends(BASELINE)


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_baseline_comment_holds_the_baselines_value(path: Path, baseline: dict) -> None:
    wrong = []
    for claim in baseline_claims(path):
        try:
            expected = get_path(baseline, claim.field)
        except KeyError:
            wrong.append(f"{path.name}:{claim.line}: {claim.field} is not a baseline field")
            continue
        written = plain(yaml.safe_load(claim.text))
        if not same(written, plain(expected)):
            wrong.append(f"{path.name}:{claim.line}: {claim.field} is {claim.text} but the"
                         f" baseline's is {expected}")
    assert wrong == [], "values marked `# baseline` that are not the baseline's:\n" + "\n".join(
        wrong)


def test_the_reader_finds_the_claims_it_must_check() -> None:
    """The reader is not vacuous: it finds a claim in a lever, on a list item and on a
    plain value, and places each at its baseline field."""
    found = {(path.stem, claim.field) for path in SCENARIOS for claim in baseline_claims(path)}
    for expected in [("early_contact_scaled", "assessment.complaints.dps"),
                     ("dps_uplift", "pools.dps.staff.0"),
                     ("iopc_flat_cash", "pools.iopc.staff.0"),
                     ("package_rec7_plus", "proceedings.panels.staff.0"),
                     ("rec7_in_line", "pools.iopc.training_lag_days"),
                     ("police_uplift", "demand.elasticity")]:
        assert expected in found, f"the reader missed {expected}; it found {sorted(found)}"
    assert not any(name == "cps_faster" for name, _ in found), (
        "'baseline mean 120 halved' refers to the baseline; it does not claim its value")


def test_the_reader_catches_a_false_claim(tmp_path: Path, baseline: dict) -> None:
    """The early_contact_scaled mistake, written again, is found at its field."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("extends: baseline.yaml\nname: bad\nlevers:\n  - name: x\n"
                   "    from: 2022-04-01\n    set:\n      assessment.complaints:\n"
                   "        dps: 0.02                # baseline\n"
                   "        psu: 0.1                 # ASSUMPTION: baseline less a bit\n")
    claims = baseline_claims(bad)
    assert [(c.field, c.text) for c in claims] == [("assessment.complaints.dps", "0.02")]
    assert get_path(baseline, claims[0].field) != 0.02


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_header_names_a_comparison_that_exists(path: Path) -> None:
    text = header(path)
    before, marker, field = text.partition("Compare with:")
    assert marker, f"{path.name}: the header has no 'Compare with:' naming its counterfactual"
    assert len(before.split()) >= 5, f"{path.name}: the header must first say what it is"
    first = re.match(r"\s*`([^`]+)`", field)
    assert first, f"{path.name}: 'Compare with:' must begin with a scenario name in backticks"
    named = re.findall(r"`([^`]+)`", field)
    missing = [name for name in named if name not in NAMES]
    assert missing == [], f"{path.name}: 'Compare with:' names scenarios that do not exist:" \
                          f" {missing} (shipped: {sorted(NAMES)})"
    assert first[1] != path.stem, f"{path.name}: a scenario is not its own counterfactual"
    assert len(field.split()) >= 8, f"{path.name}: 'Compare with:' must say why"


@pytest.mark.parametrize("path", [p for p in SCENARIOS if p.stem != "baseline"],
                         ids=lambda p: p.stem)
def test_the_counterfactual_shares_the_options_demand(path: Path) -> None:
    """Like with like: an option and the scenario it is compared with see the same officer
    numbers and demand, unless the option is a variant of the demand itself."""
    option = load_scenario(path)
    base_name = re.match(r"\s*`([^`]+)`", header(path).partition("Compare with:")[2])
    assert base_name
    base = load_scenario(PATHS[base_name[1]])
    if path.stem in DEMAND_VARIANTS:
        return  # changes of demand: that is their point
    assert option.to_dict()["demand"] == base.to_dict()["demand"], (
        f"{path.name} is compared with {base_name[1]}, whose demand differs: the difference"
        " would mix the option's effect with the change in demand")
