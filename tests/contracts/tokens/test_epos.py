"""EPOS: SCORER-only, accept-once minting of proof scores; no transfers between participants, only into
and out of STAKING-role holders, which alone can burn."""

import brownie
import pytest
from brownie import web3
from contract_helpers import ALREADY_ACCEPTED, UNAUTHORIZED, custom_error

from offchain.chain.abi import ZERO_ADDRESS
from offchain.chain.roles import role_id

ONE_EPOS = 10**18
MECHANISM = web3.keccak(text="seed001.poeg")
OTHER_MECHANISM = web3.keccak(text="seed001.posoc")
SLOT = 42
NON_TRANSFERABLE = "EPOSNonTransferable(address,address)"


@pytest.fixture(scope="module")
def staking(role_holder):
    """Stands in for a staking contract: an account holding STAKING in the registry."""
    return role_holder("STAKING")


@pytest.fixture
def scored(epos, scorer, prosumers, evs):
    """Slot SLOT of MECHANISM scored: prosumers get 3, 2, 1 EPOS, the first EV 4 EPOS."""
    holders = [*prosumers, evs[0]]
    amounts = [3 * ONE_EPOS, 2 * ONE_EPOS, ONE_EPOS, 4 * ONE_EPOS]
    epos.mintScores(MECHANISM, SLOT, holders, amounts, {"from": scorer})
    return dict(zip(holders, amounts))


def balances(token, holders) -> list[int]:
    return [token.balanceOf(h) for h in holders]


# --- minting -----------------------------------------------------------------------------------------


def test_metadata(epos, registry):
    assert (epos.name(), epos.symbol(), epos.decimals()) == ("Energy Proof Score", "EPOS", 18)
    assert epos.registry() == registry.address


def test_scorer_mints_scores(epos, scorer, prosumers, evs):
    holders = [prosumers[0], evs[1]]
    tx = epos.mintScores(MECHANISM, SLOT, holders, [5 * ONE_EPOS, 7 * ONE_EPOS], {"from": scorer})

    assert balances(epos, holders) == [5 * ONE_EPOS, 7 * ONE_EPOS]
    assert epos.totalSupply() == 12 * ONE_EPOS
    assert epos.isAccepted(MECHANISM, SLOT)
    minted = tx.events["ScoresMinted"]
    assert bytes(minted["mechanism"]) == MECHANISM
    assert (minted["slot"], minted["holders"], minted["total"]) == (SLOT, 2, 12 * ONE_EPOS)
    accepted = tx.events["ResultAccepted"]
    assert bytes(accepted["mechanism"]) == MECHANISM
    assert (accepted["slot"], accepted["submitter"]) == (SLOT, scorer.address)
    assert [t["to"] for t in tx.events["Transfer"]] == [h.address for h in holders]


@pytest.mark.parametrize("caller_name", ["admin", "operator", "meter", "outsider"])
def test_mint_requires_scorer(epos, request, caller_name, prosumers):
    caller = request.getfixturevalue(caller_name)
    with brownie.reverts(custom_error(UNAUTHORIZED, caller, role_id("SCORER"))):
        epos.mintScores(MECHANISM, SLOT, [prosumers[0]], [ONE_EPOS], {"from": caller})
    assert epos.totalSupply() == 0
    assert not epos.isAccepted(MECHANISM, SLOT)


def test_key_accepted_once(epos, scorer, prosumers, scored):
    with brownie.reverts(custom_error(ALREADY_ACCEPTED, MECHANISM, SLOT)):
        epos.mintScores(MECHANISM, SLOT, [prosumers[0]], [ONE_EPOS], {"from": scorer})
    assert balances(epos, scored) == list(scored.values())
    assert epos.totalSupply() == sum(scored.values())


def test_other_slot_and_other_mechanism_are_new_keys(epos, scorer, prosumers, scored):
    epos.mintScores(MECHANISM, SLOT + 1, [prosumers[0]], [ONE_EPOS], {"from": scorer})
    epos.mintScores(OTHER_MECHANISM, SLOT, [prosumers[0]], [ONE_EPOS], {"from": scorer})
    assert epos.balanceOf(prosumers[0]) == scored[prosumers[0]] + 2 * ONE_EPOS
    assert epos.isAccepted(MECHANISM, SLOT + 1) and epos.isAccepted(OTHER_MECHANISM, SLOT)
    assert not epos.isAccepted(OTHER_MECHANISM, SLOT + 1)


@pytest.mark.parametrize("n_accounts, n_amounts", [(1, 2), (2, 1), (0, 0)])
def test_length_mismatch_rejected(epos, scorer, prosumers, n_accounts, n_amounts):
    with brownie.reverts(custom_error("ScoreLengthMismatch(uint256,uint256)", n_accounts, n_amounts)):
        epos.mintScores(MECHANISM, SLOT, prosumers[:n_accounts], [ONE_EPOS] * n_amounts, {"from": scorer})
    assert epos.totalSupply() == 0
    assert not epos.isAccepted(MECHANISM, SLOT)


def test_holder_not_active_rejected(epos, scorer, prosumers, outsider):
    with brownie.reverts(custom_error("ScoreHolderNotActive(address)", outsider)):
        epos.mintScores(MECHANISM, SLOT, [prosumers[0], outsider], [ONE_EPOS, ONE_EPOS], {"from": scorer})
    assert epos.balanceOf(prosumers[0]) == 0
    assert not epos.isAccepted(MECHANISM, SLOT), "a rejected batch must not use up its key"


