"""One slot end to end and a small run of the seed-001 coalition reproduction."""

import numpy as np
import pandas as pd
import pytest

from offchain.algorithms.coalitions import Market
from offchain.algorithms.miner_draw import address_key, commitment, draw
from offchain.data.seed001 import prosumer_addresses, scaling_instance
from offchain.scenarios.seed001 import (
    check_targets,
    commit_reveal_seed,
    demo_seed,
    reproduce_coalitions,
    run_slot,
)


@pytest.fixture(scope="module")
def slot():
    market = Market.from_frame(scaling_instance(40, "normal", 1))
    addresses = prosumer_addresses(40, 1)
    return run_slot(market, addresses, demo_seed(addresses, "test"))


def test_slot_integers_add_up(slot):
    assert slot.mining_reward_base == sum(slot.fees_base) > 0
    assert sum(slot.rewards_base) == slot.mining_reward_base
    assert slot.lemma2 == []
    winners = set(slot.winning_members)
    assert all(r == 0 for i, r in enumerate(slot.rewards_base) if i not in winners)
    assert slot.draw_weights == [sum(slot.chain.member_scores_base[i] for i in c) for c in slot.draw_order]
    assert slot.miner.winner == draw(slot.seed, slot.draw_weights)
    keys = [address_key(a) for a in slot.addresses]
    starts = [keys[c[0]] for c in slot.draw_order]
    assert starts == sorted(starts)


def test_failing_validator_moves_the_reward_to_the_redrawn_coalition(slot):
    failed = run_slot(slot.market, slot.addresses, slot.seed, failing_validators={slot.miner.validator})
    assert failed.miner.excluded == (slot.miner.winner,)
    assert slot.miner.validator in failed.miner.slashed
    assert failed.rewards_base[slot.miner.validator] == 0
    assert sum(failed.rewards_base) == failed.mining_reward_base == slot.mining_reward_base
    assert failed.miner.winner != slot.miner.winner


def test_bad_reveals_are_left_out_of_the_seed():
    addresses = prosumer_addresses(3)
    secrets = {a: bytes([i + 1]) * 32 for i, a in enumerate(addresses)}
    commitments = {a: commitment(s, a) for a, s in secrets.items()}
    tampered = {**secrets, addresses[1]: bytes(32)}
    seed, missing = commit_reveal_seed(tampered, commitments)
    assert missing == [addresses[1]]
    only_valid, _ = commit_reveal_seed({a: secrets[a] for a in (addresses[0], addresses[2])}, commitments)
    assert seed == only_valid


def test_small_reproduction_writes_every_output(tmp_path):
    result = reproduce_coalitions(
        tmp_path, repetitions=2, sizes=(10, 20), progress=False, draws=3_000, distributions=("normal", "lognormal")
    )
    for path in result.files:
        assert path.exists() and path.stat().st_size > 0
    assert len(result.runs) == 3 * 2 * 2 * 2  # variants x distributions x sizes x repetitions
    assert result.runs["converged"].all()
    assert (result.runs["lemma2_violations"] == 0).all()
    assert set(result.targets["met"].map(type)) == {bool}
    assert "Table 3.2" in (tmp_path / "seed001.md").read_text()
    assert result.table_3_2.iloc[0]["step"] == "singletons"
    for case, part in result.draws.groupby("case"):
        assert part["observed"].sum() == pytest.approx(1.0)
        assert np.all(part.loc[part["expected"] == 0, "observed"] == 0)


def test_share_target_names_the_cell_outside_the_range_and_its_standard_error():
    sizes = [10, 20]
    summary = pd.DataFrame({
        "variant": "v", "distribution": "lognormal", "n": sizes, "runs": 25,
        "saving_accounted": [0.20, 0.30], "saving_accounted_sd": [0.10, 0.10],
        "local_share_balances": [0.34, 0.40], "local_share_balances_sd": [0.20, 0.25],
    })
    runs = pd.DataFrame({
        "variant": "v", "distribution": "lognormal", "n": np.repeat(sizes, 3),
        "saving_accounted": [0.2, 0.21, 0.19, 0.3, 0.31, 0.29],
        "rounds": 2, "merge_passes": 3, "converged": True, "lemma2_violations": 0, "members_below_singleton": 0,
    })
    draws = pd.DataFrame({"deviation_pp": [0.1, -0.2]})
    targets = check_targets(summary, runs, draws, "v").set_index("target")
    share = targets.loc["local-trade share within 35-60% (lognormal)"]
    assert share["ours"] == "34.0% (n=10, s.e. 4.0 pp) .. 40.0% (n=20, s.e. 5.0 pp)"
    assert not share["met"]
    assert targets.loc["loss saving within 15-45% (lognormal)", "met"]
    assert targets.loc["loss saving rises with n (lognormal)", "met"]
