"""The documentation cites the figures register truthfully.

Every figure id cited in `docs/*.md` (S-29, T02-10, R-01, ...) is a row of
`data/figures.csv`. A citation that gives values is written `ID: values` (for example
`(S-29: 7,216; 15,773)`): every number from the colon to the end of the citation (the
bracket that closes it, the next id, a table cell's edge or the end of the sentence) must
be one of the numbers in that figure's `value` column, to the decimal places it is written
with (`£63.8m` matches 63.78m; `28.4m` matches 28430412). `docs/SYSTEM.md`, which describes
the system in published figures, writes no number that is not in the register.
"""

from __future__ import annotations

import csv
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from tests.conftest import ROOT

DOCS = sorted((ROOT / "docs").glob("*.md"))
FIGURES = ROOT / "data" / "figures.csv"

FIGURE_ID = re.compile(r"\b(?:S|R|T\d{2})-\d{2}\b")
#: a number as a document or the register writes it: thousands commas, decimals, a sign that
#: is not a range's dash (21-28), and "m" for millions
NUMBER = re.compile(r"(?<![\w.,])([-−]?)(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(m(?![a-z]))?")


def numbers(text: str) -> list[Decimal]:
    """Every number in `text`, figure ids left out, millions written out."""
    out = []
    for sign, whole, decimals, million in NUMBER.findall(FIGURE_ID.sub(" ", text)):
        value = Decimal(sign.replace("−", "-") + whole.replace(",", "") + decimals)
        out.append(value.scaleb(6) if million else value)
    return out


def matches(written: Decimal, register: list[Decimal]) -> bool:
    """Whether a written number is one of the register's, rounded as it is written."""
    quantum = Decimal(1).scaleb(written.as_tuple().exponent)
    return any(r.quantize(quantum, rounding=ROUND_HALF_UP) == written for r in register)


def register() -> dict[str, dict[str, str]]:
    with FIGURES.open(encoding="utf-8", newline="") as f:
        return {row["id"]: row for row in csv.DictReader(f)}


def paragraphs(path: Path) -> list[str]:
    """Paragraphs (and table rows) with their line breaks joined, code blocks left out."""
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    out = []
    for block in re.split(r"\n\s*\n", text):
        lines = block.splitlines()
        if lines and all(line.lstrip().startswith("|") for line in lines):
            out += lines  # a table: each row on its own
        else:
            out.append(" ".join(line.strip() for line in lines))
    return out


def citations(paragraph: str) -> list[tuple[str, str]]:
    """(id, values written beside it) for each `ID: values` in a paragraph."""
    out = []
    for m in re.finditer(FIGURE_ID.pattern + r":", paragraph):
        depth, end = 0, len(paragraph)
        for i in range(m.end(), len(paragraph)):
            c = paragraph[i]
            if c in "([":
                depth += 1
            elif c in ")]":
                depth -= 1
            if (depth < 0 or c == "|" or FIGURE_ID.match(paragraph, i)
                    or (c == "." and paragraph[i + 1:i + 2] in ("", " "))):
                end = i
                break
        out.append((m.group()[:-1], paragraph[m.end():end]))
    return out


def test_the_citation_reader_reads_values_as_written() -> None:
    """The reader itself: ranges, millions, nested brackets, the end of a citation."""
    assert numbers("21-28 days") == [21, 28]
    assert numbers("−23% and -5% cash") == [-23, -5]
    assert numbers("£63.8m; 28,430,412; T02-19") == [Decimal("63.8E6"), 28430412]
    assert matches(numbers("£28.4m")[0], numbers("28430412"))
    assert not matches(numbers("£28.5m")[0], numbers("28430412"))
    assert matches(Decimal("63.8E6"), numbers("63.78m (2020-21)"))
    assert not matches(Decimal(30000), numbers("29869"))
    cited = citations("a (T01-12: 78,725 (30,521 formal) cases) b S-29: 7,216. Then 9")
    assert cited == [("T01-12", " 78,725 (30,521 formal) cases"), ("S-29", " 7,216")]
    assert citations("| S-01 | S-01: 6,474; 7,999 | 2019/20 |") == [("S-01", " 6,474; 7,999 ")]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_cited_figure_id_is_in_the_register(doc: Path) -> None:
    known = register()
    cited = set(FIGURE_ID.findall(doc.read_text(encoding="utf-8")))
    assert cited - set(known) == set(), f"{doc.name} cites ids not in data/figures.csv"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_numbers_beside_an_id_are_that_figures_values(doc: Path) -> None:
    known = register()
    wrong = []
    for paragraph in paragraphs(doc):
        for fid, text in citations(paragraph):
            if fid not in known:
                continue  # reported by the test above
            values = numbers(known[fid]["value"])
            wrong += [f"{fid}: {n:f} (register: {known[fid]['value']!r})"
                      for n in numbers(text) if not matches(n, values)]
    assert wrong == [], f"{doc.name}: numbers beside an id that are not its values: {wrong}"


def test_the_system_page_cites_its_figures_with_values() -> None:
    """SYSTEM.md gives the published figures, not just ids: most citations carry values."""
    cited = [c for p in paragraphs(ROOT / "docs" / "SYSTEM.md") for c in citations(p)]
    assert len({fid for fid, text in cited if numbers(text)}) >= 40


def test_the_system_page_writes_no_number_the_register_lacks() -> None:
    """Every number in SYSTEM.md (years and counts alike) is somewhere in the register."""
    anywhere = [n for row in register().values() for cell in row.values()
                for n in numbers(cell or "")]
    text = re.sub(r"`[^`]*`", "", (ROOT / "docs" / "SYSTEM.md").read_text(encoding="utf-8"))
    missing = sorted({f"{n:f}" for n in numbers(text) if not matches(n, anywhere)})
    assert missing == [], "numbers in docs/SYSTEM.md that data/figures.csv does not hold"
