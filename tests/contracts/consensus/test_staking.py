"""Staking: self-stake and delegation in share-accounted pools, unbonding before withdrawal, locks,
releases and slashes by the bound MinerSelection (a plain account here), validator eligibility, the
withdrawal errors, and rewards pro rata to stake."""

import brownie
import pytest
from brownie import web3
from contract_helpers import UNAUTHORIZED, custom_error
from consensus_support import (
    MIN_SELF_STAKE,
    REWARD_SCALE,
    SLASH_BPS,
    SLASH_FREEZE_SECONDS,
    UNBONDING_SECONDS,
    at_or_after,
    ints,
)

from offchain.algorithms.miner_draw import slash
from offchain.chain.abi import ZERO_ADDRESS
from offchain.chain.roles import role_id

ONE = 10**18
SCORES = web3.keccak(text="seed001.poeg.staking-test")


@pytest.fixture
def holders(epos, scorer, members):
    """Three EPOS holders: a validator with 4, a delegator with 2, a latecomer with 1 EPOS."""
    validator, delegator, latecomer = members[:3]
    epos.mintScores(SCORES, 1, [validator, delegator, latecomer], [4 * ONE, 2 * ONE, ONE], {"from": scorer})
    return validator, delegator, latecomer


@pytest.fixture
def pool(staking_as, epos, holders):
    """Validator self-stakes 3 EPOS, delegator delegates 1: a pool of 4 EPOS."""
    staking, controller = staking_as
    validator, delegator, _ = holders
    for account, amount in ((validator, 3 * ONE), (delegator, ONE)):
        epos.approve(staking, amount, {"from": account})
        staking.stake(validator, amount, {"from": account})
    return staking, controller


def test_self_stake_and_delegation(staking_as, epos, holders):
    staking, _ = staking_as
    validator, delegator, _ = holders
    epos.approve(staking, 4 * ONE, {"from": validator})
    epos.approve(staking, ONE, {"from": delegator})

    own = staking.stake(validator, 3 * ONE, {"from": validator})
    delegated = staking.stake(validator, ONE, {"from": delegator})

    assert staking.poolStake(validator) == 4 * ONE
    assert (staking.stakeOf(validator, validator), staking.stakeOf(validator, delegator)) == (3 * ONE, ONE)
    assert epos.balanceOf(staking) == 4 * ONE
    assert (epos.balanceOf(validator), epos.balanceOf(delegator)) == (ONE, ONE)
    assert ints(own.events["Staked"].values()) == (validator.address, validator.address, 3 * ONE, 3 * ONE)
    assert ints(delegated.events["Staked"].values()) == (validator.address, delegator.address, ONE, ONE)


def test_delegating_to_a_non_validator_reverts(staking_as, epos, holders):
    staking, _ = staking_as
    validator, delegator, _ = holders
    epos.approve(staking, ONE, {"from": delegator})
    with brownie.reverts(custom_error("NotAValidator(address)", validator)):
        staking.stake(validator, ONE, {"from": delegator})
    assert staking.poolStake(validator) == 0 and epos.balanceOf(delegator) == 2 * ONE


def test_zero_amounts_revert(pool, epos, holders):
    staking, _ = pool
    validator = holders[0]
    for call in (staking.stake, staking.unstake, staking.addReward):
        with brownie.reverts(custom_error("ZeroAmount()")):
            call(validator, 0, {"from": validator})
    assert staking.poolStake(validator) == 4 * ONE and ints(staking.unbondingOf(validator, validator)) == (0, 0)


def test_unstake_starts_an_unbonding_that_withdraw_pays_once_it_ends(pool, epos, holders):
    staking, _ = pool
    validator, delegator, _ = holders
    tx = staking.unstake(validator, ONE, {"from": delegator})
    ready_at = tx.timestamp + UNBONDING_SECONDS
    assert ints(tx.events["UnstakeRequested"].values()) == (validator.address, delegator.address, ONE, ONE, ready_at)
    # the stake stays in the pool, at risk, until the unbonding ends
    assert staking.poolStake(validator) == 4 * ONE and staking.stakeOf(validator, delegator) == ONE
    assert ints(staking.unbondingOf(validator, delegator)) == (ONE, ready_at)
    with brownie.reverts(custom_error("StillUnbonding(address,address,uint256)", validator, delegator, ready_at)):
        staking.withdraw(validator, {"from": delegator})
    assert epos.balanceOf(delegator) == ONE

    at_or_after(ready_at)
    paid = staking.withdraw(validator, {"from": delegator})
    assert paid.return_value == ONE
    assert ints(paid.events["Unstaked"].values()) == (validator.address, delegator.address, ONE, ONE)
    assert (staking.poolStake(validator), staking.stakeOf(validator, delegator)) == (3 * ONE, 0)
    assert epos.balanceOf(delegator) == 2 * ONE
    assert ints(staking.unbondingOf(validator, delegator)) == (0, 0)


