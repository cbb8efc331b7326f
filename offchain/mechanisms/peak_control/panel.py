"""Seed 002's dashboard panel: each trading day's penalty vector (the price multiplier of every hour, from the
previous day's community purchases) with the reference day's PAR, and which days have committed
recommendations. Built from ``PenaltySchedule.PenaltiesPublished`` and ``RecommendationBoard.RecommendationsCommitted``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from offchain.workers import ChainEvent

READS = ("PenaltySchedule.PenaltiesPublished", "RecommendationBoard.RecommendationsCommitted")
DAYS_SHOWN = 14
BPS = 10_000


def build(events: Mapping[str, Sequence[ChainEvent]], views: Any) -> dict[str, Any]:
    """The panel's data: ``days`` (newest last): the day, its 24 multipliers (x, from bps), the number of penalised
    hours, the largest multiplier, the reference PAR, whether recommendations were committed and for how many
    participants, and the block."""
    commitments = {e.args["day"]: e for e in events["RecommendationBoard.RecommendationsCommitted"]}
    days = []
    for event in events["PenaltySchedule.PenaltiesPublished"][-DAYS_SHOWN:]:
        a = event.args
        multipliers = [bps / BPS for bps in a["multipliersBps"]]
        committed = commitments.get(a["day"])
        days.append({"day": a["day"], "multipliers": multipliers, "multipliers_bps": list(a["multipliersBps"]),
                     "penalised_hours": sum(m > 1.0 for m in multipliers), "max_multiplier": max(multipliers),
                     "reference_par": a["referenceParBps"] / BPS, "reference_par_bps": a["referenceParBps"],
                     "recommended_participants": None if committed is None else committed.args["participants"],
                     "block": event.block})
    return {"days": days}
