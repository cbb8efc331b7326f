// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {ParticipantRegistry} from "../../core/ParticipantRegistry.sol";
import {RegistryGated} from "../../core/RegistryGated.sol";
import {ResultKeys} from "../../core/ResultKeys.sol";
import {Roles} from "../../core/Roles.sol";
import {IRecommendationBoard} from "../../../interfaces/IRecommendationBoard.sol";
import {TradingDays} from "./TradingDays.sol";

/// @title RecommendationBoard
/// @notice Seed 002's daily recommendation commitments. See {IRecommendationBoard} and
/// docs/peak_control-contracts.md.
contract RecommendationBoard is IRecommendationBoard, RegistryGated, ResultKeys, TradingDays {
    /// @notice Result key of a day's commitment: (RECOMMENDATIONS, day).
    bytes32 public constant RECOMMENDATIONS = keccak256("seed002.recommendations");

    mapping(uint256 day => bytes32) private _roots;

    /// @param registry_ Registry of roles (PAR_CONTROL commits). The timing parameters: {TradingDays}.
    constructor(ParticipantRegistry registry_, uint256 genesis, uint256 hour, uint256 openLead, uint256 update)
        RegistryGated(registry_)
        TradingDays(genesis, hour, openLead, update)
    {}

    /// @inheritdoc IRecommendationBoard
    function commit(uint256 day, bytes32 root, uint256 participants) external onlyRegistryRole(Roles.PAR_CONTROL) {
        if (root == bytes32(0)) revert EmptyRoot();
        (uint256 opensAt, uint256 closesAt) = updateWindow(day);
        if (block.timestamp < opensAt || block.timestamp >= closesAt) {
            revert OutsideUpdateWindow(day, opensAt, closesAt);
        }
        _acceptOnce(RECOMMENDATIONS, day);
        _roots[day] = root;
        emit RecommendationsCommitted(day, root, participants);
    }

    /// @inheritdoc IRecommendationBoard
    function recommendation(uint256 day, address participant, uint256[] calldata whPerHour, bytes32[] calldata proof)
        external
        view
        returns (uint256 totalWh)
    {
        if (whPerHour.length != HOURS) revert RecommendationLength(whPerHour.length, HOURS);
        (bool open, uint256 readableAt) = updating();
        if (open) revert RecommendationsUpdating(readableAt);
        bytes32 root = _roots[day];
        if (root == bytes32(0)) revert RecommendationsNotCommitted(day);
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(day, participant, whPerHour))));
        if (!MerkleProof.verifyCalldata(proof, root, leaf)) revert InvalidRecommendationProof(day, participant);
        for (uint256 h = 0; h < HOURS; ++h) {
            totalWh += whPerHour[h];
        }
    }

    /// @inheritdoc IRecommendationBoard
    function rootOf(uint256 day) external view returns (bytes32) {
        return _roots[day];
    }

    /// @inheritdoc IRecommendationBoard
    function updating() public view returns (bool open, uint256 readableAt) {
        (uint256 opensAt, uint256 closesAt) = updateWindow(_nextGateDay());
        if (block.timestamp >= opensAt) return (true, closesAt);
        return (false, 0);
    }
}
