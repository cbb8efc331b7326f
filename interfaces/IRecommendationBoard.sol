// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IRecommendationBoard
/// @notice Seed 002's buyers' recommendations on chain: per trading day one Merkle root over every
/// participant's recommended 24-hour purchase schedule (Wh per hour), committed by the peak-control worker
/// (registry role PAR_CONTROL) in the day's update window, the `updateSeconds` before its trading gate opens.
/// A participant reads its own schedule by presenting it with its proof; reads of any day revert while an
/// update window is open (the paper's R3: readable all through the trading cycle except in a short update
/// window). Every day's root stays readable (the history). Leaves are OpenZeppelin's standard double hash
/// `keccak256(bytes.concat(keccak256(abi.encode(day, participant, whPerHour))))` with `whPerHour` a
/// uint256[24], and pairs are hashed sorted ({MerkleProof}). docs/peak_control-contracts.md.
interface IRecommendationBoard {
    /// @notice A schedule needs exactly `expected` (24) hourly amounts, got `length`.
    error RecommendationLength(uint256 length, uint256 expected);
    /// @notice A commitment needs a non-zero root.
    error EmptyRoot();
    /// @notice Day `day`'s commitment is taken only in its update window [`opensAt`, `closesAt`).
    error OutsideUpdateWindow(uint256 day, uint256 opensAt, uint256 closesAt);
    /// @notice Recommendations are being updated until `readableAt`; read again then.
    error RecommendationsUpdating(uint256 readableAt);
    /// @notice No recommendations were committed for day `day`.
    error RecommendationsNotCommitted(uint256 day);
    /// @notice The schedule and proof do not prove `participant`'s recommendation for day `day`.
    error InvalidRecommendationProof(uint256 day, address participant);

    /// @notice Day `day`'s recommendations for `participants` participants, committed as `root`.
    event RecommendationsCommitted(uint256 indexed day, bytes32 root, uint256 participants);

    /// @notice Commits day `day`'s recommendations. Only PAR_CONTROL, in the day's update window (TradingDays.updateWindow), once per day
    /// (a second root reverts `ResultAlreadyAccepted`).
    function commit(uint256 day, bytes32 root, uint256 participants) external;

    /// @notice Checks `participant`'s schedule for day `day` (Wh per hour, 24 values) against the committed
    /// root with `proof`; returns the day's total Wh. Reverts while an update window is open, for a day without
    /// a commitment, and for a schedule or proof that is not `participant`'s.
    function recommendation(uint256 day, address participant, uint256[] calldata whPerHour, bytes32[] calldata proof)
        external
        view
        returns (uint256 totalWh);

    /// @notice Day `day`'s root (zero if none).
    function rootOf(uint256 day) external view returns (bytes32);

    /// @notice Whether an update window is open now, and when it closes (0 if none is open).
    function updating() external view returns (bool open, uint256 readableAt);
}
