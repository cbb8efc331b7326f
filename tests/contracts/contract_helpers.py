"""Helpers shared by every brownie test module (imported as `contract_helpers`; tests/contracts is on
sys.path through its conftest). Fixtures live in conftest.py; plain functions and constants live here so
that test modules in sub-folders, each with a conftest of its own, can import them by a unique name.

ABI values (role ids, participant kinds, enums, the zero address) and units come from the `offchain`
package, never from copies here: `offchain.chain.roles.role_id`, `offchain.chain.abi`,
`offchain.units.payment_base`, the mechanisms' enums."""

import time

import eth_abi
from brownie import chain, web3
from brownie.network.transaction import TransactionReceipt
from brownie.exceptions import decode_typed_error
from web3.exceptions import TransactionNotFound

#: Battery window of the shared fixture's EVs (conftest.py), Wh.
EV_CAPACITY_WH = 79_500
EV_SOC_MIN_WH = 15_900
EV_SOC_MAX_WH = 63_600

#: Signatures of the errors more than one contract raises: OpenZeppelin's role error, accept-once result
#: keys (contracts/core/ResultKeys.sol) and the shared errors of interfaces/IKwxErrors.sol.
UNAUTHORIZED = "AccessControlUnauthorizedAccount(address,bytes32)"
ALREADY_ACCEPTED = "ResultAlreadyAccepted(bytes32,uint256)"
INSUFFICIENT_BALANCE = "InsufficientBalance(address,uint256,uint256)"
INVALID_TIMING = "InvalidTiming(uint256,uint256,uint256,uint256)"


def latest_time() -> int:
    """The timestamp of a freshly mined block (Anvil stamps blocks with wall time plus its offset)."""
    chain.mine()
    return web3.eth.get_block("latest").timestamp


def warp(timestamp: int) -> None:
    """Mines a block stamped at or just after `timestamp` (never moves back)."""
    now = latest_time()
    if now < timestamp:
        chain.sleep(timestamp - now)
        chain.mine()


def custom_error(signature: str, *args) -> str:
    """The revert message brownie reports for custom error `signature` raised with `args`, for
    `brownie.reverts(...)`, e.g. custom_error("ParticipantInactive(address)", account).

    Brownie 1.22 turns revert data (4-byte selector + ABI-encoded arguments) into a string with
    `brownie.exceptions.decode_typed_error`: "Name: arg, ..." when it has seen an ABI declaring the error
    (addresses lower-case, bytes32 as a Python bytes literal), "Unknown typed error: 0x..." otherwise.
    Encoding the expected error from its signature and rendering it the same way makes the comparison
    exact on the selector and every argument, whichever form brownie picks."""
    types = [t for t in signature[signature.index("(") + 1 : -1].split(",") if t]
    values = [getattr(a, "address", a) for a in args]  # brownie accounts and contracts -> address
    data = bytes(web3.keccak(text=signature)[:4]) + eth_abi.encode(types, values)
    return decode_typed_error("0x" + data.hex())


_await_confirmation = TransactionReceipt._await_confirmation


def _await_confirmation_after_receipt(self, block_number=None, required_confs=1):
    """Anvil 1.7 can report a sender's nonce as advanced a moment before it serves the receipt of the
    transaction that advanced it; brownie, which reads the nonce first, then declares the transaction
    dropped ("Tx dropped without known replacement", about once in 1-2k transactions). Anvil mines what
    it accepts at once, so wait briefly for the receipt before brownie starts watching."""
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        try:
            if web3.eth.get_transaction_receipt(self.txid)["blockHash"] is not None:
                break
        except TransactionNotFound:
            pass
        time.sleep(0.01)
    _await_confirmation(self, block_number, required_confs)


def wait_for_receipts_before_confirming() -> None:
    """Installs the Anvil receipt-race fix in brownie (idempotent); conftest.py and scripts call it."""
    TransactionReceipt._await_confirmation = _await_confirmation_after_receipt
