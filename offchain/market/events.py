"""The events of the on-chain order book, one frozen dataclass per Solidity event.

Class names equal the Solidity event names; fields are the event's arguments in the same order, in
snake_case (`makerOrderId` -> `maker_order_id`). Energy in Wh, money and prices in UPOS base units
(prices per kWh). The book and every internal balance can be rebuilt from these events alone.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from offchain.market.errors import Address


def snake_case(name: str) -> str:
    """`makerOrderId` -> `maker_order_id`: maps a Solidity argument name to the model's field name."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@dataclass(frozen=True)
class BookEvent:
    """Base of every event: `name` is the Solidity event name, `args()` the arguments by field name."""

    @property
    def name(self) -> str:
        return type(self).__name__

    def args(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


@dataclass(frozen=True)
class Deposited(BookEvent):
    account: Address
    amount: int


@dataclass(frozen=True)
class Withdrawn(BookEvent):
    account: Address
    amount: int


@dataclass(frozen=True)
class EnergyDeposited(BookEvent):
    account: Address
    period: int
    wh: int


@dataclass(frozen=True)
class EnergyWithdrawn(BookEvent):
    account: Address
    period: int
    wh: int


@dataclass(frozen=True)
class OrderPlaced(BookEvent):
    order_id: int
    owner: Address
    period: int
    is_buy: bool
    price: int
    quantity_wh: int
    display_wh: int


@dataclass(frozen=True)
class TrancheRefreshed(BookEvent):
    """A resting iceberg showed its next tranche at the back of its level (new time priority)."""

    order_id: int
    visible_wh: int
    remaining_wh: int


@dataclass(frozen=True)
class Trade(BookEvent):
    """`quantity_wh` traded at the resting (maker) order's `price`."""

    period: int
    maker_order_id: int
    taker_order_id: int
    buyer: Address
    seller: Address
    price: int
    quantity_wh: int


@dataclass(frozen=True)
class OrderCancelled(BookEvent):
    """`refunded_wh` is the order's remaining quantity whose lock was released to `owner`."""

    order_id: int
    owner: Address
    refunded_wh: int


@dataclass(frozen=True)
class OrderExpired(BookEvent):
    order_id: int
    owner: Address
    refunded_wh: int


@dataclass(frozen=True)
class GridFilled(BookEvent):
    """`operator` took the remaining `quantity_wh` of `owner`'s order at the grid tariff `price`."""

    order_id: int
    owner: Address
    operator: Address
    is_buy: bool
    price: int
    quantity_wh: int


@dataclass(frozen=True)
class OrderSkipped(BookEvent):
    """A batch (expiry, grid fill) passed over an order that was no longer open; `status` says why."""

    order_id: int
    status: int


@dataclass(frozen=True)
class GridTariffsSet(BookEvent):
    """Tariffs of every period from `from_period` (the first whose gate had not opened) on."""

    import_price: int
    export_price: int
    from_period: int


@dataclass(frozen=True)
class OrderMinimumsSet(BookEvent):
    min_order_wh: int
    min_display_wh: int


@dataclass(frozen=True)
class CarryLimitSet(BookEvent):
    """The owner allowed `order_id` to be carried into later periods up to `last_period`."""

    order_id: int
    last_period: int


@dataclass(frozen=True)
class OrderCarried(BookEvent):
    """The operator moved `order_id`'s remaining `remaining_wh` from `from_period` into `to_period`."""

    order_id: int
    from_period: int
    to_period: int
    remaining_wh: int


@dataclass(frozen=True)
class CarrySkipped(BookEvent):
    """A carry batch passed over sell `order_id`: its owner had `available_wh` free Wh of the next period."""

    order_id: int
    available_wh: int
    needed_wh: int


@dataclass(frozen=True)
class OrderGateSet(BookEvent):
    """Orders placed from now on are put to `gate` (seed 003's battery windows)."""

    gate: Address


@dataclass(frozen=True)
class PremiumSourceSet(BookEvent):
    """Buy orders placed from now on pay `source`'s premium (seed 002)."""

    source: Address


@dataclass(frozen=True)
class PremiumFixed(BookEvent):
    """Buy `order_id` pays `multiplier_bps` (> 10000) on its trades, fixed at placement."""

    order_id: int
    multiplier_bps: int


@dataclass(frozen=True)
class PremiumPaid(BookEvent):
    """`amount` UPOS base units of premium on trades of `period` were credited to `recipient`."""

    recipient: Address
    period: int
    amount: int
