// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ParticipantRegistry} from "../../core/ParticipantRegistry.sol";
import {RegistryGated} from "../../core/RegistryGated.sol";
import {Roles} from "../../core/Roles.sol";
import {IPoSocScores} from "../../../interfaces/IPoSocScores.sol";
import {IV2VSettlement} from "../../../interfaces/IV2VSettlement.sol";

/// @title PoSocScores
/// @notice One PoSOC score per EV per hour, only for parked EVs, and each EV's daily total. See {IPoSocScores}.
/// @dev Not the shared ProofScoreRegistry: PoSOC scores are signed (a net charger scores below zero), hourly,
/// per EV and tied to the parking sessions; the registry's are unsigned per-slot coalition scores. The draw
/// weight clips at zero, as eq. 4.18 needs (docs/v2v-contracts.md).
contract PoSocScores is IPoSocScores, RegistryGated {
    uint256 private constant HOURS_PER_DAY = 24;

    /// @notice Where the parking sessions live.
    IV2VSettlement public immutable settlement;

    /// @dev A score and whether it was submitted, in one word.
    struct Stored {
        int96 score;
        bool submitted;
    }

    mapping(uint256 hour => mapping(address ev => Stored)) private _scores;
    mapping(uint256 day => mapping(address ev => int256)) private _daily;

    /// @param registry_ Registry of roles (SCORER submits).
    /// @param settlement_ The V2VSettlement holding the parking sessions.
    constructor(ParticipantRegistry registry_, IV2VSettlement settlement_) RegistryGated(registry_) {
        if (address(settlement_) == address(0)) revert ZeroAddress();
        settlement = settlement_;
    }

    /// @inheritdoc IPoSocScores
    function submitScores(uint256 hour, address[] calldata evs, int256[] calldata scores)
        external
        onlyRegistryRole(Roles.SCORER)
    {
        if (evs.length != scores.length) revert ScoreArraysMismatch(evs.length, scores.length);
        if (evs.length == 0) revert EmptyScores(hour);
        uint256 day = hour / HOURS_PER_DAY;
        for (uint256 k; k < evs.length; ++k) {
            address ev = evs[k];
            int256 score = scores[k];
            if (!settlement.isParkedAt(ev, hour)) revert EvNotParked(ev, hour);
            Stored storage stored = _scores[hour][ev];
            if (stored.submitted) revert ScoreAlreadySubmitted(ev, hour);
            if (score > type(int96).max || score < type(int96).min) revert ScoreOutOfRange(score);
            (stored.score, stored.submitted) = (SafeCast.toInt96(score), true);
            int256 total = _daily[day][ev] + score;
            _daily[day][ev] = total;
            emit ScoreSubmitted(hour, ev, score, total);
        }
    }

    /// @inheritdoc IPoSocScores
    function scoreOf(uint256 hour, address ev) external view returns (bool submitted, int256 score) {
        Stored memory stored = _scores[hour][ev];
        return (stored.submitted, stored.score);
    }

    /// @inheritdoc IPoSocScores
    function dailyScore(uint256 day, address ev) external view returns (int256) {
        return _daily[day][ev];
    }

    /// @inheritdoc IPoSocScores
    function drawWeight(uint256 day, address ev) external view returns (uint256) {
        int256 total = _daily[day][ev];
        return total > 0 ? uint256(total) : 0;
    }
}
