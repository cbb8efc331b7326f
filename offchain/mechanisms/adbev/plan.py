"""The AdBEV pipeline of seed 003 ch. 4: the GBM guide price (Eqs. 4.10-4.12), the EVs' agents and the
operator's best-order strategy (Table 4-B), run against the order book: off chain against the book's reference
model (`ModelBook`), on chain against the AdbevBook contract (chain_run.ChainBook), by the same code, so the two
runs are figure for figure the same.

Each half-hour period every connected EV with energy left to trade orders at most its charger's energy for the
period (an iceberg shows the 4 kW peak and refreshes its tranches; sells go in first, then buys best price first,
so the book clears the period as price-time priority at the resting sells' prices). After gate closure the
operator's step (the book's `stepOrders`) settles what is left: aggressive execution (excess demand) grid-fills
a normal buy and carries a waiting iceberg buy up to `wait_max` periods keeping its priority; passive execution
(excess supply) carries a sell up to `carry_max` periods, then it expires (killed: the EV keeps its energy). A
carried order keeps its price and quantity. docs/adbev.md lists every choice the thesis leaves open.

Units: energy Wh on the book, kWh in results; power kW; prices pence per kWh (the book: UPOS base units, 1 p =
0.01 UPOS); time in half-hour slots (slot 0 = 00:00) and book periods.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Protocol

import numpy as np

from offchain.algorithms.ev_scheduling import cut_slot, slots_left
from offchain.data.seed003 import SLOT_H, SLOTS, EvPopulation
from offchain.market import events as ev
from offchain.market.access import AccessModel
from offchain.market.book import BookConfig, EnergyOrderBookModel
from offchain.units import WH_PER_KWH, kwh_to_wh_array

from .terms import AdbevTerms, pence, pence_of

#: The thesis's busy hours with higher prices (Fig. 4.3), [start, end) in hours.
UPLIFT_WINDOWS_H = ((6, 8), (11, 13), (17, 19))


@dataclass(frozen=True)
class GuidePrice:
    """GBM guide price (Eq. 4.11) with zero drift: S_0 and sigma per sqrt(hour), a multiplicative uplift
    in the thesis's busy hours, clipped to [low, high] pence per kWh."""

    s0: float = 16.0
    mu: float = 0.0
    sigma: float = 0.08
    uplift: float = 0.35
    low: float = 10.0
    high: float = 30.0

    def path(self, rng: np.random.Generator, slots: int = SLOTS) -> np.ndarray:
        """Guide price per slot (p/kWh), shape (slots,)."""
        steps = rng.standard_normal(slots) * np.sqrt(SLOT_H)
        wiener = np.concatenate([[0.0], np.cumsum(steps)[:-1]])
        hours = np.arange(slots) * SLOT_H
        s = self.s0 * np.exp((self.mu - self.sigma**2 / 2) * hours + self.sigma * wiener)
        busy = np.zeros(slots, bool)
        for start, end in UPLIFT_WINDOWS_H:
            busy |= (hours >= start) & (hours < end)
        return np.clip(s * np.where(busy, 1 + self.uplift, 1.0), self.low, self.high)

    def expected(self, hours: np.ndarray) -> np.ndarray:
        """E[S_t] = S_0 exp(mu t) before uplift and clipping (Eq. 4.12)."""
        return self.s0 * np.exp(self.mu * np.asarray(hours, float))


