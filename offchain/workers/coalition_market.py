"""Seed 001's coalition market worker (the SCORER): per slot, PoEG scores, the stable coalition partition and
its trades on chain, and after the draw resolves the Shapley split of the mining reward.

Three result keys per slot, each accepted once by its contract and each submitted by its own runtime
:class:`~offchain.workers.runtime.Worker` (own SQLite cursor and journal, so a crash anywhere and a restart
never submit a key twice; docs/workers.md):

| stage | call | key |
|---|---|---|
| ``coalition-scores`` | ``EPOS.mintScores(POEG, slot, holders, member scores)`` | (keccak256("seed001.poeg"), slot) on EPOS |
| ``coalition-result`` | ``ProofScoreRegistry.submitResult(slot, entries, tradesHash)`` | (keccak256("seed001.poeg"), slot) |
| ``coalition-rewards`` | ``MiningRewardEscrow.distributeReward(slot, members, shares)`` | (keccak256("seed001.rewards"), slot) |

The first two are ready as soon as the slot's forecasts are (a :class:`ForecastSource`); the third reads
``ScoreRecorded`` (ProofScoreRegistry) and ``MinerDrawn`` / ``BlockMined`` / ``MinerPenalised``
(MinerSelection) and is ready once ``finalMiner(slot)`` stops reverting (someone called ``finalise``): it
splits ``miningReward(slot)`` as read from the chain (fees are closed by then, so the figure no longer
changes) among the winning coalition's members by Shapley value, with the integer rule of
``offchain.algorithms.shapley.split_reward``; a member that owed a fee and did not pay it gets nothing (if that
is every member, all shares are 0 and the escrow refunds the fees).
:class:`CoalitionMarketWorker` runs the three stages in one process, in that order.

Everything computed here is the integer view ``offchain.scenarios.seed001.run_slot`` produces
(docs/seed001.md §13): the same coalition formation, canonical partition, trade list and reward split.
Participants' own actions (staking, fees, commit-reveal, mining, settlement, claims) are not the
SCORER's; ``offchain.scenarios.seed001_chain`` drives them. Choices: docs/seed001-chain.md.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import eth_abi
import numpy as np
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract

from offchain.algorithms.coalitions import ChainView, CoalitionResult, CoalitionSolver, Market, chain_view, form_coalitions
from offchain.algorithms.miner_draw import address_key, canonical_partition
from offchain.algorithms.shapley import ShapleyResult, reward_shares, reward_weights, savings_worth, shapley_values
from offchain.chain import ANVIL_TEST_MNEMONIC, ChainClient, ContractRevertError, Manifest, account_from_mnemonic
from offchain.data.seed001 import (
    MEAN_CONSUMPTION_KWH,
    MEAN_GENERATION_KWH,
    SD_KWH,
    daily_energy_kwh,
    scaling_instance,
    ten_prosumer_instance,
)
from offchain.scenarios.seed001 import SlotSettings

from .runtime import ChainEvent, FaultInjector, RunSummary, Worker
from .web3_chain import Web3ResultChain, contract_events

#: keccak256("seed001.poeg"): the key of a slot's EPOS scores and of its ProofScoreRegistry result.
POEG_MECHANISM = bytes(Web3.keccak(text="seed001.poeg"))
#: keccak256("seed001.rewards"): the key of a slot's reward distribution (MiningRewardEscrow.REWARDS).
REWARDS_MECHANISM = bytes(Web3.keccak(text="seed001.rewards"))
ZERO_ADDRESS = "0x" + "00" * 20
TRADE_LIST = "(address,address,uint256)[]"
#: Test-mnemonic index of the first rehearsal participant (0-3 hold the local roles, 4-9 the tests' accounts).
PARTICIPANT_FIRST_INDEX = 10


# --- forecasts --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlotForecast:
    """One slot's input: prosumer i of `market` trades from `accounts[i]` (checksummed)."""

    accounts: tuple[str, ...]
    market: Market

    def __post_init__(self) -> None:
        if len(self.accounts) != self.market.n:
            raise ValueError(f"{len(self.accounts)} accounts for {self.market.n} prosumers")


