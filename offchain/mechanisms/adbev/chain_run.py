"""Seed 003 Ch4's AdBEV day through the contracts on an embedded chain: every EV's agent places its orders and
carry limits on the AdbevBook (gated by BatteryWindows, the windows the METER attests), every selling EV deposits
the credits the METER attests, and the operator sends the strategy step (`stepOrders`) after each gate closure,
on a clock moved period by period. The agents and the operator are the plan's own code (plan.run_adbev) on
`ChainBook`, so the day's figures come from the book's events; the comparison then checks them, and what the
book's storage holds, against the Python run on the book's reference model.

`kwx reproduce seed003-adbev --chain` writes `seed003-adbev-chain.md`.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
from web3.logs import DISCARD
from web3.types import TxReceipt

from offchain.algorithms.ev_scheduling import cut_slot
from offchain.chain.abi import ParticipantKind
from offchain.chain.client import ChainClient
from offchain.data.seed003 import EvPopulation
from offchain.market import events as ev
from offchain.mechanisms import ADBEV, suite
from offchain.progress import progress_bar
from offchain.scenarios.harness import ScenarioChain, open_scenario_chain
from offchain.scenarios.markdown import table
from offchain.units import WH_PER_KWH, kwh_to_wh_array, upos_to_base

from .plan import SLOTS, AdbevDay, AdbevSettings, run_adbev
from .terms import AdbevTerms

BOOK = "AdbevBook"
DEPOSIT_UPOS = 1_000
FIRST_ACCOUNT = 10  #: EVs use the test mnemonic's accounts from here (0-3 are the roles)
#: The book events the agents read, by Solidity name (their model classes in offchain.market.events).
READ_EVENTS = ("GridTariffsSet", "OrderPlaced", "Trade", "OrderCarried", "CarrySkipped", "GridFilled", "OrderExpired")


class ChainBook:
    """plan.Book on the AdbevBook contract: EV i of `population` trades from `evs[i]`, the METER attests the
    charging EVs' battery windows and the sellers' energy, the operator steps; each call sends its transactions
    and returns the book events of their receipts as model events. `on_period` is called after every step (a
    progress bar). The gas ledger's "day" phase starts after the windows are attested."""

    def __init__(self, chain: ScenarioChain, evs: Sequence[ChainClient], population: EvPopulation,
                 terms: AdbevTerms, on_period: Callable[[], None] = lambda: None) -> None:
        self.chain, self.evs, self.population, self.terms, self.on_period = chain, list(evs), population, terms, on_period
        self.contract_events = chain.contract(BOOK).events
        self.first = -1

    def _book_events(self, receipts: Sequence[TxReceipt]) -> list[ev.BookEvent]:
        decoded = []
        for receipt in receipts:
            for name in READ_EVENTS:
                for log in getattr(self.contract_events, name)().process_receipt(receipt, errors=DISCARD):
                    decoded.append((log["blockNumber"], log["logIndex"], getattr(ev, name)(
                        **{ev.snake_case(key): value for key, value in log["args"].items()})))
        return [event for *_, event in sorted(decoded, key=lambda d: d[:2])]

    def begin(self, import_price: int, export_price: int) -> int:
        receipt = self.chain.send(self.chain.operator, BOOK, "setGridTariffs", import_price, export_price)
        (tariffs,) = self._book_events([receipt])
        self.first = tariffs.from_period
        self._attest_windows()
        self.chain.ledger.mark("day")
        return self.first

    def _attest_windows(self) -> None:
        """Every charging EV's window: its connected periods of the day and the Wh it needs."""
        population = self.population
        connected = population.connected[:, population.order_from(cut_slot(population))]
        need_wh = kwh_to_wh_array(population.need_kwh)
        windows = []
        for i in np.flatnonzero(~population.discharging & connected.any(axis=1)):
            positions = np.flatnonzero(connected[i])
            windows.append((self.chain.meter, "BatteryWindows", "setWindow",
                            (self.evs[i].address, self.first + int(positions[0]), self.first + int(positions[-1]),
                             int(need_wh[i]), 0)))
        self.chain.send_all(windows)

    def _start(self, period: int) -> int:
        return self.terms.genesis_time + period * self.terms.period_seconds

    def open_period(self, period: int) -> None:
        self.chain.advance_to(self._start(period - 1))

    def close_period(self, period: int) -> None:
        self.chain.advance_to(self._start(period) - self.terms.gate_lead_seconds)

    def deposit_energy(self, deposits: Sequence[tuple[int, int, int]]) -> None:
        if deposits:
            self.chain.send_all((self.chain.meter, "EnergyCredit", "attestSurplus", (self.evs[i].address, period, wh))
                                for i, period, wh in deposits)
            self.chain.send_all((self.evs[i], BOOK, "depositEnergy", (period, wh)) for i, period, wh in deposits)

    def place(self, ev_index: int, period: int, is_buy: bool, price: int, quantity_wh: int,
              display_wh: int) -> list[ev.BookEvent]:
        return self._book_events([self.chain.send(self.evs[ev_index], BOOK, "placeOrder", period, is_buy, price,
                                                  quantity_wh, display_wh)])

    def set_carry_limits(self, limits: Sequence[tuple[int, int, int]]) -> None:
        if limits:
            self.chain.send_all((self.evs[i], BOOK, "setCarryLimit", (order_id, last)) for i, order_id, last in limits)

    def step(self, order_ids: Sequence[int]) -> list[ev.BookEvent]:
        events = self._book_events([self.chain.send(self.chain.operator, BOOK, "stepOrders", list(order_ids))])
        self.on_period()
        return events


