"""Seed 000's day through the contracts (`kwx reproduce seed000 --chain`).

`run_day_on_chain` opens a chain with the scenario harness (offchain.scenarios.harness), deploys the suite
with EVExchange, PeriodMatching (granted MARKET) and FogModelRegistry under the day's terms
(`seed000_terms`), registers the five prosumers and the shared EVs (each acting from its own key), opens
the EVs' batteries and funds everyone in the exchange, then drives each period exactly as
docs/seed000-contracts.md §2 says:

1. bidding window: each prosumer `bidProsumer(p, forecast net)`, each EV `bidEV(p, maySell ? available : 0,
   free capacity)` from `EVExchange.headroom` — greedy in `arrival_order`, Hungarian in agent order;
2. after bidding closes: greedy `matchGreedy(p)` (by the OPERATOR; anyone may), Hungarian the SCORER's
   fog-matching worker (offchain.mechanisms.fog_ems.workers.FOG_MATCHING) submits the certified assignment;
3. after the period: the METER's `logExchange(p, moves)` (battery.exchange_wh on the chain's batteries and
   the actual nets) and the OPERATOR's `settleGrid` of every prosumer's residual.

The chain clock moves with `evm_setNextBlockTimestamp`; PeriodMatching's genesis is placed so that chain
period p is the day's period p (steps and arrival orders carry the day's indices, as `simulate_day` with
`first_period`). With federated forecasts the bids come from the prosumers' fog nodes, whose FedAvg rounds
the fedavg-aggregator worker publishes on FogModelRegistry during setup
(offchain.mechanisms.fog_ems.chain_rounds). The harness's gas ledger has every transaction: setup (phases
"deploy" and "setup"), each round ("fedavg round") and each period ("period").
`compare_with_model` runs `simulate_day` on the same window and lists the differences.
Choices: docs/seed000-chain.md.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import numpy as np

from offchain.algorithms.battery import exchange_wh
from offchain.algorithms.forecasting import new_global_state
from offchain.chain import FIRST_PARTICIPANT_INDEX, MAX_UINT256, ChainClient, ParticipantKind, replace_group
from offchain.data.seed000 import PERIODS_PER_DAY as DAY_PERIODS, MicrogridData, synthetic_microgrid
from offchain.mechanisms import SUITE
from offchain.mechanisms.fog_ems.chain_rounds import ChainRoundAggregator
from offchain.mechanisms.fog_ems.federated import FederatedSetup, federated_bids
from offchain.mechanisms.fog_ems.model import (
    MarketRules,
    Method,
    arrival_order,
    day_window,
    forecast_bids,
    simulate_day,
)
from offchain.mechanisms.fog_ems.terms import (
    CERTIFIED_FIRST_SECONDS,
    PERIOD_SECONDS,
    FogEmsTerms,
    fog_ems_steps,
)
from offchain.mechanisms.fog_ems.workers import FOG_MATCHING
from offchain.progress import progress_bar
from offchain.scenarios.harness import ScenarioChain, open_scenario_chain
from offchain.scenarios.markdown import table
from offchain.units import UPOS_BASE, base_to_upos, payment_base
from offchain.workers import FaultInjector, RunSummary, Worker

DEPOSIT = 10_000 * UPOS_BASE  #: UPOS every participant and the grid operator keep in the exchange
LEAD_SECONDS = 3_600  #: chain time left between deployment and the first period's bidding window
PERIOD_PHASE = "period"  #: the ledger phase of a period's transactions; its slot is the period


def seed000_terms(rules: MarketRules, genesis_time: int, greedy_delay: int) -> FogEmsTerms:
    """The seed 000 contracts' terms for a day run under `rules` (its tariffs, sell rule and exchange steps),
    periods counted from `genesis_time`, greedy opening `greedy_delay` s after bidding."""
    return FogEmsTerms(genesis_time=genesis_time, greedy_delay_seconds=greedy_delay,
                        steps_per_period=rules.steps_per_period, tariffs=rules.tariffs, sell_rule=rules.sell_rule)


# --- the chain ---------------------------------------------------------------------------------------------


@dataclass
class PeriodGas:
    """One period's transactions and their gas (receipt gasUsed)."""

    period: int
    transactions: int
    gas: int


