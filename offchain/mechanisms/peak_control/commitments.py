"""Seed 002's recommendation commitments: a Merkle tree over every participant's recommended 24-hour purchase
schedule (Wh per hour) for one day, with a proof per participant, in the form RecommendationBoard checks
(OpenZeppelin's standard tree: leaf ``keccak256(keccak256(abi.encode(day, participant, uint256[24])))``, pairs
hashed in sorted order). Pure: no chain I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from eth_utils import keccak, to_checksum_address

from offchain.algorithms.par_search import HOURS
from offchain.units import kwh_to_wh


def schedule_wh(recommended_kwh: Sequence[float] | np.ndarray) -> tuple[int, ...]:
    """A participant's 24 recommended kWh as the Wh integers committed on chain (offchain.units)."""
    values = np.asarray(recommended_kwh, dtype=float)
    if values.shape != (HOURS,):
        raise ValueError(f"a schedule has {HOURS} hourly values, got shape {values.shape}")
    return tuple(kwh_to_wh(float(v)) for v in values)


def leaf(day: int, participant: str, wh_per_hour: Sequence[int]) -> bytes:
    """The double-hashed leaf of `participant`'s schedule for `day`."""
    values = list(wh_per_hour)
    if day < 0 or any(v < 0 or v >= 2**256 for v in values):
        raise ValueError("day and hourly Wh must be uint256")
    # abi.encode(uint256, address, uint256[]): head (day, address, offset 0x60), then length and the values
    encoded = b"".join([day.to_bytes(32, "big"), bytes(12) + bytes.fromhex(participant[2:]),
                        (96).to_bytes(32, "big"), len(values).to_bytes(32, "big"),
                        *(int(v).to_bytes(32, "big") for v in values)])
    return keccak(keccak(encoded))


def _pair(a: bytes, b: bytes) -> bytes:
    return keccak(a + b) if a < b else keccak(b + a)


@dataclass(frozen=True)
class DayCommitment:
    """One day's tree: `root`, each participant's `schedules` (Wh per hour) and `proofs` (sibling hashes from
    the leaf up)."""

    day: int
    root: bytes
    schedules: Mapping[str, tuple[int, ...]]
    proofs: Mapping[str, tuple[bytes, ...]]


def commit_day(day: int, schedules: Mapping[str, Sequence[int]]) -> DayCommitment:
    """The Merkle tree of `schedules` ({participant address: 24 Wh}) for `day`. Leaves are sorted by hash; an
    odd node at a level is carried up unchanged. Needs at least one participant."""
    if not schedules:
        raise ValueError("a commitment needs at least one participant")
    keyed = {to_checksum_address(p): tuple(int(v) for v in s) for p, s in schedules.items()}
    for participant, values in keyed.items():
        if len(values) != HOURS:
            raise ValueError(f"{participant}: a schedule has {HOURS} hourly values, got {len(values)}")
    leaves = {p: leaf(day, p, s) for p, s in keyed.items()}
    level = sorted(leaves.values())
    paths: dict[bytes, list[bytes]] = {h: [] for h in level}
    members: list[list[bytes]] = [[h] for h in level]
    while len(level) > 1:
        next_level, next_members = [], []
        for i in range(0, len(level), 2):
            if i + 1 == len(level):
                next_level.append(level[i])
                next_members.append(members[i])
                continue
            for h in members[i]:
                paths[h].append(level[i + 1])
            for h in members[i + 1]:
                paths[h].append(level[i])
            next_level.append(_pair(level[i], level[i + 1]))
            next_members.append(members[i] + members[i + 1])
        level, members = next_level, next_members
    return DayCommitment(day=day, root=level[0], schedules=keyed,
                         proofs={p: tuple(paths[h]) for p, h in leaves.items()})


def verify(root: bytes, day: int, participant: str, wh_per_hour: Sequence[int], proof: Sequence[bytes]) -> bool:
    """What RecommendationBoard checks: `proof` leads from the participant's leaf to `root`."""
    node = leaf(day, participant, wh_per_hour)
    for sibling in proof:
        node = _pair(node, sibling)
    return node == root
