"""Ganache 7 beside Anvil (offchain/chain/nodes.py): the same client, contracts and workers on both nodes.

The first tests run on each node with the suite deployed and assert the behaviour kwx relies on (decoded
reverts, a replayed transaction mined once, a used nonce refused, a fee below the base fee, time travel,
receipts); a node that behaves differently fails them. The runs that follow take every contract and every
worker through Ganache once, each checked against the Anvil run or the Python model: the demo (registry,
tokens, order book, surplus-score), a seed 001 slot of five prosumers (consensus contracts, the three coalition
workers), a
seed 000 window (EVExchange, PeriodMatching, fog-matching) and a FedAvg round (FogModelRegistry,
fedavg-aggregator). Contracts are driven through their public behaviour, never exact gas.
"""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
from rich.console import Console

from offchain.chain import (
    ChainClient,
    ContractRevertError,
    FeeTooLowError,
    NonceConflictError,
    accounts_from_mnemonic,
    connect,
    deploy_suite,
    get_network,
    mine_at,
    node_rules,
    prepare_batch,
    role_id,
    send_batch,
    start_node,
)
from offchain.chain.nodes import ANVIL, DEV_BALANCE_ETH, GANACHE, NODE_ENV, block_receipts
from offchain.demo import run_demo
from offchain.mechanisms import SUITE

pytestmark = pytest.mark.chain

ACCOUNTS = accounts_from_mnemonic(count=10)
ADMIN, OUTSIDER = 0, 9


@pytest.fixture(scope="module", params=["anvil", "ganache"])
def deployed(request, tmp_path_factory) -> SimpleNamespace:
    """The suite deployed on a fresh node of each kind (chain id 31337, the test accounts)."""
    with start_node(request.param, chain_id=31337) as node:
        w3 = connect(node.rpc_url, expected_chain_id=31337)
        admin, outsider = ChainClient(w3, ACCOUNTS[ADMIN]), ChainClient(w3, ACCOUNTS[OUTSIDER])
        manifest = deploy_suite(admin, get_network("local"), manifest_dir=tmp_path_factory.mktemp("deployments"),
                                suite=SUITE)
        upos = admin.contract("UPOS", manifest.address("UPOS"))
        yield SimpleNamespace(kind=request.param, node=node, w3=w3, admin=admin, outsider=outsider, upos=upos)


def test_the_node_serves_the_test_accounts_and_its_rules(deployed):
    rules = node_rules(deployed.w3)
    assert rules is {"anvil": ANVIL, "ganache": GANACHE}[deployed.kind]
    assert deployed.admin.build_dir == rules.build_dir  # Ganache: the shanghai build
    assert all(deployed.w3.eth.get_balance(a.address) > (DEV_BALANCE_ETH - 1) * 10**18 for a in ACCOUNTS)


def test_reverts_are_decoded_alike(deployed):
    mint = deployed.outsider.contract("UPOS", deployed.upos.address).functions.mint(deployed.outsider.address, 1)
    expected = {"account": deployed.outsider.address, "neededRole": role_id("ADMIN")}
    for attempt in (lambda: deployed.outsider.estimate_gas(mint), lambda: deployed.outsider.call(mint),
                    lambda: deployed.outsider.transact(mint, gas=200_000)):
        with pytest.raises(ContractRevertError) as caught:
            attempt()
        assert (caught.value.error_name, caught.value.args) == ("AccessControlUnauthorizedAccount", expected)
    (estimated,) = prepare_batch([(deployed.outsider, mint)])
    assert isinstance(estimated, ContractRevertError)
    assert (estimated.error_name, estimated.args) == ("AccessControlUnauthorizedAccount", expected)


def test_a_replayed_transaction_is_mined_once(deployed):
    admin, upos = deployed.admin, deployed.upos
    holder = ACCOUNTS[5].address
    before = admin.call(upos.functions.balanceOf(holder))
    signed = admin.sign(admin.build(upos.functions.mint(holder, 7)))
    tx_hash = admin.send_raw(signed)
    admin.wait(tx_hash)
    count = deployed.w3.eth.get_transaction_count(admin.address)
    assert admin.send_raw(signed) == tx_hash  # Ganache would execute it again if kwx sent it
    assert send_batch([(admin, signed)]) == [tx_hash]
    assert deployed.w3.eth.get_transaction_count(admin.address) == count
    assert admin.call(upos.functions.balanceOf(holder)) == before + 7


def test_a_used_nonce_is_a_conflict_and_changes_nothing(deployed):
    admin, upos = deployed.admin, deployed.upos
    admin.transact(upos.functions.mint(ACCOUNTS[6].address, 1))
    used = deployed.w3.eth.get_transaction_count(admin.address) - 1
    other = admin.sign({"to": upos.address, "data": upos.functions.mint(ACCOUNTS[6].address, 99)._encode_transaction_data(),
                        "value": 0, "gas": 100_000, "chainId": admin.chain_id, "nonce": used, **admin.fees()})
    supply = admin.call(upos.functions.totalSupply())
    with pytest.raises(NonceConflictError):
        admin.send_raw(other)
    (refused,) = send_batch([(admin, other)])
    assert isinstance(refused, NonceConflictError)
    assert admin.call(upos.functions.totalSupply()) == supply


def test_a_fee_below_the_base_fee_is_fee_too_low(deployed):
    admin = deployed.admin
    tx = {"to": ACCOUNTS[7].address, "value": 1, "gas": 21_000, "chainId": admin.chain_id,
          "nonce": deployed.w3.eth.get_transaction_count(admin.address), "maxFeePerGas": 1, "maxPriorityFeePerGas": 1}
    with pytest.raises(FeeTooLowError):
        admin.send_raw(admin.sign(tx))


def test_time_travel_and_block_receipts(deployed):
    w3, admin = deployed.w3, deployed.admin
    target = w3.eth.get_block("latest")["timestamp"] + 3_600
    mine_at(w3, target)
    assert w3.eth.get_block("latest")["timestamp"] == target
    receipt = admin.transact(deployed.upos.functions.mint(ACCOUNTS[8].address, 1))
    block = w3.eth.get_block(receipt["blockNumber"], full_transactions=True)
    assert block["timestamp"] >= target  # later blocks follow the clock from there, never back
    (receipts,) = block_receipts(w3, [block])
    assert [(r["transactionHash"], r["gasUsed"], r["status"]) for r in receipts] == [
        (receipt["transactionHash"], receipt["gasUsed"], 1)]


# --- every contract and worker once on Ganache -----------------------------------------------------------------


def test_the_demo_ends_with_the_same_holdings_on_both_nodes():
    quiet = Console(file=io.StringIO())  # the report is not under test here
    assert run_demo(quiet, node="ganache") == run_demo(quiet, node="anvil")


def test_a_seed001_slot_on_ganache_matches_the_python_run(monkeypatch, tmp_path):
    from offchain.mechanisms.coalition_market.chain_run import run_chain

    monkeypatch.setenv(NODE_ENV, "ganache")
    run = run_chain(tmp_path, n=5, slots=1, missed_slots=(), dodged_slots=(), progress=False)  # n=10 takes 2.4x
    assert run.checks and run.all_match, [c for c in run.checks if not c.ok]


def test_a_seed000_window_on_ganache_gives_the_model_figures(monkeypatch):
    from offchain.mechanisms.fog_ems.chain_run import compare_with_model, run_day_on_chain

    monkeypatch.setenv(NODE_ENV, "ganache")
    result = run_day_on_chain(evs=1, method="hungarian", window=(600, 2), progress=False)
    comparison = compare_with_model(result)
    assert comparison["differences"] == [] and len(result.exchange) > 0


