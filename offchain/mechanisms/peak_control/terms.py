"""The peak-control contracts (contracts/mechanisms/peak_control: PenaltySchedule, RecommendationBoard) and the
hourly order book they price, their constructor terms and their deploy steps (docs/peak_control-contracts.md)."""

from __future__ import annotations

from dataclasses import dataclass

from offchain.chain.steps import Call, ContractRef, Deploy, Grant, RoleHolder, Step
from offchain.chain.suites import MARKET_PARAMS, REGISTRY

HOUR_SECONDS = 3_600
#: The hourly book's gate closure lead (seconds before an hour starts), as the 15-minute book's.
GATE_LEAD_SECONDS = MARKET_PARAMS["gateLeadSeconds"]


@dataclass(frozen=True)
class PeakControlTerms:
    """Constructor terms of the seed 002 group. Hourly delivery periods from `genesis_time` (the 15-minute book's);
    the hourly book opens `hours_ahead` hours ahead, so a day's trading gate opens `hours_ahead` hours before the
    day starts; the update window (penalties and recommendations are published in it) is the `update_seconds`
    before that: 240 s, so that it opens after the previous day's last hour closed its gate (300 s before that
    hour starts, when the window's 3,600 + 240 s lead has not yet begun) and the operator's grid fill followed."""

    genesis_time: int = MARKET_PARAMS["genesisTime"]
    hour_seconds: int = HOUR_SECONDS
    hours_ahead: int = 1
    update_seconds: int = 240

    @property
    def calendar(self) -> tuple[int, int, int, int]:
        """TradingDays' constructor arguments: genesis, hour, open lead, update window (seconds)."""
        return (self.genesis_time, self.hour_seconds, self.hours_ahead * self.hour_seconds, self.update_seconds)

    @property
    def hourly_book_params(self) -> tuple[int, ...]:
        """EnergyOrderBook.BookParams of the hourly book: the 15-minute book's prices and minimums, hourly periods."""
        params = dict(MARKET_PARAMS, genesisTime=self.genesis_time, periodSeconds=self.hour_seconds,
                      maxPeriodsAhead=self.hours_ahead)
        return tuple(params.values())


def peak_control_steps(terms: PeakControlTerms = PeakControlTerms()) -> tuple[Step, ...]:
    """The hourly book (a second EnergyOrderBook, granted MARKET), the penalty schedule (premiums to the
    operator) as the hourly book's premium source (buys in penalised hours pay the multiplier) and the recommendation board, and PAR_CONTROL for the workers' account (SCORER's)."""
    return (
        Deploy("HourlyEnergyOrderBook", (REGISTRY, ContractRef("UPOS"), ContractRef("EnergyCredit"),
                                         terms.hourly_book_params), artifact="EnergyOrderBook"),
        Grant("MARKET", ContractRef("HourlyEnergyOrderBook")),
        Deploy("PenaltySchedule", (REGISTRY, RoleHolder("OPERATOR"), *terms.calendar)),
        Call("HourlyEnergyOrderBook", "setPremiumSource", (ContractRef("PenaltySchedule"),)),
        Deploy("RecommendationBoard", (REGISTRY, *terms.calendar)),
        Grant("PAR_CONTROL", RoleHolder("SCORER")),
    )
