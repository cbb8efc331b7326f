// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";
import {ParticipantRegistry} from "../core/ParticipantRegistry.sol";
import {RegistryGated} from "../core/RegistryGated.sol";
import {Roles} from "../core/Roles.sol";
import {IEnergyCreditErrors} from "../../interfaces/IEnergyCreditErrors.sol";

/// @title EnergyCredit
/// @notice The energy asset of the market: ERC-1155 whose token id is the delivery period and whose
/// amounts are Wh. Lifecycle (docs/energy-credit.md):
///   1. attest  - a METER mints a prosumer's attested surplus for a period, once per (prosumer, period);
///   2. trade   - the holder escrows credits in a market (sell order) or transfers them to a participant;
///   3. deliver - when the energy has flowed, a METER burns the delivered Wh of a participant (or the
///      OPERATOR); credits a MARKET contract holds in escrow are burned only by that contract.
/// Credits may only be received by active participants, by contracts holding MARKET and by the OPERATOR
/// (the grid counterparty, which buys leftover supply in a market's grid fallback).
contract EnergyCredit is ERC1155, RegistryGated, IEnergyCreditErrors {
    mapping(uint256 period => mapping(address prosumer => uint256 wh)) private _attested;

    /// @notice Emitted when a METER attests `wh` of surplus for `prosumer` in `period`.
    event SurplusAttested(address indexed prosumer, uint256 indexed period, uint256 wh, address meter);
    /// @notice Emitted when `wh` of period `period` held by `holder` are burned as delivered.
    event CreditsDelivered(address indexed holder, uint256 indexed period, uint256 wh, address by);

    /// @param registry_ The registry granting METER and MARKET. @param uri_ ERC-1155 metadata URI.
    constructor(ParticipantRegistry registry_, string memory uri_) ERC1155(uri_) RegistryGated(registry_) {}

    /// @notice Mints `wh` credits of `period` to `prosumer` for its attested surplus. Only METER, once
    /// per (prosumer, period).
    function attestSurplus(address prosumer, uint256 period, uint256 wh) external onlyRegistryRole(Roles.METER) {
        if (wh == 0) revert ZeroAmount();
        if (!registry.isActive(prosumer, ParticipantRegistry.Kind.Prosumer)) revert NotAnActiveProsumer(prosumer);
        if (_attested[period][prosumer] != 0) revert SurplusAlreadyAttested(prosumer, period);
        _attested[period][prosumer] = wh;
        emit SurplusAttested(prosumer, period, wh, msg.sender);
        _mint(prosumer, period, wh, "");
    }

    /// @notice Burns `wh` credits of `period` held by `holder` once delivered. Credits a MARKET contract
    /// holds are escrowed for its traders: only that contract burns them (its own settlement). A METER
    /// burns measured deliveries from any other holder.
    function burnDelivered(address holder, uint256 period, uint256 wh) external {
        if (registry.hasRole(Roles.MARKET, holder)) {
            if (msg.sender != holder) revert EscrowNotBurnable(holder, msg.sender);
        } else if (!registry.hasRole(Roles.METER, msg.sender)) {
            revert NotMeterOrMarket(msg.sender);
        }
        if (wh == 0) revert ZeroAmount();
        emit CreditsDelivered(holder, period, wh, msg.sender);
        _burn(holder, period, wh);
    }

    /// @notice Wh of surplus attested for `prosumer` in `period` (0 if none).
    function attested(address prosumer, uint256 period) external view returns (uint256) {
        return _attested[period][prosumer];
    }

    /// @dev Every move passes here: recipients other than the zero address must be allowed.
    function _update(address from, address to, uint256[] memory ids, uint256[] memory values) internal override {
        if (
            from != address(0) && to != address(0) && !registry.isActive(to, ParticipantRegistry.Kind.None)
                && !registry.hasRole(Roles.MARKET, to) && !registry.hasRole(Roles.OPERATOR, to)
        ) revert CreditRecipientNotAllowed(to);
        super._update(from, to, ids, values);
    }
}
