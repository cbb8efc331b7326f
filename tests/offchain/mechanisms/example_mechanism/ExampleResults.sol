// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ParticipantRegistry} from "contracts/core/ParticipantRegistry.sol";
import {RegistryGated} from "contracts/core/RegistryGated.sol";
import {ResultKeys} from "contracts/core/ResultKeys.sol";
import {Roles} from "contracts/core/Roles.sol";

/// @title ExampleResults
/// @notice The example mechanism of docs/adding-a-mechanism.md: one value per slot, submitted by the SCORER
/// and accepted once. A test fixture: it lives beside its Python package and is compiled by the test.
contract ExampleResults is RegistryGated, ResultKeys {
    /// @notice The ResultKeys mechanism id of a slot's value.
    bytes32 public constant MECHANISM = keccak256("example.results");

    /// @notice The largest value a slot may carry (constructor term).
    uint256 public immutable maxValue;

    /// @notice The accepted value of each slot (0 until accepted).
    mapping(uint256 slot => uint256) public resultOf;

    /// @notice `value` is above `maxValue`.
    error ValueTooLarge(uint256 value, uint256 maxValue);

    /// @notice The value of `slot` was accepted.
    event ResultRecorded(uint256 indexed slot, uint256 value);

    constructor(ParticipantRegistry registry_, uint256 maxValue_) RegistryGated(registry_) {
        if (maxValue_ == 0) revert ZeroAmount();
        maxValue = maxValue_;
    }

    /// @notice Records `value` for `slot`, once; only the SCORER. Reverts ValueTooLarge or ResultAlreadyAccepted.
    function submitResult(uint256 slot, uint256 value) external onlyRegistryRole(Roles.SCORER) {
        if (value > maxValue) revert ValueTooLarge(value, maxValue);
        _acceptOnce(MECHANISM, slot);
        resultOf[slot] = value;
        emit ResultRecorded(slot, value);
    }
}
