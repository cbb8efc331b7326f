"""Seed 001's coalition market through the contracts (`kwx reproduce seed001-coalitions --chain`).

`run_chain` opens a chain with the scenario harness (offchain.scenarios.harness), deploys the whole suite
with the consensus contracts under the run's terms, registers `n` prosumers and runs `slots` one-day slots
end to end:

- the SCORER is offchain.mechanisms.coalition_market.workers.CoalitionMarketWorker (EPOS scores, the slot result and,
  once the block is final, the Shapley rewards; restart-safe through the worker runtime's journal);
- every participant acts from its own key (test-mnemonic accounts 10..): stakes its new EPOS on itself,
  pays its mining fee, commits and reveals a secret, mines when drawn, settles the committed trade list
  (the final miner does it; anyone may), and at the end withdraws its escrow balance and claims its
  staking rewards;
- the chain clock moves past each window's deadline (ScenarioChain.advance_past); in each slot of
  `missed_slots` the first drawn validator lets its mining window pass, is reported, slashed, its coalition
  excluded and a new miner drawn.

After every slot the chain is compared with offchain.mechanisms.coalition_market.plan.run_slot for the same market, seed
(the XOR of the secrets the participants revealed), failing validator and pool stakes: scores and
partition, trade-list commitment, fees and M_r, seed, every draw and slash, the final miner, the reward
shares, escrow balances, pool stakes and the EPOS supply; after the claims, every wallet. Gas comes from
the harness's ledger: the receipt of every transaction, attributed to phase (deploy, setup, slot, claims),
slot, function and sender. Choices: docs/seed001-chain.md.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from offchain.algorithms.miner_draw import (
    CommitDomain,
    address_key,
    combine_reveals,
    commitment,
    keccak256,
    validator_of,
)
from offchain.chain import FIRST_PARTICIPANT_INDEX, MAX_UINT256, ZERO_ADDRESS, ChainClient, Manifest, ParticipantKind, replace_group
from offchain.mechanisms import SUITE
from offchain.mechanisms.coalition_market.forecasts import (
    SeededForecasts,
    seeded_market,
)
from offchain.mechanisms.coalition_market.plan import (
    SlotOutcome,
    SlotSettings,
    run_slot,
    score_entries,
    slot_trades,
    trades_hash,
)
from offchain.mechanisms.coalition_market.workers import CoalitionMarketWorker
from offchain.mechanisms.consensus import ConsensusTerms, Penalty, SlotStatus, consensus_steps
from offchain.progress import progress_bar
from offchain.scenarios.harness import ScenarioChain, TxRecord, gas_by, open_scenario_chain
from offchain.scenarios.markdown import table
from offchain.units import (
    EPOS_BASE,
    UPOS_BASE,
    base_to_upos,
    payment_base,
    price_to_base_per_kwh,
)
from offchain.workers.state import Status

#: Chain seconds between the starts of consecutive slots (one slot = one day, docs/seed001.md §11).
SLOT_SECONDS = 86_400
PARTICIPANT_ETH = 10 * 10**18  #: wei sent from account 0 to each participant for gas
PARTICIPANT_UPOS = 1_000 * UPOS_BASE  #: UPOS minted to each participant
PARTICIPANT_DEPOSIT = 100 * UPOS_BASE  #: of which deposited in the escrow to pay for its purchases
EDC_UPOS = 10_000 * UPOS_BASE  #: minted to the distribution centre (the OPERATOR account)
EDC_DEPOSIT = 1_000 * UPOS_BASE  #: of which deposited to buy the prosumers' exports
#: Steps of a slot in the order they happen (docs/consensus-contracts.md §2); stake and the claims are the
#: participants' housekeeping.
SLOT_STEPS = (
    "EPOS.mintScores",
    "ProofScoreRegistry.submitResult",
    "Staking.stake",
    "MiningRewardEscrow.payFee",
    "MinerSelection.commit",
    "MinerSelection.reveal",
    "MinerSelection.draw",
    "MinerSelection.reportMissedBlock",
    "MinerSelection.mineBlock",
    "MinerSelection.finalise",
    "MiningRewardEscrow.settleTrades",
    "MiningRewardEscrow.distributeReward",
    "MiningRewardEscrow.refundFee",
)
HOUSEKEEPING = frozenset({"Staking.stake"})


def _epos_text(base: int) -> str:
    return f"{base / EPOS_BASE:.4f} EPOS"


def _penalty_text(reason: int) -> str:
    """MinerSelection.Penalty `reason` as the report says it ("missed block")."""
    return Penalty(reason).name.replace("_", " ").lower()


# --- records -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One comparison of the chain with the Python model; `slot` None for the end of the run."""

    slot: int | None
    name: str
    ok: bool
    detail: str


@dataclass
class SlotRecord:
    """What happened in one slot on chain, beside the Python outcome it was checked against."""

    slot: int
    miss_first_draw: bool
    outcome: SlotOutcome
    draws: list[dict[str, Any]]  #: per attempt: coalition, validator, penalty, burned
    mining_reward: int
    rewards: dict[str, int]
    wall_seconds: float
    worker_seconds: float
    fee_dodgers: list[str]  #: winning members that owed a fee and did not pay it (no share for them)


