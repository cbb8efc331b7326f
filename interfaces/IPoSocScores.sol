// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IPoSocScores
/// @notice Seed 001 ch. 4's Proof-of-State-of-Charge scores (eq. 4.1): one signed score per EV per hour, only
/// for an EV parked in that hour (V2VSettlement's sessions), and each EV's day total PS^H (eq. 4.17), which
/// weighs the midnight draw of the next aggregator (eq. 4.18, negative totals count as 0). Scores in EPOS
/// base units (1e18 per kWh-equivalent point); the aggregator (SCORER) submits them.
interface IPoSocScores {
    /// @notice `evs` and `scores` differ in length.
    error ScoreArraysMismatch(uint256 evs, uint256 scores);
    /// @notice A submission with no score.
    error EmptyScores(uint256 hour);
    /// @notice `ev` is not parked in `hour`.
    error EvNotParked(address ev, uint256 hour);
    /// @notice `ev` already has a score for `hour`.
    error ScoreAlreadySubmitted(address ev, uint256 hour);
    /// @notice `score` does not fit in 96 bits (signed).
    error ScoreOutOfRange(int256 score);

    /// @notice `ev` scored `score` in `hour`; its total for the day is now `dailyTotal`.
    event ScoreSubmitted(uint256 indexed hour, address indexed ev, int256 score, int256 dailyTotal);

    /// @notice Records one score per listed EV for `hour`. Only SCORER.
    /// @param hour The hour (day = hour / 24). @param evs The scored EVs. @param scores Their scores.
    function submitScores(uint256 hour, address[] calldata evs, int256[] calldata scores) external;

    /// @notice Whether `ev` has a score for `hour`, and the score.
    function scoreOf(uint256 hour, address ev) external view returns (bool submitted, int256 score);

    /// @notice `ev`'s PS^H for `day`: the sum of its hourly scores.
    function dailyScore(uint256 day, address ev) external view returns (int256);

    /// @notice `ev`'s weight in `day`'s draw: its PS^H clipped at 0.
    function drawWeight(uint256 day, address ev) external view returns (uint256);
}
