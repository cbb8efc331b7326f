"""The example's reproduction off chain: the value of every slot, as a Markdown report."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from offchain.scenarios.markdown import table

from .plan import slot_value


def run_model(slots: int, seed: int) -> dict[int, int]:
    """{slot: value} for slots 1..`slots`."""
    return {slot: slot_value(slot, seed) for slot in range(1, slots + 1)}


def write_report(out: Path, model: Mapping[int, int], chain: Mapping[int, int] | None = None) -> Path:
    """example.md under `out`: the model's values and, after a chain run, the chain's beside them."""
    rows = [(slot, value, "–" if chain is None else chain[slot]) for slot, value in model.items()]
    verdict = "" if chain is None else f"\n\nChain equals model: {'yes' if dict(chain) == dict(model) else 'NO'}\n"
    path = out / "example.md"
    path.write_text("# Example mechanism\n\n" + table(["slot", "model", "chain"], rows) + verdict + "\n")
    return path
