"""Deploying the suite: order, role grants, the manifest and its reuse rule, the cost plan."""

from __future__ import annotations

import json

import pytest

from offchain.chain import (
    ChainClient,
    ChainIdMismatchError,
    ContractRef,
    Deploy,
    EmbeddedAnvil,
    KwxChainError,
    ManifestMissingError,
    connect,
    deploy_suite,
    get_network,
    load_manifest,
    manifest_path,
    plan_deployment,
    replace_group,
    role_id,
)
from offchain.mechanisms import SUITE
from offchain.mechanisms.consensus import ConsensusTerms, consensus_steps

pytestmark = pytest.mark.chain

SUITE_CONTRACTS = [
    "ParticipantRegistry", "UPOS", "EPOS", "EnergyCredit", "EnergyOrderBook",
    "ProofScoreRegistry", "Staking", "MinerSelection", "MiningRewardEscrow",
    "EVExchange", "PeriodMatching", "FogModelRegistry", "V2VSettlement", "PoSocScores", "V2VModelRegistry",
    "HourlyEnergyOrderBook", "PenaltySchedule", "RecommendationBoard",
    "AdbevBook", "BatteryWindows", "BenefitConsensus", "BenefitSettlement",
]
#: The suite's own second instances (Deploy(name, artifact=...)).
SUITE_ARTIFACTS = {"V2VModelRegistry": "FogModelRegistry", "HourlyEnergyOrderBook": "EnergyOrderBook",
                   "AdbevBook": "EnergyOrderBook"}
#: Suite contracts with no role check (BenefitSettlement pays a finalised winning block to whoever sends it).
UNGATED = {"BenefitSettlement"}
CONTRACT_ROLES = {"EnergyOrderBook": ["MARKET"], "Staking": ["STAKING"], "PeriodMatching": ["MARKET"],
                  "HourlyEnergyOrderBook": ["MARKET"], "AdbevBook": ["MARKET"]}


def rehearsal_client(anvil: EmbeddedAnvil) -> ChainClient:
    network = get_network("fuji-rehearsal")
    return ChainClient(connect(anvil.rpc_url, expected_chain_id=network.chain_id), network.account())


@pytest.fixture
def rehearsal():
    """A fresh Anvil with Fuji's chain id and a client for the deployer (account 0)."""
    with EmbeddedAnvil(chain_id=43113) as anvil:
        yield rehearsal_client(anvil)


def test_rehearsal_deploys_in_order_and_the_second_run_reuses_the_manifest(rehearsal, tmp_path):
    network = get_network("fuji-rehearsal")
    manifest = deploy_suite(rehearsal, network, manifest_dir=tmp_path, suite=SUITE)
    w3 = rehearsal.w3

    written = json.loads((tmp_path / "fuji-rehearsal.json").read_text())
    assert list(written["contracts"]) == SUITE_CONTRACTS
    assert (written["network"], written["chain_id"], written["deployer"]) == ("fuji-rehearsal", 43113, rehearsal.address)
    assert len(written["git_commit"]) >= 40 and written["deploy_block"] == 1
    assert all(w3.eth.get_code(address) for address in written["contracts"].values())
    # the peak-control workers' role goes to the SCORER account (offchain/mechanisms/peak_control/terms.py)
    assert written["roles"] == network.role_addresses() | {"PAR_CONTROL": network.role_addresses()["SCORER"]}
    assert written["contract_roles"] == CONTRACT_ROLES
    registry = rehearsal.contract("ParticipantRegistry", manifest.address("ParticipantRegistry"))
    assert all(rehearsal.call(registry.functions.hasRole(role_id(r), a)) for r, a in written["roles"].items())
    assert all(rehearsal.call(registry.functions.hasRole(role_id(r), manifest.address(name)))
               for name, roles in written["contract_roles"].items() for r in roles)
    for name in [n for n in SUITE_CONTRACTS[1:] if n not in UNGATED]:  # each wired to this registry
        assert rehearsal.call(manifest.contract(rehearsal, name).functions.registry()) == registry.address
    staking = rehearsal.contract("Staking", manifest.address("Staking"))  # the suite's wiring call
    assert rehearsal.call(staking.functions.minerSelection()) == manifest.address("MinerSelection")
    # every contract's ABI beside its address: a client without this project calls it from the manifest alone
    assert list(written["abis"]) == SUITE_CONTRACTS
    by_manifest = w3.eth.contract(address=written["contracts"]["EnergyOrderBook"], abi=written["abis"]["EnergyOrderBook"])
    assert by_manifest.functions.nextOrderId().call() == 1

    block = w3.eth.block_number
    again = deploy_suite(rehearsal, network, manifest_dir=tmp_path, suite=SUITE)
    assert w3.eth.block_number == block  # nothing sent
    assert again.contracts == manifest.contracts and again.deploy_block == manifest.deploy_block
    assert json.loads((tmp_path / "fuji-rehearsal.json").read_text()) == written