@dataclass
class ChainRun:
    """Everything `run_chain` measured and checked."""

    n: int
    seed: int
    settings: SlotSettings
    terms: ConsensusTerms
    manifest: Manifest
    slots: list[SlotRecord]
    checks: list[Check]
    transactions: list[TxRecord]
    seconds: dict[str, float]

    @property
    def all_match(self) -> bool:
        """Whether every on-chain figure equalled the Python model."""
        return all(c.ok for c in self.checks)

    def gas_report(self) -> dict[str, Any]:
        """The benchmark figures: gas per slot (and per participant), per function, per sender; setup."""
        return gas_report(self)


# --- the community on chain ----------------------------------------------------------------------------------


@dataclass
class Community:
    """The foundation and the consensus contracts under `terms` on `chain`, with `participants` registered and
    funded (prosumer i of the forecasts trades from participants[i])."""

    chain: ScenarioChain
    terms: ConsensusTerms
    participants: list[ChainClient]
    source: SeededForecasts


@contextmanager
def open_community(work_dir: str | Path, *, n: int = 10, seed: int = 1,
                   terms: ConsensusTerms = ConsensusTerms()) -> Iterator[Community]:
    """Opens a scenario chain (EmbeddedAnvil on a free port; manifest and worker state under `work_dir`),
    deploys SUITE with the consensus contracts under `terms` (Staking bound to MinerSelection by the suite),
    and registers, funds and approves `n` participants at the positions of the seeded forecasts; stops the
    chain on exit."""
    with open_scenario_chain(work_dir) as chain:
        chain.deploy(replace_group(SUITE, consensus_steps(terms)))
        participants = chain.participants(FIRST_PARTICIPANT_INDEX, n)
        source = SeededForecasts(tuple(client.address for client in participants), seed=seed)
        community = Community(chain, terms, participants, source)
        _register(community)
        yield community


def _register(community: Community) -> None:
    """Registers each participant at its forecast position (metres), funds it with ETH and UPOS, approves
    the consensus contracts and deposits its trading balance; the distribution centre likewise."""
    chain = community.chain
    market = seeded_market(len(community.participants), community.source.seed, 0)  # positions are the same every day
    miners, escrow, staking = (chain.manifest.address(n) for n in ("MinerSelection", "MiningRewardEscrow", "Staking"))
    participants = community.participants
    for client, (x_km, y_km) in zip(participants, market.xy_km):
        chain.send_eth(client.address, PARTICIPANT_ETH)  # Anvil funded only accounts 0-9
        chain.register(client, ParticipantKind.PROSUMER, x_m=round(x_km * 1000), y_m=round(y_km * 1000))
    chain.send_all([*((chain.admin, "UPOS", "mint", (c.address, PARTICIPANT_UPOS)) for c in participants),
                    (chain.admin, "UPOS", "mint", (chain.operator.address, EDC_UPOS))])
    chain.send_all((c, token, "approve", (spender, MAX_UINT256)) for c in participants
                   for token, spender in (("UPOS", miners), ("UPOS", escrow), ("EPOS", staking)))
    chain.send_all([(chain.operator, "UPOS", "approve", (escrow, MAX_UINT256))])
    chain.send_all([*((c, "MiningRewardEscrow", "deposit", (PARTICIPANT_DEPOSIT,)) for c in participants),
                    (chain.operator, "MiningRewardEscrow", "deposit", (EDC_DEPOSIT,))])


# --- the simulation ------------------------------------------------------------------------------------------


