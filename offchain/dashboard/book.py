"""The order book as the dashboard shows it, rebuilt from the EnergyOrderBook's events alone (pure functions).

Folding the events gives every order's remaining and visible Wh exactly as the contract holds them: a plain order
shows all it has left; an iceberg shows its current tranche (``TrancheRefreshed``), never its hidden part. Depth
per price level is the sum of the visible Wh of the open orders there, which is what ``depth(period, side, k)``
returns on chain (tests/offchain/dashboard compares the two).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from offchain import units
from offchain.workers import ChainEvent

#: The book's events the dashboard reads ("Contract.Event").
BOOK_EVENTS = tuple(f"EnergyOrderBook.{name}" for name in (
    "OrderPlaced", "Trade", "TrancheRefreshed", "OrderCancelled", "OrderExpired", "GridFilled", "Deposited",
    "Withdrawn", "EnergyDeposited", "EnergyWithdrawn"))
#: Trades on the tape, newest first.
TAPE_LENGTH = 50
#: Delivery periods shown (those with the latest activity).
PERIODS_SHOWN = 6


@dataclass
class BookOrder:
    """One order as its events left it (Wh; price in UPOS base units per kWh)."""

    order_id: int
    owner: str
    period: int
    is_buy: bool
    price: int
    quantity_wh: int
    peak_wh: int  #: iceberg display size, 0 for a plain order
    remaining_wh: int
    visible_wh: int
    status: str = "open"  #: open, filled, cancelled, expired or grid-filled

    @property
    def tranche_wh(self) -> int:
        """What the order shows when it rests: its peak for an iceberg, all it has left otherwise."""
        return min(self.peak_wh or self.remaining_wh, self.remaining_wh)


def fold_orders(events: Iterable[ChainEvent]) -> dict[int, BookOrder]:
    """{order id: order} after `events` (the book's events in chain order)."""
    orders: dict[int, BookOrder] = {}
    for event in events:
        a = event.args
        if event.name == "OrderPlaced":
            order = BookOrder(a["orderId"], a["owner"], a["period"], a["isBuy"], a["price"], a["quantityWh"],
                              a["displayWh"], a["quantityWh"], 0)
            order.visible_wh = order.tranche_wh
            orders[order.order_id] = order
        elif event.name == "Trade":
            maker, taker = orders[a["makerOrderId"]], orders[a["takerOrderId"]]
            maker.remaining_wh -= a["quantityWh"]
            maker.visible_wh -= a["quantityWh"]
            if maker.remaining_wh == 0:
                maker.status = "filled"
            # The taker trades inside its own placement and rests afterwards with a fresh tranche.
            taker.remaining_wh -= a["quantityWh"]
            taker.visible_wh = taker.tranche_wh
            if taker.remaining_wh == 0:
                taker.status = "filled"
        elif event.name == "TrancheRefreshed":
            order = orders[a["orderId"]]
            order.visible_wh, order.remaining_wh = a["visibleWh"], a["remainingWh"]
        elif event.name in ("OrderCancelled", "OrderExpired", "GridFilled"):
            order = orders[a["orderId"]]
            order.status = {"OrderCancelled": "cancelled", "OrderExpired": "expired"}.get(event.name, "grid-filled")
            order.remaining_wh = order.visible_wh = 0
    return orders


def depth(orders: Iterable[BookOrder], period: int, is_buy: bool) -> list[tuple[int, int]]:
    """[(price, visible Wh)] of one side of `period`'s book, best price first (bids high to low, asks low to
    high): the open orders' visible Wh summed per price."""
    levels: dict[int, int] = defaultdict(int)
    for order in orders:
        if order.status == "open" and order.period == period and order.is_buy == is_buy and order.visible_wh:
            levels[order.price] += order.visible_wh
    return sorted(levels.items(), reverse=is_buy)


def _level(price: int, wh: int) -> dict[str, Any]:
    return {"price": units.base_to_upos(price), "price_base": str(price), "kwh": units.wh_to_kwh(wh), "wh": wh}


def trade_row(event: ChainEvent, names: Mapping[str, str]) -> dict[str, Any]:
    """One trade on the tape: period, price, quantity, payment, parties (names where known), block, transaction."""
    a = event.args
    return {"period": a["period"], "price": units.base_to_upos(a["price"]), "price_base": str(a["price"]),
            "kwh": units.wh_to_kwh(a["quantityWh"]), "wh": a["quantityWh"],
            "upos": units.base_to_upos(units.payment_base(a["quantityWh"], a["price"])),
            "buyer": a["buyer"], "seller": a["seller"], "buyer_name": names.get(a["buyer"]),
            "seller_name": names.get(a["seller"]), "maker": a["makerOrderId"], "taker": a["takerOrderId"],
            "block": event.block, "tx": event.tx_hash}


def book_view(events: Sequence[ChainEvent], names: Mapping[str, str], current_period: int | None) -> dict[str, Any]:
    """The order-book part of the dashboard's snapshot: depth per delivery period (the periods with the latest
    activity, at most PERIODS_SHOWN), the tape, the open orders (icebergs with their visible part only)."""
    orders = fold_orders(events)
    trades = [e for e in events if e.name == "Trade"]
    latest: dict[int, int] = {}
    for event in events:
        period = event.args.get("period")
        if period is None and "orderId" in event.args and event.args["orderId"] in orders:
            period = orders[event.args["orderId"]].period
        if period is not None and event.name != "EnergyDeposited" and event.name != "EnergyWithdrawn":
            latest[period] = event.block
    periods = sorted(sorted(latest, key=lambda p: (latest[p], p))[-PERIODS_SHOWN:])
    return {
        "current_period": current_period,
        "periods": [{
            "period": period,
            "bids": [_level(p, wh) for p, wh in depth(orders.values(), period, True)],
            "asks": [_level(p, wh) for p, wh in depth(orders.values(), period, False)],
            "orders": [{"id": o.order_id, "owner": o.owner, "owner_name": names.get(o.owner),
                        "side": "buy" if o.is_buy else "sell", "price": units.base_to_upos(o.price),
                        "visible_kwh": units.wh_to_kwh(o.visible_wh), "iceberg": o.peak_wh > 0}
                       for o in orders.values() if o.period == period and o.status == "open"],
        } for period in periods],
        "tape": [trade_row(e, names) for e in reversed(trades[-TAPE_LENGTH:])],
        "orders": len(orders),
        "trades": len(trades),
    }


def locked_in_book(orders: Iterable[BookOrder]) -> tuple[dict[str, int], dict[tuple[str, int], int]]:
    """({account: UPOS base units locked by its open buys}, {(account, period): Wh locked by its open sells})."""
    upos: dict[str, int] = defaultdict(int)
    energy: dict[tuple[str, int], int] = defaultdict(int)
    for order in orders:
        if order.status != "open":
            continue
        if order.is_buy:
            upos[order.owner] += units.payment_base(order.remaining_wh, order.price)
        else:
            energy[order.owner, order.period] += order.remaining_wh
    return dict(upos), dict(energy)
