"""Unit tests of the order book reference model (offchain.market) on its own, without a chain."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from offchain.market import AccessModel, BookConfig, EnergyOrderBookModel, OrderStatus, PremiumSource
from offchain.market import errors as err
from offchain.market import events as ev
from offchain.market.access import OPERATOR_ROLE
from offchain.units import payment_base

TICK = 10**15  # 0.001 UPOS per kWh
GENESIS = 1_700_000_000
PERIOD_S = 3_600
LEAD_S = 600
ALICE, BOB, CAROL, OPERATOR, OUTSIDER, ADMIN = "0xA11CE", "0xB0B", "0xCA501", "0x0PE2", "0x0075", "0xAD1"
FUNDS = 10**24


def make_book(max_periods_ahead: int = 4, import_ticks: int = 6, export_ticks: int = 2) -> EnergyOrderBookModel:
    config = BookConfig(
        tick_size=TICK,
        min_price=TICK,
        max_price=1_000 * TICK,
        genesis_time=GENESIS,
        period_seconds=PERIOD_S,
        gate_lead_seconds=LEAD_S,
        max_periods_ahead=max_periods_ahead,
        import_price=import_ticks * TICK,
        export_price=export_ticks * TICK,
    )
    access = AccessModel(participants={ALICE: True, BOB: True, CAROL: True}, operators={OPERATOR}, admins={ADMIN})
    # now: the middle of period 0, so period 1's gate is open
    return EnergyOrderBookModel(config, access, now=GENESIS + PERIOD_S // 2)


@pytest.fixture
def book() -> EnergyOrderBookModel:
    b = make_book()
    for account in (ALICE, BOB, CAROL, OPERATOR):
        b.deposit_upos(account, FUNDS)
        b.deposit_energy(account, 1, 100_000)
    return b


def p(ticks: int) -> int:
    return ticks * TICK


def snapshot(b: EnergyOrderBookModel) -> tuple:
    """Everything observable about the model, for 'nothing changed' assertions."""
    accounts = (ALICE, BOB, CAROL, OPERATOR, OUTSIDER)
    return (
        b.next_order_id,
        b.grid_tariffs(1),
        b.order_minimums,
        tuple(b.upos_free(a) for a in accounts),
        tuple(b.energy_free(a, q) for a in accounts for q in (1, 2)),
        tuple(b.grid_supplied_wh(a, q) for a in accounts for q in (1, 2)),
        tuple(b.depth(q, side, 10) for q in (1, 2) for side in (True, False)),
        tuple(b.order(i) for i in range(1, b.next_order_id)),
        tuple(b.level_queue(1, side, price) for side in (True, False) for price in range(TICK, 20 * TICK, TICK)),
    )


def close_gate(b: EnergyOrderBookModel, period: int) -> None:
    b.now = b.gate_closure(period)


# ---------------------------------------------------------------------------------- balances


def test_deposit_and_withdraw_move_free_balances_and_emit_events():
    b = make_book()
    assert b.deposit_upos(ALICE, 500).events == (ev.Deposited(ALICE, 500),)
    assert b.withdraw_upos(ALICE, 200).events == (ev.Withdrawn(ALICE, 200),)
    assert b.deposit_energy(ALICE, 2, 70).events == (ev.EnergyDeposited(ALICE, 2, 70),)
    assert b.withdraw_energy(ALICE, 2, 30).events == (ev.EnergyWithdrawn(ALICE, 2, 30),)
    assert (b.upos_free(ALICE), b.energy_free(ALICE, 2), b.energy_free(ALICE, 1)) == (300, 40, 0)


def test_withdraw_more_than_free_is_rejected_and_changes_nothing(book):
    before = snapshot(book)
    with pytest.raises(err.InsufficientBalance) as info:
        book.withdraw_upos(ALICE, FUNDS + 1)
    assert info.value.values == (ALICE, FUNDS, FUNDS + 1)
    with pytest.raises(err.InsufficientBalance) as info:
        book.withdraw_energy(ALICE, 1, 100_001)
    assert (info.value.account, info.value.available, info.value.needed) == (ALICE, 100_000, 100_001)
    assert snapshot(book) == before


def test_zero_amounts_are_rejected(book):
    for call in (
        lambda: book.deposit_upos(ALICE, 0),
        lambda: book.withdraw_upos(ALICE, 0),
        lambda: book.deposit_energy(ALICE, 1, 0),
        lambda: book.withdraw_energy(ALICE, 1, 0),
        lambda: book.place_order(ALICE, 1, True, p(5), 0),
    ):
        with pytest.raises(err.ZeroAmount):
            call()


def test_unregistered_and_inactive_callers_are_rejected(book):
    with pytest.raises(err.ParticipantNotRegistered) as info:
        book.deposit_upos(OUTSIDER, 1)
    assert info.value.account == OUTSIDER
    book.access.set_active(BOB, False)
    before = snapshot(book)
    with pytest.raises(err.ParticipantInactive):
        book.place_order(BOB, 1, True, p(5), 1_000)
    with pytest.raises(err.ParticipantInactive):
        book.deposit_energy(BOB, 1, 1)
    assert snapshot(book) == before


def test_the_operator_trades_without_registration(book):
    order_id = book.place_order(OPERATOR, 1, False, p(5), 1_000).value
    assert book.order(order_id).status is OrderStatus.OPEN


def test_credits_go_back_only_to_active_participants_and_the_operator(book):
    book.access.set_active(ALICE, False)
    with pytest.raises(err.CreditRecipientNotAllowed) as info:
        book.withdraw_energy(ALICE, 1, 1)
    assert info.value.to == ALICE
    assert book.energy_free(ALICE, 1) == 100_000
    book.withdraw_energy(OPERATOR, 1, 100_000)
    assert book.energy_free(OPERATOR, 1) == 0


# ---------------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "args, error, values",
    [
        ((1, True, p(5) + 1, 1_000), err.PriceOffGrid, (p(5) + 1,)),
        ((1, True, 0, 1_000), err.PriceOutOfRange, (0,)),
        ((1, False, p(1_001), 1_000), err.PriceOutOfRange, (p(1_001),)),
        ((1, True, p(5), 1_000, 1_001), err.DisplayExceedsTotal, (1_001, 1_000)),
        ((1, True, p(5), 1_000, 0), err.ZeroDisplay, (1_000,)),
        ((1, False, p(5), 1_000, 0), err.ZeroDisplay, (1_000,)),
        ((0, True, p(5), 1_000), err.PeriodClosed, (0,)),
        ((5, True, p(5), 1_000), err.PeriodTooFarAhead, (5,)),
        ((1, False, p(5), 100_001), err.InsufficientBalance, (ALICE, 100_000, 100_001)),
        ((2, False, p(5), 1), err.InsufficientBalance, (ALICE, 0, 1)),
        ((1, True, p(1_000), 2**40), err.InsufficientBalance, (ALICE, FUNDS, payment_base(2**40, p(1_000)))),
        ((1, True, p(5), 2**48), err.QuantityTooLarge, (2**48, 2**48 - 1)),
        ((2**32, True, p(5), 1), err.PeriodTooFarAhead, (2**32,)),
    ],
)
def test_bad_orders_get_their_error_with_values_and_change_nothing(book, args, error, values):
    book.place_order(BOB, 1, False, p(7), 500)
    before = snapshot(book)
    with pytest.raises(error) as info:
        book.place_order(ALICE, *args)
    assert type(info.value) is error and info.value.values == values
    assert snapshot(book) == before


@pytest.mark.parametrize(
    "change",
    [
        {"tick_size": 1_500},
        {"min_price": TICK // 2},
        {"max_price": TICK // 2},
        {"max_price": TICK + 70_000 * TICK},
        {"max_price": TICK + 16_384 * TICK},  # 16,385 grid prices: one more than the tick bitmap holds
        {"gate_lead_seconds": PERIOD_S},
        {"period_seconds": 2**64},  # beyond PeriodClock.MAX_SECONDS
        {"genesis_time": LEAD_S - 1},
        {"import_price": TICK + 1},
        {"export_price": 2_000 * TICK},
    ],
)
def test_inadmissible_configurations_are_refused(change):
    fields = dict(
        tick_size=TICK,
        min_price=TICK,
        max_price=1_000 * TICK,
        genesis_time=GENESIS,
        period_seconds=PERIOD_S,
        gate_lead_seconds=LEAD_S,
        max_periods_ahead=4,
        import_price=100 * TICK,
        export_price=10 * TICK,
    )
    BookConfig(**fields)
    with pytest.raises(ValueError):
        BookConfig(**{**fields, **change})


def test_gate_closes_at_lead_time_before_the_period_starts(book):
    book.now = book.gate_closure(1) - 1
    book.place_order(ALICE, 1, True, p(5), 1)
    book.now += 1
    with pytest.raises(err.PeriodClosed):
        book.place_order(ALICE, 1, True, p(5), 1)
    assert book.gate_closure(1) == GENESIS + PERIOD_S - LEAD_S


def test_order_ids_start_at_one_and_rejections_do_not_use_ids(book):
    assert book.place_order(ALICE, 1, True, p(5), 10).value == 1
    with pytest.raises(err.PriceOffGrid):
        book.place_order(ALICE, 1, True, 1, 10)
    assert book.place_order(BOB, 1, False, p(9), 10).value == 2


# ---------------------------------------------------------------------------------- matching


def test_resting_orders_lock_funds_and_show_in_depth(book):
    book.place_order(ALICE, 1, True, p(5), 2_000)
    book.place_order(BOB, 1, True, p(6), 1_000)
    book.place_order(CAROL, 1, True, p(5), 500)
    book.place_order(BOB, 1, False, p(9), 700)
    assert book.best_bid(1) == (p(6), 1_000)
    assert book.best_ask(1) == (p(9), 700)
    assert book.depth(1, True, 5) == ([p(6), p(5)], [1_000, 2_500])
    assert book.depth(1, True, 1) == ([p(6)], [1_000])
    assert book.best_bid(2) == (0, 0) and book.depth(2, False, 3) == ([], [])
    assert book.upos_free(ALICE) == FUNDS - payment_base(2_000, p(5))
    assert book.energy_free(BOB, 1) == 100_000 - 700
    assert book.locked_upos(ALICE) == payment_base(2_000, p(5))
    assert book.locked_wh(1, BOB) == 700


def test_trades_happen_at_the_resting_price_and_a_buy_taker_gets_its_improvement_back(book):
    ask = book.place_order(BOB, 1, False, p(4), 1_000).value
    outcome = book.place_order(ALICE, 1, True, p(6), 600)
    taker = outcome.value
    assert outcome.events == (
        ev.OrderPlaced(taker, ALICE, 1, True, p(6), 600, 0),
        ev.Trade(1, ask, taker, ALICE, BOB, p(4), 600),
    )
    assert book.upos_free(ALICE) == FUNDS - payment_base(600, p(4))
    assert book.upos_free(BOB) == FUNDS + payment_base(600, p(4))
    assert book.energy_free(ALICE, 1) == 100_000 + 600
    assert book.order(taker).status is OrderStatus.FILLED
    assert book.order(ask)[4:] == (400, 400, 0, OrderStatus.OPEN)


def test_a_sell_taker_receives_the_higher_resting_bid(book):
    bid = book.place_order(ALICE, 1, True, p(8), 1_000).value
    taker = book.place_order(BOB, 1, False, p(3), 1_500).value
    assert book.upos_free(BOB) == FUNDS + payment_base(1_000, p(8))
    assert book.upos_free(ALICE) == FUNDS - payment_base(1_000, p(8))
    assert book.order(bid).status is OrderStatus.FILLED
    assert book.best_ask(1) == (p(3), 500) and book.order(taker).remaining_wh == 500


def test_price_then_time_priority(book):
    first = book.place_order(ALICE, 1, False, p(5), 300).value
    second = book.place_order(BOB, 1, False, p(5), 300).value
    better = book.place_order(CAROL, 1, False, p(4), 300).value
    events = book.place_order(OPERATOR, 1, True, p(5), 800).events
    trades = [(e.maker_order_id, e.price, e.quantity_wh) for e in events if isinstance(e, ev.Trade)]
    assert trades == [(better, p(4), 300), (first, p(5), 300), (second, p(5), 200)]
    assert book.level_queue(1, False, p(5)) == (second,)


def test_a_buy_stops_at_its_limit_and_rests(book):
    book.place_order(BOB, 1, False, p(5), 300)
    book.place_order(BOB, 1, False, p(7), 300)
    book.place_order(ALICE, 1, True, p(6), 1_000)
    assert book.best_bid(1) == (p(6), 700) and book.best_ask(1) == (p(7), 300)
    assert book.locked_upos(ALICE) == payment_base(700, p(6))


def test_self_trade_is_allowed(book):
    ask = book.place_order(ALICE, 1, False, p(5), 100).value
    events = book.place_order(ALICE, 1, True, p(5), 100).events
    assert ev.Trade(1, ask, ask + 1, ALICE, ALICE, p(5), 100) in events
    assert (book.upos_free(ALICE), book.energy_free(ALICE, 1)) == (FUNDS, 100_000)


# ---------------------------------------------------------------------------------- icebergs


def test_an_iceberg_shows_only_its_peak_but_locks_everything(book):
    iceberg = book.place_order(BOB, 1, False, p(5), 1_000, 300).value
    assert book.best_ask(1) == (p(5), 300)
    assert book.order(iceberg)[4:] == (1_000, 300, 300, OrderStatus.OPEN)
    assert book.energy_free(BOB, 1) == 100_000 - 1_000


def test_a_refreshed_tranche_goes_to_the_back_of_its_level(book):
    iceberg = book.place_order(BOB, 1, False, p(5), 1_000, 300).value
    plain = book.place_order(CAROL, 1, False, p(5), 200).value
    events = book.place_order(ALICE, 1, True, p(5), 400).events
    taker = events[0].order_id
    assert events[1:] == (
        ev.Trade(1, iceberg, taker, ALICE, BOB, p(5), 300),
        ev.TrancheRefreshed(iceberg, 300, 700),
        ev.Trade(1, plain, taker, ALICE, CAROL, p(5), 100),
    )
    assert book.level_queue(1, False, p(5)) == (plain, iceberg)
    assert book.best_ask(1) == (p(5), 100 + 300)


def test_a_refreshed_tranche_trades_again_in_the_same_incoming_order(book):
    iceberg = book.place_order(BOB, 1, False, p(5), 700, 300).value
    events = book.place_order(ALICE, 1, True, p(5), 1_000).events
    trades = [e.quantity_wh for e in events if isinstance(e, ev.Trade)]
    refreshes = [(e.visible_wh, e.remaining_wh) for e in events if isinstance(e, ev.TrancheRefreshed)]
    assert trades == [300, 300, 100]
    assert refreshes == [(300, 400), (100, 100)]
    assert book.order(iceberg).status is OrderStatus.FILLED
    assert book.best_bid(1) == (p(5), 300) and book.best_ask(1) == (0, 0)


def test_an_incoming_iceberg_matches_its_whole_size_then_rests_a_peak(book):
    book.place_order(BOB, 1, False, p(5), 500)
    iceberg = book.place_order(ALICE, 1, True, p(6), 2_000, 400).value
    assert book.order(iceberg)[4:] == (1_500, 400, 400, OrderStatus.OPEN)
    assert book.best_bid(1) == (p(6), 400)
    assert book.upos_free(ALICE) == FUNDS - payment_base(500, p(5)) - payment_base(1_500, p(6))


def test_display_equal_to_quantity_is_a_plain_order(book):
    outcome = book.place_order(ALICE, 1, True, p(5), 800, 800)
    assert outcome.events == (ev.OrderPlaced(outcome.value, ALICE, 1, True, p(5), 800, 0),)
    assert book.order(outcome.value)[4:] == (800, 800, 0, OrderStatus.OPEN)


# ---------------------------------------------------------------------------------- cancel / expire


def test_cancel_refunds_the_hidden_part_too(book):
    iceberg = book.place_order(ALICE, 1, True, p(5), 1_000, 200).value
    book.place_order(BOB, 1, False, p(5), 300)
    outcome = book.cancel_order(ALICE, iceberg)
    assert outcome.events == (ev.OrderCancelled(iceberg, ALICE, 700),)
    assert book.upos_free(ALICE) == FUNDS - payment_base(300, p(5))
    assert book.order(iceberg).status is OrderStatus.CANCELLED
    assert book.best_bid(1) == (0, 0)


def test_cancel_errors(book):
    order_id = book.place_order(ALICE, 1, True, p(5), 100).value
    before = snapshot(book)
    with pytest.raises(err.NotOrderOwner) as info:
        book.cancel_order(BOB, order_id)
    assert info.value.values == (order_id, BOB)
    with pytest.raises(err.UnknownOrder):
        book.cancel_order(ALICE, order_id + 1)
    with pytest.raises(err.UnknownOrder):
        book.cancel_order(ALICE, 0)
    assert snapshot(book) == before
    book.cancel_order(ALICE, order_id)
    with pytest.raises(err.OrderNotOpen):
        book.cancel_order(ALICE, order_id)


def test_expire_needs_a_closed_gate_then_the_period_start_and_skips_closed_orders(book):
    bid = book.place_order(ALICE, 1, True, p(5), 100).value
    ask = book.place_order(BOB, 1, False, p(9), 100).value
    with pytest.raises(err.PeriodNotClosed) as info:
        book.expire_orders(OUTSIDER, [bid])
    assert info.value.period == 1
    book.cancel_order(BOB, ask)
    close_gate(book, 1)
    with pytest.raises(err.PeriodClosed):
        book.cancel_order(ALICE, bid)
    before = snapshot(book)
    with pytest.raises(err.ExpiryNotOpen) as info:
        book.expire_orders(OUTSIDER, [bid])
    assert info.value.values == (1, book.period_start(1))
    assert snapshot(book) == before
    book.now = book.period_start(1)
    assert book.expire_orders(OUTSIDER, [ask, bid]).events == (
        ev.OrderSkipped(ask, OrderStatus.CANCELLED),
        ev.OrderExpired(bid, ALICE, 100),
    )
    assert book.upos_free(ALICE) == FUNDS and book.order(bid).status is OrderStatus.EXPIRED


def test_a_closed_order_never_trades_again(book):
    ask = book.place_order(BOB, 1, False, p(5), 100).value
    book.cancel_order(BOB, ask)
    events = book.place_order(ALICE, 1, True, p(5), 100).events
    assert not [e for e in events if isinstance(e, ev.Trade)]


# ---------------------------------------------------------------------------------- grid fallback


def test_grid_fill_settles_buys_and_sells_at_the_tariffs(book):
    book.set_grid_tariffs(OPERATOR, p(9), p(1))  # for periods not open yet: not periods 1 and 2
    eager_buy = book.place_order(ALICE, 1, True, p(8), 1_000).value
    cheap_buy = book.place_order(CAROL, 1, True, p(3), 400).value
    # sells in period 2, where no bid crosses them
    book.deposit_energy(BOB, 2, 1_000)
    cheap_sell = book.place_order(BOB, 2, False, p(2), 300, 100).value
    dear_sell = book.place_order(BOB, 2, False, p(9), 200).value
    operator_upos = book.upos_free(OPERATOR)
    close_gate(book, 2)
    outcome = book.grid_fill(OPERATOR, [eager_buy, cheap_buy, cheap_sell, dear_sell])
    assert outcome.events == (
        ev.GridFilled(eager_buy, ALICE, OPERATOR, True, p(6), 1_000),
        ev.OrderExpired(cheap_buy, CAROL, 400),
        ev.GridFilled(cheap_sell, BOB, OPERATOR, False, p(2), 300),
        ev.OrderExpired(dear_sell, BOB, 200),
    )
    assert book.upos_free(ALICE) == FUNDS - payment_base(1_000, p(6))
    assert book.grid_supplied_wh(ALICE, 1) == 1_000
    assert book.upos_free(CAROL) == FUNDS
    assert book.upos_free(BOB) == FUNDS + payment_base(300, p(2))
    assert book.energy_free(BOB, 2) == 1_000 - 300
    assert book.energy_free(OPERATOR, 2) == 300
    assert book.upos_free(OPERATOR) == operator_upos + payment_base(1_000, p(6)) - payment_base(300, p(2))
    assert [book.order(i).status for i in (eager_buy, cheap_buy, cheap_sell, dear_sell)] == [
        OrderStatus.GRID_FILLED,
        OrderStatus.EXPIRED,
        OrderStatus.GRID_FILLED,
        OrderStatus.EXPIRED,
    ]


def test_grid_fill_rejections(book):
    sell = book.place_order(BOB, 1, False, p(1), 5_000).value
    with pytest.raises(err.PeriodNotClosed):
        book.grid_fill(OPERATOR, [sell])
    close_gate(book, 1)
    with pytest.raises(err.AccessControlUnauthorizedAccount) as info:
        book.grid_fill(ALICE, [sell])
    assert info.value.values == (ALICE, OPERATOR_ROLE)
    book.withdraw_upos(OPERATOR, FUNDS - 1)
    before = snapshot(book)
    with pytest.raises(err.InsufficientBalance) as info:
        book.grid_fill(OPERATOR, [sell])
    assert info.value.values == (OPERATOR, 1, payment_base(5_000, p(2)))
    assert snapshot(book) == before


def test_grid_tariffs_need_the_operator_and_valid_prices(book):
    with pytest.raises(err.AccessControlUnauthorizedAccount):
        book.set_grid_tariffs(ALICE, p(6), p(2))
    with pytest.raises(err.PriceOffGrid):
        book.set_grid_tariffs(OPERATOR, p(6) + 5, p(2))
    with pytest.raises(err.InvalidGridTariffs):
        book.set_grid_tariffs(OPERATOR, p(2), p(6))
    assert book.set_grid_tariffs(OPERATOR, p(8), p(3)).events == (ev.GridTariffsSet(p(8), p(3), 5),)
    assert book.grid_tariffs(4) == (p(6), p(2)) and book.grid_tariffs(5) == (p(8), p(3))


def test_order_minimums_bind_new_orders(book):
    with pytest.raises(err.AccessControlUnauthorizedAccount):
        book.set_order_minimums(OPERATOR, 100, 50)
    with pytest.raises(err.InvalidOrderMinimums):
        book.set_order_minimums(ADMIN, 0, 50)
    assert book.set_order_minimums(ADMIN, 100, 50).events == (ev.OrderMinimumsSet(100, 50),)
    with pytest.raises(err.OrderBelowMinimum) as info:
        book.place_order(ALICE, 1, True, p(5), 99)
    assert info.value.values == (99, 100)
    with pytest.raises(err.DisplayBelowMinimum):
        book.place_order(ALICE, 1, True, p(5), 1_000, 49)
    book.place_order(ALICE, 1, True, p(5), 1_000, 50)


def test_views_of_an_accounts_open_orders_and_locks(book):
    bid = book.place_order(ALICE, 1, True, p(5), 300).value
    book.place_order(BOB, 1, False, p(9), 200)
    iceberg = book.place_order(ALICE, 1, False, p(8), 500, 100).value
    cancelled = book.place_order(ALICE, 1, True, p(4), 100).value
    book.cancel_order(ALICE, cancelled)
    assert book.open_orders_of(ALICE, 0, 10**9) == [bid, iceberg]
    assert book.open_orders_of(ALICE, bid + 1, iceberg) == []
    assert book.locked_of(ALICE, 1, 0, 10**9) == (payment_base(300, p(5)), 500)


# ---------------------------------------------------------------------------------- errors


def test_error_encoding_matches_the_solidity_abi():
    account = "0x" + "ab" * 20
    error = err.InsufficientBalance(account, 3, 7)
    # keccak("InsufficientBalance(address,uint256,uint256)")[:4]
    assert error.encode()[:4].hex() == "db42144d"
    assert error.encode()[4:] == bytes(12) + bytes.fromhex("ab" * 20) + (3).to_bytes(32, "big") + (7).to_bytes(32, "big")
    assert len({e.signature() for e in err.ALL_ERRORS}) == len(err.ALL_ERRORS)
    with pytest.raises(TypeError):
        err.PeriodClosed()


# ---------------------------------------------------------------------------------- properties

ACCOUNTS = (ALICE, BOB, CAROL, OPERATOR)
operation = st.tuples(
    st.sampled_from(["place", "cancel", "expire", "grid", "tick"]),
    st.sampled_from(ACCOUNTS),
    st.integers(1, 2),  # period
    st.booleans(),  # is_buy
    st.integers(1, 12),  # price in ticks
    st.integers(1, 900),  # quantity Wh
    st.integers(0, 900),  # display Wh (0: a plain order)
)


@settings(max_examples=60, deadline=None)
@given(st.lists(operation, min_size=20, max_size=120))
def test_random_sequences_conserve_funds_and_keep_the_book_consistent(ops):
    b = make_book(import_ticks=7, export_ticks=3)
    for account in ACCOUNTS:
        b.deposit_upos(account, FUNDS)
        for period in (1, 2):
            b.deposit_energy(account, period, 50_000)
    total_upos, total_wh = b.upos_held(), {q: b.energy_held(q) for q in (1, 2)}
    closed_ever: set[int] = set()
    for kind, account, period, is_buy, price, quantity, display in ops:
        try:
            if kind == "place":
                b.place_order(account, period, is_buy, p(price), quantity, display or quantity)
            elif kind == "cancel" and b.next_order_id > 1:
                b.cancel_order(account, 1 + quantity % (b.next_order_id - 1))
            elif kind == "expire":
                b.expire_orders(account, [o for o in range(1, b.next_order_id) if b.order(o).period == period])
            elif kind == "grid":
                b.grid_fill(OPERATOR, [o for o in range(1, b.next_order_id) if b.order(o).period == period])
            elif kind == "tick":
                b.now += PERIOD_S // 3
        except err.OrderBookError:
            pass
        closed = {i for i in range(1, b.next_order_id) if b.order(i).status is not OrderStatus.OPEN}
        assert closed >= closed_ever, "a closed order reopened"
        closed_ever = closed
        assert b.upos_held() == total_upos
        # grid fills move seller energy to the operator and buyer demand to grid supply, never create credits
        assert all(b.energy_held(q) == total_wh[q] for q in (1, 2))
        for q in (1, 2):
            bid, ask = b.best_bid(q), b.best_ask(q)
            assert bid.price == 0 or ask.price == 0 or bid.price < ask.price, "book crossed at rest"
            for is_buy in (True, False):
                prices, visible = b.depth(q, is_buy, 100)
                assert prices == sorted(prices, reverse=is_buy)
                for price, shown in zip(prices, visible):
                    queue = [b.order(i) for i in b.level_queue(q, is_buy, price)]
                    assert all(o.status is OrderStatus.OPEN for o in queue)
                    assert all(0 < o.visible_wh <= (o.peak_wh or o.remaining_wh) for o in queue)
                    assert all(o.visible_wh <= o.remaining_wh for o in queue)
                    assert shown == sum(o.visible_wh for o in queue)
        for i in range(1, b.next_order_id):
            view = b.order(i)
            resting = i in b.level_queue(view.period, view.is_buy, view.price)
            assert resting == (view.status is OrderStatus.OPEN), "open orders rest, closed ones do not"


def test_post_only_and_immediate_or_cancel(book):
    book.place_order(BOB, 1, False, p(5), 300)
    with pytest.raises(err.OrderWouldTrade):
        book.place_order_with_options(ALICE, 1, True, p(5), 500, 500, 1, 0)
    ioc = book.place_order_with_options(ALICE, 1, True, p(6), 1_000, 1_000, 2, 0)
    assert ioc.events[-1] == ev.OrderCancelled(ioc.value, ALICE, 700)
    assert book.order(ioc.value).status is OrderStatus.CANCELLED
    assert book.upos_free(ALICE) == FUNDS - payment_base(300, p(5))
    with pytest.raises(err.InvalidOrderFlags):
        book.place_order_with_options(ALICE, 1, True, p(4), 100, 100, 3, 0)
    with pytest.raises(err.DeadlinePassed):
        book.place_order_with_options(ALICE, 1, True, p(4), 100, 100, 0, book.now - 1)


# ---------------------------------------------------------------- carry-over (seed 003 AdBEV)


@pytest.fixture
def ahead_one() -> EnergyOrderBookModel:
    """One period ahead (the AdBEV terms); now mid period 0, so period 1 is the only tradable one."""
    b = make_book(max_periods_ahead=1)
    for account in (ALICE, BOB, CAROL, OPERATOR):
        b.deposit_upos(account, FUNDS)
        for period in (1, 2):
            b.deposit_energy(account, period, 100_000)
    return b


def _window(b: EnergyOrderBookModel) -> None:
    """Between period 1's gate closure and its start: carries into period 2 are open."""
    b.now = GENESIS + PERIOD_S - LEAD_S + 1


