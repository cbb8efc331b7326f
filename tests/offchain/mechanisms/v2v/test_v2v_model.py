"""The reproduction at a tiny budget: every figure and the three report lists; the report's helpers."""

import numpy as np
import pytest
from typer.testing import CliRunner

from offchain.cli import app
from offchain.mechanisms.v2v.learning import HourRecord
from offchain.mechanisms.v2v.model import V2VConfig, flatness, gain_with_ci, period_energy, run_model, \
    running_mean, write_report


def test_tiny_reproduction_writes_every_figure_and_the_three_lists(tmp_path):
    ticks = []
    config = V2VConfig(episodes=10, seeds=1, evs=3, fleet=4, eval_days=2, algorithms=False)
    result = run_model(config, lambda label, done, total: ticks.append((done, total)), workers=2)
    assert ticks == [(1, 3), (2, 3), (3, 3)]
    path = write_report(result, tmp_path)
    text = path.read_text()
    for heading in ("Inputs calibrated to the paper", "Reproduced results", "Choices where the paper is open"):
        assert heading in text
    assert {p.name for p in tmp_path.glob("*.png")} == {"fig4_6_training.png", "fig4_7_single_ev.png",
                                                         "fig4_8_fleet.png", "fig4_9_periods.png",
                                                         "fig4_11_baselines.png", "fig4_12_per_ev.png"}
    assert result.ev_rewards("FRL + delta (PPO)").shape == (1, 3)


def test_running_mean_and_flatness():
    np.testing.assert_allclose(running_mean(np.array([1.0, 3.0, 5.0]), window=2), [1.0, 2.0, 4.0])
    assert flatness(np.concatenate([np.linspace(0, 1, 50), np.ones(50)])) == pytest.approx(0.0)
    assert flatness(np.linspace(0, 1, 100)) > 0.1


def test_gain_with_ci_is_relative_to_the_baseline():
    gain, lo, hi = gain_with_ci(np.array([[1.1, 2.2]]), np.array([[1.0, 2.0]]))
    assert gain == pytest.approx(100 * 0.15 / 1.5) and lo < gain < hi


def test_period_energy_splits_charge_and_discharge():
    rec = [HourRecord(0, 0, 8, 0.5, -2.0, 0, 0, 0, False), HourRecord(0, 0, 12, 0.5, 3.0, 0, 0, 0, False),
           HourRecord(0, 0, 9, 0.5, 1.0, 0, 0, 0, False)]
    energy = period_energy(rec)
    assert energy[2] == (1.0, 2.0) and energy[1] == (3.0, 0.0) and energy[0] == (0.0, 0.0)


@pytest.mark.parametrize("args,message", [(["--episodes", "5"], "--episodes"), (["--seeds", "0"], "--seeds"),
                                          (["--evs", "2"], "--evs"), (["--workers", "0"], "--workers"),
                                          (["--chain-evs", "1"], "--chain-evs")])
def test_command_rejects_bad_options_in_one_line(tmp_path, args, message):
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["reproduce", "seed001-v2v", "--out", str(out), *args])
    assert result.exit_code != 0
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert not out.exists()
