"""Seed 002 through the contracts on an embedded chain: participants buy their hourly purchases on the hourly
order book (the operator grid-fills them at the import tariff, as counterparty of last resort), and the
peak-penalties and peak-recommendations workers publish the next day's penalty vector and recommendation root in
its update window. The caller compares what the chain holds with the plan (tests/offchain/mechanisms/peak_control).
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from web3.logs import DISCARD

from offchain.algorithms.par_search import HOURS
from offchain.chain import replace_group
from offchain.chain.abi import ParticipantKind
from offchain.chain.suites import MARKET_PARAMS
from offchain.market.book import NO_PREMIUM_BPS, premium_price
from offchain.mechanisms import SUITE
from offchain.progress import progress_bar
from offchain.scenarios.harness import open_scenario_chain
from offchain.data.seed002 import Week
from offchain.scenarios.markdown import table
from offchain.units import WH_PER_KWH, base_to_upos, kwh_to_wh_array, payment_base, price_to_base_per_kwh, upos_to_base, wh_to_kwh

from .terms import PeakControlTerms, peak_control_steps
from .plan import PeakSettings, run_week, week_costs
from .workers import PEAK_PENALTIES, PEAK_RECOMMENDATIONS, day_commitment, penalty_payload

DEPOSIT_UPOS = 1_000_000
OPERATOR_DEPOSIT_UPOS = 100_000_000  #: pays for the surpluses it buys as counterparty of last resort
FIRST_ACCOUNT = 10  #: participants use the test mnemonic's accounts from here (0-3 are the roles)


@dataclass(frozen=True)
class ChainDays:
    """What the chain holds after the run: the first day used (`base`, absolute day index), participants'
    addresses, the Wh each bought and sold per relative day and hour as the book recorded them (``Trade`` and
    ``GridFilled`` events), the hour's price (UPOS base units per kWh: every order's limit and both grid tariffs),
    and per published relative day the vector (bps), reference PAR (bps) and root; `reads` maps (relative day,
    address) to the total Wh RecommendationBoard.recommendation returned for the participant's schedule and proof;
    `gas` total gas; `paid_upos` (n,) UPOS base units each participant paid net (buys with their premiums minus
    sales), `premium_paid` the premiums the book credited to the recipient (sum of PremiumPaid), `matched_wh`
    the Wh participants traded with each other (the rest went through the grid fallback)."""

    base: int
    addresses: list[str]
    bought_wh: np.ndarray
    sold_wh: np.ndarray
    prices: np.ndarray
    vectors: dict[int, list[int]]
    roots: dict[int, bytes]
    reads: dict[tuple[int, str], int]
    gas: int
    transactions: int  #: transactions of the days (setup and deployment excluded)
    paid_upos: np.ndarray
    premium_paid: int
    matched_wh: int

    @property
    def multipliers_bps(self) -> np.ndarray:
        """(days, 24) the published multipliers (bps), x1.0 before the first vector."""
        days = self.prices.shape[0]
        return np.array([self.vectors.get(d, [NO_PREMIUM_BPS] * HOURS) for d in range(days)])

    def expected_paid_upos(self) -> np.ndarray:
        """(n,) what the book's arithmetic makes each participant pay net for the recorded trades: every Wh bought
        at the hour's price plus its premium (premium price rounded down to whole base units per Wh), every Wh
        sold at the hour's price."""
        bps = self.multipliers_bps
        n, days, _ = self.bought_wh.shape
        paid = np.zeros(n, dtype=object)
        for d in range(days):
            for h in range(HOURS):
                price = int(self.prices[d, h])
                gross = price + premium_price(price, int(bps[d, h]) - NO_PREMIUM_BPS)
                for i in range(n):
                    paid[i] += payment_base(int(self.bought_wh[i, d, h]), gross)
                    paid[i] -= payment_base(int(self.sold_wh[i, d, h]), price)
        return paid

    def premiums_upos(self) -> np.ndarray:
        """(n,) UPOS base units of premium each participant paid: its net payment beyond the hour's price."""
        n, days, _ = self.bought_wh.shape
        base = np.array([sum(payment_base(int(self.bought_wh[i, d, h]), int(self.prices[d, h])) -
                             payment_base(int(self.sold_wh[i, d, h]), int(self.prices[d, h]))
                             for d in range(days) for h in range(HOURS)) for i in range(n)], dtype=object)
        return self.paid_upos - base


