"""BenefitConsensus: the round's phases, the winner rule (> N_p/2 + 1 confirmations, then highest benefit),
the cumulative chain score, the false-benefit exclusion, every revert path, and the attacks."""

import brownie
import pytest
from brownie import web3
from contract_helpers import INVALID_TIMING, UNAUTHORIZED, custom_error
from hypothesis import given, settings
from hypothesis import strategies as st
from pob_support import (
    COMMIT_SECONDS,
    MAX_PROPOSALS,
    MAX_WINDOW,
    REVEAL_END_SECONDS,
    ROUND_SECONDS,
    ZERO,
    Proposal,
    latest_time,
)

from offchain.algorithms.pebt import benefit
from offchain.chain.roles import role_id

FLAT = [100_000, 100_500, 101_000, 101_500]  # a straight ramp: the best benefit
BUMPY = [100_000, 104_000, 99_000, 103_000]
NONE = "0x" + "00" * 32


def outcome(consensus, round_):
    finalised, winner, lam, score = consensus.outcomeOf(round_)
    return finalised, bytes(winner), lam, score


def test_contract_benefit_equals_python_on_examples(consensus):
    for window in (FLAT, BUMPY, [5, 5], [-3_000, 7_000, -11_000, 2_000]):
        assert consensus.benefitOf(window) == benefit(window)
    assert consensus.benefitOf([1, 1, 1]) == 10**18  # a flat window: PF = 0, lambda = scale


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(-10**9, 10**9), min_size=2, max_size=6))
def test_contract_benefit_equals_python(consensus, window):
    assert consensus.benefitOf(window) == benefit(window)


def test_the_best_confirmed_block_wins_and_scores(consensus, driver, peers):
    round_ = driver.fresh_round()
    good = Proposal(round_, peers[0], bytes(consensus.head()), FLAT)
    worse = Proposal(round_, peers[1], bytes(consensus.head()), BUMPY)
    score_before = consensus.chainScore()
    driver.play([good, worse], {good.block_hash(): peers[:4], worse.block_hash(): peers[4:]})
    finalised, winner, lam, score = outcome(consensus, round_)
    assert finalised and winner == good.block_hash() and lam == benefit(FLAT)
    assert score == score_before + lam == consensus.chainScore()
    assert bytes(consensus.head()) == good.block_hash()
    # the next round builds on it and adds its own benefit
    nxt = driver.fresh_round()
    follow = Proposal(nxt, peers[2], good.block_hash(), BUMPY)
    driver.play([follow], {follow.block_hash(): peers})
    assert consensus.chainScore() == score_before + benefit(FLAT) + benefit(BUMPY)
    assert bytes(consensus.head()) == follow.block_hash()


def test_identical_blocks_share_confirmations_and_the_first_revealer_proposes(consensus, driver, peers):
    round_ = driver.fresh_round()
    a = Proposal(round_, peers[0], bytes(consensus.head()), FLAT, salt=b"\x01" * 32)
    b = Proposal(round_, peers[1], bytes(consensus.head()), FLAT, salt=b"\x02" * 32)
    assert a.block_hash() == b.block_hash()
    driver.play([a, b], {a.block_hash(): peers[:4]})
    block = consensus.blockOf(round_, a.block_hash())
    assert block[0] == peers[0] and block[1] == 4
    assert outcome(consensus, round_)[1] == a.block_hash()


def test_a_better_block_without_a_majority_loses(consensus, driver, peers):
    """N_p = 5: more than N_p/2 + 1 = 3.5 confirmations means 4; a block with 3 is not valid."""
    round_ = driver.fresh_round()
    better = Proposal(round_, peers[0], bytes(consensus.head()), FLAT)
    worse = Proposal(round_, peers[1], bytes(consensus.head()), BUMPY)
    driver.play([better, worse], {better.block_hash(): peers[:1], worse.block_hash(): peers[1:]})
    assert outcome(consensus, round_)[1] == worse.block_hash()


def test_a_round_without_a_valid_block_leaves_the_head(consensus, driver, peers):
    head, score = bytes(consensus.head()), consensus.chainScore()
    round_ = driver.fresh_round()
    p = Proposal(round_, peers[0], head, FLAT)
    driver.play([p], {p.block_hash(): peers[:3]}, finalise=False)
    driver.to_end(round_)
    tx = consensus.finalise(round_, {"from": peers[0]})
    assert tx.events["RoundFinalised"]["winner"] == NONE and tx.events["RoundFinalised"]["peers"] == 5
    assert outcome(consensus, round_)[:2] == (True, ZERO)
    assert bytes(consensus.head()) == head and consensus.chainScore() == score


