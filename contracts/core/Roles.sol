// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Roles
/// @notice The role identifiers of Kilowatt Exchange. The {ParticipantRegistry} holds every grant;
/// every other contract asks it through {RegistryGated}.
library Roles {
    /// @dev ADMIN is OpenZeppelin's DEFAULT_ADMIN_ROLE: it grants and revokes every other role.
    bytes32 internal constant ADMIN = 0x00;
    /// @dev System operator / distribution centre: registers participants, grid fallback counterparty.
    bytes32 internal constant OPERATOR = keccak256("OPERATOR_ROLE");
    /// @dev Smart-meter oracle: attests delivered or surplus energy.
    bytes32 internal constant METER = keccak256("METER_ROLE");
    /// @dev Off-chain worker that submits computed results (scores, matches, partitions).
    bytes32 internal constant SCORER = keccak256("SCORER_ROLE");
    /// @dev Block validator / miner in the consensus mechanisms.
    bytes32 internal constant VALIDATOR = keccak256("VALIDATOR_ROLE");
    /// @dev Contracts allowed to hold EPOS on behalf of participants (staking).
    bytes32 internal constant STAKING = keccak256("STAKING_ROLE");
    /// @dev Market contracts allowed to burn delivered energy credits.
    bytes32 internal constant MARKET = keccak256("MARKET_ROLE");
    /// @dev Peak-control worker (seed 002): publishes penalty vectors and recommendation commitments.
    bytes32 internal constant PAR_CONTROL = keccak256("PAR_CONTROL_ROLE");
}
