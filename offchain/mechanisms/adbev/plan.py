"""The AdBEV pipeline of seed 003 ch. 4, pure: the GBM guide price (Eqs. 4.10-4.12), the EVs' normal and
iceberg orders per half-hour period, and the best-order strategy (Table 4-B) clearing each period like the
order book does (strict price-time priority, trades at the resting sell's price), with aggressive iceberg
execution (excess demand: normal buys filled from the grid, icebergs queued up to `wait_max` periods) and
passive execution (excess supply: sells carried into the next period keeping their priority until
`carry_max` periods, then killed). docs/adbev.md lists every choice the thesis leaves open.

Units: energy kWh, power kW, prices pence per kWh, time in half-hour slots (slot 0 = 00:00).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from offchain.data.seed003 import SLOT_H, SLOTS, EvPopulation

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
    and a sell may be carried (`carry_max`, its kill time), and the seed of prices and spreads."""

    peak_kw: float = 4.0
    spread_pence: float = 2.0
    wait_max: int = 2
    carry_max: int = 4
    seed: int = 3
    guide: GuidePrice = field(default_factory=GuidePrice)

    def __post_init__(self) -> None:
        if not 0 < self.peak_kw <= 1_000:
            raise ValueError(f"peak_kw must be in (0, 1000] kW, got {self.peak_kw}")
        if not 0 <= self.wait_max <= SLOTS or not 0 <= self.carry_max <= SLOTS:
            raise ValueError(f"wait_max and carry_max must be 0..{SLOTS} periods")


@dataclass(frozen=True)
class Order:
    """One EV's order in one period: side, EV index, limit (p/kWh), quantity (kWh), iceberg flag, its
    time rank (placement sequence: a carried or queued order keeps it) and periods waited."""

    is_buy: bool
    ev: int
    price: float
    quantity_kwh: float
    iceberg: bool
    placed: int
    waited: int = 0


@dataclass(frozen=True)
class Trade:
    """A match: slot, seller EV, buyer EV, price (p/kWh, the sell's), quantity (kWh)."""

    slot: int
    seller: int
    buyer: int
    price: float
    quantity_kwh: float


@dataclass(frozen=True)
class AdbevDay:
    """A day of AdBEV: net EV load (kW) per slot, trades, grid-filled buys (kWh) per slot, guide price,
    energy charged/discharged per EV (kWh), unmet charging demand (kWh), mode per slot ("satisfied",
    "aggressive", "passive", "both", "idle"), orders placed, carried and queued."""

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