def test_withdrawing_without_an_unbonding_reverts(pool, epos, holders):
    staking, _ = pool
    validator, delegator, _ = holders
    with brownie.reverts(custom_error("NothingUnbonding(address,address)", validator, delegator)):
        staking.withdraw(validator, {"from": delegator})
    assert staking.stakeOf(validator, delegator) == ONE and epos.balanceOf(delegator) == ONE


def test_unstaking_more_than_the_bonded_stake_reverts(pool, holders):
    staking, _ = pool
    validator, delegator, _ = holders
    with brownie.reverts(custom_error("InsufficientStake(address,address,uint256,uint256)", validator, delegator,
                                      ONE + 1, ONE)):
        staking.unstake(validator, ONE + 1, {"from": delegator})
    staking.unstake(validator, 2 * ONE, {"from": validator})
    # what is already unbonding cannot be unstaked again
    with brownie.reverts(custom_error("InsufficientStake(address,address,uint256,uint256)", validator, validator,
                                      2 * ONE, ONE)):
        staking.unstake(validator, 2 * ONE, {"from": validator})
    assert staking.unbondingOf(validator, validator)[0] == 2 * ONE and staking.unbondingOf(validator, delegator)[0] == 0


def test_unbonding_stake_is_slashed_with_its_pool(pool, epos, holders):
    staking, controller = pool
    validator, delegator, _ = holders
    staking.unstake(validator, ONE, {"from": delegator})
    frozen_until = staking.slash(validator, {"from": controller}).timestamp + SLASH_FREEZE_SECONDS
    kept = ONE * (10_000 - SLASH_BPS) // 10_000
    assert staking.unbondingOf(validator, delegator)[0] == kept

    at_or_after(frozen_until)
    assert staking.withdraw(validator, {"from": delegator}).return_value == kept
    assert epos.balanceOf(delegator) == ONE + kept


def test_a_locked_pool_takes_no_stake_and_pays_no_withdrawal(pool, epos, holders):
    staking, controller = pool
    validator, delegator, _ = holders
    epos.approve(staking, ONE, {"from": delegator})
    ready_at = staking.unstake(validator, ONE, {"from": delegator}).timestamp + UNBONDING_SECONDS
    first = staking.lock(validator, {"from": controller})
    staking.lock(validator, {"from": controller})  # a second draw of the same validator
    assert ints(first.events["PoolLocked"].values()) == (validator.address, 1)
    at_or_after(ready_at)

    for call, args in ((staking.withdraw, (validator,)), (staking.stake, (validator, ONE))):
        with brownie.reverts(custom_error("StakeLocked(address,uint256)", validator, 2)):
            call(*args, {"from": delegator})  # nobody leaves or joins a drawn validator
    released = staking.release(validator, {"from": controller})
    assert ints(released.events["PoolReleased"].values()) == (validator.address, 1)
    with brownie.reverts(custom_error("StakeLocked(address,uint256)", validator, 1)):
        staking.withdraw(validator, {"from": delegator})
    assert staking.poolStake(validator) == 4 * ONE and epos.balanceOf(delegator) == ONE

    staking.release(validator, {"from": controller})
    with brownie.reverts(custom_error("PoolNotLocked(address)", validator)):
        staking.release(validator, {"from": controller})
    staking.withdraw(validator, {"from": delegator})
    assert staking.stakeOf(validator, delegator) == 0 and epos.balanceOf(delegator) == 2 * ONE


