"""The V2V dashboard panel from hand-made events."""

import pytest

from offchain.mechanisms.v2v.panel import READS, build
from offchain.units import UPOS_BASE
from offchain.workers import ChainEvent

A, B = "0x" + "a" * 40, "0x" + "b" * 40


def _event(name, block, **args):
    return ChainEvent(block, 0, "0x", name.split(".")[1], args)


def test_panel_sums_trades_scores_today_and_open_locks():
    events = {name: [] for name in READS}
    events["V2VSettlement.V2VTraded"] = [
        _event("V2VSettlement.V2VTraded", 1, hour=8, seller=A, buyer=B, energyWh=2_000, pricePerKwh=UPOS_BASE,
               payment=2 * UPOS_BASE),
        _event("V2VSettlement.V2VTraded", 2, hour=9, seller=B, buyer=A, energyWh=500, pricePerKwh=UPOS_BASE,
               payment=UPOS_BASE // 2)]
    events["PoSocScores.ScoreSubmitted"] = [
        _event("PoSocScores.ScoreSubmitted", 1, hour=8, ev=A, score=3 * 10**18, dailyTotal=3 * 10**18),
        _event("PoSocScores.ScoreSubmitted", 1, hour=8, ev=B, score=-10**18, dailyTotal=-10**18),
        _event("PoSocScores.ScoreSubmitted", 3, hour=30, ev=A, score=10**18, dailyTotal=10**18)]
    events["V2VSettlement.ProfitLocked"] = [
        _event("V2VSettlement.ProfitLocked", 4, day=0, member=A, held=UPOS_BASE, fee=UPOS_BASE // 10, lockedUntil=9),
        _event("V2VSettlement.ProfitLocked", 4, day=0, member=B, held=UPOS_BASE, fee=UPOS_BASE // 10, lockedUntil=9)]
    events["V2VSettlement.FeePaid"] = [_event("V2VSettlement.FeePaid", 5, day=0, member=B, miner=A, fee=1)]
    events["PoSocScores.AggregatorDrawn"] = [
        _event("PoSocScores.AggregatorDrawn", 6, day=0, aggregator=A, seed=b"\x01" * 32, weight=3, totalWeight=4)]
    data = build(events, None)
    assert data["draws"] == [{"day": 0, "aggregator": A, "share": 0.75, "block": 6}]
    assert data["day"] == 1
    a, b = data["evs"]
    assert (a["sold_kwh"], a["bought_kwh"], a["earned"]) == (2.0, 0.5, 2.0)
    assert (b["sold_wh"], b["bought_wh"]) == (500, 2_000)
    assert a["score"] == pytest.approx(1.0) and b["score"] == 0.0 and a["weight"] == 1.0
    assert [lock["member"] for lock in data["locks"]] == [A]
