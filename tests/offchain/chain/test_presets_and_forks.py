"""The five networks, forks and the mainnet preset, offline: refusals come before any connection, a local Anvil with
the live chain's id stands in for the remote RPC, and a fork is tested by forking a local rehearsal chain that
already holds a deployment. `kwx` runs in this process (imports paid once) except `kwx chain`, which serves in the
foreground."""

from __future__ import annotations

import io
import re
import sys
import time

import pytest
from eth_account import Account

from offchain.chain import (
    ANVIL_TEST_MNEMONIC,
    NETWORK_NAMES,
    ChainClient,
    EmbeddedAnvil,
    KwxChainError,
    account_from_mnemonic,
    connect,
    deploy_suite,
    free_port,
    get_network,
    load_manifest,
    port_open,
)
from offchain.chain.networks import local_network_for
from offchain.mechanisms import SUITE
from offchain import units
from offchain.cli import main
from test_cli import KWX_ENV, interrupt, start_kwx
from test_option_walk import assert_refused

#: The deployer of the stand-ins for Fuji and C-Chain: a funded account of the local chain, given as a "real" key.
DEPLOYER_KEY = account_from_mnemonic(ANVIL_TEST_MNEMONIC, 0).key.to_0x_hex()


@pytest.fixture(autouse=True)
def no_kwx_environment(monkeypatch):
    for variable in KWX_ENV:
        monkeypatch.delenv(variable, raising=False)


def kwx_here(args: list[str], capsys, monkeypatch, *, env: dict[str, str] | None = None,
             stdin: str = "") -> tuple[int, str, str]:
    """`kwx ARGS` in this process with `env` set and `stdin` as its input: (exit status, stdout, stderr)."""
    for key, value in (env or {}).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(sys, "argv", ["kwx", *args])
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        main()
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


# --- presets --------------------------------------------------------------------------------------------------


def test_five_networks_one_local_chain_per_chain_id():
    assert NETWORK_NAMES == ("local", "fuji-rehearsal", "fuji", "avalanche-rehearsal", "avalanche")
    avalanche, rehearsal = get_network("avalanche"), get_network("avalanche-rehearsal")
    assert (avalanche.chain_id, avalanche.local, avalanche.mainnet, avalanche.rpc_url) == (43114, False, True, None)
    assert (rehearsal.chain_id, rehearsal.local, rehearsal.mainnet) == (43114, True, False)
    assert rehearsal.rpc_url == "http://127.0.0.1:8547"
    assert not any(get_network(name).mainnet for name in NETWORK_NAMES if name != "avalanche")
    assert [local_network_for(c).name for c in (31337, 43113, 43114)] == ["local", "fuji-rehearsal",
                                                                        "avalanche-rehearsal"]
    with pytest.raises(KwxChainError, match="chain id 1 is none of the local networks"):
        local_network_for(1)