class Simulation:
    """Drives the participants slot by slot beside the SCORER worker, keeps the Python model of every
    balance (escrow, pools, EPOS supply, fees) and compares the chain with it."""

    def __init__(self, community: Community, worker: CoalitionMarketWorker, settings: SlotSettings) -> None:
        self.community = community
        self.chain = community.chain
        self.participants = community.participants
        self.worker = worker
        self.settings = settings
        self.edc = community.chain.operator.address
        accounts = list(community.source.accounts)
        self.by_address = {client.address: client for client in community.participants}
        self.escrow = {a: PARTICIPANT_DEPOSIT for a in accounts} | {self.edc: EDC_DEPOSIT}
        self.pools = dict.fromkeys(accounts, 0)  #: each self-staked pool's stake, EPOS base units
        self.stakes_made = Counter[str]()
        self.pooled_rewards: dict[str, list[int]] = defaultdict(list)
        self.fees = dict.fromkeys(accounts, 0)  #: fees paid from the wallet (void slots refund into the escrow)
        self.epos_supply = 0
        self.checks: list[Check] = []
        self.records: list[SlotRecord] = []

    # --- one slot --------------------------------------------------------------------------------------------

    def play_slot(self, slot: int, miss_first_draw: bool, dodge_fee: bool = False) -> SlotRecord:
        """One slot end to end: the worker's scores and result, stakes, fees, commit-reveal, draw, mining
        (after a missed window if `miss_first_draw`), settlement, the worker's rewards; then the checks. With
        `dodge_fee`, one member of the coalition that will mine (the participants' secrets are fixed, so the
        outcome is known in advance) owes a fee and does not pay it: the escrow must give it no share."""
        chain, started = self.chain, time.perf_counter()
        if self.records:
            chain.advance_past(self._result(self.records[-1].slot)["acceptedAt"] + SLOT_SECONDS - 1)
        chain.ledger.mark("slot", slot)
        first_block = chain.w3.eth.block_number + 1
        self.community.source.through_slot = slot
        worker_seconds = self._run_worker()
        result = self.worker.journal("coalition-result", slot)
        if result is None or result.status is not Status.ACCEPTED:
            raise RuntimeError(f"slot {slot}: the SCORER's result was not accepted ({result})")
        trades = [tuple(t) for t in result.payload["trades"]]
        self._stake_new_scores()

        # The Python model: the same market and seed (every participant will reveal its secret), the
        # failing validator of its own first draw, the pool stakes it tracked itself.
        forecast = self.community.source.forecast(slot)
        secrets = self._secrets(slot)
        seed = combine_reveals(secrets, "xor")
        stakes = {i: self.pools[a] for i, a in enumerate(forecast.accounts)}
        # Every pool here is a self-stake, staked before the commit deadline: eligible if it reaches the minimum.
        unstaked = {i for i, stake in stakes.items() if stake < self.community.terms.min_self_stake}

        def model(failing: Collection[int] = (), unpaid: Collection[int] = ()) -> SlotOutcome:
            return run_slot(forecast.market, forecast.accounts, seed, self.settings, failing, stakes, unstaked, unpaid)

        outcome = model()
        failing = {next(a.validator for a in outcome.miner.attempts if not a.skipped)} if miss_first_draw else set()
        outcome = model(failing)
        owing = [i for i in outcome.winning_members if outcome.fees_base[i] > 0]
        dodgers = set(owing[:1]) if dodge_fee else set()
        if dodgers:
            outcome = model(failing, dodgers)

        self._pay_fees(slot, skip={forecast.accounts[i] for i in dodgers})
        self._commit_reveal(slot, secrets)
        chain.send(self.participants[0], "MinerSelection", "draw", slot)

        final = self._mine(slot, miss_first_draw)
        if final is None:
            self._refund_fees(slot)
        else:
            chain.send(self.by_address[final], "MiningRewardEscrow", "settleTrades", slot, trades)
            worker_seconds += self._run_worker()
            if outcome.fees_refunded:
                self._refund_fees(slot)
        self._model_slot(outcome)
        record = self._record(slot, miss_first_draw, outcome, first_block, time.perf_counter() - started, worker_seconds,
                              sorted(forecast.accounts[i] for i in dodgers))
        self._check_slot(record, first_block, seed)
        self.records.append(record)
        return record

    def _run_worker(self) -> float:
        started = time.perf_counter()
        self.worker.run_once()
        return time.perf_counter() - started

    def _result(self, slot: int) -> dict[str, Any]:
        fields = ("tradesHash", "acceptedAt", "participants", "coalitions", "totalScore")
        return dict(zip(fields, self.chain.call("ProofScoreRegistry", "slotResult", slot)))

    def _stake_new_scores(self) -> None:
        """Every participant stakes the EPOS in its wallet on itself (the thesis stakes the proof score)."""
        balances = {c.address: self.chain.call("EPOS", "balanceOf", c.address) for c in self.participants}
        stakers = [c for c in self.participants if balances[c.address] > 0]
        self.chain.send_all((c, "Staking", "stake", (c.address, balances[c.address])) for c in stakers)
        for client in stakers:
            self.pools[client.address] += balances[client.address]
            self.stakes_made[client.address] += 1

    def _pay_fees(self, slot: int, skip: Collection[str] = ()) -> None:
        payers = [c for c in self.participants
                  if c.address not in skip and self.chain.call("MiningRewardEscrow", "feeOf", slot, c.address) > 0]
        self.chain.send_all((c, "MiningRewardEscrow", "payFee", (slot,)) for c in payers)

    def _secrets(self, slot: int) -> dict[str, bytes]:
        """Each participant's secret for `slot` (fixed by the run's seed, so the draw can be foreseen)."""
        return {p.address: keccak256(f"kwx-seed001-chain:{self.community.source.seed}:{slot}:{p.address}".encode())
                for p in self.participants}

    def _commit_reveal(self, slot: int, secrets: Mapping[str, bytes]) -> None:
        chain = self.chain
        domain = CommitDomain(slot, chain.manifest.address("MinerSelection"), chain.w3.eth.chain_id)
        chain.send_all((c, "MinerSelection", "commit", (slot, commitment(secrets[c.address], c.address, domain)))
                       for c in self.participants)
        chain.advance_past(chain.call("MinerSelection", "commitDeadline", slot))
        chain.send_all((c, "MinerSelection", "reveal", (slot, secrets[c.address])) for c in self.participants)
        chain.advance_past(chain.call("MinerSelection", "revealDeadline", slot))

    def _round(self, slot: int) -> dict[str, Any]:
        fields = ("seed", "drawHash", "blockHash", "validator", "coalition", "attempt", "commits", "deadline",
                  "minedAt", "reveals", "status")
        return dict(zip(fields, self.chain.call("MinerSelection", "roundOf", slot)))

    def _mine(self, slot: int, miss_first_draw: bool) -> str | None:
        """The drawn validator mines (the first one lets its window pass if `miss_first_draw`); returns the
        final miner once its block is final, None for a void slot."""
        chain = self.chain
        to_miss = miss_first_draw
        while True:
            round_ = self._round(slot)
            if round_["status"] == SlotStatus.VOID:
                return None
            if round_["status"] != SlotStatus.MINING:
                raise RuntimeError(f"slot {slot}: unexpected draw status {round_['status']}")
            if to_miss:
                to_miss = False
                chain.advance_past(round_["deadline"])
                chain.send(self.participants[0], "MinerSelection", "reportMissedBlock", slot)
                continue
            block_hash = keccak256(bytes(self._result(slot)["tradesHash"]) + slot.to_bytes(32, "big"))
            validator = self.by_address[round_["validator"]]
            chain.send(validator, "MinerSelection", "mineBlock", slot, block_hash)
            chain.advance_past(self._round(slot)["minedAt"] + self.community.terms.challenge_seconds)
            chain.send(validator, "MinerSelection", "finalise", slot)  # anyone may; it releases the validator's pool
            return round_["validator"]

    def _refund_fees(self, slot: int) -> None:
        for client in self.participants:
            if self.chain.call("MiningRewardEscrow", "feePaid", slot, client.address) > 0:
                self.chain.send(client, "MiningRewardEscrow", "refundFee", slot)

    def _model_slot(self, outcome: SlotOutcome) -> None:
        """The slot's money and stakes as the Python model has them."""
        accounts = outcome.addresses
        view = outcome.chain
        self.epos_supply += sum(view.member_scores_base) - sum(outcome.miner.slashed.values())
        for i, burned in outcome.miner.slashed.items():
            self.pools[accounts[i]] -= burned
        for i, fee in enumerate(outcome.fees_base):
            self.fees[accounts[i]] += fee
            if outcome.fees_refunded:  # a void slot, or nobody in the winner may be paid: the fee goes back to the escrow balance
                self.escrow[accounts[i]] += fee
        if outcome.miner.winner is None:
            return
        price = outcome.price_base_per_kwh
        for seller, buyer, wh in slot_trades(view, accounts):
            amount = payment_base(wh, price)
            self.escrow[seller if seller != ZERO_ADDRESS else self.edc] += amount
            self.escrow[buyer if buyer != ZERO_ADDRESS else self.edc] -= amount
        validator = accounts[outcome.miner.validator]
        for i in outcome.winning_members:
            if accounts[i] == validator and self.pools[validator] > 0:
                self.pooled_rewards[validator].append(outcome.rewards_base[i])
            else:
                self.escrow[accounts[i]] += outcome.rewards_base[i]

    # --- what the chain recorded -------------------------------------------------------------------------------

    def _events(self, contract: str, event: str, slot: int, from_block: int) -> list[dict[str, Any]]:
        logs = getattr(self.chain.contract(contract).events, event).get_logs(
            from_block=from_block, argument_filters={"slot": slot})
        return [dict(log["args"]) for log in logs]

    def _record(self, slot: int, miss_first_draw: bool, outcome: SlotOutcome, first_block: int, wall: float,
                worker_seconds: float, fee_dodgers: list[str]) -> SlotRecord:
        penalties = {e["attempt"]: e for e in self._events("MinerSelection", "MinerPenalised", slot, first_block)}
        draws = []
        for drawn in self._events("MinerSelection", "MinerDrawn", slot, first_block):
            penalty = penalties.get(drawn["attempt"])
            draws.append({"attempt": drawn["attempt"], "coalition": drawn["coalition"], "validator": drawn["validator"],
                          "penalty": None if penalty is None else _penalty_text(penalty["reason"]),
                          "burned": 0 if penalty is None else penalty["burned"]})
        for skipped in self._events("MinerSelection", "MinerSkipped", slot, first_block):
            draws.append({"attempt": skipped["attempt"], "coalition": skipped["coalition"],
                          "validator": skipped["validator"], "penalty": "skipped (below the minimum self-stake)", "burned": 0})
        draws.sort(key=lambda d: d["attempt"])
        rewards = {e["member"]: e["share"] for e in self._events("MiningRewardEscrow", "RewardShared", slot, first_block)}
        mining_reward = self.chain.call("MiningRewardEscrow", "miningReward", slot)
        return SlotRecord(slot, miss_first_draw, outcome, draws, mining_reward,
                          rewards, wall, worker_seconds, fee_dodgers)

    def _check(self, slot: int | None, name: str, expected: Any, observed: Any, detail: str) -> None:
        ok = expected == observed
        self.checks.append(Check(slot, name, ok, detail if ok else f"expected {expected!r}, chain {observed!r}"))

    def _check_slot(self, record: SlotRecord, first_block: int, seed: bytes) -> None:
        chain, slot, outcome = self.chain, record.slot, record.outcome
        accounts, view = outcome.addresses, outcome.chain
        keys = [address_key(a) for a in accounts]

        entries = [(a, s, m, k + 1) for a, s, m, k in score_entries(view, outcome.draw_order, accounts)]
        on_chain = [(a, *chain.call("ProofScoreRegistry", "entryOf", slot, a)) for a, *_ in entries]
        self._check(slot, "scores and partition", entries, on_chain,
                    f"{len(entries)} participants in {len(outcome.draw_order)} coalitions")
        validators = [accounts[validator_of(m, view.member_scores_base, keys)] for m in outcome.draw_order]
        chain_coalitions = [chain.call("ProofScoreRegistry", "coalitionOf", slot, k)
                            for k in range(len(outcome.draw_order))]
        self._check(slot, "coalition scores and validators", list(zip(outcome.draw_weights, validators)),
                    [(score, validator) for score, _, validator in chain_coalitions],
                    f"total {_epos_text(sum(outcome.draw_weights))}")
        self._check(slot, "trade-list commitment", trades_hash(slot_trades(view, accounts)),
                    bytes(self._result(slot)["tradesHash"]), f"{len(slot_trades(view, accounts))} trades")

        paid = {e["account"]: e["fee"] for e in self._events("MiningRewardEscrow", "FeePaid", slot, first_block)}
        expected_fees = {accounts[i]: f for i, f in enumerate(outcome.fees_base) if f > 0}
        self._check(slot, "mining fees", expected_fees, paid, f"{len(paid)} payers")
        expected_reward = 0 if outcome.fees_refunded else outcome.mining_reward_base
        self._check(slot, "M_r", expected_reward, record.mining_reward, f"{base_to_upos(expected_reward):.6f} UPOS")

        self._check(slot, "commit-reveal seed", seed, bytes(self._round(slot)["seed"]), f"XOR of {len(accounts)} reveals")
        python_draws = [
            (a.attempt, a.coalition, accounts[a.validator],
             0 if a.mined or a.skipped else outcome.miner.slashed[a.validator])
            for a in outcome.miner.attempts
        ]
        chain_draws = [(d["attempt"], d["coalition"], d["validator"], d["burned"]) for d in record.draws]
        self._check(slot, "draws, slashes and redraws", python_draws, chain_draws,
                    " -> ".join(f"coalition {k}" + (f" (failed, {_epos_text(b)} burned)" if b else "")
                                for _, k, _, b in python_draws) or "void")
        excluded = [k for k in range(len(outcome.draw_order)) if chain.call("MinerSelection", "isExcluded", slot, k)]
        self._check(slot, "excluded coalitions", sorted(outcome.miner.excluded), excluded, f"{excluded}")
        if outcome.miner.winner is not None:
            self._check(slot, "final miner", (outcome.miner.winner, accounts[outcome.miner.validator]),
                        tuple(chain.call("MinerSelection", "finalMiner", slot)), f"coalition {outcome.miner.winner}")
        expected_rewards = {accounts[i]: outcome.rewards_base[i] for i in outcome.winning_members}
        self._check(slot, "Shapley reward shares", expected_rewards, record.rewards,
                    f"{len(expected_rewards)} members, weights {outcome.weight_rule}")

        self._check(slot, "escrow balances", self.escrow,
                    {a: chain.call("MiningRewardEscrow", "balanceOf", a) for a in self.escrow},
                    f"{len(self.escrow)} accounts incl. the distribution centre")
        self._check(slot, "pool stakes", self.pools, {a: chain.call("Staking", "poolStake", a) for a in self.pools},
                    f"{sum(1 for v in self.pools.values() if v)} pools")
        self._check(slot, "EPOS supply", self.epos_supply, chain.call("EPOS", "totalSupply"),
                    f"{_epos_text(self.epos_supply)} minted minus burned")
        self._check(slot, "Lemma 2 (nobody below its singleton score)", [], outcome.lemma2, "0 violations")

    # --- the end of the run ------------------------------------------------------------------------------------

    def claims(self) -> None:
        """Each participant withdraws its escrow balance and claims its staking rewards; the distribution
        centre withdraws too. Checks every wallet against the model."""
        chain = self.chain
        chain.ledger.mark("claims")
        expected, observed, claims = {}, {}, {}
        for client in [*self.participants, chain.operator]:
            account = client.address
            wallet_before = chain.call("UPOS", "balanceOf", account)
            balance = chain.call("MiningRewardEscrow", "balanceOf", account)
            if balance > 0:
                chain.send(client, "MiningRewardEscrow", "withdraw", balance)
            pending = chain.call("Staking", "pendingRewards", account, account)
            if pending > 0:
                chain.send(client, "Staking", "claimRewards", account)
            observed[account] = chain.call("UPOS", "balanceOf", account)
            claimed = observed[account] - wallet_before - balance
            if self.pooled_rewards[account] or claimed:
                claims[account] = (sum(self.pooled_rewards[account]), claimed, pending)
            edc = client is chain.operator
            minted, deposited = (EDC_UPOS, EDC_DEPOSIT) if edc else (PARTICIPANT_UPOS, PARTICIPANT_DEPOSIT)
            expected[account] = minted - deposited - self.fees.get(account, 0) + self.escrow[account] + claimed
        # Staking floors the reward per share: each reward or stake operation may leave < 1 base unit behind.
        dust_ok = all(claimed == pending and 0 <= pooled - claimed <= len(self.pooled_rewards[a]) + self.stakes_made[a]
                      for a, (pooled, claimed, pending) in claims.items())
        self.checks.append(Check(None, "staking rewards claimed = validator shares paid to pools (less rounding dust)",
                                 dust_ok, "; ".join(f"{a[:10]} pooled {p}, claimed {cl}" for a, (p, cl, _) in claims.items())
                                 or "no pooled rewards"))
        self._check(None, "UPOS wallets after withdrawals and claims", expected, observed,
                    f"{len(expected)} accounts: minted - deposit - fees + escrow balance + staking rewards")


