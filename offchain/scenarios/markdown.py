"""The one Markdown table writer every report and benchmark uses.

Cells: text has ``|`` escaped and line breaks folded (a cell never breaks the table); floats are printed
with `digits` decimals (thousands separated with `thousands`), NaN as "–"; everything else with ``str``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

MISSING = "–"  #: how NaN (a figure that does not exist) is shown


def cell(value: Any, digits: int = 2, thousands: bool = False) -> str:
    """One table cell as text (see the module docstring)."""
    if isinstance(value, (float, np.floating)):
        number = float(value)
        if math.isnan(number):
            return MISSING
        return f"{number:,.{digits}f}" if thousands else f"{number:.{digits}f}"
    return str(value).replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def table(header: Sequence[Any], rows: Iterable[Sequence[Any]], *, digits: int = 2, thousands: bool = False) -> str:
    """A GitHub Markdown table of `rows` under `header` (no trailing newline)."""
    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v, digits, thousands) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def frame_table(frame: pd.DataFrame, *, digits: int = 2, thousands: bool = False) -> str:
    """`frame` (columns as header, index dropped) as a Markdown table; pandas' own ``to_markdown`` needs
    tabulate, which is not a dependency."""
    return table(list(frame.columns), frame.itertuples(index=False), digits=digits, thousands=thousands)