def test_eligibility_is_the_bonded_self_stake_checkpointed_at_a_moment(pool, epos, holders, scorer, members):
    staking, _ = pool
    validator, delegator, _ = holders
    staked_at = web3.eth.get_block("latest").timestamp
    assert staking.isEligibleAt(validator, staked_at)
    assert not staking.isEligibleAt(delegator, staked_at)  # delegating makes nobody a validator
    at_or_after(staked_at)
    partly = staking.unstake(validator, 2 * ONE, {"from": validator}).timestamp
    assert staking.isEligibleAt(validator, partly)  # a bonded part is left
    at_or_after(partly)
    left = staking.unstake(validator, ONE, {"from": validator}).timestamp
    # an unbonding counts out at once, however long before it ends; the history keeps the earlier moments
    assert not staking.isEligibleAt(validator, left)
    assert staking.isEligibleAt(validator, partly) and staking.bondedSelfSharesAt(validator, staked_at) == 3 * ONE
    assert staking.poolStake(validator) == 4 * ONE  # the stake is still there: the delegation alone is not enough
    at_or_after(left)
    epos.approve(staking, ONE, {"from": validator})
    back = staking.stake(validator, ONE, {"from": validator}).timestamp
    assert staking.isEligibleAt(validator, back) and not staking.isEligibleAt(validator, left)

    dust = members[5]  # a self-stake below the minimum never makes a validator
    epos.mintScores(SCORES, 2, [dust], [MIN_SELF_STAKE], {"from": scorer})
    epos.approve(staking, MIN_SELF_STAKE, {"from": dust})
    tiny = staking.stake(dust, MIN_SELF_STAKE - 1, {"from": dust}).timestamp
    assert not staking.isEligibleAt(dust, tiny)
    at_or_after(tiny)
    enough = staking.stake(dust, 1, {"from": dust}).timestamp
    assert staking.isEligibleAt(dust, enough)


def test_slash_burns_a_fraction_of_the_whole_pool(pool, epos, holders):
    staking, controller = pool
    validator, delegator, _ = holders
    supply = epos.totalSupply()
    tx = staking.slash(validator, {"from": controller})

    burned, kept = slash(4 * ONE, SLASH_BPS)
    frozen_until = tx.timestamp + SLASH_FREEZE_SECONDS
    assert tx.return_value == burned
    assert ints(tx.events["Slashed"].values()) == (validator.address, burned, kept, frozen_until)
    assert epos.totalSupply() == supply - burned
    assert epos.balanceOf(staking) == kept
    # the same fraction from everyone in the pool
    assert staking.stakeOf(validator, validator) == 3 * ONE * (10_000 - SLASH_BPS) // 10_000
    assert staking.stakeOf(validator, delegator) == ONE * (10_000 - SLASH_BPS) // 10_000


def test_slashed_stake_cannot_be_withdrawn_until_the_freeze_ends(pool, epos, holders):
    staking, controller = pool
    validator, delegator, _ = holders
    for staker in (validator, delegator):
        tx = staking.unstake(validator, staking.stakeOf(validator, staker), {"from": staker})
    at_or_after(tx.timestamp + UNBONDING_SECONDS)  # unbonded, but slashed before anyone withdrew
    frozen_until = staking.slash(validator, {"from": controller}).timestamp + SLASH_FREEZE_SECONDS
    held = [staking.stakeOf(validator, s) for s in (validator, delegator)]
    for staker in (validator, delegator):
        with brownie.reverts(custom_error("StakeSlashed(address,uint256)", validator, frozen_until)):
            staking.withdraw(validator, {"from": staker})
    assert [staking.stakeOf(validator, s) for s in (validator, delegator)] == held

    at_or_after(frozen_until)
    left = staking.stakeOf(validator, validator)
    assert staking.withdraw(validator, {"from": validator}).return_value == left
    assert epos.balanceOf(validator) == ONE + left


def test_stake_joining_after_a_slash_keeps_its_value(pool, epos, holders):
    staking, controller = pool
    validator, _, latecomer = holders
    staking.slash(validator, {"from": controller})
    epos.approve(staking, ONE, {"from": latecomer})
    staking.stake(validator, ONE, {"from": latecomer})
    assert staking.stakeOf(validator, latecomer) == ONE
    assert staking.poolStake(validator) == 3 * ONE