# --- running it ----------------------------------------------------------------------------------------------


def run_chain(
    out_dir: str | Path,
    *,
    n: int = 10,
    slots: int = 3,
    seed: int = 1,
    missed_slots: Collection[int] = (2,),
    dodged_slots: Collection[int] = (3,),
    progress: bool = True,
    settings: SlotSettings = SlotSettings(),
) -> ChainRun:
    """Runs `slots` slots (numbered 1..slots) of `n` prosumers through the contracts on a fresh embedded
    Anvil; in the slots of `missed_slots` the first drawn validator misses its mining window, in those of
    `dodged_slots` a member of the mining coalition owes a fee and does not pay it. Writes
    seed001-chain.md (the checks against run_slot, each slot, gas) and consensus_gas.json / .md (the gas
    benchmark) under `out_dir`. The chain's manifest and the worker's state live in a temporary folder
    that goes with the chain."""
    if settings.combine != "xor":
        raise ValueError("MinerSelection combines reveals by XOR only")
    terms = ConsensusTerms(price_base_per_kwh=price_to_base_per_kwh(settings.price_upos_per_kwh),
                           delta_bps=settings.delta_bps, slash_bps=settings.slash_bps)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    with (
        tempfile.TemporaryDirectory(prefix="kwx-seed001-chain-") as work,
        progress_bar(progress) as bars,
        open_community(work, n=n, seed=seed, terms=terms) as community,
        # faults={}: no stage reads KWX_WORKER_CRASH_AT in process (see ScenarioChain.open_worker)
        CoalitionMarketWorker(community.chain.scorer, community.chain.manifest, community.source,
                              community.chain.work_dir, settings=settings, faults={}) as worker,
    ):
        task = bars.add_task(f"seed001 slots on chain, n = {n}", total=slots) if bars else None
        seconds["setup"] = time.perf_counter() - started
        simulation = Simulation(community, worker, settings)
        for slot in range(1, slots + 1):
            simulation.play_slot(slot, slot in missed_slots, slot in dodged_slots)
            if bars:
                bars.advance(task)
        claims_started = time.perf_counter()
        simulation.claims()
        seconds["claims"] = time.perf_counter() - claims_started
        transactions = community.chain.ledger.records()
        seconds["total"] = time.perf_counter() - started
        run = ChainRun(n, seed, settings, terms, community.chain.manifest, simulation.records, simulation.checks,
                       transactions, seconds)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "seed001-chain.md").write_text(report_markdown(run))
    write_gas_benchmark(run, out)
    return run


