"""The Proof-of-Benefit panel's figures from hand-made BenefitConsensus events."""

from offchain.algorithms.pebt import BENEFIT_SCALE
from offchain.mechanisms.proof_of_benefit.panel import build
from offchain.workers import ChainEvent


def event(name, block, **args):
    return ChainEvent(block, 0, "0x" + "00" * 32, name, args)


def test_rounds_newest_first_with_and_without_a_winner():
    finalised = [
        event("RoundFinalised", 1, round=3, winner=b"\x01" * 32, proposer="0xabc", **{"lambda": BENEFIT_SCALE // 2},
              score=BENEFIT_SCALE // 2, peers=5),
        event("RoundFinalised", 2, round=4, winner=b"\x00" * 32, proposer="0x" + "0" * 40, **{"lambda": 0},
              score=BENEFIT_SCALE // 2, peers=5),
    ]
    lie = [event("FalseBenefit", 2, round=4, peer="0xdef", claimed=9, computed=3)]
    data = build({"BenefitConsensus.RoundFinalised": finalised, "BenefitConsensus.FalseBenefit": lie}, None)
    newest, oldest = data["rounds"]
    assert newest["round"] == 4 and newest["winner"] is None and newest["proposer"] is None
    assert oldest["winner"] == "01" * 32 and oldest["proposer"] == "0xabc"
    assert oldest["lambda"] == 0.5e6 and oldest["lambda_int"] == str(BENEFIT_SCALE // 2)
    assert data["excluded"] == [{"round": 4, "peer": "0xdef", "claimed": "9", "computed": "3"}]
