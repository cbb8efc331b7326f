"""Chain client pieces that need no chain: networks, accounts, artifacts, revert decoding, connect()."""

from __future__ import annotations

import json
import pickle
import time

import eth_abi
import pytest
from eth_account import Account
from eth_utils import function_signature_to_4byte_selector as selector

from offchain.chain import (
    ANVIL_TEST_MNEMONIC,
    ArtifactsMissingError,
    ContractRevertError,
    ErrorDecoder,
    InvalidCredentialsError,
    KwxChainError,
    MissingCredentialsError,
    RpcUnreachableError,
    UnknownNetworkError,
    account_from_env,
    account_from_keystore,
    accounts_from_mnemonic,
    connect,
    free_port,
    get_network,
    load_artifact,
    role_id,
)

#: Anvil's documented first accounts for the test mnemonic.
ANVIL_ACCOUNT_0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
ANVIL_ACCOUNT_1 = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
ANVIL_ACCOUNT_3 = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
CREDENTIAL_VARIABLES = (
    "KWX_PRIVATE_KEY", "KWX_KEYSTORE", "KWX_KEYSTORE_PASSWORD", "KWX_FUJI_RPC_URL",
    "KWX_SCORER_PRIVATE_KEY", "KWX_SCORER_KEYSTORE", "KWX_LOCAL_RPC_URL", "KWX_REHEARSAL_RPC_URL",
)  # fmt: skip


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(variable, raising=False)


def one_line(error: Exception) -> str:
    text = str(error)
    assert text and "\n" not in text
    return text


# --- networks -------------------------------------------------------------------------------------------


def test_local_networks_defaults():
    local, rehearsal = get_network("local"), get_network("fuji-rehearsal")
    assert (local.chain_id, local.rpc_url, local.local) == (31337, "http://127.0.0.1:8545", True)
    assert (rehearsal.chain_id, rehearsal.rpc_url, rehearsal.local) == (43113, "http://127.0.0.1:8546", True)
    assert dict(local.role_accounts) == {"ADMIN": 0, "OPERATOR": 1, "METER": 2, "SCORER": 3}


def test_rpc_urls_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("KWX_LOCAL_RPC_URL", "http://10.0.0.2:9000")
    monkeypatch.setenv("KWX_REHEARSAL_RPC_URL", "http://10.0.0.3:9001")
    monkeypatch.setenv("KWX_FUJI_RPC_URL", "https://fuji.example/rpc")
    assert get_network("local").rpc_url == "http://10.0.0.2:9000"
    assert get_network("fuji-rehearsal").rpc_url == "http://10.0.0.3:9001"
    fuji = get_network("fuji")
    assert (fuji.chain_id, fuji.require_rpc_url(), fuji.local) == (43113, "https://fuji.example/rpc", False)


def test_local_role_accounts_are_the_anvil_accounts():
    local = get_network("local")
    assert local.account().address == ANVIL_ACCOUNT_0
    assert local.account("operator").address == ANVIL_ACCOUNT_1
    assert local.role_addresses()["SCORER"] == ANVIL_ACCOUNT_3
    with pytest.raises(KwxChainError, match="no account to role VALIDATOR"):
        local.account("VALIDATOR")


def test_unknown_network_is_one_line_naming_the_choices():
    with pytest.raises(UnknownNetworkError) as caught:
        get_network("mainnet")
    text = one_line(caught.value)
    assert "'mainnet'" in text and "local, fuji-rehearsal, fuji" in text


def test_fuji_without_rpc_or_key_refuses():
    fuji = get_network("fuji")
    with pytest.raises(MissingCredentialsError, match="KWX_FUJI_RPC_URL"):
        fuji.require_rpc_url()
    with pytest.raises(MissingCredentialsError) as caught:
        fuji.account()
    assert "KWX_PRIVATE_KEY" in one_line(caught.value) and "KWX_KEYSTORE" in str(caught.value)
    with pytest.raises(KwxChainError, match="remote"):
        fuji.embedded_anvil()


def test_fuji_key_from_environment_with_a_separate_scorer(monkeypatch):
    deployer, scorer = Account.create(), Account.create()
    monkeypatch.setenv("KWX_PRIVATE_KEY", deployer.key.hex())
    monkeypatch.setenv("KWX_SCORER_PRIVATE_KEY", scorer.key.hex())
    fuji = get_network("fuji")
    assert fuji.account().address == deployer.address
    assert fuji.account("OPERATOR").address == deployer.address  # no operator key: the deployer acts
    assert fuji.account("SCORER").address == scorer.address


def test_fuji_key_from_keystore(monkeypatch, tmp_path):
    owner = Account.create()
    keystore = tmp_path / "deployer.json"
    keystore.write_text(json.dumps(Account.encrypt(owner.key, "s3cret", kdf="pbkdf2", iterations=2)))
    monkeypatch.setenv("KWX_KEYSTORE", str(keystore))
    with pytest.raises(MissingCredentialsError, match="KWX_KEYSTORE_PASSWORD"):
        get_network("fuji").account()
    monkeypatch.setenv("KWX_KEYSTORE_PASSWORD", "s3cret")
    assert get_network("fuji").account().address == owner.address


# --- accounts -------------------------------------------------------------------------------------------


def test_mnemonic_accounts_match_anvil():
    accounts = accounts_from_mnemonic(ANVIL_TEST_MNEMONIC, count=4)
    assert [a.address for a in accounts[:2]] == [ANVIL_ACCOUNT_0, ANVIL_ACCOUNT_1]
    assert accounts[3].address == ANVIL_ACCOUNT_3


