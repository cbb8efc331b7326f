"""Fixtures of the AdBEV contract tests (seed 003 ch. 4) on the shared foundation (tests/contracts/conftest.py):
an EnergyOrderBook under the AdBEV terms (half-hour periods, one period ahead) whose order gate is a
BatteryWindows, every trader funded; prosumers hold credits of the open period."""

from __future__ import annotations

import pytest
from adbev_support import CREDIT_WH, UPOS_DEPOSIT
from brownie import chain

from offchain.chain.roles import role_id
from offchain.mechanisms.adbev.terms import PERIOD_SECONDS, AdbevTerms


@pytest.fixture(scope="module")
def adbev_book(EnergyOrderBook, registry, upos, credit, admin):
    """The AdBEV book; its current period started a few seconds ago, so the open period's gate is most of a
    period away."""
    terms = AdbevTerms(genesis_time=chain.time() - 100 * PERIOD_SECONDS - 5)
    book = EnergyOrderBook.deploy(registry, upos, credit, terms.book_params, {"from": admin})
    registry.grantRole(role_id("MARKET"), book, {"from": admin})
    return book


@pytest.fixture(scope="module")
def windows(BatteryWindows, adbev_book, registry, admin):
    gate = BatteryWindows.deploy(registry, adbev_book, {"from": admin})
    adbev_book.setOrderGate(gate, {"from": admin})
    return gate


@pytest.fixture(scope="module")
def p(adbev_book):
    """The one period open for trading."""
    return adbev_book.currentPeriod() + 1


@pytest.fixture(scope="module")
def funded(adbev_book, windows, upos, credit, admin, meter, prosumers, evs, operator, p):
    for account in [*prosumers, *evs, operator]:
        upos.mint(account, 2 * UPOS_DEPOSIT, {"from": admin})
        upos.approve(adbev_book, 2**256 - 1, {"from": account})
        credit.setApprovalForAll(adbev_book, True, {"from": account})
        adbev_book.depositUpos(UPOS_DEPOSIT, {"from": account})
    for prosumer in prosumers:
        credit.attestSurplus(prosumer, p, 2 * CREDIT_WH, {"from": meter})
        adbev_book.depositEnergy(p, CREDIT_WH, {"from": prosumer})
    return adbev_book