def test_manifest_of_a_chain_that_is_gone_is_not_reused(tmp_path):
    network = get_network("fuji-rehearsal")
    with EmbeddedAnvil(chain_id=43113) as first:
        deploy_suite(rehearsal_client(first), network, manifest_dir=tmp_path, suite=SUITE)
    with EmbeddedAnvil(chain_id=43113) as restarted:  # same chain id, empty state
        client = rehearsal_client(restarted)
        manifest = deploy_suite(client, network, manifest_dir=tmp_path, suite=SUITE)
        assert client.w3.eth.block_number >= len(SUITE_CONTRACTS)
        assert all(client.w3.eth.get_code(a) for a in manifest.contracts.values())


def test_recompiled_contract_means_a_fresh_deployment(rehearsal, tmp_path):
    network = get_network("fuji-rehearsal")
    first = deploy_suite(rehearsal, network, manifest_dir=tmp_path, suite=SUITE)
    path = manifest_path(network, tmp_path)
    stale = json.loads(path.read_text())
    stale["bytecode_sha256"]["UPOS"] = "0" * 64  # as if UPOS had changed since it was deployed
    path.write_text(json.dumps(stale))
    second = deploy_suite(rehearsal, network, manifest_dir=tmp_path, suite=SUITE)
    assert set(second.contracts.values()).isdisjoint(first.contracts.values())
    assert load_manifest(network, tmp_path).contracts == second.contracts


def test_a_revoked_grant_is_restored_without_redeploying(rehearsal, tmp_path):
    network = get_network("fuji-rehearsal")
    manifest = deploy_suite(rehearsal, network, manifest_dir=tmp_path, suite=SUITE)
    registry = rehearsal.contract("ParticipantRegistry", manifest.address("ParticipantRegistry"))
    meter = manifest.roles["METER"]
    rehearsal.transact(registry.functions.revokeRole(role_id("METER"), meter))
    block = rehearsal.w3.eth.block_number
    again = deploy_suite(rehearsal, network, manifest_dir=tmp_path, suite=SUITE)
    assert again.contracts == manifest.contracts
    assert rehearsal.w3.eth.block_number == block + 1  # one transaction: the grant
    assert rehearsal.call(registry.functions.hasRole(role_id("METER"), meter))


def test_roles_can_be_given_explicitly(rehearsal, tmp_path, dev_accounts):
    scorer = dev_accounts[7].address
    manifest = deploy_suite(rehearsal, get_network("fuji-rehearsal"), manifest_dir=tmp_path, roles={"SCORER": scorer}, suite=SUITE)
    registry = rehearsal.contract("ParticipantRegistry", manifest.address("ParticipantRegistry"))
    assert manifest.roles["SCORER"] == scorer
    assert rehearsal.call(registry.functions.hasRole(role_id("SCORER"), scorer))
    assert not rehearsal.call(registry.functions.hasRole(role_id("SCORER"), dev_accounts[3].address))


def test_deploying_a_network_to_another_chain_is_refused(admin, tmp_path, w3):
    block = w3.eth.block_number
    with pytest.raises(ChainIdMismatchError, match="fuji-rehearsal is chain 43113"):
        deploy_suite(admin, get_network("fuji-rehearsal"), manifest_dir=tmp_path, suite=SUITE)
    assert w3.eth.block_number == block and not any(tmp_path.iterdir())


