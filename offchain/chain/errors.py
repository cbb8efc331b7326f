"""The exceptions of the chain client. Every one derives from `KwxChainError` and its `str()` is one line a
command line can print as it is (no tracebacks, no RPC dumps, never a private key)."""

from __future__ import annotations

from typing import Any

from hexbytes import HexBytes

from offchain.chain.roles import role_name


class KwxChainError(Exception):
    """Base of every error raised by `offchain.chain`."""


class UnknownNetworkError(KwxChainError):
    """A network name that is not one of the configured networks."""


class MissingCredentialsError(KwxChainError):
    """A remote network needs an RPC URL or a key that the environment does not provide."""


class InvalidCredentialsError(KwxChainError):
    """A key or keystore was provided but cannot be used (malformed key, wrong password)."""


class RpcUnreachableError(KwxChainError, ConnectionError):
    """The RPC endpoint did not answer (after every retry, when connecting). Also a ConnectionError, so code
    that knows nothing of the chain layer (the worker runtime) can tell "the node is not there" apart."""


class ChainIdMismatchError(KwxChainError):
    """The RPC endpoint serves a different chain than the one asked for."""


class ArtifactsMissingError(KwxChainError):
    """Compiled contract artifacts are missing; the message tells the user to run `make compile`."""


class AnvilStartError(KwxChainError):
    """The embedded Anvil could not be found or did not come up."""


class ManifestMissingError(KwxChainError):
    """No deployment manifest exists for the network asked for."""


class TransactionRejectedError(KwxChainError):
    """The node refused a signed transaction (insufficient funds, fee too low, ...): nothing was sent."""


class NonceConflictError(TransactionRejectedError):
    """Another transaction already used this nonce ("nonce too low", "replacement transaction underpriced").

    Raised after the nonce manager has been resynchronised with the chain: rebuilding and re-signing the
    transaction gives it a fresh nonce (`ChainClient.transact` does so by itself).
    """


class FeeTooLowError(TransactionRejectedError):
    """The node refused a transaction whose max fee per gas is below the current base fee: re-price it
    (`ChainClient.reprice`) rather than resend the same bytes."""


class FeeCapError(KwxChainError):
    """A transaction would need a max fee per gas above the client's cap (`max_fee_per_gas_cap`): nothing was
    signed or sent; try again when the base fee has come down, or raise the cap."""


class TransactionTimeoutError(KwxChainError):
    """No receipt arrived within the timeout; the transaction may still be mined later."""


class ContractRevertError(KwxChainError):
    """A contract call or transaction reverted, decoded against the ABIs of every build artifact.

    `error_name` is the Solidity error (a custom error, "Error" for `require` strings, "Panic" for
    assertion/arithmetic failures, "UnknownError" for a selector no artifact declares, "Reverted" when the
    node returned no revert data); `args` maps parameter names to decoded values (addresses checksummed,
    bytes32 as bytes); `tx_hash` is set when a mined transaction reverted, None for calls and estimates.
    """

    def __init__(self, error_name: str, args: dict[str, Any] | None = None, *, tx_hash: bytes | None = None) -> None:
        self.error_name = error_name
        self._revert_args = dict(args or {})
        self.tx_hash = HexBytes(tx_hash) if tx_hash is not None else None
        super().__init__(error_name)

    @property
    def args(self) -> dict[str, Any]:  # type: ignore[override]  # the decoded error arguments, by name
        return self._revert_args

    def __str__(self) -> str:
        rendered = ", ".join(f"{key}={_render(key, value)}" for key, value in self._revert_args.items())
        return f"{self.error_name}({rendered})"

    def __repr__(self) -> str:
        return f"ContractRevertError({self})"

    def __reduce__(self):
        return (_rebuild_revert, (self.error_name, self._revert_args, self.tx_hash))


def _rebuild_revert(error_name: str, args: dict[str, Any], tx_hash: bytes | None) -> ContractRevertError:
    return ContractRevertError(error_name, args, tx_hash=tx_hash)


def _render(key: str, value: Any) -> str:
    """One argument as it reads best: bytes as 0x-hex (role ids by name), strings quoted."""
    if isinstance(value, (bytes, bytearray)):
        named = role_name(bytes(value)) if "role" in key.lower() else None
        return named or "0x" + bytes(value).hex()
    if isinstance(value, str) and not value.startswith("0x"):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_render(key, item) for item in value) + "]"
    return str(value)
