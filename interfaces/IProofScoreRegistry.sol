// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IProofScoreRegistry
/// @notice The accepted result of one consensus slot of seed 001 (chapter 3): every participant's PoEG
/// proof scores, the partition into coalitions, and a commitment to the slot's trade list. Scores are
/// EPOS base units (1e18 per score point = 1 kWh); nothing about production, consumption or location is
/// stored. Coalition `c` of a slot is the c-th coalition in canonical order (coalitions ordered by their
/// lowest member address, members by ascending address), and its score is the exact sum of its members'
/// scores. docs/consensus-contracts.md describes the slot lifecycle.
interface IProofScoreRegistry {
    /// @notice One participant as submitted: its account, scores (EPOS base units) and coalition index.
    struct ScoreSubmission {
        address account;
        uint256 singletonScore;
        uint256 memberScore;
        uint256 coalition;
    }

    /// @notice One participant of a slot. `coalitionPlusOne` is its coalition index + 1 (0: not scored).
    /// @param singletonScore PoEG score trading alone (eq. 3.4), EPOS base units.
    /// @param memberScore Score inside its coalition (eq. 3.6), EPOS base units, >= singletonScore.
    struct Entry {
        uint96 singletonScore;
        uint96 memberScore;
        uint32 coalitionPlusOne;
    }

    /// @notice One coalition of a slot.
    /// @param score Sum of its members' scores, EPOS base units.
    /// @param size Number of members.
    /// @param validator Its member with the highest member score; ties to the lower address.
    struct Coalition {
        uint96 score;
        uint32 size;
        address validator;
    }

    /// @notice The header of a slot's accepted result.
    /// @param tradesHash keccak256(abi.encode(Trade[])) of the slot's trade list (see MiningRewardEscrow).
    /// @param acceptedAt Block timestamp of acceptance (0: no result yet); the miner draw's windows start here.
    /// @param participants Number of scored participants. @param coalitions Number of coalitions.
    /// @param totalScore Sum of all coalition scores, EPOS base units.
    struct SlotResult {
        bytes32 tradesHash;
        uint64 acceptedAt;
        uint32 participants;
        uint32 coalitions;
        uint128 totalScore;
    }

    /// @notice The header of `slot`'s result (all zero if none was accepted).
    function slotResult(uint256 slot) external view returns (SlotResult memory);

    /// @notice `account`'s entry in `slot` (all zero if it was not scored).
    function entryOf(uint256 slot, address account) external view returns (Entry memory);

    /// @notice Coalition `coalition` of `slot` (all zero if there is no such coalition).
    function coalitionOf(uint256 slot, uint256 coalition) external view returns (Coalition memory);

    /// @notice The scores of every coalition of `slot`, in coalition order (EPOS base units).
    function coalitionScores(uint256 slot) external view returns (uint256[] memory);
}
