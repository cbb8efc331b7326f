"""Seed 002 on an embedded chain (offchain.mechanisms.peak_control.chain_run): four participants trade two days of
the seeded week's REC purchases and sales on the hourly book at the day-ahead prices (sells take the resting buys,
the operator grid-fills the rest), and the peak-penalties and peak-recommendations workers publish day 2's vector
and root. Every check of the comparison holds: vector and root equal the plan's on the purchases the chain
recorded, every participant reads its recommendation, the recorded Wh equal the plan's, net payments equal the
book's arithmetic, the recipient got every premium, and bought / sold / net kWh and EUR agree with the Python run."""

import numpy as np
import pytest

from offchain.data.seed002 import generate_week
from offchain.mechanisms.peak_control.chain_run import compare_with_plan, tariff_grid
from offchain.mechanisms.peak_control.plan import PeakSettings
from offchain.units import price_to_base_per_kwh

pytestmark = pytest.mark.chain


def test_two_days_of_buys_and_sells_on_chain_equal_the_python_run(tmp_path):
    week = generate_week(participants=4, days=2, seed=4)
    comparison = compare_with_plan(week, PeakSettings(first_day=1), tmp_path)
    assert [name for name, ok in comparison.checks if not ok] == []
    run = comparison.run
    assert set(run.vectors) == {1} and max(run.vectors[1]) > 10_000  # day 2 is penalised
    assert run.bought_wh.sum() > 0 and run.sold_wh.sum() > 0 and run.premium_paid > 0
    assert run.matched_wh > 0  # some sells took resting buys; the rest went through the grid fallback
    assert run.transactions > 0 and run.gas > 0


def test_tariff_grid_rounds_to_the_tick_and_keeps_the_range():
    grid = tariff_grid(np.array([[0.17004, 0.35, -0.02, 1.7]]))
    assert list(grid[0]) == [price_to_base_per_kwh("0.17"), price_to_base_per_kwh("0.35"),
                             price_to_base_per_kwh("0.0001"), price_to_base_per_kwh("1")]