@dataclass
class ChainDay:
    """The seed-000 contracts on `chain` with the registered, funded agents (prosumer i trades from
    `prosumers[i]`, EV j from `evs[j]`). Play periods with :meth:`play_period` (or its parts :meth:`bid`,
    :meth:`match`, :meth:`log_and_settle`); the SCORER's fog-matching worker is `worker` while it is open."""

    chain: ScenarioChain
    rules: MarketRules
    method: Method
    prosumers: list[ChainClient]
    evs: list[ChainClient]
    worker: Worker | None = None

    # --- the SCORER's worker ---------------------------------------------------------------------------------

    def start_worker(self, faults: FaultInjector | None = None) -> Worker:
        """(Re)opens the fog-matching worker on its state file in the chain's work dir (a restart resumes
        from it)."""
        self.stop_worker()
        self.worker = self.chain.open_worker(FOG_MATCHING, faults=faults)
        return self.worker

    def stop_worker(self) -> None:
        if self.worker is not None:
            self.worker.close()
            self.worker = None

    def run_worker(self) -> RunSummary:
        return (self.worker or self.start_worker()).run_once()

    # --- one period ------------------------------------------------------------------------------------------

    def bid(self, period: int, bids_wh: Sequence[int]) -> None:
        """Opens `period`'s bidding window and sends every agent's bid (`bids_wh[i]`: prosumer i's forecast)."""
        chain = self.chain
        chain.advance_to(chain.call("PeriodMatching", "biddingOpensAt", period))
        greedy = self.method == "greedy"
        n, e = len(self.prosumers), len(self.evs)
        for i in (arrival_order(self.rules.seed, period, n, 0) if greedy else np.arange(n)).tolist():
            chain.send(self.prosumers[i], "PeriodMatching", "bidProsumer", period, int(bids_wh[i]))
        for j in (arrival_order(self.rules.seed, period, e, 1) if greedy else np.arange(e)).tolist():
            ev = self.evs[j].address
            available, capacity = chain.call("EVExchange", "headroom", ev)
            may_sell = chain.call("PeriodMatching", "maySell", ev, period)
            chain.send(self.evs[j], "PeriodMatching", "bidEV", period, available if may_sell else 0, capacity)

    def close_bidding(self, period: int) -> None:
        self.chain.advance_to(self.chain.call("PeriodMatching", "biddingClosesAt", period))

    def match(self, period: int) -> None:
        """Greedy: `matchGreedy` once it opens. Hungarian: the worker's certified assignment."""
        chain = self.chain
        if self.method == "greedy":
            chain.advance_to(chain.call("PeriodMatching", "greedyOpensAt", period))
            chain.send(chain.operator, "PeriodMatching", "matchGreedy", period)
        else:
            self.close_bidding(period)
            self.run_worker()
        if not chain.call("PeriodMatching", "isMatched", period):
            raise RuntimeError(f"period {period} is not matched")

    def log_and_settle(self, period: int, net_wh: np.ndarray) -> None:
        """After the period (`net_wh[agent, step]`: its actual nets): the METER logs every match's moves, the
        OPERATOR settles each prosumer's residual with the grid."""
        chain = self.chain
        chain.advance_to(chain.call("PeriodMatching", "biddingOpensAt", period + 1))
        _, _, matches = chain.call("EVExchange", "periodMatches", period)
        index = {c.address: i for i, c in enumerate(self.prosumers)}
        energy = {ev: chain.call("EVExchange", "battery", ev)[0] for _, ev, _ in matches}
        steps = net_wh.shape[1]
        traded = np.zeros_like(net_wh)
        moved = []
        for s in range(steps):
            for prosumer, ev, may_sell in matches:
                i = index[prosumer]
                x = exchange_wh(int(net_wh[i, s]), energy[ev], self.rules.battery, may_sell)
                energy[ev] += x
                traded[i, s] = x
                moved.append(x)
        chain.send(chain.meter, "EVExchange", "logExchange", period, moved)
        residual = net_wh - traded
        exports = np.where(residual > 0, residual, 0).sum(axis=1)
        imports = np.where(residual < 0, -residual, 0).sum(axis=1)
        chain.send(chain.operator, "EVExchange", "settleGrid", period, [c.address for c in self.prosumers],
                   imports.tolist(), exports.tolist())

    def play_period(self, period: int, bids_wh: Sequence[int], net_wh: np.ndarray) -> None:
        """Bids, match, log and grid settlement of `period`, its transactions under ledger phase "period"."""
        self.chain.ledger.mark(PERIOD_PHASE, period)
        self.bid(period, bids_wh)
        self.match(period)
        self.log_and_settle(period, net_wh)

    def period_gas(self) -> list[PeriodGas]:
        """Transactions and gas of every period played, in order."""
        return [PeriodGas(period, *totals) for period, totals in self.chain.ledger.slots(PERIOD_PHASE).items()]


