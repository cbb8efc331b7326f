"""Seed 003 Ch5 through the contracts on an embedded chain: a window of PEBT rounds, each committed, revealed,
confirmed and finalised in BenefitConsensus by a proposer worker and N validator workers (each its own key,
each computing the blocks itself), the winning block's trades settled in UPOS by BenefitSettlement; every
figure compared with the Python run of the same window (plan.run_pebt).

`kwx reproduce seed003-pob --chain` writes `seed003-pob-chain.md` (checks, gas per round and per validator);
`benchmarks/bench_pob_gas.py` writes the gas figures to benchmarks/pob_gas.{md,json}.
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from offchain.algorithms.pebt import PebtSolver
from offchain.chain import replace_group, role_id
from offchain.data.seed003 import ev_population
from offchain.data.seed003_pob import CH5, residential_load_kw
from offchain.mechanisms import SUITE
from offchain.scenarios.harness import gas_by, open_scenario_chain
from offchain.scenarios.markdown import table
from offchain.units import payment_base, upos_to_base

from .plan import PebtTerms, RoundBlock, ch5_orders, round_blocks, run_pebt
from .terms import PobTerms, pob_steps
from .workers import ProposerWorker, ValidatorWorker

DEPOSIT_UPOS = 1_000_000
FIRST_ACCOUNT = 10  #: peers and traders use the test mnemonic's accounts from here (0-3 are the roles)
TRADERS = 4  #: accounts the EVs trade from (EV i from trader i % TRADERS)


@dataclass(frozen=True)
class ChainRound:
    """One round as the chain ended it: winner hash (None: no block), its benefit (0 if none), the chain score
    after it, the revealed window (empty if none), confirmations of the winner, the proposer's failure reason
    (None if it proposed), whether its trades were settled."""

    round: int
    winner: bytes | None
    benefit: int
    score: int
    window: list[int]
    confirmations: int
    failed: str | None
    settled: bool


@dataclass(frozen=True)
class ChainPob:
    """The chain run: its rounds, the Python run's blocks (the reference), the traders' UPOS change on
    BenefitSettlement (base units; + received) and what the Python trades make it, gas per round (rounds
    only), gas per peer per round, (calls, gas) per contract function in the rounds, the chain score."""

    rounds: list[ChainRound]
    reference: list[RoundBlock]
    balance_change: dict[str, int]
    expected_change: dict[str, int]
    gas_per_round: list[int]
    validator_gas: dict[str, list[int]]
    function_gas: dict[str, tuple[int, int]]
    chain_score: int

    def checks(self) -> list[tuple[str, bool]]:
        """(check, equal) for every figure the chain holds beside the Python run's."""
        checks = []
        for got, ref in zip(self.rounds, self.reference, strict=True):
            if ref.failed is not None:
                checks.append((f"round {got.round}: failed in Python ({ref.failed}); no block on chain",
                               got.winner is None and got.failed == ref.failed))
            else:
                checks.append((f"round {got.round}: winner's benefit and window equal the Python run's",
                               got.winner is not None and got.benefit == ref.benefit and got.window == ref.net_load_w
                               and got.settled))
        checks.append(("chain score = sum of the Python benefits",
                       self.chain_score == sum(b.benefit for b in self.reference if b.failed is None)))
        checks.append(("every trader's UPOS change equals the Python trades'", self.balance_change == self.expected_change))
        return checks


def expected_changes(blocks: list[RoundBlock], accounts: list[str]) -> dict[str, int]:
    """{account: UPOS base units received - paid} by the trades of every round that has a block."""
    change = dict.fromkeys(accounts, 0)
    for block in blocks:
        if block.failed is None:
            for buyer, seller, wh, price in block.trades:
                amount = payment_base(wh, price)
                change[buyer] -= amount
                change[seller] += amount
    return change


