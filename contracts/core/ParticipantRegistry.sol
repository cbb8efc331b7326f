// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Roles} from "./Roles.sol";
import {IKwxErrors} from "../../interfaces/IKwxErrors.sol";
import {IParticipantRegistryErrors} from "../../interfaces/IParticipantRegistryErrors.sol";

/// @title ParticipantRegistry
/// @notice Who takes part in Kilowatt Exchange and with which rights. Holds the role grants every
/// other contract checks, and one record per participant: kind (prosumer or EV), location in metres
/// (used for line losses) and, for an EV, its battery capacity and state-of-charge window in Wh.
contract ParticipantRegistry is AccessControl, IKwxErrors, IParticipantRegistryErrors {
    /// @notice A participant's kind. `None` marks an address that was never registered.
    enum Kind {
        None,
        Prosumer,
        EV
    }

    /// @notice One participant. Energies in Wh, coordinates in metres from the grid origin.
    struct Participant {
        Kind kind;
        bool active;
        int64 x;
        int64 y;
        uint64 batteryCapacityWh;
        uint64 socMinWh;
        uint64 socMaxWh;
    }

    mapping(address account => Participant) private _participants;
    uint256 private _activeCount;

    /// @notice Emitted when a participant is registered.
    event ParticipantRegistered(
        address indexed account, Kind kind, int64 x, int64 y, uint64 batteryCapacityWh, uint64 socMinWh, uint64 socMaxWh
    );
    /// @notice Emitted when a participant's location or battery data change.
    event ParticipantUpdated(
        address indexed account, int64 x, int64 y, uint64 batteryCapacityWh, uint64 socMinWh, uint64 socMaxWh
    );
    /// @notice Emitted when a participant is deactivated or reactivated.
    event ParticipantActiveSet(address indexed account, bool active);

    /// @param admin The account that receives ADMIN (it can then grant OPERATOR, METER, ...).
    constructor(address admin) {
        _grantRole(Roles.ADMIN, admin);
    }

    /// @notice Registers `account` as an active participant. Only OPERATOR.
    /// @param kind Prosumer or EV.
    /// @param x East coordinate in metres. @param y North coordinate in metres.
    /// @param batteryCapacityWh EV battery capacity in Wh (0 for a prosumer).
    /// @param socMinWh Lowest allowed stored energy in Wh (EV only). @param socMaxWh Highest, in Wh.
    function register(
        address account,
        Kind kind,
        int64 x,
        int64 y,
        uint64 batteryCapacityWh,
        uint64 socMinWh,
        uint64 socMaxWh
    ) external onlyRole(Roles.OPERATOR) {
        if (account == address(0)) revert ZeroAddress();
        if (kind == Kind.None) revert InvalidKind();
        if (_participants[account].kind != Kind.None) revert ParticipantAlreadyRegistered(account);
        _checkBattery(kind, batteryCapacityWh, socMinWh, socMaxWh);
        _participants[account] = Participant(kind, true, x, y, batteryCapacityWh, socMinWh, socMaxWh);
        ++_activeCount;
        emit ParticipantRegistered(account, kind, x, y, batteryCapacityWh, socMinWh, socMaxWh);
    }

    /// @notice Changes a registered participant's location and battery data. Only OPERATOR.
    function update(address account, int64 x, int64 y, uint64 batteryCapacityWh, uint64 socMinWh, uint64 socMaxWh)
        external
        onlyRole(Roles.OPERATOR)
    {
        Participant storage p = _registered(account);
        _checkBattery(p.kind, batteryCapacityWh, socMinWh, socMaxWh);
        (p.x, p.y, p.batteryCapacityWh, p.socMinWh, p.socMaxWh) = (x, y, batteryCapacityWh, socMinWh, socMaxWh);
        emit ParticipantUpdated(account, x, y, batteryCapacityWh, socMinWh, socMaxWh);
    }

    /// @notice Deactivates (`active = false`) or reactivates a participant. Only OPERATOR.
    /// A deactivated participant keeps its record but every gated contract refuses it.
    function setActive(address account, bool active) external onlyRole(Roles.OPERATOR) {
        Participant storage p = _registered(account);
        if (p.active == active) return;
        p.active = active;
        if (active) ++_activeCount;
        else --_activeCount;
        emit ParticipantActiveSet(account, active);
    }

    /// @notice The record of `account` (kind `None` if never registered).
    function participant(address account) external view returns (Participant memory) {
        return _participants[account];
    }

    /// @notice Whether `account` is registered, active and of `kind` (`Kind.None` matches any kind).
    function isActive(address account, Kind kind) public view returns (bool) {
        Participant storage p = _participants[account];
        return p.active && (kind == Kind.None || p.kind == kind);
    }

    /// @notice Reverts with {ParticipantNotRegistered} or {ParticipantInactive} unless `account` is an
    /// active participant; returns its kind.
    function requireActive(address account) external view returns (Kind) {
        Participant storage p = _participants[account];
        if (p.kind == Kind.None) revert ParticipantNotRegistered(account);
        if (!p.active) revert ParticipantInactive(account);
        return p.kind;
    }

    /// @notice The number of active participants.
    function activeCount() external view returns (uint256) {
        return _activeCount;
    }

    function _registered(address account) private view returns (Participant storage p) {
        p = _participants[account];
        if (p.kind == Kind.None) revert ParticipantNotRegistered(account);
    }

    function _checkBattery(Kind kind, uint64 capacityWh, uint64 socMinWh, uint64 socMaxWh) private pure {
        bool ok = kind == Kind.EV
            ? capacityWh > 0 && socMinWh < socMaxWh && socMaxWh <= capacityWh
            : capacityWh == 0 && socMinWh == 0 && socMaxWh == 0;
        if (!ok) revert InvalidBattery(capacityWh, socMinWh, socMaxWh);
    }
}
