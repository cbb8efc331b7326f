"""MiningRewardEscrow: fees (delta x saving x price, floored as offchain mining_fees), the reward paid by
shares summing exactly to M_r, the validator's share into its staking pool, refunds of a void slot,
settlement of the committed trade list, balances and terms."""

import brownie
import pytest
from brownie import web3
from consensus_support import SLOT, TOY_MEMBER, TOY_SINGLETON
from consensus_support import (
    DELTA_BPS,
    PRICE,
    REWARD_SCALE,
    ZERO_ADDRESS,
    SlotDriver,
    at_or_after,
    custom_error,
    ints,
    payment,
    role,
    trades_hash,
)

from offchain.algorithms.miner_draw import address_key, draw
from offchain.algorithms.shapley import mining_fees, split_reward

UNAUTHORIZED = "AccessControlUnauthorizedAccount(address,bytes32)"
SETTLEMENT = web3.keccak(text="seed001.settlement")
REWARDS = web3.keccak(text="seed001.rewards")
TOY_PARTITION = [[0, 2], [1, 4], [3, 5]]
TOY_WEIGHTS = [sum(TOY_MEMBER[i] for i in group) for group in TOY_PARTITION]
TOY_VALIDATORS = [2, 1, 5]
SAVINGS = [m - s for m, s in zip(TOY_MEMBER, TOY_SINGLETON)]
FEES = mining_fees(SAVINGS, PRICE, DELTA_BPS)
PAYERS = [i for i, fee in enumerate(FEES) if fee > 0]
DEPOSIT = 10**21


def pay_fees(driver, toy_members):
    for i in PAYERS:
        driver.pay_fee(toy_members[i])


def run_to_final(driver, toy_members):
    """Fees paid, every member commits and reveals, the drawn validator mines, the block is final.
    Returns the winning coalition index."""
    pay_fees(driver, toy_members)
    seed = driver.reveal_all(driver.commit_all(toy_members, "escrow"))
    driver.draw(toy_members[0])
    winner = draw(seed, TOY_WEIGHTS)
    driver.mine(toy_members[TOY_VALIDATORS[winner]])
    driver.finalise()
    return winner


@pytest.fixture
def final_slot(staked, toy_members):
    """Returns (driver, winning coalition) of the hand-made slot, final, fees paid, validators staked."""
    return staked, run_to_final(staked, toy_members)


def reward_shares(winner):
    """The winning coalition's members (positions) and shares of M_r split by member score."""
    group = TOY_PARTITION[winner]
    return group, split_reward(sum(FEES), [TOY_MEMBER[i] for i in group], list(range(len(group))))


# --- fees ---------------------------------------------------------------------------------------------


def test_fee_is_delta_times_saving_at_the_slot_price(toy_slot, escrow, upos, toy_members):
    payer = toy_members[PAYERS[0]]
    before = upos.balanceOf(payer)
    assert escrow.feeOf(SLOT, payer) == FEES[PAYERS[0]] > 0
    tx = toy_slot.pay_fee(payer)

    assert tx.return_value == FEES[PAYERS[0]]
    assert ints(tx.events["FeePaid"].values()) == (SLOT, payer.address, FEES[PAYERS[0]])
    assert ints(tx.events["TermsFixed"].values()) == (SLOT, PRICE, DELTA_BPS)
    assert before - upos.balanceOf(payer) == FEES[PAYERS[0]]
    assert upos.balanceOf(escrow) == FEES[PAYERS[0]]
    assert escrow.feePaid(SLOT, payer) == FEES[PAYERS[0]]
    for i in PAYERS[1:]:
        toy_slot.pay_fee(toy_members[i])
    assert escrow.miningReward(SLOT) == sum(FEES)


def test_fee_rules(toy_slot, escrow, miners, members, toy_members):
    no_saving = toy_members[SAVINGS.index(0)]
    with brownie.reverts(custom_error("NoFeeDue(uint256,address)", SLOT, no_saving)):
        escrow.payFee(SLOT, {"from": no_saving})
    with brownie.reverts(custom_error("NotASlotParticipant(uint256,address)", SLOT, members[6])):
        escrow.payFee(SLOT, {"from": members[6]})
    payer = toy_members[PAYERS[0]]
    toy_slot.pay_fee(payer)
    with brownie.reverts(custom_error("FeeAlreadyPaid(uint256,address)", SLOT, payer)):
        escrow.payFee(SLOT, {"from": payer})
    deadline = miners.revealDeadline(SLOT)
    at_or_after(deadline)
    late = toy_members[PAYERS[1]]
    with brownie.reverts(custom_error("FeeWindowClosed(uint256,uint256)", SLOT, deadline)):
        escrow.payFee(SLOT, {"from": late})
    assert escrow.miningReward(SLOT) == FEES[PAYERS[0]] and escrow.feePaid(SLOT, late) == 0


