"""Golden outputs: a small run, comparison and sweep point reproduce the shipped files byte
for byte. A refactor must leave them untouched; a change of results that is intended
regenerates them with `python -m tests.golden.regenerate` and says so in its commit."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.golden.regenerate import GOLDEN, HERE, produce


@pytest.mark.parametrize("name", list(GOLDEN))
def test_outputs_match_the_golden_files(name: str, tmp_path: Path) -> None:
    produced = produce(name, tmp_path)
    for file, data in produced.items():
        expected = (HERE / name / file).read_bytes()
        assert data == expected, (
            f"{name}/{file} differs from tests/golden/{name}/{file}; if the change of"
            " results is intended, run `python -m tests.golden.regenerate` and say so")
