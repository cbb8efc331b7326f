"""Constants and helpers shared by the fog EMS contract tests (seed 000: PeriodMatching, EVExchange,
FogModelRegistry), imported by this unique module name (every test folder has a conftest.py of its own).
The contracts' terms come from offchain.mechanisms.fog_ems.terms, the shared test helpers from
tests/contracts/contract_helpers.py."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from contract_helpers import latest_time, warp  # noqa: F401  (re-exported for the tests)

from offchain.algorithms.battery import BatterySpec
from offchain.algorithms.pricing import SellRule, Tariffs
from offchain.chain.abi import ParticipantKind
from offchain.data.seed000 import STEPS_PER_PERIOD  # noqa: F401  (re-exported for the tests)
from offchain.mechanisms.fog_ems.terms import BIDDING_SECONDS, PERIOD_SECONDS, FogEmsTerms  # noqa: F401

TARIFFS = Tariffs()  #: the paper's prices (docs/seed000.md §7), also the Python model's defaults
#: Battery window of the shared fixture's EVs (tests/contracts/conftest.py): [15,900, 63,600] Wh.
BASE_SPEC = BatterySpec(reserve_wh=0)
#: The paper's window with a week's driving reserve: [55,250, 63,600] Wh.
SEED000_SPEC = BatterySpec()
DEPOSIT = 1_000 * 10**18  #: UPOS base units every actor keeps in the exchange


def tariffs_tuple(tariffs: Tariffs = TARIFFS) -> tuple:
    """IEVExchange.Tariffs from the Python model's integer prices (UPOS base units per kWh)."""
    return FogEmsTerms(tariffs=tariffs).tariffs_struct


def matching_config(
    genesis_time: int = 0, greedy_delay: int = 0, min_bid_periods: int = 1, require_store: bool = False
) -> tuple:
    """IPeriodMatching.Config: 60-s periods bidding in their first 30 s, the given sell rule (default
    SellRule())."""
    terms = FogEmsTerms(genesis_time=genesis_time, greedy_delay_seconds=greedy_delay,
                        sell_rule=SellRule(min_bid_periods, require_store))
    return terms.matching_config


def next_period(matching) -> int:
    """A period whose bidding window has not opened yet (the one after the clock's)."""
    return (latest_time() - matching.genesisTime()) // matching.periodSeconds() + 1


def open_bidding(matching, period: int) -> None:
    warp(matching.biddingOpensAt(period))


def close_bidding(matching, period: int) -> None:
    warp(matching.biddingClosesAt(period))


def end_period(matching, period: int) -> None:
    warp(matching.biddingOpensAt(period + 1))


def fresh_bidding_period(matching) -> int:
    """The next period, with its bidding window just opened."""
    period = next_period(matching)
    open_bidding(matching, period)
    return period


def register_ev(registry, operator, account, spec: BatterySpec) -> None:
    registry.register(account, ParticipantKind.EV, 0, 0, spec.capacity_wh, spec.lower_wh, spec.upper_wh,
                      {"from": operator})


def fund(upos, exchange, admin, account, amount: int = DEPOSIT) -> None:
    """Mints `amount` UPOS to `account` and deposits it into the exchange."""
    upos.mint(account, amount, {"from": admin})
    upos.approve(exchange, amount, {"from": account})
    exchange.deposit(amount, {"from": account})


@dataclass
class RandomPeriod:
    """Random bids of one period, per agent (index = agent), and the arrival orders they are sent in."""

    net: np.ndarray
    available: np.ndarray
    capacity: np.ndarray
    prosumer_order: np.ndarray
    ev_order: np.ndarray

    def arrival_net(self) -> np.ndarray:
        return self.net[self.prosumer_order]

    def arrival_available(self) -> np.ndarray:
        return self.available[self.ev_order]

    def arrival_capacity(self) -> np.ndarray:
        return self.capacity[self.ev_order]


def random_period(rng: np.random.Generator, headroom: list[tuple[int, int]], prosumers: int) -> RandomPeriod:
    """Prosumer nets in [-9,000, 9,000] Wh with some zeros; EV bids up to each EV's headroom (available,
    free capacity) with some zeros; random arrival orders."""
    net = rng.integers(-9_000, 9_001, prosumers)
    net[rng.random(prosumers) < 0.15] = 0
    available = np.array([rng.integers(0, a + 1) if rng.random() > 0.2 else 0 for a, _ in headroom], dtype=np.int64)
    capacity = np.array([rng.integers(0, c + 1) if rng.random() > 0.2 else 0 for _, c in headroom], dtype=np.int64)
    return RandomPeriod(net, available, capacity, rng.permutation(prosumers), rng.permutation(len(headroom)))


def place_bids(matching, period: int, prosumers, evs, bids: RandomPeriod) -> None:
    """Sends the bids of `bids` in their arrival orders (bidding window open)."""
    for i in bids.prosumer_order.tolist():
        matching.bidProsumer(period, int(bids.net[i]), {"from": prosumers[i]})
    for j in bids.ev_order.tolist():
        matching.bidEV(period, int(bids.available[j]), int(bids.capacity[j]), {"from": evs[j]})


def matched_accounts(exchange, period: int) -> list[tuple[str, str]]:
    """The (prosumer, EV) pairs of `period` in matching-id order."""
    opened, _, matches = exchange.periodMatches(period)
    assert opened
    return [(m[0], m[1]) for m in matches]