def test_deactivated_holder_rejected_then_corrected_batch_accepted(epos, registry, operator, scorer, prosumers):
    registry.setActive(prosumers[1], False, {"from": operator})
    with brownie.reverts(custom_error("ScoreHolderNotActive(address)", prosumers[1])):
        epos.mintScores(MECHANISM, SLOT, [prosumers[1]], [ONE_EPOS], {"from": scorer})

    epos.mintScores(MECHANISM, SLOT, [prosumers[0]], [ONE_EPOS], {"from": scorer})
    assert epos.balanceOf(prosumers[0]) == ONE_EPOS
    assert epos.isAccepted(MECHANISM, SLOT)


# --- transfers ---------------------------------------------------------------------------------------


def test_transfer_between_participants_rejected(epos, prosumers, evs, scored):
    with brownie.reverts(custom_error(NON_TRANSFERABLE, prosumers[0], evs[1])):
        epos.transfer(evs[1], ONE_EPOS, {"from": prosumers[0]})
    assert balances(epos, [prosumers[0], evs[1]]) == [scored[prosumers[0]], 0]


def test_transfer_to_outsider_rejected(epos, prosumers, outsider, scored):
    with brownie.reverts(custom_error(NON_TRANSFERABLE, prosumers[0], outsider)):
        epos.transfer(outsider, ONE_EPOS, {"from": prosumers[0]})
    assert epos.balanceOf(outsider) == 0


def test_transfer_from_between_participants_rejected(epos, prosumers, scored):
    epos.approve(prosumers[1], ONE_EPOS, {"from": prosumers[0]})
    with brownie.reverts(custom_error(NON_TRANSFERABLE, prosumers[0], prosumers[2])):
        epos.transferFrom(prosumers[0], prosumers[2], ONE_EPOS, {"from": prosumers[1]})
    assert balances(epos, prosumers) == [scored[p] for p in prosumers]
    assert epos.allowance(prosumers[0], prosumers[1]) == ONE_EPOS


def test_stake_in_and_out_of_staking_holder(epos, staking, prosumers, scored):
    epos.transfer(staking, ONE_EPOS, {"from": prosumers[0]})
    assert epos.balanceOf(staking) == ONE_EPOS

    epos.approve(staking, 2 * ONE_EPOS, {"from": prosumers[1]})
    epos.transferFrom(prosumers[1], staking, 2 * ONE_EPOS, {"from": staking})
    assert epos.balanceOf(staking) == 3 * ONE_EPOS
    assert epos.balanceOf(prosumers[1]) == 0

    epos.transfer(prosumers[1], 2 * ONE_EPOS, {"from": staking})  # unstake
    assert epos.balanceOf(prosumers[1]) == 2 * ONE_EPOS
    assert epos.totalSupply() == sum(scored.values())


def test_revoked_staking_holder_cannot_move_epos(epos, registry, admin, staking, prosumers, scored):
    epos.transfer(staking, ONE_EPOS, {"from": prosumers[0]})
    registry.revokeRole(role_id("STAKING"), staking, {"from": admin})
    with brownie.reverts(custom_error(NON_TRANSFERABLE, staking, prosumers[0])):
        epos.transfer(prosumers[0], ONE_EPOS, {"from": staking})
    assert epos.balanceOf(staking) == ONE_EPOS


# --- burn --------------------------------------------------------------------------------------------


def test_staking_holder_burns_its_own_balance(epos, staking, prosumers, scored):
    epos.transfer(staking, 3 * ONE_EPOS, {"from": prosumers[0]})
    tx = epos.burn(ONE_EPOS, {"from": staking})
    assert epos.balanceOf(staking) == 2 * ONE_EPOS
    assert epos.totalSupply() == sum(scored.values()) - ONE_EPOS
    assert (tx.events["Transfer"]["from"], tx.events["Transfer"]["to"]) == (staking.address, ZERO_ADDRESS)


@pytest.mark.parametrize("caller_name", ["admin", "scorer"])
def test_burn_requires_staking(epos, request, caller_name, prosumers, scored):
    caller = request.getfixturevalue(caller_name)
    with brownie.reverts(custom_error(UNAUTHORIZED, caller, role_id("STAKING"))):
        epos.burn(0, {"from": caller})


def test_participant_cannot_burn_own_score(epos, prosumers, scored):
    with brownie.reverts(custom_error(UNAUTHORIZED, prosumers[0], role_id("STAKING"))):
        epos.burn(ONE_EPOS, {"from": prosumers[0]})
    assert epos.balanceOf(prosumers[0]) == scored[prosumers[0]]


def test_burn_more_than_held_rejected(epos, staking, prosumers, scored):
    epos.transfer(staking, ONE_EPOS, {"from": prosumers[0]})
    with brownie.reverts(
        custom_error("ERC20InsufficientBalance(address,uint256,uint256)", staking, ONE_EPOS, 2 * ONE_EPOS)
    ):
        epos.burn(2 * ONE_EPOS, {"from": staking})
    assert epos.balanceOf(staking) == ONE_EPOS
