"""Seed-000 data: the calibrated synthetic microgrid and the uGIM CSV loader."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from offchain.data.seed000 import (
    AGENTS,
    STEPS_PER_DAY,
    TABLE_I,
    DataError,
    UgimLayout,
    frames_to_wh,
    load_ugim,
    synthetic_microgrid,
)


@pytest.fixture(scope="module")
def grid():
    return synthetic_microgrid()


def test_sum_of_absolute_net_matches_table_i_column_1(grid):
    agents, consumption, production = frames_to_wh(grid.frames)
    assert agents == AGENTS
    assert consumption.shape == (5, STEPS_PER_DAY)
    for agent, abs_net in zip(agents, np.abs(production - consumption).sum(axis=1)):
        assert abs_net / 1000 == pytest.approx(TABLE_I[agent][0], rel=1e-4), agent


def test_isolated_benefit_is_calibrated_to_table_i(grid):
    calibration = grid.calibration.set_index("agent")
    for agent in AGENTS:
        reached = calibration.loc[agent, "isolated_benefit_kwh"]
        assert reached == pytest.approx(TABLE_I[agent][2], rel=0.15), agent
    benefits = calibration["isolated_benefit_kwh"]
    assert benefits.idxmax() == "Z0" and benefits.idxmin() == "L2"
    assert calibration.loc["L2", "isolated_benefit_kwh"] == 8.35  # its EV's initial stock, exactly


def test_agents_have_the_papers_shapes(grid):
    calibration = grid.calibration.set_index("agent")
    peaks = calibration["peak_production_kwh"]
    assert peaks["L2"] == 0 and calibration.loc["L2", "production_kwh"] == 0
    assert calibration["consumption_kwh"].idxmax() == "L2"
    assert peaks.sort_values().index[-2:].tolist() == ["R2", "Z0"]  # R2 is the next-largest producer
    assert 2.5 <= peaks["Z0"] / peaks["R2"] <= 3.5
    for agent in ("L1", "L3", "R2", "Z0"):
        production = grid.frames[agent]["production_kwh"].to_numpy()
        hourly = production.reshape(24, -1).sum(axis=1)
        assert abs(int(hourly.argmax()) - 12) <= 1, agent  # PV peaks around step 4320
        assert production[: 4 * 360].sum() == 0  # no sun before 04:00


def test_frames_hold_whole_wh_and_the_history_ends_before_the_day(grid):
    for agent, frame in grid.frames.items():
        assert frame.columns.tolist() == ["step", "time_s", "consumption_kwh", "production_kwh"]
        values = frame[["consumption_kwh", "production_kwh"]].to_numpy()
        assert (values >= 0).all()
        assert np.allclose(values * 1000, np.rint(values * 1000), atol=1e-9)
        history = grid.history[agent]
        assert len(history) == STEPS_PER_DAY and history["step"].iloc[-1] == -1
        assert not np.array_equal(history["consumption_kwh"].to_numpy(), frame["consumption_kwh"].to_numpy())


def test_generation_is_deterministic_per_seed(grid):
    again = synthetic_microgrid()
    other = synthetic_microgrid(seed=1, history_days=0)
    assert all(again.frames[a].equals(grid.frames[a]) for a in AGENTS)
    assert not other.frames["Z0"].equals(grid.frames["Z0"])
    assert other.history == {}
    # A different seed is calibrated to the same totals.
    _, consumption, production = frames_to_wh(other.frames)
    assert np.abs(production - consumption).sum(axis=1)[4] / 1000 == pytest.approx(TABLE_I["Z0"][0], rel=1e-4)


def test_returned_frames_are_copies():
    first = synthetic_microgrid()
    first.frames["L1"].loc[0, "consumption_kwh"] = 99.0
    assert synthetic_microgrid().frames["L1"].loc[0, "consumption_kwh"] != 99.0


def write_ugim(folder, agent: str, timestamps: pd.DatetimeIndex, load, pv, columns=("Date", "Consumption", "Production")):
    """A tiny CSV in the layout UgimLayout describes (by default its assumed column names)."""
    pd.DataFrame(
        {columns[0]: timestamps.strftime("%Y-%m-%d %H:%M:%S"), columns[1]: load, columns[2]: pv}
    ).to_csv(folder / f"{agent}.csv", index=False)


def test_ugim_loader_reads_a_day_and_its_history(tmp_path):
    start = pd.Timestamp("2019-08-04")
    stamps = pd.date_range(start, start + pd.Timedelta(days=2), freq="10s", inclusive="left")
    rng = np.random.default_rng(0)
    consumption = rng.uniform(100, 900, len(stamps)).round()  # W
    production = rng.uniform(0, 2_000, len(stamps)).round()
    production[5] = -3.0  # a negative meter glitch
    keep = np.ones(len(stamps), dtype=bool)
    keep[STEPS_PER_DAY + 100 : STEPS_PER_DAY + 103] = False  # a 30-s gap inside the day
    write_ugim(tmp_path, "L1", stamps[keep], consumption[keep], production[keep])
    write_ugim(tmp_path, "Z0", stamps, consumption, production)

    data = load_ugim(tmp_path, "2019-08-05", agents=("L1", "Z0"), layout=UgimLayout(power_unit="W"))
    assert data.agents == ("L1", "Z0")
    day = data.frames["Z0"]
    assert len(day) == STEPS_PER_DAY and day["step"].iloc[0] == 0
    # kW samples read as kWh* per step (the paper's reading), whole Wh: 1 W -> 1 Wh*.
    assert day["consumption_kwh"].to_numpy() == pytest.approx(consumption[STEPS_PER_DAY:] / 1000)
    assert data.history["Z0"]["production_kwh"].iloc[5] == 0.0  # clipped
    gap = data.frames["L1"]["consumption_kwh"].to_numpy()[100:103]
    assert gap == pytest.approx([consumption[STEPS_PER_DAY + 99] / 1000] * 3)  # held from the last sample
    _, cons_wh, _ = frames_to_wh(data.frames)
    assert cons_wh[1, :3].tolist() == consumption[STEPS_PER_DAY : STEPS_PER_DAY + 3].astype(int).tolist()
    assert data.calibration.set_index("agent").loc["Z0", "abs_net_kwh"] == pytest.approx(
        np.abs(production[STEPS_PER_DAY:] - consumption[STEPS_PER_DAY:]).sum() / 1000
    )


def test_ugim_loader_scales_to_true_energy_and_names_columns(tmp_path):
    start = pd.Timestamp("2019-08-06")
    stamps = pd.date_range(start, start + pd.Timedelta(days=1), freq="10s", inclusive="left")
    write_ugim(tmp_path, "R2", stamps, np.full(len(stamps), 3.6), np.zeros(len(stamps)), ("t", "load_kW", "pv_kW"))
    layout = UgimLayout(timestamp="t", consumption="load_kW", production="pv_kW", value_scale=1 / 360)
    data = load_ugim(tmp_path, start, agents=("R2",), layout=layout, history_days=0)
    assert data.frames["R2"]["consumption_kwh"].iloc[0] == 0.01  # 3.6 kW for 10 s = 10 Wh
    assert data.history == {}


def test_ugim_loader_names_what_is_missing(tmp_path):
    with pytest.raises(DataError, match="no uGIM file"):
        load_ugim(tmp_path, "2019-08-05", agents=("L1",))
    pd.DataFrame({"Date": ["2019-08-05 00:00:00"], "Load": [1.0]}).to_csv(tmp_path / "L1.csv", index=False)
    with pytest.raises(DataError, match="lacks columns"):
        load_ugim(tmp_path, "2019-08-05", agents=("L1",), history_days=0)
    with pytest.raises(DataError):
        UgimLayout(power_unit="MW")