def test_missing_or_corrupt_manifest(tmp_path):
    with pytest.raises(ManifestMissingError, match="run `kwx deploy --network fuji`"):
        load_manifest("fuji", tmp_path)
    (tmp_path / "local.json").write_text("{not json")
    with pytest.raises(KwxChainError, match="is not a deployment manifest"):
        load_manifest("local", tmp_path)


def test_plan_measures_gas_without_sending_and_matches_a_real_deployment(rehearsal, tmp_path):
    w3 = rehearsal.w3
    plan = plan_deployment(rehearsal, suite=SUITE)
    assert w3.eth.block_number == 0  # planning sent nothing to the chain asked about
    assert [label for label, _ in plan.steps] == [
        *SUITE_CONTRACTS[:5], "grant MARKET to EnergyOrderBook",
        "ProofScoreRegistry", "Staking", "grant STAKING to Staking", "MinerSelection", "Staking.setMinerSelection",
        "MiningRewardEscrow", "EVExchange", "PeriodMatching", "grant MARKET to PeriodMatching", "FogModelRegistry",
        "V2VSettlement", "PoSocScores", "V2VSettlement.setAggregatorDraw", "V2VModelRegistry",
        "HourlyEnergyOrderBook", "grant MARKET to HourlyEnergyOrderBook", "PenaltySchedule",
        "HourlyEnergyOrderBook.setPremiumSource", "RecommendationBoard", "grant PAR_CONTROL", "AdbevBook", "grant MARKET to AdbevBook", "BatteryWindows", "AdbevBook.setOrderGate",
        "BenefitConsensus", "BenefitSettlement",
        "grant OPERATOR", "grant METER", "grant SCORER",
    ]
    assert all(gas > 21_000 for _, gas in plan.steps)
    base_fee = w3.eth.get_block("latest")["baseFeePerGas"]
    assert plan.price_per_gas == base_fee + w3.eth.max_priority_fee
    assert plan.total_cost_wei == plan.total_gas * plan.price_per_gas
    assert plan.max_cost_wei > plan.total_cost_wei

    deploy_suite(rehearsal, get_network("fuji-rehearsal"), manifest_dir=tmp_path, suite=SUITE)
    spent = sum(w3.eth.get_block(n)["gasUsed"] for n in range(1, w3.eth.block_number + 1))
    assert abs(spent - plan.total_gas) <= 0.01 * plan.total_gas



def test_a_group_under_other_terms_replaces_the_default_group():
    terms = ConsensusTerms(delta_bps=500)
    suite = replace_group(SUITE, consensus_steps(terms))
    labels = [step.label for step in suite]
    assert len(suite) == len(SUITE)
    assert labels.count("MiningRewardEscrow") == labels.count("grant STAKING to Staking") == 1
    assert labels.count("Staking.setMinerSelection") == 1
    escrow = next(s for s in suite if isinstance(s, Deploy) and s.contract == "MiningRewardEscrow")
    assert escrow.args[-1] == 500
    assert labels.index("MinerSelection") < labels.index("Staking.setMinerSelection") < labels.index("MiningRewardEscrow")
    untouched = [s for s in SUITE if s.touches not in {"ProofScoreRegistry", "Staking", "MinerSelection", "MiningRewardEscrow"}]
    assert list(suite[: len(untouched)]) == untouched  # the other groups keep their order


# --- fault 5: a deployment killed midway resumes ---------------------------------------------------------------


class _Killed(BaseException):
    """Stands for a killed process (not an Exception, so nothing catches it)."""


