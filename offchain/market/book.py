"""Pure-Python reference model of contracts/market/EnergyOrderBook.sol.

Same integer units as the contract (energy in Wh, prices in UPOS base units per kWh, payments
`quantity_wh * price // 1000` via offchain.units.payment_base), same order ids, same matching
(price-time priority, trades at the resting price, iceberg tranches refreshed at the back of their
level), same internal balances, same events and the same errors (offchain.market.errors). The
differential test (tests/contracts/market_diff) runs random operation sequences on both and compares
them after every step; docs/order-book-model.md describes the model.

Every operation is atomic like a transaction: it either returns an `Outcome` (return value plus the
events the contract would emit, in emission order) or raises an `OrderBookError` and leaves the model
unchanged. `now` plays the part of block.timestamp; the caller advances it.
"""

from __future__ import annotations

import copy
import functools
from collections import defaultdict
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Callable, Concatenate, Generic, Iterable, Iterator, NamedTuple, ParamSpec, Protocol, TypeVar

from offchain.market import events as ev
from offchain.market.access import AccessModel
from offchain.market.errors import (
    Address,
    CarryOutOfOrder,
    CarryPastLimit,
    CarryWindowClosed,
    InvalidCarryLimit,
    DeadlinePassed,
    InvalidOrderFlags,
    OrderWouldTrade,
    DisplayBelowMinimum,
    DisplayExceedsTotal,
    ExpiryNotOpen,
    InsufficientBalance,
    InvalidGridTariffs,
    InvalidOrderMinimums,
    OrderBelowMinimum,
    NotOrderOwner,
    OrderNotOpen,
    PeriodClosed,
    PeriodNotClosed,
    PeriodTooFarAhead,
    OrderGateAlreadySet,
    PremiumSourceAlreadySet,
    PriceOffGrid,
    PriceOutOfRange,
    QuantityTooLarge,
    UnknownOrder,
    ZeroAddress,
    ZeroAmount,
    ZeroDisplay,
)
from offchain.market.levels import BookSide
from offchain.units import WH_PER_KWH, payment_base

T = TypeVar("T")
P = ParamSpec("P")


class OrderStatus(IntEnum):
    """The Solidity enum OrderStatus, same numbering."""

    OPEN = 0
    FILLED = 1
    CANCELLED = 2
    EXPIRED = 3
    GRID_FILLED = 4


MAX_QUANTITY_WH = 2**48 - 1
"""The largest order quantity (Wh) the contract stores (EnergyOrderBook.MAX_QUANTITY_WH)."""
MAX_PRICE_LEVELS = 128 * 128
"""The contract's tick bitmap holds at most this many grid prices per side (TickBitmap.MAX_TICKS)."""
MAX_PRICE = 2**128 - 1
"""The highest price the contract admits (its payments cannot overflow below it)."""
MAX_CLOCK_SECONDS = 2**64 - 1
"""The largest genesis time and period length of a period clock (PeriodClock.MAX_SECONDS)."""
MAX_PERIOD = 2**32 - 1
"""Periods are stored in 32 bits; any later period counts as too far ahead."""
POST_ONLY = 1
"""place_order_with_options flag: refuse an order that would trade on arrival (EnergyOrderBook.POST_ONLY)."""
IMMEDIATE_OR_CANCEL = 2
"""place_order_with_options flag: cancel what is left after matching instead of resting it."""


@dataclass(frozen=True)
class BookConfig:
    """The contract's constructor parameters (struct BookParams), in its field order. Prices in UPOS base
    units per kWh, times in seconds; `import_price` and `export_price` are the grid tariffs from period 0,
    `min_order_wh` and `min_display_wh` the initial order minimums (Wh)."""

    tick_size: int
    min_price: int
    max_price: int
    genesis_time: int
    period_seconds: int
    gate_lead_seconds: int
    max_periods_ahead: int
    import_price: int
    export_price: int
    min_order_wh: int = 1
    min_display_wh: int = 1

    def __post_init__(self) -> None:
        """Raises ValueError where the constructor reverts InvalidPriceGrid, InvalidTiming, a
        PriceOffGrid/PriceOutOfRange/InvalidGridTariffs for the initial tariffs or InvalidOrderMinimums."""
        tick, low, high = self.tick_size, self.min_price, self.max_price
        if (
            tick <= 0
            or tick % WH_PER_KWH
            or low < tick
            or low % tick
            or high < low
            or high % tick
            or high > MAX_PRICE
            or (high - low) // tick >= MAX_PRICE_LEVELS
        ):
            raise ValueError(f"invalid price grid: tick {tick}, range [{low}, {high}]")
        if not 0 < self.period_seconds <= MAX_CLOCK_SECONDS or not 0 <= self.gate_lead_seconds < self.period_seconds:
            raise ValueError("need 0 < period_seconds < 2**64 and 0 <= gate_lead_seconds < period_seconds")
        if self.genesis_time < self.gate_lead_seconds or self.max_periods_ahead > MAX_PERIOD:
            raise ValueError("need genesis_time >= gate_lead_seconds and max_periods_ahead < 2**32")
        for tariff in (self.import_price, self.export_price):
            if tariff % tick or not low <= tariff <= high:
                raise ValueError(f"grid tariff {tariff} is not a valid price")
        if self.export_price > self.import_price:
            raise ValueError("the export tariff may not exceed the import tariff")
        if not (1 <= self.min_order_wh <= MAX_QUANTITY_WH and 1 <= self.min_display_wh <= MAX_QUANTITY_WH):
            raise ValueError(f"order minimums must lie in [1, {MAX_QUANTITY_WH}]")


