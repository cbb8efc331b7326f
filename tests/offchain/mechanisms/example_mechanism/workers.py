"""The example's worker "example-results": one value per slot, slots 1..through_slot."""

from __future__ import annotations

import sqlite3
from typing import Any

from web3 import Web3
from web3.contract import Contract

from offchain.chain import ChainClient, Manifest
from offchain.workers import ChainEvent, WorkerOption, WorkerSpec

from .plan import slot_value

MECHANISM = bytes(Web3.keccak(text="example.results"))


class ExampleLogic:
    """Reads no events: a slot is ready once it is at most `through_slot`."""

    name = "example-results"
    mechanism = MECHANISM
    schema = ""

    def __init__(self, results: Contract, *, through_slot: int = 3, seed: int = 0) -> None:
        self.results, self.through_slot, self.seed = results, through_slot, seed

    def identity(self) -> dict[str, str]:
        return {"example_results": self.results.address}

    def fetch_events(self, from_block: int, to_block: int) -> list[ChainEvent]:
        return []

    def apply(self, db: sqlite3.Connection, event: ChainEvent) -> None:
        raise AssertionError(f"{self.name} reads no events, got {event.name}")

    def ready_slots(self, db: sqlite3.Connection) -> range:
        return range(1, self.through_slot + 1)

    def compute(self, db: sqlite3.Connection, slot: int) -> dict[str, Any]:
        return {"value": slot_value(slot, self.seed)}

    def call_for(self, slot: int, payload: dict[str, Any]) -> Any:
        return self.results.functions.submitResult(slot, payload["value"])


def make_example_logic(client: ChainClient, manifest: Manifest, **options: int) -> ExampleLogic:
    """WorkerSpec factory over the deployment's ExampleResults."""
    return ExampleLogic(client.contract("ExampleResults", manifest.address("ExampleResults")), **options)


EXAMPLE_RESULTS = WorkerSpec(
    name="example-results",
    summary="the example mechanism's value per slot",
    results_contract="ExampleResults",
    make_logic=make_example_logic,
    options={
        "through_slot": WorkerOption(int, "last slot to submit, >= 1 (default 3)", minimum=1),
        "seed": WorkerOption(int, "seed of the values, >= 0 (default 0)", minimum=0),
    },
)
