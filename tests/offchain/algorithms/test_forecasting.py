"""Federated LSTM forecasting (seed 000): model shapes, FedAvg, round records, privacy boundary, modes."""

from __future__ import annotations

import hashlib
import pickle
import struct
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from offchain.algorithms import forecasting as fc
from offchain.algorithms.forecasting import (
    CONSUMPTION,
    NET,
    PRODUCTION,
    FedAvgAggregator,
    FederatedConfig,
    FederatedForecaster,
    ForecastError,
    LocalTrainer,
    ModelUpdate,
    PeriodLSTM,
    fedavg,
    forecast_day,
    forecast_errors,
    make_forecaster,
    new_global_state,
    period_totals,
    run_forecaster,
    state_hash,
)

SMALL = {"aggregate_every": 10, "buffer_periods": 40}


def sine_frames(n_periods: int, agents=("A", "B"), seed: int = 0, noise: float = 0.02) -> dict[str, pd.DataFrame]:
    """10-s frames whose consumption and production follow phase-shifted sines (cycle = 120 periods)."""
    rng = np.random.default_rng(seed)
    steps = np.arange(n_periods * 6)
    frames = {}
    for k, agent in enumerate(agents):
        phase = 2 * np.pi * steps / (6 * 120) + k
        consumption = (1 + 0.5 * np.sin(phase)) * (k + 1) * (1 + noise * rng.normal(size=steps.size))
        production = np.clip(np.sin(phase + 1), 0, None) * 2 * (1 + noise * rng.normal(size=steps.size))
        frames[agent] = pd.DataFrame({"step": steps, CONSUMPTION: consumption, PRODUCTION: np.abs(production)})
    return frames


# --- model -------------------------------------------------------------------------------------


def test_lstm_shapes_and_parameter_count():
    model = PeriodLSTM(hidden_size=32, num_layers=2)
    out = model(torch.randn(7, 3, 3))
    assert out.shape == (7, 2)
    assert sum(p.numel() for p in model.parameters()) == 13_250  # spec §3.10
    assert model.lstm.num_layers == 2 and model.lstm.hidden_size == 32 and model.lstm.input_size == 3


def test_untrained_residual_model_is_persistence():
    windows = torch.randn(5, 3, 3)
    assert torch.equal(PeriodLSTM(residual=True)(windows), windows[:, -1, 1:])
    assert not torch.allclose(PeriodLSTM(residual=False)(windows), windows[:, -1, 1:])


def test_global_init_depends_on_seed_only_and_leaves_global_rng_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = new_global_state(FederatedConfig(seed=5))
    after = torch.rand(1)
    b = new_global_state(FederatedConfig(seed=5))
    c = new_global_state(FederatedConfig(seed=6))
    assert torch.equal(before, after)
    assert state_hash(a) == state_hash(b) != state_hash(c)


# --- FedAvg and hashes ------------------------------------------------------------------------


def constant_state(value: float) -> dict[str, torch.Tensor]:
    return {name: torch.full_like(t, value) for name, t in new_global_state(FederatedConfig()).items()}


def test_fedavg_weighted_average_of_two_known_models():
    averaged = fedavg([constant_state(1.0), constant_state(3.0)], [1, 3])
    assert all(torch.equal(t, torch.full_like(t, 2.5)) for t in averaged.values())
    assert all(t.dtype == torch.float32 for t in averaged.values())


def test_fedavg_of_two_lstms_is_elementwise_mean():
    a, b = new_global_state(FederatedConfig(seed=1)), new_global_state(FederatedConfig(seed=2))
    averaged = fedavg([a, b], [7, 7])
    for name in a:
        assert torch.allclose(averaged[name], (a[name] + b[name]) / 2, atol=1e-7)


def test_fedavg_rejects_bad_weights_and_mismatched_states():
    with pytest.raises(ForecastError):
        fedavg([constant_state(1.0)], [0])
    with pytest.raises(ForecastError):
        fedavg([constant_state(1.0), constant_state(2.0)], [1])
    with pytest.raises(ForecastError):
        fedavg([constant_state(1.0), {"other": torch.zeros(1)}], [1, 1])


