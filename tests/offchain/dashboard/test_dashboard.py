"""The dashboard's pure parts: the order book folded from events equals the reference model after random
operations (depth, every order's remaining and visible Wh), and the mechanism panels' figures."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from offchain.dashboard.book import book_view, depth, fold_orders, locked_in_book
from offchain.market import AccessModel, BookConfig, EnergyOrderBookModel, OrderBookError, OrderStatus
from offchain.mechanisms import MECHANISMS
from offchain.mechanisms.coalition_market.panel import build as coalition_panel
from offchain.mechanisms.fog_ems.panel import build as fog_panel
from offchain.units import payment_base
from offchain.workers import ChainEvent

TICK = 10**15
GENESIS, PERIOD_S, LEAD_S = 1_700_000_000, 3_600, 600
TRADERS = ("0xA11CE", "0xB0B", "0xCA501")
OPERATOR = "0x0PE2"


def camel(name: str) -> str:
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name)


def chain_events(outcomes, first_block: int = 1) -> list[ChainEvent]:
    """The model's events as the dashboard reads them from the chain (Solidity argument names, one block each)."""
    events = []
    for block, outcome in enumerate(outcomes, first_block):
        for index, event in enumerate(outcome.events):
            events.append(ChainEvent(block, index, "0x", event.name, {camel(k): v for k, v in event.args().items()}))
    return events


