"""Federated RL for the V2V hotspot (seed 001 ch. 4, Algorithm 4): one stable-baselines3 learner per EV, the
policy parameters averaged (unweighted FedAvg, eq. 4.19) after every round and sent back to every EV; and
the two baselines: a centralised DDPG without federation (CDDPG-like) and federated RL without delta.

A round is one learner update per EV: PPO and A2C collect `steps_per_round` hours of the EV's own days and
update; SAC and DDPG take `steps_per_round` hours with their usual per-step updates. The thesis averages once
per episode (one day, ~11 hours), too short a batch for PPO; a round of 10 days is used (docs/v2v.md).
Every learner is scored on the proposed reward (eq. 4.14 with delta), whatever reward it trained on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from stable_baselines3 import A2C, DDPG, PPO, SAC
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.noise import NormalActionNoise
from stable_baselines3.common.vec_env import DummyVecEnv

from offchain.algorithms.forecasting import fedavg
from offchain.workers.model_store import ModelStore, checksum_address

from .env import ParkingLotEnv
from .plan import EVDay, V2VSetup, sample_day

ALGORITHMS: dict[str, type[BaseAlgorithm]] = {"ppo": PPO, "sac": SAC, "a2c": A2C, "ddpg": DDPG}
#: Mean parked hours per day under Table 4.1 (arrival ~7, departure ~18): converts episodes to steps.
MEAN_EPISODE_HOURS = 11
#: The hours one round collects per EV (PPO/A2C rollout length).
STEPS_PER_ROUND = 110
NET = [64, 64]


@dataclass(frozen=True)
class Method:
    """One learner configuration: `algorithm` (a key of ALGORITHMS), whether the EVs average their policies
    (`federated`), whether delta is in the state and reward (`use_delta`) and whether one agent learns from
    every EV's data (`centralised`: the CDDPG-like baseline)."""

    label: str
    algorithm: str
    federated: bool = True
    use_delta: bool = True
    centralised: bool = False


PROPOSED = Method("FRL + delta (PPO)", "ppo")
CDDPG = Method("CDDPG (no FL)", "ddpg", federated=False, centralised=True)
FRL_NO_DELTA = Method("FRL without delta (PPO)", "ppo", use_delta=False)


@dataclass
class TrainingRun:
    """The outcome of :func:`train`: the learners (one per EV, or one shared), each EV's environment and the
    proposed reward of every finished training episode, per EV in order."""

    method: Method
    models: list[BaseAlgorithm]
    envs: list[ParkingLotEnv]
    episode_rewards: list[list[float]] = field(default_factory=list)

    def model_for(self, ev: int) -> BaseAlgorithm:
        """The learner EV `ev` acts with."""
        return self.models[0] if len(self.models) == 1 else self.models[ev]

    def curve(self) -> np.ndarray:
        """The mean over EVs of the k-th training episode's proposed reward, k = 0 .. shortest EV's count."""
        shortest = min(len(r) for r in self.episode_rewards)
        return np.mean([r[:shortest] for r in self.episode_rewards], axis=0)


def _make(algorithm: str, env, seed: int) -> BaseAlgorithm:
    kwargs: dict = {"seed": seed, "device": "cpu", "verbose": 0, "policy_kwargs": {"net_arch": NET}}
    if algorithm == "ppo":
        kwargs.update(n_steps=STEPS_PER_ROUND, batch_size=55, n_epochs=10, learning_rate=3e-4, gamma=0.95)
    elif algorithm == "a2c":
        kwargs.update(n_steps=10, learning_rate=7e-4, gamma=0.95)
    else:
        kwargs.update(learning_starts=STEPS_PER_ROUND, batch_size=64, gamma=0.95, buffer_size=50_000)
        if algorithm == "ddpg":  # DDPG explores only through added noise (SAC through its entropy term)
            kwargs["action_noise"] = NormalActionNoise(np.zeros(1), np.full(1, 0.2))
    return ALGORITHMS[algorithm]("MlpPolicy", env, **kwargs)


def _average(models: Sequence[BaseAlgorithm]) -> None:
    """Eq. 4.19: every model's policy parameters become their unweighted mean."""
    states = [m.policy.state_dict() for m in models]
    mean = fedavg(states, [1.0] * len(states))
    for m in models:
        m.policy.load_state_dict(mean)


