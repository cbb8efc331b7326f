"""The networks kwx knows: three local chains on this machine (one per chain id: local, and rehearsals of Fuji and
of C-Chain, empty or forking the live network) and Avalanche's Fuji testnet and C-Chain mainnet."""

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
from offchain.chain.nodes import EmbeddedNode, start_node
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
        name: one of NETWORK_NAMES (also the manifest file name).
        chain_id: the chain id every connection is checked against.
        rpc_url: the RPC endpoint, from `rpc_env` if set, else the default (None: none known).
        rpc_env: the environment variable that sets or overrides the RPC URL.
        local: a chain on this machine (Anvil or Ganache, empty or a fork) whose accounts come from the public test
            mnemonic.
        role_accounts: role -> account index in the test mnemonic (local networks). On a remote network
            this is empty: the key of role R comes from KWX_<R>_PRIVATE_KEY or KWX_<R>_KEYSTORE (+ _PASSWORD),
            else every role uses the deployer's key (KWX_PRIVATE_KEY or KWX_KEYSTORE + KWX_KEYSTORE_PASSWORD).
        fallback_tip_wei: priority fee when the node does not answer eth_maxPriorityFeePerGas.
        title: what the network is, for people ("Avalanche C-Chain mainnet").
        mainnet: real money: every command that sends needs a typed confirmation and a fee cap
            (offchain.commands.guard_mainnet).
    """

    name: str
    chain_id: int
    rpc_url: str | None
    rpc_env: str
    local: bool
    role_accounts: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    fallback_tip_wei: int = 10**9
    title: str = ""
    mainnet: bool = False

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

    def client(self, role: str = "ADMIN", *, w3: Web3 | None = None, build_dir: str | Path | None = None,
               max_fee_per_gas_cap: int | None = None) -> ChainClient:
        """A ChainClient signing as `role`, over `w3` or a new connection; `max_fee_per_gas_cap` in wei."""
        account = self.account(role)  # credentials first: a missing key is reported before any network I/O
        return ChainClient(w3 or self.connect(), account, build_dir=build_dir, fallback_tip_wei=self.fallback_tip_wei,
                           max_fee_per_gas_cap=max_fee_per_gas_cap)

    def start_node(self, kind: str = "anvil", port: int | None = None, **options: Any) -> EmbeddedNode:
        """Starts this local network's chain (`kind`: anvil or ganache) on `port`, default the port of its RPC URL;
        `options` as offchain.chain.start_node (fork_url, fork_block, accounts, ...)."""
        if not self.local:
            raise KwxChainError(f"network {self.name} is remote: there is no chain to start")
        port = port or urlparse(self.require_rpc_url()).port
        return start_node(kind, chain_id=self.chain_id, port=port, **options)


@dataclass(frozen=True)
class _Preset:
    chain_id: int
    default_rpc: str | None
    rpc_env: str
    local: bool
    title: str
    mainnet: bool = False


_NETWORKS: dict[str, _Preset] = {
    "local": _Preset(31337, "http://127.0.0.1:8545", "KWX_LOCAL_RPC_URL", True, "local chain"),
    "fuji-rehearsal": _Preset(43113, "http://127.0.0.1:8546", "KWX_REHEARSAL_RPC_URL", True, "Fuji rehearsal chain"),
    "fuji": _Preset(43113, None, "KWX_FUJI_RPC_URL", False, "Avalanche Fuji testnet"),
    "avalanche-rehearsal": _Preset(43114, "http://127.0.0.1:8547", "KWX_AVALANCHE_REHEARSAL_RPC_URL", True,
                                   "C-Chain rehearsal chain"),
    "avalanche": _Preset(43114, None, "KWX_AVALANCHE_RPC_URL", False, "Avalanche C-Chain mainnet", mainnet=True),
}

NETWORK_NAMES: tuple[str, ...] = tuple(_NETWORKS)


def get_network(name: str) -> NetworkConfig:
    """The configuration of network `name`, with RPC URLs read from the environment now.

    Raises UnknownNetworkError for any other name. Credentials of a remote network are checked only when
    used (`require_rpc_url`, `account`), so that printing a plan or help never needs them.
    """
    if name not in _NETWORKS:
        raise UnknownNetworkError(f"unknown network {name!r}: choose one of {', '.join(NETWORK_NAMES)}")
    preset = _NETWORKS[name]
    rpc_url = os.environ.get(preset.rpc_env, "").strip() or preset.default_rpc
    if rpc_url:
        try:
            check_rpc_url(rpc_url)
        except ValueError as bad:
            raise KwxChainError(f"{preset.rpc_env}: {bad}") from None
    return NetworkConfig(
        name=name,
        chain_id=preset.chain_id,
        rpc_url=rpc_url,
        rpc_env=preset.rpc_env,
        local=preset.local,
        role_accounts=LOCAL_ROLE_ACCOUNTS if preset.local else MappingProxyType({}),
        title=preset.title,
        mainnet=preset.mainnet,
    )


def local_network_for(chain_id: int) -> NetworkConfig:
    """The local network serving `chain_id` (what a fork of that chain is): local, fuji-rehearsal or
    avalanche-rehearsal; KwxChainError for any other chain id."""
    for name, preset in _NETWORKS.items():
        if preset.local and preset.chain_id == chain_id:
            return get_network(name)
    served = ", ".join(f"{p.chain_id} ({n})" for n, p in _NETWORKS.items() if p.local)
    raise KwxChainError(f"chain id {chain_id} is none of the local networks' ({served})")
