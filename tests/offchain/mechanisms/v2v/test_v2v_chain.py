"""Seed 001 ch. 4 through the contracts: a day of a trained federated policy on an embedded chain, the workers'
scores, the day's closing, the on-chain draw, the fees to the drawn aggregator, a fee dodger locked and the
FedAvg rounds recorded, every figure against the Python run."""

from __future__ import annotations

from offchain.mechanisms.v2v.chain_run import compare, pair_hour, run_day
from offchain.mechanisms.v2v.learning import PROPOSED, store_round, train
from offchain.mechanisms.v2v.plan import V2VSetup
from offchain.workers.model_store import ModelStore

GRID = "grid"


def test_pair_hour_matches_sellers_with_buyers_and_leaves_the_rest_to_the_grid():
    moves = {"a": -500, "b": 300, "c": 400, "d": -100}
    trades = pair_hour(moves, GRID)
    net = {ev: 0 for ev in [*moves, GRID]}
    for seller, buyer, wh in trades:
        assert wh > 0 and seller != buyer
        net[seller] -= wh
        net[buyer] += wh
    assert {ev: net[ev] for ev in moves} == moves
    assert net[GRID] == -sum(moves.values())
    assert sum(wh for s, b, wh in trades if GRID in (s, b)) == 100  # only the imbalance meets the grid
    assert pair_hour({"a": 200}, GRID) == [(GRID, "a", 200)]
    assert pair_hour({"a": -200}, GRID) == [("a", GRID, 200)]


def test_a_trained_day_through_the_chain_equals_the_python_run(tmp_path):
    store = ModelStore(tmp_path / "store")
    hashes: list[str] = []
    run = train(PROPOSED, evs=3, episodes=20, seed=1, after_round=lambda m: hashes.append(store_round(store, m)))
    setup = V2VSetup()
    days, records, day = run_day(tmp_path / "chain", run, 3, setup, seed=1, store=store, round_hashes=hashes)
    checks = compare(setup, days, records, day, beta=0.1)
    assert [(name, detail) for name, ok, detail in checks if not ok] == []
    assert len(checks) >= 7
    assert len(hashes) == 2 and day.rounds == [(1, hashes[0]), (2, hashes[1])]
    assert sorted(day.draw_order) == sorted(day.addresses) and day.aggregator in day.addresses
    assert len(day.scores) == len(records)
    assert day.dodger is None or day.addresses[day.dodger] != day.aggregator
