// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IPurchasePremium
/// @notice What an order book asks of an optional premium source when a buy order is placed: the price
/// multiplier of the order's delivery period and who is paid the part above x1.0. Seed 002's
/// {PenaltySchedule} is one; docs/peak_control-contracts.md.
interface IPurchasePremium {
    /// @notice The price multiplier of delivery period `period` in basis points (10000 = x1.0, no premium).
    function multiplierBps(uint256 period) external view returns (uint256);

    /// @notice The account paid the premiums.
    function premiumRecipient() external view returns (address);
}
