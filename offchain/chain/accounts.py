"""Signing accounts: from a mnemonic (Anvil's public test mnemonic on local networks), from a private key in
the environment, or from an encrypted JSON keystore. No key is ever read from a committed file; the only
built-in secret is Anvil's public test mnemonic, which holds nothing of value."""

from __future__ import annotations

import json
import os
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from offchain.chain.errors import InvalidCredentialsError, MissingCredentialsError

#: Anvil's (and Hardhat's) public development mnemonic. Local networks only: everyone knows these keys.
ANVIL_TEST_MNEMONIC = "test test test test test test test test test test test junk"
#: BIP-44 path of the i-th Ethereum account, as Anvil derives them.
DERIVATION_PATH = "m/44'/60'/0'/0/{index}"

Account.enable_unaudited_hdwallet_features()


def account_from_mnemonic(mnemonic: str = ANVIL_TEST_MNEMONIC, index: int = 0) -> LocalAccount:
    """Account `index` of `mnemonic` on the BIP-44 Ethereum path (index i is Anvil's account i)."""
    return Account.from_mnemonic(mnemonic, account_path=DERIVATION_PATH.format(index=index))


def accounts_from_mnemonic(mnemonic: str = ANVIL_TEST_MNEMONIC, count: int = 10) -> list[LocalAccount]:
    """The first `count` accounts of `mnemonic` (Anvil's accounts 0 .. count-1 for the test mnemonic)."""
    return [account_from_mnemonic(mnemonic, i) for i in range(count)]


def account_from_env(variable: str = "KWX_PRIVATE_KEY") -> LocalAccount:
    """The account whose hex private key is in environment variable `variable`.

    Raises MissingCredentialsError if it is unset, InvalidCredentialsError if it is not a private key (the
    message never repeats the value).
    """
    key = os.environ.get(variable, "").strip()
    if not key:
        raise MissingCredentialsError(f"{variable} is not set")
    try:
        return Account.from_key(key)
    except (ValueError, TypeError):
        raise InvalidCredentialsError(f"{variable} does not hold a valid hex private key") from None


def account_from_keystore(path: str | Path, password: str) -> LocalAccount:
    """The account of an encrypted JSON keystore (geth / `cast wallet` format) unlocked with `password`."""
    keystore = Path(path)
    if not keystore.is_file():
        raise MissingCredentialsError(f"keystore {keystore} does not exist")
    try:
        encrypted = json.loads(keystore.read_text())
    except (OSError, json.JSONDecodeError):
        raise InvalidCredentialsError(f"keystore {keystore} is not an encrypted JSON keystore") from None
    try:
        return Account.from_key(Account.decrypt(encrypted, password))
    except ValueError:
        raise InvalidCredentialsError(f"cannot decrypt keystore {keystore}: wrong password or corrupt file") from None


def remote_account(prefix: str = "KWX") -> LocalAccount:
    """The account of a remote network from the environment: `<prefix>_PRIVATE_KEY`, else the keystore
    `<prefix>_KEYSTORE` unlocked with `<prefix>_KEYSTORE_PASSWORD`. MissingCredentialsError if neither."""
    if os.environ.get(f"{prefix}_PRIVATE_KEY", "").strip():
        return account_from_env(f"{prefix}_PRIVATE_KEY")
    keystore = os.environ.get(f"{prefix}_KEYSTORE", "").strip()
    if keystore:
        password = os.environ.get(f"{prefix}_KEYSTORE_PASSWORD")
        if password is None:
            raise MissingCredentialsError(f"{prefix}_KEYSTORE is set but {prefix}_KEYSTORE_PASSWORD is not")
        return account_from_keystore(keystore, password)
    raise MissingCredentialsError(
        f"no signing key: set {prefix}_PRIVATE_KEY, or {prefix}_KEYSTORE and {prefix}_KEYSTORE_PASSWORD"
    )