@contextmanager
def open_chain_day(work_dir: str | Path, *, n_prosumers: int, n_evs: int, first_period: int,
                   method: Method, rules: MarketRules = MarketRules()) -> Iterator[ChainDay]:
    """Opens a scenario chain (EmbeddedAnvil on a free port, manifest and worker state under `work_dir`),
    deploys the suite with the seed-000 contracts with period `first_period` opening LEAD_SECONDS from now,
    registers and funds `n_prosumers` prosumers and `n_evs` EVs (batteries opened at the rules' initial
    energy); stops the chain on exit."""
    if method not in ("greedy", "hungarian"):
        raise ValueError(f"unknown method {method!r}")
    with open_scenario_chain(work_dir, accounts=FIRST_PARTICIPANT_INDEX + n_prosumers + n_evs) as chain:
        genesis = chain.now() + LEAD_SECONDS - first_period * PERIOD_SECONDS
        if genesis < 0:
            raise ValueError(f"first period {first_period} lies before the chain's epoch")
        delay = CERTIFIED_FIRST_SECONDS if method == "hungarian" else 0
        chain.deploy(replace_group(SUITE, fog_ems_steps(seed000_terms(rules, genesis, delay))))
        day = ChainDay(chain, rules, method, chain.participants(FIRST_PARTICIPANT_INDEX, n_prosumers, "prosumer"),
                       chain.participants(FIRST_PARTICIPANT_INDEX + n_prosumers, n_evs, "EV"))
        try:
            _register_and_fund(day)
            yield day
        finally:
            day.stop_worker()


def _register_and_fund(day: ChainDay) -> None:
    chain, spec = day.chain, day.rules.battery
    exchange = chain.manifest.address("EVExchange")
    for client in day.prosumers:
        chain.register(client, ParticipantKind.PROSUMER)
    for client in day.evs:
        chain.register(client, ParticipantKind.EV, capacity_wh=spec.capacity_wh, soc_min_wh=spec.lower_wh,
                       soc_max_wh=spec.upper_wh)
    chain.send_all((chain.meter, "EVExchange", "openBattery", (c.address, day.rules.initial_energy_wh))
                   for c in day.evs)
    funded = [*day.prosumers, *day.evs, chain.operator]
    chain.send_all((chain.admin, "UPOS", "mint", (c.address, DEPOSIT)) for c in funded)
    chain.send_all((c, "UPOS", "approve", (exchange, MAX_UINT256)) for c in funded)
    chain.send_all((c, "EVExchange", "deposit", (DEPOSIT,)) for c in funded)


# --- a day ---------------------------------------------------------------------------------------------------


