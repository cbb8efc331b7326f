// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title GaFitness
/// @notice Seed 003 Fig. 4.6 benchmark only (not part of the deployed suite): the fitness a GA would evaluate
/// on chain for one individual of a generation, the thesis's Ch4 PFL (Eq. 4.4, the total variation
/// sum_t |P(t) - P(t-1)|) of the transformer load that individual's EV schedule gives. Gas grows with EVs x
/// slots; scripts/adbev_gas_vs_peers.py measures it against AdBEV's per-period book transactions.
/// @dev Stateless and pure: a GA on chain would call this once per individual per generation.
contract GaFitness {
    /// @notice Up to 256 slots of a day.
    uint256 public constant MAX_SLOTS = 256;

    /// @notice `slots` is 0 or above MAX_SLOTS, or `ratesW` and `masks` differ in length.
    error InvalidSchedule(uint256 slots, uint256 rates, uint256 masks);

    /// @notice The PFL (W, sum of |P(t) - P(t-1)|) of `baseW` (household load per slot, W) plus each EV's
    /// charger rate `ratesW[i]` (W) in the slots whose bit is set in `masks[i]` (bit t = slot t).
    function pflOf(uint256[] calldata baseW, uint256[] calldata ratesW, uint256[] calldata masks)
        external
        pure
        returns (uint256 pflW)
    {
        uint256 slots = baseW.length;
        if (slots == 0 || slots > MAX_SLOTS || ratesW.length != masks.length) {
            revert InvalidSchedule(slots, ratesW.length, masks.length);
        }
        uint256[] memory load = new uint256[](slots);
        for (uint256 t; t < slots; ++t) {
            load[t] = baseW[t];
        }
        for (uint256 i; i < masks.length; ++i) {
            (uint256 mask, uint256 rate) = (masks[i], ratesW[i]);
            for (uint256 t; t < slots && mask >> t != 0; ++t) {
                if ((mask >> t) & 1 == 1) load[t] += rate;
            }
        }
        for (uint256 t = 1; t < slots; ++t) {
            pflW += load[t] > load[t - 1] ? load[t] - load[t - 1] : load[t - 1] - load[t];
        }
    }
}
