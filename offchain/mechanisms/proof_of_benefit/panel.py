"""The Proof-of-Benefit dashboard panel: every finalised round with its winning block, benefit and chain score,
and every false-benefit exclusion, from BenefitConsensus's events."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from offchain.algorithms.pebt import benefit_float
from offchain.workers import ChainEvent

PANEL_READS = ("BenefitConsensus.RoundFinalised", "BenefitConsensus.FalseBenefit")


def build(events: Mapping[str, Sequence[ChainEvent]], views: Any) -> dict[str, Any]:
    """``rounds`` (newest first: round, winner hash or None, proposer, lambda as the on-chain integer and in
    1/(kW^2 per round^2), chain score integer, peers) and ``excluded`` (round, peer, claimed, computed)."""
    rounds = []
    for e in reversed(events["BenefitConsensus.RoundFinalised"]):
        winner = e.args["winner"]
        winner_hex = winner.hex() if isinstance(winner, bytes) else str(winner)
        has_winner = int(winner_hex, 16) != 0
        rounds.append({
            "round": int(e.args["round"]),
            "winner": winner_hex if has_winner else None,
            "proposer": e.args["proposer"] if has_winner else None,
            "lambda_int": str(e.args["lambda"]),
            "lambda": benefit_float(int(e.args["lambda"])),
            "score_int": str(e.args["score"]),
            "peers": int(e.args["peers"]),
        })
    excluded = [{"round": int(e.args["round"]), "peer": e.args["peer"], "claimed": str(e.args["claimed"]),
                 "computed": str(e.args["computed"])} for e in events["BenefitConsensus.FalseBenefit"]]
    return {"rounds": rounds, "excluded": excluded}
