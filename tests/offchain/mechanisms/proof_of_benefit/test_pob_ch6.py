"""Ch6 inputs and baselines at small sizes: the ePoB sessions (synthetic and real ACN-Data stays) and the offline
AdBEV baseline run on their expected arrivals."""

import numpy as np
import pytest

from offchain.data.seed003 import DataError
from offchain.data.seed003_pob import ch6_sessions
from offchain.mechanisms.adbev.plan import run_adbev
from offchain.mechanisms.proof_of_benefit.plan import adbev_load_kw, expected_population


@pytest.mark.parametrize("ev_data", ["synthetic", "acn"])
def test_sessions_fit_the_horizon_and_are_seeded(ev_data):
    one = ch6_sessions(9, seed=4, start_slot=None, ev_data=ev_data)
    two = ch6_sessions(9, seed=4, start_slot=None, ev_data=ev_data)
    np.testing.assert_array_equal(one.arrival, two.arrival)
    assert one.start_slot == two.start_slot and 0 <= one.start_slot < 48
    assert np.all((0 <= one.arrival) & (one.arrival < one.departure) & (one.departure <= one.steps))
    stay_kwh = (one.departure - one.arrival) * one.step_h * one.rate_kw
    assert np.all(one.demand_kwh <= stay_kwh + 1e-9) and np.all(one.offer_kwh <= stay_kwh + 1e-9)
    assert np.all((one.demand_kwh > 0) <= ~one.discharging)


def test_unknown_ev_data_is_refused():
    with pytest.raises(DataError, match="ev_data"):
        ch6_sessions(5, seed=1, ev_data="mars")


@pytest.mark.parametrize("evs,seed", [(7, 3), (1, 0)])
def test_adbev_baseline_runs_on_the_stays_and_conserves_energy(evs, seed):
    sessions = ch6_sessions(evs, seed)
    population = expected_population(sessions)
    step_slot = np.roll(np.arange(48), -sessions.start_slot)  # wall-clock slot of each horizon slot
    for i in range(evs):  # connected in exactly the wall-clock slots its stay touches
        touched = set(step_slot[np.arange(sessions.arrival[i], sessions.departure[i]) // sessions.steps_per_slot])
        assert set(np.flatnonzero(population.connected[i])) == touched
    load = adbev_load_kw(sessions, 0.9, 0.8)
    assert load.shape == (sessions.steps,)
    day = run_adbev(population)
    energy = 0.9 * day.charged_kwh.sum() - 0.8 * day.discharged_kwh.sum()
    assert load.sum() * sessions.step_h == pytest.approx(energy, abs=1e-9)
    assert np.all(np.ptp(load.reshape(-1, sessions.steps_per_slot), axis=1) == 0)  # one rate per half hour
