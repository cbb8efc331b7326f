"""Seed 001 ch. 3's dashboard panel: per slot, the coalitions the SCORER formed (size, proof score, the chance each
has to be drawn as miner), the participants' proof scores, the draws and their outcome, stakes, escrow balances
and slashes.

Everything comes from the consensus contracts' events (``CoalitionRecorded``, ``ScoreRecorded``,
``MinerDrawn``, ``MinerPenalised``, ``BlockFinalised``, ``SlotVoided``, ``RewardDistributed``) except the pools'
stakes and the escrow balances, read at the head (``Staking.poolStake``, ``MiningRewardEscrow.balanceOf``). A
coalition's draw probability is its score over the slot's total score: the weighted draw
(docs/consensus-contracts.md §4) before any exclusion.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from offchain import units
from offchain.mechanisms.consensus import Penalty, VoidReason
from offchain.workers import ChainEvent

READS = ("ProofScoreRegistry.CoalitionRecorded", "ProofScoreRegistry.ScoreRecorded",
         "MinerSelection.MinerDrawn", "MinerSelection.MinerPenalised", "MinerSelection.BlockFinalised",
         "MinerSelection.SlotVoided", "MiningRewardEscrow.RewardDistributed")
#: Slots listed (the latest).
SLOTS_SHOWN = 12


def _by_slot(events: Sequence[ChainEvent]) -> dict[int, list[ChainEvent]]:
    grouped: dict[int, list[ChainEvent]] = defaultdict(list)
    for event in events:
        grouped[event.args["slot"]].append(event)
    return grouped


def build(events: Mapping[str, Sequence[ChainEvent]], views: Any) -> dict[str, Any]:
    """The panel's data: ``slots`` (newest first: coalitions, total score, outcome, reward), ``latest`` (the newest
    slot's coalitions with draw probabilities and its participants with scores, stakes, escrow), ``slashes``."""
    coalitions = _by_slot(events["ProofScoreRegistry.CoalitionRecorded"])
    scores = _by_slot(events["ProofScoreRegistry.ScoreRecorded"])
    draws = _by_slot(events["MinerSelection.MinerDrawn"])
    penalties = _by_slot(events["MinerSelection.MinerPenalised"])
    final = {e.args["slot"]: e for e in events["MinerSelection.BlockFinalised"]}
    void = {e.args["slot"]: e for e in events["MinerSelection.SlotVoided"]}
    rewards = {e.args["slot"]: e for e in events["MiningRewardEscrow.RewardDistributed"]}

    def outcome(slot: int) -> str:
        if slot in void:
            return "void: " + VoidReason(int(void[slot].args["reason"])).name.replace("_", " ").lower()
        if slot in final:
            return f"coalition {final[slot].args['coalition']} mined"
        return "drawing" if slot in draws else "scored"

    slots = []
    for slot in sorted(coalitions)[-SLOTS_SHOWN:][::-1]:
        total = sum(e.args["score"] for e in coalitions[slot])
        slots.append({"slot": slot, "coalitions": len(coalitions[slot]), "participants": len(scores[slot]),
                      "total_score": units.base_to_score(total), "draws": len(draws[slot]),
                      "penalties": len(penalties[slot]), "outcome": outcome(slot),
                      "reward_upos": units.base_to_upos(rewards[slot].args["miningReward"]) if slot in rewards else None})
    latest = _latest(max(coalitions), coalitions, scores, draws, penalties, final, views) if coalitions else None
    slashes = [{"slot": e.args["slot"], "attempt": e.args["attempt"], "coalition": e.args["coalition"],
                "validator": e.args["validator"], "reason": Penalty(int(e.args["reason"])).name.replace("_", " ").lower(),
                "burned_epos": units.base_to_score(e.args["burned"]), "block": e.block}
               for e in reversed(events["MinerSelection.MinerPenalised"])]
    return {"slots": slots, "latest": latest, "slashes": slashes}


def _latest(slot: int, coalitions: Mapping[int, list[ChainEvent]], scores: Mapping[int, list[ChainEvent]],
            draws: Mapping[int, list[ChainEvent]], penalties: Mapping[int, list[ChainEvent]],
            final: Mapping[int, ChainEvent], views: Any) -> dict[str, Any]:
    total = sum(e.args["score"] for e in coalitions[slot])
    drawn = {e.args["coalition"]: e.args["attempt"] for e in draws.get(slot, [])}
    penalised = {e.args["coalition"] for e in penalties.get(slot, [])}
    mined = final[slot].args["coalition"] if slot in final else None
    rows = []
    for event in sorted(coalitions[slot], key=lambda e: e.args["coalition"]):
        a = event.args
        c = a["coalition"]
        status = ("mined the block" if c == mined else "drawn, penalised" if c in penalised
                  else f"drawn (attempt {drawn[c]})" if c in drawn else "")
        rows.append({"coalition": c, "size": a["size"], "score": units.base_to_score(a["score"]),
                     "score_base": str(a["score"]), "probability": a["score"] / total if total else 0.0,
                     "validator": a["validator"], "stake_epos": units.base_to_score(views.call(
                         "Staking", "poolStake", a["validator"])), "status": status})
    members = [{"account": e.args["account"], "coalition": e.args["coalition"],
                "singleton_score": units.base_to_score(e.args["singletonScore"]),
                "member_score": units.base_to_score(e.args["memberScore"]),
                "escrow_upos": units.base_to_upos(views.call("MiningRewardEscrow", "balanceOf", e.args["account"]))}
               for e in sorted(scores[slot], key=lambda e: (e.args["coalition"], e.args["account"]))]
    return {"slot": slot, "total_score": units.base_to_score(total), "coalitions": rows, "members": members}
