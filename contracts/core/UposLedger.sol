// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IUposLedger} from "../../interfaces/IUposLedger.sol";

/// @title UposLedger
/// @notice Internal UPOS balances of a contract that keeps its users' money: deposit once, pay and be paid
/// inside the contract many times, withdraw (pull pattern). Used by the order book (its UPOS side), the
/// EV exchange and the mining reward escrow.
/// @dev Every balance change passes through {_update}, as every ERC-20 move passes through OpenZeppelin's
/// ERC20._update, so the rule that nobody spends more than it holds lives in one place. `_update` emits
/// nothing: its caller emits the event that says why the balance moved ({Deposited}, {Withdrawn}, a trade,
/// a settlement, a refund), so that each move is logged once and a matching loop pays for one log per fill.
/// Credits are unchecked, as in ERC20._update: every credit is UPOS the contract received (a deposit, a
/// fee) or took out of a balance or a lock, so by the end of each transaction the balances add up to at
/// most the UPOS the contract holds, far below 2^256 (the order book's matching loop pays for no overflow
/// check per fill). {_deposit} and {_withdraw} call the token after every state change
/// (checks-effects-interactions); the external function that calls them must be `nonReentrant`.
abstract contract UposLedger is IUposLedger, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice The settlement token the balances are kept in.
    IERC20 public immutable upos;

    mapping(address account => uint256 amount) private _balances;

    /// @param upos_ The settlement token; reverts {ZeroAddress} for address(0).
    constructor(IERC20 upos_) {
        if (address(upos_) == address(0)) revert ZeroAddress();
        upos = upos_;
    }

    /// @dev The balance of `account`, UPOS base units.
    function _balanceOf(address account) internal view returns (uint256) {
        return _balances[account];
    }

    /// @dev Moves `amount` UPOS base units from `from`'s balance to `to`'s. `from` = address(0) credits `to`
    /// with UPOS the contract holds outside every balance (a deposit, a released lock, a refunded fee);
    /// `to` = address(0) takes it out of every balance (a withdrawal, a lock). Reverts
    /// {InsufficientBalance} when `from` holds less than `amount`.
    function _update(address from, address to, uint256 amount) internal {
        if (from != address(0)) {
            uint256 available = _balances[from];
            if (available < amount) revert InsufficientBalance(from, available, amount);
            unchecked {
                _balances[from] = available - amount;
            }
        }
        if (to != address(0)) {
            unchecked {
                _balances[to] += amount;
            }
        }
    }

    /// @dev Pulls `amount` from `account`'s wallet (it approved this contract) into its balance.
    function _deposit(address account, uint256 amount) internal {
        if (amount == 0) revert ZeroAmount();
        _update(address(0), account, amount);
        emit Deposited(account, amount);
        upos.safeTransferFrom(account, address(this), amount);
    }

    /// @dev Pays `amount` of `account`'s balance out to its wallet.
    function _withdraw(address account, uint256 amount) internal {
        if (amount == 0) revert ZeroAmount();
        _update(account, address(0), amount);
        emit Withdrawn(account, amount);
        upos.safeTransfer(account, amount);
    }
}
