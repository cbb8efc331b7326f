"""MinerSelection: commit-reveal among the slot's participants, the weighted draw (equal to
offchain.algorithms.miner_draw for the same seed and scores), skipping validators without a bonded
self-stake, mining window, pool locks until finality or penalty, penalties with exclusion and redraw,
void slots."""

import brownie
import pytest
from contract_helpers import UNAUTHORIZED, custom_error
from consensus_support import ONE, SLOT, TOY_COALITION, TOY_MEMBER
from consensus_support import (
    COMMIT_DEPOSIT,
    SLASH_BPS,
    SLASH_FREEZE_SECONDS,
    UNBONDING_SECONDS,
    WINDOWS,
    SlotDriver,
    at_or_after,
    ints,
    score_entries,
    secret_for,
    trades_hash,
    xor_seed,
)

from brownie import chain, web3

from offchain.algorithms.miner_draw import CommitDomain, address_key, commitment, draw, resolve_miner, slash
from offchain.chain.abi import ZERO_ADDRESS
from offchain.chain.roles import role_id
from offchain.mechanisms.consensus import Penalty, SlotStatus, VoidReason

TOY_PARTITION = [[0, 2], [1, 4], [3, 5]]  # member positions of each coalition (canonical)
TOY_WEIGHTS = [sum(TOY_MEMBER[i] for i in group) for group in TOY_PARTITION]
TOY_VALIDATORS = [2, 1, 5]  # highest member score of each coalition
RESTAKE_MECHANISM = web3.keccak(text="seed001.restake-test")  #: a second EPOS mint key for a test's fresh stake


@pytest.fixture
def drawn(staked, toy_members):
    """Every toy member committed and revealed, the first miner drawn; returns (driver, seed)."""
    seed = staked.reveal_all(staked.commit_all(toy_members, "toy"))
    staked.draw(toy_members[0])
    return staked, seed


def test_commit_and_reveal_build_the_xor_seed(toy_slot, miners, upos, toy_members):
    before = upos.balanceOf(toy_members[0])
    secrets = {a: secret_for("seed", a) for a in toy_members}
    for account, secret in secrets.items():
        tx = toy_slot.commit(account, secret)
        assert bytes(tx.events["Committed"]["commitment"]) == toy_slot.commitment(account, secret)
    assert upos.balanceOf(miners) == len(toy_members) * COMMIT_DEPOSIT
    assert upos.balanceOf(toy_members[0]) == before - COMMIT_DEPOSIT

    toy_slot.open_reveals()
    for account, secret in secrets.items():
        tx = toy_slot.reveal(account, secret)
        assert bytes(tx.events["Revealed"]["secret"]) == secret
        assert bytes(miners.commitmentOf(SLOT, account)) == b"\x00" * 32
    state = toy_slot.round()
    assert bytes(state["seed"]) == xor_seed(secrets)
    assert (state["commits"], state["reveals"], state["status"]) == (6, 6, SlotStatus.OPEN)
    assert upos.balanceOf(miners) == 0
    assert upos.balanceOf(toy_members[0]) == before


def test_commit_needs_an_accepted_result(miners, members):
    with brownie.reverts(custom_error("NoResultForSlot(uint256)", SLOT)):
        miners.commit(SLOT, b"\x01" * 32, {"from": members[0]})
    assert bytes(miners.commitmentOf(SLOT, members[0])) == b"\x00" * 32


def test_only_participants_of_the_slot_commit(toy_slot, miners, upos, members, outsider):
    for account in (members[6], outsider):  # registered but not scored in SLOT; not registered
        with brownie.reverts(custom_error("NotASlotParticipant(uint256,address)", SLOT, account)):
            miners.commit(SLOT, b"\x01" * 32, {"from": account})
    assert toy_slot.round()["commits"] == 0 and upos.balanceOf(miners) == 0


def test_commit_rules(toy_slot, miners, upos, toy_members):
    account = toy_members[0]
    with brownie.reverts(custom_error("EmptyCommitment()")):
        miners.commit(SLOT, b"\x00" * 32, {"from": account})
    toy_slot.commit(account, b"\x01" * 32)
    with brownie.reverts(custom_error("AlreadyCommitted(uint256,address)", SLOT, account)):
        miners.commit(SLOT, b"\x02" * 32, {"from": account})
    deadline = miners.commitDeadline(SLOT)
    at_or_after(deadline)
    with brownie.reverts(custom_error("CommitWindowClosed(uint256,uint256)", SLOT, deadline)):
        miners.commit(SLOT, b"\x03" * 32, {"from": toy_members[1]})
    assert bytes(miners.commitmentOf(SLOT, account)) == toy_slot.commitment(account, b"\x01" * 32)
    assert toy_slot.round()["commits"] == 1 and upos.balanceOf(miners) == COMMIT_DEPOSIT


