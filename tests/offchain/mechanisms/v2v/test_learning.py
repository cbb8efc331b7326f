"""Federated RL: FedAvg makes every EV's policy the unweighted mean, the baselines' shapes, rollouts, and the
trained policy's pattern (sells on-peak, buys in the other periods) on a small seeded budget."""

import numpy as np
import pytest
import torch

from offchain.mechanisms.v2v.learning import CDDPG, FRL_NO_DELTA, PROPOSED, Method, evaluation_days, \
    mean_episode_reward, rollout, round_record, store_round, train
from offchain.mechanisms.v2v.plan import ON, V2VSetup, tou_period
from offchain.workers.model_store import ModelStore, ModelStoreError

SETUP = V2VSetup()


def _states(run):
    return [run.models[k].policy.state_dict() for k in range(len(run.models))]


def test_fedavg_leaves_every_ev_with_the_same_policy():
    run = train(PROPOSED, evs=2, episodes=10, seed=3)
    first, second = _states(run)
    assert all(torch.equal(first[name], second[name]) for name in first)
    assert all(len(r) > 0 for r in run.episode_rewards)


def test_without_federation_policies_differ():
    run = train(Method("local PPO", "ppo", federated=False), evs=2, episodes=10, seed=3)
    first, second = _states(run)
    assert any(not torch.equal(first[name], second[name]) for name in first)


def test_cddpg_is_one_centralised_learner_and_frl_without_delta_hides_delta():
    cddpg = train(CDDPG, evs=2, episodes=10, seed=1)
    assert len(cddpg.models) == 1 and cddpg.model_for(1) is cddpg.models[0]
    no_delta = train(FRL_NO_DELTA, evs=2, episodes=10, seed=1)
    assert all(not env.use_delta for env in no_delta.envs)


def test_rollout_scores_every_parked_hour_on_the_proposed_reward():
    run = train(PROPOSED, evs=2, episodes=10, seed=2)
    days = evaluation_days(SETUP, 2, 3, seed=0)
    records = rollout(run, days)
    expected = sum(d.departure - d.arrival for ev_days in days for d in ev_days)
    assert len(records) == expected
    assert all(SETUP.soc_min - 1e-9 <= r.soc <= SETUP.soc_max + 1e-9 for r in records)
    per_ev = mean_episode_reward(records, 2)
    assert per_ev[0] == sum(r.reward for r in records if r.ev == 0) / 3


def test_trained_policy_sells_on_peak_and_buys_in_the_other_periods():
    """200 training days of one EV (seeded) learn the Fig. 4.7/4.9 pattern; an untrained policy does not."""
    run = train(PROPOSED, evs=1, episodes=200, seed=1)
    records = rollout(run, evaluation_days(SETUP, 1, 10, seed=0))
    on = np.mean([r.energy_kwh for r in records if tou_period(r.hour) == ON])
    other = np.mean([r.energy_kwh for r in records if tou_period(r.hour) != ON])
    assert on < 0 < other


def test_round_record_refuses_a_hash_that_does_not_match_the_stored_model(tmp_path):
    store = ModelStore(tmp_path)
    run = train(PROPOSED, evs=2, episodes=10, seed=4)
    content_hash = store_round(store, run.models[0])
    evs = ["0x" + "b" * 40, "0x" + "a" * 40]
    version, digest, ordered, samples = round_record(store, 1, content_hash, evs)
    assert (version, digest.hex(), samples) == (1, content_hash[2:], [1, 1])
    assert [a.lower() for a in ordered] == ["0x" + "a" * 40, "0x" + "b" * 40]
    other = "0x" + "1" * 64
    with pytest.raises(ModelStoreError):
        round_record(store, 2, other, evs)
    tampered = {name: t + 1 for name, t in run.models[0].policy.state_dict().items()}
    torch.save(tampered, store.global_path(content_hash))
    with pytest.raises(ModelStoreError, match="hash"):
        round_record(store, 2, content_hash, evs)
