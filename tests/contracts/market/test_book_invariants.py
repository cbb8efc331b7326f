"""Stateful test of the EnergyOrderBook (brownie state machine + hypothesis): random places (plain and
iceberg, both sides, two periods), cancels, withdrawals, gate closure, expiry and grid fill. After every
step:
  * UPOS and credits are conserved: the book's token holdings equal all free balances plus all locks;
  * the book is never crossed at rest;
  * visible depth never exceeds display sizes, and each level's depth is the sum of its orders' tranches;
  * a cancelled or expired order never trades and stays so.
"""

import importlib.util
from pathlib import Path

import brownie
import brownie.test
import pytest
from contract_helpers import INSUFFICIENT_BALANCE, custom_error
from book_support import PERIOD_SECONDS, book_params, order_view, placed_id, price
from brownie import chain, web3
from hypothesis import strategies as st
from hypothesis.stateful import rule

from offchain.chain.roles import role_id
from offchain.market import OrderStatus
from offchain.units import payment_base

TICKS = (197, 203)  #: limit prices drawn from this narrow band (thousandths of a UPOS per kWh): many crossings
IMPORT_MILLI, EXPORT_MILLI = 201, 199  #: tariffs inside the band, so grid fills happen as well as expiries
SETTINGS = {"max_examples": 20, "stateful_step_count": 30}
#: Action kinds, repeats weighting them. A kind that cannot apply (nothing to cancel...) places an order.
KINDS = ("place",) * 4 + ("take",) * 3 + ("cancel", "close", "expire", "grid_fill") * 2 + ("withdraw",)
ACTION = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(KINDS),
        "trader": st.integers(min_value=0, max_value=5),
        "is_buy": st.booleans(),
        "later_period": st.sampled_from([False, False, True]),  # the first period until its gate closes
        "milli": st.integers(min_value=TICKS[0], max_value=TICKS[1]),
        "quantity": st.integers(min_value=1, max_value=6_000),
        "display_share": st.sampled_from([0, 0.1, 0.25, 0.5]),  # iceberg peak as a share of the quantity
        "pick": st.integers(min_value=0, max_value=10**6),  # chooses among the open orders
    }
)


