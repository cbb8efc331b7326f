"""`make demo` / `kwx demo`: a scripted community on an embedded Anvil chain.

An operator registers three prosumers and two EVs, the admin issues UPOS, the meter attests surplus
energy credits for one delivery period, the surplus-score worker mints EPOS for that period, an EV
pays a prosumer, and a report shows every participant's balances. The chain is stopped at the end,
also on Ctrl-C or an error.
"""

from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from offchain import units
from offchain.chain import (
    ANVIL_TEST_MNEMONIC,
    ChainClient,
    EmbeddedAnvil,
    accounts_from_mnemonic,
    connect,
    deploy_suite,
    get_network,
    manifest_path,
)

PROSUMER, EV = 1, 2
DELIVERY_PERIOD = 1
#: (name, kind, x m, y m, battery capacity Wh, SoC min Wh, SoC max Wh, attested surplus kWh)
COMMUNITY = (
    ("prosumer-A", PROSUMER, 1_200, 300, 0, 0, 0, 4.2),
    ("prosumer-B", PROSUMER, -800, 1_500, 0, 0, 0, 2.75),
    ("prosumer-C", PROSUMER, 2_500, -1_100, 0, 0, 0, 0.9),
    ("ev-1", EV, -300, -400, 79_500, 15_900, 63_600, 0.0),
    ("ev-2", EV, 600, 2_200, 79_500, 15_900, 63_600, 0.0),
)
UPOS_GRANT = 100.0  #: UPOS issued to every participant
PAYMENT_KWH = 3.0
PAYMENT_PRICE_UPOS_PER_KWH = 0.1794  #: (29.49 + 6.4) / 2 p/kWh, read as UPOS/kWh


@dataclass(frozen=True)
class Member:
    name: str
    kind: int
    address: str


def run_demo(console: Console | None = None) -> dict[str, dict[str, float]]:
    """Runs the scenario; returns the final balances {member: {"UPOS": .., "EPOS": .., "credits_kWh": ..}}."""
    from offchain.workers import run_worker

    console = console or Console()
    network = get_network("local")
    accounts = accounts_from_mnemonic(ANVIL_TEST_MNEMONIC, 4 + len(COMMUNITY))
    admin, operator, meter = accounts[0], accounts[1], accounts[2]
    with EmbeddedAnvil(chain_id=network.chain_id) as node, tempfile.TemporaryDirectory(prefix="kwx-demo-") as tmp:
        console.rule("[bold]Kilowatt Exchange demo")
        console.print(f"Embedded Anvil on {node.rpc_url} (chain id {network.chain_id})")
        w3 = connect(node.rpc_url)
        as_admin, as_operator, as_meter = (ChainClient(w3, a) for a in (admin, operator, meter))
        demo_network = dataclasses.replace(network, rpc_url=node.rpc_url)
        manifest = deploy_suite(as_admin, demo_network, manifest_dir=Path(tmp))
        console.print(f"Deployed {', '.join(manifest.contracts)} in block {manifest.deploy_block}")
        console.print("Roles: " + ", ".join(f"{role} {address}" for role, address in manifest.roles.items()))

        registry = as_operator.contract("ParticipantRegistry", manifest.contracts["ParticipantRegistry"])
        upos = as_admin.contract("UPOS", manifest.contracts["UPOS"])
        epos = as_admin.contract("EPOS", manifest.contracts["EPOS"])
        credit = as_meter.contract("EnergyCredit", manifest.contracts["EnergyCredit"])

        members = [Member(spec[0], spec[1], acct.address) for spec, acct in zip(COMMUNITY, accounts[4:])]
        gas: list[tuple[str, int]] = []
        for spec, member in zip(COMMUNITY, members):
            _, kind, x, y, capacity, soc_min, soc_max, _surplus = spec
            receipt = as_operator.transact(registry.functions.register(member.address, kind, x, y, capacity, soc_min, soc_max))
            gas.append((f"register {member.name}", receipt["gasUsed"]))
            receipt = as_admin.transact(upos.functions.mint(member.address, units.upos_to_base(UPOS_GRANT)))
            gas.append((f"issue {UPOS_GRANT:g} UPOS to {member.name}", receipt["gasUsed"]))
        for spec, member in zip(COMMUNITY, members):
            surplus_kwh = spec[7]
            if surplus_kwh > 0:
                receipt = as_meter.transact(
                    credit.functions.attestSurplus(member.address, DELIVERY_PERIOD, units.kwh_to_wh(surplus_kwh))
                )
                gas.append((f"attest {surplus_kwh:g} kWh for {member.name}", receipt["gasUsed"]))

        summary = run_worker(
            "surplus-score",
            rpc_url=node.rpc_url,
            manifest_path=manifest_path(demo_network, tmp),
            account=demo_network.account("SCORER"),
            log_level="WARNING",
            state_dir=Path(tmp) / "workers",
            once=True,
            through_period=DELIVERY_PERIOD,
        )
        console.print(f"surplus-score worker: {summary}")

        payer, payee = members[3], members[0]
        payer_client = ChainClient(w3, accounts[4 + 3])
        amount = units.payment_base(units.kwh_to_wh(PAYMENT_KWH), units.price_to_base_per_kwh(PAYMENT_PRICE_UPOS_PER_KWH))
        receipt = payer_client.transact(payer_client.contract("UPOS", upos.address).functions.transfer(payee.address, amount))
        gas.append((f"{payer.name} pays {payee.name} for {PAYMENT_KWH:g} kWh", receipt["gasUsed"]))

        balances = {
            m.name: {
                "UPOS": units.base_to_upos(upos.functions.balanceOf(m.address).call()),
                "EPOS": units.base_to_score(epos.functions.balanceOf(m.address).call()),
                "credits_kWh": units.wh_to_kwh(credit.functions.balanceOf(m.address, DELIVERY_PERIOD).call()),
            }
            for m in members
        }
        _print_report(console, members, balances, gas)
        issued = UPOS_GRANT * len(members)
        total = sum(b["UPOS"] for b in balances.values())
        console.print(f"UPOS issued {issued:.4f}, held {total:.4f}: {'conserved' if abs(issued - total) < 1e-9 else 'MISMATCH'}")
    console.print("Chain stopped.")
    return balances


def _print_report(console: Console, members: list[Member], balances: dict, gas: list[tuple[str, int]]) -> None:
    table = Table(title=f"Participants after delivery period {DELIVERY_PERIOD}")
    for column in ("participant", "kind", "address", "UPOS", "EPOS", "credits (kWh)"):
        table.add_column(column, justify="right" if column in ("UPOS", "EPOS", "credits (kWh)") else "left")
    for m in members:
        b = balances[m.name]
        kind = "prosumer" if m.kind == PROSUMER else "EV"
        table.add_row(m.name, kind, m.address[:10] + "…", f"{b['UPOS']:.4f}", f"{b['EPOS']:.4f}", f"{b['credits_kWh']:.3f}")
    console.print(table)
    gas_table = Table(title="Transactions")
    gas_table.add_column("step")
    gas_table.add_column("gas used", justify="right")
    for step, used in gas:
        gas_table.add_row(step, f"{used:,}")
    console.print(gas_table)