def test_fee_needs_an_accepted_result(escrow, members):
    with brownie.reverts(custom_error("NoResultForSlot(uint256)", SLOT)):
        escrow.payFee(SLOT, {"from": members[0]})


def test_terms_are_fixed_per_slot_at_first_use(toy_slot, escrow, suite, scorer, admin, outsider, toy_members,
                                               toy_entries):
    with brownie.reverts(custom_error(UNAUTHORIZED, outsider, role("ADMIN"))):
        escrow.setTerms(PRICE, DELTA_BPS, {"from": outsider})
    for bad in (0, 10_001):
        with brownie.reverts(custom_error("InvalidDelta(uint256)", bad)):
            escrow.setTerms(PRICE, bad, {"from": admin})

    toy_slot.pay_fee(toy_members[PAYERS[0]])
    tx = escrow.setTerms(2 * PRICE, 2 * DELTA_BPS, {"from": admin})
    assert ints(tx.events["TermsSet"].values()) == (2 * PRICE, 2 * DELTA_BPS)
    assert ints(escrow.termsOf(SLOT)) == (PRICE, DELTA_BPS, True)
    assert toy_slot.pay_fee(toy_members[PAYERS[1]]).return_value == FEES[PAYERS[1]]

    later = SlotDriver(suite, SLOT + 1)
    later.submit(scorer, toy_entries, trades_hash([]))
    assert ints(escrow.termsOf(SLOT + 1)) == (2 * PRICE, 2 * DELTA_BPS, False)
    assert later.pay_fee(toy_members[PAYERS[0]]).return_value == mining_fees(
        [SAVINGS[PAYERS[0]]], 2 * PRICE, 2 * DELTA_BPS)[0]


# --- balances -----------------------------------------------------------------------------------------


def test_deposit_and_withdraw(escrow, upos, members):
    account = members[0]
    before = upos.balanceOf(account)
    assert ints(escrow.deposit(5 * 10**18, {"from": account}).events["Deposited"].values()) == (account.address,
                                                                                                5 * 10**18)
    with brownie.reverts(custom_error("InsufficientBalance(address,uint256,uint256)", account, 5 * 10**18,
                                      5 * 10**18 + 1)):
        escrow.withdraw(5 * 10**18 + 1, {"from": account})
    for call in (escrow.deposit, escrow.withdraw):
        with brownie.reverts(custom_error("ZeroAmount()")):
            call(0, {"from": account})
    escrow.withdraw(2 * 10**18, {"from": account})
    assert escrow.balanceOf(account) == 3 * 10**18
    assert before - upos.balanceOf(account) == 3 * 10**18


# --- settlement ---------------------------------------------------------------------------------------


def fund_deposits(driver, accounts):
    for account in accounts:
        driver.deposit(account, DEPOSIT)


def test_settlement_moves_payments_of_the_committed_trades(final_slot, escrow, toy_members, toy_trades, edc):
    driver, _ = final_slot
    everyone = [*toy_members, edc]
    fund_deposits(driver, everyone)
    before = {a.address: escrow.balanceOf(a) for a in everyone}

    tx = driver.settle(toy_members[0], toy_trades)

    expected = dict(before)
    party = {ZERO_ADDRESS: edc.address}
    for seller, buyer, wh in toy_trades:
        expected[party.get(seller, seller)] += payment(wh, PRICE)
        expected[party.get(buyer, buyer)] -= payment(wh, PRICE)
    assert {a.address: escrow.balanceOf(a) for a in everyone} == expected
    assert [ints(e.values()) for e in tx.events["TradeSettled"]][0] == (
        SLOT, toy_trades[0][0], toy_trades[0][1], toy_trades[0][2], payment(toy_trades[0][2], PRICE))
    assert escrow.isAccepted(SETTLEMENT, SLOT)
    with brownie.reverts(custom_error("ResultAlreadyAccepted(bytes32,uint256)", SETTLEMENT, SLOT)):
        escrow.settleTrades(SLOT, toy_trades, {"from": toy_members[0]})