def test_account_from_env(monkeypatch):
    with pytest.raises(MissingCredentialsError, match="KWX_PRIVATE_KEY is not set"):
        account_from_env()
    monkeypatch.setenv("KWX_PRIVATE_KEY", "0xnot-a-key-but-secret")
    with pytest.raises(InvalidCredentialsError) as caught:
        account_from_env()
    assert "not-a-key-but-secret" not in one_line(caught.value)
    owner = Account.create()
    monkeypatch.setenv("KWX_PRIVATE_KEY", owner.key.hex())
    assert account_from_env().address == owner.address


def test_account_from_keystore_wrong_password_and_missing_file(tmp_path):
    owner = Account.create()
    keystore = tmp_path / "k.json"
    keystore.write_text(json.dumps(Account.encrypt(owner.key, "right", kdf="pbkdf2", iterations=2)))
    assert account_from_keystore(keystore, "right").address == owner.address
    with pytest.raises(InvalidCredentialsError, match="wrong password"):
        account_from_keystore(keystore, "wrong")
    with pytest.raises(MissingCredentialsError, match="does not exist"):
        account_from_keystore(tmp_path / "absent.json", "right")


# --- artifacts and revert decoding ----------------------------------------------------------------------


def test_missing_artifacts_tell_the_user_to_compile(tmp_path):
    for attempt in (lambda: load_artifact("UPOS", tmp_path), lambda: ErrorDecoder.from_build_dir(tmp_path)):
        with pytest.raises(ArtifactsMissingError) as caught:
            attempt()
        text = one_line(caught.value)
        assert "make compile" in text and str(tmp_path) in text


def test_artifact_of_a_contract_not_in_the_build(tmp_path):
    (tmp_path / "contracts").mkdir()
    (tmp_path / "contracts" / "UPOS.json").write_text('{"abi": [], "bytecode": "6080"}')
    assert load_artifact("UPOS", tmp_path).bytecode == "0x6080"
    with pytest.raises(ArtifactsMissingError, match="no artifact for contract EPOS.*make compile"):
        load_artifact("EPOS", tmp_path)


def test_compiled_artifact_has_abi_and_bytecode():
    upos = load_artifact("UPOS")
    assert upos.name == "UPOS" and upos.bytecode.startswith("0x") and len(bytes.fromhex(upos.bytecode[2:])) > 1000
    assert {"mint", "permit", "transfer"} <= {entry.get("name") for entry in upos.abi}


@pytest.fixture(scope="module")
def decoder() -> ErrorDecoder:
    return ErrorDecoder.from_build_dir()


def test_decodes_custom_errors_of_every_artifact(decoder):
    mechanism = bytes(range(32))
    data = selector("ResultAlreadyAccepted(bytes32,uint256)") + eth_abi.encode(["bytes32", "uint256"], [mechanism, 3])
    assert decoder.decode(data) == ("ResultAlreadyAccepted", {"mechanism": mechanism, "slot": 3})
    error = decoder.to_exception(data)
    assert str(error) == f"ResultAlreadyAccepted(mechanism=0x{mechanism.hex()}, slot=3)"

    account = "0x" + "ab" * 20
    data = selector("AccessControlUnauthorizedAccount(address,bytes32)") + eth_abi.encode(
        ["address", "bytes32"], [account, role_id("METER")]
    )
    name, args = decoder.decode(data)
    assert name == "AccessControlUnauthorizedAccount" and args["neededRole"] == role_id("METER")
    assert args["account"] == "0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB"  # checksummed
    assert str(decoder.to_exception(data)).endswith("neededRole=METER)")

    data = selector("ERC20InsufficientBalance(address,uint256,uint256)") + eth_abi.encode(
        ["address", "uint256", "uint256"], [account, 5, 7]
    )
    assert decoder.decode(data) == (
        "ERC20InsufficientBalance", {"sender": "0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB", "balance": 5, "needed": 7},
    )  # fmt: skip


def test_decodes_error_string_and_panic(decoder):
    data = selector("Error(string)") + eth_abi.encode(["string"], ["no luck"])
    assert decoder.decode(data) == ("Error", {"message": "no luck"})
    assert str(decoder.to_exception(data)) == "Error(message='no luck')"
    data = selector("Panic(uint256)") + eth_abi.encode(["uint256"], [0x11])
    assert decoder.decode(data) == ("Panic", {"code": 0x11, "reason": "arithmetic underflow or overflow"})


def test_unknown_garbled_and_empty_revert_data(decoder):
    unknown = bytes.fromhex("deadbeef") + b"\x00" * 32
    assert decoder.decode(unknown) is None
    error = decoder.to_exception(unknown)
    assert error.error_name == "UnknownError" and error.args["selector"] == "0xdeadbeef"
    truncated = selector("ResultAlreadyAccepted(bytes32,uint256)") + b"\x01" * 10
    assert decoder.decode(truncated) is None
    assert decoder.decode(b"") is None
    assert one_line(decoder.to_exception(None, node_message="execution reverted")) == (
        "Reverted(message='execution reverted')"
    )


def test_revert_error_survives_pickling():
    error = ContractRevertError("ResultAlreadyAccepted", {"mechanism": b"\x01" * 32, "slot": 9}, tx_hash=b"\x02" * 32)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.error_name, copy.args, copy.tx_hash, str(copy)) == (
        error.error_name, error.args, error.tx_hash, str(error),
    )  # fmt: skip
    assert isinstance(copy, KwxChainError)


# --- connect --------------------------------------------------------------------------------------------


def test_unreachable_rpc_retries_with_backoff_then_one_line():
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(RpcUnreachableError) as caught:
        connect(url, attempts=4, backoff=0.02)
    elapsed = time.monotonic() - started
    text = one_line(caught.value)
    assert url in text and "after 4 attempts" in text and "refused" in text.lower()
    assert elapsed >= 0.02 + 0.04 + 0.08  # the three waits between four attempts double each time