def test_a_false_benefit_excludes_the_proposer(consensus, driver, peers):
    round_ = driver.fresh_round()
    liar = Proposal(round_, peers[0], bytes(consensus.head()), BUMPY, lam=benefit(FLAT))
    liar.commit(consensus)
    driver.to_reveal(round_)
    tx = liar.reveal(consensus)
    assert tx.events["FalseBenefit"]["claimed"] == benefit(FLAT)
    assert tx.events["FalseBenefit"]["computed"] == benefit(BUMPY)
    assert consensus.excluded(peers[0])
    assert consensus.blockOf(round_, liar.block_hash())[2] is False  # the proposal is dropped
    driver.to_end(round_)
    consensus.finalise(round_, {"from": peers[1]})
    nxt = driver.fresh_round()
    with brownie.reverts(custom_error("PeerExcluded(address)", peers[0])):
        consensus.commit(nxt, b"\x01" * 32, {"from": peers[0]})


def test_join_rules(consensus, registry, admin, outsider, peers, funded_account):
    with brownie.reverts(custom_error(UNAUTHORIZED, outsider, role_id("VALIDATOR"))):
        consensus.join({"from": outsider})
    with brownie.reverts(custom_error("AlreadyJoined(address)", peers[0])):
        consensus.join({"from": peers[0]})
    newcomer = funded_account()
    registry.grantRole(role_id("VALIDATOR"), newcomer, {"from": admin})
    current = consensus.currentRound()
    tx = consensus.join({"from": newcomer})
    assert tx.events["PeerJoined"]["activeFrom"] == current + 1 and tx.events["PeerJoined"]["peers"] == 6
    assert consensus.peersAt(current) == 5 and consensus.peersAt(current + 1) == 6
    if consensus.currentRound() == current:  # not yet active in the round it joined
        with brownie.reverts(custom_error("NotAnActivePeer(address,uint256)", newcomer, current + 1)):
            consensus.commit(current, b"\x01" * 32, {"from": newcomer})


def test_commit_reverts(consensus, driver, peers, outsider):
    round_ = driver.fresh_round()
    with brownie.reverts(custom_error(UNAUTHORIZED, outsider, role_id("VALIDATOR"))):
        consensus.commit(round_, b"\x01" * 32, {"from": outsider})
    with brownie.reverts(custom_error("RoundNotCurrent(uint256,uint256)", round_ - 1, round_)):
        consensus.commit(round_ - 1, b"\x01" * 32, {"from": peers[0]})
    with brownie.reverts(custom_error("RoundNotCurrent(uint256,uint256)", round_ + 1, round_)):
        consensus.commit(round_ + 1, b"\x01" * 32, {"from": peers[0]})
    consensus.commit(round_, b"\x01" * 32, {"from": peers[0]})
    with brownie.reverts(custom_error("AlreadyCommitted(uint256,address)", round_, peers[0])):
        consensus.commit(round_, b"\x02" * 32, {"from": peers[0]})
    for peer in peers[1:MAX_PROPOSALS]:
        consensus.commit(round_, b"\x03" * 32, {"from": peer})
    with brownie.reverts(custom_error("TooManyProposals(uint256,uint256)", round_, MAX_PROPOSALS)):
        consensus.commit(round_, b"\x04" * 32, {"from": peers[MAX_PROPOSALS]})
    driver.to_reveal(round_)
    start = driver.start(round_)
    with brownie.reverts(custom_error("OutsidePhase(uint256,uint256,uint256)", round_, start, start + COMMIT_SECONDS)):
        consensus.commit(round_, b"\x05" * 32, {"from": peers[MAX_PROPOSALS]})


def test_an_open_round_blocks_the_next_commit_until_finalised(consensus, driver, peers):
    round_ = driver.fresh_round()
    Proposal(round_, peers[0], bytes(consensus.head()), FLAT).commit(consensus)
    nxt = driver.fresh_round()
    with brownie.reverts(custom_error("PreviousRoundOpen(uint256,uint256)", nxt, round_)):
        consensus.commit(nxt, b"\x01" * 32, {"from": peers[1]})
    consensus.finalise(round_, {"from": peers[1]})
    consensus.commit(nxt, b"\x01" * 32, {"from": peers[1]})
    assert consensus.openRound() == nxt


