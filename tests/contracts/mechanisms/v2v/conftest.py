"""Fixtures of the V2V contract tests (seed 001 ch. 4) on the shared foundation (tests/contracts/conftest.py):
a V2VSettlement with a one-hour fee window and a one-day lock, a PoSocScores on it (its draw names the
settlement's miners), both shared EVs parked from hour 8 and funded."""

from __future__ import annotations

import pytest
from brownie import chain
from v2v_support import ARRIVAL_HOUR, DEPOSIT, FEE_WINDOW, LOCK_SECONDS, MAX_EVS, START_WH

from offchain.units import UPOS_BASE


@pytest.fixture(scope="module")
def settlement(V2VSettlement, registry, upos, admin):
    return V2VSettlement.deploy(registry, upos, FEE_WINDOW, LOCK_SECONDS, {"from": admin})


@pytest.fixture(scope="module")
def scores(PoSocScores, registry, settlement, admin):
    return PoSocScores.deploy(registry, settlement, MAX_EVS, {"from": admin})


@pytest.fixture(scope="module")
def parked(settlement, scores, upos, evs, meter, admin):
    """Both EVs parked at ARRIVAL_HOUR with START_WH and DEPOSIT UPOS deposited, the settlement reading the
    scores' draw; returns the EVs."""
    settlement.setAggregatorDraw(scores, {"from": admin})
    for ev in evs:
        settlement.arrive(ev, ARRIVAL_HOUR, START_WH, {"from": meter})
        upos.mint(ev, DEPOSIT, {"from": admin})
        upos.approve(settlement, DEPOSIT, {"from": ev})
        settlement.deposit(DEPOSIT, {"from": ev})
    return evs


@pytest.fixture(scope="module")
def price():
    """A V2V price of 0.1 UPOS per kWh, base units."""
    return UPOS_BASE // 10


@pytest.fixture(scope="module")
def draw_for(scores, scorer):
    """`draw_for(day, miner)`: scores only `miner` (1 point in the day's last hour), closes the day and draws,
    so `miner` is the day's aggregator whatever the block hash."""

    def draw(day, miner):
        scores.submitScores(day * 24 + 23, [miner], [10**18], {"from": scorer})
        scores.closeDay(day, {"from": scorer})
        chain.mine()
        scores.drawAggregator(day, {"from": scorer})
        assert scores.aggregatorOf(day) == miner

    return draw
