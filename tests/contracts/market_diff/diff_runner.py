"""Runs the same operations on the EnergyOrderBook contract and on its Python model and compares them.

An operation drawn by hypothesis is an abstract tuple (kind, r1..r5 of small random integers);
`OperationResolver` turns it into a concrete `Action` (sender, method, arguments) using the model's
current state, so that most actions are meaningful (cancel an open order of its owner, expire orders of
a closed period, ...) and a steady share are invalid on purpose. `DiffRunner.apply` sends the action
to the chain, runs it in the model at the same block timestamp, and compares

* the outcome: both succeed, or both revert with the same custom error and the same values;
* the events the book emitted, in order, field by field (trades, tranche refreshes, ...);
* every free UPOS balance, free energy and grid supply per period, the book's token holdings,
  best bid/ask and top-K depth of every period in play, and every order the step touched.
"""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

from brownie import chain, web3
from brownie.exceptions import VirtualMachineError, decode_typed_error
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak

from offchain.market import EnergyOrderBookModel, OrderBookError, OrderStatus, Outcome
from offchain.market.book import MAX_PERIOD, MAX_QUANTITY_WH
from offchain.market.events import snake_case

UPOS_WALLET = 10**30  #: UPOS base units minted to every account, far above anything deposited
CREDIT_WALLET_WH = 10**9  #: Wh attested to each prosumer in each credited period
CREDITED_PERIODS = range(12)

TICK = 10**15  #: 0.001 UPOS per kWh
BOOK_PARAMS = dict(
    tick_size=TICK,
    min_price=TICK,
    max_price=1_000 * TICK,
    period_seconds=3_600,
    gate_lead_seconds=900,
    max_periods_ahead=2,
    import_price=101 * TICK,
    export_price=98 * TICK,
    min_order_wh=5,
    min_display_wh=3,
)
#: seconds after a period starts at which the test usually parks the chain clock, 1,800 s before the
#: next gate closure: the model always runs at each transaction's own block timestamp, but the resolver
#: picks periods and orders from the model's clock, and this keeps its picks valid despite wall-clock drift
CLOCK_OFFSET_S = BOOK_PARAMS["period_seconds"] - BOOK_PARAMS["gate_lead_seconds"] - 1_800
#: periods the clock may move on within one example, so that every period an order can name has credits
MAX_CLOCK_ADVANCES = len(CREDITED_PERIODS) - BOOK_PARAMS["max_periods_ahead"] - 2

DEPTH_LEVELS = 5  #: K of the top-K depth comparison
FULL_ORDER_SWEEP_EVERY = 50  #: every this many steps, every order ever placed is compared
#: Trades that cannot fit in brownie's 12M-gas transactions at up to 40,000 gas each (a tranche's trade,
#: refresh and events cost about 24,000): a take the model says needs more trades may run out of gas.
MIN_TRADES_BEYOND_THE_BLOCK = 12_000_000 // 40_000

CHAIN_METHODS = {
    "deposit_upos": "depositUpos",
    "withdraw_upos": "withdrawUpos",
    "deposit_energy": "depositEnergy",
    "withdraw_energy": "withdrawEnergy",
    "place_order": "placeOrder",
    "place_order_with_options": "placeOrderWithOptions",
    "cancel_order": "cancelOrder",
    "expire_orders": "expireOrders",
    "grid_fill": "gridFill",
    "set_grid_tariffs": "setGridTariffs",
    "set_order_minimums": "setOrderMinimums",
    "set_carry_limit": "setCarryLimit",
    "carry_orders": "carryOrders",
    "step_orders": "stepOrders",
}
"""Model method -> contract function, same arguments after the sender."""

