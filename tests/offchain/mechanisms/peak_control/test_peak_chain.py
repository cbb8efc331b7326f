"""Seed 002 on an embedded chain (offchain.mechanisms.peak_control.chain_run): three participants buy two days of
the seeded week's NOREC purchases on the hourly book, the operator grid-fills them, and the peak-penalties and
peak-recommendations workers publish day 2's vector and root; both equal the plan's on the purchases the chain
recorded, every participant reads its own recommendation with its proof, and day 2's buys in penalised hours pay
the premium to the operator."""

import numpy as np
import pytest

from offchain.chain.suites import MARKET_PARAMS
from offchain.data.seed002 import generate_week
from offchain.mechanisms.peak_control.chain_run import day_purchases_from, run_days
from offchain.mechanisms.peak_control.workers import day_commitment, penalty_payload
from offchain.units import kwh_to_wh

pytestmark = pytest.mark.chain


def test_two_days_on_chain_equal_the_plan(tmp_path):
    week = generate_week(participants=3, days=2, seed=4)
    purchases = np.vectorize(kwh_to_wh)(np.clip(week.net, 0.0, None))
    run = run_days(tmp_path, purchases, first_day=1)
    assert set(run.vectors) == {1} and set(run.roots) == {1}
    buyers, previous = day_purchases_from(run.bought_wh[:, 0], run.addresses)
    expected = penalty_payload(previous.sum(axis=0), 0.85)
    assert run.vectors[1] == expected["bps"] and max(expected["bps"]) > 10_000
    tree = day_commitment(buyers, previous, run.base + 1)
    assert run.roots[1] == tree.root
    assert {b: run.reads[(1, b)] for b in buyers} == {b: sum(tree.schedules[b]) for b in buyers}
    assert run.transactions > 0 and run.gas > 0
    # buys in day 2's penalised hours paid the premium, exactly as the vector prices it, all to the recipient
    premiums = run.premiums_upos(MARKET_PARAMS["importPrice"])
    assert np.array_equal(premiums, run.expected_premiums_upos(MARKET_PARAMS["importPrice"]))
    assert premiums.sum() == run.premium_paid > 0
