"""Proof scores computed from per-period data (pure functions, no chain I/O).

The foundation's score is the simplest defensible one: a prosumer's score for a period is the surplus it
was attested for, in kWh. Issue 5 adds the PoEG score (seed 001 ch.3) beside it.
"""

from __future__ import annotations

import pandas as pd


def surplus_scores(frame: pd.DataFrame) -> dict[str, float]:
    """Proof score per prosumer for one period: its attested surplus in kWh (score points, 1 point = 1 kWh).

    ``frame``: one row per attestation with columns ``prosumer`` (address string) and ``surplus_kwh``
    (float, >= 0); a prosumer appearing on several rows gets their sum. Returns ``{prosumer: score}`` with
    keys in ascending prosumer order; prosumers whose total is zero are left out (a zero score carries no
    information and the chain would mint nothing). Raises ValueError on a missing column or negative energy.
    """
    missing = {"prosumer", "surplus_kwh"} - set(frame.columns)
    if missing:
        raise ValueError(f"surplus frame lacks column(s) {sorted(missing)}")
    if (frame["surplus_kwh"] < 0).any():
        raise ValueError("attested surplus must not be negative")
    totals = frame.groupby("prosumer", sort=True)["surplus_kwh"].sum()
    return {str(prosumer): float(kwh) for prosumer, kwh in totals.items() if kwh > 0}
