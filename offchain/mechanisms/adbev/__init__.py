"""Seed 003 ch. 3-4 (Liu): EV charging schedules (uncontrolled, valley shifting, GA) and the AdBEV market,
trading half-hour periods on an instance of the shared EnergyOrderBook. docs/adbev.md,
docs/adbev-contracts.md."""

from offchain.mechanisms.base import Mechanism, Reproduction

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
)
