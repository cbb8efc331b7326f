"""Seed 001's coalition market through the contracts, on embedded Anvil chains (free ports).

One chain (module scope) runs three slots of the ten-prosumer market with the SCORER worker and the
participant simulator of offchain.mechanisms.coalition_market.chain_run: slot 1 normally, slot 2 with the first drawn
validator missing its window, slot 3 with a member of the mining coalition not paying its fee. The tests compare what the chain recorded with offchain.mechanisms.coalition_market.model
.run_slot computed here from the chain's own seed and stakes. The crash tests use a chain each."""

from __future__ import annotations

import io
import json
from collections import Counter
from dataclasses import dataclass

import pytest

from offchain.algorithms.coalitions import Market
from offchain.algorithms.miner_draw import combine_reveals
from offchain.chain import ChainClient, ContractRevertError
from offchain.data.seed001 import CENTRE_KM, ten_prosumer_instance
from offchain.mechanisms.coalition_market.plan import SlotSettings, run_slot
from offchain.mechanisms.coalition_market.chain_run import Community, Simulation, open_community, run_chain
from offchain.units import payment_base
from offchain.mechanisms import WORKERS
from offchain.workers import FaultInjector, Status, run_worker
from offchain.mechanisms.coalition_market.workers import POEG_MECHANISM, CoalitionMarketWorker

pytestmark = pytest.mark.chain

SEED = 1
SLASH_BPS = SlotSettings().slash_bps


class SimulatedCrash(BaseException):
    """Stands for a killed worker process: nothing in the worker catches it."""


def crash() -> None:
    raise SimulatedCrash


@dataclass
class ThreeSlots:
    community: Community
    simulation: Simulation
    worker: CoalitionMarketWorker


@pytest.fixture(scope="module")
def three_slots(tmp_path_factory: pytest.TempPathFactory) -> ThreeSlots:
    work = tmp_path_factory.mktemp("seed001-chain")
    with (
        open_community(work, n=10, seed=SEED) as community,
        CoalitionMarketWorker(community.chain.scorer, community.chain.manifest, community.source,
                              work / "state") as worker,
    ):
        simulation = Simulation(community, worker, SlotSettings())
        simulation.play_slot(1, miss_first_draw=False)
        simulation.play_slot(2, miss_first_draw=True)
        simulation.play_slot(3, miss_first_draw=False, dodge_fee=True)
        yield ThreeSlots(community, simulation, worker)


def events(community: Community, contract: str, event: str, **filters) -> list[dict]:
    logs = getattr(community.chain.contract(contract).events, event).get_logs(from_block=0, argument_filters=filters)
    return [dict(log["args"]) for log in logs]


def chain_seed(community: Community, slot: int) -> bytes:
    """The seed the chain built, recomputed from the secrets it saw revealed."""
    return combine_reveals({e["account"]: bytes(e["secret"]) for e in events(community, "MinerSelection", "Revealed", slot=slot)})


def test_ten_prosumer_slot_on_chain_equals_run_slot(three_slots: ThreeSlots) -> None:
    c = three_slots.community
    accounts = list(c.source.accounts)
    edc = c.chain.operator.address
    # The thesis' illustration, read here independently of the scenario's forecast feed.
    market = Market.from_frame(ten_prosumer_instance(SEED), CENTRE_KM)
    seed = chain_seed(c, 1)
    assert bytes(c.chain.call("MinerSelection", "roundOf", 1)[0]) == seed
    outcome = run_slot(market, accounts, seed)  # everybody staked its slot-1 score: the default stakes
    view = outcome.chain

    entries = {a: tuple(c.chain.call("ProofScoreRegistry", "entryOf", 1, a)) for a in accounts}
    coalition_of = {i: k for k, members in enumerate(outcome.draw_order) for i in members}
    assert entries == {a: (view.singleton_scores_base[i], view.member_scores_base[i], coalition_of[i] + 1)
                       for i, a in enumerate(accounts)}
    assert c.chain.call("ProofScoreRegistry", "coalitionScores", 1) == outcome.draw_weights

    fees = {e["account"]: e["fee"] for e in events(c, "MiningRewardEscrow", "FeePaid", slot=1)}
    assert fees == {accounts[i]: f for i, f in enumerate(outcome.fees_base) if f > 0}
    assert c.chain.call("MiningRewardEscrow", "miningReward", 1) == outcome.mining_reward_base > 0

    drawn = [(e["attempt"], e["coalition"], e["validator"]) for e in events(c, "MinerSelection", "MinerDrawn", slot=1)]
    assert drawn == [(0, outcome.miner.winner, accounts[outcome.miner.validator])]
    final_miner = (outcome.miner.winner, accounts[outcome.miner.validator])
    assert tuple(c.chain.call("MinerSelection", "finalMiner", 1)) == final_miner

    shared = events(c, "MiningRewardEscrow", "RewardShared", slot=1)
    assert {e["member"]: e["share"] for e in shared} == {accounts[i]: outcome.rewards_base[i] for i in outcome.winning_members}
    assert three_slots.worker.journal("coalition-rewards", 1).status is Status.ACCEPTED

    # Escrow movements of the slot: the committed trades at p_t, then the rewards not routed to a pool.
    expected = Counter()
    price = outcome.price_base_per_kwh
    payments = [(accounts[s], accounts[b], wh) for s, b, wh in view.trades_wh]
    payments += [(accounts[i], edc, wh) for i, wh in enumerate(view.export_wh) if wh > 0]
    payments += [(edc, accounts[i], wh) for i, wh in enumerate(view.import_wh) if wh > 0]
    for seller, buyer, wh in payments:
        expected[seller] += payment_base(wh, price)
        expected[buyer] -= payment_base(wh, price)
    for e in shared:
        if not e["toStakingPool"]:
            expected[e["member"]] += e["share"]
    moved = Counter()
    for e in events(c, "MiningRewardEscrow", "TradeSettled", slot=1):
        moved[e["seller"]] += e["amount"]
        moved[e["buyer"]] -= e["amount"]
    for e in shared:
        if not e["toStakingPool"]:
            moved[e["member"]] += e["share"]
    assert moved == expected

    slot_checks = [check for check in three_slots.simulation.checks if check.slot == 1]
    assert {"escrow balances", "pool stakes", "EPOS supply"} <= {check.name for check in slot_checks}
    assert all(check.ok for check in slot_checks), [check for check in slot_checks if not check.ok]


