"""The fog EMS contracts (contracts/mechanisms/fog_ems: EVExchange, PeriodMatching, FogModelRegistry), their
constructor terms and their deploy steps (docs/seed000-contracts.md §1)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from offchain.algorithms.pricing import SellRule, Tariffs
from offchain.chain.steps import ContractRef, Deploy, Grant, Step
from offchain.chain.suites import MARKET_PARAMS, REGISTRY
from offchain.data.seed000 import STEPS_PER_PERIOD

#: Seed 000's matching period and its bidding window, seconds (the paper's 60-s periods).
PERIOD_SECONDS = 60
BIDDING_SECONDS = 30
#: With Hungarian matching the certified result has the first say; greedy opens this much later.
CERTIFIED_FIRST_SECONDS = 30


class MatchingMethod(IntEnum):
    """IPeriodMatching.Method: how a period was matched (PeriodMatched.method)."""

    GREEDY = 0
    CERTIFIED = 1


@dataclass(frozen=True)
class FogEmsTerms:
    """Constructor parameters of the seed 000 contracts.

    `genesis_time`: Unix time period 0 starts (default: the order book's 2026-01-01T00:00Z); periods of
    `period_seconds`, bids taken in the first `bidding_seconds`, the on-chain greedy matcher open
    `greedy_delay_seconds` after bidding closes; `steps_per_period` exchange steps of 10 s per period.
    Prices and the EV sell rule: offchain.algorithms.pricing (docs/seed000.md).
    """

    genesis_time: int = MARKET_PARAMS["genesisTime"]
    period_seconds: int = PERIOD_SECONDS
    bidding_seconds: int = BIDDING_SECONDS
    greedy_delay_seconds: int = CERTIFIED_FIRST_SECONDS
    steps_per_period: int = STEPS_PER_PERIOD
    tariffs: Tariffs = field(default_factory=Tariffs)
    sell_rule: SellRule = field(default_factory=SellRule)

    @property
    def tariffs_struct(self) -> tuple[int, int, int, int, int]:
        """EVExchange.Tariffs: grid buy, grid sell, prosumer->EV (UPOS base units per kWh), EV markup (bps),
        initial stock basis (UPOS base units per kWh)."""
        t = self.tariffs
        return (t.grid_buy_base, t.grid_sell_base, t.prosumer_to_ev_base, t.ev_markup_bps, t.initial_stock_base)

    @property
    def matching_config(self) -> tuple[int, int, int, int, int, bool]:
        """PeriodMatching.Config."""
        return (self.genesis_time, self.period_seconds, self.bidding_seconds, self.greedy_delay_seconds,
                self.sell_rule.min_bid_periods, self.sell_rule.require_store)


def fog_ems_steps(terms: FogEmsTerms = FogEmsTerms()) -> tuple[Step, ...]:
    """The seed 000 contracts as deploy steps on the foundation."""
    return (
        Deploy("EVExchange", (REGISTRY, ContractRef("UPOS"), terms.steps_per_period, terms.tariffs_struct)),
        Deploy("PeriodMatching", (REGISTRY, ContractRef("EVExchange"), terms.matching_config)),
        Grant("MARKET", ContractRef("PeriodMatching")),
        Deploy("FogModelRegistry", (REGISTRY,)),
    )
