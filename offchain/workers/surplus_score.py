"""The foundation's worker "surplus-score": EPOS proof scores from attested surplus, one batch per period.

It reads EnergyCredit ``SurplusAttested(prosumer, period, wh, meter)`` events and, for every final period,
mints each prosumer's score (attested surplus in kWh, :func:`offchain.algorithms.scores.surplus_scores`)
through ``EPOS.mintScores(mechanism, period, prosumers, amounts)``. A period is final once the worker has
seen an attestation for a later period, or when it runs with ``through_period >= period``.

This is the foundation's simple score; issue 5 brings the PoEG score (docs/workers.md).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

import pandas as pd
from web3 import Web3
from web3.contract import Contract

from offchain.algorithms.scores import surplus_scores
from offchain.units import score_to_base, wh_to_kwh

from .runtime import ChainEvent
from offchain.chain import ChainClient, Manifest

from .registry import WorkerOption, WorkerSpec, integer
from .web3_chain import contract_events

#: keccak256("kwx.surplus-score.v1"): the mechanism id of this worker's EPOS mints.
MECHANISM = bytes(Web3.keccak(text="kwx.surplus-score.v1"))

SCHEMA = """
CREATE TABLE IF NOT EXISTS attestations (
    prosumer  TEXT    NOT NULL,
    period    INTEGER NOT NULL,
    wh        INTEGER NOT NULL CHECK (wh > 0),
    block     INTEGER NOT NULL,
    log_index INTEGER NOT NULL,
    PRIMARY KEY (prosumer, period)
);
CREATE INDEX IF NOT EXISTS attestations_by_period ON attestations (period);
"""


class SurplusScoreLogic:
    """The surplus-score :class:`~offchain.workers.runtime.WorkerLogic`.

    ``credit``: the EnergyCredit contract it reads; ``epos``: the EPOS contract it mints through (the
    submitting account needs SCORER); ``through_period``: periods up to and including it count as final
    even without a later attestation (None: only the later-attestation rule).
    """

    name = "surplus-score"
    mechanism = MECHANISM
    schema = SCHEMA

    def __init__(self, credit: Contract, epos: Contract, *, through_period: int | None = None) -> None:
        self.credit = credit
        self.epos = epos
        self.through_period = through_period

    def identity(self) -> dict[str, str]:
        return {"energy_credit": self.credit.address, "epos": self.epos.address}

    def fetch_events(self, from_block: int, to_block: int) -> list[ChainEvent]:
        return contract_events(self.credit.events.SurplusAttested, from_block, to_block)

    def apply(self, db: sqlite3.Connection, event: ChainEvent) -> None:
        # EnergyCredit attests a (prosumer, period) once, so the plain INSERT also guards against an event
        # applied twice.
        db.execute(
            "INSERT INTO attestations (prosumer, period, wh, block, log_index) VALUES (?, ?, ?, ?, ?)",
            (event.args["prosumer"], event.args["period"], event.args["wh"], event.block, event.log_index),
        )

    def ready_slots(self, db: sqlite3.Connection) -> Iterable[int]:
        through = -1 if self.through_period is None else self.through_period
        rows = db.execute(
            "SELECT DISTINCT period FROM attestations "
            "WHERE period < (SELECT MAX(period) FROM attestations) OR period <= ?",
            (through,),
        )
        return [period for (period,) in rows]

    def compute(self, db: sqlite3.Connection, slot: int) -> dict[str, Any]:
        """``{"prosumers": [address, ...], "amounts": [EPOS base units, ...]}`` for period `slot`."""
        attested = pd.read_sql_query(
            "SELECT prosumer, wh FROM attestations WHERE period = ? ORDER BY prosumer", db, params=(slot,)
        )
        frame = pd.DataFrame({"prosumer": attested["prosumer"], "surplus_kwh": attested["wh"].map(wh_to_kwh)})
        scores = surplus_scores(frame)
        return {"prosumers": list(scores), "amounts": [score_to_base(score) for score in scores.values()]}

    def call_for(self, slot: int, payload: dict[str, Any]) -> Any:
        return self.epos.functions.mintScores(self.mechanism, slot, payload["prosumers"], payload["amounts"])


def make_surplus_score_logic(client: ChainClient, manifest: Manifest, *,
                             through_period: int | None = None) -> SurplusScoreLogic:
    """The worker over the deployment's EnergyCredit and EPOS (``kwx worker surplus-score``)."""
    return SurplusScoreLogic(
        client.contract("EnergyCredit", manifest.address("EnergyCredit")),
        client.contract("EPOS", manifest.address("EPOS")),
        through_period=through_period,
    )


SURPLUS_SCORE = WorkerSpec(
    name="surplus-score",
    summary="EPOS scores = attested surplus (kWh) per prosumer and period (foundation score)",
    results_contract="EPOS",
    make_logic=make_surplus_score_logic,
    options={"through_period": WorkerOption(integer, "treat periods up to this one as final (0 to 10^9)", minimum=0,
                                            maximum=10**9)},
)