@dataclass
class ChainDayResult:
    """What a chain run of a day produced. Energies in Wh and money in UPOS base units, per agent in order.

    prosumer_gain_base: each prosumer's gain over trading everything with the grid (as
    RunResult.prosumer_gain_base); balance_change_base: its exchange balance change (EV trades and grid);
    ev_cash_base: each EV's balance change. exchange: the paper's exchange.csv rows (step, energy Wh,
    available Wh, capacity Wh, matching id counted from 1 in this run, prosumer, EV). bids_wh[agent][m]: the
    prosumer bid of the window's m-th period, from the ProsumerBidPlaced events. federated: how federated bids
    were made (None with perfect forecasts); model_round_gas: the gas of each FedAvg round published on
    FogModelRegistry during setup (not in the setup or period figures).
    """

    method: str
    forecast: str
    window: tuple[int, int]
    agents: tuple[str, ...]
    n_evs: int
    sold_to_ev_wh: list[int]
    bought_from_ev_wh: list[int]
    prosumer_gain_base: list[int]
    balance_change_base: list[int]
    ev_cash_base: list[int]
    ev_battery: list[tuple[int, int, int]]  #: (energy Wh, stock Wh, cost basis base units) per EV
    matches: int
    exchange: list[tuple[int, int, int, int, int, str, str]]
    bids_wh: list[list[int]]
    transactions: int
    total_gas: int
    period_gas: list[PeriodGas]
    setup_transactions: int
    setup_gas: int
    wall_seconds: float
    federated: FederatedSetup | None = None
    model_round_gas: list[int] = field(default_factory=list)

    @property
    def traded_wh(self) -> list[int]:
        return [s + b for s, b in zip(self.sold_to_ev_wh, self.bought_from_ev_wh)]

    def summary(self) -> dict[str, Any]:
        """The benchmark figures (JSON-serialisable)."""
        per_period = [g.gas for g in self.period_gas]
        periods = len(per_period)
        return {
            "method": self.method, "forecast": self.forecast, "evs": self.n_evs,
            "window": {"first_period": self.window[0], "periods": self.window[1]},
            "transactions": self.transactions, "total_gas": self.total_gas,
            "gas_per_period": {"mean": self.total_gas / periods, "min": min(per_period), "max": max(per_period)},
            "transactions_per_period": self.transactions / periods,
            "setup": {"transactions": self.setup_transactions, "gas": self.setup_gas},
            "model_rounds": {"published": len(self.model_round_gas), "gas": sum(self.model_round_gas)},
            "wall_seconds": round(self.wall_seconds, 2),
            "wall_seconds_per_period": round(self.wall_seconds / periods, 4),
            "matches": self.matches,
            "agents": {
                a: {"traded_kwh": t / 1000, "sold_to_ev_kwh": s / 1000, "bought_from_ev_kwh": b / 1000,
                    "gain_upos": base_to_upos(g), "balance_change_upos": base_to_upos(c)}
                for a, t, s, b, g, c in zip(self.agents, self.traded_wh, self.sold_to_ev_wh, self.bought_from_ev_wh,
                                            self.prosumer_gain_base, self.balance_change_base)
            },
            "evs_cash_upos": [base_to_upos(c) for c in self.ev_cash_base],
        }


def day_inputs(window: tuple[int, int] | None, forecast: str = "perfect", *, rules: MarketRules = MarketRules(),
               cache_dir: Path | None = None, federated: FederatedSetup | None = None,
               ) -> tuple[tuple[str, ...], np.ndarray, np.ndarray, tuple[int, int]]:
    """(agents, net_wh[agent, step], bids_wh[agent, period], (first, count)) of the calibrated synthetic day
    sliced to `window` (None: the whole day), as `reproduce` slices it. "federated": the Python model's bids
    (in-memory FedAvg) under `federated` (default FederatedSetup(): those of `forecast_bids`)."""
    data = synthetic_microgrid()
    agents, net, (first, count) = day_window(data, window, rules)
    if forecast == "federated":
        bids = federated_bids(data, first + count, federated or FederatedSetup(), cache_dir=cache_dir)[0]
    else:
        bids = forecast_bids(data, forecast, cache_dir=cache_dir)
    return agents, net, bids[:, first : first + count], (first, count)


