// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IBenefitConsensus} from "../../../interfaces/IBenefitConsensus.sol";
import {ParticipantRegistry} from "../../core/ParticipantRegistry.sol";
import {PeriodClock} from "../../core/PeriodClock.sol";
import {RegistryGated} from "../../core/RegistryGated.sol";
import {Roles} from "../../core/Roles.sol";

/// @title BenefitConsensus
/// @notice Proof-of-Benefit rounds (seed 003 Ch5-6): commit, reveal after ROUNDTIME, confirm, finalise the
/// highest-benefit block that more than N_p/2 + 1 peers confirmed; chain score = cumulative benefit.
/// @dev Work per call is bounded: a reveal hashes and scans at most maxWindow + 1 values, a finalisation scans
/// at most maxProposals blocks. Rules and reasons: docs/proof-of-benefit-contracts.md.
contract BenefitConsensus is IBenefitConsensus, RegistryGated {
    using Checkpoints for Checkpoints.Trace208;

    /// @notice lambda's fixed-point scale: lambda = BENEFIT_SCALE / (PF + 1 W^2), PF in W^2 per round^2.
    uint256 public constant BENEFIT_SCALE = 1e18;
    /// @dev Marks a commitment as revealed (a reveal is accepted once).
    bytes32 private constant _REVEALED = keccak256("BenefitConsensus.revealed");

    /// @notice Start of round 0 (unix seconds).
    uint256 public immutable genesisTime;
    /// @notice Length of a round (seconds).
    uint256 public immutable roundSeconds;
    /// @notice Commits are open in the first `commitSeconds` of a round (the thesis's ROUNDTIME wait ends here).
    uint256 public immutable commitSeconds;
    /// @notice Reveals are open until `revealEndSeconds` into the round; confirmations from then to its end.
    uint256 public immutable revealEndSeconds;
    /// @notice The most proposals (commitments) one round accepts.
    uint256 public immutable maxProposals;
    /// @notice The longest net-load window (slopes) a proposal may carry.
    uint256 public immutable maxWindow;

    /// @notice The winning block of the latest finalised round that had one (zero before any).
    bytes32 public head;
    /// @notice Cumulative benefit of the winning blocks (the fork-choice score of the thesis).
    uint256 public chainScore;
    /// @notice The round of the latest commitments while it is not finalised (NO_OPEN_ROUND when none): a new
    /// round takes commitments only once it is finalised, so every proposal builds on an up-to-date head.
    uint256 public openRound = NO_OPEN_ROUND;
    /// @notice {openRound} when every round with proposals is finalised.
    uint256 public constant NO_OPEN_ROUND = type(uint256).max;

    Checkpoints.Trace208 private _peerCounts;
    mapping(address peer => uint256 round) private _activeFrom; // round + 1; 0 = not joined
    mapping(address peer => bool) public excluded;
    mapping(uint256 round => mapping(address peer => bytes32)) public commitmentOf;
    mapping(uint256 round => uint256) public proposalCount;
    mapping(uint256 round => bytes32[]) private _blockList;
    mapping(uint256 round => mapping(bytes32 blockHash => Block)) private _blocks;
    mapping(uint256 round => mapping(address validator => bool)) public hasConfirmed;
    mapping(uint256 round => Outcome) private _outcomes;

    /// @param registry_ Role checks (VALIDATOR for peers).
    /// @param genesisTime_ Start of round 0; @param roundSeconds_ round length; @param commitSeconds_ commit
    /// phase; @param revealEndSeconds_ end of the reveal phase; 0 < commit < revealEnd < round, or
    /// {InvalidRoundTiming}. @param maxProposals_ >= 1 and @param maxWindow_ >= 1, or {InvalidBounds}.
    constructor(
        ParticipantRegistry registry_,
        uint256 genesisTime_,
        uint256 roundSeconds_,
        uint256 commitSeconds_,
        uint256 revealEndSeconds_,
        uint256 maxProposals_,
        uint256 maxWindow_
    ) RegistryGated(registry_) {
        if (!PeriodClock.isValid(genesisTime_, roundSeconds_)) {
            revert InvalidTiming(genesisTime_, roundSeconds_, commitSeconds_, revealEndSeconds_);
        }
        if (commitSeconds_ == 0 || commitSeconds_ >= revealEndSeconds_ || revealEndSeconds_ >= roundSeconds_) {
            revert InvalidRoundTiming(roundSeconds_, commitSeconds_, revealEndSeconds_);
        }
        if (maxProposals_ == 0 || maxWindow_ == 0) revert InvalidBounds(maxProposals_, maxWindow_);
        genesisTime = genesisTime_;
        roundSeconds = roundSeconds_;
        commitSeconds = commitSeconds_;
        revealEndSeconds = revealEndSeconds_;
        maxProposals = maxProposals_;
        maxWindow = maxWindow_;
    }

    /// @inheritdoc IBenefitConsensus
    function join() external onlyRegistryRole(Roles.VALIDATOR) {
        if (_activeFrom[msg.sender] != 0) revert AlreadyJoined(msg.sender);
        uint256 activeFrom = block.timestamp < genesisTime ? 0 : currentRound() + 1;
        _activeFrom[msg.sender] = activeFrom + 1;
        (, uint208 peers) = _peerCounts.push(
            SafeCast.toUint48(activeFrom), SafeCast.toUint208(uint256(_peerCounts.latest()) + 1)
        );
        emit PeerJoined(msg.sender, activeFrom, peers);
    }

    /// @inheritdoc IBenefitConsensus
    function commit(uint256 round, bytes32 commitment) external {
        _checkPeer(round);
        _checkPhase(round, 0, commitSeconds);
        if (commitmentOf[round][msg.sender] != bytes32(0)) revert AlreadyCommitted(round, msg.sender);
        uint256 open = openRound;
        if (open != NO_OPEN_ROUND && open != round) revert PreviousRoundOpen(round, open);
        openRound = round;
        uint256 count = proposalCount[round];
        if (count >= maxProposals) revert TooManyProposals(round, maxProposals);
        proposalCount[round] = count + 1;
        commitmentOf[round][msg.sender] = commitment;
        emit Committed(round, msg.sender, commitment);
    }

    /// @inheritdoc IBenefitConsensus
    function reveal(
        uint256 round,
        bytes32 parent,
        bytes32 txSetHash,
        bytes32 tradesHash,
        int256[] calldata netLoadW,
        uint256 lambda,
        bytes32 salt
    ) external {
        _checkPeer(round);
        _checkPhase(round, commitSeconds, revealEndSeconds);
        _checkReveal(round, parent, txSetHash, tradesHash, netLoadW, lambda, salt);
        commitmentOf[round][msg.sender] = _REVEALED;
        uint256 actual = _benefit(netLoadW);
        if (actual != lambda) {
            excluded[msg.sender] = true;
            emit FalseBenefit(round, msg.sender, lambda, actual);
            return;
        }
        _recordBlock(round, parent, txSetHash, tradesHash, netLoadW, lambda);
    }

    /// @inheritdoc IBenefitConsensus
    function confirm(uint256 round, bytes32 blockHash) external {
        _checkPeer(round);
        _checkPhase(round, revealEndSeconds, roundSeconds);
        Block storage b = _blocks[round][blockHash];
        if (!b.exists) revert UnknownBlock(round, blockHash);
        if (hasConfirmed[round][msg.sender]) revert AlreadyConfirmed(round, msg.sender);
        hasConfirmed[round][msg.sender] = true;
        uint64 confirmations = b.confirmations + 1;
        b.confirmations = confirmations;
        emit Confirmed(round, msg.sender, blockHash, confirmations);
    }

    /// @inheritdoc IBenefitConsensus
    function finalise(uint256 round) external {
        Outcome storage outcome = _outcomes[round];
        if (outcome.finalised) revert AlreadyFinalised(round);
        uint256 endsAt = PeriodClock.startOf(genesisTime, roundSeconds, round + 1);
        if (block.timestamp < endsAt) revert RoundNotOver(round, endsAt);
        uint256 peers = peersAt(round);
        bytes32 winner = bytes32(0);
        uint256 best = 0;
        bytes32[] storage list = _blockList[round];
        for (uint256 i = 0; i < list.length; ++i) {
            Block storage b = _blocks[round][list[i]];
            // more than N_p / 2 + 1 confirmations, in integers: 2 * count > N_p + 2
            if (2 * uint256(b.confirmations) > peers + 2 && (winner == bytes32(0) || b.lambda > best)) {
                winner = list[i];
                best = b.lambda;
            }
        }
        if (round == openRound) openRound = NO_OPEN_ROUND;
        outcome.finalised = true;
        address proposer = address(0);
        if (winner != bytes32(0)) {
            head = winner;
            chainScore += best;
            outcome.winner = winner;
            outcome.lambda = best;
            proposer = _blocks[round][winner].proposer;
        }
        outcome.score = chainScore;
        emit RoundFinalised(round, winner, proposer, best, chainScore, peers);
    }

    /// @inheritdoc IBenefitConsensus
    function benefitOf(int256[] calldata netLoadW) external pure returns (uint256) {
        if (netLoadW.length < 2) revert BadWindow(netLoadW.length, type(uint256).max);
        return _benefit(netLoadW);
    }

    /// @inheritdoc IBenefitConsensus
    function blockHashOf(
        uint256 round,
        bytes32 parent,
        bytes32 txSetHash,
        bytes32 tradesHash,
        int256[] calldata netLoadW,
        uint256 lambda
    ) external pure returns (bytes32) {
        return keccak256(abi.encode(round, parent, txSetHash, tradesHash, netLoadW, lambda));
    }

    /// @inheritdoc IBenefitConsensus
    function outcomeOf(uint256 round) external view returns (Outcome memory) {
        return _outcomes[round];
    }

    /// @inheritdoc IBenefitConsensus
    function blockOf(uint256 round, bytes32 blockHash) external view returns (Block memory) {
        return _blocks[round][blockHash];
    }

    /// @inheritdoc IBenefitConsensus
    function peersAt(uint256 round) public view returns (uint256) {
        return _peerCounts.upperLookup(SafeCast.toUint48(round));
    }

    /// @notice The round `block.timestamp` falls in; reverts {BeforeGenesis} before round 0.
    function currentRound() public view returns (uint256) {
        return PeriodClock.periodAt(genesisTime, roundSeconds, block.timestamp);
    }

    /// @dev The reveal matches the caller's commitment, builds on the head and carries an admissible window.
    function _checkReveal(
        uint256 round,
        bytes32 parent,
        bytes32 txSetHash,
        bytes32 tradesHash,
        int256[] calldata netLoadW,
        uint256 lambda,
        bytes32 salt
    ) private view {
        bytes32 committed = commitmentOf[round][msg.sender];
        if (committed == bytes32(0) || committed == _REVEALED) revert NothingToReveal(round, msg.sender);
        bytes32 computed = keccak256(
            abi.encode(round, msg.sender, parent, txSetHash, tradesHash, netLoadW, lambda, salt)
        );
        if (computed != committed) revert RevealMismatch(round, msg.sender, committed, computed);
        if (parent != head) revert WrongParent(round, head, parent);
        if (netLoadW.length < 2 || netLoadW.length > maxWindow + 1) revert BadWindow(netLoadW.length, maxWindow);
    }

    /// @dev Stores the block under its hash (once; the first revealer is its proposer) and logs the reveal.
    function _recordBlock(
        uint256 round,
        bytes32 parent,
        bytes32 txSetHash,
        bytes32 tradesHash,
        int256[] calldata netLoadW,
        uint256 lambda
    ) private {
        bytes32 blockHash = keccak256(abi.encode(round, parent, txSetHash, tradesHash, netLoadW, lambda));
        Block storage b = _blocks[round][blockHash];
        bool newBlock = !b.exists;
        if (newBlock) {
            b.exists = true;
            b.proposer = msg.sender;
            b.lambda = lambda;
            b.tradesHash = tradesHash;
            _blockList[round].push(blockHash);
        }
        emit Revealed(round, msg.sender, blockHash, txSetHash, tradesHash, netLoadW, lambda, newBlock);
    }

    /// @dev A joined, active, not excluded VALIDATOR acting in the current round.
    function _checkPeer(uint256 round) private view {
        _checkRegistryRole(Roles.VALIDATOR, msg.sender);
        if (excluded[msg.sender]) revert PeerExcluded(msg.sender);
        uint256 current = currentRound();
        if (round != current) revert RoundNotCurrent(round, current);
        uint256 activeFrom = _activeFrom[msg.sender];
        if (activeFrom == 0 || activeFrom - 1 > round) {
            revert NotAnActivePeer(msg.sender, activeFrom == 0 ? type(uint256).max : activeFrom - 1);
        }
    }

    /// @dev Reverts {OutsidePhase} unless now is in [start + from, start + to) of `round`; returns the start.
    function _checkPhase(uint256 round, uint256 from, uint256 to) private view returns (uint256 start) {
        start = PeriodClock.startOf(genesisTime, roundSeconds, round);
        if (block.timestamp < start + from || block.timestamp >= start + to) {
            revert OutsidePhase(round, start + from, start + to);
        }
    }

    /// @dev BENEFIT_SCALE * W^2 / (W * sum l^2 - (sum l)^2 + W^2), l the window's consecutive differences.
    /// Checked arithmetic: a net load beyond ~1e30 W overflows and reverts rather than wrapping.
    function _benefit(int256[] calldata netLoadW) private pure returns (uint256) {
        uint256 w = netLoadW.length - 1;
        int256 sum = 0;
        uint256 sumSquares = 0;
        for (uint256 k = 1; k < netLoadW.length; ++k) {
            int256 slope = netLoadW[k] - netLoadW[k - 1];
            sum += slope;
            sumSquares += uint256(slope * slope);
        }
        uint256 scaledVariance = w * sumSquares - uint256(sum * sum);
        return (BENEFIT_SCALE * w * w) / (scaledVariance + w * w);
    }
}
