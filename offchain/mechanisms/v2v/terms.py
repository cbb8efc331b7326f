"""The V2V contracts (contracts/mechanisms/v2v: V2VSettlement, PoSocScores; a second FogModelRegistry for the
FedAvg rounds), their constructor terms, ABI enums and deploy steps (docs/v2v-contracts.md)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from offchain.chain.steps import Call, ContractRef, Deploy, Step
from offchain.chain.suites import REGISTRY


class ProfitState(IntEnum):
    """IV2VSettlement.ProfitState: where a member's held profit of a day stands."""

    NONE = 0
    FEE_DUE = 1
    PAID = 2
    LOCKED = 3
    RELEASED = 4
    CONFISCATED = 5


@dataclass(frozen=True)
class V2VTerms:
    """Constructor parameters: `fee_window_seconds` after the day's assessment in which a member pays its
    mining fee; `lock_seconds` a dodger's profit stays locked before the miner takes the fee out of it;
    `max_evs_per_day` the EVs one day's draw may weigh."""

    fee_window_seconds: int = 6 * 3_600
    lock_seconds: int = 7 * 86_400
    #: The most EVs PoSocScores scores on one day (its draw walks them all: ~5k gas each).
    max_evs_per_day: int = 200


def v2v_steps(terms: V2VTerms = V2VTerms()) -> tuple[Step, ...]:
    """The V2V contracts as deploy steps on the foundation. The FedAvg round record is a second instance of
    seed 000's FogModelRegistry (the same job: SCORER publishes (version, content hash, contributors)). The
    settlement learns each day's miner from PoSocScores' draw (wired after both exist)."""
    return (
        Deploy("V2VSettlement", (REGISTRY, ContractRef("UPOS"), terms.fee_window_seconds, terms.lock_seconds)),
        Deploy("PoSocScores", (REGISTRY, ContractRef("V2VSettlement"), terms.max_evs_per_day)),
        Call("V2VSettlement", "setAggregatorDraw", (ContractRef("PoSocScores"),)),
        Deploy("V2VModelRegistry", (REGISTRY,), artifact="FogModelRegistry"),
    )