def test_settlement_needs_a_final_block(staked, escrow, toy_members, toy_trades):
    with brownie.reverts(custom_error("BlockNotFinal(uint256)", SLOT)):
        escrow.settleTrades(SLOT, toy_trades, {"from": toy_members[0]})


def test_settlement_of_another_trade_list_reverts(final_slot, escrow, toy_members, toy_trades, edc):
    driver, _ = final_slot
    fund_deposits(driver, [*toy_members, edc])
    altered = [*toy_trades[:-1], (toy_trades[-1][0], toy_trades[-1][1], toy_trades[-1][2] + 1)]
    with brownie.reverts(custom_error("TradesDoNotMatchCommitment(uint256,bytes32,bytes32)", SLOT,
                                      trades_hash(toy_trades), trades_hash(altered))):
        escrow.settleTrades(SLOT, altered, {"from": toy_members[0]})
    assert not escrow.isAccepted(SETTLEMENT, SLOT)


def test_settlement_with_a_short_buyer_reverts_and_changes_nothing(final_slot, escrow, toy_members, toy_trades, edc):
    driver, _ = final_slot
    short_buyer = toy_members[2]  # buys 1,500 Wh from m0 in the first trade
    fund_deposits(driver, [m for m in toy_members if m != short_buyer] + [edc])
    before = [escrow.balanceOf(a) for a in [*toy_members, edc]]
    with brownie.reverts(custom_error("InsufficientBalance(address,uint256,uint256)", short_buyer, 0,
                                      payment(1_500, PRICE))):
        escrow.settleTrades(SLOT, toy_trades, {"from": toy_members[0]})
    assert [escrow.balanceOf(a) for a in [*toy_members, edc]] == before
    assert not escrow.isAccepted(SETTLEMENT, SLOT)


@pytest.mark.parametrize("bad_trade", ["no energy", "same account"])
def test_invalid_trades_revert(suite, escrow, scorer, toy_members, toy_entries, toy_trades, bad_trade):
    trade = (toy_members[0].address, toy_members[2].address, 0) if bad_trade == "no energy" else (
        toy_members[0].address, toy_members[0].address, 10)
    trades = [toy_trades[0], trade]
    driver = SlotDriver(suite, SLOT)
    driver.submit(scorer, toy_entries, trades_hash(trades))
    seed = driver.reveal_all(driver.commit_all(toy_members, "invalid"))
    driver.draw(toy_members[0])
    driver.mine(toy_members[TOY_VALIDATORS[draw(seed, TOY_WEIGHTS)]])
    driver.finalise()
    fund_deposits(driver, toy_members)
    with brownie.reverts(custom_error("InvalidTrade(uint256)", 1)):
        escrow.settleTrades(SLOT, trades, {"from": toy_members[0]})


# --- reward -------------------------------------------------------------------------------------------


def test_reward_is_paid_by_shares_and_the_validators_share_goes_to_its_pool(final_slot, escrow, staking, upos,
                                                                            scorer, toy_members):
    driver, winner = final_slot
    group, shares = reward_shares(winner)
    members = [toy_members[i] for i in group]
    validator = toy_members[TOY_VALIDATORS[winner]]
    staked_before = upos.balanceOf(staking)

    tx = driver.distribute(scorer, members, shares)

    for member, share in zip(members, shares):
        assert escrow.balanceOf(member) == (0 if member == validator else share)
    validator_share = shares[members.index(validator)]
    assert upos.balanceOf(staking) - staked_before == validator_share
    per_share = validator_share * REWARD_SCALE // staking.poolOf(validator)[1]
    own_shares = staking.sharesOf(validator, validator)
    assert staking.pendingRewards(validator, validator) == own_shares * per_share // REWARD_SCALE
    assert [(e["member"], e["share"], e["toStakingPool"]) for e in tx.events["RewardShared"]] == [
        (m.address, s, m == validator) for m, s in zip(members, shares)]
    assert ints(tx.events["RewardDistributed"].values()) == (SLOT, winner, validator.address, sum(FEES))
    assert escrow.isAccepted(REWARDS, SLOT)
    with brownie.reverts(custom_error("ResultAlreadyAccepted(bytes32,uint256)", REWARDS, SLOT)):
        escrow.distributeReward(SLOT, members, shares, {"from": scorer})


