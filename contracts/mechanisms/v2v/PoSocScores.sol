// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";
import {ParticipantRegistry} from "../../core/ParticipantRegistry.sol";
import {RegistryGated} from "../../core/RegistryGated.sol";
import {ResultKeys} from "../../core/ResultKeys.sol";
import {Roles} from "../../core/Roles.sol";
import {IPoSocScores} from "../../../interfaces/IPoSocScores.sol";
import {IV2VSettlement} from "../../../interfaces/IV2VSettlement.sol";

/// @title PoSocScores
/// @notice One PoSOC score per EV per hour, only for parked EVs, each EV's daily total, and the midnight draw
/// of the next aggregator weighted by those totals. See {IPoSocScores}.
/// @dev Not the shared ProofScoreRegistry / MinerSelection: PoSOC scores are signed (a net charger scores
/// below zero), hourly, per EV and tied to the parking sessions, and the thesis draws one EV (no coalitions,
/// validators or stakes); the registry's are unsigned per-slot coalition scores. The draw weight clips at
/// zero, as eq. 4.18 needs (docs/v2v-contracts.md). Randomness: blockhash of the block after the closing one
/// (the closer cannot know it; whoever calls the draw cannot change it; the producer of that block can).
contract PoSocScores is IPoSocScores, RegistryGated, ResultKeys {
    using EnumerableSet for EnumerableSet.AddressSet;

    /// @notice ResultKeys mechanism id of an hour's scores (slot = hour).
    bytes32 public constant SCORES = keccak256("seed001.v2v.posoc");
    /// @notice ResultKeys mechanism id of a day's closing (slot = day).
    bytes32 public constant CLOSES = keccak256("seed001.v2v.close");
    uint256 private constant HOURS_PER_DAY = 24;
    uint256 private constant BLOCKHASH_WINDOW = 256;

    /// @notice Where the parking sessions live.
    IV2VSettlement public immutable settlement;
    /// @notice The most EVs scored on one day (the draw walks them all: bounds its gas).
    uint256 public immutable maxEvsPerDay;

    /// @dev A score and whether it was submitted, in one word.
    struct Stored {
        int96 score;
        bool submitted;
    }

    /// @dev A day's draw: the block whose hash seeds it (0: open day) and the drawn aggregator.
    struct Draw {
        uint64 drawBlock;
        address aggregator;
    }

    mapping(uint256 hour => mapping(address ev => Stored)) private _scores;
    mapping(uint256 day => mapping(address ev => int256)) private _daily;
    /// @dev The EVs scored on a day, in the order of their first score (the draw's order).
    mapping(uint256 day => EnumerableSet.AddressSet) private _evs;
    mapping(uint256 day => Draw) private _draws;

    /// @param registry_ Registry of roles (SCORER submits).
    /// @param settlement_ The V2VSettlement holding the parking sessions.
    /// @param maxEvsPerDay_ The most EVs scored on one day (> 0).
    constructor(ParticipantRegistry registry_, IV2VSettlement settlement_, uint256 maxEvsPerDay_)
        RegistryGated(registry_)
    {
        if (address(settlement_) == address(0)) revert ZeroAddress();
        if (maxEvsPerDay_ == 0) revert TooManyEvs(0, 0);
        settlement = settlement_;
        maxEvsPerDay = maxEvsPerDay_;
    }

    /// @inheritdoc IPoSocScores
    function submitScores(uint256 hour, address[] calldata evs, int256[] calldata scores)
        external
        onlyRegistryRole(Roles.SCORER)
    {
        if (evs.length != scores.length) revert ScoreArraysMismatch(evs.length, scores.length);
        if (evs.length == 0) revert EmptyScores(hour);
        uint256 day = hour / HOURS_PER_DAY;
        if (_draws[day].drawBlock != 0) revert DayClosed(day);
        _acceptOnce(SCORES, hour);
        for (uint256 k; k < evs.length; ++k) {
            address ev = evs[k];
            int256 score = scores[k];
            if (!settlement.isParkedAt(ev, hour)) revert EvNotParked(ev, hour);
            Stored storage stored = _scores[hour][ev];
            if (stored.submitted) revert ScoreAlreadySubmitted(ev, hour);
            if (score > type(int96).max || score < type(int96).min) revert ScoreOutOfRange(score);
            (stored.score, stored.submitted) = (SafeCast.toInt96(score), true);
            if (_evs[day].add(ev) && _evs[day].length() > maxEvsPerDay) revert TooManyEvs(day, maxEvsPerDay);
            int256 total = _daily[day][ev] + score;
            _daily[day][ev] = total;
            emit ScoreSubmitted(hour, ev, score, total);
        }
    }

    /// @inheritdoc IPoSocScores
    function closeDay(uint256 day) external onlyRegistryRole(Roles.SCORER) {
        uint256 evs = _evs[day].length();
        if (evs == 0) revert NoScoresForDay(day);
        _acceptOnce(CLOSES, day);
        uint256 drawBlock = block.number + 1;
        _draws[day].drawBlock = SafeCast.toUint64(drawBlock);
        emit DayClosedForDraw(day, evs, drawBlock);
    }

    /// @inheritdoc IPoSocScores
    function drawAggregator(uint256 day) external returns (address aggregator) {
        Draw storage draw = _draws[day];
        uint256 drawBlock = draw.drawBlock;
        if (drawBlock == 0) revert DayNotClosed(day);
        if (draw.aggregator != address(0)) revert AlreadyDrawn(day, draw.aggregator);
        if (block.number <= drawBlock) revert DrawTooEarly(day, drawBlock, block.number);
        if (block.number - drawBlock > BLOCKHASH_WINDOW) {
            // The seed block's hash is gone; a later block's hash is as unknown now as this one's was then.
            uint256 next = block.number + 1;
            draw.drawBlock = SafeCast.toUint64(next);
            emit DrawRearmed(day, next);
            return address(0);
        }
        bytes32 seed = keccak256(abi.encode(blockhash(drawBlock), day, address(this), block.chainid));
        EnumerableSet.AddressSet storage evs = _evs[day];
        uint256 count = evs.length();
        uint256[] memory weights = new uint256[](count);
        uint256 total = 0;
        for (uint256 k; k < count; ++k) {
            int256 daily = _daily[day][evs.at(k)];
            weights[k] = daily > 0 ? uint256(daily) : 0;
            total += weights[k];
        }
        if (total == 0) {
            for (uint256 k; k < count; ++k) {
                weights[k] = 1;
            }
            total = count;
        }
        // The seed is the hash of a block that did not exist when the day's weights were sealed (closeDay); who can
        // bias it, and why not prevrandao: docs/v2v-contracts.md. The modulo bias is below total / 2^256.
        uint256 target = uint256(seed) % total;
        uint256 cumulative = 0;
        uint256 index = 0;
        for (; index < count; ++index) {
            cumulative += weights[index];
            if (target < cumulative) break;
        }
        aggregator = evs.at(index);
        draw.aggregator = aggregator;
        emit AggregatorDrawn(day, aggregator, seed, weights[index], total);
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

    /// @inheritdoc IPoSocScores
    function evsOf(uint256 day) external view returns (address[] memory) {
        return _evs[day].values();
    }

    /// @inheritdoc IPoSocScores
    function drawOf(uint256 day) external view returns (bool closed, uint256 drawBlock, address aggregator) {
        Draw memory draw = _draws[day];
        return (draw.drawBlock != 0, draw.drawBlock, draw.aggregator);
    }

    /// @inheritdoc IPoSocScores
    function aggregatorOf(uint256 day) external view returns (address) {
        return _draws[day].aggregator;
    }
}
