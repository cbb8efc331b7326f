"""Fixtures of the order book differential test: funded wallets (module scope) and a factory that
deploys a fresh EnergyOrderBook holding MARKET, with every wallet's approvals, plus its model twin."""

from __future__ import annotations

from dataclasses import astuple, dataclass
from typing import Callable

import pytest
from brownie import chain

from offchain.chain.abi import ParticipantKind
from offchain.chain.roles import role_id
from offchain.market import AccessModel, BookConfig, EnergyOrderBookModel

from .diff_runner import BOOK_PARAMS, CLOCK_OFFSET_S, CREDIT_WALLET_WH, CREDITED_PERIODS, UPOS_WALLET


@dataclass
class MarketEnv:
    """Accounts and token contracts shared by every example of the differential test."""

    registry: object
    upos: object
    credit: object
    admin: object
    operator: object
    prosumers: list
    evs: list
    outsider: object

    @property
    def actors(self) -> list:
        """Everyone who sends operations: participants, the operator and the unregistered outsider."""
        return [*self.prosumers, *self.evs, self.operator, self.outsider]


@dataclass
class MarketPair:
    """A freshly deployed book and its model, started at the same clock and the same access rights."""

    book: object
    model: EnergyOrderBookModel


@pytest.fixture(scope="module")
def market_env(registry, upos, credit, admin, operator, meter, prosumers, evs, outsider) -> MarketEnv:
    for account in [*prosumers, *evs, operator, outsider]:
        upos.mint(account, UPOS_WALLET, {"from": admin})
    for prosumer in prosumers:
        for period in CREDITED_PERIODS:
            credit.attestSurplus(prosumer, period, CREDIT_WALLET_WH, {"from": meter})
    return MarketEnv(registry, upos, credit, admin, operator, list(prosumers), list(evs), outsider)


@pytest.fixture(scope="module")
def deploy_market(EnergyOrderBook, market_env) -> Callable[[], MarketPair]:
    """Deploys a book (BOOK_PARAMS with `overrides` by model field name) whose genesis puts the chain
    clock CLOCK_OFFSET_S into period 0, grants it
    MARKET, approves it for every actor's UPOS and credits, and builds the matching model."""

    def deploy(**overrides: int) -> MarketPair:
        env = market_env
        genesis = chain.time() - CLOCK_OFFSET_S
        config = BookConfig(genesis_time=genesis, **{**BOOK_PARAMS, **overrides})
        # BookConfig's fields follow the constructor's struct BookParams, in order
        params = astuple(config)
        book = EnergyOrderBook.deploy(env.registry, env.upos, env.credit, params, {"from": env.admin})
        env.registry.grantRole(role_id("MARKET"), book, {"from": env.admin})
        for account in env.actors:
            env.upos.approve(book, UPOS_WALLET, {"from": account})
            env.credit.setApprovalForAll(book, True, {"from": account})
        access = AccessModel(
            participants={str(a): env.registry.isActive(a, ParticipantKind.NONE) for a in [*env.prosumers, *env.evs]},
            operators={str(env.operator)},
            admins={str(env.admin)},
        )
        return MarketPair(book, EnergyOrderBookModel(config, access, now=chain.time()))

    return deploy
