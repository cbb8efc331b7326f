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
from offchain.scenarios.harness import open_scenario_chain
from offchain.data.seed002 import Week
from offchain.scenarios.markdown import table
from offchain.units import WH_PER_KWH, base_to_upos, kwh_to_wh, payment_base, upos_to_base, wh_to_kwh

from .terms import PeakControlTerms, peak_control_steps
from .plan import PeakSettings, run_week
from .workers import PEAK_PENALTIES, PEAK_RECOMMENDATIONS, day_commitment, penalty_payload

DEPOSIT_UPOS = 1_000_000
FIRST_ACCOUNT = 10  #: participants use the test mnemonic's accounts from here (0-3 are the roles)


@dataclass(frozen=True)
class ChainDays:
    """What the chain holds after the run: the first day used (`base`, absolute day index), participants'
    addresses, the Wh each bought per relative day and hour as the book recorded it, and per published relative
    day the vector (bps), reference PAR (bps) and root; `reads` maps (relative day, address) to the total Wh
    RecommendationBoard.recommendation returned for the participant's schedule and proof; `gas` total gas;
    `paid_upos` (n,) UPOS base units each participant's buys cost (payments and premiums), `premium_paid` the
    premiums the book credited to the recipient (sum of PremiumPaid)."""

    base: int
    addresses: list[str]
    bought_wh: np.ndarray
    vectors: dict[int, list[int]]
    roots: dict[int, bytes]
    reads: dict[tuple[int, str], int]
    gas: int
    transactions: int  #: transactions of the days (setup and deployment excluded)
    paid_upos: np.ndarray
    premium_paid: int

    def premiums_upos(self, price: int) -> np.ndarray:
        """(n,) UPOS base units of premium each participant paid: what its buys cost beyond `price` per kWh."""
        base = np.array([sum(payment_base(int(wh), price) for wh in row.ravel()) for row in self.bought_wh])
        return self.paid_upos - base

    def expected_premiums_upos(self, price: int) -> np.ndarray:
        """(n,) the premiums the published vectors make each participant owe on its purchases at `price` (the
        book's arithmetic: premium price rounded down to whole base units per Wh; x1.0 before the first vector)."""
        n, days, _ = self.bought_wh.shape
        bps = np.array([self.vectors.get(d, [NO_PREMIUM_BPS] * HOURS) for d in range(days)])
        prices = [[premium_price(price, int(bps[d, h]) - NO_PREMIUM_BPS) for h in range(HOURS)] for d in range(days)]
        return np.array([sum(payment_base(int(self.bought_wh[i, d, h]), prices[d][h])
                             for d in range(days) for h in range(HOURS)) for i in range(n)])


def run_days(work_dir: Path, purchases_wh: np.ndarray, first_day: int = 1, threshold: float = 0.85,
             terms: PeakControlTerms = PeakControlTerms()) -> ChainDays:
    """Buys `purchases_wh` ((n, days, 24) Wh; amounts below the book's minimum order are not bought) on the hourly
    book for the next `days` whole days, runs both workers in every day's update window from `first_day` on, and
    reads back every participant's recommendation with the proof the worker's tree gives it. `threshold`: the
    penalty worker's PAR threshold."""
    n, days, _ = purchases_wh.shape
    day_seconds = terms.hour_seconds * HOURS
    price = MARKET_PARAMS["importPrice"]
    bought = np.where(purchases_wh >= MARKET_PARAMS["minOrderWh"], purchases_wh, 0).astype(np.int64)
    with open_scenario_chain(work_dir, accounts=FIRST_ACCOUNT + n) as chain:
        chain.deploy(replace_group(SUITE, peak_control_steps(terms)))
        people = chain.participants(FIRST_ACCOUNT, n)
        book = chain.manifest.address("HourlyEnergyOrderBook")
        for person in people:
            chain.register(person, ParticipantKind.PROSUMER)
        chain.send_all((chain.admin, "UPOS", "mint", (p.address, upos_to_base(DEPOSIT_UPOS))) for p in people)
        chain.send_all((p, "UPOS", "approve", (book, upos_to_base(DEPOSIT_UPOS))) for p in people)
        chain.send_all((p, "HourlyEnergyOrderBook", "depositUpos", (upos_to_base(DEPOSIT_UPOS),)) for p in people)
        base = (chain.now() - terms.genesis_time) // day_seconds + 1
        vectors: dict[int, list[int]] = {}
        roots: dict[int, bytes] = {}
        reads: dict[tuple[int, str], int] = {}
        premium_paid = 0
        book_events = chain.contract("HourlyEnergyOrderBook").events
        with chain.open_worker(PEAK_PENALTIES, options={"first_day": base + first_day,
                                                                "threshold": threshold}) as penalties, \
                chain.open_worker(PEAK_RECOMMENDATIONS, options={"first_day": base + first_day}) as recommendations:
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
                    buyers, previous = day_purchases_from(bought[:, d - 1], [p.address for p in people])
                    tree = day_commitment(buyers, previous, day)
                    for buyer in buyers:
                        reads[(d, buyer)] = chain.call("RecommendationBoard", "recommendation", day, buyer,
                                                       list(tree.schedules[buyer]),
                                                       [bytes(x) for x in tree.proofs[buyer]])
                for h in range(HOURS):
                    period = day * HOURS + h
                    start = terms.genesis_time + period * terms.hour_seconds
                    chain.advance_to(start - terms.hours_ahead * terms.hour_seconds)
                    placed = [(p, "HourlyEnergyOrderBook", "placeOrder", (period, True, price, int(bought[i, d, h]),
                                                                           int(bought[i, d, h])))
                              for i, p in enumerate(people) if bought[i, d, h] > 0]
                    receipts = chain.send_all(placed)
                    order_ids = [book_events.OrderPlaced().process_receipt(r, errors=DISCARD)[0]["args"]["orderId"]
                                 for r in receipts]
                    chain.advance_past(start - MARKET_PARAMS["gateLeadSeconds"])
                    if order_ids:
                        filled = chain.send(chain.operator, "HourlyEnergyOrderBook", "gridFill", order_ids)
                        premium_paid += sum(e["args"]["amount"]
                                            for e in book_events.PremiumPaid().process_receipt(filled, errors=DISCARD))
        records = [r for r in chain.ledger.records() if r.phase == "day"]
        paid = np.array([upos_to_base(DEPOSIT_UPOS) - chain.call("HourlyEnergyOrderBook", "uposFree", p.address)
                         for p in people])
        return ChainDays(base=base, addresses=[p.address for p in people], bought_wh=bought, vectors=vectors,
                         roots=roots, reads=reads, gas=sum(r.gas for r in records), transactions=len(records),
                         paid_upos=paid, premium_paid=premium_paid)