@pytest.mark.parametrize("kill_at", [1, 6, 12])
def test_deploy_killed_midway_resumes_from_the_last_confirmed_step(tmp_path, kill_at):
    """Fault 5: the rerun of a deployment killed while waiting for its `kill_at`-th receipt (that transaction is
    sent) deploys nothing twice: the recorded contracts keep their addresses and every suite step is paid once."""
    from offchain.chain import EmbeddedAnvil, accounts_from_mnemonic, connect
    from offchain.chain.deploy import progress_path

    network = get_network("local")
    with EmbeddedAnvil(chain_id=31337) as node:
        w3 = connect(node.rpc_url)
        client = ChainClient(w3, accounts_from_mnemonic(count=1)[0])
        real_wait, waits = client.wait, []

        def wait_then_die(tx_hash, **kwargs):
            waits.append(tx_hash)
            if len(waits) == kill_at:
                raise _Killed
            return real_wait(tx_hash, **kwargs)

        client.wait = wait_then_die
        with pytest.raises(_Killed):
            deploy_suite(client, network, manifest_dir=tmp_path, suite=SUITE)
        recorded = json.loads(progress_path(network, tmp_path).read_text())
        assert len(recorded["done"]) == kill_at - 1 and recorded["pending"] is not None

        rerun = ChainClient(w3, accounts_from_mnemonic(count=1)[0])  # a new process: a new nonce manager
        manifest = deploy_suite(rerun, network, manifest_dir=tmp_path, suite=SUITE)
        with EmbeddedAnvil(chain_id=31337) as other:
            reference = ChainClient(connect(other.rpc_url), accounts_from_mnemonic(count=1)[0])
            deploy_suite(reference, network, manifest_dir=tmp_path / "reference", suite=SUITE)
            # Both runs together sent exactly the transactions of one uninterrupted deployment.
            assert w3.eth.get_transaction_count(client.address) == reference.w3.eth.get_transaction_count(reference.address)
        assert all(manifest.contracts[name] == address for name, address in recorded["contracts"].items())
        assert all(w3.eth.get_code(address) for address in manifest.contracts.values())
        assert not progress_path(network, tmp_path).exists()


def test_deploy_progress_of_a_reset_chain_is_not_resumed(tmp_path):
    from offchain.chain import EmbeddedAnvil, accounts_from_mnemonic, connect
    from offchain.chain.deploy import progress_path

    network = get_network("local")
    stale = {"chain_id": 31337, "genesis": "0x" + "ab" * 32, "deployer": accounts_from_mnemonic(count=1)[0].address,
             "bytecode_sha256": {}, "done": ["Deploy ParticipantRegistry"],
             "contracts": {"ParticipantRegistry": "0x5FbDB2315678afecb367f032d93F642f64180aa3"}}
    progress_path(network, tmp_path).write_text(json.dumps(stale))
    with EmbeddedAnvil(chain_id=31337) as node:
        client = ChainClient(connect(node.rpc_url), accounts_from_mnemonic(count=1)[0])
        manifest = deploy_suite(client, network, manifest_dir=tmp_path, suite=SUITE)
        assert all(client.w3.eth.get_code(address) for address in manifest.contracts.values())


def test_a_second_instance_of_a_contract_has_its_own_name_and_the_shared_artifact(rehearsal, tmp_path):
    """Deploy(name, artifact=...): an hourly book beside the 15-minute one, a second UPOS here."""
    network = get_network("fuji-rehearsal")
    suite = (*SUITE, Deploy("SecondUPOS", (ContractRef("ParticipantRegistry"),), artifact="UPOS"))
    manifest = deploy_suite(rehearsal, network, manifest_dir=tmp_path, suite=suite)
    assert manifest.artifacts == {**SUITE_ARTIFACTS, "SecondUPOS": "UPOS"} and manifest.artifact_of("UPOS") == "UPOS"
    assert manifest.contracts["SecondUPOS"] != manifest.contracts["UPOS"]
    assert manifest.abis["SecondUPOS"] == manifest.abis["UPOS"]
    assert manifest.bytecode_sha256["SecondUPOS"] == manifest.bytecode_sha256["UPOS"]
    second = manifest.contract(rehearsal, "SecondUPOS")
    assert rehearsal.call(second.functions.registry()) == manifest.address("ParticipantRegistry")
    block = rehearsal.w3.eth.block_number
    again = deploy_suite(rehearsal, network, manifest_dir=tmp_path, suite=suite)
    assert rehearsal.w3.eth.block_number == block and again.contracts == manifest.contracts
    assert load_manifest(network, tmp_path).artifacts == {**SUITE_ARTIFACTS, "SecondUPOS": "UPOS"}