def tariff_grid(prices_eur: np.ndarray) -> np.ndarray:
    """(days, 24) EUR/kWh day-ahead prices as the book's prices (UPOS base units per kWh), rounded to its 0.0001
    tick and kept within its [0.0001, 1] range."""
    ticks = np.clip(np.round(np.asarray(prices_eur) * 10_000), 1, 10_000).astype(int)
    return np.vectorize(lambda t: price_to_base_per_kwh(f"{t / 10_000:.4f}"), otypes=[object])(ticks)


def tradable(wh: np.ndarray) -> np.ndarray:
    """`wh` with amounts below the book's minimum order set to 0 (the agent cannot place them)."""
    return np.where(wh >= MARKET_PARAMS["minOrderWh"], wh, 0).astype(np.int64)


#: gas limit of a sell order, which may take every resting buy of its hour (the batch is not estimated: each sell
#: finds the book the earlier sells of its batch left): a base plus a bound per resting buy.
SELL_GAS_BASE, SELL_GAS_PER_MAKER = 250_000, 60_000


def run_days(work_dir: Path, bought_wh: np.ndarray, sold_wh: np.ndarray, prices: np.ndarray, first_day: int = 1,
             threshold: float = 0.85, terms: PeakControlTerms = PeakControlTerms(), progress: bool = False) -> ChainDays:
    """Trades `bought_wh` and `sold_wh` ((n, days, 24) Wh; amounts below the book's minimum order are not
    traded) on the hourly book for the next `days` whole days at `prices` ((days, 24) UPOS base units per kWh, on
    the book's tick grid): the operator sets each hour's grid tariffs (import = export = the day-ahead price) as
    soon as the book allows, every meter agent places its buys at the hour's price, the METER attests each
    surplus, its agent deposits the credits and places its sells at the same price (they take the resting buys),
    and after gate closure the operator grid-fills what is left on both sides. Both workers run in every day's
    update window from `first_day` on; every participant reads back its recommendation with the proof the
    worker's tree gives it. `threshold`: the penalty worker's PAR threshold. `progress`: a bar over the hours
    traded (a 103 x 7 week takes about 25 minutes)."""
    n, days, _ = bought_wh.shape
    day_seconds = terms.hour_seconds * HOURS
    bought, sold = tradable(bought_wh), tradable(sold_wh)
    recorded_bought, recorded_sold = np.zeros_like(bought), np.zeros_like(sold)
    operator_upos = upos_to_base(OPERATOR_DEPOSIT_UPOS)
    with open_scenario_chain(work_dir, accounts=FIRST_ACCOUNT + n) as chain:
        chain.deploy(replace_group(SUITE, peak_control_steps(terms)))
        people = chain.participants(FIRST_ACCOUNT, n)
        index = {p.address: i for i, p in enumerate(people)}
        book = chain.manifest.address("HourlyEnergyOrderBook")
        for person in people:
            chain.register(person, ParticipantKind.PROSUMER)
        funded = [*people, chain.operator]
        amount = {p.address: upos_to_base(DEPOSIT_UPOS) for p in people} | {chain.operator.address: operator_upos}
        chain.send_all((chain.admin, "UPOS", "mint", (p.address, amount[p.address])) for p in funded)
        chain.send_all((p, "UPOS", "approve", (book, amount[p.address])) for p in funded)
        chain.send_all([*((p, "HourlyEnergyOrderBook", "depositUpos", (amount[p.address],)) for p in funded),
                        *((p, "EnergyCredit", "setApprovalForAll", (book, True)) for p in people)])
        now_period = (chain.now() - terms.genesis_time) // terms.hour_seconds
        base = (now_period + 2) // HOURS + 1  # the first hour's tariff must be set two hours ahead
        chain.send(chain.operator, "HourlyEnergyOrderBook", "setGridTariffs", int(prices[0, 0]), int(prices[0, 0]))
        vectors: dict[int, list[int]] = {}
        roots: dict[int, bytes] = {}
        reads: dict[tuple[int, str], int] = {}
        premium_paid = matched = 0
        events = chain.contract("HourlyEnergyOrderBook").events
        with chain.open_worker(PEAK_PENALTIES, options={"first_day": base + first_day,
                                                                "threshold": threshold}) as penalties, \
                chain.open_worker(PEAK_RECOMMENDATIONS, options={"first_day": base + first_day}) as recommendations, \
                progress_bar(progress) as bars:
            task = bars.add_task(f"seed 002 on chain, {n} participants", total=days * HOURS) if bars else None
            for d in range(days):
                day = base + d
                chain.ledger.mark("day", d)
                if d >= first_day:
                    opens, closes = chain.call("RecommendationBoard", "updateWindow", day)
                    chain.advance_to(opens)
                    penalties.run_once()
                    recommendations.run_once()
                    vectors[d] = list(chain.call("PenaltySchedule", "penalties", day))
                    roots[d] = bytes(chain.call("RecommendationBoard", "rootOf", day))
                    chain.advance_to(closes)
                    buyers, previous = day_purchases_from(recorded_bought[:, d - 1], [p.address for p in people])
                    tree = day_commitment(buyers, previous, day)
                    for buyer in buyers:
                        reads[(d, buyer)] = chain.call("RecommendationBoard", "recommendation", day, buyer,
                                                       list(tree.schedules[buyer]),
                                                       [bytes(x) for x in tree.proofs[buyer]])
                sellers = [(i, h) for h in range(HOURS) for i in range(n) if sold[i, d, h] > 0]
                chain.send_all((chain.meter, "EnergyCredit", "attestSurplus",
                                (people[i].address, day * HOURS + h, int(sold[i, d, h]))) for i, h in sellers)
                chain.send_all((people[i], "HourlyEnergyOrderBook", "depositEnergy",
                                (day * HOURS + h, int(sold[i, d, h]))) for i, h in sellers)
                for h in range(HOURS):
                    period = day * HOURS + h
                    price = int(prices[d, h])
                    start = terms.genesis_time + period * terms.hour_seconds
                    chain.advance_to(start - terms.hours_ahead * terms.hour_seconds)
                    later = (d, h + 1) if h + 1 < HOURS else (d + 1, 0)
                    if later[0] < days:  # the book takes a tariff two hours ahead: the next hour's, now
                        nxt = int(prices[later])
                        chain.send(chain.operator, "HourlyEnergyOrderBook", "setGridTariffs", nxt, nxt)
                    buys = [i for i in range(n) if bought[i, d, h] > 0]
                    receipts = chain.send_all((people[i], "HourlyEnergyOrderBook", "placeOrder",
                                               (period, True, price, int(bought[i, d, h]), int(bought[i, d, h])))
                                              for i in buys)
                    sells = [i for i in range(n) if sold[i, d, h] > 0]
                    receipts += chain.send_all(((people[i], "HourlyEnergyOrderBook", "placeOrder",
                                                 (period, False, price, int(sold[i, d, h]), int(sold[i, d, h])))
                                                for i in sells), gas=SELL_GAS_BASE + SELL_GAS_PER_MAKER * len(buys))
                    placed = [e["args"]["orderId"] for r in receipts
                              for e in events.OrderPlaced().process_receipt(r, errors=DISCARD)]
                    for r in receipts:
                        for trade in events.Trade().process_receipt(r, errors=DISCARD):
                            a = trade["args"]
                            recorded_bought[index[a["buyer"]], d, h] += a["quantityWh"]
                            recorded_sold[index[a["seller"]], d, h] += a["quantityWh"]
                            matched += a["quantityWh"]
                        premium_paid += sum(e["args"]["amount"]
                                            for e in events.PremiumPaid().process_receipt(r, errors=DISCARD))
                    chain.advance_past(start - MARKET_PARAMS["gateLeadSeconds"])
                    if placed:
                        filled = chain.send(chain.operator, "HourlyEnergyOrderBook", "gridFill", placed)
                        for e in events.GridFilled().process_receipt(filled, errors=DISCARD):
                            a = e["args"]
                            side = recorded_bought if a["isBuy"] else recorded_sold
                            side[index[a["owner"]], d, h] += a["quantityWh"]
                        premium_paid += sum(e["args"]["amount"]
                                            for e in events.PremiumPaid().process_receipt(filled, errors=DISCARD))
                    if bars:
                        bars.advance(task)
        records = [r for r in chain.ledger.records() if r.phase == "day"]
        paid = np.array([upos_to_base(DEPOSIT_UPOS) - chain.call("HourlyEnergyOrderBook", "uposFree", p.address)
                         for p in people], dtype=object)
        return ChainDays(base=base, addresses=[p.address for p in people], bought_wh=recorded_bought,
                         sold_wh=recorded_sold, prices=np.asarray(prices), vectors=vectors, roots=roots, reads=reads,
                         gas=sum(r.gas for r in records), transactions=len(records), paid_upos=paid,
                         premium_paid=premium_paid, matched_wh=matched)