def test_a_commitment_is_bound_to_its_slot_contract_and_chain(toy_slot, miners, toy_members):
    account, secret = toy_members[0], secret_for("bound", toy_members[0])
    expected = commitment(secret, account.address, CommitDomain(SLOT, miners.address, chain.id))
    assert bytes(miners.commitmentFor(SLOT, account, secret)) == expected
    for other in (CommitDomain(SLOT + 1, miners.address, chain.id), CommitDomain(SLOT, toy_members[1].address, chain.id),
                  CommitDomain(SLOT, miners.address, chain.id + 1)):
        assert commitment(secret, account.address, other) != expected
    # a commitment made for another slot does not open in this one
    miners.commit(SLOT, commitment(secret, account.address, CommitDomain(SLOT + 1, miners.address, chain.id)),
                  {"from": account})
    toy_slot.open_reveals()
    with brownie.reverts(custom_error("RevealDoesNotMatchCommit(uint256,address)", SLOT, account)):
        miners.reveal(SLOT, secret, {"from": account})
    assert toy_slot.round()["reveals"] == 0


def test_reveal_before_the_commit_window_closes_reverts(toy_slot, miners, toy_members):
    secret = secret_for("early", toy_members[0])
    toy_slot.commit(toy_members[0], secret)
    with brownie.reverts(custom_error("RevealWindowNotOpen(uint256,uint256)", SLOT, miners.commitDeadline(SLOT))):
        miners.reveal(SLOT, secret, {"from": toy_members[0]})
    assert toy_slot.round()["reveals"] == 0 and bytes(miners.commitmentOf(SLOT, toy_members[0])) != b"\x00" * 32


def test_a_reveal_that_does_not_match_its_commit_reverts(toy_slot, miners, upos, toy_members):
    honest, copier = toy_members[:2]
    secret = secret_for("mine", honest)
    toy_slot.commit(honest, secret)
    # the copier commits the honest commitment: the address in the hash makes its reveal invalid
    miners.commit(SLOT, toy_slot.commitment(honest, secret), {"from": copier})
    toy_slot.open_reveals()

    for account, guess in ((honest, secret_for("other", honest)), (copier, secret)):
        stored = miners.commitmentOf(SLOT, account)
        balance = upos.balanceOf(account)
        with brownie.reverts(custom_error("RevealDoesNotMatchCommit(uint256,address)", SLOT, account)):
            miners.reveal(SLOT, guess, {"from": account})
        assert miners.commitmentOf(SLOT, account) == stored and upos.balanceOf(account) == balance
    state = toy_slot.round()
    assert (state["reveals"], bytes(state["seed"])) == (0, b"\x00" * 32)


def test_reveal_without_a_commitment_reverts(toy_slot, miners, toy_members):
    secret = secret_for("once", toy_members[0])
    toy_slot.commit(toy_members[0], secret)
    toy_slot.open_reveals()
    with brownie.reverts(custom_error("NothingToReveal(uint256,address)", SLOT, toy_members[1])):
        miners.reveal(SLOT, secret, {"from": toy_members[1]})
    toy_slot.reveal(toy_members[0], secret)
    with brownie.reverts(custom_error("NothingToReveal(uint256,address)", SLOT, toy_members[0])):
        miners.reveal(SLOT, secret, {"from": toy_members[0]})
    assert toy_slot.round()["reveals"] == 1


def test_reveal_after_the_window_reverts(toy_slot, miners, toy_members):
    secret = secret_for("late", toy_members[0])
    toy_slot.commit(toy_members[0], secret)
    deadline = miners.revealDeadline(SLOT)
    at_or_after(deadline)
    with brownie.reverts(custom_error("RevealWindowClosed(uint256,uint256)", SLOT, deadline)):
        miners.reveal(SLOT, secret, {"from": toy_members[0]})
    assert toy_slot.round()["reveals"] == 0


