// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ParticipantRegistry} from "../core/ParticipantRegistry.sol";
import {RegistryGated} from "../core/RegistryGated.sol";
import {ResultKeys} from "../core/ResultKeys.sol";
import {Roles} from "../core/Roles.sol";
import {IProofScoreRegistry} from "../../interfaces/IProofScoreRegistry.sol";

/// @title ProofScoreRegistry
/// @notice Per-slot PoEG proof scores and coalition partition of seed 001 (thesis eqs 3.4-3.8), submitted
/// once per slot by a SCORER, with a commitment (hash) to the slot's trade list. The partition is passed
/// as one coalition index per participant, participants in strictly ascending address order, indices in
/// order of first appearance (0, 1, 2, ...): that is the canonical partition (members by ascending
/// address, coalitions by their lowest member's address) and it covers every scored participant exactly
/// once by construction, checked in one pass. Coalition scores are the exact integer sums of the member
/// scores; the validator of each coalition (highest member score, ties to the lower address) is fixed
/// here. See {IProofScoreRegistry}, docs/consensus-contracts.md.
/// @custom:shared By several mechanisms: seed 001 ch. 3's coalition market now, ch. 4's V2V market next.
contract ProofScoreRegistry is IProofScoreRegistry, RegistryGated, ResultKeys {
    /// @notice The ResultKeys mechanism id of a slot result.
    bytes32 public constant MECHANISM = keccak256("seed001.poeg");

    /// @dev Per-coalition sums built in memory while the participants are read (at most n coalitions).
    struct Tally {
        uint256[] scores;
        uint256[] sizes;
        address[] validators;
        uint256[] validatorScores;
        uint256 coalitions;
    }

    /// @dev A coalition's score and validator in one storage word.
    struct StoredCoalition {
        uint96 score;
        address validator;
    }

    uint256 private constant SIZE_BITS = 32;
    uint256 private constant SIZES_PER_WORD = 256 / SIZE_BITS;

    mapping(uint256 slot => SlotResult) private _results;
    mapping(uint256 slot => mapping(address account => Entry)) private _entries;
    mapping(uint256 slot => mapping(uint256 coalition => StoredCoalition)) private _coalitions;
    /// @dev Coalition sizes, eight 32-bit sizes per word (coalition c in word c / 8, lane c % 8): a
    /// slot's sizes cost one storage write per eight coalitions instead of one each.
    mapping(uint256 slot => mapping(uint256 word => uint256)) private _coalitionSizes;

    /// @notice A result must score at least one participant.
    error EmptyResult();
    /// @notice `account` appears twice in the scored list.
    error ParticipantListedTwice(address account);
    /// @notice The account at `position` is below the one before it: accounts must ascend.
    error AccountsNotAscending(uint256 position);
    /// @notice The coalition index at `position` is `coalition`; the canonical order allows at most
    /// `highestAllowed` (an existing coalition or the next new one).
    error PartitionNotCanonical(uint256 position, uint256 coalition, uint256 highestAllowed);
    /// @notice `account`'s member score is below its singleton score (individual rationality, eq. 3.10).
    error MemberScoreBelowSingleton(address account, uint256 singletonScore, uint256 memberScore);

    /// @notice One participant's scores in `slot`.
    event ScoreRecorded(
        uint256 indexed slot, address indexed account, uint256 coalition, uint256 singletonScore, uint256 memberScore
    );
    /// @notice One coalition of `slot`: its score (sum of member scores), size and validator.
    event CoalitionRecorded(
        uint256 indexed slot, uint256 indexed coalition, uint256 score, uint256 size, address validator
    );
    /// @notice `slot`'s result was accepted.
    event ResultSubmitted(
        uint256 indexed slot, uint256 participants, uint256 coalitions, uint256 totalScore, bytes32 tradesHash
    );

    /// @param registry_ The registry granting SCORER and holding the participants.
    constructor(ParticipantRegistry registry_) RegistryGated(registry_) {}

    /// @notice Accepts the result of `slot`, once (ResultAlreadyAccepted on a second one). Only SCORER.
    /// @param slot The slot.
    /// @param participants One entry per scored participant, accounts strictly ascending; each account
    /// must be an active registered participant (the registry's ParticipantNotRegistered /
    /// ParticipantInactive otherwise); scores in EPOS base units below 2^96 (a coalition's sum too), member score at least the
    /// singleton score; coalition indices canonical: each at most the number of coalitions opened by the
    /// entries before it (that number opens the next coalition).
    /// @param tradesHash keccak256(abi.encode(Trade[])) of the slot's intra-coalition and residual trades
    /// (MiningRewardEscrow.Trade).
    function submitResult(uint256 slot, ScoreSubmission[] calldata participants, bytes32 tradesHash)
        external
        onlyRegistryRole(Roles.SCORER)
    {
        uint256 n = participants.length;
        if (n == 0) revert EmptyResult();
        _acceptOnce(MECHANISM, slot);
        Tally memory tally = Tally(new uint256[](n), new uint256[](n), new address[](n), new uint256[](n), 0);
        for (uint256 i; i < n; ++i) {
            if (i > 0 && participants[i].account <= participants[i - 1].account) {
                if (participants[i].account == participants[i - 1].account) {
                    revert ParticipantListedTwice(participants[i].account);
                }
                revert AccountsNotAscending(i);
            }
            _record(slot, tally, i, participants[i]);
        }
        uint256 total;
        uint256 sizes;
        for (uint256 c; c < tally.coalitions; ++c) {
            _coalitions[slot][c] = StoredCoalition(SafeCast.toUint96(tally.scores[c]), tally.validators[c]);
            sizes |= tally.sizes[c] << ((c % SIZES_PER_WORD) * SIZE_BITS);
            if (c % SIZES_PER_WORD == SIZES_PER_WORD - 1 || c == tally.coalitions - 1) {
                _coalitionSizes[slot][c / SIZES_PER_WORD] = sizes;
                sizes = 0;
            }
            total += tally.scores[c];
            emit CoalitionRecorded(slot, c, tally.scores[c], tally.sizes[c], tally.validators[c]);
        }
        _results[slot] = SlotResult(
            tradesHash, uint64(block.timestamp), uint32(n), uint32(tally.coalitions), SafeCast.toUint128(total)
        );
        emit ResultSubmitted(slot, n, tally.coalitions, total, tradesHash);
    }

    /// @inheritdoc IProofScoreRegistry
    function slotResult(uint256 slot) external view returns (SlotResult memory) {
        return _results[slot];
    }

    /// @inheritdoc IProofScoreRegistry
    function entryOf(uint256 slot, address account) external view returns (Entry memory) {
        return _entries[slot][account];
    }

    /// @inheritdoc IProofScoreRegistry
    function coalitionOf(uint256 slot, uint256 coalition) external view returns (Coalition memory) {
        StoredCoalition storage stored = _coalitions[slot][coalition];
        uint256 lanes = _coalitionSizes[slot][coalition / SIZES_PER_WORD];
        uint32 size = uint32(lanes >> ((coalition % SIZES_PER_WORD) * SIZE_BITS));
        return Coalition(stored.score, size, stored.validator);
    }

    /// @inheritdoc IProofScoreRegistry
    function coalitionScores(uint256 slot) external view returns (uint256[] memory scores) {
        uint256 count = _results[slot].coalitions;
        scores = new uint256[](count);
        for (uint256 c; c < count; ++c) {
            scores[c] = _coalitions[slot][c].score;
        }
    }

    /// @dev Stores one participant (position `i` of the ascending list) and adds it to its coalition.
    function _record(uint256 slot, Tally memory tally, uint256 i, ScoreSubmission calldata entry) private {
        (address account, uint256 singletonScore, uint256 memberScore, uint256 coalition) =
            (entry.account, entry.singletonScore, entry.memberScore, entry.coalition);
        registry.requireActive(account);
        if (coalition > tally.coalitions) revert PartitionNotCanonical(i, coalition, tally.coalitions);
        if (coalition == tally.coalitions) ++tally.coalitions;
        if (memberScore < singletonScore) revert MemberScoreBelowSingleton(account, singletonScore, memberScore);
        _entries[slot][account] =
            Entry(SafeCast.toUint96(singletonScore), SafeCast.toUint96(memberScore), uint32(coalition + 1));
        emit ScoreRecorded(slot, account, coalition, singletonScore, memberScore);
        // Accounts ascend, so only a strictly higher score displaces an earlier member: ties go to the
        // lower address.
        if (tally.sizes[coalition] == 0 || memberScore > tally.validatorScores[coalition]) {
            tally.validators[coalition] = account;
            tally.validatorScores[coalition] = memberScore;
        }
        tally.scores[coalition] += memberScore;
        ++tally.sizes[coalition];
    }
}