def test_carried_orders_lead_their_level_and_move_the_sell_lock(ahead_one):
    first = ahead_one.place_order(ALICE, 1, False, p(20), 3_000).value
    second = ahead_one.place_order(BOB, 1, False, p(20), 5_000, 1_000).value
    for order_id, owner in ((first, ALICE), (second, BOB)):
        ahead_one.set_carry_limit(owner, order_id, 3)
    _window(ahead_one)
    outcome = ahead_one.carry_orders(OPERATOR, [first, second])
    assert outcome.events == (ev.OrderCarried(first, 1, 2, 3_000), ev.OrderCarried(second, 1, 2, 5_000))
    assert ahead_one.level_queue(2, False, p(20)) == (first, second)
    assert (ahead_one.energy_free(ALICE, 1), ahead_one.energy_free(ALICE, 2)) == (100_000, 97_000)
    assert ahead_one.order(second).visible_wh == 1_000 and ahead_one.order(second).period == 2
    ahead_one.now = GENESIS + PERIOD_S + 1  # period 2 opens
    later = ahead_one.place_order(CAROL, 2, False, p(20), 1_000).value
    assert ahead_one.level_queue(2, False, p(20)) == (first, second, later)


def test_carry_errors_leave_the_model_unchanged(ahead_one):
    plain = ahead_one.place_order(ALICE, 1, True, p(10), 1_000).value
    allowed = ahead_one.place_order(BOB, 1, True, p(10), 1_000).value
    ahead_one.set_carry_limit(BOB, allowed, 2)
    with pytest.raises(err.PeriodNotClosed):
        ahead_one.carry_orders(OPERATOR, [allowed])
    _window(ahead_one)
    before = snapshot(ahead_one)
    with pytest.raises(err.CarryPastLimit) as past:
        ahead_one.carry_orders(OPERATOR, [allowed, plain])
    assert past.value.values == (plain, 2, 0)
    assert snapshot(ahead_one) == before and ahead_one.order(allowed).period == 1
    with pytest.raises(err.AccessControlUnauthorizedAccount):
        ahead_one.carry_orders(ALICE, [allowed])
    with pytest.raises(err.UnknownOrder):
        ahead_one.carry_orders(OPERATOR, [99])
    ahead_one.now = GENESIS + PERIOD_S  # period 1 starts: period 2 is open for orders
    with pytest.raises(err.CarryWindowClosed) as closed:
        ahead_one.carry_orders(OPERATOR, [allowed])
    assert closed.value.values == (2, GENESIS + PERIOD_S)