def run_day_on_chain(
    out_dir: str | Path | None = None,
    *,
    evs: int = 2,
    method: Method = "greedy",
    window: tuple[int, int] | None = (0, DAY_PERIODS),
    forecast: Literal["perfect", "federated"] = "perfect",
    progress: bool = True,
    rules: MarketRules = MarketRules(),
    federated: FederatedSetup | None = None,
) -> ChainDayResult:
    """Runs `window` = (first period, count) of the synthetic day with `evs` shared EVs through the contracts
    (greedy: matchGreedy; hungarian: the fog-matching worker). With `out_dir`, writes seed000_chain.json/.md
    there (figures and a 24-h extrapolation).

    forecast="federated": after registration, the prosumers' fog nodes forecast the day up to the window's
    end (warm-up history, the periods before the window, the window) under `federated` (default
    FederatedSetup()), each FedAvg round published on FogModelRegistry by the fedavg-aggregator worker
    (`ChainRoundAggregator`); the window's periods then bid those forecasts. Forecasts never depend on the
    matching, so making them before the first period changes no bid.
    """
    if evs < 1:
        raise ValueError("the chain run needs at least one shared EV (the Isolated scenario has no matcher)")
    setup = (federated or FederatedSetup()) if forecast == "federated" else None
    cache = Path(out_dir) / "cache" if out_dir is not None else None
    data = synthetic_microgrid()
    agents, net, (first, count) = day_window(data, window, rules)
    k = rules.steps_per_period
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="kwx-seed000-chain-") as work, \
            open_chain_day(work, n_prosumers=len(agents), n_evs=evs, first_period=first, method=method,
                           rules=rules) as day, progress_bar(progress) as bars:
        if setup is None:
            bids, round_gas = forecast_bids(data, forecast, cache_dir=cache)[:, first : first + count], []
        else:
            bids, round_gas = _chain_federated_bids(day, data, agents, (first, count), setup)
        task = bars.add_task(f"chain {evs} EV {method}", total=count) if bars else None
        balances = [day.chain.call("EVExchange", "balanceOf", c.address) for c in [*day.prosumers, *day.evs]]
        first_id = day.chain.call("EVExchange", "lastMatchingId")
        first_block = day.chain.w3.eth.block_number + 1
        for m in range(count):
            day.play_period(first + m, bids[:, m], net[:, m * k : (m + 1) * k])
            if bars:
                bars.advance(task)
        result = _collect(day, agents, balances, first_id, first_block, (first, count), forecast,
                          time.perf_counter() - started)
        result.federated, result.model_round_gas = setup, round_gas
    if out_dir is not None:
        write_summary([(result, compare_with_model(result, rules, cache_dir=cache))], Path(out_dir))
    return result


def _chain_federated_bids(day: ChainDay, data: MicrogridData, agents: Sequence[str], window: tuple[int, int],
                          setup: FederatedSetup) -> tuple[np.ndarray, list[int]]:
    """(bids_wh[agent, period] of the window, gas of each FedAvg round) from fog nodes whose rounds the
    fedavg-aggregator worker publishes on `day`'s FogModelRegistry; all before the window's first period."""
    first, count = window
    addresses = {agent: client.address for agent, client in zip(agents, day.prosumers)}
    initial = new_global_state(setup.config)
    with closing(ChainRoundAggregator(day.chain, addresses, initial, setup.config.weighting)) as fog:
        bids = federated_bids(data, first + count, setup, aggregator=fog)[0][:, first:]
    if day.chain.now() >= day.chain.call("PeriodMatching", "biddingOpensAt", first):
        raise RuntimeError(f"the federated rounds ran past period {first}'s bidding window; "
                           f"LEAD_SECONDS ({LEAD_SECONDS}) is too short for this window")
    return bids, fog.gas


