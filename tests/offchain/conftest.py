"""Shared fixtures for the off-chain tests.

Chain fixtures share one EmbeddedAnvil (chain id 31337, free port) per test session with the foundation
suite deployed once; mark tests that use them `@pytest.mark.chain`. Clients come from `make_client` so that
each account has a single nonce manager in the session (a second client for the same account would be a
sender "behind the back" of the first; tests that want exactly that build their own ChainClient).
"""

from __future__ import annotations

from typing import Callable

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract

from offchain.mechanisms import SUITE
from offchain.chain import (
    ChainClient,
    EmbeddedAnvil,
    Manifest,
    accounts_from_mnemonic,
    connect,
    deploy_suite,
    get_network,
)

#: Indices of the test mnemonic's accounts as the fixtures use them (0-3 are the local role accounts).
ADMIN, OPERATOR, METER, SCORER = 0, 1, 2, 3
PROSUMER = 4
OUTSIDER = 9  # no role, never registered


@pytest.fixture(scope="session")
def anvil() -> EmbeddedAnvil:
    """The session's chain: an EmbeddedAnvil with chain id 31337 on a free port."""
    with EmbeddedAnvil(chain_id=31337) as chain:
        yield chain


@pytest.fixture(scope="session")
def w3(anvil: EmbeddedAnvil) -> Web3:
    return connect(anvil.rpc_url, expected_chain_id=anvil.chain_id)


@pytest.fixture(scope="session")
def dev_accounts() -> list[LocalAccount]:
    """Anvil's ten funded accounts (test mnemonic)."""
    return accounts_from_mnemonic(count=10)


@pytest.fixture(scope="session")
def make_client(w3: Web3, dev_accounts: list[LocalAccount]) -> Callable[[int], ChainClient]:
    """make_client(i) -> the session's ChainClient for test-mnemonic account i (one per account)."""
    clients: dict[int, ChainClient] = {}

    def make(index: int) -> ChainClient:
        if index not in clients:
            clients[index] = ChainClient(w3, dev_accounts[index])
        return clients[index]

    return make


@pytest.fixture(scope="session")
def admin(make_client: Callable[[int], ChainClient]) -> ChainClient:
    return make_client(ADMIN)


@pytest.fixture(scope="session")
def scorer(make_client: Callable[[int], ChainClient]) -> ChainClient:
    """Account 3, which holds SCORER on the deployed suite."""
    return make_client(SCORER)


@pytest.fixture(scope="session")
def outsider(make_client: Callable[[int], ChainClient]) -> ChainClient:
    """Account 9: no role, never registered."""
    return make_client(OUTSIDER)


@pytest.fixture(scope="session")
def suite(admin: ChainClient, tmp_path_factory: pytest.TempPathFactory) -> Manifest:
    """The foundation suite deployed on the session chain as network "local" (manifest in a temp folder)."""
    return deploy_suite(admin, get_network("local"), manifest_dir=tmp_path_factory.mktemp("deployments"), suite=SUITE)


@pytest.fixture(scope="session")
def suite_contract(suite: Manifest, w3: Web3) -> Callable[[str, ChainClient], Contract]:
    """suite_contract(name, client) -> the suite's contract `name` bound to `client`'s Web3."""

    def bind(name: str, client: ChainClient) -> Contract:
        return client.contract(name, suite.address(name))

    return bind


@pytest.fixture(scope="session")
def prosumer(suite: Manifest, make_client: Callable[[int], ChainClient], suite_contract) -> ChainClient:
    """Account 4, registered by the operator as an active prosumer at (100 m, 200 m)."""
    operator = make_client(OPERATOR)
    client = make_client(PROSUMER)
    registry = suite_contract("ParticipantRegistry", operator)
    operator.transact(registry.functions.register(client.address, 1, 100, 200, 0, 0, 0))
    return client
