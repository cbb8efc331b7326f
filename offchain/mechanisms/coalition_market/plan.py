"""One slot of seed 001's coalition market, planned off chain in the integers the contracts check: what the
SCORER submits (``plan_slot``: coalitions, scores, canonical partition, trade list; ``reward_split``: the
Shapley split of the mining reward) and the whole slot as a model (``run_slot``: those plus the draw with
penalties and redraws, the fees and M_r, and the Lemma 2 check). The workers and the reproductions both
call these; nothing here touches a chain. Choices: docs/seed001.md.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

import eth_abi
from web3 import Web3

from offchain.algorithms.coalitions import (
    ChainView,
    CoalitionConfig,
    CoalitionResult,
    CoalitionSolver,
    Market,
    MarketMetrics,
    chain_view,
    form_coalitions,
    market_metrics,
)
from offchain.algorithms.miner_draw import (
    OFFCHAIN_DOMAIN,
    CombineMethod,
    CommitDomain,
    MinerOutcome,
    address_key,
    canonical_partition,
    combine_reveals,
    commitment,
    keccak256,
    resolve_miner,
    reveal_matches,
)
from offchain.algorithms.shapley import (
    Lemma2Violation,
    ShapleyResult,
    lemma2_violations,
    mining_fees,
    reward_shares,
    reward_weights,
    savings_worth,
    shapley_values,
)
from offchain.chain.abi import ZERO_ADDRESS
from offchain.units import price_to_base_per_kwh

TRADE_LIST = "(address,address,uint256)[]"


@dataclass(frozen=True)
class SlotSettings:
    """Per-slot economics and algorithm knobs (docs/seed001.md)."""

    coalitions: CoalitionConfig = CoalitionConfig()
    #: p_t, UPOS per kWh (the thesis gives no value).
    price_upos_per_kwh: float = 0.10
    #: delta, the share of each member's saving paid as mining fee, in basis points (thesis 0.1).
    delta_bps: int = 1_000
    #: Share of a failing validator's locked stake burned, in basis points.
    slash_bps: int = 5_000
    combine: CombineMethod = "xor"
    shapley_exact_max: int = 12
    shapley_permutations: int = 1_000


@dataclass
class SlotOutcome:
    """One slot, with every figure a contract would check in integers."""

    market: Market
    addresses: list[str]
    coalitions: CoalitionResult
    chain: ChainView
    metrics: MarketMetrics
    seed: bytes
    draw_order: list[list[int]]  # canonical partition the draw walks (member indices)
    draw_weights: list[int]  # coalition scores, EPOS base units, in draw_order
    miner: MinerOutcome  # coalition indices refer to draw_order
    shapley: ShapleyResult | None
    weight_rule: str
    fees_base: list[int]  # UPOS base units per prosumer
    mining_reward_base: int  # M_r = sum of fees
    rewards_base: list[int]  # UPOS base units per prosumer
    lemma2: list[Lemma2Violation]
    price_base_per_kwh: int
    delta_bps: int
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def winning_members(self) -> list[int]:
        return [] if self.miner.winner is None else self.draw_order[self.miner.winner]

    @property
    def fees_refunded(self) -> bool:
        """Whether the fees go back to their payers: nobody mined, or nobody in the winner may be paid."""
        return self.miner.winner is None or self.weight_rule == "unpayable"


def commit_reveal_seed(
    secrets: Mapping[str, bytes],
    commitments: Mapping[str, bytes],
    method: CombineMethod = "xor",
    domain: CommitDomain = OFFCHAIN_DOMAIN,
) -> tuple[bytes, list[str]]:
    """The slot seed from the reveals that match their commitments (made for `domain`), and the accounts
    whose reveal was missing or wrong (the contract would forfeit their deposits)."""
    valid = {a: s for a, s in secrets.items() if a in commitments and reveal_matches(commitments[a], s, a, domain)}
    return combine_reveals(valid, method), sorted(set(commitments) - set(valid))


def demo_seed(addresses: Sequence[str], label: str, method: CombineMethod = "xor") -> bytes:
    """A reproducible off-chain commit-reveal round: every prosumer commits to keccak256(label, address)
    and reveals it."""
    secrets = {a: keccak256(f"{label}:{a}".encode()) for a in addresses}
    commitments = {a: commitment(s, a, OFFCHAIN_DOMAIN) for a, s in secrets.items()}
    return commit_reveal_seed(secrets, commitments, method)[0]


def run_slot(
    market: Market,
    addresses: Sequence[str],
    seed: bytes,
    settings: SlotSettings = SlotSettings(),
    failing_validators: Collection[int] = (),
    stakes_base: Mapping[int, int] | None = None,
    unstaked_validators: Collection[int] = (),
    unpaid_fees: Collection[int] = (),
) -> SlotOutcome:
    """One slot as the contracts would run it: the SCORER's plan (:func:`plan_slot`), the draw (with
    penalties for `failing_validators`), the fees, M_r and its split (:func:`reward_split`), and Lemma 2.

    addresses: one account per prosumer (their uint160 order drives every tie rule). failing_validators:
    member indices that, once drawn as validator, do not mine. stakes_base: locked EPOS per member index
    (default: each member's score, since the thesis stakes the proof score). unstaked_validators: member
    indices without the minimum bonded self-stake at the commit deadline, skipped when drawn. unpaid_fees:
    member indices that owe a fee and do not pay it: they add nothing to M_r and get no share of it. The
    Shapley worth is the optimal savings game (shapley.savings_worth) whatever `merge_plan` produced the
    partition. `seconds`: "coalitions" (the plan, dominated by forming the coalitions), "draw", "shapley"
    and their sum "slot"."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    plan = plan_slot(0, SlotForecast(tuple(addresses), market), settings)
    timings["coalitions"] = time.perf_counter() - started
    view, order = plan.view, plan.draw_order
    metrics = market_metrics(plan.coalitions, market, settings.coalitions)
    keys = [address_key(a) for a in addresses]

    started = time.perf_counter()
    weights = [sum(view.member_scores_base[i] for i in members) for members in order]
    stakes = stakes_base if stakes_base is not None else dict(enumerate(view.member_scores_base))
    miner = resolve_miner(
        seed, weights, order, view.member_scores_base, keys, failing_validators, stakes, settings.slash_bps,
        unstaked_validators,
    )
    timings["draw"] = time.perf_counter() - started

    price_base = price_to_base_per_kwh(settings.price_upos_per_kwh)
    fees = [0 if i in unpaid_fees else fee
            for i, fee in enumerate(mining_fees(view.savings_base, price_base, settings.delta_bps))]
    mining_reward = sum(fees)
    rewards = [0] * market.n
    shapley, rule = None, "none"
    started = time.perf_counter()
    if miner.winner is not None:
        split = reward_split(plan, [addresses[i] for i in order[miner.winner]], mining_reward, settings,
                             unpaid=[addresses[i] for i in unpaid_fees])
        shapley, rule = split.shapley, split.weight_rule
        for member, share in zip(split.members, split.shares):
            rewards[plan.index_of(member)] = share
    timings["shapley"] = time.perf_counter() - started
    lemma2 = lemma2_violations(view.singleton_scores_base, view.member_scores_base, fees, rewards, price_base)
    timings["slot"] = sum(timings.values())
    return SlotOutcome(
        market, list(addresses), plan.coalitions, view, metrics, seed, order, weights, miner, shapley, rule,
        fees, mining_reward, rewards, lemma2, price_base, settings.delta_bps, timings,
    )


@dataclass(frozen=True)
class SlotForecast:
    """One slot's input: prosumer i of `market` trades from `accounts[i]` (checksummed)."""

    accounts: tuple[str, ...]
    market: Market

    def __post_init__(self) -> None:
        if len(self.accounts) != self.market.n:
            raise ValueError(f"{len(self.accounts)} accounts for {self.market.n} prosumers")


def trades_hash(trades: Sequence[tuple[str, str, int]]) -> bytes:
    """keccak256(abi.encode(Trade[])): the trade-list commitment ProofScoreRegistry stores."""
    return bytes(Web3.keccak(eth_abi.encode([TRADE_LIST], [[tuple(t) for t in trades]])))


@dataclass(frozen=True)
class SlotPlan:
    """What the SCORER submits for one slot (docs/consensus-contracts.md §3).

    `draw_order`: the canonical partition (member indices; members by address, coalitions by their lowest
    member's address), the order the draw walks. `entries`: submitResult's (account, singleton score,
    member score, coalition) in ascending address order, scores in EPOS base units. `trades`: (seller,
    buyer, Wh) — intra-coalition trades in ChainView order, then exports (buyer = address(0), the
    distribution centre) and imports (seller = address(0)) by prosumer index.
    """

    slot: int
    forecast: SlotForecast
    coalitions: CoalitionResult
    view: ChainView
    draw_order: list[list[int]]
    entries: list[tuple[str, int, int, int]]
    trades: list[tuple[str, str, int]]

    @property
    def accounts(self) -> tuple[str, ...]:
        return self.forecast.accounts

    @property
    def trades_hash(self) -> bytes:
        return trades_hash(self.trades)

    def index_of(self, account: str) -> int:
        """The prosumer index of `account`, in any spelling (ValueError if it is not in this slot)."""
        return [address_key(a) for a in self.accounts].index(address_key(account))


def score_entries(view: ChainView, draw_order: Sequence[Sequence[int]], accounts: Sequence[str]) -> list[tuple[str, int, int, int]]:
    """submitResult's entries (account, singleton score, member score, coalition index in `draw_order`),
    ascending by address; scores in EPOS base units."""
    coalition_of = {i: c for c, members in enumerate(draw_order) for i in members}
    return [
        (accounts[i], view.singleton_scores_base[i], view.member_scores_base[i], coalition_of[i])
        for i in sorted(range(len(accounts)), key=lambda i: address_key(accounts[i]))
    ]


def slot_trades(view: ChainView, accounts: Sequence[str]) -> list[tuple[str, str, int]]:
    """The committed trade list (seller, buyer, Wh): intra-coalition trades in ChainView order, then exports
    to the distribution centre (buyer address(0)) and imports from it (seller address(0)) by prosumer index."""
    trades = [(accounts[s], accounts[b], wh) for s, b, wh in view.trades_wh]
    trades += [(accounts[i], ZERO_ADDRESS, wh) for i, wh in enumerate(view.export_wh) if wh > 0]
    trades += [(ZERO_ADDRESS, accounts[i], wh) for i, wh in enumerate(view.import_wh) if wh > 0]
    return trades


def plan_slot(slot: int, forecast: SlotForecast, settings: SlotSettings = SlotSettings()) -> SlotPlan:
    """Coalitions, scores, canonical partition and trade list of one slot (pure; no chain I/O)."""
    accounts = forecast.accounts
    result = form_coalitions(forecast.market, settings.coalitions)
    view = chain_view(result, forecast.market)
    order = canonical_partition(result.partition, [address_key(a) for a in accounts])
    return SlotPlan(slot, forecast, result, view, order, score_entries(view, order, accounts), slot_trades(view, accounts))


@dataclass(frozen=True)
class RewardSplit:
    """The winning coalition's shares of M_r (UPOS base units), members ascending by address."""

    members: list[str]
    shares: list[int]
    weights: list[int]  #: integer weights: Shapley values in EPOS base units (or the fallback rule's)
    weight_rule: str  #: "shapley", "proof_score" or "equal" (shapley.reward_weights)
    shapley: ShapleyResult


def reward_split(plan: SlotPlan, members: Sequence[str], mining_reward_base: int,
                 settings: SlotSettings = SlotSettings(), unpaid: Collection[str] = ()) -> RewardSplit:
    """Splits `mining_reward_base` among `members` (the winning coalition's accounts) by the Shapley value of
    the savings game: exact up to `settings.shapley_exact_max` members, seeded Monte
    Carlo above; the largest remainder rule makes the shares sum to M_r exactly. Members in `unpaid` owed a
    mining fee and did not pay it: they get weight 0."""
    ordered = sorted((Web3.to_checksum_address(m) for m in members), key=address_key)
    indices = [plan.index_of(m) for m in ordered]
    solver = CoalitionSolver(plan.forecast.market, settings.coalitions)
    shapley = shapley_values(indices, savings_worth(solver), exact_max=settings.shapley_exact_max,
                             permutations=settings.shapley_permutations)
    unpaid_keys = {address_key(a) for a in unpaid}
    weights, rule = reward_weights(shapley.values, [plan.view.member_scores_base[i] for i in indices],
                                   [address_key(m) not in unpaid_keys for m in ordered])
    shares = reward_shares(mining_reward_base, weights, rule, [address_key(m) for m in ordered])
    return RewardSplit(ordered, shares, weights, rule, shapley)


