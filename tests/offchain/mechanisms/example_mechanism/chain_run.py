"""The example through its contract: deploy, the worker submits every slot, the chain's values are read back."""

from __future__ import annotations

from pathlib import Path

from offchain.chain import replace_group
from offchain.mechanisms import SUITE
from offchain.scenarios.harness import open_scenario_chain

from .terms import ExampleTerms, example_steps
from .workers import EXAMPLE_RESULTS


def run_chain(work_dir: Path, slots: int, seed: int, terms: ExampleTerms = ExampleTerms()) -> dict[int, int]:
    """{slot: value} as ExampleResults recorded them after one run of the worker."""
    with open_scenario_chain(work_dir) as chain:
        chain.deploy(replace_group(SUITE, example_steps(terms)))
        with chain.open_worker(EXAMPLE_RESULTS, options={"through_slot": slots, "seed": seed}) as worker:
            worker.run_once()
        return {slot: chain.call("ExampleResults", "resultOf", slot) for slot in range(1, slots + 1)}
