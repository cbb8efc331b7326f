"""Seeded synthetic instances for seed 001, chapter 3."""

import numpy as np
import pytest

from offchain.data.seed001 import (
    AREA_KM,
    MEAN_CONSUMPTION_KWH,
    MEAN_GENERATION_KWH,
    SD_KWH,
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
    assert len(a) == 30 and (a[["production_kwh", "consumption_kwh"]] >= 0).all().all()


def test_lognormal_has_the_thesis_mean_and_sd_and_uniform_its_range():
    rng = np.random.default_rng(0)
    values = daily_energy_kwh(rng, 200_000, MEAN_GENERATION_KWH, SD_KWH, "lognormal")
    assert values.mean() == pytest.approx(MEAN_GENERATION_KWH, rel=0.02)
    assert values.std() == pytest.approx(SD_KWH, rel=0.05)
    uniform = daily_energy_kwh(rng, 200_000, MEAN_CONSUMPTION_KWH, SD_KWH, "uniform")
    assert uniform.max() <= MEAN_CONSUMPTION_KWH + SD_KWH * np.sqrt(3)
    assert uniform.min() == 0.0  # the lower half-width reaches below zero and is clipped
    with pytest.raises(ValueError):
        daily_energy_kwh(rng, 3, 1.0, 1.0, "gamma")  # type: ignore[arg-type]


def test_addresses_are_checksummed_distinct_and_not_in_index_order():
    addresses = prosumer_addresses(20)
    assert len(set(addresses)) == 20 and all(a.startswith("0x") and len(a) == 42 for a in addresses)
    keys = [int(a, 16) for a in addresses]
    assert keys != sorted(keys)
    assert prosumer_addresses(20) == addresses and prosumer_addresses(20, seed=1) != addresses
