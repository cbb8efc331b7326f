"""Deploy steps of the contract groups beyond the foundation, for `deploy_suite(..., suite=SUITE + ...)`.

`CONSENSUS_STEPS` deploys the seed 001 consensus contracts on the foundation (docs/consensus-contracts.md
§1): ProofScoreRegistry, Staking (granted STAKING), MinerSelection and MiningRewardEscrow. The system
operator (role OPERATOR) is the distribution centre the escrow settles residual trades with, receives the
forfeited commit deposits and may report invalid blocks.

One wiring call has no step type in offchain/chain/deploy.py yet: `Staking.setMinerSelection(MinerSelection)`
by ADMIN (the only contract allowed to lock and slash pools). Until deploy.py has a call step,
`bind_miner_selection` makes it after `deploy_suite`; it is idempotent, so it stays harmless once the suite
makes the call itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from offchain.chain.client import ChainClient
# Only the step types, defined before SUITE: deploy.py can import CONSENSUS_STEPS from here to extend SUITE.
from offchain.chain.deploy import ContractRef, Deploy, Grant, RoleHolder, Step
from offchain.chain.roles import role_id
from offchain.units import UPOS_BASE, price_to_base_per_kwh

if TYPE_CHECKING:
    from offchain.chain.deploy import Manifest

ZERO_ADDRESS = "0x" + "00" * 20


@dataclass(frozen=True)
class ConsensusTerms:
    """Constructor parameters of the consensus contracts.

    Windows in seconds, after the slot result is accepted: commit, reveal, mining, challenge (defaults: the
    one-day-slot suggestion of docs/consensus-contracts.md §1). `commit_deposit` in UPOS base units;
    `price_base_per_kwh` p_t in UPOS base units per kWh; `delta_bps` and `slash_bps` in basis points
    (defaults: offchain.scenarios.seed001.SlotSettings). `invalid_block_reporter`: the registry role that
    may report an invalid block.
    """

    commit_seconds: int = 2 * 3_600
    reveal_seconds: int = 2 * 3_600
    mining_seconds: int = 2 * 3_600
    challenge_seconds: int = 4 * 3_600
    commit_deposit: int = UPOS_BASE
    slash_bps: int = 5_000
    slash_freeze_seconds: int = 7 * 86_400
    price_base_per_kwh: int = price_to_base_per_kwh(0.10)
    delta_bps: int = 1_000
    invalid_block_reporter: str = "OPERATOR"

    @property
    def windows(self) -> tuple[int, int, int, int]:
        """MinerSelection's Windows struct: (commit, reveal, mining, challenge) seconds."""
        return (self.commit_seconds, self.reveal_seconds, self.mining_seconds, self.challenge_seconds)


def consensus_steps(terms: ConsensusTerms = ConsensusTerms()) -> tuple[Step, ...]:
    """The consensus contracts as deploy steps, to append after the foundation's SUITE."""
    registry, upos, epos = ContractRef("ParticipantRegistry"), ContractRef("UPOS"), ContractRef("EPOS")
    scores, staking, miners = ContractRef("ProofScoreRegistry"), ContractRef("Staking"), ContractRef("MinerSelection")
    operator = RoleHolder("OPERATOR")
    return (
        Deploy("ProofScoreRegistry", (registry,)),
        Deploy("Staking", (registry, epos, upos, terms.slash_bps, terms.slash_freeze_seconds)),
        Grant("STAKING", staking),
        Deploy(
            "MinerSelection",
            (registry, scores, staking, upos, terms.windows, terms.commit_deposit, operator,
             role_id(terms.invalid_block_reporter)),
        ),
        Deploy(
            "MiningRewardEscrow",
            (registry, upos, scores, miners, staking, operator, terms.price_base_per_kwh, terms.delta_bps),
        ),
    )


#: The consensus contracts with the default terms.
CONSENSUS_STEPS: tuple[Step, ...] = consensus_steps()
CONSENSUS_CONTRACTS = frozenset(s.contract for s in CONSENSUS_STEPS if isinstance(s, Deploy))


def _is_consensus_step(step: Step) -> bool:
    holder = getattr(step, "holder", None)
    return getattr(step, "contract", None) in CONSENSUS_CONTRACTS or (
        isinstance(holder, ContractRef) and holder.name in CONSENSUS_CONTRACTS)


def with_consensus(suite: tuple[Step, ...], terms: ConsensusTerms = ConsensusTerms()) -> tuple[Step, ...]:
    """`suite` (e.g. SUITE) with the consensus steps for `terms` at its end, replacing any consensus steps it
    already has (so it works the same before and after SUITE itself includes CONSENSUS_STEPS)."""
    return tuple(s for s in suite if not _is_consensus_step(s)) + consensus_steps(terms)


def bind_miner_selection(admin: ChainClient, manifest: Manifest) -> bool:
    """Staking.setMinerSelection(MinerSelection) from `admin` (ADMIN), unless Staking is bound already.
    Returns whether a transaction was sent."""
    staking = admin.contract("Staking", manifest.address("Staking"))
    if admin.call(staking.functions.minerSelection()) != ZERO_ADDRESS:
        return False
    admin.transact(staking.functions.setMinerSelection(manifest.address("MinerSelection")))
    return True
