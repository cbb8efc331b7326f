// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IParticipantRegistryErrors
/// @notice The errors of the {ParticipantRegistry}, declared apart so that a contract whose calls reach the
/// registry (the order book checks its traders with `requireActive`) carries them in its own ABI and a
/// client decodes a revert that bubbles up from the registry by name.
interface IParticipantRegistryErrors {
    /// @notice `account` is already registered.
    error ParticipantAlreadyRegistered(address account);
    /// @notice `account` was never registered.
    error ParticipantNotRegistered(address account);
    /// @notice `account` is registered but deactivated.
    error ParticipantInactive(address account);
    /// @notice `Kind.None` is not a kind one can register as.
    error InvalidKind();
    /// @notice Battery data is inconsistent: an EV needs 0 <= socMin < socMax <= capacity, a prosumer none.
    error InvalidBattery(uint64 capacityWh, uint64 socMinWh, uint64 socMaxWh);
}
