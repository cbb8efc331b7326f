// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IMinerSelection
/// @notice The miner draw of one seed 001 slot: commit-reveal randomness among the slot's participants,
/// a draw of one coalition with probability proportional to its score, its highest-score member as
/// validator, and exclusion and redraw when a validator misses its mining window or mines an invalid
/// block. The windows start when the slot's result is accepted by the ProofScoreRegistry.
interface IMinerSelection {
    /// @notice Window lengths in seconds. Commit: (acceptedAt, acceptedAt + commitSeconds]; reveal: the
    /// next revealSeconds; draw: the drawSeconds after the reveal deadline (a later draw voids the slot); a
    /// drawn validator has miningSeconds from its draw to mine; a mined block can be reported invalid for
    /// challengeSeconds after it was mined, then it can be made final.
    struct Windows {
        uint64 commitSeconds;
        uint64 revealSeconds;
        uint64 miningSeconds;
        uint64 challengeSeconds;
        uint64 drawSeconds;
    }

    /// @notice Where a slot's draw stands. Open: not drawn yet. Mining: a validator is drawn and may
    /// mine. Mined: its block awaits the end of the challenge window. Final: the block is final (made so by
    /// anyone after the challenge window). Void: no miner for this slot (nobody revealed, or every
    /// coalition with a positive score was excluded or skipped).
    enum Status {
        Open,
        Mining,
        Mined,
        Final,
        Void
    }

    /// @notice The last moment (unix seconds) a commitment for `slot` is accepted.
    function commitDeadline(uint256 slot) external view returns (uint256);

    /// @notice The last moment (unix seconds) a reveal for `slot` is accepted; the draw may follow.
    function revealDeadline(uint256 slot) external view returns (uint256);

    /// @notice The coalition and validator whose block for `slot` is final. Reverts BlockNotFinal otherwise.
    function finalMiner(uint256 slot) external view returns (uint256 coalition, address validator);

    /// @notice Whether `slot` ended without a miner.
    function isVoid(uint256 slot) external view returns (bool);
}