def test_draw_matches_the_offchain_draw(staked, miners, staking, toy_members):
    seed = staked.reveal_all(staked.commit_all(toy_members, "toy"))
    tx = staked.draw(toy_members[3])

    coalition = draw(seed, TOY_WEIGHTS)
    validator = toy_members[TOY_VALIDATORS[coalition]]
    deadline = tx.timestamp + WINDOWS[2]
    assert ints(tx.events["MinerDrawn"].values()) == (SLOT, 0, coalition, validator.address, deadline)
    state = staked.round()
    assert (state["status"], state["coalition"], state["validator"], state["deadline"]) == (
        SlotStatus.MINING, coalition, validator.address, deadline)
    assert staking.poolOf(validator)[3] == 1  # locked until its block is final or it is penalised


def test_draw_equals_offchain_draw_for_many_seeds(suite, scorer, members):
    """Fresh slots with the toy partition, some with a zero-score coalition, one revealer each; the
    validators hold a self-stake, so every draw is eligible."""
    setup = SlotDriver(suite, 99)
    validators = [members[i] for i in TOY_VALIDATORS]
    setup.mint_scores(scorer, validators, [ONE] * len(validators))
    for validator in validators:
        setup.stake(validator, validator, ONE)
    zero_third = [s if c != 2 else 0 for s, c in zip(TOY_MEMBER, TOY_COALITION)]
    for k in range(10):
        scores_k = TOY_MEMBER if k % 2 else zero_third
        weights = [sum(scores_k[i] for i in group) for group in TOY_PARTITION]
        driver = SlotDriver(suite, 100 + k)
        driver.submit(scorer, score_entries(members[:6], [0] * 6, scores_k, TOY_COALITION), trades_hash([]))
        revealer = members[k % 6]
        seed = driver.reveal_all(driver.commit_all([revealer], f"many:{k}"))
        tx = driver.draw(revealer)
        assert tx.events["MinerDrawn"]["coalition"] == draw(seed, weights)
        if weights[2] == 0:
            assert tx.events["MinerDrawn"]["coalition"] != 2


def test_draw_happens_once(drawn, miners, toy_members):
    driver, _ = drawn
    before = driver.round()
    with brownie.reverts(custom_error("AlreadyDrawn(uint256)", SLOT)):
        miners.draw(SLOT, {"from": toy_members[0]})
    assert driver.round() == before


def test_a_validator_without_a_bonded_self_stake_at_the_commit_deadline_is_skipped_unslashed(
        staked, miners, staking, epos, toy_members):
    secrets = {a: secret_for("toy", a) for a in toy_members}
    seed = xor_seed(secrets)
    first = draw(seed, TOY_WEIGHTS)
    leaver = toy_members[TOY_VALIDATORS[first]]
    stake = staking.stakeOf(leaver, leaver)
    staking.unstake(leaver, stake, {"from": leaver})  # before the commit deadline: it gave notice in time
    for account, secret in secrets.items():
        staked.commit(account, secret)
    staked.reveal_all(secrets)
    supply = epos.totalSupply()
    tx = staked.draw(toy_members[0])

    keys = [address_key(m.address) for m in toy_members]
    expected = resolve_miner(seed, TOY_WEIGHTS, TOY_PARTITION, TOY_MEMBER, keys,
                             unstaked_validators={TOY_VALIDATORS[first]})
    skipped, drawn_now = expected.attempts
    assert skipped.skipped and (skipped.attempt, skipped.coalition) == (0, first)
    assert ints(tx.events["MinerSkipped"].values()) == (SLOT, 0, first, leaver.address)
    assert ints(tx.events["MinerDrawn"].values())[:4] == (
        SLOT, 1, drawn_now.coalition, toy_members[drawn_now.validator].address)
    assert "MinerPenalised" not in tx.events and epos.totalSupply() == supply
    assert miners.isExcluded(SLOT, first) and staking.poolOf(leaver)[3] == 0
    assert staking.stakeOf(leaver, leaver) == stake  # not slashed: it leaves after its unbonding


def test_staking_again_once_the_outcome_is_known_does_not_make_a_validator_eligible(
        staked, miners, staking, epos, scorer, toy_members):
    secrets = {a: secret_for("toy", a) for a in toy_members}
    first = draw(xor_seed(secrets), TOY_WEIGHTS)
    validator = toy_members[TOY_VALIDATORS[first]]
    staking.unstake(validator, staking.stakeOf(validator, validator), {"from": validator})
    for account, secret in secrets.items():
        staked.commit(account, secret)
    staked.reveal_all(secrets)
    # every secret is out: the validator sees it would be drawn and tries to opt back in
    epos.mintScores(RESTAKE_MECHANISM, SLOT, [validator], [ONE], {"from": scorer})
    staked.stake(validator, validator, ONE)
    tx = staked.draw(toy_members[0])
    assert tx.events["MinerSkipped"]["validator"] == validator.address
    assert tx.events["MinerDrawn"]["validator"] != validator.address


