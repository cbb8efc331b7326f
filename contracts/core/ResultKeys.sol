// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title ResultKeys
/// @notice Accept-once bookkeeping for off-chain results. Every result a worker submits is keyed by
/// (mechanism, slot); a key is accepted once, so a worker that crashes after sending and resubmits on
/// restart is refused instead of counted twice. Workers read {isAccepted} to skip work already done.
abstract contract ResultKeys {
    mapping(bytes32 mechanism => mapping(uint256 slot => bool)) private _accepted;

    /// @notice A result for (`mechanism`, `slot`) was accepted before.
    error ResultAlreadyAccepted(bytes32 mechanism, uint256 slot);

    /// @notice Emitted once per accepted (mechanism, slot) key, by the account that submitted it.
    event ResultAccepted(bytes32 indexed mechanism, uint256 indexed slot, address indexed submitter);

    /// @notice Whether a result for (`mechanism`, `slot`) has been accepted.
    function isAccepted(bytes32 mechanism, uint256 slot) public view returns (bool) {
        return _accepted[mechanism][slot];
    }

    function _acceptOnce(bytes32 mechanism, uint256 slot) internal {
        if (_accepted[mechanism][slot]) revert ResultAlreadyAccepted(mechanism, slot);
        _accepted[mechanism][slot] = true;
        emit ResultAccepted(mechanism, slot, msg.sender);
    }
}
