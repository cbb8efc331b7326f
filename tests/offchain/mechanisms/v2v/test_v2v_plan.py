"""The pure V2V pipeline: Table 4.1's day, TOU periods, delta, prices, SOC-window clipping, reward, PoSOC
scores, the draw weights and mining fees."""

import numpy as np
import pytest

from offchain.mechanisms.v2v.plan import (
    MID,
    OFF,
    ON,
    V2VSetup,
    daily_scores,
    draw_weights,
    feasible_action,
    grid_buy,
    mining_fees,
    posoc_score,
    price_factors,
    profit_vs_grid,
    sample_day,
    step_reward,
    tou_period,
    v2v_price,
)

SETUP = V2VSetup()


def test_tou_periods_follow_ontario_not_the_printed_typo():
    assert [tou_period(h) for h in (1, 6, 7, 10, 11, 16, 17, 18, 19, 23)] == [OFF, OFF, ON, ON, MID, MID, ON, ON, OFF,
                                                                               OFF]


def test_price_factors_from_table_means():
    """Spec §5.3: delta_mid = 0.4706, delta_on = 0.8971 from Table 4.1's means; delta_off = 0."""
    np.testing.assert_allclose(price_factors(SETUP), [0.0, 0.4706, 0.8971], atol=1e-4)


def test_sampled_days_stay_in_table_bounds():
    rng = np.random.default_rng(3)
    days = [sample_day(SETUP, rng) for _ in range(400)]
    assert all(4 <= d.arrival <= 10 and d.arrival < d.departure <= 22 for d in days)
    assert all(SETUP.soc_range[0] <= d.soc0 <= SETUP.soc_range[1] for d in days)
    assert np.mean([d.arrival for d in days]) == pytest.approx(7, abs=0.2)
    on = np.concatenate([d.grid_sell[[7, 8, 9, 10, 17, 18]] for d in days])
    assert on.mean() == pytest.approx(12.9, abs=0.3) and on.std() == pytest.approx(2.0, abs=0.2)


def test_uniform_prices_keep_mean_and_std_within_bounds():
    setup = V2VSetup(price_noise="uniform")
    rng = np.random.default_rng(4)
    mid = np.concatenate([sample_day(setup, rng).grid_sell[11:17] for _ in range(400)])
    assert mid.mean() == pytest.approx(10.0, abs=0.1) and mid.std() == pytest.approx(1.5, abs=0.1)
    assert mid.max() <= 10.0 + 1.5 * np.sqrt(3) + 1e-9


def test_v2v_price_lies_between_grid_prices():
    sell = np.array([5.0, 12.9])
    assert np.all(grid_buy(SETUP, sell) < v2v_price(SETUP, sell)) and np.all(v2v_price(SETUP, sell) < sell)


@pytest.mark.parametrize("soc,requested,expected", [(0.5, 10.0, 7.0), (0.5, -10.0, -7.0), (0.78, 5.0, 0.84),
                                                     (0.25, -5.0, -2.1), (0.8, 1.0, 0.0), (0.2, -1.0, 0.0)])
def test_feasible_action_clips_to_rate_and_soc_window(soc, requested, expected):
    assert feasible_action(SETUP, soc, requested) == pytest.approx(expected)


def test_reward_pays_sales_and_charges_purchases_weighted_by_delta():
    assert step_reward(SETUP, 0.9, -2.0, 10.0, departing=False, soc_after=0.5) == pytest.approx(0.18)
    assert step_reward(SETUP, 0.0, 5.0, 10.0, departing=False, soc_after=0.5) == 0.0
    with_anxiety = step_reward(SETUP, 0.5, 1.0, 10.0, departing=True, soc_after=0.5)
    assert with_anxiety == pytest.approx(-0.05 + SETUP.eta * 0.09)


def test_posoc_score_counts_discharge_and_the_departure_gap():
    assert posoc_score(SETUP, 0.9, -2.0, departing=False, soc_after=0.5) == pytest.approx(1.8)
    assert posoc_score(SETUP, 0.5, 4.0, departing=False, soc_after=0.5) == pytest.approx(-2.0)
    assert posoc_score(SETUP, 0.5, 0.0, departing=True, soc_after=0.7) == pytest.approx(0.1 * 42)


def test_draw_weights_clip_negative_scores():
    hourly = np.array([[1.0, 2.0], [-5.0, 1.0], [0.5, 0.5]])
    np.testing.assert_allclose(daily_scores(hourly), [3.0, -4.0, 1.0])
    np.testing.assert_allclose(draw_weights(daily_scores(hourly)), [0.75, 0.0, 0.25])
    np.testing.assert_allclose(draw_weights(np.array([-1.0, -2.0])), [0.5, 0.5])


def test_mining_fees_are_beta_times_positive_rewards():
    np.testing.assert_allclose(mining_fees(0.1, np.array([2.0, -1.0])), [0.2, 0.0])
    with pytest.raises(ValueError, match="beta"):
        mining_fees(0.0, np.array([1.0]))


def test_profit_vs_grid_for_buying_and_selling():
    assert profit_vs_grid(SETUP, 1.0, 10.0) == pytest.approx(20.0)
    assert profit_vs_grid(SETUP, -1.0, 10.0) == pytest.approx(100 * (8.0 - 6.0) / 6.0)
    assert profit_vs_grid(SETUP, 0.0, 10.0) == 0.0


def test_setup_rejects_bad_values():
    with pytest.raises(ValueError, match="soc_min"):
        V2VSetup(soc_min=0.9)
    with pytest.raises(ValueError, match="price_noise"):
        V2VSetup(price_noise="lognormal")
