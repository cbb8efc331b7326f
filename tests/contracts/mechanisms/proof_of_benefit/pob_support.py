"""Helpers of the Proof-of-Benefit contract tests: round timing, proposals (commitment, reveal, block hash)
and a driver that walks one round through its phases. Benefits come from offchain.algorithms.pebt, the
function the workers use, so every test also checks that the contract and Python agree."""

from __future__ import annotations

from dataclasses import dataclass, field

import eth_abi
from brownie import web3
from contract_helpers import latest_time, warp  # noqa: F401  (re-exported for the tests)

from offchain.algorithms.pebt import benefit

ROUND_SECONDS = 300
COMMIT_SECONDS = 120
REVEAL_END_SECONDS = 240
MAX_PROPOSALS = 4
MAX_WINDOW = 3
MAX_TRADES = 3
ZERO = b"\x00" * 32
COMMIT_TYPES = ["uint256", "address", "bytes32", "bytes32", "bytes32", "int256[]", "uint256", "bytes32"]
BLOCK_TYPES = ["uint256", "bytes32", "bytes32", "bytes32", "int256[]", "uint256"]
TRADE_TYPE = "(address,address,uint64,uint256)[]"


def trades_hash(trades) -> bytes:
    return bytes(web3.keccak(eth_abi.encode([TRADE_TYPE], [[tuple(getattr(v, "address", v) for v in t) for t in trades]])))


@dataclass
class Proposal:
    """One peer's proposal for a round; `lam` defaults to the true benefit of `net_load`."""

    round: int
    peer: object
    parent: bytes
    net_load: list[int]
    tx_set: bytes = b"\x11" * 32
    trades: bytes = ZERO
    lam: int | None = None
    salt: bytes = b"\x22" * 32
    claimed: int = field(init=False)

    def __post_init__(self) -> None:
        self.claimed = benefit(self.net_load) if self.lam is None else self.lam

    def commitment(self) -> bytes:
        values = [self.round, self.peer.address, self.parent, self.tx_set, self.trades, self.net_load,
                  self.claimed, self.salt]
        return bytes(web3.keccak(eth_abi.encode(COMMIT_TYPES, values)))

    def block_hash(self) -> bytes:
        values = [self.round, self.parent, self.tx_set, self.trades, self.net_load, self.claimed]
        return bytes(web3.keccak(eth_abi.encode(BLOCK_TYPES, values)))

    def commit(self, consensus):
        return consensus.commit(self.round, self.commitment(), {"from": self.peer})

    def reveal(self, consensus):
        return consensus.reveal(self.round, self.parent, self.tx_set, self.trades, self.net_load, self.claimed,
                                self.salt, {"from": self.peer})


class RoundDriver:
    """Walks rounds of one BenefitConsensus through commit, reveal, confirm and finalisation."""

    def __init__(self, consensus) -> None:
        self.consensus = consensus
        self.genesis = consensus.genesisTime()

    def start(self, round_: int) -> int:
        return self.genesis + round_ * ROUND_SECONDS

    def fresh_round(self) -> int:
        """The next round, its commit phase just opened."""
        round_ = (latest_time() - self.genesis) // ROUND_SECONDS + 1
        warp(self.start(round_))
        return round_

    def to_reveal(self, round_: int) -> None:
        warp(self.start(round_) + COMMIT_SECONDS)

    def to_confirm(self, round_: int) -> None:
        warp(self.start(round_) + REVEAL_END_SECONDS)

    def to_end(self, round_: int) -> None:
        warp(self.start(round_ + 1))

    def play(self, proposals: list[Proposal], confirmations: dict[bytes, list], finalise: bool = True):
        """Commits and reveals `proposals` (all of one round), confirms each block hash by its listed
        validators and (by default) finalises; returns the round."""
        round_ = proposals[0].round
        for p in proposals:
            p.commit(self.consensus)
        self.to_reveal(round_)
        for p in proposals:
            p.reveal(self.consensus)
        self.to_confirm(round_)
        for block_hash, validators in confirmations.items():
            for v in validators:
                self.consensus.confirm(round_, block_hash, {"from": v})
        if finalise:
            self.to_end(round_)
            self.consensus.finalise(round_, {"from": proposals[0].peer})
        return round_
