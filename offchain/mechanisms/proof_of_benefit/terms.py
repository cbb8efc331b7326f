"""Proof-of-Benefit's contract group: BenefitConsensus and BenefitSettlement and their constructor terms."""

from __future__ import annotations

from dataclasses import dataclass

from offchain.chain.steps import ContractRef, Deploy, Step
from offchain.chain.suites import MARKET_PARAMS, REGISTRY


@dataclass(frozen=True)
class PobTerms:
    """Rounds of `round_seconds` (ROUNDTIME 5 min, Ch5) from `genesis_time` (default: the order book's genesis):
    commits in the first `commit_seconds`, reveals until `reveal_end_seconds`, confirmations to the round's end.
    `max_proposals` per round, `max_window` slopes per net-load window (PEBT's current round + 2 waiting rounds),
    `max_trades` settled per round."""

    genesis_time: int = MARKET_PARAMS["genesisTime"]
    round_seconds: int = 300
    commit_seconds: int = 120
    reveal_end_seconds: int = 240
    max_proposals: int = 16
    max_window: int = 3
    max_trades: int = 200


def pob_steps(terms: PobTerms = PobTerms()) -> tuple[Step, ...]:
    """BenefitConsensus on the registry, BenefitSettlement on UPOS and that consensus."""
    return (
        Deploy("BenefitConsensus", (REGISTRY, terms.genesis_time, terms.round_seconds, terms.commit_seconds,
                                    terms.reveal_end_seconds, terms.max_proposals, terms.max_window)),
        Deploy("BenefitSettlement", (ContractRef("UPOS"), ContractRef("BenefitConsensus"), terms.max_trades)),
    )
