"""UPOS: ADMIN-only minting and EIP-2612 permits signed off-chain with eth-account."""

import brownie
import pytest
from brownie import chain
from eth_account import Account
from eth_account.messages import encode_typed_data
from contract_helpers import UNAUTHORIZED, custom_error

from offchain.chain.abi import ZERO_ADDRESS
from offchain.chain.roles import role_id

TOKEN_NAME = "Kilowatt Exchange Utility"
ONE_UPOS = 10**18
INVALID_SIGNER = "ERC2612InvalidSigner(address,address)"

PERMIT_TYPES = {
    "Permit": [
        {"name": "owner", "type": "address"},
        {"name": "spender", "type": "address"},
        {"name": "value", "type": "uint256"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ]
}


def permit_domain(upos) -> dict:
    return {"name": TOKEN_NAME, "version": "1", "chainId": chain.id, "verifyingContract": upos.address}


def permit_message(owner: str, spender: str, value: int, nonce: int, deadline: int) -> dict:
    return {"owner": owner, "spender": spender, "value": value, "nonce": nonce, "deadline": deadline}


def sign_permit(upos, key: bytes, message: dict):
    """EIP-712 signature of a Permit for `upos` by `key`."""
    return Account.sign_typed_data(key, permit_domain(upos), PERMIT_TYPES, message)


def recover_permit_signer(upos, message: dict, signed) -> str:
    """The address the contract recovers from `signed` for `message` (what ERC2612InvalidSigner reports)."""
    digest = encode_typed_data(permit_domain(upos), PERMIT_TYPES, message)
    return Account.recover_message(digest, vrs=(signed.v, signed.r, signed.s))


def submit_permit(upos, message: dict, signed, sender):
    return upos.permit(
        message["owner"],
        message["spender"],
        message["value"],
        message["deadline"],
        signed.v,
        signed.r.to_bytes(32, "big"),
        signed.s.to_bytes(32, "big"),
        {"from": sender},
    )


@pytest.fixture
def owner(upos, admin):
    """A fresh eth-account key holding 100 UPOS; it never sends a transaction itself."""
    account = Account.create()
    upos.mint(account.address, 100 * ONE_UPOS, {"from": admin})
    return account


@pytest.fixture
def deadline():
    return chain[-1].timestamp + 3_600


# --- metadata and minting ----------------------------------------------------------------------------


def test_metadata(upos, registry):
    assert upos.name() == TOKEN_NAME
    assert upos.symbol() == "UPOS"
    assert upos.decimals() == 18
    assert upos.registry() == registry.address


def test_admin_mints(upos, admin, prosumers):
    tx = upos.mint(prosumers[0], 5 * ONE_UPOS, {"from": admin})
    assert upos.balanceOf(prosumers[0]) == 5 * ONE_UPOS
    assert upos.totalSupply() == 5 * ONE_UPOS
    transfer = tx.events["Transfer"]
    assert (transfer["from"], transfer["to"], transfer["value"]) == (
        ZERO_ADDRESS,
        prosumers[0].address,
        5 * ONE_UPOS,
    )


@pytest.mark.parametrize("caller_name", ["operator", "meter", "scorer", "outsider"])
def test_mint_requires_admin(upos, request, caller_name, prosumers):
    caller = request.getfixturevalue(caller_name)
    with brownie.reverts(custom_error(UNAUTHORIZED, caller, role_id("ADMIN"))):
        upos.mint(prosumers[0], ONE_UPOS, {"from": caller})
    assert upos.balanceOf(prosumers[0]) == 0
    assert upos.totalSupply() == 0


def test_new_admin_can_mint(upos, registry, admin, operator, prosumers):
    """Minting follows the registry's ADMIN grants, not the deployer."""
    registry.grantRole(role_id("ADMIN"), operator, {"from": admin})
    upos.mint(prosumers[0], ONE_UPOS, {"from": operator})
    assert upos.balanceOf(prosumers[0]) == ONE_UPOS


def test_zero_registry_rejected(UPOS, admin):
    with brownie.reverts(custom_error("ZeroAddress()")):
        UPOS.deploy(ZERO_ADDRESS, {"from": admin})


# --- permit ------------------------------------------------------------------------------------------


def test_signing_domain_matches_contract(upos):
    _, name, version, chain_id, verifying_contract, _, _ = upos.eip712Domain()
    assert (name, version, chain_id, verifying_contract) == (TOKEN_NAME, "1", chain.id, upos.address)


def test_permit_signed_with_eth_account(upos, owner, prosumers, operator, deadline):
    spender = prosumers[0]
    message = permit_message(owner.address, spender.address, 40 * ONE_UPOS, 0, deadline)
    signed = sign_permit(upos, owner.key, message)

    tx = submit_permit(upos, message, signed, operator)  # a relayer pays the gas, not the owner

    assert upos.allowance(owner.address, spender) == 40 * ONE_UPOS
    assert upos.nonces(owner.address) == 1
    approval = tx.events["Approval"]
    assert (approval["owner"], approval["spender"]) == (owner.address, spender.address)
    assert approval["value"] == 40 * ONE_UPOS

    upos.transferFrom(owner.address, spender, 25 * ONE_UPOS, {"from": spender})
    assert upos.balanceOf(spender) == 25 * ONE_UPOS
    assert upos.balanceOf(owner.address) == 75 * ONE_UPOS
    assert upos.allowance(owner.address, spender) == 15 * ONE_UPOS


def test_permit_signed_by_another_key_rejected(upos, owner, prosumers, deadline):
    intruder = Account.create()
    message = permit_message(owner.address, prosumers[0].address, ONE_UPOS, 0, deadline)
    signed = sign_permit(upos, intruder.key, message)

    with brownie.reverts(custom_error(INVALID_SIGNER, intruder.address, owner.address)):
        submit_permit(upos, message, signed, prosumers[0])
    assert upos.allowance(owner.address, prosumers[0]) == 0
    assert upos.nonces(owner.address) == 0


def test_permit_with_altered_value_rejected(upos, owner, prosumers, deadline):
    signed_message = permit_message(owner.address, prosumers[0].address, ONE_UPOS, 0, deadline)
    signed = sign_permit(upos, owner.key, signed_message)
    submitted = dict(signed_message, value=100 * ONE_UPOS)

    recovered = recover_permit_signer(upos, submitted, signed)
    assert recovered != owner.address
    with brownie.reverts(custom_error(INVALID_SIGNER, recovered, owner.address)):
        submit_permit(upos, submitted, signed, prosumers[0])
    assert upos.allowance(owner.address, prosumers[0]) == 0
    assert upos.nonces(owner.address) == 0


def test_permit_replay_rejected(upos, owner, prosumers, deadline):
    message = permit_message(owner.address, prosumers[0].address, ONE_UPOS, 0, deadline)
    signed = sign_permit(upos, owner.key, message)
    submit_permit(upos, message, signed, prosumers[0])
    upos.transferFrom(owner.address, prosumers[0], ONE_UPOS, {"from": prosumers[0]})

    # The contract now hashes nonce 1, so the old signature recovers to some unrelated address.
    recovered = recover_permit_signer(upos, dict(message, nonce=1), signed)
    with brownie.reverts(custom_error(INVALID_SIGNER, recovered, owner.address)):
        submit_permit(upos, message, signed, prosumers[0])
    assert upos.allowance(owner.address, prosumers[0]) == 0
    assert upos.nonces(owner.address) == 1


def test_permit_past_deadline_rejected(upos, owner, prosumers):
    expired = chain[-1].timestamp - 1
    message = permit_message(owner.address, prosumers[0].address, ONE_UPOS, 0, expired)
    signed = sign_permit(upos, owner.key, message)

    with brownie.reverts(custom_error("ERC2612ExpiredSignature(uint256)", expired)):
        submit_permit(upos, message, signed, prosumers[0])
    assert upos.allowance(owner.address, prosumers[0]) == 0
    assert upos.nonces(owner.address) == 0