def test_aggregator_weighting_and_round_record():
    aggregator = FedAvgAggregator(constant_state(0.0), weighting="samples")
    genesis = aggregator.rounds[0]
    assert (genesis.version, genesis.contributors, genesis.period) == (0, (), None)
    record = aggregator.aggregate(
        [ModelUpdate("Z0", 3, constant_state(3.0)), ModelUpdate("L1", 1, constant_state(1.0))], period=29
    )
    assert (record.version, record.contributors, record.sample_counts, record.period) == (1, ("L1", "Z0"), (1, 3), 29)
    assert record.content_hash == state_hash(aggregator.global_state())
    assert all(torch.equal(t, torch.full_like(t, 2.5)) for t in aggregator.global_state().values())

    uniform = FedAvgAggregator(constant_state(0.0), weighting="uniform")
    uniform.aggregate([ModelUpdate("Z0", 3, constant_state(3.0)), ModelUpdate("L1", 1, constant_state(1.0))])
    assert all(torch.equal(t, torch.full_like(t, 2.0)) for t in uniform.global_state().values())

    with pytest.raises(ForecastError):
        aggregator.aggregate([ModelUpdate("L1", 1, constant_state(1.0)), ModelUpdate("L1", 2, constant_state(1.0))])


def test_state_hash_follows_the_documented_canonical_encoding():
    state = {"b": torch.tensor([[1.0, -2.0]]), "a": torch.tensor([0.5])}
    expected = hashlib.sha256()
    for name, dims, values in (("a", (1,), [0.5]), ("b", (1, 2), [1.0, -2.0])):
        expected.update(struct.pack(">I", len(name)) + name.encode())
        expected.update(struct.pack(">I", len(dims)) + b"".join(struct.pack(">Q", d) for d in dims))
        expected.update(struct.pack(f"<{len(values)}f", *values))
    assert state_hash(state) == "0x" + expected.hexdigest()


def test_state_hash_ignores_insertion_order_and_sees_one_changed_value():
    state = new_global_state(FederatedConfig())
    reordered = dict(reversed(list(state.items())))
    assert state_hash(reordered) == state_hash(state)
    changed = {name: t.clone() for name, t in state.items()}
    changed["head.bias"][0] += 1e-6
    assert state_hash(changed) != state_hash(state)


def test_state_hash_is_stable_across_processes():
    code = (
        "from offchain.algorithms.forecasting import FederatedConfig, new_global_state, state_hash;"
        "print(state_hash(new_global_state(FederatedConfig(seed=3))))"
    )
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert other == state_hash(new_global_state(FederatedConfig(seed=3)))


# --- the federated forecaster -----------------------------------------------------------------


def test_rounds_record_version_hash_and_contributors():
    frames = sine_frames(35, agents=("L1", "Z0", "R2"))
    forecaster = FederatedForecaster(list(frames), SMALL)
    run_forecaster(forecaster, period_totals(frames))
    rounds = forecaster.rounds
    assert [r.version for r in rounds] == [0, 1, 2, 3]
    assert [r.period for r in rounds] == [None, 9, 19, 29]
    assert all(r.contributors == ("L1", "R2", "Z0") for r in rounds[1:])
    # the first window needs 3 periods, so the first round trained on 10 - 3 windows per client
    assert rounds[1].sample_counts == (7, 7, 7) and rounds[2].sample_counts == (10, 10, 10)
    assert len({r.content_hash for r in rounds}) == len(rounds)
    assert rounds[-1].content_hash == state_hash(forecaster.aggregator.global_state())


def test_clients_load_the_global_model_after_a_round():
    frames = sine_frames(10, agents=("A", "B"))
    forecaster = FederatedForecaster(list(frames), SMALL)
    run_forecaster(forecaster, period_totals(frames))
    published = forecaster.rounds[-1].content_hash
    assert forecaster.rounds[-1].version == 1
    for agent in frames:
        update = forecaster._trainer(agent).update()
        assert state_hash(update.state) == published and update.n_samples == 0