@dataclass(frozen=True)
class AdbevSettings:
    """Strategy parameters: iceberg display peak (kW; the thesis: 4), the price spread of the EVs' limits
    around the guide price (p), how many periods an iceberg buy may wait (`wait_max`, the thesis's WT_max)
    and a sell may be carried (`carry_max`, its kill time), the grid's export tariff (p/kWh) and the seed of
    prices and spreads. An iceberg is the book's (its tranches refresh within the period, up to the charger's
    energy); `one_tranche_per_period` reads the thesis's "displayed peak Q_p per trading period" as at most one
    tranche a period instead (each placed as a plain order of that period), unless a buy's need no longer fits
    at that pace. The import tariff is the lowest limit an EV can bid (`import_pence`), so the book
    grid-fills every buy left over at its deadline, as Table 4-B fills every left-over normal buy from the grid."""

    peak_kw: float = 4.0
    spread_pence: float = 2.0
    wait_max: int = 2
    carry_max: int = 4
    export_pence: float = 1.0
    one_tranche_per_period: bool = False
    seed: int = 3
    guide: GuidePrice = field(default_factory=GuidePrice)

    def __post_init__(self) -> None:
        if not 0 < self.peak_kw <= 1_000:
            raise ValueError(f"peak_kw must be in (0, 1000] kW, got {self.peak_kw}")
        if not 0 <= self.wait_max <= SLOTS or not 0 <= self.carry_max <= SLOTS:
            raise ValueError(f"wait_max and carry_max must be 0..{SLOTS} periods")
        if not 0 <= self.spread_pence < self.guide.low - 0.01:
            raise ValueError(f"spread_pence must lie in [0, {self.guide.low - 0.01:g}) p (below the guide's floor, "
                             f"so every limit stays a price), got {self.spread_pence}")
        if not 0.01 <= self.export_pence < self.import_pence:
            raise ValueError(f"export_pence must lie in [0.01, {self.import_pence}) p (below the lowest limit an "
                             f"EV bids, so that a killed sell expires), got {self.export_pence}")

    @property
    def import_pence(self) -> float:
        """The grid's import tariff (p/kWh): the lowest limit an EV bids (guide floor minus the spread)."""
        return round(self.guide.low - self.spread_pence, 2)

    @property
    def peak_wh(self) -> int:
        """The iceberg display peak as energy per period (Wh)."""
        return int(round(self.peak_kw * SLOT_H * WH_PER_KWH))


@dataclass(frozen=True)
class Trade:
    """A match: slot, seller EV, buyer EV, price (p/kWh, the resting order's), quantity (kWh)."""

    slot: int
    seller: int
    buyer: int
    price: float
    quantity_kwh: float


@dataclass(frozen=True)
class AdbevDay:
    """A day of AdBEV: net EV load (kW) per slot, trades, grid-filled buys (kWh) per slot, guide price,
    energy charged/discharged per EV (kWh), unmet charging demand (kWh), mode per slot ("satisfied",
    "aggressive", "passive", "both", "idle"), orders placed, sells carried and iceberg buys queued (carries)."""

    ev_load_kw: np.ndarray
    trades: list[Trade]
    grid_kwh: np.ndarray
    guide: np.ndarray
    charged_kwh: np.ndarray
    discharged_kwh: np.ndarray
    unmet_kwh: float
    modes: list[str]
    placed: int
    carried: int
    queued: int

    def hourly_deal_price(self) -> np.ndarray:
        """Mean executed deal price per hour (p/kWh, volume-weighted; NaN where nothing traded), Fig. 4.3."""
        volume, value = np.zeros(24), np.zeros(24)
        for trade in self.trades:
            hour = int(trade.slot * SLOT_H)
            volume[hour] += trade.quantity_kwh
            value[hour] += trade.quantity_kwh * trade.price
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(volume > 0, value / volume, np.nan)

    def differences(self, other: AdbevDay) -> list[str]:
        """The names of the fields in which `other` differs from this day (exact comparison), in field order."""
        def equal(mine: object, theirs: object) -> bool:
            return bool(np.array_equal(mine, theirs)) if isinstance(mine, np.ndarray) else mine == theirs

        return [f.name for f in fields(self) if not equal(getattr(self, f.name), getattr(other, f.name))]


