"""GaFitness (seed 003 Fig. 4.6 benchmark): the on-chain Ch4 PFL of one GA individual equals the Python PFL
(offchain/algorithms/pfl.py) of the same schedule; malformed schedules revert."""

import brownie
import numpy as np
import pytest
from contract_helpers import custom_error

from offchain.algorithms.pfl import pfl_total_variation


@pytest.fixture(scope="module")
def fitness(GaFitness, admin):
    return GaFitness.deploy({"from": admin})


def test_pfl_equals_the_python_total_variation(fitness):
    rng = np.random.default_rng(5)
    base = rng.integers(50_000, 250_000, 48)
    rates = rng.choice([3_000, 43_000], 7)
    masks = [int(m) for m in rng.integers(0, 2**48, 7)]
    load = base + sum(rate * np.array([(mask >> t) & 1 for t in range(48)]) for rate, mask in zip(rates, masks))
    expected = int(pfl_total_variation(load))
    assert fitness.pflOf([int(b) for b in base], [int(r) for r in rates], masks) == expected


@pytest.mark.parametrize("slots,rates,masks", [(0, 1, 1), (257, 1, 1), (48, 2, 1)])
def test_malformed_schedules_revert(fitness, slots, rates, masks):
    with brownie.reverts(custom_error("InvalidSchedule(uint256,uint256,uint256)", slots, rates, masks)):
        fitness.pflOf([1] * slots, [1] * rates, [1] * masks)
