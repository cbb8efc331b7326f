"""The contract suite `kwx deploy` deploys, as ordered steps (offchain/chain/steps.py), and the terms of
each contract group.

SUITE, in dependency order:

1. the foundation (docs/roles.md): ParticipantRegistry, UPOS, EPOS, EnergyCredit;
2. the order book (docs/order-book.md) with MARKET_PARAMS, granted MARKET;
3. the seed 001 consensus contracts (docs/consensus-contracts.md §1): ProofScoreRegistry, Staking (granted
   STAKING), MinerSelection, MiningRewardEscrow, and the wiring call Staking.setMinerSelection. The system
   operator (role OPERATOR) is the distribution centre the escrow settles residual trades with, receives
   forfeited commit deposits and may report invalid blocks;
4. the seed 000 contracts (docs/seed000-contracts.md §1): EVExchange, PeriodMatching (granted MARKET),
   FogModelRegistry;
5. the role grants to the accounts acting as OPERATOR, METER, SCORER, and ADMIN last (skipped when ADMIN is
   the deployer, who holds it from the registry's constructor).

A scenario that needs a group under other terms swaps it with `replace_group(SUITE, consensus_steps(t))`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from offchain.algorithms.pricing import SellRule, Tariffs
from offchain.chain.roles import role_id
from offchain.chain.steps import DEPLOYER, Call, ContractRef, Deploy, Grant, RoleHolder, Step
from offchain.data.seed000 import STEPS_PER_PERIOD
from offchain.units import UPOS_BASE, price_to_base_per_kwh

REGISTRY = ContractRef("ParticipantRegistry")

#: EnergyOrderBook.BookParams, in the struct's field order. Prices in UPOS base units per kWh on a grid of
#: 0.0001 UPOS/kWh; the grid tariffs are seed 000's 29.49 (import) and 6.4 (export) read as UPOS cents per
#: kWh; 15-minute delivery periods counted from 2026-01-01T00:00Z, gate closure 5 minutes before each
#: period starts, books open one day ahead.
MARKET_PARAMS: dict[str, int] = {
    "tickSize": price_to_base_per_kwh("0.0001"),
    "minPrice": price_to_base_per_kwh("0.0001"),
    "maxPrice": price_to_base_per_kwh("1"),
    "genesisTime": 1_767_225_600,
    "periodSeconds": 900,
    "gateLeadSeconds": 300,
    "maxPeriodsAhead": 96,
    "importPrice": price_to_base_per_kwh("0.2949"),
    "exportPrice": price_to_base_per_kwh("0.064"),
}

#: The registry is deployed with the deployer as its admin so that the deployer can make the grants.
FOUNDATION_STEPS: tuple[Step, ...] = (
    Deploy("ParticipantRegistry", (DEPLOYER,)),
    Deploy("UPOS", (REGISTRY,)),
    Deploy("EPOS", (REGISTRY,)),
    Deploy("EnergyCredit", (REGISTRY, "kwx://energy-credit/{id}")),
)

MARKET_STEPS: tuple[Step, ...] = (
    Deploy("EnergyOrderBook", (REGISTRY, ContractRef("UPOS"), ContractRef("EnergyCredit"), tuple(MARKET_PARAMS.values()))),
    Grant("MARKET", ContractRef("EnergyOrderBook")),
)

ROLE_GRANTS: tuple[Step, ...] = (
    Grant("OPERATOR", RoleHolder("OPERATOR")),
    Grant("METER", RoleHolder("METER")),
    Grant("SCORER", RoleHolder("SCORER")),
    Grant("ADMIN", RoleHolder("ADMIN")),
)


@dataclass(frozen=True)
class ConsensusTerms:
    """Constructor parameters of the consensus contracts.

    Windows in seconds, after the slot result is accepted: commit, reveal, mining, challenge (defaults: the
    one-day-slot suggestion of docs/consensus-contracts.md §1). `commit_deposit` in UPOS base units;
    `price_base_per_kwh` p_t in UPOS base units per kWh; `delta_bps` and `slash_bps` in basis points
    (defaults: offchain.scenarios.seed001.SlotSettings). `invalid_block_reporter`: the registry role that
    may report an invalid block. `unbonding_seconds` must exceed commit + reveal + draw; `min_self_stake` in
    EPOS base units.
    """

    commit_seconds: int = 2 * 3_600
    reveal_seconds: int = 2 * 3_600
    mining_seconds: int = 2 * 3_600
    challenge_seconds: int = 4 * 3_600
    commit_deposit: int = UPOS_BASE
    slash_bps: int = 5_000
    slash_freeze_seconds: int = 7 * 86_400
    #: how long unstaked EPOS stays slashable in its pool (longer than commit + reveal + draw, docs §6)
    unbonding_seconds: int = 2 * 86_400
    #: how long after the reveal deadline the draw may come (a later one voids the slot)
    draw_seconds: int = 2 * 3_600
    #: bonded self-stake a validator needs to be drawn, EPOS base units (0.01 EPOS = 0.01 kWh of score)
    min_self_stake: int = 10**16
    price_base_per_kwh: int = price_to_base_per_kwh(0.10)
    delta_bps: int = 1_000
    invalid_block_reporter: str = "OPERATOR"

    def __post_init__(self) -> None:
        if self.unbonding_seconds <= self.commit_seconds + self.reveal_seconds + self.draw_seconds:
            raise ValueError("unbonding_seconds must exceed the commit, reveal and draw windows together, or stake "
                             "could leave between the commit deadline and the draw")

    @property
    def windows(self) -> tuple[int, int, int, int, int]:
        """MinerSelection's Windows struct: (commit, reveal, mining, challenge, draw) seconds."""
        return (self.commit_seconds, self.reveal_seconds, self.mining_seconds, self.challenge_seconds,
                self.draw_seconds)