class Book(Protocol):
    """The order book as AdBEV's EV agents and operator use it: off chain `ModelBook`, on chain
    chain_run.ChainBook. EVs are numbered 0..n-1; every call that changes the book returns the book events it
    caused, in emission order (offchain.market.events)."""

    def begin(self, import_price: int, export_price: int) -> int:
        """The operator sets the day's grid tariffs (UPOS base units per kWh); returns the first period they
        govern, the day's first period."""

    def open_period(self, period: int) -> None:
        """Moves the clock to the start of the period before `period`: orders for `period` open, carries into
        it are done."""

    def close_period(self, period: int) -> None:
        """Moves the clock to `period`'s gate closure (the operator's step)."""

    def deposit_energy(self, deposits: Sequence[tuple[int, int, int]]) -> None:
        """Each (EV, period, Wh): the meter attests the selling EV's energy, the EV deposits it in the book."""

    def place(self, ev_index: int, period: int, is_buy: bool, price: int, quantity_wh: int,
              display_wh: int) -> list[ev.BookEvent]:
        """The EV places one order (one at a time: the order of arrival decides the trades)."""

    def set_carry_limits(self, limits: Sequence[tuple[int, int, int]]) -> None:
        """Each (EV, order id, last period): the EV lets its open order wait until that period."""

    def step(self, order_ids: Sequence[int]) -> list[ev.BookEvent]:
        """The operator's strategy step (stepOrders) on open orders of a closed period, in id order."""


class ModelBook:
    """`Book` on the order book's reference model (offchain.market.book), under `terms`: EVs are accounts
    "ev0".., funded with `upos_each` base units; the clock starts `terms.period_seconds` after genesis."""

    OPERATOR = "operator"

    def __init__(self, evs: int, terms: AdbevTerms = AdbevTerms(), upos_each: int = 10**24) -> None:
        access = AccessModel()
        access.operators.add(self.OPERATOR)
        self.addresses = [f"ev{i}" for i in range(evs)]
        for address in self.addresses:
            access.register(address)
        self.model = EnergyOrderBookModel(BookConfig(*terms.book_params), access, terms.genesis_time
                                          + terms.period_seconds, rollback=False)
        for address in self.addresses:
            self.model.deposit_upos(address, upos_each)

    def begin(self, import_price: int, export_price: int) -> int:
        (tariffs,) = self.model.set_grid_tariffs(self.OPERATOR, import_price, export_price).events
        return tariffs.from_period

    def open_period(self, period: int) -> None:
        self.model.now = max(self.model.now, self.model.period_start(period - 1))

    def close_period(self, period: int) -> None:
        self.model.now = max(self.model.now, self.model.gate_closure(period))

    def deposit_energy(self, deposits: Sequence[tuple[int, int, int]]) -> None:
        for ev_index, period, wh in deposits:
            self.model.deposit_energy(self.addresses[ev_index], period, wh)

    def place(self, ev_index: int, period: int, is_buy: bool, price: int, quantity_wh: int,
              display_wh: int) -> list[ev.BookEvent]:
        return list(self.model.place_order(self.addresses[ev_index], period, is_buy, price, quantity_wh,
                                           display_wh).events)

    def set_carry_limits(self, limits: Sequence[tuple[int, int, int]]) -> None:
        for ev_index, order_id, last_period in limits:
            self.model.set_carry_limit(self.addresses[ev_index], order_id, last_period)

    def step(self, order_ids: Sequence[int]) -> list[ev.BookEvent]:
        return list(self.model.step_orders(self.OPERATOR, order_ids).events)


