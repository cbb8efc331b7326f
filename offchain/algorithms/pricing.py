"""Seed-000 static pricing and settlement (Mullaney et al., Sec. V-B), integer UPOS base units.

Prices are UPOS per kWh with 1 UPOS read as £1, so the paper's 29.49 p/kWh is 0.2949 UPOS/kWh. All
settlement arithmetic runs on integers (UPOS base units, Wh) exactly as a contract would do it:

- prosumer -> EV at P_split = (P_gb + P_gs) / 2 (floored to a base unit);
- EV -> prosumer at clamp(basis * (1 + markup), P_gs, P_gb), where basis is the EV's weighted-average
  cost of the energy it can trade (its initial stock valued at `initial_stock_price`);
- everything else with the grid: imports at P_gb, exports at P_gs.

Since P_gs <= P_split and the EV price never exceeds P_gb, no prosumer can do worse than trading
only with the grid. An EV may sell only once its participation is verified (`SellRule`). The choices
where the paper is silent are explained in docs/seed000.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from offchain.units import payment_base, price_to_base_per_kwh

BPS = 10_000


class PricingError(ValueError):
    """Prices or an account operation outside the pricing rules."""


@dataclass(frozen=True)
class Tariffs:
    """Static prices, UPOS per kWh (1 UPOS = £1), and the EV's resale markup in basis points.

    `initial_stock_price` values the energy an EV already holds when it joins; None means the midpoint
    of P_gb and P_split (0.237175), the valuation that reproduces L2's £0.28 of Fig. 7 (docs/seed000.md).
    """

    grid_buy: float = 0.2949
    grid_sell: float = 0.064
    ev_markup_bps: int = 1000
    initial_stock_price: float | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.grid_sell <= self.grid_buy:
            raise PricingError(f"need 0 <= grid sell ({self.grid_sell}) <= grid buy ({self.grid_buy}) price")
        if self.ev_markup_bps < 0:
            raise PricingError(f"EV markup must be >= 0 bps, got {self.ev_markup_bps}")
        if self.initial_stock_price is not None and self.initial_stock_price < 0:
            raise PricingError(f"initial stock price must be >= 0, got {self.initial_stock_price}")

    @cached_property
    def grid_buy_base(self) -> int:
        """P_gb, UPOS base units per kWh."""
        return price_to_base_per_kwh(self.grid_buy)

    @cached_property
    def grid_sell_base(self) -> int:
        """P_gs, UPOS base units per kWh."""
        return price_to_base_per_kwh(self.grid_sell)

    @cached_property
    def prosumer_to_ev_base(self) -> int:
        """P_split = (P_gb + P_gs) / 2, UPOS base units per kWh (floored)."""
        return (self.grid_buy_base + self.grid_sell_base) // 2

    @cached_property
    def initial_stock_base(self) -> int:
        """Cost basis of an EV's initial stock, UPOS base units per kWh."""
        if self.initial_stock_price is None:
            return (self.grid_buy_base + self.prosumer_to_ev_base) // 2
        return price_to_base_per_kwh(self.initial_stock_price)

    def ev_sell_price_base(self, basis_base_per_kwh: int) -> int:
        """clamp(basis * (1 + markup), P_gs, P_gb), UPOS base units per kWh (the product floored)."""
        marked_up = basis_base_per_kwh * (BPS + self.ev_markup_bps) // BPS
        return min(max(marked_up, self.grid_sell_base), self.grid_buy_base)

    def grid_bill_base(self, import_wh: int, export_wh: int) -> int:
        """What trading only with the grid costs: imports at P_gb minus exports at P_gs (may be < 0)."""
        return payment_base(import_wh, self.grid_buy_base) - payment_base(export_wh, self.grid_sell_base)


@dataclass(frozen=True)
class SellRule:
    """When an EV's participation counts as verified on the ledger, so that it may sell energy.

    An EV may discharge to a prosumer in period m once it has bid in at least `min_bid_periods` periods
    before m (a participation record the matching contract holds) and, with `require_store`, has also
    stored at least 1 Wh from a prosumer before m. Defaults: one earlier bid, no store needed (a store
    requirement would leave L2, a pure consumer, nothing from its own EV, against Table I).
    """

    min_bid_periods: int = 1
    require_store: bool = False

    def __post_init__(self) -> None:
        if self.min_bid_periods < 0:
            raise PricingError(f"min_bid_periods must be >= 0, got {self.min_bid_periods}")

    def may_sell(self, bid_periods_before: int, stored_before_wh: int) -> bool:
        """Whether an EV with this participation record may sell in the current period."""
        return bid_periods_before >= self.min_bid_periods and (not self.require_store or stored_before_wh > 0)


@dataclass
class EVAccount:
    """One EV's tradable stock (Wh above its lower bound), its weighted-average cost and its cash flows,
    all integers (Wh, UPOS base units)."""

    stock_wh: int
    cost_base: int
    stored_wh: int = 0
    sold_wh: int = 0
    purchases_base: int = 0
    revenue_base: int = 0
    realized_profit_base: int = 0

    @classmethod
    def opening(cls, stock_wh: int, tariffs: Tariffs) -> EVAccount:
        """An account whose initial stock is valued at the tariffs' initial stock price."""
        if stock_wh < 0:
            raise PricingError(f"stock must be >= 0 Wh, got {stock_wh}")
        return cls(stock_wh=stock_wh, cost_base=payment_base(stock_wh, tariffs.initial_stock_base))

    def basis_base_per_kwh(self) -> int:
        """Weighted-average cost of the stock, UPOS base units per kWh (0 for an empty stock)."""
        return self.cost_base * 1000 // self.stock_wh if self.stock_wh else 0

    def store(self, wh: int, price_base_per_kwh: int) -> int:
        """Buys `wh` Wh at `price_base_per_kwh`; returns the payment (base units)."""
        if wh < 0:
            raise PricingError(f"cannot store {wh} Wh")
        paid = payment_base(wh, price_base_per_kwh)
        self.stock_wh += wh
        self.cost_base += paid
        self.stored_wh += wh
        self.purchases_base += paid
        return paid

    def sell(self, wh: int, price_base_per_kwh: int) -> int:
        """Sells `wh` Wh of stock at `price_base_per_kwh`; returns the revenue (base units). The cost
        released is the stock's average cost (floored), so the basis of what remains is unchanged."""
        if not 0 <= wh <= self.stock_wh:
            raise PricingError(f"cannot sell {wh} Wh from a stock of {self.stock_wh} Wh")
        revenue = payment_base(wh, price_base_per_kwh)
        released_cost = self.cost_base * wh // self.stock_wh if self.stock_wh else 0
        self.stock_wh -= wh
        self.cost_base -= released_cost
        self.sold_wh += wh
        self.revenue_base += revenue
        self.realized_profit_base += revenue - released_cost
        return revenue


def settle_exchange(moved_wh: int, account: EVAccount, tariffs: Tariffs) -> int:
    """Settles one step's exchange between a prosumer and its matched EV (`moved_wh` signed as in
    battery.exchange_wh) and returns the prosumer's gain over trading that energy with the grid,
    UPOS base units (>= 0): (P_split - P_gs) per kWh sold, (P_gb - EV price) per kWh bought."""
    if moved_wh > 0:
        paid = account.store(moved_wh, tariffs.prosumer_to_ev_base)
        return paid - payment_base(moved_wh, tariffs.grid_sell_base)
    if moved_wh < 0:
        price = tariffs.ev_sell_price_base(account.basis_base_per_kwh())
        paid = account.sell(-moved_wh, price)
        return payment_base(-moved_wh, tariffs.grid_buy_base) - paid
    return 0
