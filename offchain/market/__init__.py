"""Reference model of the on-chain energy order book (contracts/market/EnergyOrderBook.sol).

`EnergyOrderBookModel` mirrors the contract operation by operation: same integer units, order ids,
matching, balances, events (`offchain.market.events`) and errors (`offchain.market.errors`). It is
pure Python with no chain I/O; tests/contracts/market_diff compares it with the contract.
"""

from offchain.market.access import OPERATOR_ROLE, AccessModel
from offchain.market.book import (
    BookConfig,
    Depth,
    EnergyOrderBookModel,
    Order,
    OrderStatus,
    OrderView,
    Outcome,
    PremiumSource,
    Quote,
)
from offchain.market.errors import OrderBookError

__all__ = [
    "OPERATOR_ROLE",
    "AccessModel",
    "BookConfig",
    "Depth",
    "EnergyOrderBookModel",
    "Order",
    "OrderBookError",
    "OrderStatus",
    "OrderView",
    "Outcome",
    "PremiumSource",
    "Quote",
]