@pytest.fixture(scope="module")
def book(EnergyOrderBook, registry, upos, credit, admin):
    """The market tests' book (tests/contracts/market/conftest.py) with grid tariffs inside the price band
    from period 0: a period's tariffs are fixed before it opens."""
    genesis = (chain.time() // PERIOD_SECONDS - 100) * PERIOD_SECONDS
    params = book_params(genesis, importPrice=price(IMPORT_MILLI), exportPrice=price(EXPORT_MILLI))
    deployed = EnergyOrderBook.deploy(registry, upos, credit, params, {"from": admin})
    registry.grantRole(role_id("MARKET"), deployed, {"from": admin})
    return deployed


class BookMachine:
    """One hypothesis rule runs a short list of actions and checks the invariants after each: a single
    rule keeps hypothesis' swarm testing from switching off placing or taking for a whole example, and
    lists make examples long even when hypothesis draws few rule steps. brownie's state_machine runner
    reverts the chain before each example and calls `setup`."""

    def __init__(cls, book, upos, credit, traders, operator, outsider, period):
        cls.book, cls.upos, cls.credit = book, upos, credit
        cls.traders, cls.operator, cls.outsider = traders, operator, outsider
        cls.periods = (period, period + 1)
        # web3 twins of the contracts: the invariants read everything in one batched request
        cls.w3_book, cls.w3_upos, cls.w3_credit = (
            web3.eth.contract(address=c.address, abi=c.abi) for c in (book, upos, credit)
        )

    def setup(self):
        self.open_period: dict[int, int] = {}  # open order -> its period
        self.withdrawn: dict[int, int] = {}  # cancelled or expired order -> its status
        self.first_closed = False

    @rule(actions=st.lists(ACTION, min_size=1, max_size=6))
    def run_actions(self, actions):
        for action in actions:
            self._apply(**action)
            self._check()

    def _apply(self, kind, trader, is_buy, later_period, milli, quantity, display_share, pick):
        account = self.traders[trader]
        display = int(quantity * display_share) or quantity  # share 0 (or a peak under 1 Wh): a plain order
        tradable, closed = self._tradable_open(), self._closed_open()
        if kind == "take" and tradable:
            self._take(account, self._pick(tradable, pick), quantity, display)
        elif kind == "cancel" and self.open_period:
            self._cancel(account, self._pick(self.open_period, pick))
        elif kind == "withdraw":
            half = self.book.uposFree(account) // 2
            if half:
                self.book.withdrawUpos(half, {"from": account})
        elif kind == "close" and not self.first_closed and self._first_period_open():
            chain.sleep(self.book.gateClosure(self.periods[0]) - chain.time() + 1)
            chain.mine()
            self.first_closed = True
        elif kind == "expire" and closed:
            self._expire(self._pick(closed, pick))
        elif kind == "grid_fill" and closed:
            self._grid_fill(self._pick(closed, pick))
        else:
            period = self.periods[1] if later_period or self.first_closed else self.periods[0]
            self._place(account, period, is_buy, price(milli), quantity, display)

    # --- actions -------------------------------------------------------------------------------

    def _place(self, trader, period, is_buy, limit, quantity, display):
        """Any order; refused with InsufficientBalance when the trader cannot cover it."""
        if is_buy:
            available, needed = self.book.uposFree(trader), payment_base(quantity, limit)
        else:
            available, needed = self.book.energyFree(trader, period), quantity
        args = (period, is_buy, limit, quantity, display, {"from": trader})
        if available < needed:
            with brownie.reverts(custom_error(INSUFFICIENT_BALANCE, trader, available, needed)):
                self.book.placeOrder(*args)
            return
        tx = self.book.placeOrder(*args)
        for trade in tx.events["Trade"] if "Trade" in tx.events else []:
            assert trade["makerOrderId"] not in self.withdrawn
        self.open_period[placed_id(tx)] = period

    def _take(self, trader, maker_id, quantity, display):
        """An order from the other side at an open order's limit: it trades."""
        maker = order_view(self.book, maker_id)
        self._place(trader, maker["period"], not maker["isBuy"], maker["price"], quantity, display)

    def _cancel(self, caller, order_id):
        """The owner's cancel succeeds before gate closure; anyone else's, or one after it, is refused."""
        if caller != order_view(self.book, order_id)["owner"]:
            with brownie.reverts(custom_error("NotOrderOwner(uint256,address)", order_id, caller)):
                self.book.cancelOrder(order_id, {"from": caller})
            return
        period = self.open_period[order_id]
        if period == self.periods[0] and self.first_closed:
            with brownie.reverts(custom_error("PeriodClosed(uint256)", period)):
                self.book.cancelOrder(order_id, {"from": caller})
            return
        tx = self.book.cancelOrder(order_id, {"from": caller})
        assert tx.events["OrderCancelled"]["orderId"] == order_id
        self.withdrawn[order_id] = OrderStatus.CANCELLED

    def _expire(self, order_id):
        # between gate closure and the period's start only the operator expires
        self.book.expireOrders([order_id], {"from": self.operator})
        self.withdrawn[order_id] = OrderStatus.EXPIRED

    def _grid_fill(self, order_id):
        order = order_view(self.book, order_id)
        cost = payment_base(order["remainingWh"], price(EXPORT_MILLI))
        operator_free = self.book.uposFree(self.operator)
        if not order["isBuy"] and order["price"] <= price(EXPORT_MILLI) and operator_free < cost:
            with brownie.reverts(custom_error(INSUFFICIENT_BALANCE, self.operator, operator_free, cost)):
                self.book.gridFill([order_id], {"from": self.operator})
            return
        tx = self.book.gridFill([order_id], {"from": self.operator})
        if "OrderExpired" in tx.events:
            self.withdrawn[order_id] = OrderStatus.EXPIRED

    # --- invariants ----------------------------------------------------------------------------

    def _check(self):
        state = self._read_state()
        open_views = {i: v for i, v in state["orders"].items() if v["status"] == OrderStatus.OPEN}
        self.open_period = {i: v["period"] for i, v in open_views.items()}
        self._assert_conserved(state, open_views)
        for period in self.periods:
            self._assert_depth(state, period, open_views)
        for order_id, status in self.withdrawn.items():
            view = state["orders"][order_id]
            assert (view["status"], view["remainingWh"]) == (status, 0)

    # --- helpers -------------------------------------------------------------------------------

    def _tradable_open(self) -> list[int]:
        return [i for i, p in self.open_period.items() if p != self.periods[0] or not self.first_closed]

    def _first_period_open(self) -> list[int]:
        return [i for i, p in self.open_period.items() if p == self.periods[0]]

    def _closed_open(self) -> list[int]:
        return self._first_period_open() if self.first_closed else []

    @staticmethod
    def _pick(order_ids, pick: int) -> int:
        ordered = sorted(order_ids)
        return ordered[pick % len(ordered)]

    def _read_state(self) -> dict:
        """Balances, holdings, tracked orders, best prices and depth, read in one batched request."""
        accounts = [a.address for a in (*self.traders, self.outsider)]
        order_ids = sorted(set(self.open_period) | set(self.withdrawn))
        book = self.w3_book.functions
        calls = [self.w3_upos.functions.balanceOf(self.book.address)]
        calls += [self.w3_credit.functions.balanceOf(self.book.address, p) for p in self.periods]
        calls += [book.uposFree(a) for a in accounts]
        calls += [book.energyFree(a, p) for p in self.periods for a in accounts]
        calls += [book.getOrder(i) for i in order_ids]
        calls += [book.bestBid(p) for p in self.periods] + [book.bestAsk(p) for p in self.periods]
        calls += [book.depth(p, is_buy, 20) for p in self.periods for is_buy in (True, False)]
        with web3.batch_requests() as batch:
            for call in calls:
                batch.add(call)
            results = iter(batch.execute())

        def take(n: int) -> list:
            return [next(results) for _ in range(n)]

        n_periods, n_accounts = len(self.periods), len(accounts)
        keys = ("owner", "period", "isBuy", "price", "remainingWh", "visibleWh", "peakWh", "status")
        return {
            "upos_held": next(results),
            "credits_held": dict(zip(self.periods, take(n_periods))),
            "upos_free": take(n_accounts),
            "energy_free": {p: take(n_accounts) for p in self.periods},
            "orders": {i: dict(zip(keys, r)) for i, r in zip(order_ids, take(len(order_ids)))},
            "best_bid": dict(zip(self.periods, (r[0] for r in take(n_periods)))),
            "best_ask": dict(zip(self.periods, (r[0] for r in take(n_periods)))),
            "depth": {(p, is_buy): next(results) for p in self.periods for is_buy in (True, False)},
        }

    def _assert_conserved(self, state, views):
        locked_upos = sum(payment_base(v["remainingWh"], v["price"]) for v in views.values() if v["isBuy"])
        assert state["upos_held"] == sum(state["upos_free"]) + locked_upos
        for period in self.periods:
            locked_wh = sum(v["remainingWh"] for v in views.values() if not v["isBuy"] and v["period"] == period)
            assert state["credits_held"][period] == sum(state["energy_free"][period]) + locked_wh

    def _assert_depth(self, state, period, views):
        bid, ask = state["best_bid"][period], state["best_ask"][period]
        assert bid == 0 or ask == 0 or bid < ask, "crossed at rest"
        for is_buy in (True, False):
            prices, visible = state["depth"][period, is_buy]
            expected = {}
            for v in views.values():
                if v["period"] != period or v["isBuy"] != is_buy:
                    continue
                assert 0 < v["visibleWh"] <= v["remainingWh"]
                assert v["visibleWh"] <= v["peakWh"] if v["peakWh"] else v["visibleWh"] == v["remainingWh"]
                expected[v["price"]] = expected.get(v["price"], 0) + v["visibleWh"]
            assert dict(zip(prices, visible)) == expected
            assert list(prices) == sorted(prices, reverse=is_buy)


def _state_machine_runner():
    """brownie.test.stateful.state_machine from the pure-Python source shipped beside the compiled module.

    brownie 1.22.2 compiles brownie/test/stateful.py with mypyc; the compiled _BrownieStateMachine is a
    final class whose methods reject the machine class state_machine() derives from it ("TypeError:
    _BrownieStateMachine object expected"), so the `state_machine` fixture cannot run any machine."""
    source = Path(brownie.test.__file__).with_name("stateful.py")
    spec = importlib.util.spec_from_file_location("brownie_stateful_source", source)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.state_machine


def test_book_invariants(book, upos, credit, traders, operator, outsider, period):
    run = _state_machine_runner()
    run(BookMachine, book, upos, credit, traders, operator, outsider, period, settings=SETTINGS)
