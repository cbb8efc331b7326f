"""Proof-of-Benefit's peers on chain: a proposer and validators, each with its own key (a VALIDATOR of the
registry, joined to BenefitConsensus), each computing the round blocks itself from the public orders and load
(plan.round_blocks on its own solver) and acting in the round's phases: the proposer commits, reveals and, once
the round is finalised, settles the winning block's trades; a validator confirms the revealed block that equals
the one it computed itself, and nothing else.

These are not `WorkerLogic`s of offchain/workers: the runtime keys one result per (mechanism, slot) on a
ResultKeys contract, while a PoB round is three time-gated calls per peer whose once-only rules BenefitConsensus
enforces itself (AlreadyCommitted, NothingToReveal, AlreadyConfirmed, ResultAlreadyAccepted on settlement).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import eth_abi
from web3 import Web3
from web3.contract import Contract

from offchain.chain import ChainClient

from .plan import RoundBlock

COMMIT_TYPES = ["uint256", "address", "bytes32", "bytes32", "bytes32", "int256[]", "uint256", "bytes32"]


def commitment(round_: int, peer: str, parent: bytes, block: RoundBlock, salt: bytes) -> bytes:
    """keccak256(abi.encode(round, peer, parent, txSetHash, tradesHash, netLoadW, lambda, salt)), what
    BenefitConsensus.reveal checks against the commit."""
    values = [round_, peer, parent, block.tx_set_hash, block.trades_hash, block.net_load_w, block.benefit, salt]
    return bytes(Web3.keccak(eth_abi.encode(COMMIT_TYPES, values)))


@dataclass
class ProposerWorker:
    """One proposing peer. `blocks[r]` is its own computation of day round r; chain round = `first_round` + r.
    `failures` records {day round: reason} for the rounds it could not propose (solver failure or infeasible)."""

    client: ChainClient
    consensus: Contract
    settlement: Contract
    blocks: list[RoundBlock]
    first_round: int
    failures: dict[int, str] = field(default_factory=dict)
    _pending: dict[int, tuple[bytes, bytes]] = field(default_factory=dict)

    def commit(self, r: int) -> bool:
        """Commits round r's block on the current head with a fresh secret salt; a failed round is recorded with
        its reason and not proposed (the round finalises without a winner; the next proceeds). True if sent."""
        block = self.blocks[r]
        if block.failed is not None:
            self.failures[r] = block.failed
            return False
        parent = bytes(self.client.call(self.consensus.functions.head()))
        salt = os.urandom(32)
        chain_round = self.first_round + r
        self.client.transact(self.consensus.functions.commit(
            chain_round, commitment(chain_round, self.client.address, parent, block, salt)))
        self._pending[r] = (parent, salt)
        return True

    def reveal(self, r: int) -> None:
        """Reveals round r's committed block (nothing if it did not commit)."""
        if r not in self._pending:
            return
        parent, salt = self._pending.pop(r)
        block = self.blocks[r]
        self.client.transact(self.consensus.functions.reveal(
            self.first_round + r, parent, block.tx_set_hash, block.trades_hash, block.net_load_w, block.benefit, salt))

    def settle(self, r: int) -> bool:
        """Settles the finalised round r's trades when its winner is this peer's block (its trades hash); True
        if sent."""
        outcome = self.client.call(self.consensus.functions.outcomeOf(self.first_round + r))
        if not outcome[0] or int.from_bytes(bytes(outcome[1]), "big") == 0:
            return False
        won = self.client.call(self.consensus.functions.blockOf(self.first_round + r, bytes(outcome[1])))
        if bytes(won[4]) != self.blocks[r].trades_hash:  # Block(proposer, confirmations, exists, lambda, tradesHash)
            return False
        self.client.transact(self.settlement.functions.settle(self.first_round + r, self.blocks[r].trades))
        return True


@dataclass
class ValidatorWorker:
    """One validating peer: confirms, in round r's confirmation phase, the revealed block whose transaction set,
    trades, window and benefit equal its own `blocks[r]` (the thesis: a peer that obtains the same benefit for a
    block increments that block's count). `from_block`: where it starts reading Revealed events."""

    client: ChainClient
    consensus: Contract
    blocks: list[RoundBlock]
    first_round: int
    from_block: int = 0
    confirmed: dict[int, bytes] = field(default_factory=dict)

    def confirm(self, r: int) -> bytes | None:
        """Confirms the matching block of round r; returns its hash, None when no revealed block matches."""
        own = self.blocks[r]
        chain_round = self.first_round + r
        head = self.client.w3.eth.block_number
        for event in self.consensus.events.Revealed.get_logs(
                from_block=self.from_block, to_block=head, argument_filters={"round": chain_round}):
            args = event["args"]
            if own.failed is None and (bytes(args["txSetHash"]), bytes(args["tradesHash"]), list(args["netLoadW"]),
                                       int(args["lambda"])) == (own.tx_set_hash, own.trades_hash, own.net_load_w,
                                                                own.benefit):
                block_hash = bytes(args["blockHash"])
                self.client.transact(self.consensus.functions.confirm(chain_round, block_hash))
                self.confirmed[r] = block_hash
                return block_hash
        self.from_block = head + 1
        return None