class ForecastSource(Protocol):
    """Where the worker gets each slot's forecasts (positions, production, consumption) from."""

    def slots(self) -> Iterable[int]:
        """Slots whose forecasts are complete."""

    def forecast(self, slot: int) -> SlotForecast:
        """The forecasts of a slot listed by `slots` (the same answer every time it is asked)."""


def seeded_market(n: int, seed: int, day: int) -> Market:
    """The rehearsal market of day `day` for `n` prosumers: positions and day 0 from the seed 001 instances
    (the thesis' 10-prosumer illustration for n = 10, else a normal scaling instance), later days with
    fresh normal daily profiles (thesis means and sd) at the same positions."""
    frame = ten_prosumer_instance(seed) if n == 10 else scaling_instance(n, "normal", seed)
    if day > 0:
        rng = np.random.default_rng([seed, n, day, 1001])
        frame = frame.assign(
            consumption_kwh=daily_energy_kwh(rng, n, MEAN_CONSUMPTION_KWH, SD_KWH, "normal"),
            production_kwh=daily_energy_kwh(rng, n, MEAN_GENERATION_KWH, SD_KWH, "normal"),
        )
    return Market.from_frame(frame, frame.attrs["centre_km"])


def participant_accounts(n: int, mnemonic: str = ANVIL_TEST_MNEMONIC) -> list[LocalAccount]:
    """The `n` rehearsal participants: accounts PARTICIPANT_FIRST_INDEX.. of the test mnemonic."""
    return [account_from_mnemonic(mnemonic, PARTICIPANT_FIRST_INDEX + i) for i in range(n)]


@dataclass
class SeededForecasts:
    """A rehearsal forecast feed: slot `first_slot + d` carries :func:`seeded_market` day d for `accounts`.
    Forecasts are out up to `through_slot` (None: none yet); raise it as slots open."""

    accounts: tuple[str, ...]
    seed: int = 1
    first_slot: int = 1
    through_slot: int | None = None
    _markets: dict[int, Market] = field(default_factory=dict, init=False, repr=False)

    def slots(self) -> range:
        last = self.first_slot - 1 if self.through_slot is None else self.through_slot
        return range(self.first_slot, last + 1)

    def forecast(self, slot: int) -> SlotForecast:
        if slot not in self.slots():
            raise KeyError(f"no forecast for slot {slot} (published: {self.slots()})")
        if slot not in self._markets:
            self._markets[slot] = seeded_market(len(self.accounts), self.seed, slot - self.first_slot)
        return SlotForecast(tuple(self.accounts), self._markets[slot])


# --- the slot computed off chain --------------------------------------------------------------------------


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
        """The prosumer index of `account` (ValueError if it is not in this slot)."""
        return self.accounts.index(Web3.to_checksum_address(account))


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
    the savings game, exactly as run_slot: exact up to `settings.shapley_exact_max` members, seeded Monte
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


class SlotPlanner:
    """Plans slots from a forecast source, once per slot (the stages share one planner)."""

    def __init__(self, source: ForecastSource, settings: SlotSettings = SlotSettings()) -> None:
        self.source = source
        self.settings = settings
        self._plans: dict[int, SlotPlan] = {}

    def ready(self) -> list[int]:
        return list(self.source.slots())

    def plan(self, slot: int) -> SlotPlan:
        if slot not in self._plans:
            self._plans[slot] = plan_slot(slot, self.source.forecast(slot), self.settings)
        return self._plans[slot]


# --- the three stages -------------------------------------------------------------------------------------


