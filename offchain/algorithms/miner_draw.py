"""Weighted miner draw from commit-reveal randomness, and the miner penalty — seed 001, eqs 3.16, 3.24.

Everything here is integer arithmetic a contract repeats exactly:

Commit-reveal (per slot, among the participants):
    commitment = keccak256(abi.encode(bytes32 secret, address account, uint256 slot, address contract,
                                      uint256 chainid))
    A reveal (secret, account) is valid iff it hashes to the account's commitment. Binding the address
    stops one participant from copying another's commitment and reveal; binding the slot, the
    MinerSelection contract and the chain makes a commitment good for one draw only.
Combining the valid reveals into the slot seed (bytes32):
    "xor":  seed = secret_1 ^ secret_2 ^ ... (order-free, O(1) storage: acc ^= secret on each reveal)
    "hash": seed = keccak256(abi.encodePacked(secrets sorted by ascending account address))
Draw (eq. 3.16), weights = coalition scores in EPOS base units, in the submitted partition order:
    h_0 = keccak256(abi.encodePacked(seed));  h_k = keccak256(abi.encodePacked(h_{k-1}))  (k-th redraw)
    total = sum of the weights of coalitions not excluded
    r = uint256(h_k) % total
    walk the non-excluded coalitions in order, accumulating weights; the first with r < cumulative wins.
Validator = the drawn coalition's member with the highest score; ties to the lower address. A drawn
    validator without the minimum bonded self-stake at the slot's commit deadline (Staking.isEligibleAt false)
    is skipped: its coalition is excluded without a slash and the draw repeats with the next h_k.
Penalty (eq. 3.24): a validator that does not mine in its window or submits an invalid block has
    floor(stake * slash_bps / 10_000) of its locked stake burned, gets no reward, its coalition is
    excluded, and the draw is repeated with the next h_k among the rest.

Bias bounds (docs/seed001.md has the full argument):
- Modulo bias: P(index) differs from weight/total by at most total / 2**256 (totals here < 2**100).
- If at least one revealed secret is uniform and independent of the others (commitments bind before
  any reveal), both XOR and hashing give a uniform seed; the draw hashes the seed again, so XOR's
  linearity never reaches the modulo.
- Last-revealer problem: whoever reveals last sees every other secret, so knows the outcome with and
  without its own reveal and can withhold to pick the better one. With k colluding withholders a
  coalition of probability p wins with probability up to 1 - (1 - p)**(2**k). Counter-measure: a
  deposit forfeited on a missing reveal, larger than what one re-roll can be worth.
- block.prevrandao is not an alternative on Avalanche C-Chain: coreth/subnet-evm keep the header
  difficulty constant (1), so PREVRANDAO returns a constant (ava-labs/subnet-evm#909).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from eth_abi import encode
from eth_utils import keccak, to_checksum_address

BPS = 10_000  #: basis points in 1
CombineMethod = Literal["xor", "hash"]


def keccak256(data: bytes) -> bytes:
    return keccak(data)


def address_key(account: str) -> int:
    """An address as the uint160 a contract compares."""
    return int(to_checksum_address(account), 16)


@dataclass(frozen=True)
class CommitDomain:
    """What a commitment is good for: one slot of one MinerSelection contract on one chain."""

    slot: int
    contract: str
    chain_id: int


#: The domain of draws that never go on chain (reproductions, benchmarks): no contract, chain id 0.
OFFCHAIN_DOMAIN = CommitDomain(0, "0x" + "00" * 20, 0)


def commitment(secret: bytes, account: str, domain: CommitDomain) -> bytes:
    """keccak256(abi.encode(bytes32 secret, address account, uint256 slot, address contract, uint256 chainid))
    (MinerSelection.commitmentFor)."""
    if len(secret) != 32:
        raise ValueError("secret must be 32 bytes")
    return keccak256(encode(
        ["bytes32", "address", "uint256", "address", "uint256"],
        [secret, to_checksum_address(account), domain.slot, to_checksum_address(domain.contract), domain.chain_id],
    ))


def reveal_matches(commit: bytes, secret: bytes, account: str, domain: CommitDomain) -> bool:
    return commitment(secret, account, domain) == commit


def combine_reveals(reveals: Mapping[str, bytes], method: CombineMethod = "xor") -> bytes:
    """Slot seed from the valid reveals (account -> 32-byte secret)."""
    if not reveals:
        raise ValueError("no reveals to combine")
    if any(len(s) != 32 for s in reveals.values()):
        raise ValueError("secrets must be 32 bytes")
    if method == "xor":
        acc = 0
        for secret in reveals.values():
            acc ^= int.from_bytes(secret, "big")
        return acc.to_bytes(32, "big")
    if method == "hash":
        ordered = sorted(reveals.items(), key=lambda item: address_key(item[0]))
        return keccak256(b"".join(secret for _, secret in ordered))
    raise ValueError(f"unknown combine method {method!r}")


class NoEligibleCoalition(ValueError):
    """Every coalition is excluded or has zero weight."""


def draw_hash(seed: bytes, attempt: int = 0) -> bytes:
    """h_attempt: keccak256(seed), then hashed again once per redraw."""
    h = keccak256(seed)
    for _ in range(attempt):
        h = keccak256(h)
    return h


def draw(seed: bytes, weights: Sequence[int], excluded: Collection[int] = (), attempt: int = 0) -> int:
    """Index of the drawn coalition: r = uint256(h_attempt) % total, first cumulative weight above r."""
    if min(weights, default=0) < 0:
        raise ValueError("weights must be >= 0")
    eligible = [(i, w) for i, w in enumerate(weights) if i not in excluded]
    total = sum(w for _, w in eligible)
    if total == 0:
        raise NoEligibleCoalition("no coalition with a positive weight is left to draw")
    r = int.from_bytes(draw_hash(seed, attempt), "big") % total
    cumulative = 0
    for i, w in eligible:
        cumulative += w
        if r < cumulative:
            return i
    raise AssertionError("unreachable: r < total")


def canonical_partition(partition: Sequence[Sequence[int]], addresses: Sequence[int]) -> list[list[int]]:
    """The order a contract can enforce: members by ascending address, coalitions by their lowest
    member's address. A fixed order leaves a submitter who already knows the seed nothing to choose."""
    ordered = [sorted(members, key=lambda i: addresses[i]) for members in partition]
    return sorted(ordered, key=lambda members: addresses[members[0]])


