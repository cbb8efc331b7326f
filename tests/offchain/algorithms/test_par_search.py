"""Seed 002's PAR, balance heuristic, penalty vector and best-first search (offchain.algorithms.par_search)."""

import numpy as np
import pytest

from offchain.algorithms.par_search import (
    SearchSettings,
    balance,
    best_first_schedule,
    one_minus_load_factor,
    par,
    penalty_vector,
    split_schedule,
)

RNG = np.random.default_rng(7)
PEAKED = np.array([0.0] * 6 + [10, 40, 90, 200, 120, 80, 60, 60, 50, 40, 30, 20, 10, 5, 2, 1, 0, 0], float)


def test_par_is_average_over_peak_and_complements_citylearn():
    assert par(np.full(24, 3.0)) == 1.0
    assert par(PEAKED) == pytest.approx(PEAKED.mean() / 200)
    assert one_minus_load_factor(PEAKED) == pytest.approx(1 - PEAKED.mean() / 200)
    assert par(np.zeros(24)) == 1.0
    days = RNG.uniform(0, 5, (4, 24))
    assert np.allclose(par(days), days.mean(1) / days.max(1))


def test_literal_eq12_is_identically_zero_and_corrected_is_100_when_flat():
    for _ in range(20):
        day = RNG.uniform(0, 100, 24)
        assert balance(day, "literal") == pytest.approx(0.0, abs=1e-9)
        assert balance(day) < 100
    assert balance(np.full(24, 7.0)) == pytest.approx(100.0)
    one_hour = np.zeros(24)
    one_hour[9] = 24.0  # |100 - 2400| once, 100 in the other 23 hours: mean 4600/24
    assert balance(one_hour) == pytest.approx(100 - (2300 + 23 * 100) / 24)


def test_penalties_map_excess_linearly_from_low_to_high():
    multipliers = penalty_vector(PEAKED)
    above = PEAKED > PEAKED.mean()
    assert np.all(multipliers[~above] == 1.0)
    assert multipliers[np.argmax(PEAKED)] == pytest.approx(1.5)
    least = np.where(above)[0][np.argmin(PEAKED[above])]
    assert multipliers[least] == pytest.approx(1.1)
    order = np.argsort(PEAKED[above])
    assert np.all(np.diff(multipliers[above][order]) >= 0)


def test_no_penalties_at_or_above_threshold_and_single_hour_gets_high():
    nearly_flat = np.full(24, 10.0)
    nearly_flat[3] = 11.0
    assert par(nearly_flat) > 0.85
    assert np.all(penalty_vector(nearly_flat) == 1.0)
    assert np.any(penalty_vector(nearly_flat, threshold=0.95) > 1.0)
    single = np.zeros(24)
    single[9] = 5.0
    vector = penalty_vector(single)
    assert vector[9] == 1.5 and np.all(np.delete(vector, 9) == 1.0)


@pytest.mark.parametrize("bad", [np.ones(23), np.ones(25)])
def test_penalty_vector_rejects_wrong_length(bad):
    with pytest.raises(ValueError, match="24"):
        penalty_vector(bad)


def test_search_conserves_energy_improves_v_and_reaches_target():
    result = best_first_schedule(PEAKED, SearchSettings(v_target=95.0, max_expansions=2_000))
    assert result.best.sum() == pytest.approx(PEAKED.sum())
    assert np.all(result.best >= 0)
    assert result.stopped == "target" and result.v_best >= 95.0 > result.v_start
    assert par(result.best) > par(PEAKED)


def test_search_stops_at_expansion_cap_and_is_deterministic():
    settings = SearchSettings(v_target=99.9, max_expansions=5)
    first, second = best_first_schedule(PEAKED, settings), best_first_schedule(PEAKED, settings)
    assert first.stopped == "expansions" and first.expansions == 5
    assert np.array_equal(first.best, second.best)


def test_search_with_literal_heuristic_has_no_guidance():
    result = best_first_schedule(PEAKED, SearchSettings(form="literal", max_expansions=20))
    assert result.v_best == pytest.approx(0.0, abs=1e-9)
    assert np.array_equal(result.best, PEAKED)


def test_split_follows_weights_and_sums_to_aggregate():
    aggregate = RNG.uniform(1, 5, 24)
    weights = np.array([1.0, 3.0, 0.0])
    parts = split_schedule(aggregate, weights)
    assert np.allclose(parts.sum(0), aggregate)
    assert np.allclose(parts.sum(1), aggregate.sum() * weights / 4)
    assert np.all(split_schedule(aggregate, np.zeros(3)) == 0)