def test_missed_window_slashes_excludes_and_redraws(three_slots: ThreeSlots) -> None:
    c = three_slots.community
    accounts = list(c.source.accounts)
    (penalty,) = events(c, "MinerSelection", "MinerPenalised", slot=2)
    first, redrawn = events(c, "MinerSelection", "MinerDrawn", slot=2)
    failed = first["validator"]
    assert (penalty["validator"], penalty["reason"], penalty["coalition"]) == (failed, 0, first["coalition"])

    # The pools as the stakers had filled them by the draw (nobody was slashed before this slot).
    drawn_at = c.chain.contract("MinerSelection").events.MinerDrawn.get_logs(
        from_block=0, argument_filters={"slot": 2})[0]["blockNumber"]
    staked = Counter()
    for log in c.chain.contract("Staking").events.Staked.get_logs(from_block=0, to_block=drawn_at):
        staked[log["args"]["validator"]] += log["args"]["amount"]
    outcome = run_slot(c.source.forecast(2).market, accounts, chain_seed(c, 2), SlotSettings(),
                       {accounts.index(failed)}, {i: staked[a] for i, a in enumerate(accounts)})
    assert [(a.coalition, accounts[a.validator], a.mined) for a in outcome.miner.attempts] == [
        (first["coalition"], failed, False), (redrawn["coalition"], redrawn["validator"], True)]
    assert penalty["burned"] == outcome.miner.slashed[accounts.index(failed)] == staked[failed] * SLASH_BPS // 10_000 > 0
    penalised_at = c.chain.contract("MinerSelection").events.MinerPenalised.get_logs(
        from_block=0, argument_filters={"slot": 2})[0]["blockNumber"]
    left = c.chain.contract("Staking").functions.poolStake(failed).call(block_identifier=penalised_at)
    assert left == staked[failed] - penalty["burned"]
    minted = sum(e["total"] for e in events(c, "EPOS", "ScoresMinted"))
    assert c.chain.call("EPOS", "totalSupply") == minted - penalty["burned"]
    assert c.chain.call("MinerSelection", "isExcluded", 2, first["coalition"])
    assert tuple(c.chain.call("MinerSelection", "finalMiner", 2)) == (redrawn["coalition"], redrawn["validator"])

    # The excluded coalition is paid nothing; the redrawn one gets all of M_r by Shapley.
    shared = {e["member"]: e["share"] for e in events(c, "MiningRewardEscrow", "RewardShared", slot=2)}
    assert shared == {accounts[i]: outcome.rewards_base[i] for i in outcome.winning_members}
    assert failed not in shared and sum(shared.values()) == c.chain.call("MiningRewardEscrow", "miningReward", 2) > 0

    # Its stake can start unbonding, but stays frozen after the unbonding ends.
    slashed_validator = next(client for client in c.participants if client.address == failed)
    leaving = c.chain.send(slashed_validator, "Staking", "unstake", failed, 1)
    c.chain.advance_past(c.chain.w3.eth.get_block(leaving["blockNumber"])["timestamp"] + c.terms.unbonding_seconds)
    with pytest.raises(ContractRevertError) as refused:
        slashed_validator.estimate_gas(c.chain.contract("Staking", slashed_validator).functions.withdraw(failed))
    assert refused.value.error_name == "StakeSlashed"
    assert all(check.ok for check in three_slots.simulation.checks if check.slot == 2)


