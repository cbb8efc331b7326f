"""Seed 001 ch. 4 (Moniruzzaman): V2V energy trading at a workplace parking hotspot with federated RL. A
Gymnasium environment per EV, PPO/SAC/A2C learners averaged by FedAvg, PoSOC scores per EV and hour, the
midnight aggregator draw on chain, the hourly EV-to-EV settlement and the fee-dodger profit lock. docs/v2v.md, docs/v2v-contracts.md."""

from pathlib import Path

from offchain.mechanisms.base import Mechanism, Panel, Reproduction

from .panel import READS as PANEL_READS
from .terms import V2VTerms, v2v_steps
from .workers import WORKERS

MECHANISM = Mechanism(
    name="v2v",
    summary="seed 001 ch. 4: V2V trading with federated RL (PoSOC scores, hourly settlement, fee-dodger lock)",
    terms=V2VTerms(),
    deploy_steps=v2v_steps,
    workers=WORKERS,
    reproductions=(Reproduction("seed001-v2v", f"{__name__}.command:reproduce_seed001_v2v"),),
    panel=Panel(
        title="Seed 001 ch. 4 · V2V trading: energy between parked EVs, PoSOC scores, fee-dodger locks",
        summary="Energy each parked EV sold to and bought from other EVs, its proof-of-state-of-charge score today "
        "(the weight of the midnight aggregator draw) and the trading profits locked for unpaid mining fees.",
        reads=PANEL_READS,
        build=f"{__name__}.panel:build",
        script=Path(__file__).with_name("panel.js"),
    ),
)
