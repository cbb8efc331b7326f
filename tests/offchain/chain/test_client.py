"""The chain client against the session's embedded Anvil: sending, fees, decoded reverts, the nonce manager."""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from eth_account import Account
from web3.exceptions import MethodUnavailable

from offchain.chain import (
    ChainClient,
    ChainIdMismatchError,
    ContractRevertError,
    NonceConflictError,
    TransactionRejectedError,
    TransactionTimeoutError,
    connect,
    get_network,
    role_id,
)

pytestmark = pytest.mark.chain

MECHANISM = b"\x5e" * 32
ONE_UPOS = 10**18


@pytest.fixture
def upos(suite_contract, admin):
    return suite_contract("UPOS", admin)


def test_connect_checks_the_chain_id(anvil):
    with pytest.raises(ChainIdMismatchError, match="serves chain id 31337, expected 43113"):
        connect(anvil.rpc_url, expected_chain_id=43113)


def test_build_fills_eip1559_fees_chain_id_gas_and_nonce(admin, upos, w3):
    call = upos.functions.mint(admin.address, ONE_UPOS)
    estimate = admin.estimate_gas(call)
    tx = admin.build(call)
    base_fee = w3.eth.get_block("latest")["baseFeePerGas"]
    tip = w3.eth.max_priority_fee
    assert (tx["chainId"], tx["maxPriorityFeePerGas"], tx["maxFeePerGas"]) == (31337, tip, 2 * base_fee + tip)
    assert tx["gas"] == math.ceil(estimate * 1.2)
    assert tx["nonce"] == w3.eth.get_transaction_count(admin.address, "pending")
    admin.wait(admin.send_raw(admin.sign(tx)))  # the reserved nonce is used, so later tests find no gap


def test_tip_falls_back_when_the_node_lacks_eth_max_priority_fee(w3, dev_accounts, monkeypatch):
    client = ChainClient(w3, dev_accounts[8], fallback_tip_wei=7)
    answer = w3.manager.request_blocking

    def without_priority_fee(method, params, *args, **kwargs):
        if method == "eth_maxPriorityFeePerGas":
            raise MethodUnavailable("eth_maxPriorityFeePerGas is not available")
        return answer(method, params, *args, **kwargs)

    monkeypatch.setattr(w3.manager, "request_blocking", without_priority_fee)
    fees = client.fees()
    assert fees["maxPriorityFeePerGas"] == 7
    assert fees["maxFeePerGas"] == 2 * w3.eth.get_block("latest")["baseFeePerGas"] + 7


def test_transact_succeeds_and_call_reads_the_result(admin, upos):
    recipient = Account.create().address
    receipt = admin.transact(upos.functions.mint(recipient, 3 * ONE_UPOS))
    assert receipt["status"] == 1
    transfer = upos.events.Transfer().process_receipt(receipt)[0]["args"]
    assert (transfer["to"], transfer["value"]) == (recipient, 3 * ONE_UPOS)
    assert admin.call(upos.functions.balanceOf(recipient)) == 3 * ONE_UPOS


def test_deploy_returns_a_usable_contract(admin, suite):
    credit = admin.deploy("EnergyCredit", suite.address("ParticipantRegistry"), "kwx://test/{id}")
    assert admin.call(credit.functions.uri(5)) == "kwx://test/{id}"
    assert admin.call(credit.functions.registry()) == suite.address("ParticipantRegistry")


def test_unauthorised_mint_is_decoded_before_anything_is_sent(outsider, suite_contract, w3):
    nonce_before = w3.eth.get_transaction_count(outsider.address)
    with pytest.raises(ContractRevertError) as caught:
        outsider.transact(suite_contract("UPOS", outsider).functions.mint(outsider.address, ONE_UPOS))
    error = caught.value
    assert error.error_name == "AccessControlUnauthorizedAccount"
    assert error.args == {"account": outsider.address, "neededRole": role_id("ADMIN")}
    assert str(error) == f"AccessControlUnauthorizedAccount(account={outsider.address}, neededRole=ADMIN)"
    assert error.tx_hash is None
    assert w3.eth.get_transaction_count(outsider.address) == nonce_before


def test_mined_revert_is_decoded_by_replaying_it(outsider, suite_contract, w3):
    with pytest.raises(ContractRevertError) as caught:  # a given gas limit skips the estimate: it is mined
        outsider.transact(suite_contract("UPOS", outsider).functions.mint(outsider.address, 1), gas=200_000)
    error = caught.value
    assert error.error_name == "AccessControlUnauthorizedAccount" and error.args["account"] == outsider.address
    assert w3.eth.get_transaction_receipt(error.tx_hash)["status"] == 0


def test_out_of_gas_is_named(outsider, suite_contract, w3):
    with pytest.raises(ContractRevertError) as caught:
        outsider.transact(suite_contract("UPOS", outsider).functions.approve(outsider.address, 1), gas=22_000)
    assert caught.value.error_name == "OutOfGas"
    assert w3.eth.get_transaction_receipt(caught.value.tx_hash)["gasUsed"] == 22_000


