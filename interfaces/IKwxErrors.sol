// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IKwxErrors
/// @notice The custom errors more than one Kilowatt Exchange contract raises, each declared once so that it
/// has one signature (and selector) everywhere, in the manner of OpenZeppelin's draft-IERC6093. Contracts
/// inherit it (every RegistryGated contract does), and a client decodes these errors the same way whichever
/// contract reverted.
interface IKwxErrors {
    /// @notice `account` holds `available` here and needs `needed` (UPOS base units, or Wh of a period).
    error InsufficientBalance(address account, uint256 available, uint256 needed);
    /// @notice A zero amount where a positive one is needed (deposit, withdrawal, order quantity, attested or
    /// burned Wh, stake, minimum self-stake).
    error ZeroAmount();
    /// @notice The zero address where a contract or an account is needed.
    error ZeroAddress();
    /// @notice `account` is not an active prosumer in the registry.
    error NotAnActiveProsumer(address account);
    /// @notice `account` is not an active EV in the registry.
    error NotAnActiveEV(address account);
    /// @notice `account` is not a scored participant of `slot`.
    error NotASlotParticipant(uint256 slot, address account);
    /// @notice Constructor: a period timing that is not admissible. `genesisTime` and `periodSeconds` make
    /// the contract's {PeriodClock}; `windowSeconds` is the part of each period it reserves (the order
    /// book's gate lead, the matching's bidding window) and `bound` its other timing parameter (the order
    /// book's maxPeriodsAhead, the matching's greedyDelaySeconds).
    error InvalidTiming(uint256 genesisTime, uint256 periodSeconds, uint256 windowSeconds, uint256 bound);
    /// @notice Period 0 starts at `genesisTime`; there is no period before it.
    error BeforeGenesis(uint256 genesisTime);
}
