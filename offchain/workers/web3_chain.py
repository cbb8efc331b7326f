"""The runtime's :class:`~offchain.workers.runtime.ResultChain` over :class:`offchain.chain.ChainClient`,
plus reading contract events as :class:`~offchain.workers.runtime.ChainEvent` in bounded block ranges."""

from __future__ import annotations

from typing import Any

from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractEvent
from web3.exceptions import TransactionNotFound

from offchain.chain import ChainClient, ContractRevertError

from .runtime import Acceptance, ChainEvent, Rejected, TxState, block_ranges
from .state import Submission


def contract_events(event: ContractEvent, from_block: int, to_block: int,
                    argument_filters: dict[str, Any] | None = None) -> list[ChainEvent]:
    """The logs of `event` (e.g. ``contract.events.SurplusAttested``) in the inclusive block range."""
    logs = event.get_logs(from_block=from_block, to_block=to_block, argument_filters=argument_filters)
    return [
        ChainEvent(block=log["blockNumber"], log_index=log["logIndex"], tx_hash=Web3.to_hex(log["transactionHash"]),
                   name=log["event"], args=dict(log["args"]))
        for log in logs
    ]


class Web3ResultChain:
    """Submits results to `results` (a contract with ResultKeys: ``isAccepted``, ``ResultAccepted``) from
    `client`'s account. ``block_chunk``: most blocks per log query when looking for an acceptance."""

    def __init__(self, client: ChainClient, results: Contract, *, block_chunk: int = 2000) -> None:
        self.client = client
        self.w3 = client.w3
        self.results = results
        self.block_chunk = block_chunk

    def identity(self) -> dict[str, str]:
        return {
            "chain_id": str(self.client.chain_id),
            "genesis": Web3.to_hex(self.w3.eth.get_block(0)["hash"]),
            "results_contract": self.results.address,
            "submitter": self.client.address,
        }

    def head(self) -> int:
        return self.w3.eth.block_number

    def is_accepted(self, mechanism: bytes, slot: int) -> bool:
        return bool(self.client.call(self.results.functions.isAccepted(mechanism, slot)))

    def acceptance(self, mechanism: bytes, slot: int, since_block: int) -> Acceptance | None:
        for lo, hi in block_ranges(since_block, self.head(), self.block_chunk):
            found = contract_events(self.results.events.ResultAccepted, lo, hi, {"mechanism": mechanism, "slot": slot})
            if found:
                return Acceptance(found[0].tx_hash, found[0].block)
        return None

    def sign(self, call: Any) -> Submission:
        signed_at_block = self.head()
        try:
            tx = self.client.build(call)
        except ContractRevertError as revert:
            raise Rejected(revert.error_name, tuple(revert.args.values())) from revert
        signed = self.client.sign(tx)
        return Submission(Web3.to_hex(signed.hash), tx["nonce"], bytes(signed.raw_transaction), signed_at_block)

    def broadcast(self, raw_tx: bytes) -> None:
        self.client.send_raw(_Raw(raw_tx))

    def wait(self, tx_hash: str, timeout: float) -> int:
        try:
            return self.client.wait(tx_hash, timeout=timeout)["blockNumber"]
        except ContractRevertError as revert:
            raise Rejected(revert.error_name, tuple(revert.args.values())) from revert

    def tx_state(self, tx_hash: str) -> TxState:
        try:
            tx = self.w3.eth.get_transaction(tx_hash)
        except TransactionNotFound:
            return TxState.UNKNOWN
        return TxState.PENDING if tx["blockNumber"] is None else TxState.MINED

    def confirmed_nonce(self) -> int:
        return self.w3.eth.get_transaction_count(self.client.address, "latest")


class _Raw:
    """A stored raw transaction in the shape ChainClient.send_raw takes (``raw_transaction`` and ``hash``)."""

    def __init__(self, raw_tx: bytes) -> None:
        self.raw_transaction = raw_tx
        self.hash = Web3.keccak(raw_tx)