def iceberg_flags(population: EvPopulation) -> np.ndarray:
    """An EV trades icebergs when its first period's order (its charger's energy per slot, capped by its
    need or offer) is among the larger half: the market threshold sits where normal:iceberg is 1:1 (ties
    broken by EV index)."""
    size = np.minimum(population.slot_energy_kwh, population.need_kwh + population.offer_kwh)
    flags = np.zeros(population.size, bool)
    flags[np.argsort(-size, kind="stable")[: population.size // 2]] = True
    return flags


def order_size_wh(left_wh: int, room_wh: int, min_order_wh: int) -> int:
    """The Wh an EV orders for one period: what it has left, at most the `room_wh` its charger has left in the
    period, never leaving a rest below the book's minimum order; 0 if it cannot order at least the minimum."""
    if left_wh < min_order_wh or room_wh < min_order_wh:
        return 0
    size = min(left_wh, room_wh)
    if 0 < left_wh - size < min_order_wh:  # leave the minimum for later instead of a rest nobody can order
        size = left_wh - min_order_wh
    return size if size >= min_order_wh else 0


def _run_ends(connected: np.ndarray) -> np.ndarray:
    """For (n, T) connection flags: the last position of the connected run each position belongs to (the
    position itself where not connected)."""
    n, slots = connected.shape
    run_end = np.tile(np.arange(slots), (n, 1))
    for k in range(slots - 2, -1, -1):
        run_end[:, k] = np.where(connected[:, k] & connected[:, k + 1], run_end[:, k + 1], k)
    return run_end


def run_adbev(population: EvPopulation, settings: AdbevSettings | None = None, book: Book | None = None,
              terms: AdbevTerms = AdbevTerms()) -> AdbevDay:
    """One day of the AdBEV market on `book` (default: a fresh ModelBook under `terms`) over the cyclic day
    starting at the slot with the fewest EVs connected (midday), like the schedulers' dispatch. The day's
    figures come from the events the book emits."""
    settings = settings or AdbevSettings()
    book = book if book is not None else ModelBook(population.size, terms)
    rng = np.random.default_rng(settings.seed)
    guide = settings.guide.path(rng)
    agents = _Agents(population, settings, terms.min_order_wh,
                     spread=rng.uniform(-settings.spread_pence, settings.spread_pence, population.size))
    first = book.begin(pence(settings.import_pence), pence(settings.export_pence))
    day = _DayBook(population.size, first, agents.order)
    for k, slot in enumerate(agents.order):
        period = first + k
        book.open_period(period)
        book.deposit_energy([(i, first + later, wh) for later in ((0, 1) if k == 0 else (k + 1,)) if later < SLOTS
                             for i, wh in agents.credits(later, day)])
        placed_now = [day.placed(i, is_buy, book.place(i, period, is_buy, pence(price), size, display))
                      for i, is_buy, price, size, display in agents.orders(k, float(guide[slot]), day)]
        book.set_carry_limits([(day.owner[o][0], o, period + wait) for o in placed_now if day.is_open(o)
                               for wait in [agents.wait(k, *day.owner[o], day)] if wait >= 1])
        book.close_period(period)
        left_open = day.open_in(period)
        day.close(period, book.step(left_open) if left_open else [])
        agents.kill(day.killed)
    return day.result(guide, agents.need_wh)


class _Agents:
    """The EVs' agents: what each orders per period, at what price and display, how long it lets an order
    wait, and the credits a selling EV deposits. Positions k are the cyclic day's (`order[k]` the slot)."""

    def __init__(self, population: EvPopulation, settings: AdbevSettings, min_order_wh: int, spread: np.ndarray) -> None:
        self.settings, self.min_order_wh, self.spread = settings, min_order_wh, spread
        self.icebergs = iceberg_flags(population)
        self.sellers = population.discharging
        self.step_wh = kwh_to_wh_array(population.slot_energy_kwh)
        self.need_wh = kwh_to_wh_array(population.need_kwh)
        self.order = population.order_from(cut_slot(population))
        self.connected = population.connected[:, self.order]
        self.slots_left, self.run_end = slots_left(population, self.order), _run_ends(self.connected)
        # Wh not yet ordered, by side
        self.to_place = {True: self.need_wh.copy(), False: kwh_to_wh_array(population.offer_kwh)}
        self.rank: dict[tuple[bool, int], int] = {}

    def credits(self, k: int, day: _DayBook) -> list[tuple[int, int]]:
        """(EV, Wh) each selling EV connected at position k deposits for it: enough for a new order or a carry."""
        return [(int(i), int(min(left, self.step_wh[i]))) for i in np.flatnonzero(self.connected[:, k] & self.sellers)
                for left in [self.to_place[False][i] + day.open_wh(int(i), False)] if left > 0]

    def orders(self, k: int, guide_pence: float, day: _DayBook) -> list[tuple[int, bool, float, int, int]]:
        """(EV, is_buy, price p/kWh, Wh, display Wh) of position k's new orders in arrival order: sells first,
        then buys best price first (a book clearing them continuously trades at the resting sells' prices)."""
        settings, arrivals = self.settings, []
        for is_buy in (False, True):
            for i in map(int, np.flatnonzero(self.connected[:, k])):
                left, waiting, per_period = int(self.to_place[is_buy][i]), day.open_wh(i, is_buy), int(self.step_wh[i])
                if self.icebergs[i] and settings.one_tranche_per_period:  # unless the need no longer fits that pace
                    hurry = is_buy and left + waiting > settings.peak_wh * (self.slots_left[i, k] - 1)
                    per_period = per_period if hurry else min(per_period, settings.peak_wh)
                # a carried order and the new one together stay within the period's energy
                size = order_size_wh(left, per_period - waiting, self.min_order_wh)
                if size == 0:
                    continue
                rank = self.rank.setdefault((is_buy, i), len(self.rank))
                price = round(float(np.clip(guide_pence + self.spread[i] * (1 if is_buy else -1), 1.0, 100.0)), 2)
                arrivals.append((is_buy, -price if is_buy else 0.0, rank, i, price, size))
        orders = []
        for is_buy, _, _, i, price, size in sorted(arrivals):
            shows_peak = self.icebergs[i] and not settings.one_tranche_per_period
            orders.append((i, is_buy, price, size, min(settings.peak_wh, size) if shows_peak else size))
            self.to_place[is_buy][i] -= size
        return orders

    def wait(self, k: int, ev_index: int, is_buy: bool, day: _DayBook) -> int:
        """Periods the EV lets its order of position k wait: an iceberg buy up to WT_max while the EV can still
        charge its need after the wait, a sell up to its kill time; never past the EV's stay; 0: none."""
        stay = int(self.run_end[ev_index, k]) - k
        if not is_buy:
            return min(self.settings.carry_max, stay)
        if not self.icebergs[ev_index]:
            return 0
        needed = math.ceil((self.to_place[True][ev_index] + day.open_wh(ev_index, True)) / self.step_wh[ev_index])
        return min(self.settings.wait_max, stay, int(self.slots_left[ev_index, k]) - needed)

    def kill(self, evs: list[int]) -> None:
        """The EVs whose sell expired stop selling for the day (they keep the energy)."""
        for i in evs:
            self.to_place[False][i] = 0


class _DayBook:
    """The day's bookkeeping from the book's events: each order's owner, side, remaining Wh and period; what
    every EV charged and discharged, the trades, the grid fills and the modes per slot."""

    def __init__(self, evs: int, first: int, order: np.ndarray) -> None:
        self.first, self.order = first, order
        self.owner: dict[int, tuple[int, bool]] = {}
        self.remaining: dict[int, int] = {}
        self.period: dict[int, int] = {}
        self.charged = np.zeros(evs, dtype=np.int64)
        self.discharged = np.zeros(evs, dtype=np.int64)
        self.net_wh = np.zeros(SLOTS, dtype=np.int64)
        self.grid_wh = np.zeros(SLOTS, dtype=np.int64)
        self.trades: list[Trade] = []
        self.modes = [""] * SLOTS
        self.killed: list[int] = []  #: EVs whose sell the last step killed
        self.active: set[int] = set()  #: periods that had an order placed or carried in
        self.carried = self.queued = 0

    def is_open(self, order_id: int) -> bool:
        return self.remaining.get(order_id, 0) > 0

    def open_wh(self, ev_index: int, is_buy: bool) -> int:
        """Wh of the EV's open orders of one side."""
        return sum(r for o, r in self.remaining.items() if r and self.owner[o] == (ev_index, is_buy))

    def open_in(self, period: int) -> list[int]:
        """Open orders of `period`, in id order."""
        return sorted(o for o, r in self.remaining.items() if r and self.period[o] == period)

    def placed(self, ev_index: int, is_buy: bool, events: list[ev.BookEvent]) -> int:
        """Records a placement's events; returns the new order's id."""
        placed = next(e for e in events if isinstance(e, ev.OrderPlaced))
        self.owner[placed.order_id] = (ev_index, is_buy)
        self.remaining[placed.order_id] = placed.quantity_wh
        self.period[placed.order_id] = placed.period
        self.active.add(placed.period)
        self._apply(events)
        return placed.order_id

    def close(self, period: int, events: list[ev.BookEvent]) -> None:
        """Records the operator's step of `period` and the period's mode, from the sides its step found open."""
        left = {self.owner[o][1] for o in self.open_in(period)}
        self.modes[self._slot(period)] = ("both" if False in left else "aggressive") if True in left else (
            "passive" if False in left else ("satisfied" if period in self.active else "idle"))
        self.killed = []
        self._apply(events)

    def _slot(self, period: int) -> int:
        return int(self.order[period - self.first])

    def _apply(self, events: list[ev.BookEvent]) -> None:
        for event in events:
            if isinstance(event, ev.Trade):
                self.remaining[event.maker_order_id] -= event.quantity_wh
                self.remaining[event.taker_order_id] -= event.quantity_wh
                buy, sell = sorted((event.maker_order_id, event.taker_order_id), key=lambda o: not self.owner[o][1])
                buyer, seller = self.owner[buy][0], self.owner[sell][0]
                self.charged[buyer] += event.quantity_wh
                self.discharged[seller] += event.quantity_wh
                self.trades.append(Trade(self._slot(event.period), seller, buyer, pence_of(event.price),
                                         event.quantity_wh / WH_PER_KWH))
            elif isinstance(event, ev.OrderCarried):
                self.period[event.order_id] = event.to_period
                self.active.add(event.to_period)
                if self.owner[event.order_id][1]:
                    self.queued += 1
                else:
                    self.carried += 1
            elif isinstance(event, ev.GridFilled):
                ev_index, is_buy = self.owner[event.order_id]
                slot = self._slot(self.period[event.order_id])
                self.remaining[event.order_id] = 0
                if is_buy:
                    self.charged[ev_index] += event.quantity_wh
                    self.net_wh[slot] += event.quantity_wh
                    self.grid_wh[slot] += event.quantity_wh
                else:
                    self.discharged[ev_index] += event.quantity_wh
                    self.net_wh[slot] -= event.quantity_wh
            elif isinstance(event, ev.OrderExpired):
                self.remaining[event.order_id] = 0
                ev_index, is_buy = self.owner[event.order_id]
                if not is_buy:
                    self.killed.append(ev_index)

    def result(self, guide: np.ndarray, need_wh: np.ndarray) -> AdbevDay:
        return AdbevDay(
            ev_load_kw=self.net_wh / WH_PER_KWH / SLOT_H,
            trades=self.trades,
            grid_kwh=self.grid_wh / WH_PER_KWH,
            guide=guide,
            charged_kwh=self.charged / WH_PER_KWH,
            discharged_kwh=self.discharged / WH_PER_KWH,
            unmet_kwh=float(np.maximum(need_wh - self.charged, 0).sum()) / WH_PER_KWH,
            modes=self.modes,
            placed=len(self.owner),
            carried=self.carried,
            queued=self.queued,
        )