def test_carry_out_of_order_and_skips(ahead_one):
    first = ahead_one.place_order(ALICE, 1, True, p(10), 1_000).value
    second = ahead_one.place_order(BOB, 1, True, p(10), 1_000).value
    broke = ahead_one.place_order(CAROL, 1, False, p(30), 2_000).value
    extra = ahead_one.place_order(ALICE, 1, True, p(10), 1_000).value
    for order_id, owner in ((first, ALICE), (second, BOB), (broke, CAROL), (extra, ALICE)):
        ahead_one.set_carry_limit(owner, order_id, 2)
    ahead_one.cancel_order(ALICE, first)
    ahead_one.withdraw_energy(CAROL, 2, 100_000)
    _window(ahead_one)
    with pytest.raises(err.CarryOutOfOrder) as order_error:
        ahead_one.carry_orders(OPERATOR, [extra, second])
    assert order_error.value.values == (2, extra, second)
    outcome = ahead_one.carry_orders(OPERATOR, [first, second, broke])
    assert outcome.events == (
        ev.OrderSkipped(first, OrderStatus.CANCELLED),
        ev.OrderCarried(second, 1, 2, 1_000),
        ev.CarrySkipped(broke, 0, 2_000),
    )


def test_step_carries_what_may_wait_and_settles_the_rest(ahead_one):
    """stepOrders (AdBEV Table 4-B): carried if the owner allowed it, else grid-filled or expired."""
    waiting = ahead_one.place_order(ALICE, 1, True, p(4), 3_000, 1_000).value
    pushed = ahead_one.place_order(BOB, 1, False, p(20), 2_000).value
    normal = ahead_one.place_order(BOB, 1, True, p(6), 1_000).value  # reaches the import tariff
    broke = ahead_one.place_order(CAROL, 1, False, p(30), 2_000).value
    killed = ahead_one.place_order(ALICE, 1, False, p(25), 500).value
    for order_id, owner in ((waiting, ALICE), (pushed, BOB), (broke, CAROL)):
        ahead_one.set_carry_limit(owner, order_id, 2)
    ahead_one.withdraw_energy(CAROL, 2, 100_000)
    with pytest.raises(err.PeriodNotClosed):
        ahead_one.step_orders(OPERATOR, [waiting])
    _window(ahead_one)
    before = snapshot(ahead_one)
    with pytest.raises(err.AccessControlUnauthorizedAccount):
        ahead_one.step_orders(ALICE, [waiting])
    with pytest.raises(err.UnknownOrder):
        ahead_one.step_orders(OPERATOR, [waiting, 99])
    assert snapshot(ahead_one) == before
    outcome = ahead_one.step_orders(OPERATOR, [waiting, pushed, normal, broke, killed])
    assert outcome.events == (
        ev.OrderCarried(waiting, 1, 2, 3_000),
        ev.OrderCarried(pushed, 1, 2, 2_000),
        ev.GridFilled(normal, BOB, OPERATOR, True, p(6), 1_000),
        ev.CarrySkipped(broke, 0, 2_000),
        ev.OrderExpired(broke, CAROL, 2_000),
        ev.OrderExpired(killed, ALICE, 500),
    )
    assert ahead_one.level_queue(2, True, p(4)) == (waiting,) and ahead_one.order(waiting).visible_wh == 1_000
    assert ahead_one.grid_supplied_wh(BOB, 1) == 1_000


