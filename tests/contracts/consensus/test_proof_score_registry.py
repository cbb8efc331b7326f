"""ProofScoreRegistry: SCORER-only, accept-once slot results; canonical partition checked in one pass;
coalition scores as exact sums and validators by the off-chain rule."""

import brownie
import pytest
from brownie import web3
from contract_helpers import ALREADY_ACCEPTED, UNAUTHORIZED, custom_error
from consensus_support import SLOT, TOY_MEMBER, TOY_SINGLETON
from consensus_support import by_address, ints, plan_slot, score_entries, trades_hash

from offchain.algorithms.miner_draw import address_key, keccak256, validator_of
from offchain.chain.roles import role_id

TRADES = trades_hash([])
MECHANISM = web3.keccak(text="seed001.poeg")
ONE_POINT = 10**18


def nothing_recorded(scores, slot, accounts) -> bool:
    return (
        not scores.isAccepted(MECHANISM, slot)
        and scores.slotResult(slot)[1] == 0
        and all(scores.entryOf(slot, a)[2] == 0 for a in accounts)
        and scores.coalitionScores(slot) == ()
    )


def test_result_is_recorded(scores, scorer, toy_members, toy_entries, toy_trades):
    m = toy_members
    tx = scores.submitResult(SLOT, toy_entries, trades_hash(toy_trades), {"from": scorer})

    header = scores.slotResult(SLOT)
    assert bytes(header[0]) == trades_hash(toy_trades)
    assert header[1] == tx.timestamp
    assert ints(header[2:]) == (6, 3, sum(TOY_MEMBER))
    assert [tuple(scores.entryOf(SLOT, a)) for a in m] == [
        (s, mem, c + 1) for s, mem, c in zip(TOY_SINGLETON, TOY_MEMBER, [0, 1, 0, 2, 1, 2])
    ]
    # coalition 0 = {m0, m2}, 1 = {m1, m4}, 2 = {m3, m5}: sums of member scores, highest member validates
    assert [tuple(scores.coalitionOf(SLOT, c)) for c in range(3)] == [
        (TOY_MEMBER[0] + TOY_MEMBER[2], 2, m[2].address),
        (TOY_MEMBER[1] + TOY_MEMBER[4], 2, m[1].address),
        (TOY_MEMBER[3] + TOY_MEMBER[5], 2, m[5].address),
    ]
    assert ints(scores.coalitionScores(SLOT)) == (
        TOY_MEMBER[0] + TOY_MEMBER[2], TOY_MEMBER[1] + TOY_MEMBER[4], TOY_MEMBER[3] + TOY_MEMBER[5]
    )
    assert scores.isAccepted(MECHANISM, SLOT)
    assert [e["account"] for e in tx.events["ScoreRecorded"]] == [a.address for a in m]
    assert [(e["coalition"], e["validator"]) for e in tx.events["CoalitionRecorded"]] == [
        (0, m[2].address), (1, m[1].address), (2, m[5].address)
    ]
    submitted = tx.events["ResultSubmitted"]
    assert (submitted["slot"], submitted["participants"], submitted["coalitions"]) == (SLOT, 6, 3)
    assert submitted["totalScore"] == sum(TOY_MEMBER)
    assert tx.events["ResultAccepted"]["submitter"] == scorer.address


def test_validator_ties_go_to_the_lower_address(scores, scorer, members):
    a, b, c = members[:3]
    entries = score_entries([a, b, c], [0, 0, 0], [5, 9, 9], [0, 0, 0])
    scores.submitResult(SLOT, entries, TRADES, {"from": scorer})
    assert scores.coalitionOf(SLOT, 0)[2] == b.address


def test_coalition_scores_and_validators_match_the_offchain_slot(scores, scorer, members):
    """The 10-prosumer slot of offchain.mechanisms.coalition_market.model: on-chain sums and validators are the draw
    weights and validators the off-chain draw uses."""
    plan = plan_slot(SLOT, members, keccak256(b"seed"))
    scores.submitResult(SLOT, plan.entries, plan.trades_hash, {"from": scorer})

    view = plan.outcome.chain
    keys = [address_key(a.address) for a in members]
    assert ints(scores.coalitionScores(SLOT)) == tuple(plan.outcome.draw_weights)
    for c, group in enumerate(plan.outcome.draw_order):
        validator = members[validator_of(group, view.member_scores_base, keys)]
        assert tuple(scores.coalitionOf(SLOT, c)) == (plan.outcome.draw_weights[c], len(group), validator.address)


def test_only_scorer_submits(scores, outsider, operator, toy_entries, toy_members):
    for caller in (outsider, operator):
        with brownie.reverts(custom_error(UNAUTHORIZED, caller, role_id("SCORER"))):
            scores.submitResult(SLOT, toy_entries, TRADES, {"from": caller})
    assert nothing_recorded(scores, SLOT, toy_members)