class _PlannedStage:
    """A stage driven by the forecasts alone: it reads no events and is ready when the planner is."""

    mechanism = POEG_MECHANISM
    schema = ""
    planner: SlotPlanner
    name: str

    def fetch_events(self, from_block: int, to_block: int) -> list[ChainEvent]:
        return []

    def apply(self, db: sqlite3.Connection, event: ChainEvent) -> None:
        raise AssertionError(f"{self.name} reads no events, got {event.name}")

    def ready_slots(self, db: sqlite3.Connection) -> list[int]:
        return self.planner.ready()


class ScoreMintLogic(_PlannedStage):
    """Stage 1: each scored participant's member score as EPOS (what it stakes), once per slot.
    Participants with a zero score get nothing (EPOS mints only positive amounts here)."""

    name = "coalition-scores"

    def __init__(self, planner: SlotPlanner, epos: Contract) -> None:
        self.planner = planner
        self.epos = epos

    def identity(self) -> dict[str, str]:
        return {"epos": self.epos.address}

    def compute(self, db: sqlite3.Connection, slot: int) -> dict[str, Any]:
        """``{"accounts": [...], "amounts": [EPOS base units]}``, ascending by address, positive scores only."""
        holders = [(account, member) for account, _, member, _ in self.planner.plan(slot).entries if member > 0]
        return {"accounts": [a for a, _ in holders], "amounts": [m for _, m in holders]}

    def call_for(self, slot: int, payload: dict[str, Any]) -> Any:
        return self.epos.functions.mintScores(self.mechanism, slot, payload["accounts"], payload["amounts"])


class SlotResultLogic(_PlannedStage):
    """Stage 2: the slot result — scores, canonical partition and the trade-list commitment."""

    name = "coalition-result"

    def __init__(self, planner: SlotPlanner, scores: Contract) -> None:
        self.planner = planner
        self.scores = scores

    def identity(self) -> dict[str, str]:
        return {"proof_score_registry": self.scores.address}

    def compute(self, db: sqlite3.Connection, slot: int) -> dict[str, Any]:
        """``{"entries": [[account, singleton, member, coalition], ...], "trades": [[seller, buyer, wh], ...],
        "trades_hash": "0x..."}``: the trade list is published with the commitment so that anyone can settle."""
        plan = self.planner.plan(slot)
        return {"entries": [list(e) for e in plan.entries], "trades": [list(t) for t in plan.trades],
                "trades_hash": Web3.to_hex(plan.trades_hash)}

    def call_for(self, slot: int, payload: dict[str, Any]) -> Any:
        entries = [tuple(e) for e in payload["entries"]]
        return self.scores.functions.submitResult(slot, entries, bytes.fromhex(payload["trades_hash"][2:]))


REWARDS_SCHEMA = """
CREATE TABLE IF NOT EXISTS scored (
    slot      INTEGER NOT NULL,
    account   TEXT    NOT NULL,
    coalition INTEGER NOT NULL,
    PRIMARY KEY (slot, account)
);
CREATE TABLE IF NOT EXISTS draws (
    slot      INTEGER NOT NULL,
    attempt   INTEGER NOT NULL,
    coalition INTEGER NOT NULL,
    validator TEXT    NOT NULL,
    mined     INTEGER NOT NULL DEFAULT 0,
    penalised INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (slot, attempt)
);
"""