def test_set_carry_limit_rules(ahead_one):
    order_id = ahead_one.place_order(ALICE, 1, True, p(10), 1_000).value
    with pytest.raises(err.NotOrderOwner):
        ahead_one.set_carry_limit(BOB, order_id, 2)
    with pytest.raises(err.InvalidCarryLimit) as invalid:
        ahead_one.set_carry_limit(ALICE, order_id, 1)
    assert invalid.value.values == (order_id, 1, 1)
    with pytest.raises(err.InvalidCarryLimit):
        ahead_one.set_carry_limit(ALICE, order_id, 2**32)
    assert ahead_one.set_carry_limit(ALICE, order_id, 4).events == (ev.CarryLimitSet(order_id, 4),)
    assert ahead_one.carry_limit(order_id) == 4
    ahead_one.cancel_order(ALICE, order_id)
    with pytest.raises(err.OrderNotOpen):
        ahead_one.set_carry_limit(ALICE, order_id, 2)
    other = ahead_one.place_order(ALICE, 1, True, p(10), 1_000).value
    _window(ahead_one)
    with pytest.raises(err.PeriodClosed):
        ahead_one.set_carry_limit(ALICE, other, 2)


# ------------------------------------------------------------------ purchase premium (seed 002)

RECIPIENT = "0x2EC1"