def run_chain(work_dir: Path, rounds: int = 6, evs: int = 20, validators: int = 4, seed: int = 5,
              solver: Callable[[PebtTerms], PebtSolver] | None = None, terms: PobTerms = PobTerms()) -> ChainPob:
    """The first `rounds` PEBT rounds of the Ch5 day for `evs` EVs (seed `seed`) through BenefitConsensus and
    BenefitSettlement with one proposer and `validators` validators (>= 4: a block needs more than N_p/2 + 1 of
    N_p = validators + 1 peers). `solver(pebt_terms)` makes each peer's solver (default PebtSolver)."""
    if not 1 <= rounds <= 288 or not 1 <= evs <= 1_000 or not 4 <= validators <= 50:
        raise ValueError(f"rounds must be 1..288, evs 1..1000 and validators 4..50, got {rounds}, {evs}, {validators}")
    pebt = PebtTerms(round_minutes=terms.round_seconds // 60)
    make_solver = solver or (lambda t: PebtSolver(window=t.max_wait + 1, round_h=t.round_h))
    orders = ch5_orders(ev_population(CH5, omega=evs, seed=seed), pebt, seed=seed,
                        slots=-(-rounds // pebt.rounds_per_slot))
    base = residential_load_kw(60 // pebt.round_minutes)[:rounds]

    def blocks_of(accounts: list[str]) -> list[RoundBlock]:  # what one peer computes on its own solver
        return round_blocks(orders, run_pebt(orders, base, pebt, make_solver(pebt)), pebt, accounts)

    with open_scenario_chain(work_dir, accounts=FIRST_ACCOUNT + 1 + validators + TRADERS) as chain:
        chain.deploy(replace_group(SUITE, pob_steps(terms)))
        peers = chain.participants(FIRST_ACCOUNT, 1 + validators, label="peer")
        traders = chain.participants(FIRST_ACCOUNT + 1 + validators, TRADERS, label="trader")
        accounts = [t.address for t in traders]
        settlement = chain.manifest.address("BenefitSettlement")
        for p in peers:
            chain.ledger.label(p.address, "proposer" if p is peers[0] else f"validator {peers.index(p)}")
        chain.send_all((chain.admin, "ParticipantRegistry", "grantRole", (role_id("VALIDATOR"), p.address))
                       for p in peers)
        chain.send_all((p, "BenefitConsensus", "join", ()) for p in peers)
        chain.send_all((chain.admin, "UPOS", "mint", (a, upos_to_base(DEPOSIT_UPOS))) for a in accounts)
        chain.send_all((t, "UPOS", "approve", (settlement, upos_to_base(DEPOSIT_UPOS))) for t in traders)
        chain.send_all((t, "BenefitSettlement", "deposit", (upos_to_base(DEPOSIT_UPOS),)) for t in traders)
        first = chain.call("BenefitConsensus", "currentRound") + 1
        start_of = lambda r: terms.genesis_time + (first + r) * terms.round_seconds  # noqa: E731
        proposer = ProposerWorker(peers[0], chain.contract("BenefitConsensus", peers[0]),
                                  chain.contract("BenefitSettlement", peers[0]), blocks_of(accounts), first)
        checkers = [ValidatorWorker(v, chain.contract("BenefitConsensus", v), blocks_of(accounts), first,
                                    chain.w3.eth.block_number) for v in peers[1:]]
        chain.advance_to(start_of(0))
        results = []
        for r in range(rounds):
            chain.ledger.mark("round", r)
            proposer.commit(r)
            chain.advance_to(start_of(r) + terms.commit_seconds)
            proposer.reveal(r)
            chain.advance_to(start_of(r) + terms.reveal_end_seconds)
            for checker in checkers:
                checker.confirm(r)
            chain.advance_to(start_of(r + 1))
            chain.send(peers[0], "BenefitConsensus", "finalise", first + r)
            settled = proposer.settle(r)
            _, winner, lam, score = chain.call("BenefitConsensus", "outcomeOf", first + r)
            winner = bytes(winner) if int.from_bytes(bytes(winner), "big") else None
            confirmations = chain.call("BenefitConsensus", "blockOf", first + r, winner)[1] if winner else 0
            window = proposer.blocks[r].net_load_w if winner else []
            results.append(ChainRound(r, winner, lam, score, window, confirmations, proposer.failures.get(r), settled))
        records = [x for x in chain.ledger.records() if x.phase == "round"]
        per_round = [sum(x.gas for x in records if x.slot == r) for r in range(rounds)]
        validator_gas = {f"validator {i + 1}": [sum(x.gas for x in records if x.slot == r and x.account == v.address)
                                                for r in range(rounds)] for i, v in enumerate(peers[1:])}
        validator_gas["proposer"] = [gas_by((x for x in records if x.slot == r), "sender").get("proposer", 0)
                                     for r in range(rounds)]
        calls = Counter(x.function for x in records)
        function_gas = {name: (count, gas_by(records, "function")[name]) for name, count in calls.items()}
        change = {a: chain.call("BenefitSettlement", "balanceOf", a) - upos_to_base(DEPOSIT_UPOS) for a in accounts}
        reference = blocks_of(accounts)
        return ChainPob(results, reference, change, expected_changes(reference, accounts), per_round, validator_gas,
                        function_gas, chain.call("BenefitConsensus", "chainScore"))


def reproduce_chain(out: Path, rounds: int = 6, evs: int = 20, validators: int = 4, seed: int = 5) -> tuple[Path, ChainPob]:
    """:func:`run_chain` in a temporary folder; writes ``seed003-pob-chain.md`` (checks, gas) in `out`."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="kwx-seed003-pob-") as work:
        run = run_chain(Path(work), rounds, evs, validators, seed)
    seconds = time.perf_counter() - started
    checks = run.checks()
    report = out / "seed003-pob-chain.md"
    report.write_text("\n".join([
        "# Seed 003 Ch5: PEBT rounds through BenefitConsensus and BenefitSettlement", "",
        f"{rounds} rounds of the Ch5 day ({evs} EVs, seed {seed}); one proposer and {validators} validators, each "
        "its own key, each computing the blocks from the public orders and load itself; the proposer commits, "
        "reveals and settles, the validators confirm the block equal to theirs. "
        f"{sum(ok for _, ok in checks)} of {len(checks)} checks equal; {seconds:.1f} s.", "",
        table(["check", "equal"], [(name, "yes" if ok else "NO") for name, ok in checks]), "",
        table(["round", "winner", "benefit (int)", "confirmations", "gas (all peers)", "failed"],
              [(c.round, c.winner.hex()[:12] if c.winner else "-", c.benefit, c.confirmations, run.gas_per_round[c.round],
                c.failed or "") for c in run.rounds]), "",
        table(["peer", "mean gas per round", "max gas per round"],
              [(name, float(np.mean(g)), max(g)) for name, g in run.validator_gas.items()]), ""]))
    return report, run