@dataclass(frozen=True)
class ChainAdbev:
    """The day on chain beside the Python run: both days, `checks` (name, equal), the day's transactions and gas
    (set-up excluded), the EVs, wall time (s)."""

    python: AdbevDay
    chain: AdbevDay
    checks: list[tuple[str, bool]]
    transactions: int
    gas: int
    evs: int
    seconds: float


def _set_up(chain: ScenarioChain, population: EvPopulation, terms: AdbevTerms) -> list[ChainClient]:
    """Deploys the core contracts and the AdBEV group, registers the EVs (sellers as prosumers: EnergyCredit
    mints only to prosumers, docs/adbev-contracts.md) and funds their UPOS in the book."""
    chain.deploy(suite([ADBEV]))
    evs = chain.participants(FIRST_ACCOUNT, population.size, label="ev")
    battery_wh = kwh_to_wh_array(population.battery_kwh)
    for i, client in enumerate(evs):
        if population.discharging[i]:
            chain.register(client, ParticipantKind.PROSUMER)
        else:
            chain.register(client, ParticipantKind.EV, capacity_wh=int(battery_wh[i]), soc_max_wh=int(battery_wh[i]))
    funded = [*evs, chain.operator]
    amount = upos_to_base(DEPOSIT_UPOS)
    book = chain.manifest.address(BOOK)
    chain.send_all((chain.admin, "UPOS", "mint", (c.address, amount)) for c in funded)
    chain.send_all((c, "UPOS", "approve", (book, amount)) for c in funded)
    chain.send_all([*((c, BOOK, "depositUpos", (amount,)) for c in funded),
                    *((c, "EnergyCredit", "setApprovalForAll", (book, True))
                      for c, seller in zip(evs, population.discharging) if seller)])
    return evs


def run_on_chain(population: EvPopulation, settings: AdbevSettings, work_dir: Path, terms: AdbevTerms = AdbevTerms(),
                 progress: bool = False) -> ChainAdbev:
    """The AdBEV day of `population` on an embedded chain and in Python (plan.run_adbev on the book's model), and
    their comparison: every figure of the day (plan.AdbevDay.differences), each EV's charged Wh and the grid's Wh
    per period as the book's storage holds them (energyFree, gridSuppliedWh). `progress`: a bar over the periods."""
    started = time.perf_counter()
    python = run_adbev(population, settings, terms=terms)
    with open_scenario_chain(work_dir, accounts=FIRST_ACCOUNT + population.size) as chain, \
            progress_bar(progress) as bars:
        evs = _set_up(chain, population, terms)
        task = bars.add_task(f"AdBEV day on chain, {population.size} EVs", total=SLOTS) if bars else None
        book = ChainBook(chain, evs, population, terms, on_period=(lambda: bars.advance(task)) if bars else lambda: None)
        on_chain = run_adbev(population, settings, book=book, terms=terms)
        records = [r for r in chain.ledger.records() if r.phase == "day"]
        periods = [book.first + k for k in range(SLOTS)]
        buyers = [c for c, seller in zip(evs, population.discharging) if not seller]
        bought = np.array([[chain.call(BOOK, "energyFree", c.address, p) for p in periods] for c in buyers], dtype=np.int64)
        grid = np.array([[chain.call(BOOK, "gridSuppliedWh", c.address, p) for p in periods] for c in buyers],
                        dtype=np.int64)
    order = population.order_from(cut_slot(population))
    stored_grid = np.zeros(SLOTS, dtype=np.int64)
    stored_grid[order] = grid.sum(axis=0)
    differences = python.differences(on_chain)
    # every figure of the day but the guide price, an input both runs draw from the same seed
    checks = [(f"{f.name} equal the Python run's", f.name not in differences) for f in fields(AdbevDay)
              if f.name != "guide"]
    checks.append(("each charging EV's Wh in the book's storage (energyFree + gridSuppliedWh) equal its charged Wh",
                   bool(np.array_equal((bought + grid).sum(axis=1), np.rint(python.charged_kwh[~population.discharging]
                                                                * WH_PER_KWH).astype(np.int64)))))
    checks.append(("the grid's Wh per period (gridSuppliedWh) equal the Python run's",
                   bool(np.array_equal(stored_grid, np.rint(python.grid_kwh * WH_PER_KWH).astype(np.int64)))))
    return ChainAdbev(python=python, chain=on_chain, checks=checks, transactions=len(records),
                      gas=sum(r.gas for r in records), evs=population.size, seconds=time.perf_counter() - started)