def day_purchases_from(bought_wh: np.ndarray, addresses: list[str]) -> tuple[list[str], np.ndarray]:
    """The buyers (sorted, those with a purchase) and their (n, 24) kWh of one day, as the workers see them."""
    rows = {a: bought_wh[i] for i, a in enumerate(addresses) if bought_wh[i].sum() > 0}
    buyers = sorted(rows)
    return buyers, np.array([[wh_to_kwh(int(v)) for v in rows[b]] for b in buyers]).reshape(len(buyers), HOURS)


#: Tolerances fixed before the first run, the chain against the Python run's floats: the week's bought, sold and
#: net energy within 0.1 % of the week's bought energy (Wh rounding and the book's 100 Wh minimum order), its net
#: cost within 1 bps of the week's purchases (the same plus the multipliers' rounding to whole bps).
ENERGY_TOLERANCE = 1e-3
COST_TOLERANCE = 1e-4


@dataclass(frozen=True)
class ChainComparison:
    """The on-chain run beside the Python run: `checks` (name, equal), `figures` (name, Python, chain) for Table 2's
    energy and the hourly cost, and the run's counts."""

    checks: list[tuple[str, bool]]
    figures: list[list[str]]
    run: ChainDays
    seconds: float


def compare_with_plan(week: Week, settings: PeakSettings, work_dir: Path, progress: bool = False) -> ChainComparison:
    """Runs the REC scenario of `week` (the plan's run_week) through :func:`run_days` at the week's day-ahead
    prices and compares: every published vector and root with the plan's on the purchases the book recorded, the
    recorded Wh with the plan's rounded to Wh (exactly), every participant's net payment with the book's
    arithmetic on them (exactly), the recipient's premiums, and bought / sold / net kWh and EUR with the Python
    run's floats (within ENERGY_TOLERANCE and COST_TOLERANCE). `progress`: a bar over the hours traded."""
    started = time.perf_counter()
    rec = run_week(week.consumption, week.production, "rec", settings)
    prices = tariff_grid(week.prices)
    run = run_days(work_dir, kwh_to_wh_array(rec.bought), kwh_to_wh_array(rec.sold), prices, first_day=settings.first_day,
                   threshold=settings.threshold, progress=progress)
    checks: list[tuple[str, bool]] = []
    for d in sorted(run.vectors):
        buyers, previous = day_purchases_from(run.bought_wh[:, d - 1], run.addresses)
        expected = penalty_payload(previous.sum(axis=0), settings.threshold)
        checks.append((f"day {d + 1}: penalty vector equals the plan's", run.vectors[d] == expected["bps"]))
        tree = day_commitment(buyers, previous, run.base + d, settings)
        checks.append((f"day {d + 1}: recommendation root equals the plan's", run.roots[d] == tree.root))
        checks.append((f"day {d + 1}: every participant reads its recommendation",
                       all(run.reads[(d, b)] == sum(tree.schedules[b]) for b in buyers)))
    checks.append(("bought Wh per participant-hour equal the plan's (Wh, tradable)",
                   bool(np.array_equal(run.bought_wh, tradable(kwh_to_wh_array(rec.bought))))))
    checks.append(("sold Wh per participant-hour equal the plan's (Wh, tradable)",
                   bool(np.array_equal(run.sold_wh, tradable(kwh_to_wh_array(rec.sold))))))
    checks.append(("net payments equal the book's arithmetic on the recorded trades (exact)",
                   bool(all(a == b for a, b in zip(run.paid_upos, run.expected_paid_upos())))))
    checks.append(("the recipient received every premium paid", int(sum(run.premiums_upos())) == run.premium_paid))
    python = week_costs(rec, week.prices)
    chain_kwh = {"bought": run.bought_wh.sum() / WH_PER_KWH, "sold": run.sold_wh.sum() / WH_PER_KWH}
    chain_kwh["net"] = chain_kwh["bought"] - chain_kwh["sold"]
    python_kwh = {"bought": float(rec.bought.sum()), "sold": float(rec.sold.sum())}
    python_kwh["net"] = python_kwh["bought"] - python_kwh["sold"]
    chain_eur = {"net": base_to_upos(int(sum(run.paid_upos))), "premium": base_to_upos(run.premium_paid)}
    python_eur = {"net": float(python.net.sum()), "premium": float(python.premium.sum())}
    scale_kwh, scale_eur = python_kwh["bought"], float(python.purchase.sum())
    for key in ("bought", "sold", "net"):
        checks.append((f"{key} kWh within {ENERGY_TOLERANCE:.1%} of bought of the Python run's",
                       bool(abs(chain_kwh[key] - python_kwh[key]) <= ENERGY_TOLERANCE * scale_kwh)))
    for key in ("net", "premium"):
        checks.append((f"{key} EUR within {COST_TOLERANCE * 1e4:g} bps of purchases of the Python run's",
                       bool(abs(chain_eur[key] - python_eur[key]) <= COST_TOLERANCE * scale_eur)))
    figures = [[f"{key} kWh", f"{python_kwh[key]:,.3f}", f"{chain_kwh[key]:,.3f}"] for key in ("bought", "sold", "net")]
    figures += [[f"{key} EUR (hourly prices, penalties)", f"{python_eur[key]:,.4f}", f"{chain_eur[key]:,.4f}"]
                for key in ("net", "premium")]
    return ChainComparison(checks=checks, figures=figures, run=run, seconds=time.perf_counter() - started)


