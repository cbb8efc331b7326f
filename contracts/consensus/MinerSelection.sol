// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {BitMaps} from "@openzeppelin/contracts/utils/structs/BitMaps.sol";
import {ParticipantRegistry} from "../core/ParticipantRegistry.sol";
import {RegistryGated} from "../core/RegistryGated.sol";
import {IMinerSelection} from "../../interfaces/IMinerSelection.sol";
import {IProofScoreRegistry} from "../../interfaces/IProofScoreRegistry.sol";
import {IStaking} from "../../interfaces/IStaking.sol";

/// @title MinerSelection
/// @notice The weighted miner draw of seed 001 (thesis eq. 3.16, Alg. 2) and its penalty (eq. 3.24), in
/// exactly the integer arithmetic of offchain/algorithms/miner_draw.py:
/// - commit: every scored participant of the slot may commit keccak256(abi.encode(bytes32 secret,
///   address account, uint256 slot, address this, uint256 chainid)) with a UPOS deposit during the commit
///   window (the slot, contract and chain bind a commitment to one draw, so a secret used once is no use
///   elsewhere);
/// - reveal: during the reveal window; a reveal that does not hash to the commitment reverts; a valid
///   one refunds the deposit and XORs the secret into the slot seed;
/// - draw (anyone, after the reveal window): deposits of missing reveals are forfeited;
///   h_0 = keccak256(abi.encodePacked(seed)), r = uint256(h_k) % (sum of the scores of the coalitions
///   not excluded), walk those coalitions in order, the first whose cumulative score exceeds r wins;
///   its validator (highest member score, ties to the lower address) is fixed by the ProofScoreRegistry.
///   A drawn validator that was not eligible in Staking at the commit deadline (bonded self-stake below
///   minSelfStake, judged before any reveal) is skipped: its coalition is excluded, unslashed, and the draw
///   repeats as after a penalty. The draw must come within drawSeconds of the reveal deadline, or the slot is
///   void: stake bonded at the commit deadline cannot finish unbonding before it;
/// - the drawn validator's pool is locked in Staking until its block is final ({finalise}) or it is
///   penalised. It mines within its mining window; a validator that misses it (anyone reports after the
///   deadline) or whose block is reported invalid within the challenge window (by a holder of the
///   reporter role) is slashed in Staking, its coalition excluded, and the draw repeats with
///   h_k = keccak256(abi.encodePacked(h_{k-1})) among the rest. No coalition left: the slot is void.
/// Bias bounds and the choice of windows: docs/consensus-contracts.md.
/// @custom:shared By several mechanisms: seed 001 ch. 3's coalition market now, ch. 4's V2V market next.
contract MinerSelection is IMinerSelection, RegistryGated, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using BitMaps for BitMaps.BitMap;

    /// @notice Why a validator was penalised.
    enum Penalty {
        MissedBlock,
        InvalidBlock
    }

    /// @notice Why a slot ended without a miner.
    enum VoidReason {
        NoReveals,
        NoEligibleCoalition,
        DrawWindowMissed
    }

    /// @notice One slot's draw. `seed` is the XOR of the valid reveals, `drawHash` the h_k of the current
    /// attempt, `deadline` the current validator's mining deadline, `minedAt` when its block was mined.
    struct Round {
        bytes32 seed;
        bytes32 drawHash;
        bytes32 blockHash;
        address validator;
        uint32 coalition;
        uint32 attempt;
        uint32 commits;
        uint64 deadline;
        uint64 minedAt;
        uint32 reveals;
        Status status;
    }

    /// @notice The slot results (scores, partition, validators).
    IProofScoreRegistry public immutable scores;
    /// @notice The staking contract whose pools are locked and slashed.
    IStaking public immutable staking;
    /// @notice The deposit token (UPOS).
    IERC20 public immutable upos;
    /// @notice UPOS base units deposited with each commitment, refunded on a valid reveal.
    uint256 public immutable commitDeposit;
    /// @notice Receives the deposits of missing reveals.
    address public immutable forfeitRecipient;
    /// @notice The registry role allowed to report an invalid block (OPERATOR in the default deployment).
    bytes32 public immutable invalidBlockReporterRole;
    uint64 private immutable _commitSeconds;
    uint64 private immutable _revealSeconds;
    uint64 private immutable _miningSeconds;
    uint64 private immutable _challengeSeconds;
    uint64 private immutable _drawSeconds;

    mapping(uint256 slot => Round) private _rounds;
    mapping(uint256 slot => mapping(address account => bytes32)) private _commitments;
    mapping(uint256 slot => BitMaps.BitMap) private _excluded;

    /// @notice A window length or the commit deposit is zero, a contract or the forfeit recipient is the zero
    /// address, or Staking's unbonding is not longer than the commit, reveal and draw windows together.
    error InvalidConfiguration();
    /// @notice No result for `slot` was accepted by the ProofScoreRegistry.
    error NoResultForSlot(uint256 slot);
    /// @notice A zero commitment.
    error EmptyCommitment();
    /// @notice The commit window of `slot` closed at `deadline`.
    error CommitWindowClosed(uint256 slot, uint256 deadline);
    /// @notice `account` already committed for `slot`.
    error AlreadyCommitted(uint256 slot, address account);
    /// @notice The reveal window of `slot` opens after `opensAfter`.
    error RevealWindowNotOpen(uint256 slot, uint256 opensAfter);
    /// @notice The reveal window of `slot` closed at `deadline`.
    error RevealWindowClosed(uint256 slot, uint256 deadline);
    /// @notice `account` has no unrevealed commitment for `slot`.
    error NothingToReveal(uint256 slot, address account);
    /// @notice The secret `account` revealed for `slot` does not hash to its commitment.
    error RevealDoesNotMatchCommit(uint256 slot, address account);
    /// @notice The reveal window of `slot` is open until `deadline`: no draw yet.
    error RevealWindowOpen(uint256 slot, uint256 deadline);
    /// @notice `slot` was drawn already.
    error AlreadyDrawn(uint256 slot);
    /// @notice `slot` is not waiting for a block (its status is `status`).
    error NotMining(uint256 slot, Status status);
    /// @notice `caller` is not `slot`'s drawn validator `validator`.
    error NotTheDrawnValidator(uint256 slot, address caller, address validator);
    /// @notice The mining window of `slot` closed at `deadline`.
    error MiningWindowClosed(uint256 slot, uint256 deadline);
    /// @notice The mining window of `slot` is open until `deadline`: the block is not missed yet.
    error MiningWindowOpen(uint256 slot, uint256 deadline);
    /// @notice A zero block hash.
    error EmptyBlock();
    /// @notice `slot` has no mined block to challenge (its status is `status`).
    error NoBlockToChallenge(uint256 slot, Status status);
    /// @notice The challenge window of `slot`'s block closed at `deadline`.
    error ChallengeWindowClosed(uint256 slot, uint256 deadline);
    /// @notice `slot` has no final block.
    error BlockNotFinal(uint256 slot);
    /// @notice The challenge window of `slot`'s block is open until `deadline`: it cannot be final yet.
    error ChallengeWindowOpen(uint256 slot, uint256 deadline);

    /// @notice `account` committed to `commitment` for `slot`.
    event Committed(uint256 indexed slot, address indexed account, bytes32 commitment);
    /// @notice `account` revealed `secret` for `slot`.
    event Revealed(uint256 indexed slot, address indexed account, bytes32 secret);
    /// @notice `missing` commitments of `slot` were not revealed; `amount` UPOS went to `recipient`.
    event DepositsForfeited(uint256 indexed slot, uint256 missing, uint256 amount, address recipient);
    /// @notice Attempt `attempt` of `slot` drew `coalition`; `validator` must mine by `deadline`.
    event MinerDrawn(
        uint256 indexed slot, uint256 attempt, uint256 indexed coalition, address indexed validator, uint256 deadline
    );
    /// @notice `validator` mined `blockHash` for `slot`; it can be made final after the challenge window.
    event BlockMined(uint256 indexed slot, uint256 attempt, address indexed validator, bytes32 blockHash);
    /// @notice `slot`'s block by `validator` of `coalition` is final; the validator's pool lock is released.
    event BlockFinalised(uint256 indexed slot, uint256 attempt, uint256 indexed coalition, address indexed validator);
    /// @notice Attempt `attempt` of `slot` drew `coalition`, whose `validator` was not eligible at the commit
    /// deadline (bonded self-stake below Staking.minSelfStake): the coalition is excluded without a slash and
    /// the draw repeats.
    event MinerSkipped(uint256 indexed slot, uint256 attempt, uint256 indexed coalition, address indexed validator);
    /// @notice `validator` of `coalition` was penalised: `burned` EPOS slashed, coalition excluded.
    event MinerPenalised(
        uint256 indexed slot,
        uint256 attempt,
        uint256 indexed coalition,
        address indexed validator,
        Penalty reason,
        uint256 burned
    );
    /// @notice `slot` ended without a miner.
    event SlotVoided(uint256 indexed slot, VoidReason reason);

    /// @param registry_ The participant registry (roles).
    /// @param scores_ The ProofScoreRegistry.
    /// @param staking_ The Staking contract (binds this contract).
    /// @param upos_ The deposit token.
    /// @param windows Window lengths in seconds, each positive; commit + reveal + draw below
    /// Staking.unbondingSeconds.
    /// @param commitDeposit_ UPOS base units per commitment, positive: forfeited on a missing reveal, it is
    /// what a withheld reveal costs (docs/consensus-contracts.md §4).
    /// @param forfeitRecipient_ Receives forfeited deposits.
    /// @param invalidBlockReporterRole_ Role allowed to report invalid blocks (e.g. OPERATOR).
    constructor(
        ParticipantRegistry registry_,
        IProofScoreRegistry scores_,
        IStaking staking_,
        IERC20 upos_,
        Windows memory windows,
        uint256 commitDeposit_,
        address forfeitRecipient_,
        bytes32 invalidBlockReporterRole_
    ) RegistryGated(registry_) {
        if (
            windows.commitSeconds == 0 || windows.revealSeconds == 0 || windows.miningSeconds == 0
                || windows.challengeSeconds == 0 || windows.drawSeconds == 0 || commitDeposit_ == 0
                || forfeitRecipient_ == address(0) || address(scores_) == address(0)
                || address(staking_) == address(0) || address(upos_) == address(0)
        ) revert InvalidConfiguration();
        uint256 untilDrawn = uint256(windows.commitSeconds) + windows.revealSeconds + windows.drawSeconds;
        if (staking_.unbondingSeconds() <= untilDrawn) revert InvalidConfiguration();
        scores = scores_;
        staking = staking_;
        upos = upos_;
        commitDeposit = commitDeposit_;
        forfeitRecipient = forfeitRecipient_;
        invalidBlockReporterRole = invalidBlockReporterRole_;
        _commitSeconds = windows.commitSeconds;
        _revealSeconds = windows.revealSeconds;
        _miningSeconds = windows.miningSeconds;
        _challengeSeconds = windows.challengeSeconds;
        _drawSeconds = windows.drawSeconds;
    }

    // ----------------------------------------------------------------------------------- commit-reveal

    /// @notice Commits to a secret for `slot` and deposits commitDeposit UPOS (needs an allowance). Only a
    /// scored participant of `slot`, once, until commitDeadline(slot).
    /// @param slot The slot.
    /// @param commitment commitmentFor(slot, caller, secret).
    function commit(uint256 slot, bytes32 commitment) external nonReentrant {
        if (commitment == bytes32(0)) revert EmptyCommitment();
        uint256 deadline = commitDeadline(slot);
        if (block.timestamp > deadline) revert CommitWindowClosed(slot, deadline);
        if (scores.entryOf(slot, msg.sender).coalitionPlusOne == 0) revert NotASlotParticipant(slot, msg.sender);
        if (_commitments[slot][msg.sender] != bytes32(0)) revert AlreadyCommitted(slot, msg.sender);
        _commitments[slot][msg.sender] = commitment;
        ++_rounds[slot].commits;
        emit Committed(slot, msg.sender, commitment);
        upos.safeTransferFrom(msg.sender, address(this), commitDeposit);
    }

    /// @notice Reveals the caller's `secret` for `slot` after commitDeadline(slot), until
    /// revealDeadline(slot). Reverts RevealDoesNotMatchCommit unless it hashes to the commitment; a valid
    /// reveal enters the seed and refunds the deposit.
    /// @param slot The slot.
    /// @param secret The committed secret.
    function reveal(uint256 slot, bytes32 secret) external nonReentrant {
        uint256 opensAfter = commitDeadline(slot);
        if (block.timestamp <= opensAfter) revert RevealWindowNotOpen(slot, opensAfter);
        uint256 deadline = opensAfter + _revealSeconds;
        if (block.timestamp > deadline) revert RevealWindowClosed(slot, deadline);
        bytes32 commitment = _commitments[slot][msg.sender];
        if (commitment == bytes32(0)) revert NothingToReveal(slot, msg.sender);
        if (commitmentFor(slot, msg.sender, secret) != commitment) revert RevealDoesNotMatchCommit(slot, msg.sender);
        delete _commitments[slot][msg.sender];
        Round storage round = _rounds[slot];
        round.seed ^= secret;
        ++round.reveals;
        emit Revealed(slot, msg.sender, secret);
        upos.safeTransfer(msg.sender, commitDeposit);
    }

    // ----------------------------------------------------------------------------------- draw and penalty

    /// @notice Draws `slot`'s first miner after revealDeadline(slot) and forfeits the deposits of missing
    /// reveals. Without any reveal, without an eligible coalition of positive score, or later than
    /// drawSeconds after the reveal deadline, the slot becomes void. Anyone, once.
    /// @param slot The slot.
    function draw(uint256 slot) external nonReentrant {
        uint256 deadline = revealDeadline(slot);
        if (block.timestamp <= deadline) revert RevealWindowOpen(slot, deadline);
        Round storage round = _rounds[slot];
        if (round.status != Status.Open) revert AlreadyDrawn(slot);
        uint256 missing = round.commits - round.reveals;
        if (round.reveals == 0) {
            round.status = Status.Void;
            emit SlotVoided(slot, VoidReason.NoReveals);
        } else if (block.timestamp > deadline + _drawSeconds) {
            round.status = Status.Void;
            emit SlotVoided(slot, VoidReason.DrawWindowMissed);
        } else {
            round.drawHash = keccak256(abi.encodePacked(round.seed));
            _drawMiner(slot, round);
        }
        if (missing > 0) {
            uint256 forfeited = missing * commitDeposit;
            emit DepositsForfeited(slot, missing, forfeited, forfeitRecipient);
            upos.safeTransfer(forfeitRecipient, forfeited);
        }
    }

    /// @notice Appends `slot`'s block: the drawn validator, before its mining deadline. `blockHash` is the
    /// block the validator built and vouches for (docs/consensus-contracts.md, "what a block is").
    /// @param slot The slot.
    /// @param blockHash The block's hash, non-zero.
    function mineBlock(uint256 slot, bytes32 blockHash) external {
        Round storage round = _rounds[slot];
        if (round.status != Status.Mining) revert NotMining(slot, round.status);
        if (msg.sender != round.validator) revert NotTheDrawnValidator(slot, msg.sender, round.validator);
        if (block.timestamp > round.deadline) revert MiningWindowClosed(slot, round.deadline);
        if (blockHash == bytes32(0)) revert EmptyBlock();
        round.status = Status.Mined;
        round.minedAt = uint64(block.timestamp);
        round.blockHash = blockHash;
        emit BlockMined(slot, round.attempt, msg.sender, blockHash);
    }

    /// @notice Reports that `slot`'s drawn validator let its mining deadline pass without a block: it is
    /// slashed, its coalition excluded and a new miner drawn. Anyone, after the deadline; the pool stays
    /// locked until then, however late the report.
    /// @param slot The slot.
    function reportMissedBlock(uint256 slot) external nonReentrant {
        Round storage round = _rounds[slot];
        if (round.status != Status.Mining) revert NotMining(slot, round.status);
        if (block.timestamp <= round.deadline) revert MiningWindowOpen(slot, round.deadline);
        _penalise(slot, round, Penalty.MissedBlock);
    }

    /// @notice Reports `slot`'s mined block invalid within its challenge window: the validator is
    /// slashed, its coalition excluded and a new miner drawn. Only holders of invalidBlockReporterRole.
    /// @param slot The slot.
    function reportInvalidBlock(uint256 slot) external onlyRegistryRole(invalidBlockReporterRole) nonReentrant {
        Round storage round = _rounds[slot];
        if (round.status != Status.Mined) revert NoBlockToChallenge(slot, round.status);
        uint256 deadline = round.minedAt + _challengeSeconds;
        if (block.timestamp > deadline) revert ChallengeWindowClosed(slot, deadline);
        _penalise(slot, round, Penalty.InvalidBlock);
    }

    /// @notice Makes `slot`'s mined block final once its challenge window has passed and releases the
    /// validator's pool lock in Staking. Anyone, once; settlement and rewards need it.
    /// @param slot The slot.
    function finalise(uint256 slot) external nonReentrant {
        Round storage round = _rounds[slot];
        if (round.status != Status.Mined) revert NoBlockToChallenge(slot, round.status);
        uint256 deadline = round.minedAt + _challengeSeconds;
        if (block.timestamp <= deadline) revert ChallengeWindowOpen(slot, deadline);
        round.status = Status.Final;
        emit BlockFinalised(slot, round.attempt, round.coalition, round.validator);
        staking.release(round.validator);
    }

    // ----------------------------------------------------------------------------------- views

    /// @inheritdoc IMinerSelection
    function commitDeadline(uint256 slot) public view returns (uint256) {
        uint256 acceptedAt = scores.slotResult(slot).acceptedAt;
        if (acceptedAt == 0) revert NoResultForSlot(slot);
        return acceptedAt + _commitSeconds;
    }

    /// @inheritdoc IMinerSelection
    function revealDeadline(uint256 slot) public view returns (uint256) {
        return commitDeadline(slot) + _revealSeconds;
    }

    /// @inheritdoc IMinerSelection
    function finalMiner(uint256 slot) external view returns (uint256 coalition, address validator) {
        Round storage round = _rounds[slot];
        if (round.status != Status.Final) revert BlockNotFinal(slot);
        return (round.coalition, round.validator);
    }

    /// @inheritdoc IMinerSelection
    function isVoid(uint256 slot) external view returns (bool) {
        return _rounds[slot].status == Status.Void;
    }

    /// @notice `slot`'s draw state.
    function roundOf(uint256 slot) external view returns (Round memory) {
        return _rounds[slot];
    }

    /// @notice The commitment `account` submits for `secret` in `slot`: keccak256(abi.encode(secret,
    /// account, slot, address(this), block.chainid)).
    /// @param slot The slot.
    /// @param account The committing participant.
    /// @param secret Its 32-byte secret.
    function commitmentFor(uint256 slot, address account, bytes32 secret) public view returns (bytes32) {
        return keccak256(abi.encode(secret, account, slot, address(this), block.chainid));
    }

    /// @notice `account`'s unrevealed commitment for `slot` (zero if none or revealed).
    function commitmentOf(uint256 slot, address account) external view returns (bytes32) {
        return _commitments[slot][account];
    }

    /// @notice Whether `coalition` of `slot` was excluded (its validator penalised or skipped).
    function isExcluded(uint256 slot, uint256 coalition) external view returns (bool) {
        return _excluded[slot].get(coalition);
    }

    /// @notice The window lengths (seconds).
    function windows() external view returns (Windows memory) {
        return Windows(_commitSeconds, _revealSeconds, _miningSeconds, _challengeSeconds, _drawSeconds);
    }

    // ----------------------------------------------------------------------------------- internals

    function _penalise(uint256 slot, Round storage round, Penalty reason) private {
        // Effects before the calls to Staking (a trusted contract, but the order costs nothing).
        (address validator, uint256 coalition, uint256 attempt) = (round.validator, round.coalition, round.attempt);
        _excluded[slot].set(coalition);
        _nextAttempt(round);
        round.minedAt = 0;
        round.blockHash = bytes32(0);
        uint256 burned = staking.slash(validator);
        staking.release(validator);
        emit MinerPenalised(slot, attempt, coalition, validator, reason, burned);
        _drawMiner(slot, round);
    }

    function _nextAttempt(Round storage round) private {
        ++round.attempt;
        round.drawHash = keccak256(abi.encodePacked(round.drawHash));
    }

    /// @dev The weighted draw with the round's current hash among the coalitions not excluded; a drawn
    /// coalition whose validator was not eligible at the commit deadline is excluded and the draw repeats
    /// with the next hash.
    function _drawMiner(uint256 slot, Round storage round) private {
        uint256 eligibleAt = commitDeadline(slot);
        uint256[] memory weights = scores.coalitionScores(slot);
        BitMaps.BitMap storage excluded = _excluded[slot];
        uint256 total;
        for (uint256 c; c < weights.length; ++c) {
            if (excluded.get(c)) weights[c] = 0;
            else total += weights[c];
        }
        while (total > 0) {
            uint256 r = uint256(round.drawHash) % total;
            uint256 chosen;
            uint256 cumulative = weights[0];
            while (r >= cumulative) cumulative += weights[++chosen];
            address validator = scores.coalitionOf(slot, chosen).validator;
            if (staking.isEligibleAt(validator, eligibleAt)) {
                uint64 deadline = uint64(block.timestamp) + _miningSeconds;
                round.status = Status.Mining;
                round.coalition = uint32(chosen);
                round.validator = validator;
                round.deadline = deadline;
                emit MinerDrawn(slot, round.attempt, chosen, validator, deadline);
                staking.lock(validator);
                return;
            }
            excluded.set(chosen);
            emit MinerSkipped(slot, round.attempt, chosen, validator);
            total -= weights[chosen];
            weights[chosen] = 0;
            _nextAttempt(round);
        }
        round.status = Status.Void;
        round.validator = address(0);
        emit SlotVoided(slot, VoidReason.NoEligibleCoalition);
    }
}
