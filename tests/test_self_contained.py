"""The product carries what it needs: no shipped file points outside the repository (a
user's clone has none of the input folders the project was written beside), and the
figures register the brief and calibration cite is the repository's own data/figures.csv;
the docs name only files and functions that exist and cite sources by title; the
calibration report gives each figure's value and source."""

from __future__ import annotations

import csv
import html
import importlib
import re

import pandas as pd

from sim.outputs.calibration_report import source_title, target_table_html
from tests.conftest import ROOT

#: the folder of inputs beside the checkout (named in pieces, so this file does not point there)
INPUTS = "sha" + "red"
OUTSIDE = re.compile(rf"\.\./{INPUTS}|{INPUTS}/domain|{INPUTS}/DESIGN")
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


#: a source the register names by the file it was read from, which no reader has
STORED_FILE = re.compile(r"\b\d{3}_[0-9a-f]{16}\.txt\b")
#: a path in backticks under one of the repository's own folders
REPO_PATH = re.compile(r"`((?:sim|tests|scenarios|sweeps|briefs|calibration|data|docs|benchmarks)"
                       r"/[\w./-]*)`")
DOTTED_NAME = re.compile(r"`(sim(?:\.\w+)+)`")


def test_docs_cite_sources_by_title_not_by_stored_file() -> None:
    found = [f"{path.name}: {m.group()}" for path in [ROOT / "README.md",
                                                     *(ROOT / "docs").glob("*.md")]
             for m in STORED_FILE.finditer(path.read_text(encoding="utf-8"))]
    assert found == [], "cite a source by its title, date and publisher"


def test_every_path_and_name_the_docs_cite_exists() -> None:
    """A reader can open every file and find every function the documentation names."""
    missing = []
    for doc in (ROOT / "docs").glob("*.md"):
        text = doc.read_text(encoding="utf-8")
        for rel in REPO_PATH.findall(text):
            if "*" not in rel and not (ROOT / rel.rstrip("/")).exists():
                missing.append(f"{doc.name}: {rel}")
        for name in DOTTED_NAME.findall(text):
            parts = name.split(".")
            for cut in range(len(parts), 0, -1):  # the longest importable module, then attributes
                try:
                    obj = importlib.import_module(".".join(parts[:cut]))
                except ImportError:
                    continue
                for attr in parts[cut:]:
                    obj = getattr(obj, attr, None)
                if obj is None:
                    missing.append(f"{doc.name}: {name}")
                break
    assert missing == [], "the documentation names files or functions that do not exist"


def test_the_calibration_report_shows_each_figures_value_and_source() -> None:
    """Beside each target's figure id, the report gives the figure's value, period and
    source from data/figures.csv (shown on the shipped fit's report.csv)."""
    with (ROOT / "data" / "figures.csv").open(encoding="utf-8", newline="") as f:
        register = {row["id"]: row for row in csv.DictReader(f)}
    report = pd.read_csv(ROOT / "calibration" / "report.csv", dtype={"figure_id": str})
    rows = target_table_html(report).split("<tr>")[2:]  # after the header row
    assert len(rows) == len(report)
    for (_, target), row in zip(report.iterrows(), rows, strict=True):
        for fid in target.figure_id.split("+"):
            figure = register[fid]
            for shown in (fid, figure["value"], figure["period"]):
                assert html.escape(shown) in row, f"{target.target_id}: {shown!r} not shown"
            title = source_title(figure["source"])
            assert html.escape(title) in row, f"{target.target_id}: source not shown"
            assert not STORED_FILE.search(row), "the source's title, not its stored file name"
    assert source_title(register["S-01"]["source"]) == (
        "MOPAC MPS Oversight Board, 25 June 2021: Public complaints and conduct")
    unknown = report.head(1).assign(figure_id="S-01+X-99")
    assert "X-99</b> (not in data/figures.csv)" in target_table_html(unknown)
