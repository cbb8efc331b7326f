"""Seeded synthetic instances for seed 001, chapter 3."""

import numpy as np
import pytest

from offchain.data.seed001 import (
    AREA_KM,
    DISTRIBUTIONS,
    MEAN_CONSUMPTION_KWH,
    MEAN_GENERATION_KWH,
    SD_KWH,
    clipped_parameters,
    daily_energy_kwh,
    prosumer_addresses,
    scaling_instance,
    ten_prosumer_instance,
)


def test_ten_prosumer_instance_has_five_sellers_and_five_buyers_on_the_square():
    frame = ten_prosumer_instance()
    surplus = frame["production_kwh"] > frame["consumption_kwh"]
    assert len(frame) == 10 and surplus.sum() == 5
    assert frame[["x_km", "y_km"]].to_numpy().min() >= 0 and frame[["x_km", "y_km"]].to_numpy().max() <= AREA_KM
    assert frame.attrs["centre_km"] == (10.0, 10.0)
    assert ten_prosumer_instance().equals(frame)
    assert not ten_prosumer_instance(seed=2).equals(frame)


def test_scaling_instances_are_reproducible_and_distinct():
    a = scaling_instance(30, "uniform", 4)
    assert a.equals(scaling_instance(30, "uniform", 4))
    assert not a.equals(scaling_instance(30, "uniform", 5))
    assert not a.equals(scaling_instance(30, "normal", 4))
    assert not a.equals(scaling_instance(30, "uniform", 4, moments="underlying"))
    assert len(a) == 30 and (a[["production_kwh", "consumption_kwh"]] >= 0).all().all()


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
@pytest.mark.parametrize("mean", [MEAN_GENERATION_KWH, MEAN_CONSUMPTION_KWH])
def test_realised_draws_have_the_thesis_mean_and_sd(distribution, mean):
    values = daily_energy_kwh(np.random.default_rng(0), 400_000, mean, SD_KWH, distribution)
    assert values.min() >= 0
    assert values.mean() == pytest.approx(mean, rel=0.01)
    assert values.std() == pytest.approx(SD_KWH, rel=0.01)


def test_clipping_the_stated_parameters_raises_the_mean():
    rng = np.random.default_rng(0)
    for distribution in ("normal", "uniform"):
        values = daily_energy_kwh(rng, 400_000, MEAN_GENERATION_KWH, SD_KWH, distribution, moments="underlying")
        assert values.mean() > 1.08 * MEAN_GENERATION_KWH  # 8.2 kWh instead of 7.45
        assert values.std() < 0.9 * SD_KWH
        assert values.min() == 0.0
    # realised moments: the location moves down and the scale up, so more draws are clipped to 0
    location, scale = clipped_parameters("normal", MEAN_GENERATION_KWH, SD_KWH)
    assert location < MEAN_GENERATION_KWH and scale > SD_KWH
    uniform_location, uniform_scale = clipped_parameters("uniform", MEAN_CONSUMPTION_KWH, SD_KWH)
    realised = daily_energy_kwh(rng, 200_000, MEAN_CONSUMPTION_KWH, SD_KWH, "uniform")
    assert realised.max() <= uniform_location + uniform_scale * np.sqrt(3)
    lognormal = daily_energy_kwh(np.random.default_rng(1), 1000, 7.45, 8.0, "lognormal", moments="underlying")
    assert np.array_equal(lognormal, daily_energy_kwh(np.random.default_rng(1), 1000, 7.45, 8.0, "lognormal"))


def test_bad_distribution_arguments_are_rejected():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError):
        daily_energy_kwh(rng, 3, 1.0, 1.0, "gamma")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        daily_energy_kwh(rng, 3, 1.0, 1.0, "normal", moments="sample")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        clipped_parameters("lognormal", 1.0, 1.0)


def test_addresses_are_checksummed_distinct_and_not_in_index_order():
    addresses = prosumer_addresses(20)
    assert len(set(addresses)) == 20 and all(a.startswith("0x") and len(a) == 42 for a in addresses)
    keys = [int(a, 16) for a in addresses]
    assert keys != sorted(keys)
    assert prosumer_addresses(20) == addresses and prosumer_addresses(20, seed=1) != addresses
