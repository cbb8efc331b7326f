"""One full slot of seed 001 on chain against offchain.mechanisms.coalition_market.plan.run_slot for the same ten
prosumers and the same commit-reveal seed: scores -> partition -> fees -> commit/reveal -> draw -> a
missed window (slash, exclusion, redraw) -> an invalid block (slash, exclusion, redraw) -> mined and
finalised -> trade settlement -> Shapley rewards -> claims -> unbonding. Prints the gas of every step (run
with -s)."""

import brownie
from contract_helpers import custom_error
from consensus_support import (
    COMMIT_DEPOSIT,
    PRICE,
    REWARD_SCALE,
    SLASH_FREEZE_SECONDS,
    UNBONDING_SECONDS,
    SlotDriver,
    at_or_after,
    ints,
    plan_slot,
    secret_for,
    xor_seed,
)

from offchain.chain.abi import ZERO_ADDRESS
from offchain.mechanisms.consensus import Penalty
from offchain.units import payment_base

SLOT = 20_240
DEPOSIT = 10**21


def test_full_slot_matches_the_offchain_slot(suite, members, scorer, operator, edc, treasury, upos, epos):
    scores, staking, miners, escrow = suite.scores, suite.staking, suite.miners, suite.escrow
    secrets = {a: secret_for("e2e", a) for a in members}
    withholder = members[-1]
    seed = xor_seed({a: s for a, s in secrets.items() if a != withholder})

    # Off chain: the first two drawn validators fail (one misses, one mines an invalid block).
    first = plan_slot(SLOT, members, seed).validator_account(0)
    second = plan_slot(SLOT, members, seed, failing=[first]).validator_account(1)
    plan = plan_slot(SLOT, members, seed, failing=[first, second])
    outcome, view = plan.outcome, plan.outcome.chain
    assert outcome.miner.winner is not None and len(outcome.miner.attempts) == 3
    winner_validator = plan.validator_account(2)
    index = {a: i for i, a in enumerate(members)}
    delegator = next(
        a for a in members if view.member_scores_base[index[a]] > 0 and a not in (first, second, winner_validator)
    )

    driver = SlotDriver(suite, SLOT)
    # 1. scores as EPOS, staked: each scored member on itself, then the delegator on the final validator
    # (a delegation needs its validator's self-stake first, whatever the address order)
    holders = [a for a in members if view.member_scores_base[index[a]] > 0]
    driver.mint_scores(scorer, holders, [view.member_scores_base[index[a]] for a in holders])
    for holder in sorted(holders, key=lambda a: a == delegator):
        driver.stake(holder, winner_validator if holder == delegator else holder, epos.balanceOf(holder))

    # 2. the slot result: scores, canonical partition, trade-list commitment
    driver.submit(scorer, plan.entries, plan.trades_hash)
    assert [int(w) for w in scores.coalitionScores(SLOT)] == outcome.draw_weights

    # 3. fees before the draw: M_r equals the off-chain M_r
    for account in members:
        if escrow.feeOf(SLOT, account) > 0:
            assert driver.pay_fee(account).return_value == outcome.fees_base[index[account]]
    assert escrow.miningReward(SLOT) == outcome.mining_reward_base > 0

    # 4. commit-reveal (one participant withholds its reveal), draw
    for account, secret in secrets.items():
        driver.commit(account, secret)
    driver.open_reveals()
    for account, secret in secrets.items():
        if account != withholder:
            driver.reveal(account, secret)
    assert bytes(driver.round()["seed"]) == seed
    treasury_before = upos.balanceOf(treasury)
    drawn = driver.draw(members[0]).events["MinerDrawn"]
    attempts = outcome.miner.attempts
    assert (drawn["coalition"], drawn["validator"]) == (attempts[0].coalition, first.address)
    assert upos.balanceOf(treasury) - treasury_before == COMMIT_DEPOSIT

    # 5. the first validator misses its window: slashed, excluded, redrawn
    supply = epos.totalSupply()
    missed = driver.report_missed(members[0])
    penalty = missed.events["MinerPenalised"]
    assert (penalty["validator"], penalty["reason"], penalty["burned"]) == (
        first.address, Penalty.MISSED_BLOCK, outcome.miner.slashed[index[first]])
    assert (missed.events["MinerDrawn"]["coalition"], missed.events["MinerDrawn"]["validator"]) == (
        attempts[1].coalition, second.address)

    # 6. the second mines a block the operator reports invalid: slashed, excluded, redrawn
    driver.mine(second, b"\x0b" * 32)
    invalid = driver.report_invalid(operator)
    penalty = invalid.events["MinerPenalised"]
    assert (penalty["validator"], penalty["reason"], penalty["burned"]) == (
        second.address, Penalty.INVALID_BLOCK, outcome.miner.slashed[index[second]])
    assert (invalid.events["MinerDrawn"]["coalition"], invalid.events["MinerDrawn"]["validator"]) == (
        outcome.miner.winner, winner_validator.address)
    assert epos.totalSupply() == supply - sum(outcome.miner.slashed.values())

    # 7. the third mines; final after the challenge window
    driver.mine(winner_validator, b"\x0c" * 32)
    driver.finalise(members[0])
    assert ints(miners.finalMiner(SLOT)) == (outcome.miner.winner, winner_validator.address)

    # 8. settlement of the committed trade list at p_t
    everyone = [*members, edc]
    for account in everyone:
        driver.deposit(account, DEPOSIT)
    expected = {a.address: escrow.balanceOf(a) for a in everyone}
    party = {ZERO_ADDRESS: edc.address}
    for seller, buyer, wh in plan.trades:
        expected[party.get(seller, seller)] += payment_base(wh, PRICE)
        expected[party.get(buyer, buyer)] -= payment_base(wh, PRICE)
    driver.settle(members[0], plan.trades)
    assert {a.address: escrow.balanceOf(a) for a in everyone} == expected

    # 9. the reward: the off-chain Shapley shares sum exactly to M_r; the validator's share to its pool
    winners = plan.winner_members()
    shares = [outcome.rewards_base[index[a]] for a in winners]
    pool_shares = staking.poolOf(winner_validator)[1]
    driver.distribute(scorer, winners, shares)
    for account, share in zip(winners, shares):
        reward = 0 if account == winner_validator else share
        assert escrow.balanceOf(account) == expected[account.address] + reward
    per_share = shares[winners.index(winner_validator)] * REWARD_SCALE // pool_shares
    for staker in (winner_validator, delegator):
        assert staking.pendingRewards(winner_validator, staker) == (
            staking.sharesOf(winner_validator, staker) * per_share // REWARD_SCALE) > 0

    # 10. claims; leaving takes an unbonding, and a slashed pool stays frozen after it
    for account in winners:
        if account != winner_validator:
            balance = escrow.balanceOf(account)
            before = upos.balanceOf(account)
            escrow.withdraw(balance, {"from": account})
            assert upos.balanceOf(account) - before == balance
    before = upos.balanceOf(delegator)
    claimed = staking.claimRewards(winner_validator, {"from": delegator}).return_value
    assert upos.balanceOf(delegator) - before == claimed > 0
    leaving = staking.unstake(winner_validator, 1, {"from": delegator})
    ready_at = leaving.timestamp + UNBONDING_SECONDS
    with brownie.reverts(custom_error("StillUnbonding(address,address,uint256)", winner_validator, delegator,
                                      ready_at)):
        staking.withdraw(winner_validator, {"from": delegator})
    staking.unstake(first, 1, {"from": first})
    at_or_after(ready_at + 1)
    frozen_until = missed.timestamp + SLASH_FREEZE_SECONDS
    with brownie.reverts(custom_error("StakeSlashed(address,uint256)", first, frozen_until)):
        staking.withdraw(first, {"from": first})
    assert staking.withdraw(winner_validator, {"from": delegator}).return_value == 1

    gas = driver.gas()
    total = sum(gas.values())
    print(f"\ngas per step, one slot, n = {len(members)} participants:")
    for step, used in gas.items():
        print(f"  {step:<20} {used:>10,} ({len(driver.receipts[step])} tx)")
    print(f"  {'total':<20} {total:>10,}  = {total // len(members):,} per participant")