def _collect(day: ChainDay, agents: tuple[str, ...], balances: list[int], first_id: int, first_block: int,
             window: tuple[int, int], forecast: str, wall_seconds: float) -> ChainDayResult:
    chain, tariffs = day.chain, day.rules.tariffs
    exchange = chain.contract("EVExchange")
    names = {c.address: a for c, a in zip(day.prosumers, agents)}
    ev_names = {c.address: f"EV{j + 1}" for j, c in enumerate(day.evs)}
    logs = exchange.events.EnergyExchanged.get_logs(from_block=first_block)
    n = len(agents)
    sold, bought, gain = [0] * n, [0] * n, [0] * n
    rows = []
    for log in logs:
        a = log["args"]
        i = agents.index(names[a["prosumer"]])
        energy, pay = a["energyWh"], a["paymentBase"]
        if energy > 0:
            sold[i] += energy
            gain[i] += pay - payment_base(energy, tariffs.grid_sell_base)
        else:
            bought[i] -= energy
            gain[i] += payment_base(-energy, tariffs.grid_buy_base) - pay
        rows.append((a["step"], energy, a["availableWh"], a["capacityWh"], a["matchingId"] - first_id,
                     names[a["prosumer"]], ev_names[a["ev"]]))
    bids: list[list[int]] = [[] for _ in agents]
    for log in chain.contract("PeriodMatching").events.ProsumerBidPlaced.get_logs(from_block=first_block):
        bids[agents.index(names[log["args"]["prosumer"]])].append(log["args"]["netWh"])
    after = [chain.call("EVExchange", "balanceOf", c.address) for c in [*day.prosumers, *day.evs]]
    change = [x - y for x, y in zip(after, balances)]
    batteries = [tuple(chain.call("EVExchange", "battery", c.address)[:3]) for c in day.evs]
    periods = day.period_gas()
    setup = chain.ledger.total("deploy", "setup")
    return ChainDayResult(
        method=day.method, forecast=forecast, window=window, agents=agents, n_evs=len(day.evs),
        sold_to_ev_wh=sold, bought_from_ev_wh=bought, prosumer_gain_base=gain, balance_change_base=change[:n],
        ev_cash_base=change[n:], ev_battery=batteries,  # type: ignore[arg-type]
        matches=chain.call("EVExchange", "lastMatchingId") - first_id, exchange=rows, bids_wh=bids,
        transactions=sum(g.transactions for g in periods), total_gas=sum(g.gas for g in periods),
        period_gas=periods, setup_transactions=setup.transactions, setup_gas=setup.gas,
        wall_seconds=wall_seconds,
    )


def compare_with_model(result: ChainDayResult, rules: MarketRules = MarketRules(), *,
                       cache_dir: Path | None = None) -> dict[str, Any]:
    """Runs `simulate_day` on the result's window and returns every difference (empty lists and zero
    counts when the chain gave the model's figures): per-agent bids, energy and gains, the EVs' batteries
    and cash, the number of matches and the exchange.csv rows that differ. Federated runs are compared with
    the in-memory federated model under the same `result.federated` (cached in `cache_dir` if given)."""
    agents, net, bids, (first, _) = day_inputs(result.window, result.forecast, rules=rules, cache_dir=cache_dir,
                                               federated=result.federated)
    run = simulate_day(agents, net, bids, result.n_evs, result.method, rules,  # type: ignore[arg-type]
                       forecast=result.forecast, first_period=first)
    model_rows = [
        (int(r.step), round(r.energy_kwh * 1000), round(r.available_kwh * 1000), round(r.capacity_kwh * 1000),
         int(r.matching_id), r.prosumer, r.ev)
        for r in run.exchange.itertuples()
    ]

    def differ(name: str, chain: Sequence[Any], model: Sequence[Any], labels: Sequence[str]) -> list[dict[str, Any]]:
        return [{"figure": name, "agent": lab, "chain": c, "model": m}
                for lab, c, m in zip(labels, chain, model) if c != m]

    ev_labels = [f"EV{j + 1}" for j in range(result.n_evs)]
    model_batteries = [(e, a.stock_wh, a.cost_base) for e, a in zip(run.final_energy_wh, run.ev_accounts)]
    model_cash = [a.revenue_base - a.purchases_base for a in run.ev_accounts]
    differences = [
        *differ("bids_wh", result.bids_wh, bids.tolist(), agents),
        *differ("sold_to_ev_wh", result.sold_to_ev_wh, run.sold_to_ev_wh.tolist(), agents),
        *differ("bought_from_ev_wh", result.bought_from_ev_wh, run.bought_from_ev_wh.tolist(), agents),
        *differ("prosumer_gain_base", result.prosumer_gain_base, run.prosumer_gain_base, agents),
        *differ("ev_battery", result.ev_battery, model_batteries, ev_labels),
        *differ("ev_cash_base", result.ev_cash_base, model_cash, ev_labels),
    ]
    rows_differing = sum(c != m for c, m in zip(result.exchange, model_rows))
    rows_differing += abs(len(result.exchange) - len(model_rows))
    return {
        "differences": differences,
        "matches": {"chain": result.matches, "model": run.matches},
        "exchange_rows": {"chain": len(result.exchange), "model": len(model_rows), "differing": rows_differing},
        "identical": not differences and rows_differing == 0 and result.matches == run.matches,
    }