def chain_report(comparison: ChainComparison, title: str, load: str = "") -> str:
    """The Markdown of a comparison: what ran, the checks, Python vs chain, transactions, gas and wall time."""
    run = comparison.run
    n, days, _ = run.bought_wh.shape
    counts = [["participants x days", f"{n} x {days}"], ["transactions (days only)", f"{run.transactions:,}"],
              ["gas (days only)", f"{run.gas:,}"], ["gas per participant-day", f"{run.gas // (n * days):,}"],
              ["kWh matched between participants", f"{run.matched_wh / WH_PER_KWH:,.3f}"],
              ["wall time (s)", f"{comparison.seconds:.1f}"]]
    if load:
        counts.append(["machine load (1-min load average at start / end)", load])
    return "\n".join([
        f"# {title}", "",
        "Every participant's meter agent trades its REC purchases and sales (the plan's run) hour by hour on the "
        "hourly order book at the hour's day-ahead price: buys first, then sells, which take the resting buys; "
        "the operator sets each hour's grid tariffs to the day-ahead price and, after gate closure, grid-fills what "
        "is left on both sides (counterparty of last resort). Buys pay the hour's published multiplier as a "
        "premium to the operator. From the plan's first day on, the peak-penalties and peak-recommendations "
        "workers publish each day's vector and root in its update window. Amounts below the book's minimum order "
        "(100 Wh) are not traded.", "",
        table(["check", "equal"], [[name, "yes" if ok else "NO"] for name, ok in comparison.checks]), "",
        table(["figure", "Python run", "chain"], comparison.figures), "",
        table(["figure", "value"], counts), ""])


def reproduce_chain(out: Path, week: Week, settings: PeakSettings = PeakSettings(),
                    progress: bool = True) -> tuple[Path, list[tuple[str, bool]]]:
    """:func:`compare_with_plan` on an embedded chain (with a progress bar unless `progress` is False); writes
    ``seed002-chain.md`` in `out`."""
    with tempfile.TemporaryDirectory(prefix="kwx-seed002-") as work:
        comparison = compare_with_plan(week, settings, Path(work), progress=progress)
    report = out / "seed002-chain.md"
    report.write_text(chain_report(comparison, "Seed 002 through the contracts"))
    return report, comparison.checks
