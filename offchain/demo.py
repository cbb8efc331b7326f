"""`make demo` / `kwx demo [--node ganache]`: a scripted community on an embedded chain (Anvil, or Ganache).

1. Foundation: the suite is deployed (roles granted to the operator, meter and scorer), the operator
   registers three prosumers and two EVs, the admin issues UPOS, the meter attests the prosumers'
   surplus for the next delivery period, the surplus-score worker mints EPOS for that period, and an
   EV pays a prosumer directly.
2. Market: in that delivery period the prosumers post asks in the EnergyOrderBook (one an iceberg),
   the household and the EVs bid, trades print as a table; at gate closure the operator fills what is
   left at the grid tariffs and the rest expires; final balances show nothing was created or lost.

The chain is stopped at the end, also on Ctrl-C or an error.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table
from web3.logs import DISCARD

from offchain import units
from offchain.chain import ChainClient, ParticipantKind, mine_at

PROSUMER, EV = ParticipantKind.PROSUMER, ParticipantKind.EV
#: Test-mnemonic index of the first community member (0-3 act as the roles).
FIRST_MEMBER = 4
#: (name, kind, x m, y m, battery capacity Wh, SoC min Wh, SoC max Wh, attested surplus kWh)
COMMUNITY = (
    ("prosumer-A", PROSUMER, 1_200, 300, 0, 0, 0, 4.2),
    ("prosumer-B", PROSUMER, -800, 1_500, 0, 0, 0, 2.75),
    ("household-C", PROSUMER, 2_500, -1_100, 0, 0, 0, 0.0),
    ("ev-1", EV, -300, -400, 79_500, 15_900, 63_600, 0.0),
    ("ev-2", EV, 600, 2_200, 79_500, 15_900, 63_600, 0.0),
)
UPOS_GRANT = 100.0  #: UPOS issued to every participant
OPERATOR_FLOAT = 50.0  #: UPOS the operator deposits in the book to take leftover supply
PAYMENT_KWH = 1.0
PAYMENT_PRICE_UPOS_PER_KWH = 0.1794  #: (29.49 + 6.4) / 2, seed 000's prosumer->EV price, in UPOS/kWh
#: (participant, side, price UPOS/kWh, quantity kWh, display kWh or None), placed in this order.
ORDERS = (
    ("prosumer-A", "sell", 0.20, 3.0, 1.0),  # an iceberg: 1 kWh tranches of 3 kWh
    ("prosumer-B", "sell", 0.18, 1.75, None),
    ("prosumer-B", "sell", 0.064, 1.0, None),  # accepts the feed-in tariff
    ("household-C", "buy", 0.22, 1.5, None),
    ("ev-1", "buy", 0.19, 2.0, None),  # partly filled; the rest is below the import tariff and expires
    ("ev-2", "buy", 0.30, 4.0, None),  # sweeps the iceberg; above the import tariff, so the grid fills the rest
    ("prosumer-A", "sell", 0.35, 1.2, None),  # too dear for anyone: expires at gate closure
)


@dataclass(frozen=True)
class Member:
    name: str
    kind: ParticipantKind
    client: ChainClient

    @property
    def address(self) -> str:
        return self.client.address


def run_demo(console: Console | None = None, node: str | None = None) -> dict[str, dict[str, float]]:
    """Runs the scenario on local node `node` (anvil or ganache; default $KWX_NODE, else anvil); returns the final
    holdings per member and the operator:
    {name: {"UPOS": wallet + book, "EPOS": .., "credits_kWh": wallet + book, "grid_kWh": ..}}."""
    from offchain.mechanisms import SUITE, WORKERS
    from offchain.scenarios.harness import open_scenario_chain
    from offchain.workers import run_worker

    console = console or Console()
    with tempfile.TemporaryDirectory(prefix="kwx-demo-") as tmp, \
            open_scenario_chain(tmp, accounts=FIRST_MEMBER + len(COMMUNITY), node=node) as chain:
        console.rule("[bold]Kilowatt Exchange demo")
        console.print(f"Embedded {chain.node.display} on {chain.node.rpc_url} (chain id {chain.network.chain_id})")
        w3 = chain.w3
        clients = {"ADMIN": chain.admin, "OPERATOR": chain.operator, "METER": chain.meter}
        manifest = chain.deploy(SUITE)
        console.print(f"Deployed {', '.join(manifest.contracts)} in block {manifest.deploy_block}")
        console.print("Roles: " + ", ".join(f"{role} {address[:10]}…" for role, address in manifest.roles.items()))

        members = [Member(spec[0], spec[1], client)
                   for spec, client in zip(COMMUNITY, chain.participants(FIRST_MEMBER, len(COMMUNITY), "member"))]
        by_name = {m.name: m for m in members}
        member_clients = {m.name: m.client for m in members}

        def contract(name: str, client: ChainClient):
            return client.contract(name, manifest.contracts[name])

        book_view = contract("EnergyOrderBook", clients["ADMIN"])
        period = book_view.functions.currentPeriod().call() + 2
        gas: list[tuple[str, int]] = []

        def send(label: str, client: ChainClient, call) -> Any:
            receipt = client.transact(call)
            gas.append((label, receipt["gasUsed"]))
            return receipt

        registry = contract("ParticipantRegistry", clients["OPERATOR"])
        upos = contract("UPOS", clients["ADMIN"])
        credit = contract("EnergyCredit", clients["METER"])
        for spec, member in zip(COMMUNITY, members):
            _, kind, x, y, capacity, soc_min, soc_max, _ = spec
            send(f"register {member.name}", clients["OPERATOR"], registry.functions.register(member.address, kind, x, y, capacity, soc_min, soc_max))
            send(f"issue {UPOS_GRANT:g} UPOS to {member.name}", clients["ADMIN"], upos.functions.mint(member.address, units.upos_to_base(UPOS_GRANT)))
        send(f"issue {OPERATOR_FLOAT:g} UPOS to the operator", clients["ADMIN"], upos.functions.mint(clients["OPERATOR"].address, units.upos_to_base(OPERATOR_FLOAT)))
        for spec, member in zip(COMMUNITY, members):
            if spec[7] > 0:
                send(f"attest {spec[7]:g} kWh for {member.name}", clients["METER"], credit.functions.attestSurplus(member.address, period, units.kwh_to_wh(spec[7])))

        summary = run_worker(
            WORKERS["surplus-score"],
            rpc_url=chain.node.rpc_url,
            manifest_path=chain.manifest_file,
            state_dir=chain.work_dir / "workers",
            once=True,
            through_period=period,
            account=chain.network.account("SCORER"),
            log_level="WARNING",
        )
        console.print(f"surplus-score worker minted EPOS for period {period}: {summary.accepted} result(s) accepted")

        payer, payee = by_name["ev-1"], by_name["prosumer-A"]
        amount = units.payment_base(units.kwh_to_wh(PAYMENT_KWH), units.price_to_base_per_kwh(PAYMENT_PRICE_UPOS_PER_KWH))
        send(f"{payer.name} pays {payee.name} for {PAYMENT_KWH:g} kWh", member_clients[payer.name], contract("UPOS", member_clients[payer.name]).functions.transfer(payee.address, amount))

        trades = _trade_period(console, w3, manifest.contracts, clients, members, member_clients, period, send, contract)

        holdings = _holdings(manifest.contracts, clients, members, period, contract)
        _print_report(console, members, holdings, gas, period)
        _print_conservation(console, holdings, trades)
    console.print("Chain stopped.")
    return holdings


def _trade_period(console, w3, contracts, clients, members, member_clients, period, send, contract) -> list[dict]:
    """Deposits, the order sequence, gate closure, grid fill and expiry; prints trades and returns them."""
    book_address = contracts["EnergyOrderBook"]
    console.rule(f"[bold]Delivery period {period} in the order book")
    for member in members:
        client = member_clients[member.name]
        grant = units.upos_to_base(UPOS_GRANT / 2)
        send(f"{member.name} approves the book", client, contract("UPOS", client).functions.approve(book_address, grant))
        send(f"{member.name} deposits {UPOS_GRANT / 2:g} UPOS", client, contract("EnergyOrderBook", client).functions.depositUpos(grant))
        surplus = contract("EnergyCredit", client).functions.balanceOf(member.address, period).call()
        if surplus:
            send(f"{member.name} approves credits", client, contract("EnergyCredit", client).functions.setApprovalForAll(book_address, True))
            send(f"{member.name} deposits {units.wh_to_kwh(surplus):g} kWh", client, contract("EnergyOrderBook", client).functions.depositEnergy(period, surplus))
    operator = clients["OPERATOR"]
    float_base = units.upos_to_base(OPERATOR_FLOAT)
    send("operator approves the book", operator, contract("UPOS", operator).functions.approve(book_address, float_base))
    send(f"operator deposits {OPERATOR_FLOAT:g} UPOS", operator, contract("EnergyOrderBook", operator).functions.depositUpos(float_base))

    names = {m.address: m.name for m in members} | {operator.address: "operator (grid)"}
    book_events = contract("EnergyOrderBook", operator).events
    trades: list[dict] = []
    order_ids: list[int] = []
    for name, side, price, kwh, display in ORDERS:
        client = member_clients[name]
        call = contract("EnergyOrderBook", client).functions.placeOrder(
            period, side == "buy", units.price_to_base_per_kwh(price), units.kwh_to_wh(kwh), units.kwh_to_wh(display or kwh)
        )
        kind = f"iceberg {display:g}/{kwh:g} kWh" if display else f"{kwh:g} kWh"
        receipt = send(f"{name} {side}s {kind} at {price:g}", client, call)
        (placed,) = book_events.OrderPlaced().process_receipt(receipt, errors=DISCARD)
        order_ids.append(placed["args"]["orderId"])
        for event in book_events.Trade().process_receipt(receipt, errors=DISCARD):
            trades.append(dict(event["args"]))

    table = Table(title=f"Trades in period {period} (at the resting order's price)")
    for column in ("maker", "taker", "seller", "buyer", "kWh", "UPOS/kWh", "UPOS"):
        table.add_column(column, justify="right" if column in ("kWh", "UPOS/kWh", "UPOS") else "left")
    for t in trades:
        table.add_row(
            f"#{t['makerOrderId']}", f"#{t['takerOrderId']}", names[t["seller"]], names[t["buyer"]],
            f"{units.wh_to_kwh(t['quantityWh']):.3f}", f"{units.base_to_upos(t['price']):.4f}",
            f"{units.base_to_upos(units.payment_base(t['quantityWh'], t['price'])):.4f}",
        )
    console.print(table)

    book = contract("EnergyOrderBook", operator)
    closure = book.functions.gateClosure(period).call()
    mine_at(w3, closure)
    console.print(f"Gate closure of period {period} reached (timestamp {closure}).")
    open_ids = [i for i in order_ids if book.functions.getOrder(i).call()[7] == 0]
    receipt = send(f"operator grid-fills {len(open_ids)} open orders", operator, book.functions.gridFill(open_ids))
    grid = Table(title="Gate closure: grid fallback at the tariffs, the rest expires")
    for column in ("order", "owner", "side", "outcome", "kWh", "UPOS/kWh"):
        grid.add_column(column)
    for event in book_events.GridFilled().process_receipt(receipt, errors=DISCARD):
        a = event["args"]
        owner = book.functions.getOrder(a["orderId"]).call()[0]
        grid.add_row(f"#{a['orderId']}", names[owner], "buy" if a["isBuy"] else "sell", "grid fill",
                     f"{units.wh_to_kwh(a['quantityWh']):.3f}", f"{units.base_to_upos(a['price']):.4f}")
    for event in book_events.OrderExpired().process_receipt(receipt, errors=DISCARD):
        a = event["args"]
        owner, _, is_buy = book.functions.getOrder(a["orderId"]).call()[:3]
        grid.add_row(f"#{a['orderId']}", names[owner], "buy" if is_buy else "sell", "expired, refunded",
                     f"{units.wh_to_kwh(a['refundedWh']):.3f}", "")
    console.print(grid)
    return trades


def _holdings(contracts, clients, members, period, contract) -> dict[str, dict[str, float]]:
    view = clients["ADMIN"]
    upos, epos = contract("UPOS", view), contract("EPOS", view)
    credit, book = contract("EnergyCredit", view), contract("EnergyOrderBook", view)
    holders = [(m.name, m.address) for m in members] + [("operator", clients["OPERATOR"].address)]
    return {
        name: {
            "UPOS": units.base_to_upos(upos.functions.balanceOf(address).call() + book.functions.uposFree(address).call()),
            "EPOS": units.base_to_score(epos.functions.balanceOf(address).call()),
            "credits_kWh": units.wh_to_kwh(
                credit.functions.balanceOf(address, period).call() + book.functions.energyFree(address, period).call()
            ),
            "grid_kWh": units.wh_to_kwh(book.functions.gridSuppliedWh(address, period).call()),
        }
        for name, address in holders
    }


def _print_report(console: Console, members: list[Member], holdings: dict, gas: list[tuple[str, int]], period: int) -> None:
    table = Table(title=f"Holdings after delivery period {period} (wallet + free balance in the book)")
    for column in ("participant", "kind", "UPOS", "EPOS", "credits (kWh)", "from grid (kWh)"):
        table.add_column(column, justify="left" if column in ("participant", "kind") else "right")
    kinds = {m.name: "prosumer" if m.kind == PROSUMER else "EV" for m in members} | {"operator": "grid"}
    for name, h in holdings.items():
        table.add_row(name, kinds[name], f"{h['UPOS']:.4f}", f"{h['EPOS']:.4f}", f"{h['credits_kWh']:.3f}", f"{h['grid_kWh']:.3f}")
    console.print(table)
    gas_table = Table(title=f"Transactions ({len(gas)}, {sum(g for _, g in gas):,} gas)")
    gas_table.add_column("step")
    gas_table.add_column("gas used", justify="right")
    for step, used in gas:
        gas_table.add_row(step, f"{used:,}")
    console.print(gas_table)


def _print_conservation(console: Console, holdings: dict, trades: list[dict]) -> None:
    issued_upos = UPOS_GRANT * len(COMMUNITY) + OPERATOR_FLOAT
    held_upos = sum(h["UPOS"] for h in holdings.values())
    attested_kwh = sum(spec[7] for spec in COMMUNITY)
    held_kwh = sum(h["credits_kWh"] for h in holdings.values())
    traded = units.wh_to_kwh(sum(t["quantityWh"] for t in trades))
    ok = abs(issued_upos - held_upos) < 1e-9 and abs(attested_kwh - held_kwh) < 1e-9
    console.print(
        f"{traded:.3f} kWh traded peer to peer. UPOS issued {issued_upos:.4f}, held {held_upos:.4f}; "
        f"credits attested {attested_kwh:.3f} kWh, held {held_kwh:.3f} kWh: "
        + ("[green]nothing created or lost[/green]" if ok else "[red]MISMATCH[/red]")
    )
