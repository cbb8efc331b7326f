"""The chain client: builds, signs (locally, eth-account), sends and waits for transactions of one account,
with EIP-1559 fees, a shared nonce manager and reverts decoded into ContractRevertError."""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path
from typing import Any

from eth_account.datastructures import SignedTransaction
from eth_account.signers.local import LocalAccount
from eth_account.typed_transactions import TypedTransaction
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError, MethodUnavailable, TransactionNotFound, Web3RPCError
from web3.types import TxReceipt

from offchain.chain.artifacts import Artifact, ErrorDecoder, load_artifact, revert_data_of
from offchain.chain.errors import (
    ContractRevertError,
    FeeCapError,
    FeeTooLowError,
    KwxChainError,
    NonceConflictError,
    TransactionRejectedError,
    TransactionTimeoutError,
)
from offchain.chain.nodes import ALREADY_SENT, FEE_TOO_LOW, NONCE_CONFLICTS, node_rules, stale_nonces
from offchain.chain.nonces import NonceManager

#: A replacement must raise both fee fields by at least 10 % (geth's and coreth's txpool rule); 12.5 % clears it.
REPRICE_BUMP = 1.125


def rpc_message(exc: Web3RPCError) -> str:
    """The node's error message of a failed JSON-RPC request."""
    error = (exc.rpc_response or {}).get("error")
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    return str(exc)


#: Receipt polling, seconds: the first pause is short because a local node mines within milliseconds of
#: accepting a transaction (web3's fixed 0.1 s made every Anvil transaction cost 0.1 s once its state had
#: grown); it doubles up to the cap, so a remote chain's seconds-long blocks cost a handful of polls.
RECEIPT_FIRST_PAUSE = 0.002
RECEIPT_MAX_PAUSE = 1.0


