"""Pipelined sending: many transactions of one or more accounts over one connection, a window at a time,
with every JSON-RPC round trip batched.

Per window: one fee query, one batch of gas estimates, local signing with each account's nonce manager,
``eth_sendRawTransaction`` in batches holding at most one transaction per account (rounds in nonce order: a
node that gets an account's transactions out of order may never mine them), then batches of
``eth_getTransactionReceipt`` until every receipt is in. Gas is estimated against the latest block, so calls inside one window must not depend on each other
(an ``approve`` and the ``deposit`` it allows go in different windows, or carry an explicit gas).

One account's transactions are mined in nonce order, but transactions of different accounts sent in one batch
may be mined in any order: Anvil handles a batch's requests concurrently (30 senders in one batch: two came out
swapped). Where the order across accounts matters (seed 000's greedy match is first come, first served by
arrival), send such calls with ``window=1``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import eth_abi
from eth_abi.exceptions import EncodingError
from eth_account.datastructures import SignedTransaction
from eth_utils.abi import get_abi_input_types
from hexbytes import HexBytes
from web3 import Web3
from web3._utils.method_formatters import receipt_formatter
from web3.types import TxReceipt

from offchain.chain.client import RECEIPT_FIRST_PAUSE, RECEIPT_MAX_PAUSE, ChainClient
from offchain.chain.errors import ContractRevertError, TransactionRejectedError, TransactionTimeoutError
from offchain.chain.artifacts import revert_data
from offchain.chain.nodes import ALREADY_SENT, NONCE_CONFLICTS, stale_nonces
from offchain.chain.rpc import rpc_batch

#: Transactions per window unless told otherwise: enough to keep a local node busy while the next window
#: is estimated and signed, few enough that a refused transaction wastes little.
DEFAULT_WINDOW = 64


def _call_fields(call: Any) -> dict[str, Any]:
    """``to`` and ``data`` of a contract function call or constructor, encoded locally (no RPC)."""
    if hasattr(call, "_encode_transaction_data"):  # ContractFunction
        return {"to": call.address, "data": encode_call(call)}
    return {"data": call._encode_data_in_transaction()}  # ContractConstructor


def encode_call(call: Any) -> str:
    """The calldata of a contract function call. eth_abi directly (about 0.1 ms) when the arguments are plain
    values (bytes for bytesN, checksummed addresses, ints, lists, tuples); web3's normalising encoder (about
    2 ms) for anything else, such as hex strings for bytes."""
    if not call.kwargs:
        try:
            return call.selector + eth_abi.encode(get_abi_input_types(call.abi), call.args).hex()
        except (EncodingError, TypeError, ValueError):
            pass
    return call._encode_transaction_data()


def prepare_batch(items: Sequence[tuple[ChainClient, Any]], *, value: int = 0,
                  gas: int | None = None) -> list[dict[str, Any] | ContractRevertError]:
    """Unsigned transactions for `items` ((client, call) pairs on one connection): fees asked once, gas
    estimated in JSON-RPC batches (unless `gas` is given), nonces reserved in order from each client's
    nonce manager. Per item its transaction, or the ContractRevertError its estimate raised (no nonce is
    reserved for it). A node error other than a revert raises TransactionRejectedError."""
    if not items:
        return []
    first = items[0][0]
    fees = first.fees()
    drafts = [{"chainId": client.chain_id, "value": value, **_call_fields(call)} for client, call in items]
    if gas is None:
        estimates = rpc_batch(first.w3, [("eth_estimateGas", [{"from": client.address, **_hexed(draft)}])
                                         for (client, _), draft in zip(items, drafts)])
    else:
        estimates = [{"result": hex(gas)}] * len(items)
    prepared: list[dict[str, Any] | ContractRevertError] = []
    for (client, _), draft, answer in zip(items, drafts, estimates):
        error = answer.get("error")
        if error is not None:
            prepared.append(_estimate_error(client, error))
            continue
        used = int(answer["result"], 16)
        limit = used if gas is not None else math.ceil(used * client.gas_margin)
        prepared.append({**draft, **fees, "gas": limit, "nonce": client.nonces.reserve()})
    return prepared


def _hexed(draft: dict[str, Any]) -> dict[str, Any]:
    return {key: hex(value) if isinstance(value, int) else value for key, value in draft.items()
            if key in ("to", "data", "value")}


def _estimate_error(client: ChainClient, error: Any) -> ContractRevertError:
    message = str(error.get("message", error)) if isinstance(error, dict) else str(error)
    data = revert_data(error.get("data")) if isinstance(error, dict) else None
    if data is not None and len(data) >= 4:
        return client.errors.to_exception(data, node_message=message)
    if "revert" in message.lower():
        return ContractRevertError("Reverted", {"message": message})
    raise TransactionRejectedError(f"gas estimate failed: {message}")


def _send_in_nonce_order(w3: Web3, raws: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    """``eth_sendRawTransaction`` answers for (sender, raw transaction) pairs, in order. One JSON-RPC batch per
    round, a round holding each sender's next transaction: a node handles a batch's requests concurrently, and
    Anvil (like Ganache) can leave a transaction queued for good when it arrives before its predecessor
    (foundry-rs/foundry#10122, ganache#4522), so no batch holds two transactions of one sender."""
    rounds: list[list[int]] = []
    seen: dict[str, int] = {}
    for index, (sender, _) in enumerate(raws):
        position = seen.get(sender, 0)
        seen[sender] = position + 1
        if position == len(rounds):
            rounds.append([])
        rounds[position].append(index)
    answers: list[dict[str, Any]] = [{}] * len(raws)
    for members in rounds:
        for index, answer in zip(members, rpc_batch(w3, [("eth_sendRawTransaction", [raws[i][1]]) for i in members])):
            answers[index] = answer
    return answers


def send_batch(items: Sequence[tuple[ChainClient, SignedTransaction]]) -> list[HexBytes | TransactionRejectedError]:
    """Sends signed transactions in JSON-RPC batches, in order. Per item its hash, or the error
    ChainClient.send_raw would have raised (returned, so one refusal does not hide the others' fate).
    Idempotent like send_raw: a transaction the node already has, pending or mined, gives its hash."""
    if not items:
        return []
    w3 = items[0][0].w3
    stale = stale_nonces(w3, [(client.address, signed.raw_transaction) for client, signed in items])
    fresh = [item for item, used in zip(items, stale) if not used]
    sent = iter(_send_in_nonce_order(w3, [(client.address, HexBytes(s.raw_transaction).to_0x_hex()) for client, s in fresh]))
    # A stale nonce gets the answer Anvil and geth give; Ganache would mine the transaction again.
    responses = [{"error": {"message": "nonce too low"}} if used else next(sent) for used in stale]
    outcomes: list[HexBytes | TransactionRejectedError] = []
    for (client, signed), response in zip(items, responses):
        tx_hash = HexBytes(signed.hash)
        error = response.get("error")
        message = str(error.get("message", error)) if isinstance(error, dict) else str(error or "")
        lowered = message.lower()
        if error is None or any(marker in lowered for marker in ALREADY_SENT):
            outcomes.append(tx_hash)
        elif any(marker in lowered for marker in NONCE_CONFLICTS) and client.is_on_chain(tx_hash):
            outcomes.append(tx_hash)
        else:
            outcomes.append(client.refusal_error(tx_hash, message))
    return outcomes


def receipts_batch(w3: Web3, tx_hashes: Sequence[bytes | str]) -> dict[str, TxReceipt]:
    """The receipts of those `tx_hashes` that are mined, asked in JSON-RPC batches: {0x-hash (lower): receipt}."""
    keys = [HexBytes(h).to_0x_hex() for h in tx_hashes]
    responses = rpc_batch(w3, [("eth_getTransactionReceipt", [key]) for key in keys])
    return {key: receipt_formatter(answer["result"]) for key, answer in zip(keys, responses)
            if answer.get("result") is not None}


def wait_batch(w3: Web3, tx_hashes: Sequence[bytes | str], *, timeout: float = 60,
               stopping: Callable[[], bool] = lambda: False) -> dict[str, TxReceipt]:
    """Receipts of `tx_hashes`, polling the missing ones in batches (pauses as ChainClient.wait) until all are
    in, `timeout` seconds pass (TransactionTimeoutError) or `stopping()` says so (then the receipts so far)."""
    missing = {HexBytes(h).to_0x_hex() for h in tx_hashes}
    found: dict[str, TxReceipt] = {}
    deadline = time.monotonic() + timeout
    pause = RECEIPT_FIRST_PAUSE
    while missing:
        arrived = receipts_batch(w3, sorted(missing))
        found.update(arrived)
        missing -= arrived.keys()
        if not missing or stopping():
            break
        if time.monotonic() >= deadline:
            raise TransactionTimeoutError(f"no receipt for {len(missing)} transaction(s) after {timeout:g} s")
        time.sleep(min(pause, max(deadline - time.monotonic(), 0)))
        pause = min(2 * pause, RECEIPT_MAX_PAUSE)
    return found


def transact_batch(items: Sequence[tuple[ChainClient, Any]], *, window: int = DEFAULT_WINDOW,
                   timeout: float = 60, gas: int | None = None) -> list[TxReceipt]:
    """Sends every (client, call) of `items` and returns their receipts in order: `window` transactions at a
    time, each window estimated, signed, sent and collected in batches (module docstring). `gas`: every
    transaction's gas limit instead of its estimate (for calls whose work depends on the others of the batch,
    such as orders that cross what the batch's earlier orders leave; nothing is estimated then). A call whose
    estimate reverts raises its ContractRevertError before anything of its window is signed (the nonces
    reserved for the others are released); a mined transaction that reverted raises its decoded error once
    its window's receipts are in; a refused one raises the send error."""
    if window < 1:
        raise ValueError("window must be at least 1")
    receipts: list[TxReceipt] = []
    for start in range(0, len(items), window):
        chunk = items[start:start + window]
        prepared = prepare_batch(chunk, gas=gas)
        failure = next((p for p in prepared if isinstance(p, ContractRevertError)), None)
        if failure is not None:
            for (client, _), tx in reversed(list(zip(chunk, prepared))):
                if isinstance(tx, dict):
                    client.nonces.release(tx["nonce"])
            raise failure
        signed = [(client, client.sign(tx)) for (client, _), tx in zip(chunk, prepared)]
        sent = send_batch(signed)
        refused = next((outcome for outcome in sent if isinstance(outcome, Exception)), None)
        hashes = [HexBytes(s.hash).to_0x_hex() for _, s in signed]
        found = wait_batch(chunk[0][0].w3, [h for h, outcome in zip(hashes, sent) if not isinstance(outcome, Exception)],
                           timeout=timeout)
        if refused is not None:
            raise refused
        for (client, _), tx_hash in zip(chunk, hashes):
            receipt = found[tx_hash]
            if receipt["status"] == 0:
                raise client.replayed_failure(receipt)
            receipts.append(receipt)
    return receipts
