"""Seed 002's weeks (offchain.data.seed002): the calibration to the paper's NOREC totals, and the real-data week
read from the ev2gym wheel (household loads, Dutch PV, Dutch day-ahead prices) at a small size."""

import numpy as np
import pytest

from offchain.data.seed002 import (
    HOURS,
    PAPER_BOUGHT_KWH,
    PAPER_DAYS,
    PAPER_PARTICIPANTS,
    RealDataError,
    calibrate,
    paper_totals,
    real_calibrated_week,
    real_week,
)


def norec_totals(week) -> tuple[float, float]:
    net = week.consumption - week.production
    return float(np.clip(net, 0, None).sum()), float(np.clip(-net, 0, None).sum())


def test_paper_totals_are_pro_rata_per_participant_day():
    assert paper_totals(PAPER_PARTICIPANTS, PAPER_DAYS)[0] == pytest.approx(PAPER_BOUGHT_KWH)
    bought, sold = paper_totals(37, 3)
    assert bought == pytest.approx(PAPER_BOUGHT_KWH * 37 * 3 / (PAPER_PARTICIPANTS * PAPER_DAYS))


def test_the_real_week_comes_from_the_wheels_files():
    week = real_week(participants=5, days=2, seed=7)
    assert week.consumption.shape == week.production.shape == (5, 2, HOURS) and week.prices.shape == (2, HOURS)
    assert np.all(week.consumption > 0) and np.all(week.production >= 0)
    assert week.production[:, :, 0].sum() == 0 and week.production[:, :, 12].sum() > 0  # PV: dark at midnight
    assert np.all(week.prices > 0) and np.array_equal(week.prices, np.round(week.prices, 4))
    other = real_week(participants=5, days=2, seed=8)  # another draw of households
    assert not np.array_equal(week.consumption, other.consumption)
    assert np.array_equal(week.prices, other.prices)  # the same hours' prices


def test_the_real_week_calibrates_to_the_paper_totals():
    week = real_calibrated_week(participants=4, days=3, seed=2)
    assert norec_totals(week) == pytest.approx(paper_totals(4, 3), rel=1e-9)
    again = calibrate(real_week(4, 3, 2), 1000.0, 0.0)  # no surplus asked: production scaled away
    assert norec_totals(again) == pytest.approx((1000.0, 0.0))


def test_bad_sizes_are_refused():
    with pytest.raises(RealDataError, match="need 1-10000 participants"):
        real_week(participants=0)