def test_shares_not_summing_to_the_reward_revert(final_slot, escrow, upos, scorer, toy_members):
    driver, winner = final_slot
    group, shares = reward_shares(winner)
    members = [toy_members[i] for i in group]
    for delta in (1, -1):
        wrong = [shares[0] + delta, *shares[1:]]
        with brownie.reverts(custom_error("SharesDoNotSumToReward(uint256,uint256,uint256)", SLOT, sum(wrong),
                                          sum(FEES))):
            escrow.distributeReward(SLOT, members, wrong, {"from": scorer})
    assert not escrow.isAccepted(REWARDS, SLOT)
    assert all(escrow.balanceOf(m) == 0 for m in members)


def test_shares_must_name_the_winning_coalition(final_slot, escrow, scorer, toy_members):
    driver, winner = final_slot
    group, shares = reward_shares(winner)
    members = [toy_members[i] for i in group]
    outsider_member = toy_members[TOY_PARTITION[(winner + 1) % 3][0]]
    cases = [
        (members[:1], shares[:1], custom_error("WinningCoalitionMismatch(uint256,uint256,uint256)", SLOT, 1, 2)),
        (members, shares[:1], custom_error("ShareLengthMismatch(uint256,uint256)", 2, 1)),
        (members[::-1], shares[::-1], custom_error("MembersNotAscending(uint256)", 1)),
    ]
    swapped = sorted([members[0], outsider_member], key=lambda a: address_key(a.address))
    cases.append((swapped, shares, custom_error("NotInWinningCoalition(uint256,address)", SLOT, outsider_member)))
    for given, given_shares, error in cases:
        with brownie.reverts(error):
            escrow.distributeReward(SLOT, given, given_shares, {"from": scorer})
    assert not escrow.isAccepted(REWARDS, SLOT)


def test_only_scorer_distributes(final_slot, escrow, outsider, operator, toy_members):
    _, winner = final_slot
    group, shares = reward_shares(winner)
    for caller in (outsider, operator):
        with brownie.reverts(custom_error(UNAUTHORIZED, caller, role("SCORER"))):
            escrow.distributeReward(SLOT, [toy_members[i] for i in group], shares, {"from": caller})


def test_reward_needs_a_final_block(staked, escrow, scorer, toy_members):
    with brownie.reverts(custom_error("BlockNotFinal(uint256)", SLOT)):
        escrow.distributeReward(SLOT, [toy_members[0]], [0], {"from": scorer})


def test_a_validator_without_stake_is_credited_directly(toy_slot, escrow, upos, staking, scorer, toy_members):
    winner = run_to_final(toy_slot, toy_members)
    group, shares = reward_shares(winner)
    members = [toy_members[i] for i in group]
    tx = toy_slot.distribute(scorer, members, shares)
    assert [escrow.balanceOf(m) for m in members] == shares
    assert not any(e["toStakingPool"] for e in tx.events["RewardShared"])
    assert upos.balanceOf(staking) == 0
    for member, share in zip(members, shares):
        if share:
            before = upos.balanceOf(member)
            escrow.withdraw(share, {"from": member})
            assert upos.balanceOf(member) - before == share


# --- void slots ---------------------------------------------------------------------------------------


def test_fees_of_a_void_slot_are_refunded(staked, escrow, toy_members):
    pay_fees(staked, toy_members)
    payer = toy_members[PAYERS[0]]
    with brownie.reverts(custom_error("SlotNotVoid(uint256)", SLOT)):
        escrow.refundFee(SLOT, {"from": payer})
    staked.draw(toy_members[0])  # nobody committed: void

    tx = escrow.refundFee(SLOT, {"from": payer})
    assert ints(tx.events["FeeRefunded"].values()) == (SLOT, payer.address, FEES[PAYERS[0]])
    assert escrow.balanceOf(payer) == FEES[PAYERS[0]]
    assert escrow.miningReward(SLOT) == sum(FEES) - FEES[PAYERS[0]]
    with brownie.reverts(custom_error("NoFeeToRefund(uint256,address)", SLOT, payer)):
        escrow.refundFee(SLOT, {"from": payer})
    no_fee = toy_members[SAVINGS.index(0)]
    with brownie.reverts(custom_error("NoFeeToRefund(uint256,address)", SLOT, no_fee)):
        escrow.refundFee(SLOT, {"from": no_fee})


def test_constructor_rejects_zero_addresses(MiningRewardEscrow, registry, upos, scores, miners, staking, admin):
    with brownie.reverts(custom_error("ZeroAddress()")):
        MiningRewardEscrow.deploy(registry, upos, scores, miners, staking, ZERO_ADDRESS, PRICE, DELTA_BPS,
                                  {"from": admin})
