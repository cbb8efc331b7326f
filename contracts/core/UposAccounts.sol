// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IUposAccounts} from "../../interfaces/IUposAccounts.sol";
import {UposLedger} from "./UposLedger.sol";

/// @title UposAccounts
/// @notice The deposit / withdraw / balance face of a {UposLedger}, for contracts whose only internal
/// balances are UPOS (EVExchange, MiningRewardEscrow). The order book keeps energy balances too and names
/// its UPOS side apart from them (depositUpos, withdrawUpos, uposFree).
abstract contract UposAccounts is IUposAccounts, UposLedger {
    /// @inheritdoc IUposAccounts
    function deposit(uint256 amount) external nonReentrant {
        _deposit(msg.sender, amount);
    }

    /// @inheritdoc IUposAccounts
    function withdraw(uint256 amount) external nonReentrant {
        _withdraw(msg.sender, amount);
    }

    /// @inheritdoc IUposAccounts
    function balanceOf(address account) external view returns (uint256) {
        return _balanceOf(account);
    }
}
