"""Deploying and driving the seed 001 consensus contracts for one slot, shared by the consensus tests and
scripts/consensus_gas.py.

`role` and `custom_error` come from tests/contracts/conftest.py, loaded by file path: with several
conftest.py files in the tree, `import conftest` returns whichever conftest pytest imported last.

The off-chain side is offchain.mechanisms.coalition_market.plan.run_slot; `plan_slot` turns its integer view into what
the SCORER submits (canonical partition entries and the trade list) and `SlotDriver` sends every step of
a slot, in the order docs/consensus-contracts.md gives."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import eth_abi
from brownie import chain, web3

from offchain.algorithms.coalitions import CoalitionConfig, Market
from offchain.algorithms.miner_draw import CommitDomain, address_key, combine_reveals, commitment, keccak256
from offchain.chain.abi import ZERO_ADDRESS, ParticipantKind
from offchain.chain.roles import role_id
from offchain.data.seed001 import ten_prosumer_instance
from offchain.mechanisms.coalition_market.plan import SlotOutcome, SlotSettings, run_slot
from offchain.units import price_to_base_per_kwh


ONE = 10**18
SLOT = 7
#: The hand-made slot: six members (ascending addresses m0..m5), three coalitions in canonical order.
TOY_COALITION = [0, 1, 0, 2, 1, 2]
TOY_SINGLETON = [2 * ONE, 2 * ONE, 4 * ONE, 0, 0, 4 * ONE]
TOY_MEMBER = [3 * ONE, 2 * ONE, 5 * ONE, 0, ONE, 4 * ONE]
EPOS_MECHANISM = web3.keccak(text="seed001.poeg")
#: Window lengths (seconds): commit, reveal, mining, challenge, draw.
WINDOWS = (600, 600, 900, 1_200, 600)
COMMIT_DEPOSIT = 10**18  #: 1 UPOS per commitment
SLASH_BPS = 5_000  #: the off-chain default (SlotSettings.slash_bps)
SLASH_FREEZE_SECONDS = 7 * 86_400
UNBONDING_SECONDS = 3_600  #: longer than the commit, reveal and draw windows together
MIN_SELF_STAKE = 10**16  #: bonded self-stake a validator needs to be drawn (0.01 EPOS)
#: The contracts never see how the loss was shared; the equal division splits the illustration instance
#: into four coalitions (two by EDC distance), enough for a slot whose first two validators fail.
SETTINGS = SlotSettings(coalitions=CoalitionConfig(intra_loss_division="equal"))
PRICE = price_to_base_per_kwh(SETTINGS.price_upos_per_kwh)  #: p_t, UPOS base units per kWh
DELTA_BPS = SETTINGS.delta_bps
UPOS_FUND = 10**22  #: UPOS base units minted to each participant
REWARD_SCALE = 10**27  #: Staking's per-share reward accumulator scale
TRADE_LIST = "(address,address,uint256)[]"


@dataclass
class Suite:
    """The deployed consensus contracts and the foundation they run on."""

    registry: object
    upos: object
    epos: object
    scores: object
    staking: object
    miners: object
    escrow: object


def deploy_suite(registry, upos, epos, admin, edc, forfeit_recipient) -> Suite:
    """Deploys ProofScoreRegistry, Staking, MinerSelection and MiningRewardEscrow on an existing
    foundation, with the grants of the deploy suite: STAKING to Staking, Staking bound to
    MinerSelection."""
    # The project's containers exist once brownie has loaded the project, not at import time.
    from brownie import MinerSelection, MiningRewardEscrow, ProofScoreRegistry, Staking

    sender = {"from": admin}
    scores = ProofScoreRegistry.deploy(registry, sender)
    staking = Staking.deploy(registry, epos, upos, SLASH_BPS, SLASH_FREEZE_SECONDS, UNBONDING_SECONDS, MIN_SELF_STAKE,
                             sender)
    registry.grantRole(role_id("STAKING"), staking, sender)
    miners = MinerSelection.deploy(
        registry, scores, staking, upos, WINDOWS, COMMIT_DEPOSIT, forfeit_recipient, role_id("OPERATOR"), sender
    )
    staking.setMinerSelection(miners, sender)
    escrow = MiningRewardEscrow.deploy(registry, upos, scores, miners, staking, edc, PRICE, DELTA_BPS, sender)
    return Suite(registry, upos, epos, scores, staking, miners, escrow)


def member_accounts(accounts, n: int, admin, operator, registry, upos, approve: Sequence = ()) -> list:
    """`n` deterministic local accounts (same addresses on every run), each funded with gas, registered
    as a prosumer, minted UPOS_FUND UPOS and approving every contract in `approve`."""
    members = []
    for i in range(n):
        account = accounts.add(web3.keccak(text=f"kwx-consensus-member:{i}").hex())
        admin.transfer(account, "1 ether")
        registry.register(account, ParticipantKind.PROSUMER, 1_000 * i, -700 * i, 0, 0, 0, {"from": operator})
        upos.mint(account, UPOS_FUND, {"from": admin})
        for spender in approve:
            upos.approve(spender, 2**256 - 1, {"from": account})
        members.append(account)
    return members


def by_address(accounts: Sequence) -> list:
    """Accounts sorted as a contract compares them (uint160)."""
    return sorted(accounts, key=lambda a: address_key(a.address))


def score_entries(accounts: Sequence, singleton: Sequence[int], member: Sequence[int], coalition: Sequence[int]):
    """ProofScoreRegistry.submitResult entries (account, singleton, member, coalition) in the given order."""
    return [(a.address, s, m, c) for a, s, m, c in zip(accounts, singleton, member, coalition, strict=True)]


def trades_hash(trades: Sequence[tuple[str, str, int]]) -> bytes:
    """keccak256(abi.encode(Trade[])): the trade-list commitment."""
    return keccak256(eth_abi.encode([TRADE_LIST], [list(trades)]))


def ints(values) -> tuple:
    """A brownie return value (or a sequence of them) as plain Python ints and strings, for comparing
    with expected tuples."""
    return tuple(ints(v) if isinstance(v, (tuple, list)) else int(v) if isinstance(v, int) else v for v in values)


def secret_for(label: str, account) -> bytes:
    return keccak256(f"{label}:{account.address}".encode())


def at_or_after(timestamp: int) -> None:
    """Moves the chain clock so the next transaction's block is later than `timestamp`."""
    latest = web3.eth.get_block("latest").timestamp
    if latest <= timestamp:
        chain.sleep(timestamp - latest + 1)
        chain.mine()


