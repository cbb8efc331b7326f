"""PEBT rounds through BenefitConsensus and BenefitSettlement on an embedded chain (a small window): a proposer
and four validators, each with its own key and solver; every figure equals the Python run, and a round the
solver fails is marked failed with its reason while the next round proceeds."""

from offchain.algorithms.pebt import PebtSolver, RoundFailure
from offchain.mechanisms.proof_of_benefit.chain_run import run_chain

FAILING_ROUND = 1


class FailsOnce(PebtSolver):
    """A solver that fails the FAILING_ROUND-th round it is asked to solve (every peer's, like a round whose
    orders no solver can schedule)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.calls = 0

    def solve(self, orders, base_kw, previous_kw):
        self.calls += 1
        if self.calls == FAILING_ROUND + 1:
            raise RoundFailure("solver failed: injected")
        return super().solve(orders, base_kw, previous_kw)


def test_rounds_on_chain_equal_the_python_run_and_a_failed_round_is_skipped(tmp_path):
    run = run_chain(tmp_path, rounds=3, evs=12, validators=4, seed=5,
                    solver=lambda t: FailsOnce(window=t.max_wait + 1, round_h=t.round_h))
    failures = [name for name, ok in run.checks() if not ok]
    assert not failures
    failed, before, after = run.rounds[FAILING_ROUND], run.rounds[FAILING_ROUND - 1], run.rounds[FAILING_ROUND + 1]
    assert failed.winner is None and failed.failed == "solver failed: injected" and not failed.settled
    for ok in (before, after):
        assert ok.winner is not None and ok.confirmations == 4 and ok.settled and ok.benefit > 0
    assert run.chain_score == before.benefit + after.benefit
    assert any(block.trades for block in run.reference)  # the settled rounds moved UPOS
    assert sum(run.balance_change.values()) == 0 and any(run.balance_change.values())
    assert all(g[FAILING_ROUND] == 0 for name, g in run.validator_gas.items() if name != "proposer")
    assert all(g[FAILING_ROUND + 1] > 0 for g in run.validator_gas.values())
