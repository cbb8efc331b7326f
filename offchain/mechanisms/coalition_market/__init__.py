"""Seed 001 ch. 3 (Moniruzzaman): the cooperative coalition market. PoEG proof scores, loss-minimising
coalitions, the weighted miner draw with stakes and slashing, and the Shapley split of the mining reward,
on the shared consensus contracts (offchain.mechanisms.consensus). docs/seed001*.md,
docs/consensus-contracts.md."""

from pathlib import Path

from offchain.mechanisms.base import Mechanism, Panel, Reproduction
from offchain.mechanisms.consensus import ConsensusTerms, consensus_steps

from .panel import READS as PANEL_READS
from .workers import STAGES

MECHANISM = Mechanism(
    name="coalition_market",
    summary="seed 001 ch. 3: coalition market (PoEG scores, coalitions, miner draw, Shapley rewards)",
    terms=ConsensusTerms(),
    deploy_steps=consensus_steps,
    workers=STAGES,
    reproductions=(Reproduction("seed001-coalitions", f"{__name__}.command:reproduce_seed001_coalitions"),),
    panel=Panel(
        title="Seed 001 · coalition market: coalitions, proof scores and the miner draw",
        summary="Coalitions per slot with their proof scores and chance to be drawn as miner, the participants' "
        "scores and escrowed UPOS, validator stakes, and slashes for missed blocks.",
        reads=PANEL_READS,
        build=f"{__name__}.panel:build",
        script=Path(__file__).with_name("panel.js"),
    ),
)
