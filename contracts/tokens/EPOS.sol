// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ParticipantRegistry} from "../core/ParticipantRegistry.sol";
import {RegistryGated} from "../core/RegistryGated.sol";
import {ResultKeys} from "../core/ResultKeys.sol";
import {Roles} from "../core/Roles.sol";

/// @title EPOS
/// @notice Energy Proof Score token (18 decimals; 1e18 = one score point). Minted only by a SCORER for
/// the accepted proof scores of one (mechanism, slot), once per key. It cannot move between
/// participants: a transfer is allowed only into or out of a contract holding STAKING in the registry,
/// and only such a contract can burn (slashing burns locked stake).
contract EPOS is ERC20, RegistryGated, ResultKeys {
    /// @notice A transfer between two accounts neither of which is an approved staking contract.
    error EPOSNonTransferable(address from, address to);
    /// @notice `accounts` and `amounts` differ in length, or are empty.
    error ScoreLengthMismatch(uint256 accounts, uint256 amounts);
    /// @notice A score holder is not an active participant.
    error ScoreHolderNotActive(address account);

    /// @notice Emitted once per accepted score batch; the individual mints are ERC-20 Transfer events.
    event ScoresMinted(bytes32 indexed mechanism, uint256 indexed slot, uint256 holders, uint256 total);

    /// @param registry_ The registry granting SCORER and STAKING.
    constructor(ParticipantRegistry registry_) ERC20("Energy Proof Score", "EPOS") RegistryGated(registry_) {}

    /// @notice Mints the proof scores of (`mechanism`, `slot`): `amounts[i]` to `accounts[i]`.
    /// Only SCORER; each key once (reverts {ResultAlreadyAccepted} on a second submission).
    /// @param mechanism Mechanism id, e.g. keccak256("seed001.poeg"). @param slot Slot index.
    /// @param accounts Active participants. @param amounts Score in EPOS base units.
    function mintScores(bytes32 mechanism, uint256 slot, address[] calldata accounts, uint256[] calldata amounts)
        external
        onlyRegistryRole(Roles.SCORER)
    {
        if (accounts.length != amounts.length || accounts.length == 0) {
            revert ScoreLengthMismatch(accounts.length, amounts.length);
        }
        _acceptOnce(mechanism, slot);
        uint256 total;
        for (uint256 i; i < accounts.length; ++i) {
            if (!registry.isActive(accounts[i], ParticipantRegistry.Kind.None)) revert ScoreHolderNotActive(accounts[i]);
            _mint(accounts[i], amounts[i]);
            total += amounts[i];
        }
        emit ScoresMinted(mechanism, slot, accounts.length, total);
    }

    /// @notice Burns `amount` of the caller's own balance. Only an approved staking contract (slashing).
    function burn(uint256 amount) external onlyRegistryRole(Roles.STAKING) {
        _burn(msg.sender, amount);
    }

    /// @dev The single place where EPOS moves: mints and burns pass, transfers need a staking side.
    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0) && to != address(0)) {
            if (!registry.hasRole(Roles.STAKING, from) && !registry.hasRole(Roles.STAKING, to)) {
                revert EPOSNonTransferable(from, to);
            }
        }
        super._update(from, to, value);
    }
}