def chain_report(run: ChainAdbev, base_kw: np.ndarray, title: str, load: str = "") -> str:
    """The Markdown of a chain run: what ran, the checks, the day's figures in Python and on chain, transactions,
    gas and wall time."""
    from .model import pfl_mva

    def figures(day: AdbevDay) -> list[str]:
        return [f"{pfl_mva(base_kw + day.ev_load_kw):.4f}", f"{day.placed}", f"{len(day.trades)}",
                f"{sum(t.quantity_kwh for t in day.trades):.3f}", f"{day.grid_kwh.sum():.3f}", f"{day.carried}",
                f"{day.queued}", f"{day.unmet_kwh:.3f}"]

    names = ["AdBEV PFL (Eq. 4.4, MVA)", "orders placed", "trades", "kWh traded between EVs", "kWh of buys grid-filled",
             "sell carries", "iceberg buy carries", "unmet charging demand (kWh)"]
    counts = [["EVs", f"{run.evs}"], ["transactions (the day; deployment, registration, funding excluded)",
                                      f"{run.transactions:,}"],
              ["gas (the day)", f"{run.gas:,}"], ["gas per EV-day", f"{run.gas // run.evs:,}"],
              ["wall time (s, both runs)", f"{run.seconds:.1f}"]]
    if load:
        counts.append(["machine load (1-min load average at start / end)", load])
    return "\n".join([
        f"# {title}", "",
        "The AdBEV day through the contracts: the METER attests each charging EV's battery window (BatteryWindows) "
        "and each selling EV's energy per period; every EV's agent deposits its credits, places its orders one at "
        "a time (sells first, then buys best price first) and lets its icebergs and sells wait (setCarryLimit); "
        "after each gate closure the operator sends the strategy step (stepOrders). The agents and the operator "
        "are the plan's code (offchain/mechanisms/adbev/plan.py) on the chain instead of the book's Python model; "
        "the day's figures are read from the book's events, two more from its storage.", "",
        table(["check", "equal"], [[name, "yes" if ok else "NO"] for name, ok in run.checks]), "",
        table(["figure", "Python run", "chain"], [[n, p, c] for n, p, c in zip(names, figures(run.python),
                                                                                figures(run.chain))]), "",
        table(["figure", "value"], counts), ""])


def reproduce_chain(out: Path, population: EvPopulation, base_kw: np.ndarray, settings: AdbevSettings,
                    progress: bool = True) -> tuple[Path, list[tuple[str, bool]]]:
    """:func:`run_on_chain` on an embedded chain (with a progress bar unless `progress` is False); writes
    ``seed003-adbev-chain.md`` in `out`, with the machine's load average at start and end."""
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="kwx-adbev-") as work:
        run = run_on_chain(population, settings, Path(work), progress=progress)
    report = out / "seed003-adbev-chain.md"
    report.write_text(chain_report(run, base_kw, "Seed 003 Ch4: the AdBEV day through the contracts",
                                   load=f"{load_start:.1f} / {os.getloadavg()[0]:.1f}"))
    return report, run.checks
