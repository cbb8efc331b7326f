"""Seed 003 AdBEV dashboard panel: per half-hour period of the AdBEV book, the energy traded between EVs and
the orders carried into the next period (passive and aggressive iceberg execution), from the book's events."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from offchain import units
from offchain.workers import ChainEvent

READS = ("AdbevBook.Trade", "AdbevBook.OrderCarried", "AdbevBook.CarrySkipped")
#: Periods shown (the latest).
PERIODS_SHOWN = 48


def build(events: Mapping[str, Sequence[ChainEvent]], views: Any) -> dict[str, Any]:
    """``periods`` (oldest first): traded kWh and Wh, trades, orders carried out of the period and their Wh;
    ``skipped``: carries refused for want of next-period credits."""
    traded: dict[int, int] = defaultdict(int)
    trades: dict[int, int] = defaultdict(int)
    carried: dict[int, int] = defaultdict(int)
    carried_wh: dict[int, int] = defaultdict(int)
    for event in events["AdbevBook.Trade"]:
        traded[event.args["period"]] += event.args["quantityWh"]
        trades[event.args["period"]] += 1
    for event in events["AdbevBook.OrderCarried"]:
        carried[event.args["fromPeriod"]] += 1
        carried_wh[event.args["fromPeriod"]] += event.args["remainingWh"]
    shown = sorted(set(traded) | set(carried))[-PERIODS_SHOWN:]
    periods = [{"period": p, "traded_kwh": units.wh_to_kwh(traded[p]), "traded_wh": traded[p], "trades": trades[p],
                "carried": carried[p], "carried_kwh": units.wh_to_kwh(carried_wh[p]), "carried_wh": carried_wh[p]}
               for p in shown]
    return {"periods": periods, "skipped": len(events["AdbevBook.CarrySkipped"])}
