"""The consensus contracts several mechanisms share (contracts/consensus): ProofScoreRegistry, Staking,
MinerSelection and MiningRewardEscrow, their constructor terms and their deploy steps.

Seed 001 ch. 3's coalition market uses them now (offchain.mechanisms.coalition_market); seed 001 ch. 4's
V2V market reuses the proof scores, the draw, the stakes and the escrow. The system operator (role
OPERATOR) is the distribution centre the escrow settles residual trades with, receives forfeited commit
deposits and may report invalid blocks (docs/consensus-contracts.md §1).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from offchain.chain.roles import role_id
from offchain.chain.steps import Call, ContractRef, Deploy, Grant, RoleHolder, Step
from offchain.chain.suites import REGISTRY
from offchain.units import UPOS_BASE, price_to_base_per_kwh


class SlotStatus(IntEnum):
    """IMinerSelection.Status: where a slot's draw stands."""

    OPEN = 0
    MINING = 1
    MINED = 2
    FINAL = 3
    VOID = 4


class Penalty(IntEnum):
    """MinerSelection.Penalty: why a drawn validator was slashed."""

    MISSED_BLOCK = 0
    INVALID_BLOCK = 1


class VoidReason(IntEnum):
    """MinerSelection.VoidReason: why a slot ended without a miner (SlotVoided.reason)."""

    NO_REVEALS = 0
    NO_ELIGIBLE_COALITION = 1
    DRAW_WINDOW_MISSED = 2


@dataclass(frozen=True)
class ConsensusTerms:
    """Constructor parameters of the consensus contracts.

    Windows in seconds, after the slot result is accepted: commit, reveal, mining, challenge (defaults: the
    one-day-slot suggestion of docs/consensus-contracts.md §1). `commit_deposit` in UPOS base units;
    `price_base_per_kwh` p_t in UPOS base units per kWh; `delta_bps` and `slash_bps` in basis points
    (defaults: offchain.mechanisms.coalition_market.plan.SlotSettings). `invalid_block_reporter`: the registry role that
    may report an invalid block. `unbonding_seconds` must exceed commit + reveal + draw; `min_self_stake` in
    EPOS base units.
    """

    commit_seconds: int = 2 * 3_600
    reveal_seconds: int = 2 * 3_600
    mining_seconds: int = 2 * 3_600
    challenge_seconds: int = 4 * 3_600
    commit_deposit: int = UPOS_BASE
    slash_bps: int = 5_000
    slash_freeze_seconds: int = 7 * 86_400
    #: how long unstaked EPOS stays slashable in its pool (longer than commit + reveal + draw, docs §6)
    unbonding_seconds: int = 2 * 86_400
    #: how long after the reveal deadline the draw may come (a later one voids the slot)
    draw_seconds: int = 2 * 3_600
    #: bonded self-stake a validator needs to be drawn, EPOS base units (0.01 EPOS = 0.01 kWh of score)
    min_self_stake: int = 10**16
    price_base_per_kwh: int = price_to_base_per_kwh(0.10)
    delta_bps: int = 1_000
    invalid_block_reporter: str = "OPERATOR"

    def __post_init__(self) -> None:
        if self.unbonding_seconds <= self.commit_seconds + self.reveal_seconds + self.draw_seconds:
            raise ValueError("unbonding_seconds must exceed the commit, reveal and draw windows together, or stake "
                             "could leave between the commit deadline and the draw")

    @property
    def windows(self) -> tuple[int, int, int, int, int]:
        """MinerSelection's Windows struct: (commit, reveal, mining, challenge, draw) seconds."""
        return (self.commit_seconds, self.reveal_seconds, self.mining_seconds, self.challenge_seconds,
                self.draw_seconds)


def consensus_steps(terms: ConsensusTerms = ConsensusTerms()) -> tuple[Step, ...]:
    """The consensus contracts as deploy steps on the foundation, MinerSelection bound into Staking (the
    only contract allowed to lock and slash pools)."""
    upos, epos = ContractRef("UPOS"), ContractRef("EPOS")
    scores, staking, miners = ContractRef("ProofScoreRegistry"), ContractRef("Staking"), ContractRef("MinerSelection")
    operator = RoleHolder("OPERATOR")
    return (
        Deploy("ProofScoreRegistry", (REGISTRY,)),
        Deploy("Staking", (REGISTRY, epos, upos, terms.slash_bps, terms.slash_freeze_seconds,
                           terms.unbonding_seconds, terms.min_self_stake)),
        Grant("STAKING", staking),
        Deploy(
            "MinerSelection",
            (REGISTRY, scores, staking, upos, terms.windows, terms.commit_deposit, operator,
             role_id(terms.invalid_block_reporter)),
        ),
        Call("Staking", "setMinerSelection", (miners,)),
        Deploy(
            "MiningRewardEscrow",
            (REGISTRY, upos, scores, miners, staking, operator, terms.price_base_per_kwh, terms.delta_bps),
        ),
    )
