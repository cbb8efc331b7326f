"""The three lists every reproduction report keeps apart (docs/adding-a-mechanism.md §5).

- `CalibratedInput`: something fitted or chosen so that it equals a paper's figure. It says nothing about
  whether the mechanism reproduces the paper, so it is never counted as met.
- `ReproducedResult`: a figure the mechanism produces on its own, beside the paper's, with the difference
  and a tolerance fixed before the result was looked at; met or not. Only these are counted.
- `OpenChoice`: a place where the paper is open or wrong; the result under the paper's literal reading
  beside the result under ours, so a reader sees what each choice moved.

`three_lists` renders the three as Markdown sections under one summary line (`summary_line`), and
`result_frame` turns any list into a frame for a CSV file. Tables go through `markdown.frame_table`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import pandas as pd

from offchain.scenarios.markdown import cell, frame_table


@dataclass(frozen=True)
class CalibratedInput:
    """An input fitted or chosen to equal the paper's `paper` figure (`ours`: what the fit reached; `how`:
    what was fitted, e.g. "activity knob bisected per agent")."""

    name: str
    paper: str
    ours: str
    how: str


@dataclass(frozen=True)
class ReproducedResult:
    """A result with the paper's value, ours, their difference (ours - paper, text for a non-numeric
    result), the tolerance fixed before looking, and whether it is met. Build numeric ones with `within`."""

    name: str
    paper: str
    ours: str
    difference: str
    tolerance: str
    met: bool

    @classmethod
    def within(cls, name: str, paper: float, ours: float, tolerance: float, unit: str = "", digits: int = 1,
               difference_unit: str | None = None) -> ReproducedResult:
        """`ours` against `paper` (in `unit`, e.g. " %"), met when |ours - paper| <= `tolerance` (in
        `difference_unit`, default `unit`; e.g. " pp" for a difference of percentages); a NaN `ours` (no
        figure) is not met."""
        difference = ours - paper
        met = not math.isnan(difference) and abs(difference) <= tolerance
        gap_unit = unit if difference_unit is None else difference_unit
        return cls(name, f"{cell(float(paper), digits)}{unit}", f"{cell(float(ours), digits)}{unit}",
                   f"{difference:+.{digits}f}{gap_unit}" if not math.isnan(difference) else cell(math.nan),
                   f"±{tolerance:g}{gap_unit}", met)


@dataclass(frozen=True)
class OpenChoice:
    """Where the paper is open (`question`): its literal reading and the result under it, beside our reading
    and the result under ours (the same measure, so they compare)."""

    question: str
    literal: str
    literal_result: str
    ours: str
    our_result: str


def result_frame(items: Sequence[CalibratedInput | ReproducedResult | OpenChoice]) -> pd.DataFrame:
    """One row per item, one column per field (empty frame for an empty list)."""
    return pd.DataFrame([asdict(item) for item in items])


def summary_line(results: Sequence[ReproducedResult]) -> str:
    """"k of n reproduced results met" (calibrated inputs and open choices are not counted)."""
    met = sum(r.met for r in results)
    return f"**{met} of {len(results)} reproduced results met** (calibrated inputs and open choices are not counted)."


def three_lists(calibrated: Sequence[CalibratedInput], results: Sequence[ReproducedResult],
                choices: Sequence[OpenChoice], *, level: int = 2) -> str:
    """The summary line and the three lists as Markdown sections (headings of `level`)."""
    hashes = "#" * level
    results_frame = result_frame(results)
    if len(results_frame):
        results_frame["met"] = results_frame["met"].map({True: "met", False: "NOT met"})

    def section(title: str, note: str, frame: pd.DataFrame) -> str:
        return f"{hashes} {title}\n\n{note}\n\n" + (frame_table(frame) if len(frame) else "(none)")

    return "\n\n".join([
        summary_line(results),
        section("Reproduced results", "The paper's value, ours, the difference (ours - paper) and the tolerance "
                "fixed before the result was looked at.", results_frame),
        section("Inputs calibrated to the paper", "Fitted or chosen to equal a paper's figure: they show the "
                "set-up is the paper's, not that the mechanism reproduces it, and are never counted as met.",
                result_frame(calibrated)),
        section("Choices where the paper is open", "The result under the paper's literal reading beside the "
                "result under ours.", result_frame(choices)),
    ])