def test_second_result_for_a_slot_reverts(scores, scorer, toy_entries, toy_members):
    scores.submitResult(SLOT, toy_entries, TRADES, {"from": scorer})
    changed = score_entries(toy_members, [0] * 6, [ONE_POINT] * 6, [0] * 6)
    with brownie.reverts(custom_error(ALREADY_ACCEPTED, MECHANISM, SLOT)):
        scores.submitResult(SLOT, changed, TRADES, {"from": scorer})
    assert tuple(scores.coalitionOf(SLOT, 0))[0] == TOY_MEMBER[0] + TOY_MEMBER[2]
    scores.submitResult(SLOT + 1, changed, TRADES, {"from": scorer})
    assert ints(scores.coalitionScores(SLOT + 1)) == (6 * ONE_POINT,)



def test_scores_from_unregistered_accounts_revert(scores, scorer, members, outsider):
    scored = by_address([*members[:2], outsider])
    entries = score_entries(scored, [0] * 3, [1, 2, 3], [0, 1, 2])
    with brownie.reverts(custom_error("ParticipantNotRegistered(address)", outsider)):
        scores.submitResult(SLOT, entries, TRADES, {"from": scorer})
    assert nothing_recorded(scores, SLOT, members[:2])


def test_scores_from_deactivated_participants_revert(scores, scorer, registry, operator, members):
    registry.setActive(members[1], False, {"from": operator})
    entries = score_entries(members[:3], [0] * 3, [1, 2, 3], [0, 1, 2])
    with brownie.reverts(custom_error("ParticipantInactive(address)", members[1])):
        scores.submitResult(SLOT, entries, TRADES, {"from": scorer})
    assert nothing_recorded(scores, SLOT, members[:3])


def test_participant_listed_twice_reverts(scores, scorer, members):
    """A participant in two coalitions: the partition does not cover it exactly once."""
    a, b = members[:2]
    entries = [(a.address, 0, 1, 0), (b.address, 0, 2, 1), (b.address, 0, 2, 0)]
    with brownie.reverts(custom_error("ParticipantListedTwice(address)", b)):
        scores.submitResult(SLOT, entries, TRADES, {"from": scorer})
    assert nothing_recorded(scores, SLOT, members[:2])


def test_accounts_must_ascend(scores, scorer, members):
    a, b, c = members[:3]
    entries = [(a.address, 0, 1, 0), (c.address, 0, 2, 1), (b.address, 0, 3, 2)]
    with brownie.reverts(custom_error("AccountsNotAscending(uint256)", 2)):
        scores.submitResult(SLOT, entries, TRADES, {"from": scorer})
    assert nothing_recorded(scores, SLOT, members[:3])


@pytest.mark.parametrize(
    "coalitions, position, highest",
    [
        ([1, 0, 0], 0, 0),  # the first entry must open coalition 0
        ([0, 2, 1], 1, 1),  # skips coalition 1: an empty coalition
        ([0, 0, 3], 2, 1),  # out of range
    ],
)
def test_partition_must_be_canonical(scores, scorer, members, coalitions, position, highest):
    entries = score_entries(members[:3], [0] * 3, [1, 2, 3], coalitions)
    with brownie.reverts(custom_error("PartitionNotCanonical(uint256,uint256,uint256)", position,
                                      coalitions[position], highest)):
        scores.submitResult(SLOT, entries, TRADES, {"from": scorer})
    assert nothing_recorded(scores, SLOT, members[:3])


def test_member_score_below_singleton_reverts(scores, scorer, members):
    entries = score_entries(members[:2], [5, 4], [6, 3], [0, 0])
    with brownie.reverts(custom_error("MemberScoreBelowSingleton(address,uint256,uint256)", members[1], 4, 3)):
        scores.submitResult(SLOT, entries, TRADES, {"from": scorer})
    assert nothing_recorded(scores, SLOT, members[:2])


def test_empty_result_reverts(scores, scorer):
    with brownie.reverts(custom_error("EmptyResult()")):
        scores.submitResult(SLOT, [], TRADES, {"from": scorer})
    assert not scores.isAccepted(MECHANISM, SLOT)


def test_scores_must_fit_96_bits(scores, scorer, members):
    entries = score_entries(members[:1], [0], [2**96], [0])
    with brownie.reverts(custom_error("SafeCastOverflowedUintDowncast(uint8,uint256)", 96, 2**96)):
        scores.submitResult(SLOT, entries, TRADES, {"from": scorer})
    assert nothing_recorded(scores, SLOT, members[:1])
