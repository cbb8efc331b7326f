"""Gas of the fog EMS contracts (seed 000) per period (not a test: prints figures).

    python tests/contracts/mechanisms/fog_ems/gas_figures.py [--network dev-h7] [--json out.json]

Deploys a fresh foundation and the fog EMS contracts on the given brownie network, registers
prosumers and EVs (the paper's battery window, random opening energy, every EV verified by one warm-up
bid period) and runs periods of P prosumers x E EVs with random bids, each matched greedily and, in a
separate period with the same bids, by a Hungarian assignment with its dual certificate. Figures are
receipt gasUsed (21,000 intrinsic + calldata + execution, net of refunds):

- every bid, the match, the exchange log (random 10-s nets of the matched prosumers, moves from
  battery.exchange_wh) and the grid settlement of every prosumer: the gas of one whole period;
- the certificate check alone: the least gas with which an eth_call of the submission reaches the
  DualGap revert (everything checked) minus the least gas that reaches PotentialCountMismatch (bids
  loaded, pairs checked, potentials not yet read), i.e. the O(P x E) dual-feasibility loop and the
  potential sums.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[4]
SHAPES = ((5, 1), (5, 2), (5, 5), (50, 20))  # (prosumers, EVs): the paper's 1, 2, 5 shared EVs and a larger grid
PERIOD_SECONDS, BIDDING_SECONDS = 3_600, 1_800  # long windows: wall time of the bids never matters
DEPOSIT = 10**24


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", default="dev-h7")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    from brownie import network, project
    from brownie._config import CONFIG

    kwx = project.load(ROOT)
    kwx.load_config()
    network.connect(args.network)
    CONFIG.argv["silent"] = True
    import sys

    sys.path[:0] = [str(Path(__file__).parents[2])]  # contract_helpers
    from contract_helpers import wait_for_receipts_before_confirming

    wait_for_receipts_before_confirming()
    try:
        figures = run(kwx)
    finally:
        network.disconnect()
    print(markdown(figures))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


def run(kwx) -> dict:
    from brownie import accounts, chain, web3

    from offchain.algorithms.battery import BatterySpec, exchange_wh
    from offchain.algorithms.matching import certified_assignment
    from offchain.chain.abi import ParticipantKind
    from offchain.chain.roles import role_id
    from offchain.mechanisms.fog_ems.terms import FogEmsTerms

    spec = BatterySpec()
    admin, operator, meter, scorer = accounts[0], accounts[1], accounts[2], accounts[3]
    registry = kwx.ParticipantRegistry.deploy(admin, {"from": admin})
    for name, holder in (("OPERATOR", operator), ("METER", meter), ("SCORER", scorer)):
        registry.grantRole(role_id(name), holder, {"from": admin})
    upos = kwx.UPOS.deploy(registry, {"from": admin})
    exchange = kwx.EVExchange.deploy(registry, upos, 6, FogEmsTerms().tariffs_struct, {"from": admin})
    config = (0, PERIOD_SECONDS, BIDDING_SECONDS, 0, 1, False)
    matching = kwx.PeriodMatching.deploy(registry, exchange, config, {"from": admin})
    registry.grantRole(role_id("MARKET"), matching, {"from": admin})
    figures: dict = {"deploy": {"EVExchange": exchange.tx.gas_used, "PeriodMatching": matching.tx.gas_used}}

    rng = np.random.default_rng(0)
    max_p, max_e = max(p for p, _ in SHAPES), max(e for _, e in SHAPES)

    def actor(kind: ParticipantKind):
        account = accounts.add()
        admin.transfer(account, "1 ether")
        if kind == ParticipantKind.PROSUMER:
            registry.register(account, kind, 0, 0, 0, 0, 0, {"from": operator})
        else:
            registry.register(account, kind, 0, 0, spec.capacity_wh, spec.lower_wh, spec.upper_wh, {"from": operator})
            energy = int(rng.integers(spec.lower_wh, spec.upper_wh + 1))
            exchange.openBattery(account, energy, {"from": meter})
        upos.mint(account, DEPOSIT, {"from": admin})
        upos.approve(exchange, DEPOSIT, {"from": account})
        exchange.deposit(DEPOSIT, {"from": account})
        return account

    prosumers = [actor(ParticipantKind.PROSUMER) for _ in range(max_p)]
    evs = [actor(ParticipantKind.EV) for _ in range(max_e)]
    upos.mint(operator, DEPOSIT, {"from": admin})
    upos.approve(exchange, DEPOSIT, {"from": operator})
    exchange.deposit(DEPOSIT, {"from": operator})

    def warp(timestamp: int) -> None:
        chain.mine()
        now = web3.eth.get_block("latest").timestamp
        if now < timestamp:
            chain.sleep(timestamp - now)
            chain.mine()

    def fresh_period() -> int:
        chain.mine()
        period = web3.eth.get_block("latest").timestamp // PERIOD_SECONDS + 1
        warp(matching.biddingOpensAt(period))
        return period

    warm_up = fresh_period()
    for ev in evs:
        matching.bidEV(warm_up, 0, 0, {"from": ev})

    # Each shape and method runs twice; the second run is reported: the steady state, in which every
    # EV has stored before (its first store writes its store record once) and every balance is warm.
    for n, m, method in [(n, m, method) for n, m in SHAPES for method in ("greedy", "certified") for _ in range(2)]:
        nets = rng.integers(-9_000, 9_001, n)
        steps = rng.integers(-2_500, 2_501, (n, 6))
        period = fresh_period()
        bid_gas = []
        for i in range(n):
            bid_gas.append(matching.bidProsumer(period, int(nets[i]), {"from": prosumers[i]}).gas_used)
        for j in range(m):
            available, capacity = exchange.headroom(evs[j])
            bid_gas.append(matching.bidEV(period, available, capacity, {"from": evs[j]}).gas_used)
        warp(matching.biddingClosesAt(period))
        row: dict = {
            "bids": sum(bid_gas),
            "bid_prosumer_mean": int(np.mean(bid_gas[:n])),
            "bid_ev_mean": int(np.mean(bid_gas[n:])),
        }
        if method == "greedy":
            tx = matching.matchGreedy(period, {"from": scorer})
        else:
            c = certified_assignment(np.array(matching.benefitMatrix(period), dtype=np.int64))
            pairs = (c.assignment.prosumers.tolist(), c.assignment.evs.tolist())
            u, v = c.u.tolist(), c.v.tolist()
            row["certificate_check"] = check_cost(web3, matching, scorer, period, pairs, u, v)
            tx = matching.submitAssignment(period, *pairs, u, v, {"from": scorer})
        row["match"] = tx.gas_used
        row["pairs"] = tx.events["PeriodMatched"]["matches"]
        warp(matching.biddingOpensAt(period + 1))
        _, _, matches = exchange.periodMatches(period)
        index = {p.address: i for i, p in enumerate(prosumers)}
        energy = {e: exchange.battery(e)[0] for _, e, _ in matches}
        moved, traded = [], np.zeros((n, 6), dtype=np.int64)
        for s in range(6):
            for prosumer, ev, may_sell in matches:
                x = exchange_wh(int(steps[index[prosumer], s]), energy[ev], spec, may_sell)
                energy[ev] += x
                traded[index[prosumer], s] = x
                moved.append(x)
        log = exchange.logExchange(period, moved, {"from": meter})
        row["log"], row["steps_moved"] = log.gas_used, sum(1 for x in moved if x)
        residual = steps - traded
        imports = np.where(residual < 0, -residual, 0).sum(axis=1).tolist()
        exports = np.where(residual > 0, residual, 0).sum(axis=1).tolist()
        grid = exchange.settleGrid(period, prosumers[:n], imports, exports, {"from": operator})
        row["grid"] = grid.gas_used
        row["period_total"] = row["bids"] + row["match"] + row["log"] + row["grid"]
        row["transactions"] = n + m + 3
        figures[f"{n}x{m} {method}"] = row
    return figures


def check_cost(web3, matching, scorer, period, pairs, u, v) -> int:
    """Least eth_call gas reaching DualGap (full check) minus least gas reaching PotentialCountMismatch."""
    from eth_utils import function_signature_to_4byte_selector as selector

    def least_gas(data: str, error: str) -> int:
        want = "0x" + selector(error).hex()
        low, high = 21_000, 30_000_000
        while high - low > 1:
            mid = (low + high) // 2
            try:
                web3.eth.call({"from": scorer.address, "to": matching.address, "data": data, "gas": mid})
                raise AssertionError("the tampered submission must revert")
            except AssertionError:
                raise
            except Exception as exc:  # noqa: BLE001 - anvil reports out-of-gas and reverts alike
                reached = want[2:] in str(getattr(exc, "data", "")) or want[2:] in str(exc)
            low, high = (low, mid) if reached else (mid, high)
        return high

    gap_u = [u[0] + 1, *u[1:]]
    full = least_gas(matching.submitAssignment.encode_input(period, *pairs, gap_u, v), "DualGap(uint256,uint256)")
    early = least_gas(matching.submitAssignment.encode_input(period, *pairs, u[:-1], v),
                      "PotentialCountMismatch(uint256,uint256,uint256,uint256)")  # fmt: skip
    return full - early


def markdown(figures: dict) -> str:
    lines = [
        "| period | pairs | bids (all) | bid prosumer / EV (mean) | match | certificate check"
        " | exchange log (steps moved) | grid | total per period | txs |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key, row in figures.items():
        if key == "deploy":
            continue
        lines.append(
            f"| {key} | {row['pairs']} | {row['bids']:,} | {row['bid_prosumer_mean']:,} / {row['bid_ev_mean']:,} | "
            f"{row['match']:,} | {row.get('certificate_check', 0):,} | {row['log']:,} ({row['steps_moved']}) | "
            f"{row['grid']:,} | {row['period_total']:,} | {row['transactions']} |"
        )
    deploy = figures["deploy"]
    lines.append(f"\nDeployment: EVExchange {deploy['EVExchange']:,}, PeriodMatching {deploy['PeriodMatching']:,} gas.")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
