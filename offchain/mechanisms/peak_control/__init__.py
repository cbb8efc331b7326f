"""Seed 002 (Košťál et al. 2024): community peak control. Day-ahead PAR penalty vectors, best-first (A*)
purchase recommendations committed as a Merkle root per day, meter agents following the paper's NOREC and REC
rules with an explicit battery, the operator as counterparty of last resort on an hourly order book.
docs/peak_control.md, docs/peak_control-contracts.md."""

from pathlib import Path

from offchain.mechanisms.base import Mechanism, Panel, Reproduction

from .panel import READS as PANEL_READS
from .terms import PeakControlTerms, peak_control_steps
from .workers import WORKERS

MECHANISM = Mechanism(
    name="peak_control",
    summary="seed 002: community peak control (PAR penalties, A* recommendations, operator fallback)",
    terms=PeakControlTerms(),
    deploy_steps=peak_control_steps,
    workers=WORKERS,
    reproductions=(Reproduction("seed002", f"{__name__}.command:reproduce_seed002"),),
    panel=Panel(
        title="Seed 002 · peak control: daily penalties and recommendations",
        summary="Each day's price multipliers per hour, set from the previous day's community peak, and whether "
        "recommended purchase schedules were committed.",
        reads=PANEL_READS,
        build=f"{__name__}.panel:build",
        script=Path(__file__).with_name("panel.js"),
    ),
)
