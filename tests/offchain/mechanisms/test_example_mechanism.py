"""A mechanism built only from docs/adding-a-mechanism.md (example_mechanism/: a contract accepting one value
per slot, a worker, a reproduce command) is deployed, run and reported through its descriptor alone."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import solcx
from typer.testing import CliRunner

from offchain.chain import ChainClient, ContractRevertError, get_network, project_root
from offchain.mechanisms import MECHANISMS, reproductions, suite, workers
from offchain.scenarios.harness import open_scenario_chain
from offchain.workers import run_worker

import example_mechanism
from example_mechanism.workers import EXAMPLE_RESULTS

pytestmark = pytest.mark.chain

EXAMPLE = example_mechanism.MECHANISM
WITH_EXAMPLE = (*MECHANISMS, EXAMPLE)


@pytest.fixture(scope="module", autouse=True)
def build_with_example(tmp_path_factory):
    """The project's build folder plus ExampleResults, compiled by the solc shim the way brownie compiles
    contracts/ (same compiler settings); KWX_BUILD_DIR points every ChainClient at it."""
    root = project_root()
    build = tmp_path_factory.mktemp("build")
    for folder in ("contracts", "interfaces"):
        shutil.copytree(root / "build" / folder, build / folder)
    source = Path(example_mechanism.__file__).with_name("ExampleResults.sol")
    output = solcx.compile_standard(
        {
            "language": "Solidity",
            "sources": {"ExampleResults.sol": {"content": source.read_text()}},
            "settings": {
                "remappings": ["@openzeppelin=node_modules/@openzeppelin"],
                "evmVersion": "cancun",
                "optimizer": {"enabled": True, "runs": 200},
                "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}},
            },
        },
        solc_binary=root / "toolchain" / "solcx" / "solc-v0.8.28", base_path=str(root), allow_paths=[str(root)],
    )
    compiled = output["contracts"]["ExampleResults.sol"]["ExampleResults"]
    (build / "contracts" / "ExampleResults.json").write_text(
        json.dumps({"abi": compiled["abi"], "bytecode": compiled["evm"]["bytecode"]["object"]}))
    previous = os.environ.get("KWX_BUILD_DIR")
    os.environ["KWX_BUILD_DIR"] = str(build)
    yield build
    if previous is None:
        os.environ.pop("KWX_BUILD_DIR")
    else:
        os.environ["KWX_BUILD_DIR"] = previous


def test_the_descriptor_adds_its_group_worker_and_command_to_the_registries():
    added = [step for step in suite(WITH_EXAMPLE) if step not in suite()]
    assert added == list(EXAMPLE.steps()) and [s.contract for s in added] == ["ExampleResults"]
    assert workers(WITH_EXAMPLE)["example-results"] is EXAMPLE_RESULTS
    assert "example-results" not in workers()
    assert reproductions(WITH_EXAMPLE)["example"].load() is example_mechanism.command.reproduce_example


def test_deployed_with_the_suite_and_run_as_kwx_worker_runs_it(tmp_path):
    with open_scenario_chain(tmp_path) as chain:
        manifest = chain.deploy(suite(WITH_EXAMPLE))
        assert "ExampleResults" in manifest.contracts and "EnergyOrderBook" in manifest.contracts

        def run() -> object:
            return run_worker(EXAMPLE_RESULTS, rpc_url=chain.anvil.rpc_url, manifest_path=chain.manifest_file,
                              state_dir=tmp_path / "workers", once=True, through_slot=4, seed=2,
                              account=get_network("local").account("SCORER"), log_level="WARNING")

        first = run()
        assert first.accepted == 4
        assert [chain.call("ExampleResults", "resultOf", s) for s in range(1, 5)] == [
            example_mechanism.plan.slot_value(s, 2) for s in range(1, 5)]
        assert run().accepted == 0  # every key accepted once: a second run submits nothing
        outsider = ChainClient(chain.w3, chain.participants(5, 1)[0].account)
        with pytest.raises(ContractRevertError) as refused:
            chain.send(outsider, "ExampleResults", "submitResult", 9, 1)
        assert refused.value.error_name == "AccessControlUnauthorizedAccount"
        with pytest.raises(ContractRevertError) as too_large:
            chain.send(chain.scorer, "ExampleResults", "submitResult", 9, 1_001)
        assert too_large.value.error_name == "ValueTooLarge"


def test_kwx_reproduce_reports_it_and_its_chain_run_equals_the_model(tmp_path):
    from offchain.cli import build_app

    app = build_app(WITH_EXAMPLE)
    result = CliRunner().invoke(app, ["reproduce", "example", "--chain", "--slots", "3", "--seed", "1",
                                      "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    report = (tmp_path / "example.md").read_text()
    assert "Chain equals model: yes" in report
    for slot in (1, 2, 3):
        value = example_mechanism.plan.slot_value(slot, 1)
        assert f"| {slot} | {value} | {value} |" in report
    bad = CliRunner().invoke(app, ["reproduce", "example", "--slots", "0", "--out", str(tmp_path)])
    assert bad.exit_code == 1 and "--slots must be 1..1000" in bad.output
