"""Seed 003 ch. 3-4 (Liu): EV charging schedules (uncontrolled, valley shifting, GA) and the AdBEV market,
trading half-hour periods on an instance of the shared EnergyOrderBook. docs/adbev.md,
docs/adbev-contracts.md."""

from pathlib import Path

from offchain.mechanisms.base import Mechanism, Panel, Reproduction

from .panel import READS as PANEL_READS
from .terms import AdbevTerms, adbev_steps

MECHANISM = Mechanism(
    name="adbev",
    summary="seed 003 ch. 3-4: GA day-ahead EV charging and the AdBEV iceberg market",
    terms=AdbevTerms(),
    deploy_steps=adbev_steps,
    reproductions=(
        Reproduction("seed003-scheduling", f"{__name__}.command:reproduce_seed003_scheduling"),
        Reproduction("seed003-adbev", f"{__name__}.command:reproduce_seed003_adbev"),
    ),
    panel=Panel(
        title="Seed 003 · AdBEV: EV energy trades and carried orders per half hour",
        summary="Energy EVs traded with each other per half-hour period and the orders carried into the next period "
        "(left-over sells, waiting icebergs) with their priority kept.",
        reads=PANEL_READS,
        build=f"{__name__}.panel:build",
        script=Path(__file__).with_name("panel.js"),
    ),
)