KINDS = (
    *["limit"] * 6,
    *["iceberg"] * 3,
    *["options"] * 2,
    *["cancel"] * 2,
    "deposit_upos",
    *["deposit_energy"] * 3,
    "withdraw_upos",
    "withdraw_energy",
    "expire",
    *["grid_fill"] * 2,
    "tariffs",
    "minimums",
    "invalid_order",
    "advance",
    "set_active",
    *["carry_limit"] * 3,
    *["carry"] * 3,
    *["step"] * 2,
)
"""Abstract operation kinds; repetition sets their weights."""


@dataclass(frozen=True)
class Action:
    """One concrete operation. `method` is a model method name (see CHAIN_METHODS) or one of the
    harness's own: `set_active` (registry, by the operator) and `advance` (chain clock)."""

    method: str
    sender: Any
    args: tuple = ()

    def __str__(self) -> str:
        args = ", ".join(str(a) for a in self.args)
        return f"{self.method}({args}) from {_short(self.sender)}"


def _short(account: Any) -> str:
    return str(account)[:8]


class ViewBatch:
    """View calls sent as one JSON-RPC batch of eth_calls, encoded and decoded with eth_abi directly
    (web3's per-call ABI validation would dominate the test's run time)."""

    def __init__(self) -> None:
        self._signatures: dict[tuple[str, str], tuple[bytes, list[str], list[str]]] = {}
        self._calls: list[tuple[str, str, bytes, list[str], Any]] = []

    def add(self, label: str, contract: Any, function: str, args: tuple, expected: Any) -> None:
        """Queues `contract.function(*args)`, whose result should equal `expected`."""
        key = (contract.address, function)
        if key not in self._signatures:
            abi = next(i for i in contract.abi if i.get("type") == "function" and i["name"] == function)
            inputs, outputs = [i["type"] for i in abi["inputs"]], [o["type"] for o in abi["outputs"]]
            selector = keccak(text=f"{function}({','.join(inputs)})")[:4]
            self._signatures[key] = (selector, inputs, outputs)
        selector, inputs, outputs = self._signatures[key]
        self._calls.append((label, contract.address, selector + abi_encode(inputs, list(args)), outputs, expected))

    def differences(self) -> list[str]:
        """Runs the queued calls and returns one line per result that differs from its expectation."""
        requests = [
            ("eth_call", [{"to": to, "data": "0x" + data.hex()}, "latest"]) for _, to, data, _, _ in self._calls
        ]
        responses = web3.provider.make_batch_request(requests)
        lines = []
        for (label, _, _, outputs, expected), response in zip(self._calls, responses, strict=True):
            if "result" not in response:
                lines.append(f"{label}: chain call failed: {response.get('error')}")
                continue
            decoded = abi_decode(outputs, bytes.fromhex(response["result"][2:]))
            actual = _plain(decoded[0] if len(outputs) == 1 else decoded)
            if actual != _plain(expected):
                lines.append(f"{label}: chain={actual!r} model={_plain(expected)!r}")
        self._calls.clear()
        return lines


class DisagreementError(AssertionError):
    """The contract and the model disagree; the message names the step and the action history."""


