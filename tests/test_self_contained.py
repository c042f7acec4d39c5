"""The product carries what it needs: no shipped file points outside the repository (a
user's clone has no ../shared), and the figures register the brief and calibration cite is
the repository's own data/figures.csv."""

from __future__ import annotations

import re

from tests.conftest import ROOT

OUTSIDE = re.compile(r"\.\./shared|shared/domain|shared/DESIGN")
CHECKED = ("README.md", "docs", "data", "scenarios", "sweeps", "briefs", "calibration", "sim")


def test_no_file_points_outside_the_repository() -> None:
    found = []
    for name in CHECKED:
        top = ROOT / name
        for path in [top] if top.is_file() else top.rglob("*"):
            if path.is_file() and path.suffix in (".md", ".yaml", ".py", ".csv", ".html"):
                for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                    if OUTSIDE.search(line):
                        found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()[:80]}")
    assert found == [], "references outside the repository:\n" + "\n".join(found)


def test_the_brief_cites_the_repositorys_figures_register() -> None:
    from sim.studies.brief import default_brief_path, load_brief_config

    config = load_brief_config(default_brief_path())
    assert config.figures is not None
    assert (default_brief_path().parent / config.figures).resolve() == (
        ROOT / "data" / "figures.csv").resolve()
