// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IPurchasePremium} from "./IPurchasePremium.sol";

/// @title IPenaltySchedule
/// @notice Seed 002's sellers' strategy on chain: one 24-hour vector of price multipliers per trading day,
/// published by the peak-control worker (registry role PAR_CONTROL) before that day's trading gate opens, from
/// the previous day's aggregate purchases (offchain/algorithms/par_search.py `penalty_vector`). Multipliers are
/// basis points, 10000 = x1.0 (no penalty) to 15000 = x1.5. Hour `h` of day `d` is hourly delivery period
/// `24 d + h` of the hourly order book that shares this schedule's genesis. A buyer in a penalised hour owes
/// `payment * (multiplier - 10000) / 10000` UPOS base units on top of the payment, to {premiumRecipient}
/// ({premiumOf}). docs/peak_control-contracts.md.
interface IPenaltySchedule is IPurchasePremium {
    /// @notice A vector needs exactly `expected` (24) multipliers, got `length`.
    error PenaltyVectorLength(uint256 length, uint256 expected);
    /// @notice Hour `hour`'s multiplier `multiplierBps` lies outside [`minBps`, `maxBps`].
    error MultiplierOutOfRange(uint256 hour, uint256 multiplierBps, uint256 minBps, uint256 maxBps);
    /// @notice The reference day's PAR `parBps` exceeds 10000 (PAR = avg / max is at most 1).
    error ParOutOfRange(uint256 parBps);
    /// @notice Day `day`'s trading gate opened at `opensAt`: its penalties can no longer be published.
    error GateAlreadyOpen(uint256 day, uint256 opensAt);

    /// @notice Day `day`'s multipliers (bps per hour), from a reference day whose PAR was `referenceParBps`.
    event PenaltiesPublished(uint256 indexed day, uint16[24] multipliersBps, uint256 referenceParBps);
    /// @notice The premium now goes to `recipient`.
    event PremiumRecipientSet(address indexed recipient);

    /// @notice Publishes day `day`'s 24 multipliers (bps, each in [10000, 15000]) and the reference day's PAR
    /// (bps, at most 10000). Only PAR_CONTROL; once per day (a second vector reverts `ResultAlreadyAccepted`);
    /// only before the day's gate opens (TradingDays.gateOpens).
    function publish(uint256 day, uint16[] calldata multipliersBps, uint256 referenceParBps) external;

    /// @notice Sends future premiums to `recipient`. Only ADMIN.
    function setPremiumRecipient(address recipient) external;

    /// @notice Day `day`'s vector; all 10000 if none was published.
    function penalties(uint256 day) external view returns (uint16[24] memory multipliersBps);

    /// @notice The premium (UPOS base units) a buyer owes on `payment` for energy of hourly period `period`.
    function premiumOf(uint256 period, uint256 payment) external view returns (uint256);
}