# --- benchmark files -------------------------------------------------------------------------------------------


def extrapolate_day(result: ChainDayResult) -> dict[str, Any]:
    """The window's per-period figures scaled linearly to a 24-h day (1,440 periods). NOT a measured run."""
    scale = DAY_PERIODS / result.window[1]
    return {
        "periods": DAY_PERIODS,
        "transactions": round(result.transactions * scale),
        "total_gas": round(result.total_gas * scale),
        "wall_seconds": round(result.wall_seconds * scale, 1),
        "note": f"linear extrapolation of the measured {result.window[1]} periods; not a measured run",
    }


def _extrapolation_lines(runs: Sequence[tuple[ChainDayResult, dict[str, Any] | None]]) -> list[str]:
    """The report's section extrapolating runs shorter than the day to 24 h, labelled as not measured."""
    rows = []
    for r, _ in runs:
        day = extrapolate_day(r)
        rows.append([f"{r.n_evs} EV {r.method}", f"≈ {day['transactions']:,}", f"≈ {day['total_gas']:,}",
                     f"≈ {day['wall_seconds']:,} s"])
    return [
        f"## Extrapolation to a 24-h day ({DAY_PERIODS} periods) — NOT measured",
        "",
        "The measured window's per-period means × 1,440. Every period sends the same transactions "
        "(one bid per agent, one match, one log, one settlement), so the transaction count scales exactly; "
        "gas per period depends on how many pairs move energy and in how many steps, so a window of active "
        "midday trading overstates the night and the figure leans high.",
        "",
        table(["run", "transactions", "total gas", "wall time"], rows),
        "",
    ]