@dataclass
class DiffRunner:
    """Applies actions to a book contract and its model and checks they agree after every step."""

    env: Any
    book: Any
    model: EnergyOrderBookModel
    history: list[Action] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    reverted: Counter = field(default_factory=Counter)
    revert_reasons: Counter = field(default_factory=Counter)
    event_counts: Counter = field(default_factory=Counter)
    clock_advances: int = 0

    def __post_init__(self) -> None:
        self._batch = ViewBatch()
        self._periods_seen: set[int] = set()
        self._touched: set[int] = set()

    # --------------------------------------------------------------------------------- running

    def apply(self, action: Action) -> None:
        self.history.append(action)
        self.counts[action.method] += 1
        if action.method == "advance":
            self._advance_clock(*action.args)
        elif action.method == "set_active":
            self._set_active(*action.args)
        else:
            self._run_book_action(action)
        self.check_state(full_sweep=len(self.history) % FULL_ORDER_SWEEP_EVERY == 0)

    def _run_book_action(self, action: Action) -> None:
        if action.method in ("cancel_order", "expire_orders", "grid_fill", "step_orders"):
            targets = action.args[0]
            self._touched.update(targets if isinstance(targets, list) else [targets])
        contract_function = getattr(self.book, CHAIN_METHODS[action.method])
        try:
            tx = contract_function(*action.args, {"from": action.sender})
            chain_error, timestamp = None, tx.timestamp
        except VirtualMachineError as revert:
            tx, chain_error, timestamp = None, revert.revert_msg, _revert_timestamp(revert)
            if chain_error is None and _ran_out_of_gas(revert):
                self.model.now = timestamp
                self._check_beyond_the_block(action)
                return

        self.model.now = timestamp
        model_method: Callable[..., Outcome] = getattr(self.model, action.method)
        outcome: Outcome | None = None
        model_error: OrderBookError | None = None
        try:
            outcome = model_method(str(action.sender), *action.args)
        except OrderBookError as error:
            model_error = error

        if chain_error is not None or model_error is not None:
            if chain_error is not None:
                self.reverted[action.method] += 1
                self.revert_reasons[f"{action.method}:{chain_error.split(':')[0]}"] += 1
            expected = None if model_error is None else decode_typed_error("0x" + model_error.encode().hex())
            if chain_error != expected:
                self.fail("outcome differs", chain=chain_error or "success", model=str(model_error or "success"))
            return
        chain_events = [(e.name, {snake_case(k): _plain(v) for k, v in e.items()}) for e in _book_events(tx, self.book)]
        model_events = [(e.name, {k: _plain(v) for k, v in e.args().items()}) for e in outcome.events]
        if chain_events != model_events:
            first = next(
                (i for i, pair in enumerate(zip(chain_events, model_events)) if pair[0] != pair[1]),
                min(len(chain_events), len(model_events)),
            )
            self.fail(
                f"events differ from event #{first + 1} on "
                f"({len(chain_events)} on chain, {len(model_events)} in the model)",
                chain=chain_events[first : first + 3],
                model=model_events[first : first + 3],
            )
        self.event_counts.update(name for name, _ in chain_events)
        self._touched.update(v for _, args in model_events for k, v in args.items() if k.endswith("order_id"))

    def _check_beyond_the_block(self, action: Action) -> None:
        """A transaction that ran out of gas changed nothing on chain, so the model must not apply it either;
        it is accepted only when the model shows the work really exceeds a block: at least
        MIN_TRADES_BEYOND_THE_BLOCK trades (the sequences allow 1-6 Wh iceberg displays, so a large take can
        walk hundreds of tranches). Any other gas exhaustion is a disagreement."""
        trial = copy.deepcopy(self.model)
        try:
            outcome = getattr(trial, action.method)(str(action.sender), *action.args)
        except OrderBookError as error:
            self.fail("out of gas on chain", chain="out of gas", model=str(error))
            return
        trades = sum(1 for event in outcome.events if event.name == "Trade")
        if trades < MIN_TRADES_BEYOND_THE_BLOCK:
            self.fail("out of gas on chain", chain="out of gas", model=f"success with {trades} trades")
            return
        self.reverted[action.method] += 1
        self.revert_reasons[f"{action.method}:out of gas ({trades} trades)"] += 1

    def _advance_clock(self, target: int) -> None:
        chain.sleep(target - chain.time())
        chain.mine()
        self.model.now = web3.eth.get_block("latest").timestamp
        self.clock_advances += 1

    def _set_active(self, account: Any, active: bool) -> None:
        self.env.registry.setActive(account, active, {"from": self.env.operator})
        self.model.access.set_active(str(account), active)

    # ------------------------------------------------------------------------------- comparing

    def periods_in_play(self) -> list[int]:
        current = self.model.current_period()
        window = range(max(0, current - 2), current + self.model.config.max_periods_ahead + 2)
        self._periods_seen.update(window)
        return sorted(self._periods_seen)

    def check_state(self, full_sweep: bool = False) -> None:
        """Compares every balance, the book's holdings, the top of every book in play and the orders
        the last step touched (all orders on a full sweep) in one batched JSON-RPC round trip."""
        model, book, batch = self.model, self.book, self._batch
        periods = self.periods_in_play()
        for account in self.env.actors:
            a = str(account)
            batch.add(f"uposFree({_short(a)})", book, "uposFree", (a,), model.upos_free(a))
            for p in periods:
                batch.add(f"energyFree({_short(a)},{p})", book, "energyFree", (a, p), model.energy_free(a, p))
                supplied = model.grid_supplied_wh(a, p)
                batch.add(f"gridSuppliedWh({_short(a)},{p})", book, "gridSuppliedWh", (a, p), supplied)
        batch.add("UPOS held by the book", self.env.upos, "balanceOf", (book.address,), model.upos_held())
        for p in periods:
            held = model.energy_held(p)
            batch.add(f"credits({p}) held by the book", self.env.credit, "balanceOf", (book.address, p), held)
            batch.add(f"bestBid({p})", book, "bestBid", (p,), model.best_bid(p))
            batch.add(f"bestAsk({p})", book, "bestAsk", (p,), model.best_ask(p))
            for is_buy in (True, False):
                depth = model.depth(p, is_buy, DEPTH_LEVELS)
                batch.add(f"depth({p},{is_buy},{DEPTH_LEVELS})", book, "depth", (p, is_buy, DEPTH_LEVELS), depth)
        batch.add("nextOrderId()", book, "nextOrderId", (), model.next_order_id)
        batch.add("orderMinimums()", book, "orderMinimums", (), model.order_minimums)
        for p in periods:
            batch.add(f"gridTariffs({p})", book, "gridTariffs", (p,), model.grid_tariffs(p))
        for account in self.env.actors:
            a = str(account)
            batch.add(f"openOrdersOf({_short(a)})", book, "openOrdersOf", (a, 0, 2**64),
                      model.open_orders_of(a, 0, 2**64))
            for p in periods[-3:]:
                batch.add(f"lockedOf({_short(a)},{p})", book, "lockedOf", (a, p, 0, 2**64),
                          model.locked_of(a, p, 0, 2**64))
        known = range(1, model.next_order_id)
        for order_id in known if full_sweep else sorted(i for i in self._touched if i in known):
            view = model.order(order_id)
            expected = (view.owner.lower(), *view[1:7], int(view.status))
            batch.add(f"getOrder({order_id})", book, "getOrder", (order_id,), expected)
            batch.add(f"carryLimit({order_id})", book, "carryLimit", (order_id,), model.carry_limit(order_id))
        self._touched = set()
        differences = batch.differences()
        if differences:
            self.fail("state differs", details="\n    ".join(differences))

    def fail(self, what: str, **details: Any) -> None:
        last = f" after {self.history[-1]}" if self.history else " before the first operation"
        lines = [f"step {len(self.history)}: {what}{last}"]
        lines += [f"  {name}: {value}" for name, value in details.items()]
        lines.append("  action history (oldest first):")
        lines += [f"    {i + 1:4d}. {a}" for i, a in enumerate(self.history)]
        raise DisagreementError("\n".join(lines))

    def summary(self) -> str:
        total = sum(self.counts.values())
        by_kind = ", ".join(f"{k}={n} ({self.reverted[k]} reverted)" for k, n in sorted(self.counts.items()))
        reasons = ", ".join(f"{k}={n}" for k, n in self.revert_reasons.most_common())
        emitted = ", ".join(f"{k}={n}" for k, n in self.event_counts.most_common())
        return f"{total} operations: {by_kind}\n  reverts: {reasons}\n  events: {emitted}"


