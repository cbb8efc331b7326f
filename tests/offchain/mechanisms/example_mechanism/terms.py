"""The example mechanism's contract group: ExampleResults and its one constructor term."""

from __future__ import annotations

from dataclasses import dataclass

from offchain.chain.steps import Deploy, Step
from offchain.chain.suites import REGISTRY


@dataclass(frozen=True)
class ExampleTerms:
    """`max_value`: the largest value a slot may carry (ExampleResults.maxValue)."""

    max_value: int = 1_000


def example_steps(terms: ExampleTerms = ExampleTerms()) -> tuple[Step, ...]:
    """ExampleResults on the foundation's registry."""
    return (Deploy("ExampleResults", (REGISTRY, terms.max_value)),)