NO_PREMIUM_BPS = 10_000
"""A multiplier of x1.0 in basis points: no purchase premium."""
MAX_EXTRA_BPS = 90_000
"""The book caps a source's multiplier at x10 (EnergyOrderBook.MAX_EXTRA_BPS above x1.0)."""
ZERO_ADDRESS = "0x" + "00" * 20


def premium_price(price: int, extra_bps: int) -> int:
    """The purchase premium per kWh (UPOS base units) on `price` at `extra_bps` above x1.0, rounded down to
    whole base units per Wh so that the premiums of parts of an order add up to the premium of the whole."""
    return price * extra_bps // NO_PREMIUM_BPS // WH_PER_KWH * WH_PER_KWH


def gross_price(price: int, extra_bps: int) -> int:
    """What a buy at `price` with `extra_bps` premium locks per kWh: the price plus its premium price."""
    return price + premium_price(price, extra_bps)


@dataclass
class PremiumSource:
    """The book's view of its premium source (IPurchasePremium, e.g. seed 002's PenaltySchedule):
    multipliers in bps by period (x1.0 where none is given) and the recipient of the premiums. It is the
    source's state, not the book's: a test changes it as the source's own transactions would."""

    address: Address
    recipient: Address
    multipliers_bps: dict[int, int] = field(default_factory=dict)

    def multiplier_bps(self, period: int) -> int:
        return self.multipliers_bps.get(period, NO_PREMIUM_BPS)


class OrderGate(Protocol):
    """The book's view of its order gate (IOrderGate, e.g. seed 003's BatteryWindows): `admit_order` admits
    and records an order or raises the gate's error, which undoes the whole placement."""

    address: Address

    def admit_order(self, owner: Address, period: int, is_buy: bool, quantity_wh: int) -> None: ...


@dataclass
class Order:
    """One order. `peak_wh` is the iceberg display size, 0 for a plain limit order."""

    order_id: int
    owner: Address
    period: int
    is_buy: bool
    price: int
    quantity_wh: int
    peak_wh: int
    remaining_wh: int
    visible_wh: int = 0
    status: OrderStatus = OrderStatus.OPEN
    premium_bps: int = 0
    """A buy's premium above x1.0 (bps), fixed at placement."""

    @property
    def tranche_wh(self) -> int:
        """The size of the next visible tranche: the peak for an iceberg, everything otherwise."""
        return min(self.peak_wh or self.remaining_wh, self.remaining_wh)

    @property
    def locked_upos(self) -> int:
        """UPOS base units this order holds in escrow (buy orders; a taker's price improvement is
        returned at once, so the lock is always remaining x own limit price, plus its premium price)."""
        if not (self.is_buy and self.is_open):
            return 0
        return payment_base(self.remaining_wh, gross_price(self.price, self.premium_bps))

    @property
    def locked_wh(self) -> int:
        """Wh of energy credits this order holds in escrow (sell orders)."""
        return self.remaining_wh if not self.is_buy and self.is_open else 0

    @property
    def is_open(self) -> bool:
        return self.status is OrderStatus.OPEN


class OrderView(NamedTuple):
    """What getOrder(orderId) returns, in the same field order (`peak_wh` 0 for a plain order;
    remaining and visible 0 once the order is no longer open)."""

    owner: Address
    period: int
    is_buy: bool
    price: int
    remaining_wh: int
    visible_wh: int
    peak_wh: int
    status: OrderStatus


class Quote(NamedTuple):
    """A best bid or ask: price and the visible Wh at that level; (0, 0) when the side is empty."""

    price: int
    visible_wh: int


class Depth(NamedTuple):
    """Top-k visible depth of one side, best level first."""

    prices: list[int]
    visible_wh: list[int]


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """A successful operation: its return value and the events emitted, in order."""

    value: T
    events: tuple[ev.BookEvent, ...]


