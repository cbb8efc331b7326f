// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IUposLedger} from "./IUposLedger.sol";

/// @title IUposAccounts
/// @notice Deposit, withdraw and read internal UPOS balances (pull pattern), for contracts whose only
/// internal balances are UPOS (EVExchange, MiningRewardEscrow).
interface IUposAccounts is IUposLedger {
    /// @notice Moves `amount` UPOS base units from the caller's wallet (approve the contract first) into
    /// its balance here. Anyone; reverts {ZeroAmount} for 0.
    /// @param amount UPOS base units.
    function deposit(uint256 amount) external;

    /// @notice Pays `amount` UPOS base units of the caller's balance here out to its wallet. Reverts
    /// {ZeroAmount} for 0 and {InsufficientBalance} beyond the balance.
    /// @param amount UPOS base units.
    function withdraw(uint256 amount) external;

    /// @notice The UPOS base units `account` holds here.
    /// @param account The account.
    function balanceOf(address account) external view returns (uint256);
}