@pytest.fixture
def penalised(book):
    """The book with a premium source: period 1 at x1.5, the premiums to RECIPIENT."""
    source = PremiumSource("0x5C4ED", RECIPIENT, {1: 15_000})
    book.set_premium_source(ADMIN, source)
    return book, source


def premium_of(wh: int, price: int, bps: int = 15_000) -> int:
    return payment_base(wh, price * (bps - 10_000) // 10_000 // 1_000 * 1_000)


def test_premium_source_is_admin_only_once_and_non_zero(penalised):
    book, source = penalised
    before = snapshot(book)
    with pytest.raises(err.AccessControlUnauthorizedAccount):
        book.set_premium_source(ALICE, source)
    with pytest.raises(err.ZeroAddress):
        book.set_premium_source(ADMIN, type(source)("0x" + "00" * 20, RECIPIENT))
    with pytest.raises(err.PremiumSourceAlreadySet) as raised:
        book.set_premium_source(ADMIN, source)
    assert raised.value.values == (source.address,)
    assert snapshot(book) == before


def test_penalised_taker_and_maker_buys_pay_the_recipient(penalised):
    book, _ = penalised
    book.place_order(BOB, 1, False, p(5), 1_000)
    alice_before, bob_before = book.upos_free(ALICE), book.upos_free(BOB)
    out = book.place_order(ALICE, 1, True, p(7), 3_000)  # takes 1000 Wh at 5, rests 2000 Wh at 7
    assert ev.PremiumFixed(2, 15_000) in out.events
    assert ev.PremiumPaid(RECIPIENT, 1, premium_of(1_000, p(5))) in out.events
    assert book.upos_free(BOB) - bob_before == payment_base(1_000, p(5))
    resting = payment_base(2_000, p(7)) + premium_of(2_000, p(7))
    assert alice_before - book.upos_free(ALICE) == payment_base(1_000, p(5)) + premium_of(1_000, p(5)) + resting
    out = book.place_order(CAROL, 1, False, p(6), 500)  # a seller takes the resting penalised buy
    assert out.events[-1] == ev.PremiumPaid(RECIPIENT, 1, premium_of(500, p(7)))
    assert book.upos_free(RECIPIENT) == premium_of(1_000, p(5)) + premium_of(500, p(7))
    assert book.upos_held() == sum(book.upos_free(a) for a in (ALICE, BOB, CAROL, OPERATOR, RECIPIENT)) + \
        book.locked_upos()


def test_refunds_return_the_premium_of_the_remainder(penalised):
    book, _ = penalised
    before = book.upos_free(ALICE)
    order_id = book.place_order(ALICE, 1, True, p(7), 1_001).value
    book.place_order(BOB, 1, False, p(7), 333)
    book.cancel_order(ALICE, order_id)
    assert before - book.upos_free(ALICE) == payment_base(333, p(7)) + premium_of(333, p(7))


def test_grid_fill_pays_the_premium_on_the_import_tariff(penalised):
    book, _ = penalised
    before = book.upos_free(ALICE)
    order_id = book.place_order(ALICE, 1, True, p(8), 1_000).value
    close_gate(book, 1)
    out = book.grid_fill(OPERATOR, [order_id])
    assert out.events[-1] == ev.PremiumPaid(RECIPIENT, 1, premium_of(1_000, p(6)))
    assert before - book.upos_free(ALICE) == payment_base(1_000, p(6)) + premium_of(1_000, p(6))


def test_multiplier_is_fixed_at_placement(penalised):
    book, source = penalised
    source.multipliers_bps[2] = 10_000
    early = book.place_order(ALICE, 2, True, p(7), 1_000).value
    source.multipliers_bps[2] = 15_000  # a vector published after the order
    book.deposit_energy(BOB, 2, 1_000)
    book.place_order(BOB, 2, False, p(7), 1_000)
    assert book.premium_bps_of(early) == 10_000
    assert book.upos_free(RECIPIENT) == 0


def test_a_source_multiplier_is_capped_at_x10(penalised):
    book, source = penalised
    source.multipliers_bps[2] = 2**200  # a broken source cannot push the lock past the book's arithmetic
    order_id = book.place_order(ALICE, 2, True, p(7), 1_000).value
    assert book.premium_bps_of(order_id) == 100_000


class _Gate:
    """An order gate that admits up to `cap_wh` of ALICE's buys (like BatteryWindows for one EV)."""

    address = "0x6A7E"

    def __init__(self, cap_wh: int) -> None:
        self.left_wh = cap_wh

    def admit_order(self, owner: str, period: int, is_buy: bool, quantity_wh: int) -> None:
        if owner != ALICE:
            return
        if quantity_wh > self.left_wh:
            raise err.ZeroAmount()  # stands for the gate's own error
        self.left_wh -= quantity_wh


def test_order_gate_refuses_a_placement_whole_and_is_set_once(book):
    gate = _Gate(1_500)
    with pytest.raises(err.AccessControlUnauthorizedAccount):
        book.set_order_gate(ALICE, gate)
    with pytest.raises(err.ZeroAddress):
        book.set_order_gate(ADMIN, type("Zero", (_Gate,), {"address": "0x" + "00" * 20})(0))
    assert book.set_order_gate(ADMIN, gate).events == (ev.OrderGateSet(gate.address),)
    with pytest.raises(err.OrderGateAlreadySet) as again:
        book.set_order_gate(ADMIN, _Gate(0))
    assert again.value.values == (gate.address,) and book.order_gate is gate
    book.place_order(BOB, 1, False, p(5), 700)
    book.place_order(ALICE, 1, True, p(5), 1_000)  # takes BOB's 700 Wh, rests 300 Wh
    before = snapshot(book)
    with pytest.raises(err.ZeroAmount):
        book.place_order(ALICE, 1, True, p(5), 600)
    assert snapshot(book) == before and gate.left_wh == 500
    assert book.place_order(BOB, 1, True, p(5), 5_000).value == 3  # not gated
