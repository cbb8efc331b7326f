// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {PeriodClock} from "../../core/PeriodClock.sol";
import {IKwxErrors} from "../../../interfaces/IKwxErrors.sol";

/// @title TradingDays
/// @notice The peak-control contracts' calendar: trading days of 24 hourly delivery periods counted from the
/// hourly order book's genesis (day `d` = periods `24 d` to `24 d + 23`). Day `d`'s trading gate opens
/// `openLeadSeconds` before the day starts (the hourly book's `maxPeriodsAhead` hours), and its update window is
/// the `updateSeconds` before that: what a day's trading depends on (penalties, recommendations) is published
/// then.
abstract contract TradingDays is IKwxErrors {
    /// @notice Hours per trading day.
    uint256 public constant HOURS = 24;
    /// @notice Start of day 0 (unix seconds), the hourly book's genesis.
    uint256 public immutable genesisTime;
    /// @notice Length of a delivery period (seconds); a day lasts 24 of them.
    uint256 public immutable hourSeconds;
    /// @notice A day's trading gate opens this long before the day starts (seconds).
    uint256 public immutable openLeadSeconds;
    /// @notice Length of a day's update window, which ends when its gate opens (seconds).
    uint256 public immutable updateSeconds;

    /// @dev Reverts {InvalidTiming} unless the hourly clock is valid, a window and the lead fit in a day, and
    /// day 0's update window starts after the epoch.
    constructor(uint256 genesis, uint256 hour, uint256 openLead, uint256 update) {
        if (
            !PeriodClock.isValid(genesis, hour) || hour > PeriodClock.MAX_SECONDS / HOURS || update == 0
                || openLead + update > hour * HOURS || genesis < openLead + update
        ) revert InvalidTiming(genesis, hour, openLead, update);
        genesisTime = genesis;
        hourSeconds = hour;
        openLeadSeconds = openLead;
        updateSeconds = update;
    }

    /// @notice When day `day`'s trading gate opens (unix seconds).
    function gateOpens(uint256 day) public view returns (uint256) {
        return PeriodClock.startOf(genesisTime, hourSeconds * HOURS, day) - openLeadSeconds;
    }

    /// @notice Day `day`'s update window [opensAt, closesAt) (unix seconds).
    function updateWindow(uint256 day) public view returns (uint256 opensAt, uint256 closesAt) {
        closesAt = gateOpens(day);
        opensAt = closesAt - updateSeconds;
    }

    /// @dev The next day whose gate opens after now, or at now.
    function _nextGateDay() internal view returns (uint256) {
        uint256 shifted = block.timestamp + openLeadSeconds;
        if (shifted < genesisTime) return 0;
        return PeriodClock.periodAt(genesisTime, hourSeconds * HOURS, shifted) + 1;
    }
}
