"""Seed 000 (Mullaney et al.): the EV fog energy management system. Per-period prosumer-EV matching (greedy
FIFO on chain, or a Hungarian assignment proved optimal by an LP dual certificate), the exchange log and
UPOS settlement, and the fog nodes' federated LSTM forecasts. docs/seed000*.md, docs/forecasting.md."""

from pathlib import Path

from offchain.mechanisms.base import Mechanism, Panel, Reproduction

from .panel import READS as PANEL_READS
from .terms import FogEmsTerms, fog_ems_steps
from .workers import FEDAVG_AGGREGATOR, FOG_MATCHING

MECHANISM = Mechanism(
    name="fog_ems",
    summary="seed 000: EV fog energy management (certified matching, exchange log, federated forecasts)",
    terms=FogEmsTerms(),
    deploy_steps=fog_ems_steps,
    workers=(FOG_MATCHING, FEDAVG_AGGREGATOR),
    reproductions=(Reproduction("seed000", f"{__name__}.command:reproduce_seed000"),),
    panel=Panel(
        title="Seed 000 · EV fog energy management: prosumer-EV matching",
        summary="Energy moved between prosumers and EV batteries per delivery period: first-come (greedy) vs the "
        "certified optimal assignment, and the step-by-step exchange log.",
        reads=PANEL_READS,
        build=f"{__name__}.panel:build",
        script=Path(__file__).with_name("panel.js"),
    ),
)
