"""PoEG singleton scores and the distance-proportional loss model (seed 001, eq. 3.4)."""

import numpy as np
import pytest

from offchain.algorithms.poeg import (
    THESIS_MAX_DISTANCE_KM,
    LossModel,
    distances_to_centre,
    poeg_scores,
    scores_to_base,
)
from offchain.units import EPOS_BASE


def test_default_coefficient_spans_the_thesis_loss_range():
    loss = LossModel()
    assert loss.loss_fraction(THESIS_MAX_DISTANCE_KM) == pytest.approx(0.056)
    # 1.8 % is reached 4.5 km from the centre: everything farther lies inside the thesis' range
    assert loss.loss_fraction(4.545) == pytest.approx(0.018, abs=1e-4)


def test_loss_is_coefficient_times_distance_times_energy():
    loss = LossModel(coefficient_per_km=0.002)
    assert loss.loss_kwh(5.0, 10.0) == pytest.approx(0.1)
    with pytest.raises(ValueError):
        LossModel(coefficient_per_km=-0.001)


def test_scores_are_surplus_minus_the_loss_to_the_centre_and_zero_for_buyers():
    xy = np.array([[10.0, 0.0], [13.0, 14.0], [10.0, 10.0]])
    d = distances_to_centre(xy, (10.0, 10.0))
    assert d == pytest.approx([10.0, 5.0, 0.0])
    loss = LossModel(coefficient_per_km=0.004)
    scores = poeg_scores([8.0, 1.0, 3.0], [3.0, 4.0, 1.0], d, loss)
    assert scores == pytest.approx([5.0 - 0.04 * 5.0, 0.0, 2.0])


def test_scores_convert_member_by_member_so_coalition_sums_are_exact():
    scores = [0.1, 0.2, 3.2199999999999998]
    base = scores_to_base(scores)
    assert base == [EPOS_BASE // 10, EPOS_BASE // 5, 3_219_999_999_999_999_800]
    assert sum(base) == sum(scores_to_base([0.1])) + sum(scores_to_base([0.2, 3.2199999999999998]))