def test_aggregator_receives_parameters_only_never_raw_data():
    sentinel_consumption, sentinel_production = 1234.5678, 8765.4321
    trainer = LocalTrainer("L1", new_global_state(FederatedConfig()), FederatedConfig(**SMALL))
    for period in range(12):
        trainer.observe(period, sentinel_consumption + period, sentinel_production + period)
    update = trainer.update()

    assert set(vars(update)) == {"contributor", "n_samples", "state"}
    model_names = dict(PeriodLSTM().state_dict())
    assert set(update.state) == set(model_names)
    assert all(update.state[n].shape == model_names[n].shape for n in model_names)
    parameters = [p.data_ptr() for p in trainer._model.parameters()]
    assert not any(t.data_ptr() in parameters for t in update.state.values())  # copies, not live views

    blob = pickle.dumps(update)
    for period in range(12):
        for value in (sentinel_consumption + period, sentinel_production + period):
            assert struct.pack("<d", value) not in blob and struct.pack("<f", value) not in blob
            assert repr(value).encode() not in blob


def test_forecast_must_follow_the_last_observation():
    forecaster = FederatedForecaster(["A"], SMALL)
    assert forecaster.predict("A", 0) == (0.0, 0.0)  # cold start: nothing observed yet
    forecaster.observe("A", 0, 1.0, 0.0)
    with pytest.raises(ForecastError, match="next is 1"):
        forecaster.predict("A", 0)  # would be a forecast of an already observed period
    with pytest.raises(ForecastError, match="expected 1"):
        forecaster.observe("A", 2, 1.0, 0.0)
    with pytest.raises(ForecastError):
        forecaster.observe("A", 1, -1.0, 0.0)
    with pytest.raises(ForecastError, match="unknown agent"):
        forecaster.predict("B", 1)


def test_federated_day_is_deterministic_with_a_seed():
    frames = sine_frames(40)
    first = forecast_day(frames, "federated", {**SMALL, "seed": 7})
    second = forecast_day(frames, "federated", {**SMALL, "seed": 7})
    other = forecast_day(frames, "federated", {**SMALL, "seed": 8})
    pd.testing.assert_frame_equal(first, second, check_exact=True)
    assert first.attrs["model_rounds"] == second.attrs["model_rounds"]
    assert not np.array_equal(first[CONSUMPTION].to_numpy(), other[CONSUMPTION].to_numpy())


def test_forecast_day_restores_torch_runtime_settings():
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    forecast_day(sine_frames(5), "federated", {**SMALL, "num_threads": 1, "deterministic": not deterministic})
    assert torch.get_num_threads() == threads
    assert torch.are_deterministic_algorithms_enabled() == deterministic


def test_online_federated_forecast_beats_persistence():
    frames = sine_frames(240)
    actual = period_totals(frames)
    predicted = forecast_day(frames, "federated", {"periods_per_day": 240})
    persistence = actual.assign(
        **{c: actual.groupby("agent")[c].shift(1).fillna(0.0) for c in (CONSUMPTION, PRODUCTION, NET)}
    )
    second_half = actual["period"] >= 120
    for column in (CONSUMPTION, PRODUCTION):
        model_error = (predicted[column] - actual[column]).abs()[second_half].mean()
        naive_error = (persistence[column] - actual[column]).abs()[second_half].mean()
        assert model_error < 0.8 * naive_error, column


def test_history_warms_up_the_trainers_before_the_day():
    history, day = sine_frames(30, seed=1), sine_frames(20, seed=2)
    cold = forecast_day(day, "federated", SMALL)
    warm = forecast_day(day, "federated", {**SMALL, "periods_per_day": 1440}, history=history)
    assert len(cold.attrs["model_rounds"]) == 1 + 2 and len(warm.attrs["model_rounds"]) == 1 + 5
    # history periods are numbered so that they end right before period 0 of the day
    assert [r.period for r in warm.attrs["model_rounds"][1:4]] == [1419, 1429, 1439]
    assert warm.loc[0, CONSUMPTION] > 0 and cold.loc[0, CONSUMPTION] == 0
    with pytest.raises(ForecastError, match="history"):
        forecast_day(day, "federated", SMALL, history={"A": history["A"]})