@dataclass
class _State:
    """Everything an operation may change, so that a failed operation can be rolled back whole.

    `tariffs`: (first period, import price, export price), first periods ascending; a period's tariffs are
    those of the last entry starting at or before it."""

    tariffs: list[tuple[int, int, int]]
    min_order_wh: int
    min_display_wh: int
    orders: dict[int, Order] = field(default_factory=dict)
    sides: dict[tuple[int, bool], BookSide] = field(default_factory=dict)
    upos_free: defaultdict[Address, int] = field(default_factory=lambda: defaultdict(int))
    energy_free: defaultdict[tuple[Address, int], int] = field(default_factory=lambda: defaultdict(int))
    grid_supplied_wh: defaultdict[tuple[Address, int], int] = field(default_factory=lambda: defaultdict(int))
    next_order_id: int = 1
    carry_until: defaultdict[int, int] = field(default_factory=lambda: defaultdict(int))
    last_carried_into: defaultdict[int, int] = field(default_factory=lambda: defaultdict(int))


def _atomic(
    operation: Callable[Concatenate[EnergyOrderBookModel, P], T],
) -> Callable[Concatenate[EnergyOrderBookModel, P], Outcome[T]]:
    """Runs an operation as a transaction: on OrderBookError the state is restored and the error
    propagates; on success the emitted events are returned with the value."""

    @functools.wraps(operation)
    def transaction(self: EnergyOrderBookModel, *args: P.args, **kwargs: P.kwargs) -> Outcome[T]:
        saved = copy.deepcopy(self._state) if self.rollback else None
        self._emitted = []
        try:
            value = operation(self, *args, **kwargs)
        except Exception:
            if saved is not None:
                self._state = saved
            raise
        return Outcome(value, tuple(self._emitted))

    return transaction