def test_stake_cannot_leave_once_the_outcome_can_be_foreseen(staked, miners, staking, epos, toy_members):
    """Every secret is revealed, so the draw is known before it is made; the drawn validator's unstake
    request then cannot change that it is drawn, its stake is still there at the draw (the unbonding outlasts
    the draw window), the draw locks it, and its miss is slashed in full."""
    seed = staked.reveal_all(staked.commit_all(toy_members, "toy"))
    validator = toy_members[TOY_VALIDATORS[draw(seed, TOY_WEIGHTS)]]
    stake = staking.poolStake(validator)
    staking.unstake(validator, stake, {"from": validator})
    staked.draw(toy_members[0])
    assert staked.round()["validator"] == validator.address

    at_or_after(staked.round()["deadline"] + UNBONDING_SECONDS)
    with brownie.reverts(custom_error("StakeLocked(address,uint256)", validator, 1)):
        staking.withdraw(validator, {"from": validator})
    tx = staked.report_missed(toy_members[0])  # however late the report, the stake is still there
    assert tx.events["MinerPenalised"]["burned"] == slash(stake, SLASH_BPS)[0]


def test_a_draw_after_its_window_voids_the_slot(staked, miners, upos, treasury, toy_members):
    staked.reveal_all(staked.commit_all(toy_members, "late"))
    late = miners.revealDeadline(SLOT) + WINDOWS[4]
    at_or_after(late)
    tx = miners.draw(SLOT, {"from": toy_members[0]})
    assert ints(tx.events["SlotVoided"].values()) == (SLOT, VoidReason.DRAW_WINDOW_MISSED)
    assert "MinerDrawn" not in tx.events and miners.isVoid(SLOT)
    with brownie.reverts(custom_error("AlreadyDrawn(uint256)", SLOT)):
        miners.draw(SLOT, {"from": toy_members[0]})


def test_draw_before_the_reveal_deadline_reverts(staked, miners, toy_members):
    deadline = miners.revealDeadline(SLOT)
    with brownie.reverts(custom_error("RevealWindowOpen(uint256,uint256)", SLOT, deadline)):
        miners.draw(SLOT, {"from": toy_members[0]})
    assert staked.round()["status"] == SlotStatus.OPEN


def test_missing_reveals_forfeit_their_deposits(staked, miners, upos, treasury, toy_members):
    secrets = staked.commit_all(toy_members[:3], "toy")
    staked.reveal_all({a: secrets[a] for a in toy_members[:2]})
    before = upos.balanceOf(treasury)
    tx = staked.draw(toy_members[5])
    assert ints(tx.events["DepositsForfeited"].values()) == (SLOT, 1, COMMIT_DEPOSIT, treasury.address)
    assert upos.balanceOf(treasury) - before == COMMIT_DEPOSIT
    assert upos.balanceOf(miners) == 0


def test_no_reveal_voids_the_slot(staked, miners, upos, treasury, toy_members):
    staked.commit_all(toy_members[:2], "toy")
    before = upos.balanceOf(treasury)
    tx = staked.draw(toy_members[0])
    assert ints(tx.events["SlotVoided"].values()) == (SLOT, VoidReason.NO_REVEALS)
    assert "MinerDrawn" not in tx.events
    assert miners.isVoid(SLOT) and staked.round()["status"] == SlotStatus.VOID
    assert upos.balanceOf(treasury) - before == 2 * COMMIT_DEPOSIT
    with brownie.reverts(custom_error("BlockNotFinal(uint256)", SLOT)):
        miners.finalMiner(SLOT)


