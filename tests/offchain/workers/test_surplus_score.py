"""The surplus score (pure function) and the surplus-score worker's bookkeeping, without a chain."""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest
from web3 import Web3

from offchain.algorithms.scores import surplus_scores
from offchain.units import EPOS_BASE
from offchain.mechanisms import WORKERS, worker_spec
from offchain.workers import ChainEvent, SurplusScoreLogic, UnknownWorkerError
from offchain.workers.surplus_score import MECHANISM, SCHEMA

ALICE, BOB, CAROL = "0x" + "a" * 40, "0x" + "b" * 40, "0x" + "c" * 40


def test_surplus_score_is_attested_kwh_per_prosumer():
    frame = pd.DataFrame({"prosumer": [BOB, ALICE, BOB], "surplus_kwh": [1.5, 0.25, 2.0]})
    assert surplus_scores(frame) == {ALICE: 0.25, BOB: 3.5}
    assert list(surplus_scores(frame)) == [ALICE, BOB]  # ascending prosumer order


def test_surplus_score_leaves_out_zero_totals_and_rejects_bad_input():
    assert surplus_scores(pd.DataFrame({"prosumer": [ALICE, BOB], "surplus_kwh": [0.0, 1.0]})) == {BOB: 1.0}
    with pytest.raises(ValueError, match="negative"):
        surplus_scores(pd.DataFrame({"prosumer": [ALICE], "surplus_kwh": [-1.0]}))
    with pytest.raises(ValueError, match="surplus_kwh"):
        surplus_scores(pd.DataFrame({"prosumer": [ALICE]}))


def test_mechanism_id_is_keccak_of_its_name():
    assert MECHANISM == Web3.keccak(text="kwx.surplus-score.v1")
    assert WORKERS["surplus-score"].results_contract == "EPOS"


@pytest.fixture
def db():
    connection = sqlite3.connect(":memory:")
    connection.executescript(SCHEMA)
    yield connection
    connection.close()


def attested(logic: SurplusScoreLogic, db, *rows: tuple[str, int, int]) -> None:
    for i, (prosumer, period, wh) in enumerate(rows):
        logic.apply(db, ChainEvent(10 + i, 0, "0x", "SurplusAttested",
                                   {"prosumer": prosumer, "period": period, "wh": wh, "meter": CAROL}))


def test_a_period_is_final_after_a_later_attestation_or_through_period(db):
    logic = SurplusScoreLogic(credit=None, epos=None)
    attested(logic, db, (ALICE, 3, 100), (BOB, 3, 200), (ALICE, 5, 300))
    assert sorted(logic.ready_slots(db)) == [3]
    assert sorted(SurplusScoreLogic(None, None, through_period=5).ready_slots(db)) == [3, 5]
    assert sorted(SurplusScoreLogic(None, None, through_period=4).ready_slots(db)) == [3]


def test_payload_holds_prosumers_and_epos_base_units(db):
    logic = SurplusScoreLogic(credit=None, epos=None)
    attested(logic, db, (BOB, 3, 1_234), (ALICE, 3, 1))
    assert logic.compute(db, 3) == {"prosumers": [ALICE, BOB], "amounts": [EPOS_BASE // 1000, 1_234 * EPOS_BASE // 1000]}


def test_an_attestation_applied_twice_is_an_error_not_a_double_count(db):
    logic = SurplusScoreLogic(credit=None, epos=None)
    attested(logic, db, (ALICE, 3, 100))
    with pytest.raises(sqlite3.IntegrityError):
        attested(logic, db, (ALICE, 3, 100))


def test_unknown_worker_name_is_refused():
    with pytest.raises(UnknownWorkerError, match="surplus-score"):
        worker_spec("no-such-worker")