class ChainClient:
    """Sends transactions for one local account over `w3`.

    Args:
        w3: a connected Web3 (see `connect`).
        account: the signing account (eth-account LocalAccount).
        build_dir: brownie build folder with the artifacts (default: the one for the node's EVM rules, node_rules:
            the project's build/, or the shanghai build on Ganache).
        gas_margin: gas limit = estimate * gas_margin when no gas is given.
        fallback_tip_wei: priority fee when the node does not answer eth_maxPriorityFeePerGas.
        nonce_retries: how often `transact` rebuilds a transaction whose nonce another sender took.
        max_fee_per_gas_cap: most wei per gas any transaction may offer (None: no cap). A base fee above
            it raises FeeCapError before anything is signed; re-pricing never goes above it.
    """

    def __init__(
        self,
        w3: Web3,
        account: LocalAccount,
        *,
        build_dir: str | Path | None = None,
        gas_margin: float = 1.2,
        fallback_tip_wei: int = 10**9,
        nonce_retries: int = 3,
        max_fee_per_gas_cap: int | None = None,
    ) -> None:
        self.w3 = w3
        self.account = account
        self.build_dir = build_dir if build_dir is not None else node_rules(w3).build_dir
        self.gas_margin = gas_margin
        self.fallback_tip_wei = fallback_tip_wei
        self.nonce_retries = nonce_retries
        self.max_fee_per_gas_cap = max_fee_per_gas_cap
        self.chain_id: int = w3.eth.chain_id
        self.nonces = NonceManager(w3, account.address)
        self._errors: ErrorDecoder | None = None
        self._errors_lock = threading.Lock()

    @property
    def address(self) -> str:
        """The checksummed address of the signing account."""
        return self.account.address

    @property
    def errors(self) -> ErrorDecoder:
        """The revert decoder over every artifact of the build folder (loaded on first use)."""
        with self._errors_lock:
            if self._errors is None:
                self._errors = ErrorDecoder.from_build_dir(self.build_dir)
            return self._errors

    def artifact(self, name: str) -> Artifact:
        return load_artifact(name, self.build_dir)

    def contract(self, name: str, address: str) -> Contract:
        """The deployed contract `name` at `address`, with the ABI of its artifact."""
        return self.w3.eth.contract(address=Web3.to_checksum_address(address), abi=self.artifact(name).abi)

    def constructor(self, name: str, *args: Any) -> Any:
        """The constructor call of contract `name` with `args`, ready for build/estimate/transact."""
        artifact = self.artifact(name)
        if artifact.bytecode in ("", "0x"):
            raise KwxChainError(f"{name} has no bytecode: it is abstract or an interface")
        if "__" in artifact.bytecode:
            raise KwxChainError(f"{name} needs linked libraries, which this client does not link")
        return self.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode).constructor(*args)

    def deploy(self, name: str, *args: Any, gas: int | None = None) -> Contract:
        """Deploys contract `name` with constructor `args`, waits for it, returns the contract."""
        receipt = self.transact(self.constructor(name, *args), gas=gas)
        return self.contract(name, receipt["contractAddress"])

    def fees(self, base_fee: int | None = None) -> dict[str, int]:
        """EIP-1559 fees for a transaction sent now: tip from eth_maxPriorityFeePerGas (fallback_tip_wei if
        the node lacks it), maxFeePerGas = 2 * latest base fee + tip, which survives six full blocks of
        base-fee increases; both bounded by `max_fee_per_gas_cap` (FeeCapError when the base fee alone is
        above it). A chain without a base fee gets a legacy gasPrice (FeeCapError above the cap). `base_fee`
        (wei) prices at that base fee instead of the latest block's (what-if costs; nothing is sent at it)."""
        if base_fee is None:
            base_fee = self.w3.eth.get_block("latest").get("baseFeePerGas")
        if base_fee is None:
            return {"gasPrice": self._capped(self.w3.eth.gas_price, self.w3.eth.gas_price)}
        try:
            answer = self.w3.manager.request_blocking("eth_maxPriorityFeePerGas", [])
            tip = int(answer, 16) if isinstance(answer, str) else int(answer)
        except (Web3RPCError, MethodUnavailable):
            tip = self.fallback_tip_wei
        max_fee = self._capped(2 * base_fee + tip, base_fee)
        return {"maxFeePerGas": max_fee, "maxPriorityFeePerGas": min(tip, max_fee - base_fee)}

    def _capped(self, fee: int, floor: int) -> int:
        """`fee` bounded by the cap; FeeCapError if even `floor` (what the chain asks now) is above the cap."""
        cap = self.max_fee_per_gas_cap
        if cap is None:
            return fee
        if floor > cap:
            raise FeeCapError(f"the chain asks {floor / 1e9:g} gwei per gas, above the cap of {cap / 1e9:g} gwei")
        return min(fee, cap)

    def reprice(self, raw_tx: bytes) -> SignedTransaction:
        """`raw_tx` (one of this account's signed transactions) signed again with the same nonce, call and gas
        and fees that the node takes now: at least the current fees and REPRICE_BUMP times the old ones (a
        replacement must outbid the transaction it replaces), at most `max_fee_per_gas_cap`. Both can never
        be mined: they share the nonce. FeeCapError when the cap does not allow a valid replacement."""
        old = dict(TypedTransaction.from_bytes(HexBytes(raw_tx)).as_dict()) if raw_tx[:1] < b"\x7f" else None
        if old is None:
            raise KwxChainError("re-pricing handles typed (EIP-2718) transactions only")
        old.pop("v", None), old.pop("r", None), old.pop("s", None)
        now = self.fees()
        bumped = {key: max(now[key], math.ceil(old[key] * REPRICE_BUMP))
                  for key in ("maxFeePerGas", "maxPriorityFeePerGas")}
        cap = self.max_fee_per_gas_cap
        if cap is not None and bumped["maxFeePerGas"] > cap:
            raise FeeCapError(f"re-pricing nonce {old['nonce']} needs {bumped['maxFeePerGas'] / 1e9:g} gwei per gas, "
                              f"above the cap of {cap / 1e9:g} gwei")
        bumped["maxPriorityFeePerGas"] = min(bumped["maxPriorityFeePerGas"], bumped["maxFeePerGas"])
        return self.sign({**old, **bumped})

    def estimate_gas(self, fn_call: Any, *, value: int = 0) -> int:
        """Gas the call would use if sent now by this account; a revert raises ContractRevertError."""
        try:
            return fn_call.estimate_gas({"from": self.address, "value": value})
        except ContractLogicError as exc:
            raise self.revert_error(exc) from exc
        except Web3RPCError as exc:
            raise TransactionRejectedError(f"gas estimate failed: {rpc_message(exc)}") from exc

    def build(self, fn_call: Any, *, gas: int | None = None, value: int = 0) -> dict[str, Any]:
        """An unsigned transaction for `fn_call` (a contract function call or constructor): chain id, EIP-1559
        fees, gas (estimate * gas_margin unless given; an estimate that reverts raises ContractRevertError)
        and a nonce from the nonce manager, reserved last so that a failure before it leaves no gap."""
        fees = self.fees()
        if gas is None:
            gas = math.ceil(self.estimate_gas(fn_call, value=value) * self.gas_margin)
        nonce = self.nonces.reserve()
        params = {"from": self.address, "chainId": self.chain_id, "nonce": nonce, "gas": gas, "value": value}
        try:
            return fn_call.build_transaction({**params, **fees})
        except Exception:
            self.nonces.release(nonce)
            raise

    def sign(self, tx: dict[str, Any]) -> SignedTransaction:
        """Signs `tx` locally with the account's key (nothing leaves the process)."""
        return self.account.sign_transaction(tx)

    def send_raw(self, signed: SignedTransaction) -> HexBytes:
        """Sends a signed transaction and returns its hash. Sending the same signed transaction again is
        safe: if the node already has it (pending or mined) its hash is returned.

        Raises NonceConflictError when a different transaction already used its nonce (the nonce manager is
        resynchronised first: rebuild and re-sign), FeeTooLowError when its max fee is below the base fee
        (re-price it), TransactionRejectedError for any other refusal.
        """
        tx_hash = HexBytes(signed.hash)
        cause: Web3RPCError | None = None
        if stale_nonces(self.w3, [(self.address, signed.raw_transaction)])[0]:
            message = "nonce too low"  # what Anvil and geth answer; Ganache would mine it again
        else:
            try:
                return HexBytes(self.w3.eth.send_raw_transaction(signed.raw_transaction))
            except Web3RPCError as exc:
                message, cause = rpc_message(exc), exc
        lowered = message.lower()
        if any(marker in lowered for marker in ALREADY_SENT):
            return tx_hash
        if any(marker in lowered for marker in NONCE_CONFLICTS) and self.is_on_chain(tx_hash):
            return tx_hash
        raise self.refusal_error(tx_hash, message) from cause

    def refusal_error(self, tx_hash: HexBytes, message: str) -> TransactionRejectedError:
        """The error for a node's refusal of `tx_hash` with `message` (see send_raw)."""
        lowered = message.lower()
        if any(marker in lowered for marker in NONCE_CONFLICTS):
            self.nonces.resync()
            return NonceConflictError(f"transaction {tx_hash.to_0x_hex()} from {self.address}: nonce already used "
                                      f"({message})")
        if any(marker in lowered for marker in FEE_TOO_LOW):
            return FeeTooLowError(f"transaction {tx_hash.to_0x_hex()} from {self.address}: fee too low ({message})")
        return TransactionRejectedError(f"transaction {tx_hash.to_0x_hex()} from {self.address} refused: {message}")

    def is_on_chain(self, tx_hash: HexBytes) -> bool:
        """Whether the node knows `tx_hash` (pending or mined)."""
        try:
            self.w3.eth.get_transaction(tx_hash)
        except TransactionNotFound:
            return False
        return True

    def wait(self, tx_hash: bytes, *, timeout: float = 60) -> TxReceipt:
        """The receipt of `tx_hash` once mined. A reverted transaction (status 0) raises ContractRevertError,
        decoded by replaying the call on the state after its block; TransactionTimeoutError after `timeout` s."""
        deadline = time.monotonic() + timeout
        pause = RECEIPT_FIRST_PAUSE
        while True:
            try:
                receipt = self.w3.eth.get_transaction_receipt(tx_hash)
                break
            except TransactionNotFound:
                if time.monotonic() >= deadline:
                    raise TransactionTimeoutError(
                        f"no receipt for {HexBytes(tx_hash).to_0x_hex()} after {timeout:g} s") from None
            time.sleep(min(pause, max(deadline - time.monotonic(), 0)))
            pause = min(2 * pause, RECEIPT_MAX_PAUSE)
        if receipt["status"] == 0:
            raise self.replayed_failure(receipt)
        return receipt

    def replayed_failure(self, receipt: TxReceipt) -> ContractRevertError:
        """Why a mined transaction reverted: the node keeps no revert data, so its call is replayed at its
        block (the state after it, where the condition that made it fail normally still holds)."""
        tx_hash = receipt["transactionHash"]
        tx = self.w3.eth.get_transaction(tx_hash)
        replay: dict[str, Any] = {"from": tx["from"], "data": tx["input"], "value": tx["value"], "gas": tx["gas"]}
        if tx.get("to"):
            replay["to"] = tx["to"]
        node_message = "replay at its block succeeded"
        try:
            self.w3.eth.call(replay, receipt["blockNumber"])
        except ContractLogicError as exc:
            return self.revert_error(exc, tx_hash=tx_hash)
        except Web3RPCError as exc:
            node_message = rpc_message(exc)
        if receipt["gasUsed"] >= tx["gas"]:  # a revert refunds what is left; only running out uses it all
            return ContractRevertError("OutOfGas", {"gas": tx["gas"]}, tx_hash=tx_hash)
        return ContractRevertError("Reverted", {"message": node_message}, tx_hash=tx_hash)

    def transact(self, fn_call: Any, *, gas: int | None = None, value: int = 0, timeout: float = 60) -> TxReceipt:
        """build + sign + send + wait. A nonce taken by another sender is retried with a fresh nonce up to
        `nonce_retries` times; a nonce whose transaction the node refused is released for reuse."""
        attempt = 0
        while True:
            attempt += 1
            tx = self.build(fn_call, gas=gas, value=value)
            try:
                tx_hash = self.send_raw(self.sign(tx))
            except NonceConflictError:
                if attempt >= self.nonce_retries:
                    raise
                continue
            except TransactionRejectedError:
                self.nonces.release(tx["nonce"])
                raise
            return self.wait(tx_hash, timeout=timeout)

    def call(self, fn_call: Any, *, block: int | str = "latest") -> Any:
        """The return value of a read-only call from this account; a revert raises ContractRevertError."""
        try:
            return fn_call.call({"from": self.address}, block_identifier=block)
        except ContractLogicError as exc:
            raise self.revert_error(exc) from exc

    def revert_error(self, exc: ContractLogicError, *, tx_hash: bytes | None = None) -> ContractRevertError:
        """The ContractRevertError for a web3 ContractLogicError (its revert data decoded)."""
        return self.errors.to_exception(revert_data_of(exc), tx_hash=tx_hash, node_message=str(exc))