def test_the_drawn_validator_mines_and_the_block_becomes_final(drawn, miners, staking, toy_members):
    driver, seed = drawn
    coalition = draw(seed, TOY_WEIGHTS)
    validator = toy_members[TOY_VALIDATORS[coalition]]
    other = next(m for m in toy_members if m != validator)
    with brownie.reverts(custom_error("NotTheDrawnValidator(uint256,address,address)", SLOT, other, validator)):
        miners.mineBlock(SLOT, b"\x01" * 32, {"from": other})
    with brownie.reverts(custom_error("EmptyBlock()")):
        miners.mineBlock(SLOT, b"\x00" * 32, {"from": validator})

    tx = driver.mine(validator, b"\xab" * 32)
    assert ints(tx.events["BlockMined"].values())[:3] == (SLOT, 0, validator.address)
    state = driver.round()
    assert (state["status"], state["minedAt"], bytes(state["blockHash"])) == (SlotStatus.MINED, tx.timestamp,
                                                                              b"\xab" * 32)
    with brownie.reverts(custom_error("NotMining(uint256,uint8)", SLOT, SlotStatus.MINED)):
        miners.mineBlock(SLOT, b"\x01" * 32, {"from": validator})
    with brownie.reverts(custom_error("BlockNotFinal(uint256)", SLOT)):
        miners.finalMiner(SLOT)
    deadline = tx.timestamp + WINDOWS[3]
    with brownie.reverts(custom_error("ChallengeWindowOpen(uint256,uint256)", SLOT, deadline)):
        miners.finalise(SLOT, {"from": other})
    assert staking.poolOf(validator)[3] == 1

    final = driver.finalise(other)
    assert ints(final.events["BlockFinalised"].values()) == (SLOT, 0, coalition, validator.address)
    assert ints(miners.finalMiner(SLOT)) == (coalition, validator.address)
    assert driver.round()["status"] == SlotStatus.FINAL and staking.poolOf(validator)[3] == 0
    with brownie.reverts(custom_error("NoBlockToChallenge(uint256,uint8)", SLOT, SlotStatus.FINAL)):
        miners.finalise(SLOT, {"from": other})


def test_a_missed_window_slashes_excludes_and_redraws(drawn, miners, staking, epos, toy_members):
    driver, seed = drawn
    first = draw(seed, TOY_WEIGHTS)
    validator = toy_members[TOY_VALIDATORS[first]]
    deadline = driver.round()["deadline"]
    with brownie.reverts(custom_error("MiningWindowOpen(uint256,uint256)", SLOT, deadline)):
        miners.reportMissedBlock(SLOT, {"from": toy_members[0]})
    stake = staking.poolStake(validator)
    supply = epos.totalSupply()

    tx = driver.report_missed(toy_members[0])
    burned = slash(stake, SLASH_BPS)[0]
    assert ints(tx.events["MinerPenalised"].values()) == (
        SLOT, 0, first, validator.address, Penalty.MISSED_BLOCK, burned)
    assert epos.totalSupply() == supply - burned
    assert staking.poolOf(validator)[4] == tx.timestamp + SLASH_FREEZE_SECONDS
    assert staking.poolOf(validator)[3] == 0  # released: the freeze holds what is left
    assert miners.isExcluded(SLOT, first)
    second = draw(seed, TOY_WEIGHTS, excluded=[first], attempt=1)
    assert ints(tx.events["MinerDrawn"].values())[:4] == (SLOT, 1, second, toy_members[TOY_VALIDATORS[second]].address)
    assert second != first


def test_mining_after_the_deadline_reverts(drawn, miners, toy_members):
    driver, seed = drawn
    validator = toy_members[TOY_VALIDATORS[draw(seed, TOY_WEIGHTS)]]
    deadline = driver.round()["deadline"]
    at_or_after(deadline)
    with brownie.reverts(custom_error("MiningWindowClosed(uint256,uint256)", SLOT, deadline)):
        miners.mineBlock(SLOT, b"\x01" * 32, {"from": validator})
    assert driver.round()["status"] == SlotStatus.MINING


def test_a_missed_block_cannot_be_reported_before_a_draw(staked, miners, toy_members):
    with brownie.reverts(custom_error("NotMining(uint256,uint8)", SLOT, SlotStatus.OPEN)):
        miners.reportMissedBlock(SLOT, {"from": toy_members[0]})
    assert staked.round()["status"] == SlotStatus.OPEN


