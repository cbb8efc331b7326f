"""Seed 001 ch. 3 (Moniruzzaman): the cooperative coalition market. PoEG proof scores, loss-minimising
coalitions, the weighted miner draw with stakes and slashing, and the Shapley split of the mining reward,
on the shared consensus contracts (offchain.mechanisms.consensus). docs/seed001*.md,
docs/consensus-contracts.md."""

from offchain.mechanisms.base import Mechanism, Reproduction
from offchain.mechanisms.consensus import ConsensusTerms, consensus_steps

from .workers import STAGES

MECHANISM = Mechanism(
    name="coalition_market",
    summary="seed 001 ch. 3: coalition market (PoEG scores, coalitions, miner draw, Shapley rewards)",
    terms=ConsensusTerms(),
    deploy_steps=consensus_steps,
    workers=STAGES,
    reproductions=(Reproduction("seed001-coalitions", f"{__name__}.command:reproduce_seed001_coalitions"),),
)
