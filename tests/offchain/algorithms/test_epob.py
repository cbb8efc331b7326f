"""ePoB online scheduling (seed 003 Ch6) and its offline optimum on a tiny fleet."""

import numpy as np
import pytest

from offchain.algorithms.epob import Fleet, IntervalQP, competitive_ratio, interval_labels, run_offline, run_online
from offchain.algorithms.pebt import RoundFailure

STEP_H = 1 / 6
BASE = 20 + 10 * np.sin(np.linspace(0, np.pi, 18))


@pytest.fixture(scope="module")
def fleet():
    return Fleet(
        arrival=np.array([0, 2, 5, 7, 1]),
        departure=np.array([10, 14, 18, 16, 12]),
        rate_kw=np.array([50.0, 50.0, 50.0, 50.0, 15.0]),
        energy_kwh=np.array([12.0, 20.0, 8.0, 15.0, 6.0]),
        discharging=np.array([False, False, False, False, True]),
    )


def delivered(fleet, schedule):
    return schedule.rates_kw.sum(axis=1) * STEP_H


def test_labels_are_the_events_and_the_regular_marks():
    labels = interval_labels(4, np.array([9, 12, 12]), 18, 6)
    assert labels.tolist() == [4, 5, 6, 9, 12, 18]


def test_offline_and_online_meet_every_demand_within_the_stays(fleet):
    qp = IntervalQP()
    offline = run_offline(fleet, BASE, STEP_H, qp)
    for schedule in (offline, run_online(fleet, BASE, STEP_H, 1.0, qp=qp)[0], run_online(fleet, BASE, STEP_H, 1.5, qp=qp)[0]):
        got = delivered(fleet, schedule)
        assert np.all(got[:4] >= fleet.energy_kwh[:4] - 1e-3)  # (6a) is ">= CV_i": the optimum may charge more
        assert got[4] <= fleet.energy_kwh[4] + 1e-6
        t = np.arange(len(BASE))
        outside = (t[None, :] < fleet.arrival[:, None]) | (t[None, :] >= fleet.departure[:, None])
        assert np.all(schedule.rates_kw[outside] < 1e-6)
        assert np.all(schedule.rates_kw <= fleet.rate_kw[:, None] + 1e-6)


def test_the_offline_optimum_is_a_lower_bound(fleet):
    qp = IntervalQP()
    offline = run_offline(fleet, BASE, STEP_H, qp)
    for c in (1.0, 1.5, 2.0):
        online, failed = run_online(fleet, BASE, STEP_H, c, qp=qp)
        assert not failed
        assert competitive_ratio(online, offline) >= 1 - 1e-6


def test_bad_inputs():
    qp = IntervalQP()
    with pytest.raises(RoundFailure, match="infeasible: EV 0"):
        qp.solve(np.array([[1.0, 1.0]]), np.array([False]), np.array([5.0]), np.array([1.0, 1.0]), np.zeros(2), 0.0)
    with pytest.raises(ValueError, match="speeding factor"):
        run_online(Fleet(*(np.zeros(1),) * 4, np.zeros(1, bool)), BASE, STEP_H, 0.5)
