"""MiningRewardEscrow: fees (delta x saving x price, floored as offchain mining_fees) paid before any reveal,
the reward paid by shares summing exactly to M_r (nothing to a member that did not pay its fee), the
validator's share into its staking pool, refunds of a void slot, trade-by-trade settlement of the committed
trade list, balances and terms checkpointed at result acceptance."""

import brownie
import pytest
from brownie import web3
from contract_helpers import ALREADY_ACCEPTED, INSUFFICIENT_BALANCE, UNAUTHORIZED, custom_error
from consensus_support import SLOT, TOY_MEMBER, TOY_SINGLETON
from consensus_support import (
    DELTA_BPS,
    PRICE,
    REWARD_SCALE,
    UNBONDING_SECONDS,
    SlotDriver,
    at_or_after,
    ints,
    secret_for,
    trades_hash,
    xor_seed,
)

from offchain.algorithms.miner_draw import address_key, draw
from offchain.algorithms.shapley import mining_fees, split_reward
from offchain.chain.abi import ZERO_ADDRESS
from offchain.chain.roles import role_id
from offchain.units import payment_base

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


def stake_scores(driver, scorer, toy_members):
    """Every toy member with a score holds it in EPOS, staked on itself (as the `staked` fixture)."""
    holders = [(m, score) for m, score in zip(toy_members, TOY_MEMBER) if score > 0]
    driver.mint_scores(scorer, [m for m, _ in holders], [score for _, score in holders])
    for holder, score in holders:
        driver.stake(holder, holder, score)


def run_to_final(driver, toy_members, payers=PAYERS, label="escrow"):
    """`payers` pay their fees, every member commits and reveals, the drawn validator mines, the block is
    final. Returns the winning coalition index."""
    for i in payers:
        driver.pay_fee(toy_members[i])
    seed = driver.reveal_all(driver.commit_all(toy_members, label))
    driver.draw(toy_members[0])
    winner = draw(seed, TOY_WEIGHTS)
    driver.mine(toy_members[TOY_VALIDATORS[winner]])
    driver.finalise(toy_members[0])
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
    deadline = miners.commitDeadline(SLOT)  # fees close before the first reveal, so before the miner is known
    at_or_after(deadline)
    late = toy_members[PAYERS[1]]
    with brownie.reverts(custom_error("FeeWindowClosed(uint256,uint256)", SLOT, deadline)):
        escrow.payFee(SLOT, {"from": late})
    assert escrow.miningReward(SLOT) == FEES[PAYERS[0]] and escrow.feePaid(SLOT, late) == 0


def test_fee_needs_an_accepted_result(escrow, upos, members):
    with brownie.reverts(custom_error("NoResultForSlot(uint256)", SLOT)):
        escrow.payFee(SLOT, {"from": members[0]})
    assert escrow.miningReward(SLOT) == 0 and upos.balanceOf(escrow) == 0


def test_a_slot_keeps_the_terms_in_force_when_its_result_was_accepted(toy_slot, escrow, suite, scorer, admin,
                                                                        outsider, toy_members, toy_entries):
    with brownie.reverts(custom_error(UNAUTHORIZED, outsider, role_id("ADMIN"))):
        escrow.setTerms(PRICE, DELTA_BPS, {"from": outsider})
    for bad in (0, 10_001):
        with brownie.reverts(custom_error("InvalidDelta(uint256)", bad)):
            escrow.setTerms(PRICE, bad, {"from": admin})
    assert ints(escrow.termsOf(SLOT)) == (PRICE, DELTA_BPS)

    tx = escrow.setTerms(2 * PRICE, 2 * DELTA_BPS, {"from": admin})
    assert ints(tx.events["TermsSet"].values()) == (2 * PRICE, 2 * DELTA_BPS)
    assert ints(escrow.termsOf(SLOT)) == (PRICE, DELTA_BPS)  # accepted before the change: not repriced
    assert toy_slot.pay_fee(toy_members[PAYERS[0]]).return_value == FEES[PAYERS[0]]

    assert ints(escrow.termsOf(SLOT + 1)) == (2 * PRICE, 2 * DELTA_BPS)  # no result yet: the current terms
    later = SlotDriver(suite, SLOT + 1)
    at_or_after(tx.timestamp)  # terms apply from the next second on
    accepted = later.submit(scorer, toy_entries, trades_hash([]))
    changed = escrow.setTerms(3 * PRICE, DELTA_BPS, {"from": admin})
    assert changed.timestamp >= accepted.timestamp  # even in the same second, a later change does not apply
    assert ints(escrow.termsOf(SLOT + 1)) == (2 * PRICE, 2 * DELTA_BPS)
    assert later.pay_fee(toy_members[PAYERS[0]]).return_value == mining_fees(
        [SAVINGS[PAYERS[0]]], 2 * PRICE, 2 * DELTA_BPS)[0]


