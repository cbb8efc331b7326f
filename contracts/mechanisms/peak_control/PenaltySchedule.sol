// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ParticipantRegistry} from "../../core/ParticipantRegistry.sol";
import {RegistryGated} from "../../core/RegistryGated.sol";
import {ResultKeys} from "../../core/ResultKeys.sol";
import {Roles} from "../../core/Roles.sol";
import {IPenaltySchedule} from "../../../interfaces/IPenaltySchedule.sol";
import {IPurchasePremium} from "../../../interfaces/IPurchasePremium.sol";
import {TradingDays} from "./TradingDays.sol";

/// @title PenaltySchedule
/// @notice Seed 002's daily penalty vectors. See {IPenaltySchedule} and docs/peak_control-contracts.md.
contract PenaltySchedule is IPenaltySchedule, RegistryGated, ResultKeys, TradingDays {
    /// @notice Result key of a day's vector: (PENALTIES, day).
    bytes32 public constant PENALTIES = keccak256("seed002.penalties");
    /// @notice x1.0: no penalty.
    uint256 public constant NO_PENALTY_BPS = 10_000;
    /// @notice x1.5: the paper's largest multiplier.
    uint256 public constant MAX_PENALTY_BPS = 15_000;

    /// @inheritdoc IPurchasePremium
    address public premiumRecipient;
    mapping(uint256 day => uint16[24]) private _vectors;

    /// @param registry_ Registry of roles (PAR_CONTROL publishes, ADMIN sets the recipient).
    /// @param recipient The first premium recipient (the operator). The timing parameters: {TradingDays}.
    constructor(
        ParticipantRegistry registry_,
        address recipient,
        uint256 genesis,
        uint256 hour,
        uint256 openLead,
        uint256 update
    ) RegistryGated(registry_) TradingDays(genesis, hour, openLead, update) {
        _setPremiumRecipient(recipient);
    }

    /// @inheritdoc IPenaltySchedule
    function publish(uint256 day, uint16[] calldata multipliersBps, uint256 referenceParBps)
        external
        onlyRegistryRole(Roles.PAR_CONTROL)
    {
        if (multipliersBps.length != HOURS) revert PenaltyVectorLength(multipliersBps.length, HOURS);
        if (referenceParBps > NO_PENALTY_BPS) revert ParOutOfRange(referenceParBps);
        uint256 opensAt = gateOpens(day);
        if (block.timestamp >= opensAt) revert GateAlreadyOpen(day, opensAt);
        uint16[24] memory vector;
        for (uint256 h = 0; h < HOURS; ++h) {
            uint256 bps = multipliersBps[h];
            if (bps < NO_PENALTY_BPS || bps > MAX_PENALTY_BPS) {
                revert MultiplierOutOfRange(h, bps, NO_PENALTY_BPS, MAX_PENALTY_BPS);
            }
            vector[h] = uint16(bps);
        }
        _acceptOnce(PENALTIES, day);
        _vectors[day] = vector;
        emit PenaltiesPublished(day, vector, referenceParBps);
    }

    /// @inheritdoc IPenaltySchedule
    function setPremiumRecipient(address recipient) external onlyRegistryRole(Roles.ADMIN) {
        _setPremiumRecipient(recipient);
    }

    /// @inheritdoc IPenaltySchedule
    function penalties(uint256 day) public view returns (uint16[24] memory multipliersBps) {
        if (!isAccepted(PENALTIES, day)) {
            for (uint256 h = 0; h < HOURS; ++h) {
                multipliersBps[h] = uint16(NO_PENALTY_BPS);
            }
            return multipliersBps;
        }
        return _vectors[day];
    }

    /// @inheritdoc IPurchasePremium
    function multiplierBps(uint256 period) public view returns (uint256) {
        uint256 day = period / HOURS;
        return isAccepted(PENALTIES, day) ? _vectors[day][period % HOURS] : NO_PENALTY_BPS;
    }

    /// @inheritdoc IPenaltySchedule
    function premiumOf(uint256 period, uint256 payment) external view returns (uint256) {
        return payment * (multiplierBps(period) - NO_PENALTY_BPS) / NO_PENALTY_BPS;
    }

    function _setPremiumRecipient(address recipient) private {
        if (recipient == address(0)) revert ZeroAddress();
        premiumRecipient = recipient;
        emit PremiumRecipientSet(recipient);
    }
}
