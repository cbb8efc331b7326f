// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ParticipantRegistry} from "../../core/ParticipantRegistry.sol";
import {RegistryGated} from "../../core/RegistryGated.sol";
import {Roles} from "../../core/Roles.sol";
import {IBatteryWindows} from "../../../interfaces/IBatteryWindows.sol";
import {IOrderGate} from "../../../interfaces/IOrderGate.sol";

/// @title BatteryWindows
/// @notice Seed 003 AdBEV: the order gate of the AdBEV book ({IEnergyOrderBook-setOrderGate}). The smart-meter
/// oracle attests each EV's battery window at plug-in; the book puts every order to {admitOrder}, which lets
/// participants other than EVs through and refuses an EV's order for a period outside its window or for more
/// energy than its window has left (buys and sells counted apart). See {IBatteryWindows},
/// docs/adbev-contracts.md.
/// @dev Admitted quantities are never given back (a cancelled or expired order keeps its share): an EV cannot
/// bid beyond its window by cancelling and placing again. One storage word per EV.
contract BatteryWindows is IBatteryWindows, RegistryGated {
    uint256 private constant MAX_WH = type(uint48).max;

    /// @inheritdoc IBatteryWindows
    address public immutable book;

    mapping(address ev => Window) private _windows;

    /// @param registry_ The participant registry (METER attests windows; EVs are its Kind.EV participants).
    /// @param book_ The order book whose gate this is.
    constructor(ParticipantRegistry registry_, address book_) RegistryGated(registry_) {
        if (book_ == address(0)) revert ZeroAddress();
        book = book_;
    }

    /// @inheritdoc IBatteryWindows
    function setWindow(address ev, uint256 firstPeriod, uint256 lastPeriod, uint256 chargeWh, uint256 dischargeWh)
        external
        onlyRegistryRole(Roles.METER)
    {
        if (!registry.isActive(ev, ParticipantRegistry.Kind.EV)) revert NotAnActiveEV(ev);
        if (firstPeriod > lastPeriod || lastPeriod > type(uint32).max || chargeWh > MAX_WH || dischargeWh > MAX_WH) {
            revert InvalidBatteryWindow(firstPeriod, lastPeriod, chargeWh, dischargeWh);
        }
        _windows[ev] = Window(uint32(firstPeriod), uint32(lastPeriod), uint48(chargeWh), uint48(dischargeWh), 0, 0);
        emit BatteryWindowSet(ev, firstPeriod, lastPeriod, chargeWh, dischargeWh);
    }

    /// @inheritdoc IOrderGate
    /// @dev Called by the book last in a placement; records the order against the EV's window.
    function admitOrder(address owner, uint256 period, bool isBuy, uint256 quantityWh) external {
        if (msg.sender != book) revert NotTheGatedBook(msg.sender);
        if (!registry.isActive(owner, ParticipantRegistry.Kind.EV)) return;
        Window memory window = _windows[owner];
        if (period < window.firstPeriod || period > window.lastPeriod) {
            revert OutsideBatteryWindow(owner, period, window.firstPeriod, window.lastPeriod);
        }
        (uint256 capWh, uint256 usedWh) =
            isBuy ? (window.chargeWh, window.boughtWh) : (window.dischargeWh, window.soldWh);
        uint256 leftWh = capWh - usedWh;
        if (quantityWh > leftWh) revert BeyondBatteryWindow(owner, isBuy, quantityWh, leftWh);
        // quantityWh <= leftWh <= capWh < 2^48
        if (isBuy) _windows[owner].boughtWh = uint48(usedWh + quantityWh);
        else _windows[owner].soldWh = uint48(usedWh + quantityWh);
        emit OrderAdmitted(owner, period, isBuy, quantityWh, leftWh - quantityWh);
    }

    /// @inheritdoc IBatteryWindows
    function windowOf(address ev) external view returns (Window memory) {
        return _windows[ev];
    }
}