# --- perfect mode, the factory, days and caching ---------------------------------------------


def test_perfect_mode_returns_the_truth_exactly():
    frames = sine_frames(30, agents=("L1", "L2", "Z0"))
    predicted = forecast_day(frames, "perfect")
    pd.testing.assert_frame_equal(predicted, period_totals(frames), check_exact=True)
    assert predicted.attrs["model_rounds"] == ()


def test_period_totals_sum_six_steps():
    frame = pd.DataFrame({CONSUMPTION: np.arange(12.0), PRODUCTION: np.ones(12)})
    totals = period_totals({"A": frame})
    assert totals[CONSUMPTION].tolist() == [15.0, 51.0]
    assert totals[PRODUCTION].tolist() == [6.0, 6.0]
    assert totals[NET].tolist() == [-9.0, -45.0]
    with pytest.raises(ForecastError, match="multiple of 6"):
        period_totals({"A": frame.iloc[:7]})
    with pytest.raises(ForecastError, match="lacks columns"):
        period_totals({"A": frame.drop(columns=[PRODUCTION])})
    with pytest.raises(ForecastError, match="negative"):
        period_totals({"A": frame.assign(**{PRODUCTION: -1.0})})


def test_make_forecaster_modes_and_errors():
    frames = sine_frames(4)
    perfect = make_forecaster("perfect", list(frames), truth=frames)
    assert perfect.predict("A", 2) == tuple(period_totals(frames).iloc[2][[CONSUMPTION, PRODUCTION]])
    federated = make_forecaster("federated", list(frames), aggregate_every=3, learning_rate=1e-2)
    assert isinstance(federated, FederatedForecaster) and federated.cfg.aggregate_every == 3
    with pytest.raises(ForecastError, match="truth"):
        make_forecaster("perfect", ["A"])
    with pytest.raises(ForecastError, match="lacks agents"):
        make_forecaster("perfect", ["A", "Q"], truth=frames)
    with pytest.raises(ForecastError, match="unknown forecast mode"):
        make_forecaster("oracle", ["A"], truth=frames)  # type: ignore[arg-type]
    with pytest.raises(ForecastError, match="unknown forecasting config keys"):
        make_forecaster("federated", ["A"], learnig_rate=1.0)
    with pytest.raises(ForecastError, match="buffer_periods"):
        FederatedConfig(buffer_periods=3)


def test_forecast_day_cache_is_reused(tmp_path, monkeypatch):
    frames = sine_frames(12)
    first = forecast_day(frames, "federated", SMALL, cache_dir=tmp_path)
    assert len(list(tmp_path.iterdir())) == 1

    def must_not_run(*args, **kwargs):
        raise AssertionError("the cached forecast should have been read")

    monkeypatch.setattr(fc, "run_forecaster", must_not_run)
    again = forecast_day(frames, "federated", SMALL, cache_dir=tmp_path)
    pd.testing.assert_frame_equal(first, again, check_exact=True)
    assert again.attrs["model_rounds"] == first.attrs["model_rounds"]
    with pytest.raises(AssertionError, match="cached"):
        forecast_day(frames, "federated", {**SMALL, "seed": 1}, cache_dir=tmp_path)


def test_forecast_errors_on_a_known_offset():
    actual = period_totals(sine_frames(10, agents=("A",)))
    predicted = actual.assign(**{CONSUMPTION: actual[CONSUMPTION] + 0.5, NET: actual[NET] - 0.5})
    errors = forecast_errors(predicted, actual).iloc[0]
    assert errors["mae_consumption_kwh"] == pytest.approx(0.5)
    assert errors["mae_production_kwh"] == 0.0
    assert errors["total_consumption_error_pct"] == pytest.approx(100 * 5.0 / actual[CONSUMPTION].sum())
    with pytest.raises(ForecastError):
        forecast_errors(predicted.iloc[:-1], actual)
