"""Proof of Energy Generation (PoEG) singleton scores — seed 001, thesis eq. 3.4 / Algorithm 1.

A prosumer's score for a slot is its forecast surplus minus the line loss of shipping that surplus to
the electricity distribution centre (EDC); prosumers without a surplus score 0. Energy is in kWh
(floats); a score point is one kWh. Scores cross to the chain only through ``scores_to_base``
(EPOS base units, 10**18 per point, via offchain.units).

Loss model: the thesis allocates losses with a graph method (eq. 3.1-3.2) but its experiments use a
"variable loss of 1.8-5.6 %". Here loss = coefficient x distance x energy (straight-line km). The
default coefficient makes the farthest point of the 20 x 20 km area (14.14 km from the centre) lose
exactly 5.6 %; a prosumer 4.5 km away loses 1.8 %. Saving ratios (loss saved / loss alone) do not
depend on the coefficient because every loss scales with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from offchain.units import score_to_base

#: Half-diagonal of the thesis' 20 x 20 km area: the largest distance to a central EDC, in km.
THESIS_MAX_DISTANCE_KM = float(np.hypot(10.0, 10.0))
#: Upper end of the thesis' loss range (fraction of the energy sent).
THESIS_MAX_LOSS_FRACTION = 0.056
#: Lower end of the thesis' loss range (fraction of the energy sent).
THESIS_MIN_LOSS_FRACTION = 0.018


@dataclass(frozen=True)
class LossModel:
    """Line loss proportional to distance and energy: loss_kWh = coefficient_per_km x km x kWh."""

    coefficient_per_km: float = THESIS_MAX_LOSS_FRACTION / THESIS_MAX_DISTANCE_KM

    def __post_init__(self) -> None:
        if not self.coefficient_per_km >= 0:
            raise ValueError(f"loss coefficient must be >= 0 per km, got {self.coefficient_per_km}")

    def loss_kwh(self, distance_km: ArrayLike, energy_kwh: ArrayLike) -> NDArray[np.float64]:
        """Energy lost (kWh) sending `energy_kwh` over `distance_km`."""
        return self.coefficient_per_km * np.asarray(distance_km, float) * np.asarray(energy_kwh, float)

    def loss_fraction(self, distance_km: ArrayLike) -> NDArray[np.float64]:
        """Fraction of the energy lost over `distance_km`."""
        return self.coefficient_per_km * np.asarray(distance_km, float)


def distances_to_centre(xy_km: ArrayLike, centre_km: ArrayLike) -> NDArray[np.float64]:
    """Straight-line distance (km) of every prosumer (rows of `xy_km`, shape (n, 2)) to the EDC."""
    xy = np.asarray(xy_km, float)
    return np.hypot(xy[:, 0] - centre_km[0], xy[:, 1] - centre_km[1])


def poeg_scores(
    production_kwh: ArrayLike,
    consumption_kwh: ArrayLike,
    distance_to_centre_km: ArrayLike,
    loss: LossModel = LossModel(),
) -> NDArray[np.float64]:
    """Singleton PoEG score per prosumer (points = kWh), eq. 3.4.

    PS_i = (P_i - C_i) - loss(d_i, P_i - C_i) if P_i > C_i, else 0. Never negative while the loss
    fraction stays below 1.
    """
    surplus = np.maximum(np.asarray(production_kwh, float) - np.asarray(consumption_kwh, float), 0.0)
    return surplus - loss.loss_kwh(distance_to_centre_km, surplus)


def scores_to_base(scores: ArrayLike) -> list[int]:
    """Scores (points, floats >= 0) -> EPOS base units, each converted on its own.

    A coalition's on-chain score is the exact integer sum of its members' converted scores, so the
    contract can check it without any rounding of its own.
    """
    return [score_to_base(float(s)) for s in np.asarray(scores, float)]