def _book_events(tx: Any, book: Any) -> list:
    return [event for event in tx.events if event.address == book.address]


def _plain(value: Any) -> Any:
    """Normalises chain and model values for comparison: ints (brownie Wei) to int, bytes (HexBytes)
    to bytes, every sequence (web3 lists, structs, NamedTuples) to a tuple."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, bytes):
        return bytes(value)
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    return value


def _ran_out_of_gas(revert: VirtualMachineError) -> bool:
    """Whether a reverted transaction used all the gas it was given (no revert reason to decode)."""
    if not revert.txid:
        return False
    sent = web3.eth.get_transaction(revert.txid)["gas"]
    return web3.eth.get_transaction_receipt(revert.txid)["gasUsed"] == sent


def _revert_timestamp(revert: VirtualMachineError) -> int:
    """The block timestamp a reverted transaction ran at (brownie mines reverting transactions)."""
    if revert.txid:
        block_number = web3.eth.get_transaction_receipt(revert.txid)["blockNumber"]
        return web3.eth.get_block(block_number).timestamp
    return web3.eth.get_block("latest").timestamp


# ------------------------------------------------------------------------------------ resolving


class OperationResolver:
    """Turns abstract (kind, r1..r5) tuples into concrete actions against the model's current state."""

    def __init__(self, runner: DiffRunner, clock_offset_s: int) -> None:
        self.runner = runner
        self.model = runner.model
        self.env = runner.env
        self.clock_offset_s = clock_offset_s
        env = self.env
        self.sellers = [*env.prosumers * 5, *env.evs, env.operator]
        self.buyers = [*env.prosumers, *env.evs * 2, env.operator]
        self.depositors = [*env.prosumers * 2, *env.evs * 2, env.operator, env.outsider]

    @staticmethod
    def pick(pool: list, r: int) -> Any:
        return pool[r % len(pool)]

    def resolve(self, kind: str, r1: int, r2: int, r3: int, r4: int, r5: int) -> list[Action]:
        """The concrete action(s) of one abstract operation: one, except that moving the clock to a
        new period is followed by the prosumers depositing credits for the period that just opened."""
        action = getattr(self, f"_{kind}")(r1, r2, r3, r4, r5)
        if action.method != "advance":
            return [action]
        cfg = self.model.config
        opened = (action.args[0] - cfg.genesis_time) // cfg.period_seconds + cfg.max_periods_ahead
        deposits = [Action("deposit_energy", p, (opened, 5_000 + r2 % 20_000)) for p in self.env.prosumers]
        return [action, *deposits]

    # ---- orders

    def _order_params(self, r2: int, r3: int, r4: int) -> tuple[bool, int, int, int]:
        m = self.model
        is_buy = r2 % 2 == 0
        period = m.current_period() + 1 + (r2 // 2) % m.config.max_periods_ahead
        ticks = (94 if is_buy else 97) + r3 % 10
        quantity = m.order_minimums[0] + r4 % 1_500
        return is_buy, period, ticks * m.config.tick_size, quantity

    def _limit(self, r1: int, r2: int, r3: int, r4: int, r5: int) -> Action:
        is_buy, period, price, quantity = self._order_params(r2, r3, r4)
        sender = self.pick(self.buyers if is_buy else self.sellers, r1)
        return Action("place_order", sender, (period, is_buy, price, quantity, quantity))

    def _options(self, r1: int, r2: int, r3: int, r4: int, r5: int) -> Action:
        """A post-only or immediate-or-cancel order (sometimes an iceberg, both flags, or a deadline passed)."""
        is_buy, period, price, quantity = self._order_params(r2, r3, r4)
        sender = self.pick(self.buyers if is_buy else self.sellers, r1)
        flags = (1, 2, 1, 2, 0, 3)[r5 % 6]
        display = self.model.order_minimums[1] if r5 % 5 == 0 and quantity > self.model.order_minimums[1] else quantity
        deadline = (0, 0, 0, self.model.now + 10_000, max(1, self.model.now - 10))[r1 % 5]
        return Action("place_order_with_options", sender, (period, is_buy, price, quantity, display, flags, deadline))

    def _iceberg(self, r1: int, r2: int, r3: int, r4: int, r5: int) -> Action:
        is_buy, period, price, quantity = self._order_params(r2, r3, r4)
        sender = self.pick(self.buyers if is_buy else self.sellers, r1)
        low = self.model.order_minimums[1]
        display = low + r5 % max(1, quantity * 3 - low)
        return Action("place_order", sender, (period, is_buy, price, quantity * 3, display))

    def _invalid_order(self, r1: int, r2: int, r3: int, r4: int, r5: int) -> Action:
        m, cfg = self.model, self.model.config
        is_buy, period, price, quantity = self._order_params(r2, r3, r4)
        sender = self.pick(self.buyers if is_buy else self.sellers, r5)
        display = quantity
        variant = r1 % 13
        if variant == 10:
            quantity = max(1, m.order_minimums[0] - 1 - r3 % 2)
        elif variant == 11:
            quantity, display = quantity + 10, max(1, m.order_minimums[1] - 1)
        elif variant == 0:
            quantity = 0 if r3 % 2 else MAX_QUANTITY_WH + 1
        elif variant == 1:
            price += cfg.tick_size // 2
        elif variant == 2:
            price = 0
        elif variant == 3:
            price = cfg.max_price + cfg.tick_size
        elif variant == 4:
            display = quantity + 1
        elif variant == 5:
            period = max(0, m.current_period() - r3 % 2)
        elif variant == 6:
            period = m.current_period() + cfg.max_periods_ahead + 1
        elif variant == 7:
            period = MAX_PERIOD + 1
        elif variant == 8:
            quantity = display = 2**40  # more UPOS or Wh than anyone holds
        elif variant == 12:
            display = 0  # an iceberg showing nothing
        else:
            sender = self.env.outsider
        return Action("place_order", sender, (period, is_buy, price, quantity, display))

    def _open_orders(self, closed_gate: bool | None = None) -> list[int]:
        m = self.model
        now = m.now
        ids = []
        for order_id in range(1, m.next_order_id):
            view = m.order(order_id)
            if view.status is OrderStatus.OPEN and (
                closed_gate is None or (now >= m.gate_closure(view.period)) == closed_gate
            ):
                ids.append(order_id)
        return ids

    def _cancel(self, r1: int, r2: int, r3: int, r4: int, r5: int) -> Action:
        m = self.model
        open_ids = self._open_orders()
        variant = r1 % 10
        if m.next_order_id == 1 or (variant <= 7 and not open_ids) or variant == 9:
            return Action("cancel_order", self.pick(self.depositors, r3), ((m.next_order_id if r2 % 2 else 0),))
        order_id = self.pick(open_ids, r2) if variant <= 7 else 1 + r2 % (m.next_order_id - 1)
        owner = next(a for a in self.env.actors if str(a) == m.order(order_id).owner)
        sender = owner if variant != 7 else self.pick([a for a in self.env.actors if a != owner], r3)
        return Action("cancel_order", sender, (order_id,))

    def _settlement_ids(self, r1: int, r2: int) -> list[int]:
        """Open orders of closed periods, sometimes spiked with an open-gate or closed order."""
        m = self.model
        due = self._open_orders(closed_gate=True)
        start = r2 % len(due) if due else 0
        ids = due[start : start + 1 + r2 % 4]
        variant = r1 % 6
        if variant == 4 or not ids:
            ids.append(next(iter(self._open_orders(closed_gate=False)), m.next_order_id))
        elif variant == 5:
            closed = [i for i in range(1, m.next_order_id) if m.order(i).status is not OrderStatus.OPEN]
            ids.insert(0, self.pick(closed, r2) if closed else m.next_order_id)
        return ids

    def _expire(self, r1: int, r2: int, r3: int, r4: int, r5: int) -> Action:
        return Action("expire_orders", self.pick(self.env.actors, r3), (self._settlement_ids(r1, r2),))

    def _grid_fill(self, r1: int, r2: int, r3: int, r4: int, r5: int) -> Action:
        sender = self.env.operator if r3 % 8 else self.pick(self.env.actors, r4)
        return Action("grid_fill", sender, (self._settlement_ids(r1, r2),))

    def _carry_limit(self, r1: int, r2: int, r3: int, r4: int, r5: int) -> Action:
        """The owner of an open order with an open gate allows carrying it 1-3 periods on; sometimes
        another account, a limit not after the order's period, or an order whose gate has closed."""
        m = self.model
        variant = r1 % 8
        candidates = self._open_orders(closed_gate=variant == 7) or self._open_orders() or [max(1, m.next_order_id - 1)]
        order_id = self.pick(candidates, r2)
        period = m.order(order_id).period if order_id < m.next_order_id else 0
        last = period - r3 % 2 if variant == 6 else period + 1 + r3 % 3
        owner = next((a for a in self.env.actors if str(a) == m.order(order_id).owner), self.env.outsider) \
            if order_id < m.next_order_id else self.env.outsider
        sender = self.pick([a for a in self.env.actors if a != owner], r4) if variant == 5 else owner
        return Action("set_carry_limit", sender, (order_id, last))

    def _carry(self, r1: int, r2: int, r3: int, r4: int, r5: int) -> Action:
        """The operator carries open orders of closed periods into the next period, mostly ones whose owner
        allowed it (ascending ids; one time in six reversed); one time in eight someone else tries."""
        m = self.model
        ids = sorted(set(self._settlement_ids(r1 // 6, r2)))
        if r5 % 4:  # mostly orders whose owners allowed the carry, so that batches succeed
            unopened = m.current_period() + m.config.max_periods_ahead  # carries into later periods may succeed
            allowed = [i for i in self._open_orders(closed_gate=True)
                       if m.carry_limit(i) > m.order(i).period and m.order(i).period + 1 > unopened]
            ids = allowed[r2 % len(allowed):][:1 + r4 % 3] if allowed else ids
        if r1 % 6 == 5:
            ids.reverse()
        sender = self.env.operator if r3 % 8 else self.pick(self.env.actors, r4)
        return Action("carry_orders", sender, (ids,))

    def _step(self, r1: int, r2: int, r3: int, r4: int, r5: int) -> Action:
        """The operator's AdBEV strategy step over open orders of closed periods in ascending ids (those whose
        owner allowed a carry are carried, the rest grid-filled or expired); one time in eight someone else."""
        m = self.model
        closed = self._open_orders(closed_gate=True)
        ids = closed[r2 % len(closed):][:1 + r4 % 4] if closed else sorted(set(self._settlement_ids(r1, r2)))
        sender = self.env.operator if r3 % 8 else self.pick(self.env.actors, r4)
        return Action("step_orders", sender, (ids,))

    def _tariffs(self, r1: int, r2: int, r3: int, r4: int, r5: int) -> Action:
        tick = self.model.config.tick_size
        # drawn like bid and ask prices, so that resting orders of both sides often meet the tariffs
        import_price, export_price = (99 + r2 % 8) * tick, (93 + r3 % 8) * tick
        sender = self.env.operator
        if r1 % 5 == 4:
            variant = r4 % 3
            if variant == 0:
                import_price += tick // 2
            elif variant == 1:
                export_price = import_price + tick  # an inverted spread is refused
            else:
                sender = self.pick(self.depositors, r5)
        return Action("set_grid_tariffs", sender, (import_price, export_price))

    def _minimums(self, r1: int, r2: int, r3: int, r4: int, r5: int) -> Action:
        """ADMIN moves the minimums within small sizes (sometimes to 0: refused); sometimes someone else tries."""
        sender = self.env.admin if r1 % 6 else self.pick(self.depositors, r2)
        min_order, min_display = 1 + r3 % 12, (1 + r4 % 6) if r5 % 10 else 0
        return Action("set_order_minimums", sender, (min_order, min_display))

    # ---- balances

    def _deposit_upos(self, r1: int, r2: int, r3: int, r4: int, r5: int) -> Action:
        amount = 0 if r3 % 12 == 0 else (1 + r2 % 50) * 10**17
        return Action("deposit_upos", self.pick(self.depositors, r1), (amount,))

    def _withdraw_upos(self, r1: int, r2: int, r3: int, r4: int, r5: int) -> Action:
        sender = self.pick(self.depositors, r1)
        free = self.model.upos_free(str(sender))
        amount = free + 1 if r3 % 8 == 0 else free * (1 + r2 % 4) // 8
        return Action("withdraw_upos", sender, (amount,))

    def _deposit_energy(self, r1: int, r2: int, r3: int, r4: int, r5: int) -> Action:
        """Mostly the prosumer whose free energy in a tradable period is lowest tops it up; sometimes
        another account or period (deposits need no open gate), or zero."""
        m = self.model
        tradable = range(m.current_period() + 1, m.current_period() + 1 + m.config.max_periods_ahead)
        active = [a for a in self.env.prosumers if m.access.is_active(str(a))]
        if r4 % 8 and active:
            sender, period = min(
                ((a, p) for a in active for p in tradable), key=lambda ap: m.energy_free(str(ap[0]), ap[1])
            )
        else:
            sender = self.pick(self.depositors, r1)
            period = max(0, m.current_period() + r2 % (m.config.max_periods_ahead + 2) - 1)
        wallet = self.env.credit.balanceOf(sender, period)
        amount = 0 if r5 % 12 == 0 else min(wallet, 5_000 + r3 % 20_000)
        return Action("deposit_energy", sender, (period, amount))

    def _withdraw_energy(self, r1: int, r2: int, r3: int, r4: int, r5: int) -> Action:
        """A part of some free energy balance, sometimes one Wh more than is free."""
        m = self.model
        sender = self.pick(self.depositors, r1)
        funded = [p for p in self.runner.periods_in_play() if m.energy_free(str(sender), p)]
        period = self.pick(funded, r2) if funded else m.current_period() + 1
        free = m.energy_free(str(sender), period)
        amount = free + 1 if r3 % 8 == 0 else max(1, free * (1 + r4 % 4) // 8)
        return Action("withdraw_energy", sender, (period, amount))

    # ---- registry and clock

    def _set_active(self, r1: int, r2: int, r3: int, r4: int, r5: int) -> Action:
        """Reactivates the inactive participant if there is one, else deactivates one (or, two times
        in three, re-confirms an active one: a no-op), so that few operations meet an inactive caller."""
        participants = [*self.env.prosumers, *self.env.evs]
        inactive = [a for a in participants if not self.model.access.is_active(str(a))]
        if inactive:
            return Action("set_active", self.env.operator, (inactive[0], True))
        return Action("set_active", self.env.operator, (self.pick(participants, r1), r2 % 3 != 0))

    def _advance(self, r1: int, r2: int, r3: int, r4: int, r5: int) -> Action:
        """Moves the clock to CLOCK_OFFSET_S into the next period, or (one time in four each) to
        0-2 s before the next gate closure or the next period start, so that the following
        transactions straddle that boundary (the model runs at each transaction's block timestamp).
        Once MAX_CLOCK_ADVANCES are used up it places a limit order instead."""
        if self.runner.clock_advances >= MAX_CLOCK_ADVANCES:
            return self._limit(r1, r2, r3, r4, r5)
        m, cfg = self.model, self.model.config
        next_start = cfg.genesis_time + (m.current_period() + 1) * cfg.period_seconds
        target = next_start + self.clock_offset_s
        variant = r1 % 4
        if variant < 2:
            boundary = m.gate_closure(m.current_period() + 1) if variant == 0 else next_start
            if boundary - r2 % 3 > m.now + 1:
                target = boundary - r2 % 3
        return Action("advance", self.env.operator, (target,))
