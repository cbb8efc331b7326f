// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {ParticipantRegistry} from "./ParticipantRegistry.sol";
import {IKwxErrors} from "../../interfaces/IKwxErrors.sol";

/// @title RegistryGated
/// @notice Base for contracts whose rights are granted in the {ParticipantRegistry}. A caller without
/// the role is rejected with OpenZeppelin's `AccessControlUnauthorizedAccount(account, role)`, the same
/// error the registry itself uses, so clients decode one error for every contract. Gated contracts get
/// the shared errors ({IKwxErrors}) through this base.
abstract contract RegistryGated is IKwxErrors {
    /// @notice The registry every role and participant check is made against.
    ParticipantRegistry public immutable registry;

    constructor(ParticipantRegistry registry_) {
        if (address(registry_) == address(0)) revert ZeroAddress();
        registry = registry_;
    }

    modifier onlyRegistryRole(bytes32 role) {
        _checkRegistryRole(role, msg.sender);
        _;
    }

    function _checkRegistryRole(bytes32 role, address account) internal view {
        if (!registry.hasRole(role, account)) revert IAccessControl.AccessControlUnauthorizedAccount(account, role);
    }
}