def consensus_steps(terms: ConsensusTerms = ConsensusTerms()) -> tuple[Step, ...]:
    """The consensus contracts as deploy steps on the foundation, MinerSelection bound into Staking (the
    only contract allowed to lock and slash pools)."""
    upos, epos = ContractRef("UPOS"), ContractRef("EPOS")
    scores, staking, miners = ContractRef("ProofScoreRegistry"), ContractRef("Staking"), ContractRef("MinerSelection")
    operator = RoleHolder("OPERATOR")
    return (
        Deploy("ProofScoreRegistry", (REGISTRY,)),
        Deploy("Staking", (REGISTRY, epos, upos, terms.slash_bps, terms.slash_freeze_seconds,
                           terms.unbonding_seconds, terms.min_self_stake)),
        Grant("STAKING", staking),
        Deploy(
            "MinerSelection",
            (REGISTRY, scores, staking, upos, terms.windows, terms.commit_deposit, operator,
             role_id(terms.invalid_block_reporter)),
        ),
        Call("Staking", "setMinerSelection", (miners,)),
        Deploy(
            "MiningRewardEscrow",
            (REGISTRY, upos, scores, miners, staking, operator, terms.price_base_per_kwh, terms.delta_bps),
        ),
    )


#: Seed 000's matching period and its bidding window, seconds (the paper's 60-s periods).
SEED000_PERIOD_SECONDS = 60
SEED000_BIDDING_SECONDS = 30
#: With Hungarian matching the certified result has the first say; greedy opens this much later.
SEED000_CERTIFIED_FIRST_SECONDS = 30


@dataclass(frozen=True)
class Seed000Terms:
    """Constructor parameters of the seed 000 contracts.

    `genesis_time`: Unix time period 0 starts (default: the order book's 2026-01-01T00:00Z); periods of
    `period_seconds`, bids taken in the first `bidding_seconds`, the on-chain greedy matcher open
    `greedy_delay_seconds` after bidding closes; `steps_per_period` exchange steps of 10 s per period.
    Prices and the EV sell rule: offchain.algorithms.pricing (docs/seed000.md).
    """

    genesis_time: int = MARKET_PARAMS["genesisTime"]
    period_seconds: int = SEED000_PERIOD_SECONDS
    bidding_seconds: int = SEED000_BIDDING_SECONDS
    greedy_delay_seconds: int = SEED000_CERTIFIED_FIRST_SECONDS
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


def seed000_steps(terms: Seed000Terms = Seed000Terms()) -> tuple[Step, ...]:
    """The seed 000 contracts as deploy steps on the foundation."""
    return (
        Deploy("EVExchange", (REGISTRY, ContractRef("UPOS"), terms.steps_per_period, terms.tariffs_struct)),
        Deploy("PeriodMatching", (REGISTRY, ContractRef("EVExchange"), terms.matching_config)),
        Grant("MARKET", ContractRef("PeriodMatching")),
        Deploy("FogModelRegistry", (REGISTRY,)),
    )


#: The whole suite with the default terms, in dependency order.
SUITE: tuple[Step, ...] = FOUNDATION_STEPS + MARKET_STEPS + consensus_steps() + seed000_steps() + ROLE_GRANTS
