"""Seed 001 ch. 4's dashboard panel: per EV, the energy it sold and bought EV-to-EV and its PoSOC score today,
and every fee-dodger lock (a member that missed its mining-fee deadline: its trading profit is held).

Everything comes from the events: ``V2VSettlement.V2VTraded`` (energy, payments), ``PoSocScores.ScoreSubmitted``
(the latest day's running totals, clipped at 0 for the draw as plan.draw_weights does), ``V2VSettlement.ProfitLocked``
and ``V2VSettlement.FeePaid`` / ``ProfitConfiscated`` (a lock ends when the fee is paid or taken),
``PoSocScores.AggregatorDrawn`` (the midnight draws).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from offchain import units
from offchain.workers import ChainEvent

from .plan import HOURS_PER_DAY, draw_weights

READS = ("V2VSettlement.V2VTraded", "PoSocScores.ScoreSubmitted", "V2VSettlement.ProfitLocked",
         "V2VSettlement.FeePaid", "V2VSettlement.ProfitConfiscated", "PoSocScores.AggregatorDrawn")


def build(events: Mapping[str, Sequence[ChainEvent]], views: Any) -> dict[str, Any]:
    """``evs``: per EV (address order) sold / bought kWh and Wh, UPOS received, today's PoSOC total and draw
    weight; ``day``: the latest scored day; ``locks``: the profits locked and not yet settled; ``draws``: every
    on-chain aggregator draw (day, drawn EV, its weight as a share of the day's total), latest first."""
    sold: dict[str, int] = defaultdict(int)
    bought: dict[str, int] = defaultdict(int)
    earned: dict[str, int] = defaultdict(int)
    for event in events["V2VSettlement.V2VTraded"]:
        a = event.args
        sold[a["seller"]] += a["energyWh"]
        bought[a["buyer"]] += a["energyWh"]
        earned[a["seller"]] += a["payment"]
    scores = events["PoSocScores.ScoreSubmitted"]
    day = max((e.args["hour"] // HOURS_PER_DAY for e in scores), default=None)
    totals: dict[str, int] = {}
    for event in scores:
        if event.args["hour"] // HOURS_PER_DAY == day:
            totals[event.args["ev"]] = event.args["dailyTotal"]
    accounts = sorted(set(sold) | set(bought) | set(totals))
    points = np.array([units.base_to_score(totals.get(a, 0)) for a in accounts])
    weights = draw_weights(points) if accounts else np.array([])
    settled = {(e.args["day"], e.args["member"]) for name in ("V2VSettlement.FeePaid", "V2VSettlement.ProfitConfiscated")
               for e in events[name]}
    locks = [{"day": e.args["day"], "member": e.args["member"], "held": units.base_to_upos(e.args["held"]),
              "fee": units.base_to_upos(e.args["fee"]), "until": e.args["lockedUntil"], "block": e.block}
             for e in events["V2VSettlement.ProfitLocked"] if (e.args["day"], e.args["member"]) not in settled]
    return {
        "day": day,
        "evs": [{"ev": a, "sold_kwh": units.wh_to_kwh(sold[a]), "sold_wh": sold[a],
                 "bought_kwh": units.wh_to_kwh(bought[a]), "bought_wh": bought[a],
                 "earned": units.base_to_upos(earned[a]), "score": float(points[k]), "weight": float(weights[k])}
                for k, a in enumerate(accounts)],
        "locks": locks,
        "draws": [{"day": e.args["day"], "aggregator": e.args["aggregator"],
                   "share": e.args["weight"] / e.args["totalWeight"], "block": e.block}
                  for e in reversed(events["PoSocScores.AggregatorDrawn"])],
    }