# --- balances -----------------------------------------------------------------------------------------


def test_deposit_and_withdraw(escrow, upos, members):
    account = members[0]
    before = upos.balanceOf(account)
    assert ints(escrow.deposit(5 * 10**18, {"from": account}).events["Deposited"].values()) == (account.address,
                                                                                                5 * 10**18)
    with brownie.reverts(custom_error(INSUFFICIENT_BALANCE, account, 5 * 10**18,
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


def expected_balances(before, trades, edc, settled=None):
    """The escrow balances after the trades at positions `settled` (default: all) are paid."""
    expected = dict(before)
    party = {ZERO_ADDRESS: edc.address}
    for index, (seller, buyer, wh) in enumerate(trades):
        if settled is None or index in settled:
            expected[party.get(seller, seller)] += payment_base(wh, PRICE)
            expected[party.get(buyer, buyer)] -= payment_base(wh, PRICE)
    return expected


def test_settlement_moves_payments_of_the_committed_trades(final_slot, escrow, toy_members, toy_trades, edc):
    driver, _ = final_slot
    everyone = [*toy_members, edc]
    fund_deposits(driver, everyone)
    before = {a.address: escrow.balanceOf(a) for a in everyone}

    tx = driver.settle(toy_members[0], toy_trades)

    assert tx.return_value == len(toy_trades)
    assert {a.address: escrow.balanceOf(a) for a in everyone} == expected_balances(before, toy_trades, edc)
    assert [ints(e.values()) for e in tx.events["TradeSettled"]][0] == (
        SLOT, 0, toy_trades[0][0], toy_trades[0][1], toy_trades[0][2], payment_base(toy_trades[0][2], PRICE))
    assert all(escrow.isTradeSettled(SLOT, i) for i in range(len(toy_trades)))
    with brownie.reverts(custom_error("NothingToSettle(uint256)", SLOT)):
        escrow.settleTrades(SLOT, toy_trades, {"from": toy_members[0]})
    assert {a.address: escrow.balanceOf(a) for a in everyone} == expected_balances(before, toy_trades, edc)


def test_settlement_needs_a_final_block(staked, escrow, toy_members, toy_trades, edc):
    staked.deposit(toy_members[2], DEPOSIT)
    with brownie.reverts(custom_error("BlockNotFinal(uint256)", SLOT)):
        escrow.settleTrades(SLOT, toy_trades, {"from": toy_members[0]})
    assert not escrow.isTradeSettled(SLOT, 0) and escrow.balanceOf(toy_members[2]) == DEPOSIT


def test_settlement_of_another_trade_list_reverts(final_slot, escrow, toy_members, toy_trades, edc):
    driver, _ = final_slot
    fund_deposits(driver, [*toy_members, edc])
    altered = [*toy_trades[:-1], (toy_trades[-1][0], toy_trades[-1][1], toy_trades[-1][2] + 1)]
    with brownie.reverts(custom_error("TradesDoNotMatchCommitment(uint256,bytes32,bytes32)", SLOT,
                                      trades_hash(toy_trades), trades_hash(altered))):
        escrow.settleTrades(SLOT, altered, {"from": toy_members[0]})
    assert not any(escrow.isTradeSettled(SLOT, i) for i in range(len(toy_trades)))


def test_a_short_buyer_holds_up_only_its_own_trade(final_slot, escrow, toy_members, toy_trades, edc):
    driver, _ = final_slot
    short_buyer = toy_members[2]  # buys 1,500 Wh from m0 in the first trade
    everyone = [*toy_members, edc]
    fund_deposits(driver, [m for m in everyone if m != short_buyer])
    before = {a.address: escrow.balanceOf(a) for a in everyone}

    tx = driver.settle(toy_members[0], toy_trades)
    assert tx.return_value == len(toy_trades) - 1
    assert ints(tx.events["TradeUnpaid"].values()) == (SLOT, 0, short_buyer.address, payment_base(1_500, PRICE), 0)
    rest = set(range(1, len(toy_trades)))
    assert {a.address: escrow.balanceOf(a) for a in everyone} == expected_balances(before, toy_trades, edc, rest)
    assert not escrow.isTradeSettled(SLOT, 0)
    with brownie.reverts(custom_error("NothingToSettle(uint256)", SLOT)):  # still short: nothing moves
        escrow.settleTrades(SLOT, toy_trades, {"from": edc})

    driver.deposit(short_buyer, DEPOSIT)
    retry = driver.settle(edc, toy_trades)  # anyone may settle what is left
    assert retry.return_value == 1 and len(retry.events["TradeSettled"]) == 1
    before[short_buyer.address] += DEPOSIT
    assert {a.address: escrow.balanceOf(a) for a in everyone} == expected_balances(before, toy_trades, edc)


@pytest.mark.parametrize("bad_trade", ["no energy", "same account"])
def test_a_malformed_committed_trade_is_voided_and_blocks_nothing(suite, escrow, scorer, toy_members, toy_entries,
                                                                  toy_trades, bad_trade):
    trade = (toy_members[0].address, toy_members[2].address, 0) if bad_trade == "no energy" else (
        toy_members[0].address, toy_members[0].address, 10)
    trades = [toy_trades[0], trade]
    driver = SlotDriver(suite, SLOT)
    driver.submit(scorer, toy_entries, trades_hash(trades))
    stake_scores(driver, scorer, toy_members)
    run_to_final(driver, toy_members, payers=(), label="invalid")
    fund_deposits(driver, toy_members)
    before = [escrow.balanceOf(m) for m in toy_members]
    tx = driver.settle(toy_members[0], trades)
    assert tx.return_value == 2 and ints(tx.events["TradeVoided"].values()) == (SLOT, 1)
    assert len(tx.events["TradeSettled"]) == 1 and escrow.isTradeSettled(SLOT, 1)
    moved = payment_base(toy_trades[0][2], PRICE)
    assert [escrow.balanceOf(m) for m in toy_members] == [
        b + (moved if i == 0 else -moved if i == 2 else 0) for i, b in enumerate(before)]


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
    balances = [escrow.balanceOf(m) for m in members]
    with brownie.reverts(custom_error(ALREADY_ACCEPTED, REWARDS, SLOT)):
        escrow.distributeReward(SLOT, members, shares, {"from": scorer})
    assert [escrow.balanceOf(m) for m in members] == balances


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


def test_only_scorer_distributes(final_slot, escrow, upos, outsider, operator, toy_members):
    _, winner = final_slot
    group, shares = reward_shares(winner)
    held = upos.balanceOf(escrow)
    for caller in (outsider, operator):
        with brownie.reverts(custom_error(UNAUTHORIZED, caller, role_id("SCORER"))):
            escrow.distributeReward(SLOT, [toy_members[i] for i in group], shares, {"from": caller})
    assert not escrow.isAccepted(REWARDS, SLOT) and upos.balanceOf(escrow) == held
    assert all(escrow.balanceOf(toy_members[i]) == 0 for i in group)


def test_reward_needs_a_final_block(staked, escrow, scorer, toy_members):
    with brownie.reverts(custom_error("BlockNotFinal(uint256)", SLOT)):
        escrow.distributeReward(SLOT, [toy_members[0]], [0], {"from": scorer})
    assert not escrow.isAccepted(REWARDS, SLOT)


def label_drawing(toy_members, wanted) -> tuple[str, int]:
    """A commit-reveal label and the coalition it draws, for the first label whose winner passes `wanted`:
    the draw is computed from the secrets before anyone pays."""
    for k in range(100):
        label = f"unpaid:{k}"
        winner = draw(xor_seed({a: secret_for(label, a) for a in toy_members}), TOY_WEIGHTS)
        if wanted(winner):
            return label, winner
    raise AssertionError("no label among 100 draws the coalition wanted")


def test_a_member_that_did_not_pay_its_fee_gets_no_share(staked, escrow, scorer, toy_members):
    label, winner = label_drawing(toy_members, lambda w: any(i in PAYERS for i in TOY_PARTITION[w]))
    group = TOY_PARTITION[winner]
    dodger = next(i for i in group if i in PAYERS)
    assert run_to_final(staked, toy_members, [i for i in PAYERS if i != dodger], label) == winner
    reward = sum(FEES) - FEES[dodger]
    assert escrow.miningReward(SLOT) == reward
    members = [toy_members[i] for i in group]

    greedy = [reward - 1 if i != dodger else 1 for i in group]
    with brownie.reverts(custom_error("ShareForUnpaidFee(uint256,address,uint256)", SLOT, toy_members[dodger], 1)):
        escrow.distributeReward(SLOT, members, greedy, {"from": scorer})
    assert not escrow.isAccepted(REWARDS, SLOT)
    fair = [reward if i != dodger else 0 for i in group]
    staked.distribute(scorer, members, fair)
    assert escrow.balanceOf(toy_members[dodger]) == 0


def test_a_reward_nobody_may_take_goes_back_to_the_fee_payers(staked, escrow, scorer, toy_members):
    label, winner = label_drawing(toy_members, lambda w: all(i in PAYERS for i in TOY_PARTITION[w]))
    group = TOY_PARTITION[winner]
    payers = [i for i in PAYERS if i not in group]
    run_to_final(staked, toy_members, payers, label)
    members = [toy_members[i] for i in group]
    reward = escrow.miningReward(SLOT)
    assert reward == sum(FEES[i] for i in payers) > 0
    with brownie.reverts(custom_error("FeesNotRefundable(uint256)", SLOT)):
        escrow.refundFee(SLOT, {"from": toy_members[payers[0]]})

    tx = staked.distribute(scorer, members, [0] * len(members))
    assert ints(tx.events["RewardUnpayable"].values()) == (SLOT, winner, reward)
    assert "RewardDistributed" not in tx.events and escrow.rewardUnpayable(SLOT)
    for i in payers:
        escrow.refundFee(SLOT, {"from": toy_members[i]})
        assert escrow.balanceOf(toy_members[i]) == FEES[i]
    assert escrow.miningReward(SLOT) == 0


def test_zero_shares_are_refused_while_a_member_may_be_paid(final_slot, escrow, scorer, toy_members):
    _, winner = final_slot
    members = [toy_members[i] for i in TOY_PARTITION[winner]]
    with brownie.reverts(custom_error("SharesDoNotSumToReward(uint256,uint256,uint256)", SLOT, 0, sum(FEES))):
        escrow.distributeReward(SLOT, members, [0] * len(members), {"from": scorer})
    assert not escrow.rewardUnpayable(SLOT) and not escrow.isAccepted(REWARDS, SLOT)


def test_a_void_slot_settles_no_trade(staked, escrow, toy_members, toy_trades):
    staked.draw(toy_members[0])  # nobody committed: void, no block
    with brownie.reverts(custom_error("BlockNotFinal(uint256)", SLOT)):
        escrow.settleTrades(SLOT, toy_trades, {"from": toy_members[0]})
    assert not escrow.isTradeSettled(SLOT, 0)


def test_a_validator_that_left_its_pool_is_credited_directly(final_slot, escrow, upos, staking, scorer,
                                                             toy_members):
    driver, winner = final_slot
    validator = toy_members[TOY_VALIDATORS[winner]]
    ready_at = staking.unstake(validator, staking.stakeOf(validator, validator), {"from": validator}).timestamp
    at_or_after(ready_at + UNBONDING_SECONDS)
    staking.withdraw(validator, {"from": validator})  # the block is final: its pool is no longer locked
    assert staking.poolStake(validator) == 0
    staked_before = upos.balanceOf(staking)

    group, shares = reward_shares(winner)
    members = [toy_members[i] for i in group]
    tx = driver.distribute(scorer, members, shares)
    assert [escrow.balanceOf(m) for m in members] == shares
    assert not any(e["toStakingPool"] for e in tx.events["RewardShared"])
    assert upos.balanceOf(staking) == staked_before
    for member, share in zip(members, shares):
        if share:
            before = upos.balanceOf(member)
            escrow.withdraw(share, {"from": member})
            assert upos.balanceOf(member) - before == share


# --- void slots ---------------------------------------------------------------------------------------


def test_fees_of_a_void_slot_are_refunded(staked, escrow, toy_members):
    pay_fees(staked, toy_members)
    payer = toy_members[PAYERS[0]]
    with brownie.reverts(custom_error("FeesNotRefundable(uint256)", SLOT)):
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
