"""The example's pure pipeline: a slot's value from the slot number and a seed."""

from __future__ import annotations


def slot_value(slot: int, seed: int) -> int:
    """A deterministic value in [0, 1000) for `slot` under `seed`."""
    return (slot * 7_919 + seed * 104_729) % 1_000
