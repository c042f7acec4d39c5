"""The shared HTML pieces every page (run, calibration, brief) is built from."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sim.engine.run import OWN_PARAMETERS
from sim.outputs.labels import label
from sim.outputs.run_report import (
    html_table,
    opening_sentences,
    ranges_source,
    reported_period,
    shown_text,
    value_range,
)
from sim.studies.parameter_uncertainty import uncertainty_note


def test_html_table_escapes_headers_marks_prose_columns_and_keeps_cell_markup() -> None:
    text = html_table(["metric", "a & b"], [["<i>x</i>", "1 < 2"]], notes={1}, caption="c<d")
    assert text.startswith("<table><caption>c&lt;d</caption>")
    assert "<th>metric</th><th class='note'>a &amp; b</th>" in text, "headers are escaped"
    assert "<td><i>x</i></td><td class='note'>1 < 2</td>" in text, (
        "cells are HTML already: the caller escapes its text")
    assert text.endswith("</tr></table>")
    assert "<caption>" not in html_table(["h"], []), "no caption unless given"


def _summary(**means: float) -> pd.DataFrame:
    """A summary table with the given means and a range of 80% to 120% of each."""
    return pd.DataFrame([{"metric": m, "mean": v, "p05": 0.8 * v, "p50": v, "p95": 1.2 * v}
                         for m, v in means.items()])


MANIFEST = {"scenario_name": "baseline", "reps": 1000, "parameters": OWN_PARAMETERS,
            "scenario": {"start": "2021-04-01", "horizon_years": 5}}


def test_opening_sentences_are_built_from_the_run_s_numbers_in_their_units() -> None:
    summary = _summary(**{"iopc.open_over_12m.end": 151.0, "psu.open_over_12m.end": 300.0,
                          "met.duration_wd.mean": 240.0, "officers.suspended.mean": 95.0,
                          "cost.suspended_gbp_per_year": 6_100_000.0})
    first, second, third = opening_sentences(MANIFEST, summary)
    assert first == ("This run forecasts the baseline scenario over 5 years, April 2021 to"
                     " March 2026, from 1,000 replications."), "the period and replications"
    assert "151 IOPC investigations (90% range 121 to 181)" in second
    assert "300 local (PSU) investigations (90% range 240 to 360)" in second
    assert second.startswith("At the end of March 2026"), "stocks at the end of the horizon"
    assert "240 working days on average to finalise (90% range 192 to 288)" in third
    assert "95.0 officers are suspended (90% range 76.0 to 114)" in third
    assert "£6,100,000 a year (90% range £4,880,000 to £7,320,000)" in third


def test_opening_sentences_leave_out_what_the_run_did_not_measure() -> None:
    sentences = opening_sentences(MANIFEST, _summary(**{"iopc.open_over_12m.end": 10.0}))
    assert len(sentences) == 2 and "local (PSU)" not in sentences[1]
    assert "officers" not in " ".join(sentences)


def test_the_ranges_say_where_they_come_from() -> None:
    plain = ranges_source(OWN_PARAMETERS)
    assert "chance alone" in plain and "scenario's own values" in plain
    assert "parameters fixed at the calibrated values (--fixed-parameters)" in plain
    drawn = ranges_source(uncertainty_note(Path("calibration"), 10))
    assert "what we do not know about the fitted parameters" in drawn
    assert ("parameters drawn from the calibration posterior (calibration/posterior.csv), one"
            " draw per 10 replications") in drawn and "chance alone" not in drawn
    elsewhere = uncertainty_note(Path("/data/cal-2027"), 1)
    assert elsewhere.endswith("(/data/cal-2027/posterior.csv), one draw per replication")


def test_ranges_print_bare_numbers_beside_a_value_that_names_its_unit() -> None:
    assert value_range(label("met.duration_wd.mean"), 120.4, 180.2) == "120 to 180"
    assert value_range(label("iopc.within_12m.share"), 0.82, 0.9) == "82% to 90%"
    assert value_range(label("cost.suspended_gbp_per_year"), 2e6, 3e6) == (
        "£2,000,000 to £3,000,000")
    assert shown_text(label("cost.suspended_gbp_per_year")) == (
        "pay cost of suspended officers (a year)"), "a cost a year says so"
    assert reported_period({"start": "2021-04-01", "horizon_years": 1}) == (
        "April 2021", "March 2022", 1)