@dataclass
class SlotPlan:
    """One slot computed off chain for `accounts` (prosumer index -> brownie account)."""

    slot: int
    accounts: list
    outcome: SlotOutcome
    coalition_of: list[int]  # prosumer index -> coalition index in canonical order
    trades: list[tuple[str, str, int]]

    @property
    def entries(self):
        """submitResult entries, ascending by address."""
        view = self.outcome.chain
        order = sorted(range(len(self.accounts)), key=lambda i: address_key(self.accounts[i].address))
        return [
            (self.accounts[i].address, view.singleton_scores_base[i], view.member_scores_base[i], self.coalition_of[i])
            for i in order
        ]

    @property
    def trades_hash(self) -> bytes:
        return trades_hash(self.trades)

    def validator_account(self, attempt: int):
        return self.accounts[self.outcome.miner.attempts[attempt].validator]

    def winner_members(self) -> list:
        """The winning coalition's accounts, ascending (the order distributeReward wants)."""
        return [self.accounts[i] for i in self.outcome.winning_members]


def plan_slot(
    slot: int,
    accounts: Sequence,
    seed: bytes,
    failing: Collection = (),
    market: Market | None = None,
    stakes: dict | None = None,
    unstaked: Collection = (),
    unpaid: Collection = (),
) -> SlotPlan:
    """Runs the off-chain slot (offchain.mechanisms.coalition_market.plan.run_slot) for `accounts` with the commit-reveal
    `seed`; `failing` are accounts that, once drawn as validator, fail (miss or mine an invalid block);
    `stakes` maps accounts to their locked pool stake (EPOS base units; default: their member score);
    `unstaked` are validators without a bonded self-stake (skipped when drawn); `unpaid` owe a fee and do
    not pay it."""
    market = market or Market.from_frame(ten_prosumer_instance())
    addresses = [a.address for a in accounts]
    index = {a.address: i for i, a in enumerate(accounts)}
    stakes_base = None if stakes is None else {index[a.address]: v for a, v in stakes.items()}
    outcome = run_slot(market, addresses, seed, SETTINGS, {index[a.address] for a in failing}, stakes_base,
                       {index[a.address] for a in unstaked}, {index[a.address] for a in unpaid})
    coalition_of = [0] * len(accounts)
    for c, members in enumerate(outcome.draw_order):
        for i in members:
            coalition_of[i] = c
    view = outcome.chain
    trades = [(addresses[s], addresses[b], wh) for s, b, wh in view.trades_wh]
    trades += [(addresses[i], ZERO_ADDRESS, wh) for i, wh in enumerate(view.export_wh) if wh > 0]
    trades += [(ZERO_ADDRESS, addresses[i], wh) for i, wh in enumerate(view.import_wh) if wh > 0]
    return SlotPlan(slot, list(accounts), outcome, coalition_of, trades)