def reproduce_chain(
    out_dir: str | Path,
    *,
    n: int = 10,
    slots: int = 3,
    seed: int = 1,
    progress: bool = True,
    benchmark_dir: str | Path | None = None,
) -> ChainRun:
    """`kwx reproduce seed001-coalitions --chain`: run_chain with one missed mining window in slot 2 and an
    unpaid fee in slot 3, its report under `out_dir`; with `benchmark_dir` (e.g. benchmarks/) the gas benchmark
    is written there too."""
    run = run_chain(out_dir, n=n, slots=slots, seed=seed, missed_slots=(2,), dodged_slots=(3,), progress=progress)
    if benchmark_dir is not None:
        write_gas_benchmark(run, Path(benchmark_dir))
    return run


# --- figures and reports -------------------------------------------------------------------------------------


def _ordered(functions: Collection[str]) -> list[str]:
    """Slot steps in lifecycle order, anything else after them alphabetically."""
    known = [f for f in SLOT_STEPS if f in functions]
    return known + sorted(set(functions) - set(known))


def gas_report(run: ChainRun) -> dict[str, Any]:
    """Gas (receipt gasUsed) per slot — in all, per participant, per step, per sender and what each
    participant's own transactions used — per function over the slots, and the one-time phases."""
    slot_txs = [t for t in run.transactions if t.phase == "slot"]
    participant_accounts_ = {t.account for t in run.transactions if t.sender == "participant"}
    per_slot = []
    for record in run.slots:
        txs = [t for t in slot_txs if t.slot == record.slot]
        steps = gas_by(txs, "function")
        calls = Counter(t.function for t in txs)
        own = gas_by([t for t in txs if t.sender == "participant"], "account")
        own_gas = [own.get(a, 0) for a in participant_accounts_]
        total = sum(steps.values())
        consensus = total - sum(steps.get(f, 0) for f in HOUSEKEEPING)
        per_slot.append({
            "slot": record.slot,
            "missed_window": record.miss_first_draw,
            "unpaid_fees": len(record.fee_dodgers),
            "draws": len(record.draws),
            "transactions": len(txs),
            "gas": total,
            "gas_per_participant": total // run.n,
            "consensus_gas": consensus,
            "consensus_gas_per_participant": consensus // run.n,
            "participant_own_gas": {"min": min(own_gas), "mean": sum(own_gas) // len(own_gas), "max": max(own_gas)},
            "steps": {f: {"transactions": calls[f], "gas": steps[f]} for f in _ordered(steps)},
            "by_sender": dict(sorted(gas_by(txs, "sender").items())),
            "wall_seconds": round(record.wall_seconds, 3),
            "worker_seconds": round(record.worker_seconds, 3),
        })
    functions = {}
    for function in _ordered({t.function for t in slot_txs}):
        used = [t.gas for t in slot_txs if t.function == function]
        functions[function] = {"transactions": len(used), "gas": sum(used), "mean": sum(used) // len(used),
                               "min": min(used), "max": max(used)}
    one_time = {}
    for phase in ("deploy", "setup", "claims"):
        txs = [t for t in run.transactions if t.phase == phase]
        one_time[phase] = {"transactions": len(txs), "gas": sum(t.gas for t in txs),
                           "functions": dict(sorted(gas_by(txs, "function").items()))}
    slot_gas = sum(t.gas for t in slot_txs)
    return {
        "n": run.n,
        "slots": len(run.slots),
        "per_slot": per_slot,
        "functions": functions,
        "one_time": one_time,
        "totals": {
            "transactions": len(run.transactions),
            "slot_transactions": len(slot_txs),
            "slot_gas": slot_gas,
            "mean_gas_per_slot": slot_gas // len(run.slots),
            "mean_gas_per_participant_per_slot": slot_gas // (len(run.slots) * run.n),
        },
        "seconds": {k: round(v, 3) for k, v in run.seconds.items()},
    }


def _machine() -> str:
    load = os.getloadavg() if hasattr(os, "getloadavg") else ()
    return (f"{platform.machine()}, Python {platform.python_version()}, load average at the end "
            f"{[round(v, 2) for v in load]}")


def _verdict(run: ChainRun) -> str:
    failed = [c for c in run.checks if not c.ok]
    if not failed:
        return (f"**On-chain results equal `offchain.mechanisms.coalition_market.plan.run_slot`: yes** — all {len(run.checks)} "
                "checks (scores and partition, trade commitment, fees and M_r, seed, draws and slashes, final "
                "miner, reward shares, escrow balances, pool stakes, EPOS supply, wallets after the claims).")
    return (f"**On-chain results equal `offchain.mechanisms.coalition_market.plan.run_slot`: NO** — {len(failed)} of "
            f"{len(run.checks)} checks failed: " + "; ".join(f"slot {c.slot} {c.name}: {c.detail}" for c in failed))


def gas_markdown(run: ChainRun, report: dict[str, Any] | None = None) -> str:
    """The gas benchmark as Markdown (the figures of gas_report)."""
    report = report or gas_report(run)
    slots = report["per_slot"]
    heads = [f"slot {s['slot']}" + (" (missed window)" if s["missed_window"] else "") for s in slots]
    rows = []
    for function, figures in report["functions"].items():
        cells = []
        for s in slots:
            step = s["steps"].get(function)
            cells.append("—" if step is None else f"{step['gas']:,} ({step['transactions']})")
        rows.append([function, *cells, f"{figures['mean']:,}"])
    rows.append(["**per slot**", *(f"**{s['gas']:,}**" for s in slots), ""])
    rows.append(["per participant", *(f"{s['gas_per_participant']:,}" for s in slots), ""])
    rows.append(["per slot without stake", *(f"{s['consensus_gas']:,}" for s in slots), ""])
    rows.append(["  per participant", *(f"{s['consensus_gas_per_participant']:,}" for s in slots), ""])
    rows.append(["transactions", *(str(s["transactions"]) for s in slots), ""])
    rows.append(["wall s (worker s)", *(f"{s['wall_seconds']:.2f} ({s['worker_seconds']:.2f})" for s in slots), ""])
    senders = sorted({k for s in slots for k in s["by_sender"]})
    sender_rows = [[who, *(f"{s['by_sender'].get(who, 0):,}" for s in slots)] for who in senders]
    sender_rows.append(["one participant's own txs (min / mean / max)",
                        *(f"{s['participant_own_gas']['min']:,} / {s['participant_own_gas']['mean']:,} / "
                          f"{s['participant_own_gas']['max']:,}" for s in slots)])
    once = report["one_time"]
    setup_functions = ", ".join(f"{f} {g:,}" for f, g in once["setup"]["functions"].items())
    totals = report["totals"]
    lines = [
        f"# Seed 001 consensus on chain: gas per slot (n = {run.n} prosumers, {len(slots)} slots)",
        "",
        f"Generated {datetime.now(timezone.utc).isoformat(timespec='seconds')} by "
        "`offchain.mechanisms.coalition_market.chain_run` on an embedded Anvil (cancun rules, Avalanche C-Chain charges "
        f"the same gas schedule); figures are receipt `gasUsed`. {_machine()}.",
        "",
        _verdict(run),
        "",
        "Gas per step (transactions in brackets); the last column is the mean per call over all slots:",
        "",
        table(["step", *heads, "mean per call"], rows),
        "",
        "By sender (SCORER = the coalition-market worker):",
        "",
        table(["sender", *heads], sender_rows),
        "",
        f"Over the run: {totals['slot_transactions']} slot transactions, {totals['mean_gas_per_slot']:,} gas per "
        f"slot and {totals['mean_gas_per_participant_per_slot']:,} per participant per slot on average. "
        f"Staking is counted in the slot (participants stake each slot's new EPOS); docs/consensus-contracts.md §9 "
        "counts it as one-time.",
        "",
        f"One-time: deployment {once['deploy']['gas']:,} gas ({once['deploy']['transactions']} transactions: "
        + ", ".join(f"{f.removeprefix('deploy ')} {g:,}" for f, g in once["deploy"]["functions"].items())
        + f"); setup {once['setup']['gas']:,} gas ({once['setup']['transactions']} transactions: {setup_functions}); "
        f"claims at the end {once['claims']['gas']:,} gas ({once['claims']['transactions']} transactions).",
        "",
        f"Wall time: setup {report['seconds']['setup']:.1f} s, claims {report['seconds']['claims']:.1f} s, "
        f"total {report['seconds']['total']:.1f} s (including starting Anvil and deploying).",
        "",
    ]
    return "\n".join(lines)


def write_gas_benchmark(run: ChainRun, directory: str | Path) -> list[Path]:
    """Writes consensus_gas.json (gas_report plus the checks) and consensus_gas.md under `directory`."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    report = gas_report(run)
    payload = {
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "generator": "offchain.mechanisms.coalition_market.chain_run.run_chain",
        "machine": _machine(),
        "seed": run.seed,
        "terms": asdict(run.terms),
        "all_match_run_slot": run.all_match,
        "checks": [asdict(c) for c in run.checks],
        **report,
    }
    paths = [directory / "consensus_gas.json", directory / "consensus_gas.md"]
    paths[0].write_text(json.dumps(payload, indent=2, default=str) + "\n")
    paths[1].write_text(gas_markdown(run, report))
    return paths


def report_markdown(run: ChainRun) -> str:
    """seed001-chain.md: the verdict, each slot as the chain ran it, every check, then the gas figures."""
    lines = [
        "# Seed 001, chapter 3 — the coalition market on chain",
        "",
        f"`offchain.mechanisms.coalition_market.chain_run.run_chain`: {run.n} prosumers, {len(run.slots)} one-day slots, seed "
        f"{run.seed}, p_t = {base_to_upos(run.terms.price_base_per_kwh):g} UPOS/kWh, δ = {run.terms.delta_bps / 10_000:g}, "
        f"slash {run.terms.slash_bps / 100:g} %; windows commit / reveal / mining / challenge "
        f"{' / '.join(f'{w // 60} min' for w in run.terms.windows)}. Choices: docs/seed001-chain.md.",
        "",
        _verdict(run),
        "",
        "## Slots",
        "",
    ]
    for record in run.slots:
        outcome = record.outcome
        names = {a: f"P{i}" for i, a in enumerate(outcome.addresses)}
        draws = " → ".join(
            f"coalition {d['coalition']} ({names[d['validator']]} validates)"
            + (f", {d['penalty']}: {d['burned'] / EPOS_BASE:.4f} EPOS burned, coalition excluded" if d["penalty"] else ", mined")
            for d in record.draws
        ) or "no draw (void)"
        partition = "; ".join("{" + ", ".join(names[outcome.addresses[i]] for i in members) + "}"
                              for members in outcome.draw_order)
        rewards = ", ".join(f"{names[a]} {share / UPOS_BASE:.6f}" for a, share in record.rewards.items())
        events = [text for flag, text in ((record.miss_first_draw, "the first drawn validator misses its window"),
                                          (record.fee_dodgers, "a member of the mining coalition does not pay its fee"))
                  if flag]
        dodged = [f"- unpaid fee: {', '.join(names[a] for a in record.fee_dodgers)} (no share of M_r)"] if record.fee_dodgers else []
        lines += [
            f"### Slot {record.slot}" + "".join(f" — {text}" for text in events),
            "",
            *dodged,
            f"- partition in draw order: {partition}",
            f"- saving {100 * outcome.metrics.saving_accounted:.1f} % of the loss trading alone; local share "
            f"{100 * outcome.metrics.local_share_of_balances:.1f} %",
            f"- draws: {draws}",
            f"- M_r = {record.mining_reward / UPOS_BASE:.6f} UPOS; shares (UPOS): {rewards or 'none'}",
            "",
        ]
    lines += ["## Checks against run_slot", "",
              table(["slot", "check", "equal", "detail"],
                    [[c.slot if c.slot is not None else "end", c.name, "yes" if c.ok else "**NO**", c.detail]
                     for c in run.checks]),
              "", gas_markdown(run).replace("# Seed 001 consensus on chain", "## Gas", 1)]
    return "\n".join(lines)


if __name__ == "__main__":  # python -m offchain.mechanisms.coalition_market.chain_run [OUT_DIR]: also refreshes benchmarks/
    from offchain.chain.artifacts import project_root

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("out/seed001-chain")
    result = reproduce_chain(target, benchmark_dir=project_root() / "benchmarks")
    print(_verdict(result))
    sys.exit(0 if result.all_match else 1)
