// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IOrderGate
/// @notice What an order book asks of an optional order gate after it placed an order: admit it (and
/// record it) or revert, which undoes the whole placement. Seed 003's {BatteryWindows} is one: an EV may
/// not bid beyond its battery window; docs/adbev-contracts.md.
interface IOrderGate {
    /// @notice Admits an order of `quantityWh` Wh placed by `owner` for delivery `period` (a buy if
    /// `isBuy`), or reverts with the gate's own error. Only the book the gate serves.
    function admitOrder(address owner, uint256 period, bool isBuy, uint256 quantityWh) external;
}
