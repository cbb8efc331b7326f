// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ParticipantRegistry} from "../core/ParticipantRegistry.sol";
import {RegistryGated} from "../core/RegistryGated.sol";
import {Roles} from "../core/Roles.sol";

/// @title UPOS
/// @notice The utility / settlement token of Kilowatt Exchange (18 decimals, EIP-2612 permit). Every
/// market, fee and reward settles in UPOS. Prices are quoted in UPOS base units per kWh.
contract UPOS is ERC20, ERC20Permit, RegistryGated {
    /// @param registry_ The registry whose ADMIN may mint.
    constructor(ParticipantRegistry registry_)
        ERC20("Kilowatt Exchange Utility", "UPOS")
        ERC20Permit("Kilowatt Exchange Utility")
        RegistryGated(registry_)
    {}

    /// @notice Mints `amount` base units to `to`. Only ADMIN (the faucet on local networks).
    function mint(address to, uint256 amount) external onlyRegistryRole(Roles.ADMIN) {
        _mint(to, amount);
    }
}