def test_reveal_reverts(consensus, driver, peers):
    round_ = driver.fresh_round()
    head = bytes(consensus.head())
    p = Proposal(round_, peers[0], head, FLAT)
    p.commit(consensus)
    start = driver.start(round_)
    with brownie.reverts(custom_error("OutsidePhase(uint256,uint256,uint256)", round_, start + COMMIT_SECONDS,
                                      start + REVEAL_END_SECONDS)):
        p.reveal(consensus)
    driver.to_reveal(round_)
    with brownie.reverts(custom_error("NothingToReveal(uint256,address)", round_, peers[1])):
        Proposal(round_, peers[1], head, FLAT).reveal(consensus)
    tampered = Proposal(round_, peers[0], head, BUMPY)
    with brownie.reverts(custom_error("RevealMismatch(uint256,address,bytes32,bytes32)", round_, peers[0],
                                      p.commitment(), tampered.commitment())):
        tampered.reveal(consensus)
    p.reveal(consensus)
    with brownie.reverts(custom_error("NothingToReveal(uint256,address)", round_, peers[0])):
        p.reveal(consensus)


def test_reveal_checks_parent_and_window(consensus, driver, peers):
    round_ = driver.fresh_round()
    head = bytes(consensus.head())
    stale = Proposal(round_, peers[0], b"\x09" * 32, FLAT)
    short = Proposal(round_, peers[1], head, [7], lam=1)
    long = Proposal(round_, peers[2], head, [1] * (MAX_WINDOW + 2), lam=10**18)
    for p in (stale, short, long):
        p.commit(consensus)
    driver.to_reveal(round_)
    with brownie.reverts(custom_error("WrongParent(uint256,bytes32,bytes32)", round_, head, b"\x09" * 32)):
        stale.reveal(consensus)
    with brownie.reverts(custom_error("BadWindow(uint256,uint256)", 1, MAX_WINDOW)):
        short.reveal(consensus)
    with brownie.reverts(custom_error("BadWindow(uint256,uint256)", MAX_WINDOW + 2, MAX_WINDOW)):
        long.reveal(consensus)


def test_confirm_reverts(consensus, driver, peers, outsider):
    round_ = driver.fresh_round()
    p = Proposal(round_, peers[0], bytes(consensus.head()), FLAT)
    p.commit(consensus)
    driver.to_reveal(round_)
    p.reveal(consensus)
    start = driver.start(round_)
    with brownie.reverts(custom_error("OutsidePhase(uint256,uint256,uint256)", round_, start + REVEAL_END_SECONDS,
                                      start + ROUND_SECONDS)):
        consensus.confirm(round_, p.block_hash(), {"from": peers[1]})
    driver.to_confirm(round_)
    with brownie.reverts(custom_error(UNAUTHORIZED, outsider, role_id("VALIDATOR"))):
        consensus.confirm(round_, p.block_hash(), {"from": outsider})
    with brownie.reverts(custom_error("UnknownBlock(uint256,bytes32)", round_, b"\x07" * 32)):
        consensus.confirm(round_, b"\x07" * 32, {"from": peers[1]})
    tx = consensus.confirm(round_, p.block_hash(), {"from": peers[1]})
    assert tx.events["Confirmed"]["confirmations"] == 1
    with brownie.reverts(custom_error("AlreadyConfirmed(uint256,address)", round_, peers[1])):
        consensus.confirm(round_, p.block_hash(), {"from": peers[1]})
    driver.to_end(round_)
    with brownie.reverts(custom_error("RoundNotCurrent(uint256,uint256)", round_, round_ + 1)):
        consensus.confirm(round_, p.block_hash(), {"from": peers[2]})


def test_finalise_reverts(consensus, driver, peers):
    round_ = driver.fresh_round()
    ends = driver.start(round_ + 1)
    with brownie.reverts(custom_error("RoundNotOver(uint256,uint256)", round_, ends)):
        consensus.finalise(round_, {"from": peers[0]})
    driver.to_end(round_)
    consensus.finalise(round_, {"from": peers[0]})
    with brownie.reverts(custom_error("AlreadyFinalised(uint256)", round_)):
        consensus.finalise(round_, {"from": peers[0]})


def test_constructor_rejects_bad_terms(BenefitConsensus, registry, admin):
    now = latest_time()
    with brownie.reverts(custom_error("InvalidRoundTiming(uint256,uint256,uint256)", 300, 0, 240)):
        BenefitConsensus.deploy(registry, now, 300, 0, 240, 4, 3, {"from": admin})
    with brownie.reverts(custom_error("InvalidRoundTiming(uint256,uint256,uint256)", 300, 120, 300)):
        BenefitConsensus.deploy(registry, now, 300, 120, 300, 4, 3, {"from": admin})
    with brownie.reverts(custom_error("InvalidRoundTiming(uint256,uint256,uint256)", 300, 200, 150)):
        BenefitConsensus.deploy(registry, now, 300, 200, 150, 4, 3, {"from": admin})
    with brownie.reverts(custom_error("InvalidBounds(uint256,uint256)", 0, 3)):
        BenefitConsensus.deploy(registry, now, 300, 120, 240, 0, 3, {"from": admin})
    with brownie.reverts(custom_error("InvalidBounds(uint256,uint256)", 4, 0)):
        BenefitConsensus.deploy(registry, now, 300, 120, 240, 4, 0, {"from": admin})
    with brownie.reverts(custom_error(INVALID_TIMING, now, 0, 120, 240)):
        BenefitConsensus.deploy(registry, now, 0, 120, 240, 4, 3, {"from": admin})
    with brownie.reverts(custom_error("ZeroAddress()")):
        BenefitConsensus.deploy(brownie.ZERO_ADDRESS, now, 300, 120, 240, 4, 3, {"from": admin})