def write_summary(runs: Sequence[tuple[ChainDayResult, dict[str, Any] | None]], out_dir: Path) -> None:
    """seed000_chain.json and seed000_chain.md under `out_dir`: per run (result, its compare_with_model or
    None) the measured window and, labelled as such and only for runs shorter than the day, a linear
    extrapolation to a 24-h day. The load average at writing time says how shared the machine was."""
    out_dir.mkdir(parents=True, exist_ok=True)
    load = [round(x, 2) for x in os.getloadavg()]
    partial = [(r, c) for r, c in runs if r.window[1] < DAY_PERIODS]
    report = {
        "benchmark": "seed000 day on chain (embedded Anvil, automine)",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "load_average_1_5_15_min": load},
        "runs": [
            {"measured": r.summary(), "per_period": [asdict(g) for g in r.period_gas],
             "extrapolated_24h": extrapolate_day(r) if r.window[1] < DAY_PERIODS else None,
             "model_comparison": c}
            for r, c in runs
        ],
    }
    (out_dir / "seed000_chain.json").write_text(json.dumps(report, indent=2) + "\n")
    measured, agents = [], []
    for r, c in runs:
        summary = r.summary()
        gas, run = summary["gas_per_period"], f"{r.n_evs} EV {r.method}"
        same = "—" if c is None else ("yes" if c["identical"] else f"NO ({len(c['differences'])} figures)")
        measured.append([f"{run}, {r.forecast}", f"{r.window[0]}..{r.window[0] + r.window[1] - 1}",
                         f"{r.transactions:,}", f"{r.total_gas:,}",
                         f"{gas['mean']:,.0f} ({gas['min']:,} .. {gas['max']:,})", f"{r.wall_seconds:.1f} s",
                         r.matches, same])
        agents += [[run, a, f"{v['traded_kwh']:.3f}", f"{v['sold_to_ev_kwh']:.3f}", f"{v['bought_from_ev_kwh']:.3f}",
                    f"{v['gain_upos']:.4f}"] for a, v in summary["agents"].items()]
    lines = [
        "# Seed 000 — the day through the contracts (embedded Anvil)",
        "",
        "Written by `python -m offchain.mechanisms.fog_ems.chain_run` (offchain/mechanisms/fog_ems/chain_run.py). "
        "Calibrated synthetic day, perfect forecasts unless stated, shared EVs; every period sends each agent's "
        "bid, the match (greedy: `matchGreedy`; Hungarian: the fog-matching worker's `submitAssignment` with "
        "its dual certificate), the METER's `logExchange` and the OPERATOR's `settleGrid`. Gas is the receipts' "
        "gasUsed of every transaction of the periods; setup (deployment, registration, funding) is separate. "
        "Wall time includes the worker and Python-side reads (Anvil automine, one core of this machine); "
        f"load average (1, 5, 15 min) when the figures were written: {', '.join(f'{x:.2f}' for x in load)}.",
        "",
        table(["run", "periods", "transactions", "total gas", "gas / period (min .. max)", "wall time", "matches",
               "= simulate_day"], measured),
        "",
        *(_extrapolation_lines(partial) if partial else []),
        "## Setup (once per chain)",
        "",
        *(f"- {r.n_evs} EV {r.method}: {r.setup_transactions} transactions, {r.setup_gas:,} gas"
          + (f"; then {len(r.model_round_gas)} FedAvg rounds published, {sum(r.model_round_gas):,} gas"
             if r.federated else "") for r, _ in runs),
        "",
        "## Energy and money per agent (measured window)",
        "",
        table(["run", "agent", "traded kWh", "sold to EV kWh", "bought from EV kWh", "gain over grid UPOS"], agents),
    ]
    (out_dir / "seed000_chain.md").write_text("\n".join(lines) + "\n")


def benchmark(out_dir: str | Path = "benchmarks", *, window: tuple[int, int] = (600, 60), evs: int = 2,
              methods: Sequence[str] = ("greedy", "hungarian"), progress: bool = True) -> list[ChainDayResult]:
    """Runs `window` on chain once per method, checks each against simulate_day and writes the figures."""
    runs = []
    for method in methods:
        result = run_day_on_chain(evs=evs, method=method, window=window, progress=progress)  # type: ignore[arg-type]
        runs.append((result, compare_with_model(result)))
    write_summary(runs, Path(out_dir))
    return [r for r, _ in runs]


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Seed 000 day on chain: benchmark figures")
    parser.add_argument("--out", default="benchmarks")
    parser.add_argument("--first", type=int, default=600, help="first period of the window (day index)")
    parser.add_argument("--periods", type=int, default=60)
    parser.add_argument("--evs", type=int, default=2)
    options = parser.parse_args()
    for run in benchmark(options.out, window=(options.first, options.periods), evs=options.evs):
        print(json.dumps(run.summary()["gas_per_period"]), run.transactions, f"{run.wall_seconds:.1f} s")
