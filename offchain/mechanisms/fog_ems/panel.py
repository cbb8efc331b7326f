"""Seed 000's dashboard panel: per delivery period, how much energy the prosumer-EV matching moves by the greedy
first-come rule and by the certified optimal (Hungarian) assignment, which of the two the chain accepted, and the
exchange log (every 10-s step of every match, as EVExchange recorded it).

Both totals are recomputed from the period's bids as the chain recorded them (``ProsumerBidPlaced``,
``EVBidPlaced``) with the contract's own rules (offchain.algorithms.matching: ``benefit_matrix``, ``greedy_fifo``
and ``hungarian``); the accepted method and its benefit come from ``PeriodMatched``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from offchain import units
from offchain.algorithms.matching import benefit_matrix, greedy_fifo, hungarian
from offchain.workers import ChainEvent

from .terms import MatchingMethod

READS = ("PeriodMatching.ProsumerBidPlaced", "PeriodMatching.EVBidPlaced", "PeriodMatching.PeriodMatched",
         "EVExchange.EnergyExchanged")
#: Matched periods drawn (the latest) and exchange-log rows listed (the latest).
PERIODS_SHOWN = 24
EXCHANGES_SHOWN = 20


def build(events: Mapping[str, Sequence[ChainEvent]], views: Any) -> dict[str, Any]:
    """The panel's data: ``periods`` (matched periods, oldest first: greedy and optimal kWh, the accepted method,
    its pairs and kWh), ``totals`` over those periods, ``exchanges`` (the latest steps, newest first)."""
    prosumers: dict[int, dict[int, int]] = defaultdict(dict)
    evs: dict[int, dict[int, tuple[int, int]]] = defaultdict(dict)
    for event in events["PeriodMatching.ProsumerBidPlaced"]:
        prosumers[event.args["period"]][event.args["index"]] = event.args["netWh"]
    for event in events["PeriodMatching.EVBidPlaced"]:
        a = event.args
        evs[a["period"]][a["index"]] = (a["availableWh"], a["freeCapacityWh"])
    periods = []
    for event in events["PeriodMatching.PeriodMatched"][-PERIODS_SHOWN:]:
        a = event.args
        period = a["period"]
        net = np.array([prosumers[period][i] for i in sorted(prosumers[period])], dtype=np.int64)
        bids = [evs[period][i] for i in sorted(evs[period])]
        available = np.array([b[0] for b in bids], dtype=np.int64)
        capacity = np.array([b[1] for b in bids], dtype=np.int64)
        benefit = benefit_matrix(net, available, capacity)
        greedy_wh = greedy_fifo(net, available, capacity).benefit_wh(benefit) if len(net) and len(bids) else 0
        optimal_wh = hungarian(benefit).benefit_wh(benefit) if len(net) and len(bids) else 0
        periods.append({"period": period, "method": MatchingMethod(int(a["method"])).name.lower(),
                        "pairs": a["matches"], "chain_kwh": units.wh_to_kwh(a["benefitWh"]), "chain_wh": a["benefitWh"],
                        "greedy_kwh": units.wh_to_kwh(greedy_wh), "greedy_wh": greedy_wh,
                        "optimal_kwh": units.wh_to_kwh(optimal_wh), "optimal_wh": optimal_wh,
                        "prosumers": len(net), "evs": len(bids), "block": event.block})
    exchanges = [{
        "step": e.args["step"], "matching": e.args["matchingId"], "prosumer": e.args["prosumer"], "ev": e.args["ev"],
        "kwh": units.wh_to_kwh(e.args["energyWh"]), "wh": e.args["energyWh"],
        "ev_available_kwh": units.wh_to_kwh(e.args["availableWh"]),
        "price": units.base_to_upos(e.args["priceBasePerKwh"]), "paid": units.base_to_upos(e.args["paymentBase"]),
        "block": e.block,
    } for e in reversed(events["EVExchange.EnergyExchanged"][-EXCHANGES_SHOWN:])]
    return {
        "periods": periods,
        "totals": {key: sum(p[key] for p in periods) for key in ("greedy_kwh", "optimal_kwh", "chain_kwh")},
        "exchanges": exchanges,
        "bids_open": sorted(set(prosumers) - {p["period"] for p in periods} - {
            e.args["period"] for e in events["PeriodMatching.PeriodMatched"]}),
    }
