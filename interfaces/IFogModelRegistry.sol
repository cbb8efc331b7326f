// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IFogModelRegistry
/// @notice Seed 000's LSTM contract: the record of the grid's global forecasting model. Each federated
/// averaging (FedAvg) round publishes a version (strictly increasing), the sha256 content hash of the
/// averaged parameters (offchain/algorithms/forecasting.py `state_hash`) and the fog nodes whose local
/// models went into it with their sample counts (the FedAvg weights). The parameters stay off chain;
/// a fog node that joins pulls the latest version from the aggregator and checks it against the hash.
interface IFogModelRegistry {
    /// @notice A round's contributor and the number of samples its local model was trained on.
    struct Contribution {
        address contributor;
        uint96 samples;
    }

    /// @notice Version `version` must exceed the latest published version `latestVersion`.
    error VersionNotIncreasing(uint256 version, uint256 latestVersion);
    /// @notice A round needs a content hash.
    error ZeroContentHash();
    /// @notice One sample count per contributor.
    error ContributorCountMismatch(uint256 contributors, uint256 sampleCounts);
    /// @notice Contributors must be listed in strictly ascending address order (no one twice);
    /// `index` breaks it.
    error ContributorsNotAscending(uint256 index);
    /// @notice `account` is not an active participant.
    error ContributorNotActive(address account);
    /// @notice No round `version` was published.
    error UnknownVersion(uint256 version);

    /// @notice Round `version` published by `aggregator`: parameters hashing to `contentHash`, averaged
    /// from the local models of `contributors` weighted by `sampleCounts`.
    event ModelRoundPublished(
        uint256 indexed version,
        bytes32 indexed contentHash,
        address indexed aggregator,
        address[] contributors,
        uint96[] sampleCounts
    );

    /// @notice Publishes a FedAvg round. Only SCORER (the aggregator worker). Each version is published
    /// once (the implementation's accept-once result key (keccak256("seed000.fedavg"), version): a second
    /// publication of a version reverts `ResultAlreadyAccepted`); `version` above every earlier one (any
    /// for the first round, e.g. 0 for the initial model with no contributors); `contributors` active
    /// participants in ascending address order, `sampleCounts` aligned.
    function publishRound(
        uint256 version,
        bytes32 contentHash,
        address[] calldata contributors,
        uint96[] calldata sampleCounts
    ) external;

    /// @notice Whether any round was published, and the latest version and its hash.
    function latest() external view returns (bool published, uint256 version, bytes32 contentHash);

    /// @notice Round `version` (reverts {UnknownVersion} if never published).
    function roundOf(uint256 version)
        external
        view
        returns (bytes32 contentHash, uint256 publishedAt, address aggregator, Contribution[] memory contributions);

    /// @notice The number of rounds published.
    function roundCount() external view returns (uint256);
}
