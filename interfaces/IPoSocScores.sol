// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IPoSocScores
/// @notice Seed 001 ch. 4's Proof-of-State-of-Charge scores (eq. 4.1): one signed score per EV per hour, only
/// for an EV parked in that hour (V2VSettlement's sessions), and each EV's day total PS^H (eq. 4.17), which
/// weighs the midnight draw of the next aggregator mLAG (eq. 4.18, negative totals count as 0; no positive
/// total: every scored EV weighs 1). Scores in EPOS base units (1e18 per kWh-equivalent point); the
/// aggregator (SCORER) submits them, once per hour, and closes the day at midnight.
/// The draw's randomness is the hash of the block after the one that closed the day (docs/v2v-contracts.md):
/// fixed once that block exists, unknown while the day's scores could still change.
interface IPoSocScores {
    /// @notice `evs` and `scores` differ in length.
    error ScoreArraysMismatch(uint256 evs, uint256 scores);
    /// @notice A submission with no score.
    error EmptyScores(uint256 hour);
    /// @notice `ev` is not parked in `hour`.
    error EvNotParked(address ev, uint256 hour);
    /// @notice `ev` already has a score for `hour` (listed twice in one submission).
    error ScoreAlreadySubmitted(address ev, uint256 hour);
    /// @notice `score` does not fit in 96 bits (signed).
    error ScoreOutOfRange(int256 score);
    /// @notice `day` is closed: its scores are final and weigh its draw.
    error DayClosed(uint256 day);
    /// @notice `day` would have more than `maximum` scored EVs (bounds the draw's gas).
    error TooManyEvs(uint256 day, uint256 maximum);
    /// @notice Nobody was scored on `day`: there is nothing to draw from.
    error NoScoresForDay(uint256 day);
    /// @notice `day` is not closed yet.
    error DayNotClosed(uint256 day);
    /// @notice `day`'s aggregator was drawn already.
    error AlreadyDrawn(uint256 day, address aggregator);
    /// @notice `day`'s draw needs the hash of block `drawBlock`, which is not below the current block `current`.
    error DrawTooEarly(uint256 day, uint256 drawBlock, uint256 current);

    /// @notice `ev` scored `score` in `hour`; its total for the day is now `dailyTotal`.
    event ScoreSubmitted(uint256 indexed hour, address indexed ev, int256 score, int256 dailyTotal);
    /// @notice `day` was closed with `evs` scored EVs; its draw uses the hash of block `drawBlock`.
    event DayClosedForDraw(uint256 indexed day, uint256 evs, uint256 drawBlock);
    /// @notice The hash of `day`'s draw block fell out of the last 256 blocks before anyone drew: the draw
    /// now uses block `drawBlock`.
    event DrawRearmed(uint256 indexed day, uint256 drawBlock);
    /// @notice `aggregator` (weight `weight` of `totalWeight`) was drawn as mLAG for the day after `day`, from
    /// `seed`.
    event AggregatorDrawn(
        uint256 indexed day, address indexed aggregator, bytes32 seed, uint256 weight, uint256 totalWeight
    );

    /// @notice Records one score per listed EV for `hour`, once per hour (ResultKeys (SCORES, hour)). Only SCORER.
    /// @param hour The hour (day = hour / 24). @param evs The scored EVs. @param scores Their scores.
    function submitScores(uint256 hour, address[] calldata evs, int256[] calldata scores) external;

    /// @notice Closes `day` at midnight: no more scores for it; its draw uses the hash of the next block.
    /// Once per day (ResultKeys (CLOSES, day)). Only SCORER.
    /// @param day The day.
    function closeDay(uint256 day) external;

    /// @notice Draws `day`'s next aggregator by weighted random choice over its scored EVs (in first-scored
    /// order; weight = drawWeight). Anyone, once, after the draw block. If the draw block's hash is no
    /// longer available (256 blocks later) the draw is re-armed on the next block and nobody is drawn.
    /// @param day The day.
    /// @return aggregator The drawn EV (address(0) when re-armed).
    function drawAggregator(uint256 day) external returns (address aggregator);

    /// @notice Whether `ev` has a score for `hour`, and the score.
    function scoreOf(uint256 hour, address ev) external view returns (bool submitted, int256 score);

    /// @notice `ev`'s PS^H for `day`: the sum of its hourly scores.
    function dailyScore(uint256 day, address ev) external view returns (int256);

    /// @notice `ev`'s weight in `day`'s draw: its PS^H clipped at 0.
    function drawWeight(uint256 day, address ev) external view returns (uint256);

    /// @notice The EVs scored on `day`, in the order of their first score (the draw's order).
    function evsOf(uint256 day) external view returns (address[] memory);

    /// @notice `day`'s draw: whether it is closed, the block whose hash seeds it, the drawn aggregator
    /// (address(0) until drawn).
    function drawOf(uint256 day) external view returns (bool closed, uint256 drawBlock, address aggregator);

    /// @notice The aggregator drawn for `day` (address(0) until drawn).
    function aggregatorOf(uint256 day) external view returns (address);
}
