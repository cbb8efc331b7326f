// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IKwxErrors} from "../../interfaces/IKwxErrors.sol";

/// @title PeriodClock
/// @notice Time cut into equal periods: period p lasts [genesis + p * length, genesis + (p + 1) * length),
/// unix seconds. A contract with periods keeps its genesis and length (immutables), checks them once in its
/// constructor with {isValid} and converts between periods and timestamps here, so every such contract
/// counts periods the same way.
library PeriodClock {
    /// @notice The largest genesis time and period length a clock admits (2^64 - 1 seconds). With both
    /// bounded, the start of any period below 2^64 fits in 129 bits: clock arithmetic cannot overflow.
    uint256 internal constant MAX_SECONDS = type(uint64).max;

    /// @notice Whether `genesis` and `length` make a clock: periods of positive length, both values at most
    /// MAX_SECONDS. Constructors revert {IKwxErrors-InvalidTiming} unless this and their own window rules hold.
    function isValid(uint256 genesis, uint256 length) internal pure returns (bool) {
        return length != 0 && length <= MAX_SECONDS && genesis <= MAX_SECONDS;
    }

    /// @notice When `period` starts (unix seconds).
    function startOf(uint256 genesis, uint256 length, uint256 period) internal pure returns (uint256) {
        return genesis + period * length;
    }

    /// @notice The period `timestamp` falls in; reverts {IKwxErrors-BeforeGenesis} before period 0 starts.
    function periodAt(uint256 genesis, uint256 length, uint256 timestamp) internal pure returns (uint256) {
        if (timestamp < genesis) revert IKwxErrors.BeforeGenesis(genesis);
        unchecked {
            return (timestamp - genesis) / length;
        }
    }
}
