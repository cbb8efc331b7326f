"""The runtime's :class:`~offchain.workers.runtime.ResultChain` over :class:`offchain.chain.ChainClient`,
plus reading contract events as :class:`~offchain.workers.runtime.ChainEvent` in bounded block ranges."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_account.typed_transactions import TypedTransaction
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractEvent
from web3.exceptions import TransactionNotFound

from offchain.chain import ChainClient, ContractRevertError
from offchain.chain.batch import receipts_batch
from offchain.chain.errors import FeeCapError, FeeTooLowError

from .runtime import Acceptance, ChainEvent, FeeCapReached, FeeTooLow, Rejected, TxState, block_ranges
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
    `client`'s account, a window of transactions per JSON-RPC batch (offchain.chain.batch).
    ``block_chunk``: most blocks per log query when looking for an acceptance."""

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

    def sign(self, calls: Sequence[Any]) -> list[Submission | Rejected]:
        signed_at_block = self.head()
        try:
            prepared = self.client.prepare_many(calls)
        except FeeCapError as capped:
            raise FeeCapReached(str(capped)) from capped
        outcomes: list[Submission | Rejected] = []
        for tx in prepared:
            if isinstance(tx, ContractRevertError):
                outcomes.append(Rejected(tx.error_name, tuple(tx.args.values())))
            else:
                outcomes.append(self._submission(self.client.sign(tx), tx["nonce"], signed_at_block))
        return outcomes

    @staticmethod
    def _submission(signed: Any, nonce: int, signed_at_block: int) -> Submission:
        return Submission(Web3.to_hex(signed.hash), nonce, bytes(signed.raw_transaction), signed_at_block)

    def broadcast(self, raw_txs: Sequence[bytes]) -> list[Exception | None]:
        outcomes = self.client.send_many([_Raw(raw) for raw in raw_txs])
        return [FeeTooLow(str(o)) if isinstance(o, FeeTooLowError) else o if isinstance(o, Exception) else None
                for o in outcomes]

    def receipts(self, tx_hashes: Sequence[str]) -> dict[str, int | Rejected]:
        outcomes: dict[str, int | Rejected] = {}
        for tx_hash, receipt in receipts_batch(self.w3, tx_hashes).items():
            if receipt["status"] == 0:
                revert = self.client._replayed_failure(receipt)
                outcomes[tx_hash] = Rejected(revert.error_name, tuple(revert.args.values()))
            else:
                outcomes[tx_hash] = receipt["blockNumber"]
        return outcomes

    def reprice(self, submission: Submission) -> Submission:
        try:
            signed = self.client.reprice(submission.raw_tx)
        except FeeCapError as capped:
            raise FeeCapReached(str(capped)) from capped
        return self._submission(signed, submission.nonce, self.head())

    def fee_too_low(self, submission: Submission) -> bool:
        base_fee = self.w3.eth.get_block("latest").get("baseFeePerGas")
        tx = TypedTransaction.from_bytes(HexBytes(submission.raw_tx)).as_dict() if submission.raw_tx[:1] < b"\x7f" else {}
        return base_fee is not None and tx.get("maxFeePerGas", base_fee) < base_fee

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
