"""Fixtures of the EnergyOrderBook tests: a book deployed on the shared foundation (module scope),
holding MARKET, with every participant and the operator trading from internal balances."""

import pytest
from book_support import CREDIT_WH, PERIOD_SECONDS, UPOS_DEPOSIT, book_params
from brownie import chain

from offchain.chain.roles import role_id


@pytest.fixture(scope="module")
def book(EnergyOrderBook, registry, upos, credit, admin):
    """A book whose genesis lies 100 periods back, so trading runs in period currentPeriod() onward."""
    genesis = (chain.time() // PERIOD_SECONDS - 100) * PERIOD_SECONDS
    deployed = EnergyOrderBook.deploy(registry, upos, credit, book_params(genesis), {"from": admin})
    registry.grantRole(role_id("MARKET"), deployed, {"from": admin})
    return deployed


@pytest.fixture(scope="module")
def period(book):
    """A delivery period open for trading whose gate is more than an hour away."""
    return book.currentPeriod() + 2


@pytest.fixture(scope="module")
def traders(book, upos, credit, admin, meter, operator, prosumers, evs, period):
    """Everyone who trades: each prosumer has CREDIT_WH of `period` and `period + 1` in the book, every
    participant and the operator UPOS_DEPOSIT UPOS; wallets keep as much again."""
    everyone = [*prosumers, *evs, operator]
    for account in everyone:
        upos.mint(account, 2 * UPOS_DEPOSIT, {"from": admin})
        upos.approve(book, 2**256 - 1, {"from": account})
        credit.setApprovalForAll(book, True, {"from": account})
        book.depositUpos(UPOS_DEPOSIT, {"from": account})
    for prosumer in prosumers:
        for p in (period, period + 1):
            credit.attestSurplus(prosumer, p, 2 * CREDIT_WH, {"from": meter})
            book.depositEnergy(p, CREDIT_WH, {"from": prosumer})
    return everyone


@pytest.fixture(scope="module")
def sellers(traders, prosumers):
    return list(prosumers)


@pytest.fixture(scope="module")
def buyers(traders, evs):
    return list(evs)


@pytest.fixture
def close_gate(book):
    """Moves the chain clock to the gate closure of a period."""

    def close(p: int) -> None:
        chain.sleep(book.gateClosure(p) - chain.time() + 1)
        chain.mine()

    return close