# ------------------------------------------------------------------------------------------- attacks


def test_attack_sybil_minority_cannot_crown_a_forged_block(consensus, driver, peers):
    """Two colluding peers (< half) propose a block whose net load is fake (a flat ramp they never could
    deliver) and confirm it; the three honest peers confirm the true block. The forgery has the higher
    benefit but only 2 confirmations, so it is not valid."""
    round_ = driver.fresh_round()
    head = bytes(consensus.head())
    forged = Proposal(round_, peers[3], head, FLAT, tx_set=b"\x66" * 32)
    honest = Proposal(round_, peers[0], head, BUMPY)
    assert forged.claimed > honest.claimed
    driver.play([forged, honest], {forged.block_hash(): peers[3:], honest.block_hash(): peers[:3]})
    # three honest confirmations are not > 3.5 either: the round ends without a block, never the forgery's
    assert outcome(consensus, round_)[1] == ZERO


def test_attack_copied_commitment_cannot_be_revealed(consensus, driver, peers):
    """A peer that copies another's commitment cannot reveal it: the commitment binds the sender."""
    round_ = driver.fresh_round()
    victim = Proposal(round_, peers[0], bytes(consensus.head()), FLAT)
    victim.commit(consensus)
    consensus.commit(round_, victim.commitment(), {"from": peers[1]})
    driver.to_reveal(round_)
    thief = Proposal(round_, peers[1], bytes(consensus.head()), FLAT)
    with brownie.reverts(custom_error("RevealMismatch(uint256,address,bytes32,bytes32)", round_, peers[1],
                                      victim.commitment(), thief.commitment())):
        thief.reveal(consensus)


def test_attack_replaying_last_rounds_proposal_is_refused(consensus, driver, peers):
    round_ = driver.fresh_round()
    p = Proposal(round_, peers[0], bytes(consensus.head()), FLAT)
    driver.play([p], {p.block_hash(): peers[:4]})
    nxt = driver.fresh_round()
    with brownie.reverts(custom_error("RoundNotCurrent(uint256,uint256)", round_, nxt)):
        consensus.commit(round_, p.commitment(), {"from": peers[0]})
    driver.to_reveal(nxt)
    with brownie.reverts(custom_error("RoundNotCurrent(uint256,uint256)", round_, nxt)):
        p.reveal(consensus)


def test_attack_a_validator_cannot_confirm_two_blocks(consensus, driver, peers):
    round_ = driver.fresh_round()
    a = Proposal(round_, peers[0], bytes(consensus.head()), FLAT)
    b = Proposal(round_, peers[1], bytes(consensus.head()), BUMPY)
    driver.play([a, b], {a.block_hash(): peers[2:3]}, finalise=False)
    with brownie.reverts(custom_error("AlreadyConfirmed(uint256,address)", round_, peers[2])):
        consensus.confirm(round_, b.block_hash(), {"from": peers[2]})


def test_attack_gas_of_a_full_round_is_bounded(consensus, driver, peers):
    """maxProposals reveals, every peer confirming, the finalisation: each call's gas stays small."""
    round_ = driver.fresh_round()
    head = bytes(consensus.head())
    proposals = [Proposal(round_, peers[i], head, [100_000 + 10 * i * k for k in range(MAX_WINDOW + 1)])
                 for i in range(MAX_PROPOSALS)]
    for p in proposals:
        p.commit(consensus)
    driver.to_reveal(round_)
    gas = [p.reveal(consensus).gas_used for p in proposals]
    driver.to_confirm(round_)
    gas += [consensus.confirm(round_, proposals[i % MAX_PROPOSALS].block_hash(), {"from": v}).gas_used
            for i, v in enumerate(peers)]
    driver.to_end(round_)
    gas.append(consensus.finalise(round_, {"from": peers[0]}).gas_used)
    assert max(gas) < 250_000
