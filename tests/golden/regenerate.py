"""Regenerate the golden outputs that tests/test_golden.py checks byte for byte.

Run `python -m tests.golden.regenerate` from the repository root only when a change of
results is intended, and say so in the commit that changes these files.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from sim.cli import main

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SCENARIOS = ROOT / "scenarios"

# name: (command line with {out} for the output folder, the files kept from it); runs and
# comparisons hold the fitted parameters fixed: the golden files predate drawing them by
# default, and must not change when the calibration's posterior is refreshed
GOLDEN: dict[str, tuple[list[str], tuple[str, ...]]] = {
    "run": (["run", str(SCENARIOS / "baseline.yaml"), "--reps", "3", "--seed", "1",
             "--workers", "1", "--fixed-parameters", "--quiet", "--out", "{out}"],
            ("summary.csv", "yearly.csv")),
    "compare": (["compare", str(SCENARIOS / "police_uplift.yaml"),
                 str(SCENARIOS / "rec7_in_line.yaml"), "--reps", "3", "--seed", "1",
                 "--fixed-parameters", "--quiet", "--out", "{out}"], ("comparison.csv",)),
    "sweep": (["sweep", str(HERE / "sweep_point.yaml"), "--executor", "serial", "--quiet",
               "--out", "{out}"], ("summary.csv",)),
}


def produce(name: str, workdir: Path) -> dict[str, bytes]:
    """Run one golden command into a fresh folder under `workdir`; the kept files' bytes."""
    argv, files = GOLDEN[name]
    out = workdir / name
    code = main([a.replace("{out}", str(out)) for a in argv])
    if code != 0:
        raise RuntimeError(f"golden command {name} exited {code}")
    return {f: (out / f).read_bytes() for f in files}


def regenerate() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for name in GOLDEN:
            target = HERE / name
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir()
            for file, data in produce(name, Path(tmp)).items():
                (target / file).write_bytes(data)
                print(f"wrote {target.relative_to(ROOT) / file}", file=sys.stderr)


if __name__ == "__main__":
    regenerate()