def test_an_invalid_block_report_slashes_excludes_and_redraws(drawn, miners, staking, operator, outsider,
                                                               toy_members):
    driver, seed = drawn
    first = draw(seed, TOY_WEIGHTS)
    validator = toy_members[TOY_VALIDATORS[first]]
    with brownie.reverts(custom_error("NoBlockToChallenge(uint256,uint8)", SLOT, SlotStatus.MINING)):
        miners.reportInvalidBlock(SLOT, {"from": operator})
    driver.mine(validator)
    stake = staking.poolStake(validator)
    for caller in (outsider, validator):
        with brownie.reverts(custom_error(UNAUTHORIZED, caller, role_id("OPERATOR"))):
            miners.reportInvalidBlock(SLOT, {"from": caller})
    assert driver.round()["status"] == SlotStatus.MINED and staking.poolStake(validator) == stake

    tx = driver.report_invalid(operator)
    assert ints(tx.events["MinerPenalised"].values()) == (
        SLOT, 0, first, validator.address, Penalty.INVALID_BLOCK, slash(stake, SLASH_BPS)[0])
    second = draw(seed, TOY_WEIGHTS, excluded=[first], attempt=1)
    state = driver.round()
    assert (state["status"], state["attempt"], state["coalition"], bytes(state["blockHash"])) == (
        SlotStatus.MINING, 1, second, b"\x00" * 32)


def test_an_invalid_block_report_after_the_challenge_window_reverts(drawn, miners, operator, toy_members):
    driver, seed = drawn
    driver.mine(toy_members[TOY_VALIDATORS[draw(seed, TOY_WEIGHTS)]])
    deadline = driver.round()["minedAt"] + WINDOWS[3]
    at_or_after(deadline)
    with brownie.reverts(custom_error("ChallengeWindowClosed(uint256,uint256)", SLOT, deadline)):
        miners.reportInvalidBlock(SLOT, {"from": operator})
    assert driver.round()["status"] == SlotStatus.MINED


def test_penalties_follow_the_offchain_resolution_until_the_slot_is_void(drawn, miners, staking, toy_members):
    """Every drawn validator fails: the sequence of draws and slashes equals resolve_miner, and the slot
    ends void once no coalition is left."""
    driver, seed = drawn
    keys = [address_key(m.address) for m in toy_members]
    stakes = {i: staking.poolStake(m) for i, m in enumerate(toy_members)}
    expected = resolve_miner(seed, TOY_WEIGHTS, TOY_PARTITION, TOY_MEMBER, keys, set(range(6)), stakes, SLASH_BPS)
    assert expected.winner is None

    penalties = []
    for _ in expected.attempts:
        tx = driver.report_missed(toy_members[0])
        penalties.append(tx.events["MinerPenalised"])
    assert [(p["attempt"], p["coalition"], p["validator"]) for p in penalties] == [
        (a.attempt, a.coalition, toy_members[a.validator].address) for a in expected.attempts]
    assert {toy_members.index(p["validator"]): p["burned"] for p in penalties} == expected.slashed
    assert tx.events["SlotVoided"]["reason"] == VoidReason.NO_ELIGIBLE_COALITION
    assert miners.isVoid(SLOT)


def test_constructor_rejects_a_bad_configuration(MinerSelection, registry, scores, staking, upos, admin, treasury):
    good = (registry, scores, staking, upos, WINDOWS, COMMIT_DEPOSIT, treasury)
    bad = [
        (registry, scores, staking, upos, (600, 0, 600, 600, 600), COMMIT_DEPOSIT, treasury),  # a zero window
        (registry, scores, staking, upos, (600, 600, 600, 600, 0), COMMIT_DEPOSIT, treasury),  # no draw window
        # commit + reveal + draw not shorter than Staking's unbonding: stake could leave before the draw
        (registry, scores, staking, upos, (1_200, 1_200, 600, 600, 1_200), COMMIT_DEPOSIT, treasury),
        (registry, scores, staking, upos, WINDOWS, 0, treasury),  # no deposit: a withheld reveal would be free
        (registry, scores, staking, upos, WINDOWS, COMMIT_DEPOSIT, ZERO_ADDRESS),
        (registry, ZERO_ADDRESS, staking, upos, WINDOWS, COMMIT_DEPOSIT, treasury),
        (registry, scores, ZERO_ADDRESS, upos, WINDOWS, COMMIT_DEPOSIT, treasury),
        (registry, scores, staking, ZERO_ADDRESS, WINDOWS, COMMIT_DEPOSIT, treasury),
    ]
    for args in bad:
        with brownie.reverts(custom_error("InvalidConfiguration()")):
            MinerSelection.deploy(*args, role_id("OPERATOR"), {"from": admin})
    assert MinerSelection.deploy(*good, role_id("OPERATOR"), {"from": admin}).commitDeposit() == COMMIT_DEPOSIT


def test_windows_are_reported(miners):
    assert ints(miners.windows()) == WINDOWS
