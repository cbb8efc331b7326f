"""Fixtures of the peak-control contract tests (seed 002), on the shared foundation (tests/contracts/conftest.py):
a PenaltySchedule and a RecommendationBoard on a calendar of hourly periods whose day 0 starts two days after
the module's deployment, the SCORER account holding PAR_CONTROL."""

from __future__ import annotations

import pytest
from brownie import web3

from offchain.chain.roles import role_id

HOUR = 3_600
DAY = 24 * HOUR
OPEN_LEAD = HOUR  #: the hourly book's maxPeriodsAhead = 1: a day's gate opens an hour before it starts
UPDATE = 600  #: the update window, seconds


@pytest.fixture(scope="module")
def genesis(chain):
    return chain.time() // HOUR * HOUR + 2 * DAY


@pytest.fixture(scope="module")
def timing(genesis):
    return (genesis, HOUR, OPEN_LEAD, UPDATE)


@pytest.fixture(scope="module")
def par_control(registry, admin, scorer):
    registry.grantRole(role_id("PAR_CONTROL"), scorer, {"from": admin})
    return scorer


@pytest.fixture(scope="module")
def schedule(PenaltySchedule, registry, operator, admin, timing, par_control):
    return PenaltySchedule.deploy(registry, operator, *timing, {"from": admin})


@pytest.fixture(scope="module")
def board(RecommendationBoard, registry, admin, timing, par_control):
    return RecommendationBoard.deploy(registry, *timing, {"from": admin})


def latest_time() -> int:
    """The latest block's timestamp."""
    return web3.eth.get_block("latest").timestamp


def sleep_until(chain, timestamp: int) -> None:
    """Mines a block stamped at or just after `timestamp` (never moves back)."""
    now = latest_time()
    if now < timestamp:
        chain.sleep(timestamp - now)
        chain.mine()
