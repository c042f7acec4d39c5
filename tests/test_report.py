"""The shared HTML pieces every page (run, calibration, brief) is built from."""

from __future__ import annotations

from sim.outputs.run_report import html_table


def test_html_table_escapes_headers_marks_prose_columns_and_keeps_cell_markup() -> None:
    text = html_table(["metric", "a & b"], [["<i>x</i>", "1 < 2"]], notes={1}, caption="c<d")
    assert text.startswith("<table><caption>c&lt;d</caption>")
    assert "<th>metric</th><th class='note'>a &amp; b</th>" in text, "headers are escaped"
    assert "<td><i>x</i></td><td class='note'>1 < 2</td>" in text, (
        "cells are HTML already: the caller escapes its text")
    assert text.endswith("</tr></table>")
    assert "<caption>" not in html_table(["h"], []), "no caption unless given"