def xor_seed(secrets: dict) -> bytes:
    """The slot seed the contract builds from these reveals (account -> secret)."""
    return combine_reveals({a.address: s for a, s in secrets.items()}, "xor")


@dataclass
class SlotDriver:
    """Sends the steps of one slot and keeps every receipt by step name (for gas figures)."""

    suite: Suite
    slot: int
    receipts: dict[str, list] = field(default_factory=dict)

    def _keep(self, step: str, tx):
        self.receipts.setdefault(step, []).append(tx)
        return tx

    def submit(self, scorer, entries, trades_commitment: bytes):
        tx = self.suite.scores.submitResult(self.slot, entries, trades_commitment, {"from": scorer})
        return self._keep("submitResult", tx)

    def mint_scores(self, scorer, accounts: Sequence, amounts: Sequence[int]):
        return self._keep(
            "mintScores", self.suite.epos.mintScores(EPOS_MECHANISM, self.slot, accounts, amounts, {"from": scorer})
        )

    def stake(self, staker, validator, amount: int):
        self.suite.epos.approve(self.suite.staking, amount, {"from": staker})
        return self._keep("stake", self.suite.staking.stake(validator, amount, {"from": staker}))

    def pay_fee(self, account):
        return self._keep("payFee", self.suite.escrow.payFee(self.slot, {"from": account}))

    def commitment(self, account, secret: bytes) -> bytes:
        """What `account` commits for `secret` in this slot (MinerSelection.commitmentFor)."""
        return commitment(secret, account.address, CommitDomain(self.slot, self.suite.miners.address, chain.id))

    def commit(self, account, secret: bytes):
        return self._keep(
            "commit", self.suite.miners.commit(self.slot, self.commitment(account, secret), {"from": account})
        )

    def reveal(self, account, secret: bytes):
        return self._keep("reveal", self.suite.miners.reveal(self.slot, secret, {"from": account}))

    def commit_all(self, accounts: Sequence, label: str) -> dict:
        """Each account commits to secret_for(label, account); returns account -> secret."""
        secrets = {a: secret_for(label, a) for a in accounts}
        for account, secret in secrets.items():
            self.commit(account, secret)
        return secrets

    def reveal_all(self, secrets: dict) -> bytes:
        """Opens the reveal window, reveals every secret given; returns the seed the contract builds."""
        self.open_reveals()
        for account, secret in secrets.items():
            self.reveal(account, secret)
        return xor_seed(secrets)

    def open_reveals(self):
        at_or_after(self.suite.miners.commitDeadline(self.slot))

    def draw(self, caller):
        at_or_after(self.suite.miners.revealDeadline(self.slot))
        return self._keep("draw", self.suite.miners.draw(self.slot, {"from": caller}))

    def round(self):
        return self.suite.miners.roundOf(self.slot)

    def mine(self, validator, block_hash: bytes = b"\x01" * 32):
        return self._keep("mineBlock", self.suite.miners.mineBlock(self.slot, block_hash, {"from": validator}))

    def report_missed(self, caller):
        at_or_after(self.round()["deadline"])
        return self._keep("reportMissedBlock", self.suite.miners.reportMissedBlock(self.slot, {"from": caller}))

    def report_invalid(self, reporter):
        return self._keep("reportInvalidBlock", self.suite.miners.reportInvalidBlock(self.slot, {"from": reporter}))

    def finalise(self, caller):
        """Waits out the challenge window and makes the block final (releases the validator's pool)."""
        at_or_after(self.round()["minedAt"] + WINDOWS[3])
        return self._keep("finalise", self.suite.miners.finalise(self.slot, {"from": caller}))

    def deposit(self, account, amount: int):
        return self._keep("deposit", self.suite.escrow.deposit(amount, {"from": account}))

    def settle(self, caller, trades):
        return self._keep("settleTrades", self.suite.escrow.settleTrades(self.slot, trades, {"from": caller}))

    def distribute(self, scorer, members: Sequence, shares: Sequence[int]):
        return self._keep(
            "distributeReward", self.suite.escrow.distributeReward(self.slot, members, shares, {"from": scorer})
        )

    def gas(self) -> dict[str, int]:
        """Total gasUsed per step."""
        return {step: sum(tx.gas_used for tx in txs) for step, txs in self.receipts.items()}