def validator_of(members: Sequence[int], member_scores_base: Sequence[int], addresses: Sequence[int]) -> int:
    """The member with the highest score; ties to the lower address. Returns the member index."""
    return min(members, key=lambda i: (-member_scores_base[i], addresses[i]))


def slash(stake_base: int, slash_bps: int) -> tuple[int, int]:
    """(burned, kept) of a locked stake slashed by `slash_bps` basis points (floor of the burn)."""
    if not 0 <= slash_bps <= BPS or stake_base < 0:
        raise ValueError("slash fraction must be in [0, 10_000] bps and the stake >= 0")
    burned = stake_base * slash_bps // BPS
    return burned, stake_base - burned


@dataclass(frozen=True)
class DrawAttempt:
    attempt: int
    coalition: int
    validator: int
    mined: bool
    skipped: bool = False  #: the validator lacked the minimum bonded self-stake: excluded without a slash


@dataclass(frozen=True)
class MinerOutcome:
    """Who mines the slot after penalties: `winner` is None when every coalition got excluded (the
    reward then stays in escrow)."""

    attempts: tuple[DrawAttempt, ...]
    winner: int | None
    validator: int | None
    excluded: tuple[int, ...]
    slashed: dict[int, int] = field(default_factory=dict)  # member index -> burned stake (base units)
    withheld: tuple[int, ...] = ()  # members whose reward share is withheld


def resolve_miner(
    seed: bytes,
    coalition_scores_base: Sequence[int],
    partition: Sequence[Sequence[int]],
    member_scores_base: Sequence[int],
    addresses: Sequence[int],
    failing_validators: Collection[int] = (),
    stakes_base: Mapping[int, int] | None = None,
    slash_bps: int = 5_000,
    unstaked_validators: Collection[int] = (),
) -> MinerOutcome:
    """Draw, and redraw after each drawn validator in `failing_validators` (member indices that do not
    mine in their window or submit an invalid block): slash it, withhold its reward, exclude its
    coalition. A drawn validator in `unstaked_validators` (without the minimum bonded self-stake) is skipped: its coalition
    is excluded, nobody is slashed, and the draw repeats. Pure: the failures are given, as a contract
    learns them from timeouts and rejections."""
    stakes = stakes_base or {}
    excluded: list[int] = []
    attempts: list[DrawAttempt] = []
    slashed: dict[int, int] = {}
    attempt = 0
    while True:
        try:
            chosen = draw(seed, coalition_scores_base, excluded, attempt)
        except NoEligibleCoalition:
            return MinerOutcome(tuple(attempts), None, None, tuple(excluded), slashed, tuple(slashed))
        validator = validator_of(partition[chosen], member_scores_base, addresses)
        if validator in unstaked_validators:
            attempts.append(DrawAttempt(attempt, chosen, validator, False, skipped=True))
            excluded.append(chosen)
            attempt += 1
            continue
        mined = validator not in failing_validators
        attempts.append(DrawAttempt(attempt, chosen, validator, mined))
        if mined:
            return MinerOutcome(tuple(attempts), chosen, validator, tuple(excluded), slashed, tuple(slashed))
        slashed[validator] = slash(stakes.get(validator, 0), slash_bps)[0]
        excluded.append(chosen)
        attempt += 1
