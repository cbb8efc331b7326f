"""Seed 003 Ch5-6 (Liu): Proof-of-Benefit. PEBT rounds scheduled by the slope-variance QP, benefit-ranked
proposals decided by BenefitConsensus and settled by BenefitSettlement, ePoB online scheduling, and the network
experiments (docs/proof-of-benefit.md)."""

from pathlib import Path

from offchain.mechanisms.base import Mechanism, Panel, Reproduction

from .panel import PANEL_READS
from .terms import PobTerms, pob_steps

MECHANISM = Mechanism(
    name="proof_of_benefit",
    summary="seed 003 Ch5-6 (Liu): Proof-of-Benefit rounds, ePoB online scheduling, latency and Sybil experiments",
    terms=PobTerms(),
    deploy_steps=pob_steps,
    reproductions=(Reproduction("seed003-pob", f"{__name__}.command:reproduce_seed003_pob"),),
    panel=Panel(
        title="Seed 003 · Proof-of-Benefit: rounds, winning blocks and benefits",
        summary="Each finalised round's winning block, its benefit (the reciprocal of the net load's slope "
        "variance) and the peers that confirmed it, and every peer excluded for a false benefit claim.",
        reads=PANEL_READS,
        build=f"{__name__}.panel:build",
        script=Path(__file__).with_name("panel.js"),
    ),
)
