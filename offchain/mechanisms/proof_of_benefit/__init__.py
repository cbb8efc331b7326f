"""Seed 003 Ch5-6 (Liu): Proof-of-Benefit. PEBT rounds scheduled by the slope-variance QP, benefit-ranked
proposals decided by BenefitConsensus and settled by BenefitSettlement, ePoB online scheduling, and the network
experiments (docs/proof-of-benefit.md)."""

from offchain.mechanisms.base import Mechanism, Reproduction

from .terms import PobTerms, pob_steps

MECHANISM = Mechanism(
    name="proof_of_benefit",
    summary="seed 003 Ch5-6 (Liu): Proof-of-Benefit rounds, ePoB online scheduling, latency and Sybil experiments",
    terms=PobTerms(),
    deploy_steps=pob_steps,
    reproductions=(Reproduction("seed003-pob", f"{__name__}.command:reproduce_seed003_pob"),),
)