class EnergyOrderBookModel:
    """The reference model of one EnergyOrderBook contract.

    `access` models the registry (participants, OPERATOR); `now` is the block timestamp (seconds)
    the next operation runs at. `rollback=False` skips the copy of the state each operation takes to undo
    itself on an error: for long simulations that never send a failing operation (a day of AdBEV copies a
    growing book thousands of times otherwise); after an error such a model is no longer the contract's.
    """

    def __init__(self, config: BookConfig, access: AccessModel, now: int, *, rollback: bool = True) -> None:
        if config.genesis_time > now:
            raise ValueError("the genesis time must not lie in the future")
        self.config = config
        self.access = access
        self.now = now
        self.rollback = rollback
        self._state = _State([(0, config.import_price, config.export_price)], config.min_order_wh,
                             config.min_display_wh)
        self._emitted: list[ev.BookEvent] = []
        self._premium_due = 0
        # the source is another contract's state (kept out of _State: a rollback must not copy it)
        self._premium_source: PremiumSource | None = None
        self._order_gate: OrderGate | None = None

    # ----------------------------------------------------------------------------------- time

    def gate_closure(self, period: int) -> int:
        """Timestamp (s) at which trading in `period` stops."""
        c = self.config
        return c.genesis_time + period * c.period_seconds - c.gate_lead_seconds

    def current_period(self) -> int:
        """The delivery period `now` falls in."""
        return (self.now - self.config.genesis_time) // self.config.period_seconds

    def _require_tradable(self, period: int) -> None:
        if period > MAX_PERIOD:
            raise PeriodTooFarAhead(period)
        if self.now >= self.gate_closure(period):
            raise PeriodClosed(period)
        if period > self.current_period() + self.config.max_periods_ahead:
            raise PeriodTooFarAhead(period)

    def period_start(self, period: int) -> int:
        """Timestamp (s) at which `period` starts (delivery; expiry opens to everyone)."""
        return self.config.genesis_time + period * self.config.period_seconds

    def _require_closed(self, period: int) -> None:
        if self.now < self.gate_closure(period):
            raise PeriodNotClosed(period)

    # ------------------------------------------------------------------------- internal balances

    @_atomic
    def deposit_upos(self, sender: Address, amount: int) -> None:
        """Moves `amount` UPOS base units from the sender's wallet into its free balance."""
        self.access.require_trader(sender)
        if amount == 0:
            raise ZeroAmount()
        self._state.upos_free[sender] += amount
        self._emit(ev.Deposited(sender, amount))

    @_atomic
    def withdraw_upos(self, sender: Address, amount: int) -> None:
        """Moves `amount` free UPOS base units back to the sender's wallet."""
        if amount == 0:
            raise ZeroAmount()
        self._debit_upos(sender, amount)
        self._emit(ev.Withdrawn(sender, amount))

    @_atomic
    def deposit_energy(self, sender: Address, period: int, wh: int) -> None:
        """Moves `wh` energy credits of `period` from the sender's wallet into its free balance."""
        self.access.require_trader(sender)
        if wh == 0:
            raise ZeroAmount()
        self._state.energy_free[sender, period] += wh
        self._emit(ev.EnergyDeposited(sender, period, wh))

    @_atomic
    def withdraw_energy(self, sender: Address, period: int, wh: int) -> None:
        """Moves `wh` free energy credits of `period` back to the sender's wallet."""
        if wh == 0:
            raise ZeroAmount()
        self._debit_energy(sender, period, wh)
        self.access.require_credit_recipient(sender)
        self._emit(ev.EnergyWithdrawn(sender, period, wh))

    @_atomic
    def set_grid_tariffs(self, sender: Address, import_price: int, export_price: int) -> None:
        """OPERATOR sets the grid fallback tariffs (UPOS base units per kWh, on the price grid, export at
        most import) of every period from the first whose gate has not opened yet on."""
        self.access.require_operator(sender)
        for price in (import_price, export_price):
            self._require_valid_price(price)
        if export_price > import_price:
            raise InvalidGridTariffs(import_price, export_price)
        first = self.current_period() + self.config.max_periods_ahead + 1
        tariffs = self._state.tariffs
        if tariffs[-1][0] == first:
            tariffs.pop()
        tariffs.append((first, import_price, export_price))
        self._emit(ev.GridTariffsSet(import_price, export_price, first))

    @_atomic
    def set_order_minimums(self, sender: Address, min_order_wh: int, min_display_wh: int) -> None:
        """ADMIN sets the smallest order and the smallest iceberg peak (Wh) for new orders."""
        self.access.require_admin(sender)
        if not (1 <= min_order_wh <= MAX_QUANTITY_WH and 1 <= min_display_wh <= MAX_QUANTITY_WH):
            raise InvalidOrderMinimums(min_order_wh, min_display_wh)
        self._state.min_order_wh, self._state.min_display_wh = min_order_wh, min_display_wh
        self._emit(ev.OrderMinimumsSet(min_order_wh, min_display_wh))

    @_atomic
    def set_premium_source(self, sender: Address, source: PremiumSource) -> None:
        """ADMIN makes every later buy pay `source`'s purchase premium; once ({PremiumSourceAlreadySet})."""
        self.access.require_admin(sender)
        if int(source.address, 16) == 0:
            raise ZeroAddress()
        current = self._premium_source
        if current is not None:
            raise PremiumSourceAlreadySet(current.address)
        self._premium_source = source
        self._emit(ev.PremiumSourceSet(source.address))

    @property
    def premium_source(self) -> PremiumSource | None:
        return self._premium_source

    @_atomic
    def set_order_gate(self, sender: Address, gate: OrderGate) -> None:
        """ADMIN puts every later order to `gate` (setOrderGate); once ({OrderGateAlreadySet})."""
        self.access.require_admin(sender)
        if int(gate.address, 16) == 0:
            raise ZeroAddress()
        if self._order_gate is not None:
            raise OrderGateAlreadySet(self._order_gate.address)
        self._order_gate = gate
        self._emit(ev.OrderGateSet(gate.address))

    @property
    def order_gate(self) -> OrderGate | None:
        return self._order_gate

    def premium_bps_of(self, order_id: int) -> int:
        """The multiplier (bps) fixed for `order_id` at placement (premiumBpsOf; x1.0 for unknown ids)."""
        order = self._state.orders.get(order_id)
        return NO_PREMIUM_BPS + (order.premium_bps if order else 0)

    # ------------------------------------------------------------------------------------ orders

    @_atomic
    def place_order(
        self, sender: Address, period: int, is_buy: bool, price: int, quantity_wh: int, display_wh: int | None = None
    ) -> int:
        """Places a plain limit order (display == quantity; None, the default, stands for it) or an iceberg
        (0 < display < quantity), matches it against the book and rests what is left. Returns the new order
        id. Display 0 raises ZeroDisplay, as the contract reverts."""
        if display_wh is None:
            display_wh = quantity_wh
        return self._place(sender, period, is_buy, price, quantity_wh, display_wh, 0)

    @_atomic
    def place_order_with_options(
        self, sender: Address, period: int, is_buy: bool, price: int, quantity_wh: int, display_wh: int,
        flags: int, deadline: int,
    ) -> int:
        """place_order with `flags` (POST_ONLY, IMMEDIATE_OR_CANCEL) and a placement `deadline` (0: none)."""
        if deadline and self.now > deadline:
            raise DeadlinePassed(deadline, self.now)
        if flags >= POST_ONLY | IMMEDIATE_OR_CANCEL:
            raise InvalidOrderFlags(flags)
        return self._place(sender, period, is_buy, price, quantity_wh, display_wh, flags)

    def _place(
        self, sender: Address, period: int, is_buy: bool, price: int, quantity_wh: int, display_wh: int, flags: int
    ) -> int:
        self.access.require_trader(sender)
        if quantity_wh == 0:
            raise ZeroAmount()
        if quantity_wh > MAX_QUANTITY_WH:
            raise QuantityTooLarge(quantity_wh, MAX_QUANTITY_WH)
        state = self._state
        if quantity_wh < state.min_order_wh:
            raise OrderBelowMinimum(quantity_wh, state.min_order_wh)
        self._require_valid_price(price)
        if display_wh == 0:
            raise ZeroDisplay(quantity_wh)
        if display_wh > quantity_wh:
            raise DisplayExceedsTotal(display_wh, quantity_wh)
        peak_wh = 0 if display_wh == quantity_wh else display_wh
        if 0 < peak_wh < state.min_display_wh:
            raise DisplayBelowMinimum(peak_wh, state.min_display_wh)
        self._require_tradable(period)
        if flags & POST_ONLY and self._crosses(period, is_buy, price):
            raise OrderWouldTrade(period, price)
        source = self._premium_source
        extra_bps = 0
        if is_buy and source:
            extra_bps = min(max(source.multiplier_bps(period) - NO_PREMIUM_BPS, 0), MAX_EXTRA_BPS)
        if is_buy:
            self._debit_upos(sender, payment_base(quantity_wh, gross_price(price, extra_bps)))
        else:
            self._debit_energy(sender, period, quantity_wh)

        order = Order(
            order_id=state.next_order_id,
            owner=sender,
            period=period,
            is_buy=is_buy,
            price=price,
            quantity_wh=quantity_wh,
            peak_wh=peak_wh,
            remaining_wh=quantity_wh,
            premium_bps=extra_bps,
        )
        state.next_order_id += 1
        state.orders[order.order_id] = order
        self._emit(ev.OrderPlaced(order.order_id, sender, period, is_buy, price, quantity_wh, peak_wh))
        if extra_bps:
            self._emit(ev.PremiumFixed(order.order_id, NO_PREMIUM_BPS + extra_bps))

        self._premium_due = 0
        self._match(order)
        self._pay_premium(period, self._premium_due)
        if not order.remaining_wh:
            order.status = OrderStatus.FILLED
        elif flags & IMMEDIATE_OR_CANCEL:
            refunded = order.remaining_wh
            if is_buy:
                self._state.upos_free[sender] += order.locked_upos
            else:
                self._state.energy_free[sender, period] += order.locked_wh
            order.status, order.remaining_wh = OrderStatus.CANCELLED, 0
            self._emit(ev.OrderCancelled(order.order_id, sender, refunded))
        else:
            order.visible_wh = order.tranche_wh
            self._side(period, is_buy).append(price, order.order_id, order.visible_wh)
        if self._order_gate is not None:  # last, as on chain: a refusal undoes the whole placement
            self._order_gate.admit_order(sender, period, is_buy, quantity_wh)
        return order.order_id

    @_atomic
    def cancel_order(self, sender: Address, order_id: int) -> None:
        """The owner withdraws an open order before its period's gate closure; its whole remaining lock
        (hidden part too) is refunded."""
        order = self._order(order_id)
        if order.owner != sender:
            raise NotOrderOwner(order_id, sender)
        if self.now >= self.gate_closure(order.period):
            raise PeriodClosed(order.period)
        self._require_open(order)
        refunded = self._close(order, OrderStatus.CANCELLED)
        self._emit(ev.OrderCancelled(order_id, sender, refunded))

    @_atomic
    def expire_orders(self, sender: Address, order_ids: Iterable[int]) -> None:
        """Refunds open orders of closed periods: OPERATOR from gate closure, anyone from the period's start.
        An order no longer open is skipped (OrderSkipped); an unknown one or an open gate fails the batch."""
        def expiry_open(order: Order) -> None:
            opens_at = self.period_start(order.period)
            if self.now < opens_at and not self.access.is_operator(sender):
                raise ExpiryNotOpen(order.period, opens_at)

        for order in self._open_orders_of_closed_periods(order_ids, expiry_open):
            self._expire(order)

    @_atomic
    def grid_fill(self, sender: Address, order_ids: Iterable[int]) -> None:
        """OPERATOR settles open orders of closed periods against the grid at their period's tariffs: a buy
        whose limit reaches the import tariff is supplied by the grid at that tariff, a sell whose limit is
        at most the export tariff is bought by the operator at that tariff, any other order expires. An
        order no longer open is skipped (OrderSkipped); an unknown one or an open gate fails the batch."""
        self._settle_closed(sender, order_ids, carry_first=False)

    @_atomic
    def step_orders(self, sender: Address, order_ids: Iterable[int]) -> None:
        """OPERATOR's AdBEV strategy step (stepOrders): an order whose owner lets it wait into the next period
        is carried as by carry_orders (unless CarrySkipped), every other one settled as by grid_fill."""
        self._settle_closed(sender, order_ids, carry_first=True)

    def _open_orders_of_closed_periods(
        self, order_ids: Iterable[int], check: Callable[[Order], None] = lambda order: None
    ) -> Iterator[Order]:
        """The orders of an operator batch (expiry, grid fill, step, carry), one at a time as the batch works
        through them, like the contract's _closedPeriodOrder + _skipIfNotOpen: an unknown order, or one whose
        period's gate is still open, fails the batch; then `check` (it may raise); an order no longer open is
        skipped (OrderSkipped)."""
        for order_id in order_ids:
            order = self._order(order_id)
            self._require_closed(order.period)
            check(order)
            if not self._skip_if_not_open(order):
                yield order

    def _settle_closed(self, sender: Address, order_ids: Iterable[int], carry_first: bool) -> None:
        self.access.require_operator(sender)
        state = self._state
        for order in self._open_orders_of_closed_periods(order_ids):
            order_id = order.order_id
            if carry_first and state.carry_until.get(order_id, 0) > order.period and self._carry(order):
                continue
            import_price, export_price = self.grid_tariffs(order.period)
            remaining = order.remaining_wh
            premium = 0
            if order.is_buy and order.price >= import_price:
                tariff = import_price
                self._close(order, OrderStatus.GRID_FILLED)
                # _close refunded the whole lock; the buyer now pays the grid and the premium out of it.
                premium = payment_base(remaining, premium_price(tariff, order.premium_bps))
                state.upos_free[order.owner] -= payment_base(remaining, tariff) + premium
                state.upos_free[sender] += payment_base(remaining, tariff)
                state.grid_supplied_wh[order.owner, order.period] += remaining
            elif not order.is_buy and order.price <= export_price:
                tariff = export_price
                self._debit_upos(sender, payment_base(remaining, tariff))
                self._close(order, OrderStatus.GRID_FILLED)
                # _close returned the Wh to the seller; they go to the operator instead.
                state.energy_free[order.owner, order.period] -= remaining
                state.energy_free[sender, order.period] += remaining
                state.upos_free[order.owner] += payment_base(remaining, tariff)
            else:
                self._expire(order)
                continue
            self._emit(ev.GridFilled(order_id, order.owner, sender, order.is_buy, tariff, remaining))
            self._pay_premium(order.period, premium)

    # ---------------------------------------------------------------- carry-over (seed 003 AdBEV)

    @_atomic
    def set_carry_limit(self, sender: Address, order_id: int, last_period: int) -> None:
        """The owner of an open order lets the operator carry it into later periods up to `last_period`,
        before its period's gate closes."""
        order = self._order(order_id)
        if order.owner != sender:
            raise NotOrderOwner(order_id, sender)
        if self.now >= self.gate_closure(order.period):
            raise PeriodClosed(order.period)
        self._require_open(order)
        if last_period <= order.period or last_period > MAX_PERIOD:
            raise InvalidCarryLimit(order_id, order.period, last_period)
        self._state.carry_until[order_id] = last_period
        self._emit(ev.CarryLimitSet(order_id, last_period))

    @_atomic
    def carry_orders(self, sender: Address, order_ids: Iterable[int]) -> None:
        """OPERATOR moves open orders of closed periods into the next period before it opens, behind the
        orders carried there before and ahead of any placed there; a sell's lock moves to the next
        period's credits (skipped with CarrySkipped if its owner has too few)."""
        self.access.require_operator(sender)
        for order in self._open_orders_of_closed_periods(order_ids):
            self._carry(order)

    def _carry(self, order: Order) -> bool:
        """Moves open `order` of a closed period into the next one (carry_orders); False if it stays (a sell
        whose owner lacks the next period's credits: CarrySkipped)."""
        state, order_id = self._state, order.order_id
        to_period = order.period + 1
        last_period = state.carry_until[order_id]
        if to_period > last_period:
            raise CarryPastLimit(order_id, to_period, last_period)
        if self.current_period() + self.config.max_periods_ahead >= to_period:
            raise CarryWindowClosed(to_period, self.period_start(to_period - self.config.max_periods_ahead))
        last_carried = state.last_carried_into[to_period]
        if order_id <= last_carried:
            raise CarryOutOfOrder(to_period, last_carried, order_id)
        remaining = order.remaining_wh
        if not order.is_buy:
            available = state.energy_free[order.owner, to_period]
            if available < remaining:
                self._emit(ev.CarrySkipped(order_id, available, remaining))
                return False
        state.last_carried_into[to_period] = order_id
        self._side(order.period, order.is_buy).remove(order.price, order_id, order.visible_wh)
        if not order.is_buy:
            state.energy_free[order.owner, order.period] += remaining
            state.energy_free[order.owner, to_period] -= remaining
        self._emit(ev.OrderCarried(order_id, order.period, to_period, remaining))
        order.period = to_period
        order.visible_wh = order.tranche_wh
        self._side(to_period, order.is_buy).append(order.price, order_id, order.visible_wh)
        return True

    def carry_limit(self, order_id: int) -> int:
        """The last period `order_id` may be carried into (0: none)."""
        return self._state.carry_until.get(order_id, 0)

    # ------------------------------------------------------------------------------------- views

    def best_bid(self, period: int) -> Quote:
        return self._best(period, True)

    def best_ask(self, period: int) -> Quote:
        return self._best(period, False)

    def depth(self, period: int, is_buy: bool, k: int) -> Depth:
        """The best `k` levels of one side: prices and visible Wh (iceberg hidden parts excluded)."""
        side = self._state.sides.get((period, is_buy))
        levels = side.levels(k) if side else []
        return Depth([price for price, _ in levels], [wh for _, wh in levels])

    def level_queue(self, period: int, is_buy: bool, price: int) -> tuple[int, ...]:
        """Order ids resting at one price, in time priority (front first)."""
        side = self._state.sides.get((period, is_buy))
        return side.level(price) if side else ()

    def order(self, order_id: int) -> OrderView:
        o = self._order(order_id)
        return OrderView(o.owner, o.period, o.is_buy, o.price, o.remaining_wh, o.visible_wh, o.peak_wh, o.status)

    @property
    def next_order_id(self) -> int:
        return self._state.next_order_id

    def grid_tariffs(self, period: int) -> tuple[int, int]:
        """(import price, export price) of `period`, UPOS base units per kWh."""
        _, import_price, export_price = next(t for t in reversed(self._state.tariffs) if t[0] <= period)
        return import_price, export_price

    @property
    def order_minimums(self) -> tuple[int, int]:
        """(smallest order, smallest iceberg peak), Wh."""
        return self._state.min_order_wh, self._state.min_display_wh

    def open_orders_of(self, account: Address, from_id: int, to_id: int) -> list[int]:
        """Ids of `account`'s open orders among [from_id, to_id) (cut to the ids placed), as openOrdersOf."""
        return [i for i in range(max(from_id, 1), min(to_id, self.next_order_id))
                if self._state.orders[i].is_open and self._state.orders[i].owner == account]

    def locked_of(self, account: Address, period: int, from_id: int, to_id: int) -> tuple[int, int]:
        """(UPOS locked in buys, Wh locked in sells) of `account`'s open orders of `period` among [from_id,
        to_id), as lockedOf."""
        ids = [i for i in self.open_orders_of(account, from_id, to_id) if self._state.orders[i].period == period]
        orders = [self._state.orders[i] for i in ids]
        return sum(o.locked_upos for o in orders), sum(o.locked_wh for o in orders)

    def upos_free(self, account: Address) -> int:
        return self._state.upos_free.get(account, 0)

    def energy_free(self, account: Address, period: int) -> int:
        return self._state.energy_free.get((account, period), 0)

    def grid_supplied_wh(self, account: Address, period: int) -> int:
        return self._state.grid_supplied_wh.get((account, period), 0)

    def open_orders(self) -> list[OrderView]:
        return [self.order(i) for i, o in self._state.orders.items() if o.is_open]

    def locked_upos(self, account: Address | None = None) -> int:
        """UPOS base units escrowed in open buy orders (of `account`, or of everyone)."""
        return sum(o.locked_upos for o in self._state.orders.values() if account in (None, o.owner))

    def locked_wh(self, period: int, account: Address | None = None) -> int:
        """Wh of `period` escrowed in open sell orders (of `account`, or of everyone)."""
        return sum(
            o.locked_wh for o in self._state.orders.values() if o.period == period and account in (None, o.owner)
        )

    def upos_held(self) -> int:
        """UPOS the contract must hold: all free balances plus all locks."""
        return sum(self._state.upos_free.values()) + self.locked_upos()

    def energy_held(self, period: int) -> int:
        """Energy credits of `period` the contract must hold: all free balances plus all locks."""
        free = sum(wh for (_, p), wh in self._state.energy_free.items() if p == period)
        return free + self.locked_wh(period)

    # ---------------------------------------------------------------------------------- internals

    def _emit(self, event: ev.BookEvent) -> None:
        self._emitted.append(event)

    def _side(self, period: int, is_buy: bool) -> BookSide:
        key = (period, is_buy)
        if key not in self._state.sides:
            self._state.sides[key] = BookSide(is_buy)
        return self._state.sides[key]

    def _best(self, period: int, is_buy: bool) -> Quote:
        levels = self.depth(period, is_buy, 1)
        return Quote(levels.prices[0], levels.visible_wh[0]) if levels.prices else Quote(0, 0)

    def _order(self, order_id: int) -> Order:
        order = self._state.orders.get(order_id)
        if order is None:
            raise UnknownOrder(order_id)
        return order

    @staticmethod
    def _require_open(order: Order) -> None:
        if not order.is_open:
            raise OrderNotOpen(order.order_id)

    def _skip_if_not_open(self, order: Order) -> bool:
        """For a batch: reports an order that is no longer open (OrderSkipped) instead of failing."""
        if order.is_open:
            return False
        self._emit(ev.OrderSkipped(order.order_id, order.status))
        return True

    def _require_valid_price(self, price: int) -> None:
        if price % self.config.tick_size:
            raise PriceOffGrid(price)
        if not self.config.min_price <= price <= self.config.max_price:
            raise PriceOutOfRange(price)

    def _debit_upos(self, account: Address, amount: int) -> None:
        available = self._state.upos_free[account]
        if available < amount:
            raise InsufficientBalance(account, available, amount)
        self._state.upos_free[account] = available - amount

    def _debit_energy(self, account: Address, period: int, wh: int) -> None:
        available = self._state.energy_free[account, period]
        if available < wh:
            raise InsufficientBalance(account, available, wh)
        self._state.energy_free[account, period] = available - wh

    def _crosses(self, period: int, is_buy: bool, price: int) -> bool:
        """Whether an incoming order at `price` meets the best opposite level of `period`."""
        makers = self._state.sides.get((period, not is_buy))
        best = makers.best_price() if makers else None
        return best is not None and makers.crosses(best, price)

    def _match(self, taker: Order) -> None:
        """Trades the incoming order against the opposite side while it crosses, front of the best
        level first; its whole quantity (iceberg hidden part included) may trade."""
        makers = self._side(taker.period, not taker.is_buy)
        while taker.remaining_wh:
            best = makers.best_price()
            if best is None or not makers.crosses(best, taker.price):
                return
            maker = self._state.orders[makers.front(best)]
            self._trade(makers, maker, taker, min(taker.remaining_wh, maker.visible_wh))

    def _trade(self, makers: BookSide, maker: Order, taker: Order, wh: int) -> None:
        state = self._state
        price = maker.price
        buyer, seller = (taker, maker) if taker.is_buy else (maker, taker)
        state.energy_free[buyer.owner, taker.period] += wh
        state.upos_free[seller.owner] += payment_base(wh, price)
        premium = payment_base(wh, premium_price(price, buyer.premium_bps))
        self._premium_due += premium
        if taker.is_buy:
            state.upos_free[taker.owner] += (
                payment_base(wh, gross_price(taker.price, taker.premium_bps)) - payment_base(wh, price) - premium
            )
        taker.remaining_wh -= wh
        maker.remaining_wh -= wh
        maker.visible_wh -= wh
        makers.reduce_visible(price, wh)
        self._emit(ev.Trade(taker.period, maker.order_id, taker.order_id, buyer.owner, seller.owner, price, wh))
        if maker.visible_wh:
            return
        makers.remove(price, maker.order_id, 0)
        if maker.remaining_wh:
            maker.visible_wh = maker.tranche_wh
            makers.append(price, maker.order_id, maker.visible_wh)
            self._emit(ev.TrancheRefreshed(maker.order_id, maker.visible_wh, maker.remaining_wh))
        else:
            maker.status = OrderStatus.FILLED

    def _close(self, order: Order, status: OrderStatus) -> int:
        """Takes an open order off the book, refunds its whole lock to the owner and returns the
        refunded Wh (its remaining quantity)."""
        state = self._state
        refunded = order.remaining_wh
        if order.is_buy:
            state.upos_free[order.owner] += order.locked_upos
        else:
            state.energy_free[order.owner, order.period] += order.locked_wh
        self._side(order.period, order.is_buy).remove(order.price, order.order_id, order.visible_wh)
        order.status = status
        order.remaining_wh = 0
        order.visible_wh = 0
        return refunded

    def _pay_premium(self, period: int, amount: int) -> None:
        """Credits `amount` of premium on trades of `period` to the source's recipient (PremiumPaid)."""
        if not amount:
            return
        recipient = self._premium_source.recipient
        self._state.upos_free[recipient] += amount
        self._emit(ev.PremiumPaid(recipient, period, amount))

    def _expire(self, order: Order) -> None:
        refunded = self._close(order, OrderStatus.EXPIRED)
        self._emit(ev.OrderExpired(order.order_id, order.owner, refunded))
