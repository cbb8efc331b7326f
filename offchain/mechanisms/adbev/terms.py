"""The AdBEV contracts (seed 003 ch. 4): a half-hourly instance of the shared EnergyOrderBook with its
terms, its order gate BatteryWindows, and their deploy steps (docs/adbev-contracts.md)."""

from __future__ import annotations

from dataclasses import dataclass

from offchain.chain.steps import Call, ContractRef, Deploy, Grant, Step
from offchain.chain.suites import MARKET_PARAMS, REGISTRY
from offchain.units import base_to_upos, price_to_base_per_kwh

#: The thesis trades half-hour periods; prices are pence per kWh, read here as 0.01 UPOS per kWh.
PERIOD_SECONDS = 1800
GATE_LEAD_SECONDS = 300


def pence(value: float | str) -> int:
    """A price in pence per kWh as UPOS base units per kWh (1 p = 0.01 UPOS)."""
    return price_to_base_per_kwh(f"{float(value) / 100:.4f}")


def pence_of(price: int) -> float:
    """UPOS base units per kWh as pence per kWh (the inverse of `pence` on the book's 0.01 p grid)."""
    return round(base_to_upos(price) * 100, 2)


@dataclass(frozen=True)
class AdbevTerms:
    """The AdBEV book's BookParams: prices on a 0.01 p grid from 1 p to 100 p per kWh; grid import
    `import_pence` and export `export_pence` (the range ends of the thesis's 10-30 p); half-hour periods
    from the shared genesis, gate closure `gate_lead_seconds` before each; one period ahead open (a carry
    into the next period then happens before anyone can order for it, so carried orders keep their
    priority: docs/adbev-contracts.md); orders and peaks of at least `min_order_wh` (100 Wh)."""

    genesis_time: int = MARKET_PARAMS["genesisTime"]
    period_seconds: int = PERIOD_SECONDS
    gate_lead_seconds: int = GATE_LEAD_SECONDS
    import_pence: float = 30.0
    export_pence: float = 10.0
    min_order_wh: int = 100

    @property
    def book_params(self) -> tuple[int, ...]:
        """EnergyOrderBook.BookParams in the struct's field order."""
        return (
            pence("0.01"), pence("0.01"), pence(100), self.genesis_time, self.period_seconds, self.gate_lead_seconds,
            1, pence(self.import_pence), pence(self.export_pence), self.min_order_wh, self.min_order_wh,
        )


def adbev_steps(terms: AdbevTerms = AdbevTerms()) -> tuple[Step, ...]:
    """The AdBEV book (a second EnergyOrderBook named AdbevBook under the terms above) and its order gate,
    BatteryWindows: an EV may not bid beyond the battery window the meter attested."""
    return (
        Deploy("AdbevBook", (REGISTRY, ContractRef("UPOS"), ContractRef("EnergyCredit"), terms.book_params),
               artifact="EnergyOrderBook"),
        Grant("MARKET", ContractRef("AdbevBook")),
        Deploy("BatteryWindows", (REGISTRY, ContractRef("AdbevBook"))),
        Call("AdbevBook", "setOrderGate", (ContractRef("BatteryWindows"),)),
    )
