// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title TickBitmap
/// @notice The non-empty price levels of both sides of one book, as a two-level bitmap over tick
/// indices 0..16383. Word w covers ticks [128w, 128w + 128): its low 128 bits mark bid levels, its high
/// 128 bits ask levels. The summary word marks in its low half the words holding bids, in its high half
/// the words holding asks. Both sides of a price range share one storage word, so an incoming order
/// reads a single word to learn whether it crosses the book (see {crosses}) and to mark its own level.
/// @dev Relies on the book never being crossed at rest: every bid lies below every ask.
library TickBitmap {
    /// @notice Tick indices run from 0 to MAX_TICKS - 1.
    uint256 internal constant MAX_TICKS = 128 * 128;

    uint256 private constant HALF = 128;
    uint256 private constant LOW_HALF = (1 << 128) - 1;

    /// @notice The level sets of one book.
    struct Map {
        uint256 summary;
        mapping(uint256 wordIndex => uint256 bits) words;
    }

    /// @notice Marks the level at `tick` of side `isBuy` non-empty.
    function set(Map storage map, bool isBuy, uint256 tick) internal {
        uint256 wordIndex = tick / HALF;
        uint256 word = map.words[wordIndex];
        uint256 offset = isBuy ? 0 : HALF;
        if ((word >> offset) & LOW_HALF == 0) map.summary |= 1 << (wordIndex + offset);
        map.words[wordIndex] = word | (1 << (tick % HALF + offset));
    }

    /// @notice Marks the level at `tick` of side `isBuy` empty.
    function clear(Map storage map, bool isBuy, uint256 tick) internal {
        uint256 wordIndex = tick / HALF;
        uint256 offset = isBuy ? 0 : HALF;
        uint256 word = map.words[wordIndex] & ~(1 << (tick % HALF + offset));
        map.words[wordIndex] = word;
        if ((word >> offset) & LOW_HALF == 0) map.summary &= ~(1 << (wordIndex + offset));
    }

    /// @notice Whether an incoming order of side `isBuy` limited at `tick` crosses the opposite side
    /// (a bid at or above a sell's tick, an ask at or below a buy's tick).
    /// @dev Reads the tick's word; the summary only when the word holds no level of the order's own
    /// side. A level of the own side in the word bounds the opposite side to this word and beyond it
    /// away from the order: asks lie above any bid, bids below any ask.
    function crosses(Map storage map, bool isBuy, uint256 tick) internal view returns (bool) {
        uint256 wordIndex = tick / HALF;
        uint256 bit = tick % HALF;
        uint256 word = map.words[wordIndex];
        if (isBuy) {
            if ((word >> HALF) & ((2 << bit) - 1) != 0) return true; // an ask at or below tick, this word
            if (word & LOW_HALF != 0) return false; // a bid in this word: no ask in a lower word
            return (map.summary >> HALF) & ((1 << wordIndex) - 1) != 0; // asks in lower words
        }
        if ((word & LOW_HALF) >> bit != 0) return true; // a bid at or above tick, this word
        if (word >> HALF != 0) return false; // an ask in this word: no bid in a higher word
        return (map.summary & LOW_HALF) >> (wordIndex + 1) != 0; // bids in higher words
    }

    /// @notice The best level of side `isBuy` (highest bid, lowest ask); `found` is false if it is empty.
    function best(Map storage map, bool isBuy) internal view returns (bool found, uint256 tick) {
        if (isBuy) {
            uint256 bidWords = map.summary & LOW_HALF;
            if (bidWords == 0) return (false, 0);
            uint256 wordIndex = Math.log2(bidWords);
            return (true, wordIndex * HALF + Math.log2(map.words[wordIndex] & LOW_HALF));
        }
        uint256 askWords = map.summary >> HALF;
        if (askWords == 0) return (false, 0);
        uint256 index = _lowestBit(askWords);
        return (true, index * HALF + _lowestBit(map.words[index] >> HALF));
    }

    /// @notice The next level of side `isBuy` behind `tick` (the highest bid below it, the lowest ask
    /// above it); `found` is false if there is none.
    function next(Map storage map, bool isBuy, uint256 tick) internal view returns (bool found, uint256 nextTick) {
        uint256 wordIndex = tick / HALF;
        uint256 bit = tick % HALF;
        unchecked {
            if (isBuy) {
                uint256 below = map.words[wordIndex] & ((1 << bit) - 1);
                if (below != 0) return (true, wordIndex * HALF + Math.log2(below));
                uint256 lowerWords = map.summary & ((1 << wordIndex) - 1);
                if (lowerWords == 0) return (false, 0);
                wordIndex = Math.log2(lowerWords);
                return (true, wordIndex * HALF + Math.log2(map.words[wordIndex] & LOW_HALF));
            }
            uint256 above = (map.words[wordIndex] >> HALF) >> (bit + 1);
            if (above != 0) return (true, tick + 1 + _lowestBit(above));
            uint256 higherWords = (map.summary >> HALF) >> (wordIndex + 1);
            if (higherWords == 0) return (false, 0);
            wordIndex += 1 + _lowestBit(higherWords);
            return (true, wordIndex * HALF + _lowestBit(map.words[wordIndex] >> HALF));
        }
    }

    /// @dev Index of the lowest set bit of a non-zero word: isolate it (x & -x), then take its log2.
    function _lowestBit(uint256 x) private pure returns (uint256) {
        unchecked {
            return Math.log2(x & (0 - x));
        }
    }
}
