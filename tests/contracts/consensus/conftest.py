"""Fixtures of the seed 001 consensus tests: the four consensus contracts on the shared foundation
(module scope), ten deterministic prosumer accounts, and a small hand-made slot result."""

from __future__ import annotations

import pytest
from consensus_support import (
    MIN_SELF_STAKE,
    SLASH_BPS,
    SLASH_FREEZE_SECONDS,
    SLOT,
    TOY_COALITION,
    TOY_MEMBER,
    TOY_SINGLETON,
    UNBONDING_SECONDS,
    SlotDriver,
    by_address,
    deploy_suite,
    member_accounts,
    score_entries,
    trades_hash,
)

from offchain.chain.abi import ZERO_ADDRESS
from offchain.chain.roles import role_id


@pytest.fixture(scope="module")
def edc(operator):
    """The distribution centre: the system operator's account."""
    return operator


@pytest.fixture(scope="module")
def treasury(funded_account):
    """Receives forfeited commit deposits."""
    return funded_account()


@pytest.fixture(scope="module")
def suite(registry, upos, epos, admin, edc, treasury):
    return deploy_suite(registry, upos, epos, admin, edc, treasury)


@pytest.fixture(scope="module")
def scores(suite):
    return suite.scores


@pytest.fixture(scope="module")
def staking(suite):
    return suite.staking


@pytest.fixture(scope="module")
def miners(suite):
    return suite.miners


@pytest.fixture(scope="module")
def escrow(suite):
    return suite.escrow


@pytest.fixture(scope="module")
def members(accounts, admin, operator, registry, upos, suite, edc):
    """Ten registered prosumers, ascending by address, each with UPOS approved for the miner draw
    (deposits) and the escrow (fees, trade deposits); the EDC holds UPOS approved for the escrow too."""
    created = member_accounts(accounts, 10, admin, operator, registry, upos, approve=(suite.miners, suite.escrow))
    upos.mint(edc, 10**24, {"from": admin})
    upos.approve(suite.escrow, 2**256 - 1, {"from": edc})
    return by_address(created)


@pytest.fixture(scope="module")
def toy_members(members):
    return members[:6]


@pytest.fixture(scope="module")
def toy_entries(toy_members):
    return score_entries(toy_members, TOY_SINGLETON, TOY_MEMBER, TOY_COALITION)


@pytest.fixture(scope="module")
def toy_trades(toy_members):
    """Trade list of the hand-made slot: two intra-coalition trades and one residual each way."""
    m = toy_members
    return [(m[0].address, m[2].address, 1_500), (m[5].address, m[3].address, 700), (m[1].address, ZERO_ADDRESS, 2_000),
            (ZERO_ADDRESS, m[4].address, 900)]


@pytest.fixture
def toy_slot(suite, scorer, toy_entries, toy_trades):
    """The hand-made result accepted for SLOT; returns the driver of that slot."""
    driver = SlotDriver(suite, SLOT)
    driver.submit(scorer, toy_entries, trades_hash(toy_trades))
    return driver


@pytest.fixture
def staked(toy_slot, scorer, toy_members):
    """The hand-made slot where every member holds its member score in EPOS, staked on itself (the thesis
    stakes the proof score)."""
    holders = [m for m, score in zip(toy_members, TOY_MEMBER) if score > 0]
    amounts = [score for score in TOY_MEMBER if score > 0]
    toy_slot.mint_scores(scorer, holders, amounts)
    for holder, amount in zip(holders, amounts):
        toy_slot.stake(holder, holder, amount)
    return toy_slot


@pytest.fixture
def staking_as(Staking, registry, epos, upos, admin, funded_account):
    """A Staking whose MinerSelection is a plain account (returned with it), to drive lock and slash
    directly."""
    deployed = Staking.deploy(registry, epos, upos, SLASH_BPS, SLASH_FREEZE_SECONDS, UNBONDING_SECONDS,
                              MIN_SELF_STAKE, {"from": admin})
    registry.grantRole(role_id("STAKING"), deployed, {"from": admin})
    controller = funded_account()
    deployed.setMinerSelection(controller, {"from": admin})
    return deployed, controller
