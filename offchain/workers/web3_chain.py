"""The runtime's :class:`~offchain.workers.runtime.ResultChain` over :class:`offchain.chain.ChainClient`,
plus reading contract events as :class:`~offchain.workers.runtime.ChainEvent` in bounded block ranges."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import eth_abi
from eth_account.typed_transactions import TypedTransaction
from eth_utils.abi import collapse_if_tuple, event_abi_to_log_topic
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractEvent
from web3.exceptions import TransactionNotFound

from web3._utils.method_formatters import receipt_formatter

from offchain.chain import ChainClient, ContractRevertError
from offchain.chain.batch import prepare_batch, send_batch
from offchain.chain.errors import FeeCapError, FeeTooLowError
from offchain.chain.rpc import rpc_batch

from .runtime import Acceptance, ChainEvent, FeeCapReached, FeeTooLow, Rejected, TxState, block_ranges
from .state import Submission


def contract_events(event: ContractEvent, from_block: int, to_block: int,
                    argument_filters: dict[str, Any] | None = None) -> list[ChainEvent]:
    """The logs of `event` (e.g. ``contract.events.SurplusAttested``) in the inclusive block range, filtered on
    indexed arguments by `argument_filters`. One ``eth_getLogs``, decoded with eth_abi (web3's log decoder
    takes about 1 ms a log, which made reading a day of events as slow as submitting its results)."""
    abi = event.abi
    inputs = abi["inputs"]
    indexed = [i for i in inputs if i.get("indexed")]
    topics: list[Any] = [Web3.to_hex(event_abi_to_log_topic(abi))]
    for item in indexed:
        wanted = (argument_filters or {}).get(item["name"])
        topics.append(None if wanted is None else Web3.to_hex(eth_abi.encode([collapse_if_tuple(item)], [wanted])))
    while topics and topics[-1] is None:
        topics.pop()
    logs = event.w3.eth.get_logs({"address": event.address, "fromBlock": from_block, "toBlock": to_block,
                                  "topics": topics})
    plain = [i for i in inputs if not i.get("indexed")]
    plain_types = [collapse_if_tuple(i) for i in plain]
    events = []
    for log in logs:
        values: dict[str, Any] = {}
        for item, topic in zip(indexed, log["topics"][1:]):
            kind = collapse_if_tuple(item)
            # Dynamic indexed values are stored as their hash, which is all a log can give back.
            values[item["name"]] = bytes(topic) if _is_dynamic(kind) else eth_abi.decode([kind], bytes(topic))[0]
        values.update(zip((i["name"] for i in plain), eth_abi.decode(plain_types, bytes(log["data"]))))
        for item in inputs:
            if item["type"] == "address":
                values[item["name"]] = Web3.to_checksum_address(values[item["name"]])
        events.append(ChainEvent(block=log["blockNumber"], log_index=log["logIndex"],
                                 tx_hash=Web3.to_hex(log["transactionHash"]), name=abi["name"],
                                 args={i["name"]: values[i["name"]] for i in inputs}))
    return events


def _is_dynamic(kind: str) -> bool:
    return kind in ("string", "bytes") or kind.endswith("]") or kind.startswith("(")


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
            prepared = prepare_batch([(self.client, call) for call in calls])
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
        outcomes = send_batch([(self.client, _Raw(raw)) for raw in raw_txs])
        return [FeeTooLow(str(o)) if isinstance(o, FeeTooLowError) else o if isinstance(o, Exception) else None
                for o in outcomes]

    def receipts(self, tx_hashes: Sequence[str]) -> dict[str, int | Rejected]:
        outcomes: dict[str, int | Rejected] = {}
        answers = rpc_batch(self.w3, [("eth_getTransactionReceipt", [h]) for h in tx_hashes])
        for tx_hash, answer in zip(tx_hashes, answers):
            raw = answer.get("result")
            if raw is None:
                continue
            if int(raw["status"], 16) == 0:  # decode only the rare failure (web3's formatter is slow)
                revert = self.client.replayed_failure(receipt_formatter(raw))
                outcomes[tx_hash] = Rejected(revert.error_name, tuple(revert.args.values()))
            else:
                outcomes[tx_hash] = int(raw["blockNumber"], 16)
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
