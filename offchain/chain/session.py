"""A deployed suite seen through role clients: what scenario drivers share.

`SuiteSession` is a mixin for a class that has `w3` (Web3), `manifest` (Manifest) and `admin`
(ChainClient) attributes; it adds cached contract objects per (contract, client), calls and sends by
name, and the chain clock of a local Anvil.
"""

from __future__ import annotations

from typing import Any

from web3 import Web3
from web3.contract import Contract

from offchain.chain.client import ChainClient
from offchain.chain.deploy import Manifest


class SuiteSession:
    w3: Web3
    manifest: Manifest
    admin: ChainClient

    def contract(self, name: str, client: ChainClient | None = None) -> Contract:
        """Suite contract `name` as seen by `client` (default ADMIN), built once per pair."""
        client = client or self.admin
        cache: dict[tuple[str, str], Contract] = self.__dict__.setdefault("_contract_cache", {})
        key = (name, client.address)
        if key not in cache:
            cache[key] = client.contract(name, self.manifest.address(name))
        return cache[key]

    def call(self, name: str, function: str, *args: Any) -> Any:
        """The value of view `name.function(*args)`."""
        return self.admin.call(getattr(self.contract(name).functions, function)(*args))

    def send(self, client: ChainClient, name: str, function: str, *args: Any) -> Any:
        """Sends `name.function(*args)` from `client` and returns the receipt."""
        return client.transact(getattr(self.contract(name, client).functions, function)(*args))

    def now(self) -> int:
        """The latest block's timestamp (seconds)."""
        return self.w3.eth.get_block("latest")["timestamp"]

    def advance_to(self, timestamp: int) -> None:
        """Mines a block stamped `timestamp` unless the clock is already there (it never moves back).
        Local Anvil only (evm_setNextBlockTimestamp)."""
        if self.now() < timestamp:
            self.w3.provider.make_request("evm_setNextBlockTimestamp", [timestamp])
            self.w3.provider.make_request("evm_mine", [])

    def advance_past(self, timestamp: int) -> None:
        """Moves the clock so that the latest block (and every later one) is after `timestamp`."""
        self.advance_to(timestamp + 1)
