// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IKwxErrors} from "./IKwxErrors.sol";

/// @title IUposLedger
/// @notice What every contract keeping internal UPOS balances (contracts/core/UposLedger.sol) announces:
/// money entering and leaving the contract. Moves between balances inside it are told by each contract's
/// own events (trades, settlements, refunds).
interface IUposLedger is IKwxErrors {
    /// @notice `account` moved `amount` UPOS base units from its wallet into its balance here.
    event Deposited(address indexed account, uint256 amount);
    /// @notice `account` moved `amount` UPOS base units of its balance here back to its wallet.
    event Withdrawn(address indexed account, uint256 amount);
}
