"""Gas of one seed 001 consensus slot: `brownie run scripts/consensus_gas.py --network dev-h6`.

Deploys a fresh foundation (registry, UPOS, EPOS) and the consensus contracts, registers n = 10
prosumers, and runs one slot of the 10-prosumer instance of offchain.mechanisms.coalition_market.model through every
on-chain step, twice: a slot whose first drawn validator mines, and a slot whose first two validators
fail (a missed window, then a block reported invalid) before the third mines. Prints each step's total
gasUsed (the receipt figure: 21,000 intrinsic gas, calldata, execution, net of refunds), the total per
slot and per participant. Staking and the deposits that fund settlements are listed apart from the
per-slot steps (minting the slot's EPOS scores is a per-slot step).

The slot is driven by tests/contracts/consensus/consensus_support.py, the same code the consensus tests
use; `main()` returns the figures as a dict for a benchmark writer."""

from __future__ import annotations

import sys
from pathlib import Path

from brownie import EPOS, UPOS, ParticipantRegistry, accounts

from offchain.chain.roles import role_id

CONTRACT_TESTS = Path(__file__).resolve().parents[1] / "tests" / "contracts"
sys.path[:0] = [str(CONTRACT_TESTS / "consensus"), str(CONTRACT_TESTS)]  # consensus_support, contract_helpers

from consensus_support import (  # noqa: E402  (after the path insert)
    SlotDriver,
    by_address,
    deploy_suite,
    member_accounts,
    plan_slot,
    secret_for,
    xor_seed,
)

PARTICIPANTS = 10
ONE_TIME_STEPS = ("stake", "deposit")  #: staking once; deposits fund settlements as often as needed
DEPOSIT = 10**21


def run_slot(suite, members, scorer, operator, slot: int, failures: int, staked: bool) -> dict[str, int]:
    """One slot with `failures` failing validators (0, 1 or 2: a miss, then an invalid block); the
    operator is the distribution centre and reports the invalid block. `staked`: whether the members
    staked in an earlier slot (a pool stays locked for a while after its validator mined, so they stake
    once). Returns the gas per step."""
    secrets = {a: secret_for(f"gas:{slot}", a) for a in members}
    seed = xor_seed(secrets)
    failing: list = []
    for attempt in range(failures):
        failing.append(plan_slot(slot, members, seed, failing=failing).validator_account(attempt))
    plan = plan_slot(slot, members, seed, failing=failing)
    view, index = plan.outcome.chain, {a: i for i, a in enumerate(members)}

    driver = SlotDriver(suite, slot)
    holders = [a for a in members if view.member_scores_base[index[a]] > 0]
    driver.mint_scores(scorer, holders, [view.member_scores_base[index[a]] for a in holders])
    if not staked:  # the scores of the first slot are staked once; later scores stay in the wallets
        for holder in holders:
            driver.stake(holder, holder, view.member_scores_base[index[holder]])
    for account in [*members, operator]:
        driver.deposit(account, DEPOSIT)

    driver.submit(scorer, plan.entries, plan.trades_hash)
    for account in members:
        if suite.escrow.feeOf(slot, account) > 0:
            driver.pay_fee(account)
    for account, secret in secrets.items():
        driver.commit(account, secret)
    driver.reveal_all(secrets)
    driver.draw(members[0])
    for attempt, validator in enumerate(failing):
        if attempt == 0:
            driver.report_missed(members[0])
        else:
            driver.mine(validator)
            driver.report_invalid(operator)
    driver.mine(plan.validator_account(len(failing)))
    driver.finalise(members[0])
    driver.settle(members[0], plan.trades)
    winners = plan.winner_members()
    driver.distribute(scorer, winners, [plan.outcome.rewards_base[index[a]] for a in winners])
    return driver.gas()


def report(title: str, gas: dict[str, int]) -> dict:
    per_slot = {k: v for k, v in gas.items() if k not in ONE_TIME_STEPS}
    once = {k: v for k, v in gas.items() if k in ONE_TIME_STEPS}
    total = sum(per_slot.values())
    print(f"\n{title} (n = {PARTICIPANTS})")
    for step, used in per_slot.items():
        print(f"  {step:<20} {used:>10,}")
    print(f"  {'per slot':<20} {total:>10,}   per participant {total // PARTICIPANTS:,}")
    print("  one-time: " + ", ".join(f"{k} {v:,}" for k, v in once.items()))
    return {"steps": per_slot, "one_time": once, "per_slot": total, "per_participant": total // PARTICIPANTS}


def main() -> dict:
    admin, operator, scorer, treasury = accounts[:4]
    registry = ParticipantRegistry.deploy(admin, {"from": admin})
    registry.grantRole(role_id("OPERATOR"), operator, {"from": admin})
    registry.grantRole(role_id("SCORER"), scorer, {"from": admin})
    upos = UPOS.deploy(registry, {"from": admin})
    epos = EPOS.deploy(registry, {"from": admin})
    suite = deploy_suite(registry, upos, epos, admin, operator, treasury)
    members = by_address(
        member_accounts(accounts, PARTICIPANTS, admin, operator, registry, upos, approve=(suite.miners, suite.escrow))
    )
    upos.mint(operator, 10**24, {"from": admin})
    upos.approve(suite.escrow, 2**256 - 1, {"from": operator})

    first = run_slot(suite, members, scorer, operator, 1, 0, staked=False)
    second = run_slot(suite, members, scorer, operator, 2, 2, staked=True)
    return {
        "mined_first_draw": report("slot mined by the first drawn validator", first),
        "two_penalties": report("slot after a missed window and an invalid block", second),
    }
