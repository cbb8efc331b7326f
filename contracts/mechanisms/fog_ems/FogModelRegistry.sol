// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ParticipantRegistry} from "../../core/ParticipantRegistry.sol";
import {RegistryGated} from "../../core/RegistryGated.sol";
import {ResultKeys} from "../../core/ResultKeys.sol";
import {Roles} from "../../core/Roles.sol";
import {IFogModelRegistry} from "../../../interfaces/IFogModelRegistry.sol";

/// @title FogModelRegistry
/// @notice The versions of seed 000's global LSTM forecaster, one record per FedAvg round. The
/// aggregator is the SCORER role: the worker that submits computed results. Each version is a result key
/// (MECHANISM, version) accepted once, so an aggregator worker that crashes after sending a round and
/// sends it again on restart is refused with {ResultKeys-ResultAlreadyAccepted}. See {IFogModelRegistry}.
contract FogModelRegistry is IFogModelRegistry, RegistryGated, ResultKeys {
    /// @notice The ResultKeys mechanism id of a FedAvg round; the slot is the round's version.
    bytes32 public constant MECHANISM = keccak256("seed000.fedavg");

    /// @dev A published round; `publishedAt` 0 means none.
    struct Round {
        bytes32 contentHash;
        uint64 publishedAt;
        address aggregator;
    }

    uint256 private _latestVersion;
    uint256 private _roundCount;
    mapping(uint256 version => Round) private _rounds;
    mapping(uint256 version => Contribution[]) private _contributions;

    /// @param registry_ Registry of participants and roles (SCORER publishes rounds).
    constructor(ParticipantRegistry registry_) RegistryGated(registry_) {}

    /// @inheritdoc IFogModelRegistry
    function publishRound(
        uint256 version,
        bytes32 contentHash,
        address[] calldata contributors,
        uint96[] calldata sampleCounts
    ) external onlyRegistryRole(Roles.SCORER) {
        // Before the version rule, so that a round sent twice reverts with the error the worker runtime
        // recognises as "already done" rather than as a rejected result.
        _acceptOnce(MECHANISM, version);
        if (_roundCount != 0 && version <= _latestVersion) revert VersionNotIncreasing(version, _latestVersion);
        if (contentHash == bytes32(0)) revert ZeroContentHash();
        if (sampleCounts.length != contributors.length) {
            revert ContributorCountMismatch(contributors.length, sampleCounts.length);
        }
        Contribution[] storage contributions = _contributions[version];
        for (uint256 k; k < contributors.length; ++k) {
            address contributor = contributors[k];
            if (k != 0 && contributor <= contributors[k - 1]) revert ContributorsNotAscending(k);
            if (!registry.isActive(contributor, ParticipantRegistry.Kind.None)) {
                revert ContributorNotActive(contributor);
            }
            contributions.push(Contribution(contributor, sampleCounts[k]));
        }
        _rounds[version] = Round(contentHash, uint64(block.timestamp), msg.sender);
        _latestVersion = version;
        ++_roundCount;
        emit ModelRoundPublished(version, contentHash, msg.sender, contributors, sampleCounts);
    }

    /// @inheritdoc IFogModelRegistry
    function latest() external view returns (bool published, uint256 version, bytes32 contentHash) {
        published = _roundCount != 0;
        version = _latestVersion;
        contentHash = _rounds[version].contentHash;
    }

    /// @inheritdoc IFogModelRegistry
    function roundOf(uint256 version)
        external
        view
        returns (bytes32 contentHash, uint256 publishedAt, address aggregator, Contribution[] memory contributions)
    {
        Round memory round = _rounds[version];
        if (round.publishedAt == 0) revert UnknownVersion(version);
        return (round.contentHash, round.publishedAt, round.aggregator, _contributions[version]);
    }

    /// @inheritdoc IFogModelRegistry
    function roundCount() external view returns (uint256) {
        return _roundCount;
    }
}
