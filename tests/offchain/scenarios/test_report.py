"""The three-list report: only reproduced results count, and a numeric result is judged by its tolerance."""

from __future__ import annotations

import math

from offchain.scenarios.report import (
    CalibratedInput,
    OpenChoice,
    ReproducedResult,
    result_frame,
    summary_line,
    three_lists,
)


def test_a_numeric_result_is_met_only_within_its_tolerance():
    inside = ReproducedResult.within("gap", 19.9, 23.4, 5, " pp")
    assert inside.met and inside.difference == "+3.5 pp" and inside.tolerance == "±5 pp"
    outside = ReproducedResult.within("gap", 19.9, 81.9, 5, " pp")
    assert not outside.met and outside.difference == "+62.0 pp"
    assert not ReproducedResult.within("gap", 19.9, math.nan, 5).met  # no figure is no result
    percent = ReproducedResult.within("gap", 19.9, 23.4, 5, " %", difference_unit=" pp")
    assert (percent.paper, percent.difference, percent.tolerance) == ("19.9 %", "+3.5 pp", "±5 pp")


def test_only_reproduced_results_are_counted_and_each_list_has_its_section():
    calibrated = [CalibratedInput("Table I benefit, L2", "8.35", "8.35", "initial stock chosen")]
    results = [ReproducedResult.within("a", 1.0, 1.5, 1), ReproducedResult.within("b", 1.0, 3.0, 1)]
    choices = [OpenChoice("arrival order", "index order", "+378 %", "random per period", "+82 %")]
    assert summary_line(results).startswith("**1 of 2 reproduced results met**")
    text = three_lists(calibrated, results, choices)
    sections = text.split("## ")
    assert [s.splitlines()[0] for s in sections[1:]] == [
        "Reproduced results", "Inputs calibrated to the paper", "Choices where the paper is open"]
    assert "NOT met" in sections[1] and "| met |" not in sections[2]  # a calibrated input is never "met"
    assert "initial stock chosen" in sections[2] and "+378 %" in sections[3]
    assert "(none)" in three_lists([], results, [])
    assert list(result_frame(choices).columns) == ["question", "literal", "literal_result", "ours", "our_result"]
