// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IOrderGate} from "./IOrderGate.sol";

/// @title IBatteryWindows
/// @notice Seed 003 AdBEV: each EV's battery window, attested by the smart-meter oracle when the EV plugs in
/// (the periods it is connected and the Wh its battery can still take and give), and the AdBEV book's order
/// gate that refuses an EV's order beyond it. docs/adbev-contracts.md.
interface IBatteryWindows is IOrderGate {
    /// @notice An EV's window: connected from `firstPeriod` to `lastPeriod` (inclusive); `chargeWh` it may
    /// buy (capacity x (target SOC - SOC at plug-in)) and `dischargeWh` it may sell (capacity x (SOC at
    /// plug-in - the floor)); `boughtWh` and `soldWh` its orders admitted so far.
    struct Window {
        uint32 firstPeriod;
        uint32 lastPeriod;
        uint48 chargeWh;
        uint48 dischargeWh;
        uint48 boughtWh;
        uint48 soldWh;
    }

    /// @notice `firstPeriod` after `lastPeriod`, a period beyond 2^32 - 1 or a quantity beyond 2^48 - 1 Wh.
    error InvalidBatteryWindow(uint256 firstPeriod, uint256 lastPeriod, uint256 chargeWh, uint256 dischargeWh);
    /// @notice Only the book this gate serves may put orders to it; `caller` is not it.
    error NotTheGatedBook(address caller);
    /// @notice EV `ev` ordered for `period`, outside its window [`firstPeriod`, `lastPeriod`] (no window: 0, 0).
    error OutsideBatteryWindow(address ev, uint256 period, uint256 firstPeriod, uint256 lastPeriod);
    /// @notice EV `ev`'s order of `quantityWh` (a buy if `isBuy`) exceeds the `leftWh` its window has left.
    error BeyondBatteryWindow(address ev, bool isBuy, uint256 quantityWh, uint256 leftWh);

    /// @notice The meter attested EV `ev`'s window (replacing its previous one and what that one admitted).
    event BatteryWindowSet(
        address indexed ev, uint256 firstPeriod, uint256 lastPeriod, uint256 chargeWh, uint256 dischargeWh
    );
    /// @notice The book placed EV `ev`'s order of `quantityWh` for `period`; its window has `leftWh` left.
    event OrderAdmitted(address indexed ev, uint256 indexed period, bool isBuy, uint256 quantityWh, uint256 leftWh);

    /// @notice Sets EV `ev`'s battery window (see {Window}); what earlier orders used is forgotten. Only METER;
    /// {NotAnActiveEV} for an account that is not an active EV, {InvalidBatteryWindow}.
    function setWindow(address ev, uint256 firstPeriod, uint256 lastPeriod, uint256 chargeWh, uint256 dischargeWh)
        external;

    /// @notice The book whose orders this gate admits.
    function book() external view returns (address);

    /// @notice EV `ev`'s window and what it admitted so far (all zero if none was set).
    function windowOf(address ev) external view returns (Window memory);
}