def test_rewards_are_shared_pro_rata_to_stake(pool, upos, admin, holders):
    staking, _ = pool
    validator, delegator, latecomer = holders
    reward = 100 * ONE + 1
    upos.mint(admin, reward, {"from": admin})
    upos.approve(staking, reward, {"from": admin})
    tx = staking.addReward(validator, reward, {"from": admin})
    assert ints(tx.events["RewardAdded"].values()) == (validator.address, admin.address, reward)

    per_share = reward * REWARD_SCALE // (4 * ONE)
    expected = {validator: 3 * ONE * per_share // REWARD_SCALE, delegator: ONE * per_share // REWARD_SCALE}
    assert expected[validator] + expected[delegator] <= reward
    for staker, amount in expected.items():
        assert staking.pendingRewards(validator, staker) == amount
        before = upos.balanceOf(staker)
        claimed = staking.claimRewards(validator, {"from": staker})
        assert claimed.return_value == amount
        assert upos.balanceOf(staker) - before == amount
        with brownie.reverts(custom_error("ZeroAmount()")):
            staking.claimRewards(validator, {"from": staker})
    assert staking.pendingRewards(validator, latecomer) == 0


def test_a_late_staker_earns_only_later_rewards(pool, epos, upos, admin, holders):
    staking, _ = pool
    validator, delegator, latecomer = holders
    upos.mint(admin, 20 * ONE, {"from": admin})
    upos.approve(staking, 20 * ONE, {"from": admin})
    staking.addReward(validator, 8 * ONE, {"from": admin})
    epos.approve(staking, ONE, {"from": latecomer})
    staking.stake(validator, ONE, {"from": latecomer})
    staking.addReward(validator, 10 * ONE, {"from": admin})

    assert staking.pendingRewards(validator, latecomer) == 2 * ONE
    assert staking.pendingRewards(validator, delegator) == 2 * ONE + 2 * ONE
    assert staking.pendingRewards(validator, validator) == 6 * ONE + 6 * ONE


def test_reward_needs_stake_in_the_pool(staking_as, upos, admin, members):
    staking, _ = staking_as
    upos.mint(admin, ONE, {"from": admin})
    upos.approve(staking, ONE, {"from": admin})
    with brownie.reverts(custom_error("NoStakeToReward(address)", members[0])):
        staking.addReward(members[0], ONE, {"from": admin})
    assert upos.balanceOf(staking) == 0


def test_only_the_miner_selection_locks_releases_and_slashes(staking, miners, pool, holders, outsider, admin):
    validator = holders[0]
    other_staking, controller = pool
    other_staking.lock(validator, {"from": controller})
    for contract in (staking, other_staking):
        for caller in (outsider, admin):
            for call in (contract.lock, contract.release, contract.slash):
                with brownie.reverts(custom_error("CallerNotMinerSelection(address)", caller)):
                    call(validator, {"from": caller})
    assert staking.minerSelection() == miners.address
    assert ints(other_staking.poolOf(validator)) == (4 * ONE, 4 * ONE, 0, 1, 0)


def test_binding_the_miner_selection(Staking, registry, epos, upos, admin, outsider, miners):
    staking = Staking.deploy(registry, epos, upos, SLASH_BPS, SLASH_FREEZE_SECONDS, UNBONDING_SECONDS, MIN_SELF_STAKE,
                             {"from": admin})
    with brownie.reverts(custom_error(UNAUTHORIZED, outsider, role_id("ADMIN"))):
        staking.setMinerSelection(miners, {"from": outsider})
    with brownie.reverts(custom_error("ZeroAddress()")):
        staking.setMinerSelection(ZERO_ADDRESS, {"from": admin})
    tx = staking.setMinerSelection(miners, {"from": admin})
    assert tx.events["MinerSelectionSet"]["minerSelection"] == miners.address
    with brownie.reverts(custom_error("MinerSelectionAlreadySet(address)", miners)):
        staking.setMinerSelection(outsider, {"from": admin})
    assert staking.minerSelection() == miners.address


def test_slash_fraction(staking, admin, outsider):
    with brownie.reverts(custom_error(UNAUTHORIZED, outsider, role_id("ADMIN"))):
        staking.setSlashBps(1_000, {"from": outsider})
    with brownie.reverts(custom_error("SlashFractionTooHigh(uint256)", 10_000)):
        staking.setSlashBps(10_000, {"from": admin})
    assert staking.slashBps() == SLASH_BPS
    tx = staking.setSlashBps(2_500, {"from": admin})
    assert tx.events["SlashBpsSet"]["bps"] == 2_500 and staking.slashBps() == 2_500


def test_constructor_rejects_a_full_slash_missing_tokens_and_no_minimum(Staking, registry, epos, upos, admin):
    with brownie.reverts(custom_error("SlashFractionTooHigh(uint256)", 10_000)):
        Staking.deploy(registry, epos, upos, 10_000, SLASH_FREEZE_SECONDS, UNBONDING_SECONDS, MIN_SELF_STAKE,
                       {"from": admin})
    for tokens in ((ZERO_ADDRESS, upos), (epos, ZERO_ADDRESS)):
        with brownie.reverts(custom_error("ZeroAddress()")):
            Staking.deploy(registry, *tokens, SLASH_BPS, SLASH_FREEZE_SECONDS, UNBONDING_SECONDS, MIN_SELF_STAKE,
                           {"from": admin})
    with brownie.reverts(custom_error("ZeroAmount()")):
        Staking.deploy(registry, epos, upos, SLASH_BPS, SLASH_FREEZE_SECONDS, UNBONDING_SECONDS, 0, {"from": admin})