class RewardLogic:
    """Stage 3: once a slot's block is final, the winning coalition's Shapley shares of M_r."""

    name = "coalition-rewards"
    mechanism = REWARDS_MECHANISM
    schema = REWARDS_SCHEMA

    def __init__(self, planner: SlotPlanner, client: ChainClient, scores: Contract, miners: Contract,
                 escrow: Contract) -> None:
        self.planner = planner
        self.client = client
        self.scores = scores
        self.miners = miners
        self.escrow = escrow

    def identity(self) -> dict[str, str]:
        return {"proof_score_registry": self.scores.address, "miner_selection": self.miners.address,
                "mining_reward_escrow": self.escrow.address}

    def fetch_events(self, from_block: int, to_block: int) -> list[ChainEvent]:
        return [
            *contract_events(self.scores.events.ScoreRecorded, from_block, to_block),
            *contract_events(self.miners.events.MinerDrawn, from_block, to_block),
            *contract_events(self.miners.events.BlockMined, from_block, to_block),
            *contract_events(self.miners.events.MinerPenalised, from_block, to_block),
        ]

    def apply(self, db: sqlite3.Connection, event: ChainEvent) -> None:
        args = event.args
        if event.name == "ScoreRecorded":
            db.execute("INSERT INTO scored (slot, account, coalition) VALUES (?, ?, ?)",
                       (args["slot"], args["account"], args["coalition"]))
        elif event.name == "MinerDrawn":
            db.execute("INSERT INTO draws (slot, attempt, coalition, validator) VALUES (?, ?, ?, ?)",
                       (args["slot"], args["attempt"], args["coalition"], args["validator"]))
        elif event.name == "BlockMined":
            db.execute("UPDATE draws SET mined = 1 WHERE slot = ? AND attempt = ?", (args["slot"], args["attempt"]))
        elif event.name == "MinerPenalised":
            db.execute("UPDATE draws SET penalised = 1 WHERE slot = ? AND attempt = ?", (args["slot"], args["attempt"]))

    def ready_slots(self, db: sqlite3.Connection) -> list[int]:
        """Slots with a mined, unpenalised block past its challenge window (finalMiner answers)."""
        forecast = set(self.planner.ready())
        mined = [slot for (slot,) in db.execute("SELECT slot FROM draws WHERE mined = 1 AND penalised = 0")]
        return [slot for slot in mined if slot in forecast and self._is_final(slot)]

    def _is_final(self, slot: int) -> bool:
        try:
            self.client.call(self.miners.functions.finalMiner(slot))
        except ContractRevertError as revert:
            if revert.error_name == "BlockNotFinal":
                return False
            raise
        return True

    def compute(self, db: sqlite3.Connection, slot: int) -> dict[str, Any]:
        """``{"coalition", "validator", "members", "shares", "mining_reward", "weights", "weight_rule"}``:
        members of the final miner's coalition (as the chain recorded them) ascending, shares of
        miningReward(slot) in UPOS base units."""
        coalition, validator = db.execute(
            "SELECT coalition, validator FROM draws WHERE slot = ? AND mined = 1 AND penalised = 0", (slot,)
        ).fetchone()
        members = [a for (a,) in db.execute("SELECT account FROM scored WHERE slot = ? AND coalition = ?",
                                            (slot, coalition))]
        mining_reward = int(self.client.call(self.escrow.functions.miningReward(slot)))
        unpaid = [m for m in members if int(self.client.call(self.escrow.functions.feePaid(slot, m))) == 0
                  and int(self.client.call(self.escrow.functions.feeOf(slot, m))) > 0]
        split = reward_split(self.planner.plan(slot), members, mining_reward, self.planner.settings, unpaid)
        return {"coalition": coalition, "validator": validator, "members": split.members, "shares": split.shares,
                "mining_reward": mining_reward, "weights": split.weights, "weight_rule": split.weight_rule}

    def call_for(self, slot: int, payload: dict[str, Any]) -> Any:
        return self.escrow.functions.distributeReward(slot, payload["members"], payload["shares"])


#: Each stage and the contract that accepts its results (WorkerSpec.results_contract).
STAGE_CONTRACTS: dict[str, str] = {
    ScoreMintLogic.name: "EPOS",
    SlotResultLogic.name: "ProofScoreRegistry",
    RewardLogic.name: "MiningRewardEscrow",
}


