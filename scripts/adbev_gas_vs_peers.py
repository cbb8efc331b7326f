"""Seed 003 Fig. 4.6 analogue: gas per half-hour period against the number of EVs, AdBEV through the book against
one GA generation evaluated on chain. `brownie run scripts/adbev_gas_vs_peers.py main --network <network>`.

AdBEV: a fresh AdBEV book (offchain/mechanisms/adbev/terms.py) with its BatteryWindows gate; per period, N EVs
order as in the plan (a third sell 1.5 kWh, two thirds buy 1.75 kWh or, every other trader, an iceberg of 6 kWh
showing 2 kWh; limits 16 p +- U[-2, 2] p), the icebergs and sells allow their carry (WT_max 2, kill after 4 periods),
and after gate closure the operator's stepOrders carries or settles what is left. The period's gas is the sum
of every one of those transactions (receipts' gasUsed). Per-day set-up (registration, deposits, battery
windows, the sellers' credits) is not counted. Sellers are registered as prosumers: EnergyCredit mints only to
prosumers (docs/adbev-contracts.md).

GA: one generation of `POPULATION` individuals, each an on/off schedule per EV over 48 slots (a random
8-slot charging run), its fitness the Ch4 PFL (Eq. 4.4) evaluated by GaFitness.pflOf, a small stateless
contract standing in for "the GA on chain" (the thesis gives no contract): the generation's gas is the sum
over individuals of eth_estimateGas of a transaction calling it (21,000 + calldata + execution).

Writes benchmarks/adbev_gas_vs_peers.{json,md,png}.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from brownie.exceptions import TransactionError
from web3.exceptions import TransactionNotFound
from brownie import BatteryWindows, EnergyOrderBook, GaFitness, accounts, chain, web3

from offchain.chain.abi import ParticipantKind
from offchain.chain.roles import role_id
from offchain.mechanisms.adbev.terms import GATE_LEAD_SECONDS, PERIOD_SECONDS, AdbevTerms, pence
from offchain.scenarios.markdown import table
from scripts.gas_benchmark import deploy_foundation

SIZES = (10, 25, 50, 100, 200)
POPULATION = 40  #: GA individuals per generation (docs/adbev.md)
SLOTS = 48
BUY_WH, SELL_WH, ICEBERG_WH, PEAK_WH = 1_750, 1_500, 6_000, 2_000
UPOS_FUND = 10**21


def _account(n: int, admin):
    account = accounts.add(web3.keccak(text=f"kwx adbev gas vs peers {n}"))
    _send(admin.transfer, account, "1 ether")
    return account


def _deploy():
    admin, operator, meter, registry, upos, credit = deploy_foundation()
    terms = AdbevTerms(genesis_time=chain.time() - 100 * PERIOD_SECONDS - 5)
    book = EnergyOrderBook.deploy(registry, upos, credit, terms.book_params, {"from": admin})
    registry.grantRole(role_id("MARKET"), book, {"from": admin})
    windows = BatteryWindows.deploy(registry, book, {"from": admin})
    book.setOrderGate(windows, {"from": admin})
    return admin, operator, meter, registry, upos, credit, book, windows


def _traders(count: int, admin, operator, meter, registry, upos, credit, book, windows):
    """`count` traders: every third a prosumer (seller), the others EVs with a day-long battery window."""
    traders = []
    first = book.currentPeriod()
    for n in range(count):
        account = _account(n, admin)
        seller = n % 3 == 2
        kind = ParticipantKind.PROSUMER if seller else ParticipantKind.EV
        _send(registry.register, account, kind, 0, 0, 0 if seller else 60_000, 0, 0 if seller else 48_000,
                          {"from": operator})
        _send(upos.mint, account, UPOS_FUND, {"from": admin})
        _send(upos.approve, book, 2**256 - 1, {"from": account})
        _send(book.depositUpos, UPOS_FUND // 2, {"from": account})
        if seller:
            _send(credit.setApprovalForAll, book, True, {"from": account})
        else:
            _send(windows.setWindow, account, first, first + 4 * 48, 10**9, 0, {"from": meter})
        traders.append((account, seller))
    return traders


def _adbev_period(size: int, traders, rng, operator, meter, credit, book) -> tuple[int, int]:
    """Gas and transactions of one period with the first `size` traders."""
    p = book.currentPeriod() + 1
    for account, seller in traders[:size]:
        if seller:
            for q in (p, p + 1):
                _send(credit.attestSurplus, account, q, 2 * ICEBERG_WH, {"from": meter})
                _send(book.depositEnergy, q, 2 * ICEBERG_WH, {"from": account})
    sent = []
    ids = []
    for n, (account, seller) in enumerate(traders[:size]):
        iceberg = n % 2 == 0
        spread = round(float(rng.uniform(-2, 2)), 2)
        price = pence(16 - spread if seller else 16 + spread)
        quantity = SELL_WH if seller else (ICEBERG_WH if iceberg else BUY_WH)
        display = PEAK_WH if iceberg and not seller else quantity
        order_id = book.nextOrderId()
        sent.append(_send(book.placeOrder, p, not seller, price, quantity, display, {"from": account}))
        ids.append(order_id)
        if (seller or iceberg) and book.getOrder(order_id)[-1] == 0:  # still open: it may wait
            sent.append(_send(book.setCarryLimit, order_id, p + (4 if seller else 2), {"from": account}))
    chain.sleep(book.gateClosure(p) - chain.time() + 1)
    chain.mine()
    open_ids = [i for i in ids if book.getOrder(i)[-1] == 0]
    if open_ids:
        sent.append(_send(book.stepOrders, open_ids, {"from": operator}))
    gas = sum(_gas_used(txid) for txid in sent)
    # a few seconds into a period after the carried orders' periods: the next size's period opens a full period
    chain.sleep(book.gateClosure(p) + GATE_LEAD_SECONDS + 3 * PERIOD_SECONDS + 5 - chain.time())
    chain.mine()
    return gas, len(sent)


def _send(function, *args) -> str:
    """Sends a transaction and returns its hash once mined. On a loaded machine brownie can report a mined
    transaction as "dropped" (its receipt was not found the instant the sender's nonce moved on): the receipt
    is then read from the node by _gas_used, which fails on a revert or a transaction never mined."""
    try:
        return function(*args).txid
    except TransactionError as error:
        txid = str(error).split()[-1]
        _gas_used(txid)
        return txid


def _gas_used(txid: str) -> int:
    """The receipt's gasUsed, read from the node (waits up to a minute for it); a revert fails."""
    for _ in range(600):
        try:
            receipt = web3.eth.get_transaction_receipt(txid)
        except TransactionNotFound:
            time.sleep(0.1)
            continue
        if receipt["status"] != 1:
            raise RuntimeError(f"transaction {txid} reverted")
        return receipt["gasUsed"]
    raise RuntimeError(f"no receipt for {txid}")


def _ga_generation(size: int, rng, fitness) -> int:
    """Gas of evaluating one generation of POPULATION schedules for `size` EVs on chain."""
    base = [int(w) for w in rng.uniform(60_000, 250_000, SLOTS)]
    rates = [3_000 if n % 5 else 43_000 for n in range(size)]
    total = 0
    for _ in range(POPULATION):
        starts = rng.integers(0, SLOTS - 8, size)
        masks = [((1 << 8) - 1) << int(s) for s in starts]
        total += fitness.pflOf.estimate_gas(base, rates, masks)
    return total


def main(output_dir: str = "benchmarks") -> dict:
    rng = np.random.default_rng(3)
    admin, operator, meter, registry, upos, credit, book, windows = _deploy()
    fitness = GaFitness.deploy({"from": admin})
    traders = _traders(max(SIZES), admin, operator, meter, registry, upos, credit, book, windows)
    rows = []
    for size in SIZES:
        adbev_gas, transactions = _adbev_period(size, traders, rng, operator, meter, credit, book)
        ga_gas = _ga_generation(size, rng, fitness)
        rows.append({"evs": size, "adbev_gas_per_period": adbev_gas, "adbev_transactions": transactions,
                     "adbev_gas_per_ev": adbev_gas // size, "ga_generation_gas": ga_gas,
                     "ga_gas_per_ev": ga_gas // size})
        print(f"{size} EVs: AdBEV {adbev_gas} gas in {transactions} tx, GA generation {ga_gas} gas")
    out = Path(output_dir)
    (out / "adbev_gas_vs_peers.json").write_text(json.dumps(rows, indent=2) + "\n")
    (out / "adbev_gas_vs_peers.md").write_text(_markdown(rows))
    _plot(rows, out / "adbev_gas_vs_peers.png")
    return {"rows": rows}


def _markdown(rows: list[dict]) -> str:
    body = table(["EVs", "AdBEV gas per period", "AdBEV transactions", "AdBEV gas per EV", "GA generation gas",
                  "GA gas per EV", "GA generation / AdBEV period"],
                 [[r["evs"], r["adbev_gas_per_period"], r["adbev_transactions"], r["adbev_gas_per_ev"],
                   r["ga_generation_gas"], r["ga_gas_per_ev"],
                   f"{r['ga_generation_gas'] / r['adbev_gas_per_period']:.2f}"] for r in rows])
    return "\n".join([
        "# Seed 003 Fig. 4.6 analogue: gas per period against the number of EVs",
        "",
        "`brownie run scripts/adbev_gas_vs_peers.py main` (Anvil, solc 0.8.28, 200 runs). AdBEV: every transaction of",
        "one half-hour period on the AdBEV book with its battery-window gate (placements, carry limits, the",
        "operator's stepOrders). GA: one generation of 40 individuals, each individual's Ch4 PFL evaluated by",
        "GaFitness.pflOf (a small stateless contract standing in for the GA on chain; the thesis gives none),",
        "eth_estimateGas per individual summed. Set-up per day is not counted. See the script's docstring.",
        "Both grow about linearly with the EVs; one GA generation costs more than AdBEV's whole period at every",
        "size (the thesis's Fig. 4.6 ordering), and a GA needs many generations (the thesis: 1,000) per day.",
        "",
        body,
        "",
        "![gas vs peers](adbev_gas_vs_peers.png)",
        "",
    ])


def _plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    evs = [r["evs"] for r in rows]
    figure, axis = plt.subplots(figsize=(7, 4))
    axis.plot(evs, [r["adbev_gas_per_period"] for r in rows], "o-", label="AdBEV through the book (per period)")
    axis.plot(evs, [r["ga_generation_gas"] for r in rows], "s-", label="one GA generation on chain (40 individuals)")
    axis.set_xlabel("EVs (peers)")
    axis.set_ylabel("gas")
    axis.set_yscale("log")
    axis.legend(fontsize=8)
    axis.set_title("Seed 003: gas against peers (thesis Fig. 4.6 analogue)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
