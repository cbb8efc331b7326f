// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

/// @dev Stand-in for OpenZeppelin's ReentrancyGuardTransient in the shanghai build that Ganache 7 runs (it has no
/// EIP-1153 transient storage): the same modifiers and error from OpenZeppelin's storage-based ReentrancyGuard.
abstract contract ReentrancyGuardTransient is ReentrancyGuard {}