def iceberg_flags(population: EvPopulation) -> np.ndarray:
    """An EV trades icebergs when its first period's order (its charger's energy per slot, capped by its
    need or offer) is among the larger half: the market threshold sits where normal:iceberg is 1:1 (ties
    broken by EV index)."""
    size = np.minimum(population.slot_energy_kwh, population.need_kwh + population.offer_kwh)
    flags = np.zeros(population.size, bool)
    flags[np.argsort(-size, kind="stable")[: population.size // 2]] = True
    return flags


def _clear(buys: list[Order], sells: list[Order], slot: int) -> tuple[list[Trade], dict, dict]:
    """Strict price-time clearing: best buy (highest price, oldest) against best sell (lowest, oldest) while
    they cross, at the sell's price. Returns trades and the quantities left per buy and sell index."""
    buy_order = sorted(range(len(buys)), key=lambda i: (-buys[i].price, buys[i].placed))
    sell_order = sorted(range(len(sells)), key=lambda i: (sells[i].price, sells[i].placed))
    left_buy = {i: buys[i].quantity_kwh for i in buy_order}
    left_sell = {i: sells[i].quantity_kwh for i in sell_order}
    trades: list[Trade] = []
    b = s = 0
    while b < len(buy_order) and s < len(sell_order):
        bi, si = buy_order[b], sell_order[s]
        if buys[bi].price < sells[si].price:
            break
        quantity = min(left_buy[bi], left_sell[si])
        trades.append(Trade(slot, sells[si].ev, buys[bi].ev, sells[si].price, quantity))
        left_buy[bi] -= quantity
        left_sell[si] -= quantity
        if left_buy[bi] <= 1e-12:
            b += 1
        if left_sell[si] <= 1e-12:
            s += 1
    return trades, left_buy, left_sell


def run_adbev(population: EvPopulation, settings: AdbevSettings | None = None) -> AdbevDay:
    """Run one day of the AdBEV market over the cyclic day starting at the slot with the fewest EVs
    connected (midday), like the schedulers' dispatch."""
    settings = settings or AdbevSettings()
    rng = np.random.default_rng(settings.seed)
    guide = settings.guide.path(rng)
    spread = rng.uniform(-settings.spread_pence, settings.spread_pence, population.size)
    icebergs = iceberg_flags(population)
    tranche = settings.peak_kw * SLOT_H
    need = population.need_kwh.copy()
    offer = population.offer_kwh.copy()
    discharged = np.zeros(population.size)
    connected = population.connected
    start = int(np.argmin(connected.sum(axis=0)))
    order = population.order_from(start)
    slots_left = np.cumsum(connected[:, order][:, ::-1], axis=1)[:, ::-1]
    load = np.zeros(SLOTS)
    grid = np.zeros(SLOTS)
    trades: list[Trade] = []
    modes: list[str] = [""] * SLOTS
    placed_at: dict[tuple[bool, int], int] = {}
    waited: dict[int, int] = {}
    carried_for: dict[int, int] = {}
    sequence = placed = carried = queued = 0
    for position, t in enumerate(order):
        buys, sells = [], []
        for i in np.flatnonzero(connected[:, t]):
            step = population.slot_energy_kwh[i]
            for is_buy, left in ((True, need[i]), (False, offer[i])):
                if left <= 1e-9:
                    continue
                key = (is_buy, int(i))
                if key not in placed_at:
                    placed_at[key] = sequence
                    sequence += 1
                    placed += 1
                shown = min(tranche, step)
                # an iceberg that could no longer meet its need at one tranche a period trades in full
                iceberg = bool(icebergs[i]) and not (is_buy and left > shown * (slots_left[i, position] - 1) + 1e-9)
                size = min(left, shown if iceberg else step)
                price = float(np.clip(guide[t] + spread[i] * (1 if is_buy else -1), 1.0, 100.0))
                (buys if is_buy else sells).append(
                    Order(is_buy, int(i), round(price, 2), size, iceberg, placed_at[key], waited.get(int(i), 0))
                )
        period_trades, left_buy, left_sell = _clear(buys, sells, int(t))
        trades += period_trades
        unmatched_buy = any(v > 1e-9 for v in left_buy.values())
        unmatched_sell = any(v > 1e-9 for v in left_sell.values())
        modes[t] = ("both" if unmatched_sell else "aggressive") if unmatched_buy else (
            "passive" if unmatched_sell else ("satisfied" if buys or sells else "idle"))
        for index, buy in enumerate(buys):
            got = buy.quantity_kwh - left_buy[index]
            if left_buy[index] > 1e-9:
                if buy.iceberg and buy.waited < settings.wait_max:  # aggressive: the iceberg waits
                    waited[buy.ev] = buy.waited + 1
                    queued += 1
                else:  # a normal buy (or an iceberg past WT_max) is filled from the grid
                    grid[t] += left_buy[index]
                    got = buy.quantity_kwh
                    waited.pop(buy.ev, None)
            else:
                waited.pop(buy.ev, None)
            need[buy.ev] -= got
            load[t] += got / SLOT_H
        for index, sell in enumerate(sells):
            sold = sell.quantity_kwh - left_sell[index]
            offer[sell.ev] -= sold
            discharged[sell.ev] += sold
            load[t] -= sold / SLOT_H
            if left_sell[index] > 1e-9:  # passive: carried with its priority, killed after carry_max
                carried_for[sell.ev] = carried_for.get(sell.ev, 0) + 1
                carried += 1
                if carried_for[sell.ev] > settings.carry_max:  # killed: the EV keeps the rest
                    offer[sell.ev] = 0.0
    return AdbevDay(
        ev_load_kw=load,
        trades=trades,
        grid_kwh=grid,
        guide=guide,
        charged_kwh=population.need_kwh - need,
        discharged_kwh=discharged,
        unmet_kwh=float(max(need.sum(), 0.0)),
        modes=modes,
        placed=placed,
        carried=carried,
        queued=queued,
    )