def make_book() -> EnergyOrderBookModel:
    config = BookConfig(tick_size=TICK, min_price=TICK, max_price=1_000 * TICK, genesis_time=GENESIS,
                        period_seconds=PERIOD_S, gate_lead_seconds=LEAD_S, max_periods_ahead=4,
                        import_price=100 * TICK, export_price=10 * TICK)
    access = AccessModel(participants=dict.fromkeys(TRADERS, True), operators={OPERATOR})
    return EnergyOrderBookModel(config, access, now=GENESIS + PERIOD_S // 2)


operation = st.one_of(
    st.tuples(st.just("place"), st.sampled_from(TRADERS), st.sampled_from((1, 2)), st.booleans(),
              st.integers(5, 15), st.integers(1, 4_000), st.integers(0, 1_500)),
    st.tuples(st.just("cancel"), st.sampled_from(TRADERS), st.integers(1, 40)),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(operation, min_size=1, max_size=40), st.booleans())
def test_folded_book_equals_the_reference_model(operations, close_period_1):
    book = make_book()
    outcomes = []
    for trader in (*TRADERS, OPERATOR):
        outcomes.append(book.deposit_upos(trader, 10**24))
        for period in (1, 2):
            outcomes.append(book.deposit_energy(trader, period, 10**6))
    for op in operations:
        try:
            if op[0] == "place":
                _, trader, period, buy, ticks, wh, display = op
                outcomes.append(book.place_order(trader, period, buy, ticks * TICK, wh, min(display, wh) or wh))
            else:
                outcomes.append(book.cancel_order(op[1], op[2]))
        except OrderBookError:
            pass  # refused: no events, nothing changed
    if close_period_1:
        book.now = book.gate_closure(1)
        open_ids = [o.order_id for o in map(lambda i: book._state.orders[i], range(1, book.next_order_id))
                    if o.period == 1 and o.status is OrderStatus.OPEN]
        outcomes.append(book.grid_fill(OPERATOR, open_ids))
    orders = fold_orders(chain_events(outcomes))
    for order_id, folded in orders.items():
        model = book.order(order_id)
        assert (folded.remaining_wh, folded.visible_wh) == (model.remaining_wh, model.visible_wh), order_id
        assert (folded.status == "open") == (model.status is OrderStatus.OPEN)
    for period in (1, 2):
        for buy in (True, False):
            expected = book.depth(period, buy, 100)
            assert depth(orders.values(), period, buy) == list(zip(expected.prices, expected.visible_wh))
    upos, energy = locked_in_book(orders.values())
    for trader in TRADERS:
        assert upos.get(trader, 0) == book.locked_upos(trader)
        for period in (1, 2):
            assert energy.get((trader, period), 0) == book.locked_wh(period, trader)


def test_book_view_shows_an_iceberg_by_its_visible_slice_and_the_tape_newest_first():
    book = make_book()
    outcomes = [book.deposit_upos(t, 10**24) for t in TRADERS] + [book.deposit_energy(TRADERS[0], 1, 10_000)]
    outcomes.append(book.place_order(TRADERS[0], 1, False, 200 * TICK, 3_000, 1_000))
    outcomes.append(book.place_order(TRADERS[1], 1, True, 250 * TICK, 1_500))
    view = book_view(chain_events(outcomes), {TRADERS[0]: "seller"}, current_period=0)
    (period,) = view["periods"]
    assert period["asks"] == [{"price": 0.2, "price_base": str(200 * TICK), "kwh": 0.5, "wh": 500}]
    assert [(t["wh"], t["seller_name"], t["buyer_name"]) for t in view["tape"]] == [(500, "seller", None),
                                                                                     (1_000, "seller", None)]
    assert view["tape"][0]["upos"] == payment_base(500, 200 * TICK) / 10**18


def event(name: str, block: int = 1, **args) -> ChainEvent:
    return ChainEvent(block, 0, "0x", name, args)


def test_fog_panel_totals_greedy_against_the_optimal_assignment_from_the_bids():
    # prosumer 0 has 500 Wh surplus, prosumer 1 needs 800 Wh; EV 0 can absorb 400 or give 900, EV 1 absorb 600.
    bids = [event("ProsumerBidPlaced", period=7, index=0, prosumer="0xP0", netWh=500),
            event("ProsumerBidPlaced", period=7, index=1, prosumer="0xP1", netWh=-800)]
    evs = [event("EVBidPlaced", period=7, index=0, ev="0xE0", availableWh=900, freeCapacityWh=400, maySell=True),
           event("EVBidPlaced", period=7, index=1, ev="0xE1", availableWh=0, freeCapacityWh=600, maySell=False)]
    matched = [event("PeriodMatched", 2, period=7, method=1, firstMatchingId=1, matches=2, benefitWh=1_300)]
    data = fog_panel({"PeriodMatching.ProsumerBidPlaced": bids, "PeriodMatching.EVBidPlaced": evs,
                      "PeriodMatching.PeriodMatched": matched, "EVExchange.EnergyExchanged": []}, views=None)
    (period,) = data["periods"]
    # greedy takes EV 0 (first with capacity) for prosumer 0 (400 Wh), leaving no EV with energy for prosumer 1;
    # the optimum gives prosumer 0 the EV 1 (500 Wh) and prosumer 1 the EV 0 (800 Wh)
    assert (period["greedy_wh"], period["optimal_wh"], period["chain_wh"]) == (400, 1_300, 1_300)
    assert period["method"] == "certified" and data["totals"]["optimal_kwh"] == 1.3


class Views:
    def call(self, contract: str, function: str, *args):
        return {"poolStake": 5 * 10**18, "balanceOf": 7 * 10**18}[function]


def test_coalition_panel_draw_probabilities_are_score_shares_and_slashes_are_listed():
    scores = [(0, 3 * 10**18, 2), (1, 1 * 10**18, 1)]
    recorded = [event("CoalitionRecorded", slot=4, coalition=c, score=s, size=n, validator=f"0xV{c}") for c, s, n in scores]
    members = [event("ScoreRecorded", slot=4, account=f"0xA{i}", coalition=0 if i < 2 else 1,
                     singletonScore=10**18, memberScore=10**18 + i) for i in range(3)]
    drawn = [event("MinerDrawn", slot=4, attempt=0, coalition=0, validator="0xV0", deadline=1),
             event("MinerDrawn", slot=4, attempt=1, coalition=1, validator="0xV1", deadline=2)]
    penalised = [event("MinerPenalised", 3, slot=4, attempt=0, coalition=0, validator="0xV0", reason=0, burned=2 * 10**18)]
    final = [event("BlockFinalised", 4, slot=4, attempt=1, coalition=1, validator="0xV1")]
    data = coalition_panel({"ProofScoreRegistry.CoalitionRecorded": recorded, "ProofScoreRegistry.ScoreRecorded": members,
                            "MinerSelection.MinerDrawn": drawn, "MinerSelection.MinerPenalised": penalised,
                            "MinerSelection.BlockFinalised": final, "MinerSelection.SlotVoided": [],
                            "MiningRewardEscrow.RewardDistributed": []}, Views())
    latest = data["latest"]
    assert [c["probability"] for c in latest["coalitions"]] == [0.75, 0.25]
    assert [c["status"] for c in latest["coalitions"]] == ["drawn, penalised", "mined the block"]
    assert latest["coalitions"][0]["stake_epos"] == 5.0 and latest["members"][0]["escrow_upos"] == 7.0
    assert data["slashes"] == [{"slot": 4, "attempt": 0, "coalition": 0, "validator": "0xV0", "reason": "missed block",
                                "burned_epos": 2.0, "block": 3}]
    assert data["slots"][0]["outcome"] == "coalition 1 mined"


def test_every_mechanism_panel_names_its_reads_build_and_script():
    for mechanism in MECHANISMS:
        panel = mechanism.panel
        assert panel is not None and panel.script.is_file() and callable(panel.load())
        assert all(re.fullmatch(r"[A-Z][A-Za-z0-9]+\.[A-Z][A-Za-z0-9]+", r) for r in panel.reads)
        assert f'kwx.registerPanel("{mechanism.name}"' in panel.script.read_text()
