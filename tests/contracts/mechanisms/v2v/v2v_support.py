"""Constants and helpers of the V2V contract tests (imported as `v2v_support`)."""

from __future__ import annotations

from contract_helpers import EV_SOC_MAX_WH, EV_SOC_MIN_WH

from offchain.units import UPOS_BASE

FEE_WINDOW = 3_600
LOCK_SECONDS = 86_400
ARRIVAL_HOUR = 8
#: Energy of both EVs on arrival: 10 kWh above the window's floor.
START_WH = EV_SOC_MIN_WH + 10_000
DEPOSIT = 100 * UPOS_BASE
#: EVs PoSocScores takes per day in the tests.
MAX_EVS = 5

__all__ = ["ARRIVAL_HOUR", "DEPOSIT", "MAX_EVS", "EV_SOC_MAX_WH", "EV_SOC_MIN_WH", "FEE_WINDOW", "LOCK_SECONDS", "START_WH"]


def sorted_pair(evs):
    """The two EVs in ascending address order (assessFees wants members ascending)."""
    return sorted(evs, key=lambda a: int(a.address, 16))
