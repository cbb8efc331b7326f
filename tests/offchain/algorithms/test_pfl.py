"""PFL metrics of seed 003: each definition against a hand computation and its invariances."""

import numpy as np
import pytest

from offchain.algorithms import pfl


def test_log_range_matches_the_thesis_reading():
    # Ch3's uncontrolled figures: peak 329.5, min 58.5 and PFL 0.56 imply a mean of about 155 kVA.
    curve = np.array([58.5, 329.5, 76.0])
    assert pfl.pfl_log_range(curve) == pytest.approx(np.log(271.0 / curve.mean()))
    assert pfl.pfl_log_range(curve, base=10) == pytest.approx(np.log10(271.0 / curve.mean()))


def test_log_range_is_scale_invariant_and_minus_infinity_when_flat():
    rng = np.random.default_rng(3)
    curve = rng.uniform(50, 300, 48)
    assert pfl.pfl_log_range(3.7 * curve) == pytest.approx(pfl.pfl_log_range(curve))
    assert pfl.pfl_log_range(np.full(48, 100.0)) == -np.inf


def test_total_variation_slope_variance_and_squared_diff():
    curve = np.array([1.0, 3.0, 2.0, 2.0, 6.0])
    steps = np.array([2.0, -1.0, 0.0, 4.0])
    assert pfl.pfl_total_variation(curve) == pytest.approx(7.0)
    assert pfl.pfl_total_variation(curve, scale=1e-3) == pytest.approx(7e-3)
    assert pfl.pf_slope_variance(curve) == pytest.approx(np.mean((steps - steps.mean()) ** 2))
    assert pfl.pfl_squared_diff(curve, dt_h=0.5) == pytest.approx(0.5 * 21.0)


def test_fluctuation_metrics_ignore_a_constant_offset():
    rng = np.random.default_rng(4)
    curve = rng.uniform(0, 10, 48)
    for metric in (pfl.pfl_total_variation, pfl.pf_slope_variance, pfl.pfl_squared_diff):
        assert metric(curve + 25.0) == pytest.approx(metric(curve))


def test_peak_minimum_load_factor_and_par():
    curve = np.array([2.0, 4.0, 6.0])
    assert pfl.peak(curve) == 6.0 and pfl.minimum(curve) == 2.0 and pfl.mean_load(curve) == 4.0
    assert pfl.load_factor(curve) == pytest.approx(4 / 6)
    assert pfl.peak_to_average(curve) == pytest.approx(1.5)
    assert pfl.one_minus_load_factor(curve) == pytest.approx(1 - 4 / 6)


def test_metrics_work_along_the_last_axis():
    curves = np.array([[1.0, 2.0, 4.0], [5.0, 5.0, 2.0]])
    np.testing.assert_allclose(pfl.pfl_total_variation(curves), [3.0, 3.0])
    np.testing.assert_allclose(pfl.peak(curves), [4.0, 5.0])
    np.testing.assert_allclose(pfl.pfl_log_range(curves), np.log([3 / (7 / 3), 3 / 4]))


def test_named_definitions_dispatch():
    curve = [1.0, 2.0, 4.0]
    assert pfl.pfl(curve, "ch4-total-variation") == pfl.pfl_total_variation(curve)
    assert set(pfl.PFL_DEFINITIONS) == {"ch3-log-range", "ch4-total-variation", "ch5-slope-variance", "ch6-squared-diff"}
    with pytest.raises(ValueError, match="unknown PFL definition"):
        pfl.pfl(curve, "ch7")


@pytest.mark.parametrize(
    "call",
    [
        lambda: pfl.pfl_log_range([1.0]),
        lambda: pfl.pfl_log_range([-1.0, -2.0]),
        lambda: pfl.pfl_total_variation([1.0, np.nan]),
        lambda: pfl.pfl_squared_diff([1.0, 2.0], dt_h=0),
        lambda: pfl.load_factor([0.0, 0.0]),
        lambda: pfl.peak_to_average([-1.0, 0.5]),
    ],
)
def test_bad_curves_are_refused(call):
    with pytest.raises(ValueError):
        call()