def test_second_score_mint_for_the_same_key_is_result_already_accepted(scorer, suite_contract, prosumer):
    epos = suite_contract("EPOS", scorer)
    mint = epos.functions.mintScores(MECHANISM, 3, [prosumer.address], [5 * 10**18])
    assert scorer.transact(mint)["status"] == 1
    with pytest.raises(ContractRevertError) as caught:
        scorer.transact(mint)
    assert caught.value.error_name == "ResultAlreadyAccepted"
    assert caught.value.args == {"mechanism": MECHANISM, "slot": 3}
    assert str(caught.value) == f"ResultAlreadyAccepted(mechanism=0x{MECHANISM.hex()}, slot=3)"
    assert scorer.call(epos.functions.balanceOf(prosumer.address)) == 5 * 10**18


def test_call_revert_decodes_openzeppelin_erc20_errors(outsider, suite_contract, admin):
    with pytest.raises(ContractRevertError) as caught:
        outsider.call(suite_contract("UPOS", outsider).functions.transfer(admin.address, 5))
    assert caught.value.error_name == "ERC20InsufficientBalance"
    assert caught.value.args == {"sender": outsider.address, "balance": 0, "needed": 5}


def test_twenty_threads_transact_concurrently_with_consecutive_nonces(admin, upos, w3):
    recipients = [Account.create().address for _ in range(20)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        receipts = list(pool.map(lambda i: admin.transact(upos.functions.mint(recipients[i], i + 1)), range(20)))
    assert all(r["status"] == 1 for r in receipts)
    nonces = sorted(w3.eth.get_transaction(r["transactionHash"])["nonce"] for r in receipts)
    assert nonces == list(range(nonces[0], nonces[0] + 20))
    assert [admin.call(upos.functions.balanceOf(r)) for r in recipients] == list(range(1, 21))


def send_behind_the_back(w3, account, upos, count: int = 5) -> int:
    """Sends `count` transactions for `account` without its ChainClient; returns the last nonce used.
    More than one, so that merely skipping the refused nonce (without a resync) would not catch up."""
    for _ in range(count):
        nonce = w3.eth.get_transaction_count(account.address, "pending")
        tx = upos.functions.approve(account.address, 1).build_transaction(
            {"from": account.address, "nonce": nonce, "gas": 100_000, "chainId": 31337}
        )
        w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction))
    return nonce


def test_transact_recovers_after_nonce_too_low(w3, dev_accounts, suite_contract):
    account = dev_accounts[6]
    client = ChainClient(w3, account, nonce_retries=2)
    upos = suite_contract("UPOS", client)
    client.transact(upos.functions.approve(account.address, 2))  # the manager now counts nonces itself
    last_taken = send_behind_the_back(w3, account, upos)
    receipt = client.transact(upos.functions.approve(account.address, 3))
    assert receipt["status"] == 1
    assert w3.eth.get_transaction(receipt["transactionHash"])["nonce"] == last_taken + 1


def test_send_raw_of_a_taken_nonce_raises_and_resyncs(w3, dev_accounts, suite_contract):
    account = dev_accounts[7]
    client = ChainClient(w3, account)
    upos = suite_contract("UPOS", client)
    stale = client.sign(client.build(upos.functions.approve(account.address, 4)))
    last_taken = send_behind_the_back(w3, account, upos)
    with pytest.raises(NonceConflictError, match="nonce already used"):
        client.send_raw(stale)
    fresh = client.build(upos.functions.approve(account.address, 5))
    assert fresh["nonce"] == last_taken + 1 == w3.eth.get_transaction_count(account.address, "pending")


def test_sending_the_same_signed_transaction_again_returns_its_hash(admin, upos, w3):
    signed = admin.sign(admin.build(upos.functions.mint(admin.address, 1)))
    first = admin.send_raw(signed)
    admin.wait(first)
    before = w3.eth.block_number
    assert admin.send_raw(signed) == first  # already mined: recognised, not an error
    assert w3.eth.block_number == before


def test_refused_transaction_releases_its_nonce(w3, suite_contract):
    broke = ChainClient(w3, Account.create())  # no ether for gas
    upos = suite_contract("UPOS", broke)
    with pytest.raises(TransactionRejectedError) as caught:
        broke.transact(upos.functions.approve(broke.address, 1))
    assert "insufficient funds" in str(caught.value).lower() and "\n" not in str(caught.value)
    assert broke.nonces.reserve() == 0  # handed out again, no gap left behind


def test_network_client_signs_as_the_role_account(anvil, dev_accounts, monkeypatch):
    monkeypatch.setenv("KWX_LOCAL_RPC_URL", anvil.rpc_url)
    scorer = get_network("local").client("SCORER")
    assert (scorer.address, scorer.chain_id) == (dev_accounts[3].address, 31337)


def test_waiting_for_a_receipt_backs_off_then_times_out(admin, monkeypatch):
    lookups = []
    real_lookup = admin.w3.eth.get_transaction_receipt

    def counted(tx_hash):
        lookups.append(time.monotonic())
        return real_lookup(tx_hash)

    monkeypatch.setattr(admin.w3.eth, "get_transaction_receipt", counted)
    started = time.monotonic()
    with pytest.raises(TransactionTimeoutError, match="no receipt for 0x11"):
        admin.wait(bytes([0x11]) * 32, timeout=1.0)
    assert 1.0 <= time.monotonic() - started < 1.5
    gaps = [b - a for a, b in zip(lookups, lookups[1:])]
    assert gaps[0] < 0.05 and gaps[-2] > 0.1  # quick first polls for a local node, then fewer
    assert len(lookups) < 15
