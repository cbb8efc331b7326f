// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IKwxErrors} from "./IKwxErrors.sol";

/// @title IBenefitConsensus
/// @notice Seed 003 Ch5-6 (Proof-of-Benefit) at the application layer. Time is cut into rounds of
/// `roundSeconds` from `genesisTime` (contracts/core/PeriodClock.sol). In round r, peers (VALIDATOR role, joined)
/// commit to a proposal in [start, start + commitSeconds), reveal it in [start + commitSeconds, start +
/// revealEndSeconds) (the thesis's ROUNDTIME wait) and confirm blocks until the round ends. A proposal is
/// (parent block, hash of the round's transaction set, hash of its trades, the window's net load in watts,
/// benefit lambda). The contract recomputes lambda from the net load (the same integer formula as
/// offchain/algorithms/pebt.py:benefit); a proposer whose claimed lambda differs is excluded for good.
/// Validators confirm the block they recompute from the public orders; once the round is over, anyone
/// finalises it (a round takes commitments only once the earlier round with proposals is finalised): the winner is the highest-lambda block confirmed by more than N_p/2 + 1 of the N_p peers
/// active in the round, its lambda is added to the chain score and its trades may be settled
/// (BenefitSettlement). Rules and reasons: docs/proof-of-benefit-contracts.md.
interface IBenefitConsensus is IKwxErrors {
    /// @notice A revealed block of a round. `lambda` is the recomputed benefit (BENEFIT_SCALE / (PF + 1 W^2)).
    struct Block {
        address proposer;
        uint64 confirmations;
        bool exists;
        uint256 lambda;
        bytes32 tradesHash;
    }

    /// @notice What a round ended with: the winning block (zero if none qualified) and the chain score after it.
    struct Outcome {
        bool finalised;
        bytes32 winner;
        uint256 lambda;
        uint256 score;
    }

    // ------------------------------------------------------------------------------------ errors

    /// @notice Constructor: a commit phase and reveal end that do not fit the round (0 < commit < revealEnd <
    /// round), or a zero bound on proposals / window length.
    error InvalidRoundTiming(uint256 roundSeconds, uint256 commitSeconds, uint256 revealEndSeconds);
    /// @notice A zero `maxProposals` or a `maxWindow` below 1.
    error InvalidBounds(uint256 maxProposals, uint256 maxWindow);
    /// @notice `round` is not the current round `current` (a proposal or confirmation for a past or future round).
    error RoundNotCurrent(uint256 round, uint256 current);
    /// @notice The call belongs to another phase of `round`: it is open in [opensAt, closesAt).
    error OutsidePhase(uint256 round, uint256 opensAt, uint256 closesAt);
    /// @notice `peer` has already joined.
    error AlreadyJoined(address peer);
    /// @notice `peer` has not joined, or joined in `activeFrom` > this round.
    error NotAnActivePeer(address peer, uint256 activeFrom);
    /// @notice `peer` was excluded after a false benefit claim.
    error PeerExcluded(address peer);
    /// @notice `peer` already committed in `round`.
    error AlreadyCommitted(uint256 round, address peer);
    /// @notice `round` already holds `max` proposals.
    error TooManyProposals(uint256 round, uint256 max);
    /// @notice `peer` has no commitment in `round` to reveal (or revealed it already).
    error NothingToReveal(uint256 round, address peer);
    /// @notice The revealed proposal hashes to `computed`, not to the commitment `committed`.
    error RevealMismatch(uint256 round, address peer, bytes32 committed, bytes32 computed);
    /// @notice The proposal builds on `given`; the chain head is `expected`.
    error WrongParent(uint256 round, bytes32 expected, bytes32 given);
    /// @notice `round` takes no commitment before the earlier round `open`, which has proposals, is finalised.
    error PreviousRoundOpen(uint256 round, uint256 open);
    /// @notice A net-load window of `length` values; 2..`max` + 1 are admitted.
    error BadWindow(uint256 length, uint256 max);
    /// @notice No block `blockHash` was revealed in `round`.
    error UnknownBlock(uint256 round, bytes32 blockHash);
    /// @notice `validator` already confirmed a block of `round`.
    error AlreadyConfirmed(uint256 round, address validator);
    /// @notice `round` is not over: it can be finalised from `endsAt`.
    error RoundNotOver(uint256 round, uint256 endsAt);
    /// @notice `round` was finalised before.
    error AlreadyFinalised(uint256 round);

