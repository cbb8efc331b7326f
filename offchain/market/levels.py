"""One side (bids or asks) of one delivery period's book: price levels, each a FIFO queue of orders.

Prices are kept in a sorted list, so the best price is found in O(log L) for L levels (O(1) in
practice: it is the first or last element). A level's queue is an insertion-ordered dict of order
ids: appending at the back, reading the front, removing any order and moving an order to the back
are all O(1). Each level also keeps the sum of its orders' visible Wh, which is what depth views show.
"""

from __future__ import annotations

from itertools import islice
from typing import Iterator

from sortedcontainers import SortedList


class BookSide:
    """Bids (`is_buy=True`, best = highest price) or asks (best = lowest price) of one period."""

    def __init__(self, is_buy: bool) -> None:
        self.is_buy = is_buy
        self._prices: SortedList = SortedList()
        self._queues: dict[int, dict[int, None]] = {}
        self._visible_wh: dict[int, int] = {}

    def __bool__(self) -> bool:
        return bool(self._prices)

    def best_price(self) -> int | None:
        """The best price with at least one resting order, or None if the side is empty."""
        if not self._prices:
            return None
        return self._prices[-1] if self.is_buy else self._prices[0]

    def crosses(self, price: int, limit: int) -> bool:
        """Whether a resting `price` on this side trades with an incoming opposite order at `limit`."""
        return price >= limit if self.is_buy else price <= limit

    def front(self, price: int) -> int:
        """The id of the order with time priority at `price` (the level must exist)."""
        return next(iter(self._queues[price]))

    def append(self, price: int, order_id: int, visible_wh: int) -> None:
        """Rests `order_id` at the back of the `price` level, showing `visible_wh`."""
        queue = self._queues.get(price)
        if queue is None:
            queue = self._queues[price] = {}
            self._visible_wh[price] = 0
            self._prices.add(price)
        queue[order_id] = None
        self._visible_wh[price] += visible_wh

    def reduce_visible(self, price: int, wh: int) -> None:
        """Lowers the level's visible sum after `wh` of one of its orders traded."""
        self._visible_wh[price] -= wh

    def remove(self, price: int, order_id: int, visible_wh: int) -> None:
        """Takes `order_id` (still showing `visible_wh`) out of its level; drops the level if empty."""
        queue = self._queues[price]
        del queue[order_id]
        self._visible_wh[price] -= visible_wh
        if not queue:
            del self._queues[price]
            del self._visible_wh[price]
            self._prices.remove(price)

    def level(self, price: int) -> tuple[int, ...]:
        """The order ids resting at `price`, front (time priority) first; empty if no such level."""
        return tuple(self._queues.get(price, ()))

    def levels(self, k: int | None = None) -> list[tuple[int, int]]:
        """The best `k` levels (all if None) as (price, visible Wh), best first."""
        prices: Iterator[int] = reversed(self._prices) if self.is_buy else iter(self._prices)
        return [(price, self._visible_wh[price]) for price in islice(prices, k)]
