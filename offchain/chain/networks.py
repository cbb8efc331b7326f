"""The networks kwx knows: two Anvil chains on this machine and Avalanche's Fuji testnet."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping
from urllib.parse import urlparse

from eth_account.signers.local import LocalAccount
from web3 import Web3

from offchain.chain.accounts import ANVIL_TEST_MNEMONIC, account_from_mnemonic, remote_account
from offchain.chain.anvil import EmbeddedAnvil
from offchain.chain.client import ChainClient
from offchain.chain.errors import KwxChainError, MissingCredentialsError, UnknownNetworkError
from offchain.chain.rpc import check_rpc_url, connect

#: Which account of the test mnemonic holds which registry role on a local network.
LOCAL_ROLE_ACCOUNTS: Mapping[str, int] = MappingProxyType({"ADMIN": 0, "OPERATOR": 1, "METER": 2, "SCORER": 3})
#: Test-mnemonic index of the first participant a local scenario or rehearsal uses (0-3 act as the roles,
#: 4-9 are the contract tests' accounts).
FIRST_PARTICIPANT_INDEX = 10


@dataclass(frozen=True)
class NetworkConfig:
    """One network.

    Attributes:
        name: "local", "fuji-rehearsal" or "fuji" (also the manifest file name).
        chain_id: the chain id every connection is checked against.
        rpc_url: the RPC endpoint, from `rpc_env` if set, else the default (None: none known).
        rpc_env: the environment variable that sets or overrides the RPC URL.
        local: an Anvil chain whose accounts come from Anvil's public test mnemonic.
        role_accounts: role -> account index in the test mnemonic (local networks). On a remote network
            this is empty: the key of role R comes from KWX_<R>_PRIVATE_KEY or KWX_<R>_KEYSTORE (+ _PASSWORD),
            else every role uses the deployer's key (KWX_PRIVATE_KEY or KWX_KEYSTORE + KWX_KEYSTORE_PASSWORD).
        fallback_tip_wei: priority fee when the node does not answer eth_maxPriorityFeePerGas.
    """

    name: str
    chain_id: int
    rpc_url: str | None
    rpc_env: str
    local: bool
    role_accounts: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    fallback_tip_wei: int = 10**9

    def require_rpc_url(self) -> str:
        """The RPC URL, or MissingCredentialsError naming the variable to set."""
        if not self.rpc_url:
            raise MissingCredentialsError(f"network {self.name} needs an RPC URL: set {self.rpc_env}")
        return self.rpc_url

    def account(self, role: str = "ADMIN") -> LocalAccount:
        """The signing account that acts as `role` (ADMIN is the deployer)."""
        role = role.upper()
        if self.local:
            if role not in self.role_accounts:
                raise KwxChainError(f"network {self.name} assigns no account to role {role}")
            return account_from_mnemonic(ANVIL_TEST_MNEMONIC, self.role_accounts[role])
        role_prefix = f"KWX_{role}"
        if role != "ADMIN" and any(os.environ.get(f"{role_prefix}_{v}") for v in ("PRIVATE_KEY", "KEYSTORE")):
            return remote_account(role_prefix)
        return remote_account("KWX")

    def role_addresses(self, roles: tuple[str, ...] = tuple(LOCAL_ROLE_ACCOUNTS)) -> dict[str, str]:
        """{role: address} of the accounts acting as `roles` (the grants deploy_suite makes)."""
        return {role: self.account(role).address for role in roles}

    def connect(self, **options: Any) -> Web3:
        """`connect` to this network's RPC, checking its chain id (options: attempts, backoff, timeout)."""
        return connect(self.require_rpc_url(), expected_chain_id=self.chain_id, **options)

    def client(self, role: str = "ADMIN", *, w3: Web3 | None = None, build_dir: str | Path | None = None) -> ChainClient:
        """A ChainClient signing as `role`, over `w3` or a new connection."""
        account = self.account(role)  # credentials first: a missing key is reported before any network I/O
        return ChainClient(w3 or self.connect(), account, build_dir=build_dir, fallback_tip_wei=self.fallback_tip_wei)

    def embedded_anvil(self, **options: Any) -> EmbeddedAnvil:
        """Starts this local network's chain as an EmbeddedAnvil on the port of its RPC URL."""
        if not self.local:
            raise KwxChainError(f"network {self.name} is remote: there is no chain to start")
        port = urlparse(self.require_rpc_url()).port
        return EmbeddedAnvil(chain_id=self.chain_id, port=port, **options)


_NETWORKS: dict[str, tuple[int, str | None, str, bool]] = {
    # name: (chain id, default RPC URL, RPC environment variable, local)
    "local": (31337, "http://127.0.0.1:8545", "KWX_LOCAL_RPC_URL", True),
    "fuji-rehearsal": (43113, "http://127.0.0.1:8546", "KWX_REHEARSAL_RPC_URL", True),
    "fuji": (43113, None, "KWX_FUJI_RPC_URL", False),
}

NETWORK_NAMES: tuple[str, ...] = tuple(_NETWORKS)


def get_network(name: str) -> NetworkConfig:
    """The configuration of network `name`, with RPC URLs read from the environment now.

    Raises UnknownNetworkError for any other name. Credentials of a remote network are checked only when
    used (`require_rpc_url`, `account`), so that printing a plan or help never needs them.
    """
    if name not in _NETWORKS:
        raise UnknownNetworkError(f"unknown network {name!r}: choose one of {', '.join(NETWORK_NAMES)}")
    chain_id, default_url, rpc_env, local = _NETWORKS[name]
    rpc_url = os.environ.get(rpc_env, "").strip() or default_url
    if rpc_url:
        try:
            check_rpc_url(rpc_url)
        except ValueError as bad:
            raise KwxChainError(f"{rpc_env}: {bad}") from None
    return NetworkConfig(
        name=name,
        chain_id=chain_id,
        rpc_url=rpc_url,
        rpc_env=rpc_env,
        local=local,
        role_accounts=LOCAL_ROLE_ACCOUNTS if local else MappingProxyType({}),
    )