@pytest.mark.parametrize("command", [
    ("deploy", "--network", "avalanche", "--max-fee-gwei", "50"),
    ("deploy", "--network", "avalanche", "--dry-run"),
    ("deploy", "--network", "fuji", "--dry-run"),
    ("worker", "surplus-score", "--network", "avalanche", "--max-fee-gwei", "50", "--once"),
])
def test_remote_presets_refuse_without_a_key_before_any_connection(command, tmp_path, capsys, monkeypatch):
    unreachable = f"http://127.0.0.1:{free_port()}"  # a connection first would fail naming this URL instead
    monkeypatch.setenv("KWX_AVALANCHE_RPC_URL", unreachable)
    monkeypatch.setenv("KWX_FUJI_RPC_URL", unreachable)
    assert_refused([*command, "--manifest-dir", str(tmp_path)], capsys, monkeypatch, "KWX_PRIVATE_KEY")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(("command", "fragment"), [
    (("deploy", "--network", "avalanche"), "avalanche needs --max-fee-gwei"),
    (("worker", "surplus-score", "--network", "avalanche", "--once"), "avalanche needs --max-fee-gwei"),
    (("deploy", "--network", "fuji", "--confirm-mainnet", "fuji"), "--confirm-mainnet is for mainnet networks only"),
    (("deploy", "--network", "avalanche", "--max-fee-gwei", "50", "--confirm-mainnet", "fuji"),
     "--confirm-mainnet must name the network (avalanche)"),
    (("worker", "surplus-score", "--confirm-mainnet", "avalanche"), "--confirm-mainnet is for mainnet networks only"),
])
def test_mainnet_rules_refuse_before_anything(command, fragment, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("KWX_AVALANCHE_RPC_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("KWX_PRIVATE_KEY", DEPLOYER_KEY)
    assert_refused([*command, "--manifest-dir", str(tmp_path)], capsys, monkeypatch, fragment)
    assert not list(tmp_path.iterdir())


# --- dry runs and the typed confirmation, against a local stand-in -------------------------------------------


PLAN_LINE = re.compile(r"^  (.+?)\s+([\d,]+) gas  ([\d.]+) AVAX$")


@pytest.mark.chain
@pytest.mark.parametrize(("network", "chain_id"), [("fuji", 43113), ("avalanche", 43114)])
def test_dry_run_prints_every_transaction_and_sends_nothing(network, chain_id, tmp_path, capsys, monkeypatch):
    with EmbeddedAnvil(chain_id=chain_id) as stand_in:
        w3 = connect(stand_in.rpc_url)
        deployer = Account.from_key(DEPLOYER_KEY).address
        before = (w3.eth.block_number, w3.eth.get_transaction_count(deployer))
        env = {f"KWX_{network.upper()}_RPC_URL": stand_in.rpc_url, "KWX_PRIVATE_KEY": DEPLOYER_KEY}
        code, out, err = kwx_here(["deploy", "--network", network, "--dry-run", "--base-fee-gwei", "30",
                                   "--manifest-dir", str(tmp_path)], capsys, monkeypatch, env=env)
        assert code == 0, err
        price = float(re.search(r"= ([\d.]+) gwei per gas", out).group(1)) * 1e9
        assert price >= 30e9  # the given base fee plus the node's tip
        lines = [PLAN_LINE.match(line) for line in out.splitlines()]
        steps = [(m.group(1), int(m.group(2).replace(",", "")), float(m.group(3))) for m in lines if m]
        *each, (total_label, total_gas, total_avax) = steps
        assert total_label.startswith(f"total ({len(each)} transactions)") and len(each) >= len(SUITE) - 4
        assert total_gas == sum(gas for _, gas, _ in each) > 4_000_000
        assert all(avax == pytest.approx(gas * price / 1e18, abs=1e-6) for _, gas, avax in each)
        assert total_avax == pytest.approx(total_gas * price / 1e18, abs=1e-6)
        assert "the deployer's balance" in out and "Dry run: nothing was sent." in out
        assert (w3.eth.block_number, w3.eth.get_transaction_count(deployer)) == before
    assert not list(tmp_path.iterdir())


@pytest.mark.chain
def test_a_mainnet_deployment_needs_the_typed_network_name(tmp_path, capsys, monkeypatch):
    with EmbeddedAnvil(chain_id=43114) as stand_in:
        w3 = connect(stand_in.rpc_url)
        env = {"KWX_AVALANCHE_RPC_URL": stand_in.rpc_url, "KWX_PRIVATE_KEY": DEPLOYER_KEY}
        args = ["deploy", "--network", "avalanche", "--max-fee-gwei", "100", "--yes", "--manifest-dir", str(tmp_path)]
        before = w3.eth.block_number
        for typed in ("fuji\n", "yes\n", ""):  # a wrong name, a plain yes, no terminal at all
            code, _, err = kwx_here(args, capsys, monkeypatch, env=env, stdin=typed)
            assert code == 1 and "kwx: not confirmed: nothing was sent on avalanche" in err
            assert w3.eth.block_number == before
        assert not list(tmp_path.iterdir())
        code, _, err = kwx_here(args, capsys, monkeypatch, env=env, stdin="avalanche\n")
        assert code == 0, err
        assert load_manifest("avalanche", tmp_path).chain_id == 43114
        fees_paid = [w3.eth.get_transaction(tx["hash"])["maxFeePerGas"]
                     for n in range(before + 1, w3.eth.block_number + 1)
                     for tx in w3.eth.get_block(n, full_transactions=True)["transactions"]]
        assert fees_paid and max(fees_paid) <= 100 * 10**9  # the cap the user set


# --- forks ----------------------------------------------------------------------------------------------------


@pytest.mark.chain
def test_a_fork_sees_the_upstream_deployment_and_a_worker_on_it_leaves_the_upstream_unchanged(tmp_path, capsys,
                                                                                              monkeypatch):
    manifests, state = tmp_path / "deployments", tmp_path / "state"
    rehearsal = get_network("fuji-rehearsal")
    with EmbeddedAnvil(chain_id=43113) as upstream:
        w3 = connect(upstream.rpc_url, expected_chain_id=43113)
        clients = {role: ChainClient(w3, rehearsal.account(role)) for role in ("ADMIN", "OPERATOR", "METER")}
        manifest = deploy_suite(clients["ADMIN"], rehearsal, manifest_dir=manifests, suite=SUITE)
        prosumer = account_from_mnemonic(ANVIL_TEST_MNEMONIC, 4).address
        registry = clients["OPERATOR"].contract("ParticipantRegistry", manifest.address("ParticipantRegistry"))
        clients["OPERATOR"].transact(registry.functions.register(prosumer, 1, 0, 0, 0, 0, 0))
        book = clients["ADMIN"].contract("EnergyOrderBook", manifest.address("EnergyOrderBook"))
        period = clients["ADMIN"].call(book.functions.currentPeriod()) + 2
        credit = clients["METER"].contract("EnergyCredit", manifest.address("EnergyCredit"))
        clients["METER"].transact(credit.functions.attestSurplus(prosumer, period, units.kwh_to_wh(2.5)))
        epos = clients["ADMIN"].contract("EPOS", manifest.address("EPOS"))
        upstream_head = w3.eth.block_number

        port = free_port()
        fork = start_kwx("chain", "--fork-url", upstream.rpc_url, "--port", str(port))
        try:
            banner = fork.stdout.readline() + fork.stdout.readline()
            assert "chain id 43113 (network fuji-rehearsal)" in banner and f"127.0.0.1:{port}" in banner
            assert f"at its latest block ({upstream_head})" in banner and upstream.rpc_url not in banner
            env = {"KWX_REHEARSAL_RPC_URL": f"http://127.0.0.1:{port}"}
            code, out, err = kwx_here(["deploy", "--network", "fuji-rehearsal", "--manifest-dir", str(manifests)],
                                      capsys, monkeypatch, env=env)
            assert code == 0 and out.startswith("Reused"), err
            code, out, err = kwx_here(["worker", "surplus-score", "--network", "fuji-rehearsal", "--once",
                                       "--manifest-dir", str(manifests), "--state-dir", str(state),
                                       "-o", f"through_period={period}"], capsys, monkeypatch, env=env)
            assert code == 0 and "accepted=1" in out, out + err
            on_fork = ChainClient(connect(env["KWX_REHEARSAL_RPC_URL"]), rehearsal.account())
            assert on_fork.call(on_fork.contract("EPOS", epos.address).functions.balanceOf(prosumer)) > 0
            # a rehearsal of a fresh deployment on the fork, from the funded test accounts
            code, out, err = kwx_here(["deploy", "--network", "fuji-rehearsal", "--manifest-dir",
                                       str(tmp_path / "rehearsal")], capsys, monkeypatch, env=env)
            assert code == 0 and out.startswith("Deployed"), err
            assert load_manifest("fuji-rehearsal", tmp_path / "rehearsal").contracts != manifest.contracts
        finally:
            interrupt(fork)
        assert not port_open(port)
        assert w3.eth.block_number == upstream_head  # nothing went upstream
        assert clients["ADMIN"].call(epos.functions.balanceOf(prosumer)) == 0


@pytest.mark.chain
def test_fork_options_are_checked_before_a_node_starts(capsys, monkeypatch):
    with EmbeddedAnvil(chain_id=43113) as upstream:
        head = connect(upstream.rpc_url).eth.block_number
        cases = [
            (("--fork-url", upstream.rpc_url, "--fork-block", str(head + 5)), f"upstream's head {head}"),
            (("--fork-url", upstream.rpc_url, "--node", "ganache"), "forks run on Anvil"),
            (("--fork-url", upstream.rpc_url, "--network", "local"), "a fork keeps the upstream's chain id"),
            (("--fork-block", "3"), "--fork-block needs --fork-url"),
            (("--fork-url", "ftp://example"), "--fork-url must be an http(s)"),
        ]
        for args, fragment in cases:
            assert_refused(["chain", "--port", str(free_port()), *args], capsys, monkeypatch, fragment)


@pytest.mark.parametrize("args", [["demo", "--node", "geth"], ["reproduce", "--node", "geth", "seed000"],
                                  ["chain", "--node", "hardhat"]])
def test_an_unknown_node_is_one_line(args, capsys, monkeypatch):
    assert_refused(args, capsys, monkeypatch, "unknown node")


@pytest.mark.chain
def test_kwx_chain_runs_ganache_with_the_test_accounts():
    port = free_port()
    node = start_kwx("chain", "--node", "ganache", "--port", str(port))
    try:
        banner = node.stdout.readline()
        assert banner.startswith("Ganache, chain id 31337") and f"127.0.0.1:{port}" in banner
        w3 = connect(f"http://127.0.0.1:{port}", expected_chain_id=31337)
        assert w3.client_version.startswith("Ganache/v7")
        assert w3.eth.get_balance(get_network("local").account("SCORER").address) == 10_000 * 10**18
    finally:
        interrupt(node)
    deadline = time.monotonic() + 5
    while port_open(port) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not port_open(port)

