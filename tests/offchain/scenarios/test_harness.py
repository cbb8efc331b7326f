"""The scenario harness (offchain.scenarios.harness) and the Markdown writer (offchain.scenarios.markdown).

One embedded chain (module scope) with the whole suite deployed: the gas ledger is checked against the
blocks themselves (every transaction exactly once, totals equal to the blocks' gasUsed), a worker is opened
from its spec, and the Markdown writer escapes what would break a table."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from web3 import Web3

from offchain.chain import ParticipantKind
from offchain.mechanisms import SUITE
from offchain.scenarios.harness import GasTotal, ScenarioChain, gas_by, open_scenario_chain
from offchain.scenarios.markdown import MISSING, cell, frame_table, table
from offchain.units import UPOS_BASE
from offchain.workers import SURPLUS_SCORE, FaultInjector, Status
from offchain.workers.surplus_score import MECHANISM as SURPLUS_MECHANISM


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> ScenarioChain:
    with open_scenario_chain(tmp_path_factory.mktemp("harness"), accounts=10) as scenario:
        scenario.deploy(SUITE)
        yield scenario


def block_gas(chain: ScenarioChain, first: int, last: int) -> GasTotal:
    """Transactions and gasUsed of blocks first..last as the blocks themselves state them."""
    blocks = [chain.w3.eth.get_block(n) for n in range(first, last + 1)]
    return GasTotal(sum(len(b["transactions"]) for b in blocks), sum(b["gasUsed"] for b in blocks))


@pytest.mark.chain
def test_ledger_attributes_every_transaction_once_and_its_totals_are_the_blocks_gas(chain: ScenarioChain) -> None:
    ledger = chain.ledger
    prosumers = chain.participants(10, 2)
    starts = {}

    def mark(phase: str, slot: int | None = None) -> None:
        ledger.mark(phase, slot)
        starts[(phase, slot)] = chain.w3.eth.block_number + 1

    mark("period", 1)
    for client in prosumers:
        chain.send_eth(client.address, 10**18)  # accounts 10.. hold no ETH: Anvil funded 0-9
        chain.register(client, ParticipantKind.PROSUMER, x_m=100, y_m=200)
    mid_run = ledger.records()  # reading between marks must not read a block twice
    mark("period", 2)
    chain.advance_to(chain.now() + 60)  # an empty block
    mark("period", 3)
    chain.send(chain.admin, "UPOS", "mint", prosumers[0].address, UPOS_BASE)
    chain.send(prosumers[0], "UPOS", "transfer", prosumers[1].address, UPOS_BASE // 2)
    mark("claims")
    chain.send(prosumers[1], "UPOS", "transfer", prosumers[0].address, 1)
    head = chain.w3.eth.block_number

    records = ledger.records()
    first_block = records[0].block
    hashes = [Web3.to_hex(h) for n in range(first_block, head + 1) for h in chain.w3.eth.get_block(n)["transactions"]]
    assert [r.tx_hash for r in records] == hashes  # each once, in chain order
    assert records[: len(mid_run)] == mid_run
    assert ledger.total() == block_gas(chain, first_block, head)
    assert ledger.total("deploy", "setup") == block_gas(chain, first_block, starts[("period", 1)] - 1)

    marks = sorted(starts.items(), key=lambda item: item[1])
    ends = [start for _, start in marks[1:]] + [head + 1]
    for ((phase, slot), start), end in zip(marks, ends):
        assert ledger.slots(phase)[slot] == block_gas(chain, start, end - 1), (phase, slot)
    assert list(ledger.slots("period")) == [1, 2, 3]
    assert ledger.slots("period")[2] == GasTotal(0, 0)  # marked, nothing sent

    period_1 = [r for r in records if r.slot == 1]
    assert [r.function for r in period_1] == ["ETH transfer", "ParticipantRegistry.register"] * 2
    assert {r.sender for r in period_1} == {"ADMIN", "OPERATOR"}
    transfers = [r for r in records if r.function == "UPOS.transfer"]
    assert [(r.phase, r.sender, r.account) for r in transfers] == [
        ("period", "participant", prosumers[0].address), ("claims", "participant", prosumers[1].address)]
    assert gas_by(records, "phase")["period"] == sum(t.gas for t in ledger.slots("period").values())
    deployed = [r.function for r in records if r.phase == "deploy" and r.function.startswith("deploy ")]
    assert deployed[0] == "deploy ParticipantRegistry" and "deploy ?" not in deployed
    assert len(deployed) == sum(1 for name in chain.manifest.contracts)


@pytest.mark.chain
def test_a_worker_opened_from_its_spec_submits_as_the_scorer(chain: ScenarioChain) -> None:
    prosumer = chain.participants(12, 1)[0]
    chain.send_eth(prosumer.address, 10**18)
    chain.register(prosumer, ParticipantKind.PROSUMER)
    chain.send(chain.meter, "EnergyCredit", "attestSurplus", prosumer.address, 7, 1_500)
    with chain.open_worker(SURPLUS_SCORE, options={"through_period": 7}) as worker:
        assert Path(worker.state.path) == chain.work_dir / "surplus-score.sqlite"
        summary = worker.run_once()
        assert (summary.results, summary.accepted) == (1, 1)
        entry = worker.state.entry(SURPLUS_MECHANISM, 7)
        assert entry.status is Status.ACCEPTED
    assert chain.w3.eth.get_transaction(entry.tx_hash)["from"] == chain.scorer.address
    assert chain.call("EPOS", "balanceOf", prosumer.address) > 0
    # no crash injection unless asked: an in-process worker never reads KWX_WORKER_CRASH_AT
    with chain.open_worker(SURPLUS_SCORE) as reopened:
        assert reopened.faults == FaultInjector()
        assert reopened.run_once().results == 0  # resumed from its state file: period 7 is done


def test_markdown_cells_escape_pipes_and_show_nan_as_a_dash() -> None:
    assert cell("a|b") == "a\\|b"
    assert cell("two\nlines") == "two lines"
    assert cell(float("nan")) == cell(np.float64("nan")) == MISSING == "–"
    assert cell(1234.5678, digits=1, thousands=True) == "1,234.6"
    assert cell(np.float32(0.5), digits=3) == "0.500"
    assert cell(12_345) == "12345"  # integers as they are


def test_markdown_table_and_frame_table() -> None:
    text = table(["name", "a|b"], [["x|y", math.nan], ["z", 2.0]], digits=1)
    assert text.splitlines() == ["| name | a\\|b |", "|---|---|", "| x\\|y | – |", "| z | 2.0 |"]
    frame = pd.DataFrame({"agent": ["L1", "R|2"], "kwh": [1234.5, float("nan")]})
    assert frame_table(frame, digits=2, thousands=True).splitlines() == [
        "| agent | kwh |", "|---|---|", "| L1 | 1,234.50 |", "| R\\|2 | – |"]