def day_purchases_from(bought_wh: np.ndarray, addresses: list[str]) -> tuple[list[str], np.ndarray]:
    """The buyers (sorted, those with a purchase) and their (n, 24) kWh of one day, as the workers see them."""
    rows = {a: bought_wh[i] for i, a in enumerate(addresses) if bought_wh[i].sum() > 0}
    buyers = sorted(rows)
    return buyers, np.array([[wh_to_kwh(int(v)) for v in rows[b]] for b in buyers]).reshape(len(buyers), HOURS)


def reproduce_chain(out: Path, week: Week, settings: PeakSettings = PeakSettings()) -> tuple[Path, list[tuple[str, bool]]]:
    """The REC scenario's purchases of `week` (the plan's run_week) through the chain (:func:`run_days`, workers
    from the plan's first day), each published vector and root compared with the plan's on the purchases the book
    recorded; writes ``seed002-chain.md`` (checks, transactions, gas per participant-day, wall time) in `out`."""
    started = time.perf_counter()
    rec = run_week(week.consumption, week.production, "rec", settings)
    purchases = np.vectorize(kwh_to_wh)(rec.bought)
    with tempfile.TemporaryDirectory(prefix="kwx-seed002-") as work:
        run = run_days(Path(work), purchases, first_day=settings.first_day, threshold=settings.threshold)
    checks: list[tuple[str, bool]] = []
    for d in sorted(run.vectors):
        buyers, previous = day_purchases_from(run.bought_wh[:, d - 1], run.addresses)
        expected = penalty_payload(previous.sum(axis=0), settings.threshold)
        checks.append((f"day {d + 1}: penalty vector equals the plan's", run.vectors[d] == expected["bps"]))
        tree = day_commitment(buyers, previous, run.base + d, settings)
        checks.append((f"day {d + 1}: recommendation root equals the plan's", run.roots[d] == tree.root))
        checks.append((f"day {d + 1}: every participant reads its recommendation",
                       all(run.reads[(d, b)] == sum(tree.schedules[b]) for b in buyers)))
    price = MARKET_PARAMS["importPrice"]
    premiums = run.premiums_upos(price)
    checks.append(("premiums on chain equal the published vectors' (exact)",
                   bool(np.array_equal(premiums, run.expected_premiums_upos(price)))))
    checks.append(("the recipient received every premium paid", int(premiums.sum()) == run.premium_paid))
    # the Python run's premiums on the same purchases at the same price: its float multipliers, before the bps
    # rounding of the published vectors; tolerance fixed beforehand: 1 bps of each participant's payment
    base = np.array([sum(payment_base(int(wh), price) for wh in row.ravel()) for row in run.bought_wh])
    python_premiums = (run.bought_wh / WH_PER_KWH * price * (rec.multipliers[None, :, :] - 1.0)).sum(axis=(1, 2))
    gap = np.abs(premiums - python_premiums)
    checks.append(("premiums within 1 bps of payment of the Python run's", bool(np.all(gap <= base * 1e-4))))
    n, days, _ = purchases.shape
    seconds = time.perf_counter() - started
    rows = [[name, "yes" if ok else "NO"] for name, ok in checks]
    figures = [["participants x days", f"{n} x {days}"], ["transactions (days only)", run.transactions],
               ["gas (days only)", f"{run.gas:,}"], ["gas per participant-day", f"{run.gas // (n * days):,}"],
               ["premiums paid on chain (UPOS)", f"{base_to_upos(run.premium_paid):,.4f}"],
               ["premiums of the Python run (UPOS)", f"{base_to_upos(int(python_premiums.sum())):,.4f}"],
               ["largest gap / payment (bps)", f"{(gap / np.maximum(base, 1)).max() * 1e4:.3f}"],
               ["wall time (s)", f"{seconds:.1f}"]]
    report = out / "seed002-chain.md"
    report.write_text("\n".join([
        "# Seed 002 through the contracts", "",
        "Every participant buys its REC purchases (the plan's run) hour by hour on the hourly order book at the import "
        "tariff, paying the premium of the hour's published multiplier to the operator (the hourly book's premium "
        "source is the PenaltySchedule); the operator grid-fills them after each gate closure; from the plan's first day on, the "
        "peak-penalties and peak-recommendations workers publish each day's vector and root in its update window. "
        "Amounts below the book's minimum order (100 Wh) are not bought.", "",
        table(["check", "equal"], rows), "", table(["figure", "value"], figures), ""]))
    return report, checks