def test_a_member_that_does_not_pay_its_fee_gets_no_share_from_the_worker(three_slots: ThreeSlots) -> None:
    c = three_slots.community
    record = three_slots.simulation.records[2]
    assert record.slot == 3 and len(record.fee_dodgers) == 1
    dodger = record.fee_dodgers[0]
    owed, paid_by_dodger = (c.chain.call("MiningRewardEscrow", f, 3, dodger) for f in ("feeOf", "feePaid"))
    assert owed > 0 == paid_by_dodger
    shared = {e["member"]: e["share"] for e in events(c, "MiningRewardEscrow", "RewardShared", slot=3)}
    assert dodger in shared and shared[dodger] == 0  # the worker gave it nothing, and the escrow accepted that
    paid = sum(e["fee"] for e in events(c, "MiningRewardEscrow", "FeePaid", slot=3))
    assert sum(shared.values()) == c.chain.call("MiningRewardEscrow", "miningReward", 3) == paid > 0
    assert all(check.ok for check in three_slots.simulation.checks if check.slot == 3)


def test_registered_result_worker_supersedes_results_already_on_chain(three_slots: ThreeSlots, tmp_path) -> None:
    c = three_slots.community
    summary = run_worker(WORKERS["coalition-result"], rpc_url=c.chain.anvil.rpc_url,
                         manifest_path=c.chain.manifest_file,
                         state_dir=tmp_path, once=True, account=c.chain.scorer.account, log_stream=io.StringIO(),
                         participants=10, seed=SEED, through_slot=3)
    assert (summary.results, summary.superseded, summary.accepted, summary.failed) == (3, 3, 0, 0)
    assert len(events(c, "ProofScoreRegistry", "ResultSubmitted")) == 3


@pytest.mark.parametrize("crash_point", ["after_send", "after_receipt"])
def test_worker_crash_after_sending_the_result_restarts_without_a_second_submission(tmp_path, crash_point) -> None:
    with open_community(tmp_path, n=10, seed=SEED) as c:
        c.source.through_slot = 1
        state = tmp_path / "state"
        crashing = {"coalition-result": FaultInjector(crash_point, action=crash)}
        with CoalitionMarketWorker(c.chain.scorer, c.chain.manifest, c.source, state, faults=crashing) as worker:
            with pytest.raises(SimulatedCrash):
                worker.run_once()
            assert worker.journal("coalition-scores", 1).status is Status.ACCEPTED
            assert worker.journal("coalition-result", 1).status is Status.SIGNED
            (sent,) = worker.workers["coalition-result"].state.submissions(POEG_MECHANISM, 1)
        assert c.chain.call("ProofScoreRegistry", "isAccepted", POEG_MECHANISM, 1)

        # A new process: a fresh client (own nonce manager) on the same state files.
        restarted_client = ChainClient(c.chain.w3, c.chain.scorer.account)
        with CoalitionMarketWorker(restarted_client, c.chain.manifest, c.source, state) as restarted:
            summary = restarted.run_once()["coalition-result"]
            assert (summary.accepted, summary.results, summary.open) == (1, 0, 0)
            entry = restarted.journal("coalition-result", 1)
            assert (entry.status, entry.tx_hash) == (Status.ACCEPTED, sent.tx_hash)
            assert restarted.workers["coalition-result"].state.submissions(POEG_MECHANISM, 1) == [sent]
            again = restarted.run_once()
            assert all((s.results, s.accepted, s.superseded, s.failed) == (0, 0, 0, 0) for s in again.values())

        assert len(events(c, "ProofScoreRegistry", "ResultSubmitted", slot=1)) == 1
        assert len(events(c, "ProofScoreRegistry", "ResultAccepted", mechanism=POEG_MECHANISM, slot=1)) == 1
        # mintScores and submitResult, once each
        assert c.chain.w3.eth.get_transaction_count(c.chain.scorer.address) == 2


def test_run_chain_reports_the_comparison_and_gas(tmp_path) -> None:
    run = run_chain(tmp_path, n=10, slots=1, missed_slots=(), progress=False)
    assert run.all_match and len(run.checks) > 10
    figures = json.loads((tmp_path / "consensus_gas.json").read_text())
    assert figures["all_match_run_slot"] is True
    slot_gas = sum(t.gas for t in run.transactions if t.phase == "slot")
    assert figures["per_slot"][0]["gas"] == slot_gas > 0
    assert figures["per_slot"][0]["gas_per_participant"] == slot_gas // 10
    steps = figures["per_slot"][0]["steps"]
    assert steps["ProofScoreRegistry.submitResult"]["transactions"] == 1
    assert steps["MinerSelection.commit"]["transactions"] == steps["MinerSelection.reveal"]["transactions"] == 10
    report = (tmp_path / "seed001-chain.md").read_text()
    assert "equal `offchain.mechanisms.coalition_market.plan.run_slot`: yes" in report
    assert (tmp_path / "consensus_gas.md").read_text().startswith("# Seed 001 consensus on chain")