    // ------------------------------------------------------------------------------------ events

    /// @notice `peer` joined; it proposes and confirms from round `activeFrom` on; `peers` joined so far.
    event PeerJoined(address indexed peer, uint256 activeFrom, uint256 peers);
    /// @notice `peer` committed `commitment` in `round`.
    event Committed(uint256 indexed round, address indexed peer, bytes32 commitment);
    /// @notice `peer` revealed block `blockHash` (built on the head) with benefit `lambda`; `newBlock` if it was the
    /// first to reveal this content (then it is the block's proposer).
    event Revealed(
        uint256 indexed round,
        address indexed peer,
        bytes32 indexed blockHash,
        bytes32 txSetHash,
        bytes32 tradesHash,
        int256[] netLoadW,
        uint256 lambda,
        bool newBlock
    );
    /// @notice `peer` claimed benefit `claimed` for a net load whose benefit is `computed`: it is excluded.
    event FalseBenefit(uint256 indexed round, address indexed peer, uint256 claimed, uint256 computed);
    /// @notice `validator` confirmed `blockHash` in `round`; it now has `confirmations`.
    event Confirmed(uint256 indexed round, address indexed validator, bytes32 indexed blockHash, uint256 confirmations);
    /// @notice `round` ended with `winner` (zero: no block had more than `threshold` - 1 confirmations) among
    /// `peers` active peers; the chain score is now `score`.
    event RoundFinalised(
        uint256 indexed round, bytes32 indexed winner, address proposer, uint256 lambda, uint256 score, uint256 peers
    );

    // ------------------------------------------------------------------------------------ functions

    /// @notice Join as a consensus peer (VALIDATOR role). Active from the next round.
    function join() external;

    /// @notice Commit to a proposal for the current round `round` during its commit phase.
    /// @param commitment keccak256(abi.encode(round, msg.sender, parent, txSetHash, tradesHash, netLoadW, lambda, salt))
    function commit(uint256 round, bytes32 commitment) external;

    /// @notice Reveal the committed proposal during the reveal phase. A `lambda` that differs from the benefit
    /// of `netLoadW` does not revert: the peer is excluded ({FalseBenefit}) and the proposal dropped.
    /// @param netLoadW The window's net load, whole watts, last realised value first (2..maxWindow + 1 values).
    function reveal(
        uint256 round,
        bytes32 parent,
        bytes32 txSetHash,
        bytes32 tradesHash,
        int256[] calldata netLoadW,
        uint256 lambda,
        bytes32 salt
    ) external;

    /// @notice Confirm block `blockHash` of the current round (once per validator and round).
    function confirm(uint256 round, bytes32 blockHash) external;

    /// @notice Finalise `round` once it is over (anyone, once; a round without proposals ends without a winner).
    function finalise(uint256 round) external;

    /// @notice The benefit of a net-load window: BENEFIT_SCALE * W^2 / (W * sum l^2 - (sum l)^2 + W^2).
    function benefitOf(int256[] calldata netLoadW) external pure returns (uint256);

    /// @notice The block id: keccak256(abi.encode(round, parent, txSetHash, tradesHash, netLoadW, lambda)).
    function blockHashOf(
        uint256 round,
        bytes32 parent,
        bytes32 txSetHash,
        bytes32 tradesHash,
        int256[] calldata netLoadW,
        uint256 lambda
    ) external pure returns (bytes32);

    /// @notice The outcome of `round` (finalised false while open).
    function outcomeOf(uint256 round) external view returns (Outcome memory);

    /// @notice Block `blockHash` of `round`.
    function blockOf(uint256 round, bytes32 blockHash) external view returns (Block memory);

    /// @notice Peers active in `round` (N_p).
    function peersAt(uint256 round) external view returns (uint256);
}