def train(method: Method, *, evs: int, episodes: int, setup: V2VSetup = V2VSetup(), seed: int = 0,
          progress: Callable[[int], None] | None = None,
          after_round: Callable[[BaseAlgorithm], None] | None = None) -> TrainingRun:
    """Trains `method` for `evs` EVs, `episodes` days of experience per EV (rounded to whole rounds), seeded.

    `progress(hours)` is called after each round with the hours of experience it added (all EVs);
    `after_round(model)` after each FedAvg round of a federated method with a model holding the global policy.
    """
    torch.set_num_threads(1)
    rounds = max(1, episodes * MEAN_EPISODE_HOURS // STEPS_PER_ROUND)
    envs = [ParkingLotEnv(setup, use_delta=method.use_delta) for _ in range(evs)]
    for k, env in enumerate(envs):
        env.reset(seed=seed * 1000 + k)
    if method.centralised:
        vec = DummyVecEnv([(lambda e=e: e) for e in envs])
        vec.seed(seed * 1000)
        models = [_make(method.algorithm, vec, seed)]
        for _ in range(rounds):
            models[0].learn(STEPS_PER_ROUND * evs, reset_num_timesteps=False)
            if progress:
                progress(STEPS_PER_ROUND * evs)
    else:
        models = [_make(method.algorithm, env, seed * 1000 + k) for k, env in enumerate(envs)]
        if method.federated:
            _average(models)
        for _ in range(rounds):
            for model in models:
                model.learn(STEPS_PER_ROUND, reset_num_timesteps=False)
            if method.federated:
                _average(models)
                if after_round:
                    after_round(models[0])
            if progress:
                progress(STEPS_PER_ROUND * evs)
    return TrainingRun(method, models, envs, [list(env.returns) for env in envs])


def load_policy(method: Method, state: dict, setup: V2VSetup = V2VSetup()) -> BaseAlgorithm:
    """A learner of `method` holding the policy parameters `state` (e.g. a stored global model), for acting."""
    model = _make(method.algorithm, ParkingLotEnv(setup, use_delta=method.use_delta), 0)
    model.policy.load_state_dict(state)
    return model


def evaluation_days(setup: V2VSetup, evs: int, days: int, seed: int) -> list[list[EVDay]]:
    """Fixed evaluation days per EV (the same for every method), seeded apart from training."""
    rng = np.random.default_rng(10_000 + seed)
    return [[sample_day(setup, rng) for _ in range(days)] for _ in range(evs)]


@dataclass(frozen=True)
class HourRecord:
    """One hour of an evaluated episode: the EV, the day, the hour, SOC after, energy moved (kWh, + charge),
    the proposed reward ($), the PoSOC score and the profit over the grid (%), V2V price (cents/kWh)."""

    ev: int
    day: int
    hour: int
    soc: float
    energy_kwh: float
    reward: float
    score: float
    profit_pct: float
    departing: bool


def rollout(run: TrainingRun, days: list[list[EVDay]], setup: V2VSetup = V2VSetup()) -> list[HourRecord]:
    """Every EV's deterministic policy on its evaluation days; one record per parked hour."""
    records: list[HourRecord] = []
    for ev, ev_days in enumerate(days):
        env = ParkingLotEnv(setup, use_delta=run.method.use_delta, days=ev_days)
        model = run.model_for(ev)
        for d in range(len(ev_days)):
            obs, _ = env.reset()
            done = False
            while not done:
                action, _ = model.predict(obs, deterministic=True)
                obs, _, done, _, info = env.step(action)
                records.append(HourRecord(ev, d, info["hour"], info["soc"], info["energy_kwh"],
                                          info["proposed_reward"], info["score"], info["profit_pct"], done))
    return records


def mean_episode_reward(records: Sequence[HourRecord], evs: int) -> np.ndarray:
    """Each EV's mean proposed reward per evaluated episode ($)."""
    out = np.zeros(evs)
    for ev in range(evs):
        mine = [r for r in records if r.ev == ev]
        out[ev] = sum(r.reward for r in mine) / max(1, len({r.day for r in mine}))
    return out


def store_round(store: ModelStore, model: BaseAlgorithm) -> str:
    """Writes `model`'s policy (after FedAvg every EV holds the global one) to the model store; returns its
    content hash ("0x" + 64 hex)."""
    return store.put_global(model.policy.state_dict())


def round_record(store: ModelStore, version: int, content_hash: str, contributors: Sequence[str]
                 ) -> tuple[int, bytes, list[str], list[int]]:
    """``V2VModelRegistry.publishRound``'s arguments for FedAvg round `version`: the content hash, the EVs in
    ascending address order and a sample count of 1 each (eq. 4.19 is unweighted). Raises ModelStoreError when
    the stored model does not hash to `content_hash` (or is missing), before anything is sent."""
    store.load_global(content_hash)
    ordered = sorted((checksum_address(c) for c in contributors), key=lambda a: int(a, 16))
    return version, bytes.fromhex(content_hash[2:]), ordered, [1] * len(ordered)