def stage_logics(client: ChainClient, manifest: Manifest, planner: SlotPlanner) -> list[ScoreMintLogic | SlotResultLogic | RewardLogic]:
    """The three stages over `manifest`'s contracts, in the order they run."""
    def contract(name: str) -> Contract:
        return client.contract(name, manifest.address(name))

    return [
        ScoreMintLogic(planner, contract("EPOS")),
        SlotResultLogic(planner, contract("ProofScoreRegistry")),
        RewardLogic(planner, client, contract("ProofScoreRegistry"), contract("MinerSelection"),
                    contract("MiningRewardEscrow")),
    ]


class CoalitionMarketWorker:
    """The three stages in one process: each :meth:`run_once` runs scores, result, rewards in that order.

    ``client``: the SCORER's ChainClient; ``source``: the forecast feed; state files
    ``<state_dir>/coalition-{scores,result,rewards}.sqlite``. ``faults``: stage name -> crash injection
    (tests; None: each stage reads KWX_WORKER_CRASH_AT). Other options as :class:`Worker`.
    """

    def __init__(self, client: ChainClient, manifest: Manifest, source: ForecastSource, state_dir: str | Path, *,
                 settings: SlotSettings = SlotSettings(), faults: Mapping[str, FaultInjector] | None = None,
                 confirmations: int = 0, block_chunk: int = 2000, receipt_timeout: float = 120.0) -> None:
        from .registry import state_path  # registry.py lists these stages, so it imports this module first

        self.planner = SlotPlanner(source, settings)
        self.workers: dict[str, Worker] = {}
        try:
            for logic in stage_logics(client, manifest, self.planner):
                results = client.contract(STAGE_CONTRACTS[logic.name], manifest.address(STAGE_CONTRACTS[logic.name]))
                self.workers[logic.name] = Worker(
                    logic, Web3ResultChain(client, results, block_chunk=block_chunk), state_path(logic.name, state_dir),
                    confirmations=confirmations, start_block=manifest.deploy_block, block_chunk=block_chunk,
                    receipt_timeout=receipt_timeout,
                    faults=None if faults is None else faults.get(logic.name, FaultInjector()),
                )
        except BaseException:
            self.close()
            raise

    def run_once(self) -> dict[str, RunSummary]:
        """One pass of every stage; returns each stage's summary."""
        return {name: worker.run_once() for name, worker in self.workers.items()}

    def journal(self, stage: str, slot: int) -> Any:
        """The journal entry of `stage` for `slot` (None if it has none)."""
        worker = self.workers[stage]
        return worker.state.entry(worker.logic.mechanism, slot)

    def close(self) -> None:
        for worker in self.workers.values():
            worker.close()

    def __enter__(self) -> CoalitionMarketWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- `kwx worker coalition-...` (WORKERS in registry.py) --------------------------------------------------


def rehearsal_planner(*, participants: int = 10, seed: int = 1, through_slot: int = 1) -> SlotPlanner:
    """The planner of a rehearsal chain prepared by offchain.scenarios.seed001_chain: the test mnemonic's
    participant accounts, seeded forecasts for slots 1..through_slot, default settings."""
    accounts = tuple(a.address for a in participant_accounts(participants))
    return SlotPlanner(SeededForecasts(accounts, seed=seed, through_slot=through_slot))


def make_scores_logic(client: ChainClient, manifest: Manifest, **options: int) -> ScoreMintLogic:
    """WorkerSpec factory; options as :func:`rehearsal_planner`."""
    return stage_logics(client, manifest, rehearsal_planner(**options))[0]


def make_result_logic(client: ChainClient, manifest: Manifest, **options: int) -> SlotResultLogic:
    """WorkerSpec factory; options as :func:`rehearsal_planner`."""
    return stage_logics(client, manifest, rehearsal_planner(**options))[1]


def make_rewards_logic(client: ChainClient, manifest: Manifest, **options: int) -> RewardLogic:
    """WorkerSpec factory; options as :func:`rehearsal_planner`."""
    return stage_logics(client, manifest, rehearsal_planner(**options))[2]
