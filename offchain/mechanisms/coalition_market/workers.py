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

Everything computed here comes from offchain.mechanisms.coalition_market.plan, as ``run_slot`` there
(docs/seed001.md §13): the same coalition formation, canonical partition, trade list and reward split.
Participants' own actions (staking, fees, commit-reveal, mining, settlement, claims) are not the
SCORER's; ``offchain.mechanisms.coalition_market.chain_run`` drives them. Choices: docs/seed001-chain.md.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from web3 import Web3
from web3.contract import Contract

from offchain.chain import ChainClient, ContractRevertError, Manifest
from offchain.workers import (
    ChainEvent,
    FaultInjector,
    RunSummary,
    Worker,
    WorkerOption,
    WorkerSpec,
    contract_events,
)
from offchain.workers.registry import integer, open_worker

from .forecasts import ForecastSource, SeededForecasts, participant_accounts
from .plan import SlotPlan, SlotSettings, plan_slot, reward_split

#: keccak256("seed001.poeg"): the key of a slot's EPOS scores and of its ProofScoreRegistry result.
POEG_MECHANISM = bytes(Web3.keccak(text="seed001.poeg"))
#: keccak256("seed001.rewards"): the key of a slot's reward distribution (MiningRewardEscrow.REWARDS).
REWARDS_MECHANISM = bytes(Web3.keccak(text="seed001.rewards"))


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


def stage_logics(client: ChainClient, manifest: Manifest, planner: SlotPlanner) -> list[ScoreMintLogic | SlotResultLogic | RewardLogic]:
    """The three stages over `manifest`'s contracts, in the order they run (STAGES)."""
    def contract(name: str) -> Contract:
        return client.contract(name, manifest.address(name))

    return [
        ScoreMintLogic(planner, contract("EPOS")),
        SlotResultLogic(planner, contract("ProofScoreRegistry")),
        RewardLogic(planner, client, contract("ProofScoreRegistry"), contract("MinerSelection"),
                    contract("MiningRewardEscrow")),
    ]


def rehearsal_planner(*, participants: int = 10, seed: int = 1, through_slot: int = 1) -> SlotPlanner:
    """The planner of a rehearsal chain prepared by offchain.mechanisms.coalition_market.chain_run: the test
    mnemonic's participant accounts, seeded forecasts for slots 1..through_slot, default settings."""
    accounts = tuple(a.address for a in participant_accounts(participants))
    return SlotPlanner(SeededForecasts(accounts, seed=seed, through_slot=through_slot))


def _stage_factory(position: int) -> Any:
    def make_logic(client: ChainClient, manifest: Manifest, **options: int) -> Any:
        """WorkerSpec factory; options as :func:`rehearsal_planner`."""
        return stage_logics(client, manifest, rehearsal_planner(**options))[position]

    return make_logic


#: The options of the coalition-market stages: which rehearsal community they serve. A slot needs at least
#: one participant (ProofScoreRegistry rejects an empty result); slots are numbered from 1
#: (SeededForecasts.first_slot); the forecasts' random generator takes no negative seed. The upper bounds keep
#: a typo from deriving a million keys or planning a million slots: the thesis' communities have at most 50
#: prosumers, and 10,000 daily slots are 27 years.
COALITION_OPTIONS = {
    "participants": WorkerOption(integer, "number of test-mnemonic participant accounts, 1 to 100 (default 10)",
                                 minimum=1, maximum=100),
    "seed": WorkerOption(integer, "seed of the rehearsal forecasts, 0 to 2^32 - 1 (default 1)", minimum=0,
                         maximum=2**32 - 1),
    "through_slot": WorkerOption(integer, "last slot with forecasts, 1 to 10,000; slots start at 1 (default 1)",
                                 minimum=1, maximum=10_000),
}

#: The three stages as workers, in the order they run (stage_logics): name, results contract, summary.
STAGES: tuple[WorkerSpec, ...] = tuple(
    WorkerSpec(name=logic.name, summary=summary, results_contract=contract, make_logic=_stage_factory(position),
               options=COALITION_OPTIONS)
    for position, (logic, contract, summary) in enumerate((
        (ScoreMintLogic, "EPOS", "seed 001 PoEG member scores as EPOS, once per slot"),
        (SlotResultLogic, "ProofScoreRegistry",
         "seed 001 slot result: scores, canonical coalition partition, trade-list commitment"),
        (RewardLogic, "MiningRewardEscrow", "seed 001 Shapley split of the mining reward once the slot's block is final"),
    ))
)


class CoalitionMarketWorker:
    """The three stages in one process: each :meth:`run_once` runs scores, result, rewards in that order.

    ``client``: the SCORER's ChainClient; ``source``: the forecast feed; state files
    ``<state_dir>/coalition-{scores,result,rewards}.sqlite``. ``faults``: stage name -> crash injection
    (tests; None: each stage reads KWX_WORKER_CRASH_AT). Other options as :class:`Worker`.
    """

    def __init__(self, client: ChainClient, manifest: Manifest, source: ForecastSource, state_dir: str | Path, *,
                 settings: SlotSettings = SlotSettings(), faults: Mapping[str, FaultInjector] | None = None,
                 confirmations: int = 0, block_chunk: int = 2000, receipt_timeout: float = 120.0) -> None:
        self.planner = SlotPlanner(source, settings)
        self.workers: dict[str, Worker] = {}
        try:
            for spec, logic in zip(STAGES, stage_logics(client, manifest, self.planner)):
                self.workers[spec.name] = open_worker(
                    spec, client, manifest, state_dir, logic=logic, confirmations=confirmations,
                    block_chunk=block_chunk, receipt_timeout=receipt_timeout,
                    faults=None if faults is None else faults.get(spec.name, FaultInjector()),
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
