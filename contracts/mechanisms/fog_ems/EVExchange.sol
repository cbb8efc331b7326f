// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ParticipantRegistry} from "../../core/ParticipantRegistry.sol";
import {RegistryGated} from "../../core/RegistryGated.sol";
import {ResultKeys} from "../../core/ResultKeys.sol";
import {Roles} from "../../core/Roles.sol";
import {UposAccounts} from "../../core/UposAccounts.sol";
import {UposLedger} from "../../core/UposLedger.sol";
import {IEVExchange} from "../../../interfaces/IEVExchange.sol";

/// @title EVExchange
/// @notice Seed 000's real-time management and settlement: EV batteries, the per-step exchange log of
/// each period's matches and the UPOS payments they cause. See {IEVExchange} and
/// docs/seed000-contracts.md.
/// @dev Integer rules identical to offchain/algorithms/pricing.py (`EVAccount`, `Tariffs`,
/// `settle_exchange`): stores add `wh * price / 1000` to the stock's cost; a sale releases the
/// stock's average cost `cost * wh / stock` and is priced at clamp(cost * 1000 / stock * (10000 +
/// markup) / 10000, gridSell, gridBuy). A period's log is applied in memory per match (an EV is in at
/// most one match per period, so its steps never interleave with another match's) and written back
/// once per match, with one net payment per match. Payments move between internal balances
/// ({UposAccounts}).
contract EVExchange is IEVExchange, RegistryGated, ResultKeys, UposAccounts {
    /// @notice ResultKeys mechanism id of a period's matches (from the matching contract).
    bytes32 public constant MATCHES = keccak256("seed000.matches");
    /// @notice ResultKeys mechanism id of a period's exchange log.
    bytes32 public constant EXCHANGE = keccak256("seed000.exchange");
    /// @notice ResultKeys mechanism id of a period's grid settlement.
    bytes32 public constant GRID = keccak256("seed000.grid");
    /// @notice The highest admitted price, UPOS base units per kWh.
    uint256 public constant MAX_PRICE = type(uint96).max;
    /// @notice The highest admitted EV resale markup, basis points (10x the cost basis).
    uint256 public constant MAX_MARKUP_BPS = 100_000;
    uint256 private constant WH_PER_KWH = 1000;
    uint256 private constant BPS = 10_000;

    /// @inheritdoc IEVExchange
    uint256 public immutable stepsPerPeriod;
    /// @notice The id of the last match opened (ids start at 1).
    uint256 public lastMatchingId;

    /// @dev The matches of a period: ids firstMatchingId .. firstMatchingId + count - 1; 0 = not matched.
    struct PeriodRecord {
        uint64 firstMatchingId;
        uint32 count;
    }

    /// @dev One match's state while a period's log is applied.
    struct Leg {
        uint256 matchingId;
        address prosumer;
        address ev;
        bool maySell;
        bool stored;
        uint256 socMinWh;
        uint256 socMaxWh;
        uint256 energyWh;
        uint256 stockWh;
        uint256 costBase;
        uint256 toProsumer;
        uint256 toEv;
    }

    Tariffs private _tariffs;
    mapping(address ev => Battery) private _batteries;
    mapping(address ev => uint256 periodPlusOne) private _firstStore;
    mapping(uint256 period => PeriodRecord) private _periods;
    mapping(uint256 matchingId => Match) private _matches;

    /// @param registry_ Registry of participants and roles (METER, OPERATOR, MARKET).
    /// @param upos_ The UPOS token.
    /// @param stepsPerPeriod_ Exchange steps per period (6 x 10 s).
    /// @param tariffs_ The initial prices (see {Tariffs}).
    constructor(ParticipantRegistry registry_, IERC20 upos_, uint256 stepsPerPeriod_, Tariffs memory tariffs_)
        RegistryGated(registry_)
        UposLedger(upos_)
    {
        if (stepsPerPeriod_ == 0) revert ZeroStepsPerPeriod();
        stepsPerPeriod = stepsPerPeriod_;
        _setTariffs(tariffs_);
    }

    // ---------------------------------------------------------------------------------- batteries

    /// @inheritdoc IEVExchange
    function openBattery(address ev, uint64 energyWh) external onlyRegistryRole(Roles.METER) {
        ParticipantRegistry.Participant memory p = registry.participant(ev);
        if (p.kind != ParticipantRegistry.Kind.EV || !p.active) revert NotAnActiveEV(ev);
        if (_batteries[ev].open) revert BatteryAlreadyOpen(ev);
        if (energyWh < p.socMinWh || energyWh > p.socMaxWh) {
            revert EnergyOutsideWindow(ev, energyWh, p.socMinWh, p.socMaxWh);
        }
        uint256 stockWh = energyWh - p.socMinWh;
        uint256 costBase = stockWh * _tariffs.initialStockPrice / WH_PER_KWH;
        _batteries[ev] = Battery(energyWh, uint64(stockWh), SafeCast.toUint120(costBase), true);
        emit BatteryOpened(ev, energyWh, stockWh, costBase);
    }

    // ------------------------------------------------------------------------- matches and exchange

    /// @inheritdoc IEVExchange
    function openMatches(
        uint256 period,
        address[] calldata prosumers,
        address[] calldata evs,
        bool[] calldata evMaySell
    ) external onlyRegistryRole(Roles.MARKET) returns (uint256 firstMatchingId) {
        uint256 count = prosumers.length;
        if (evs.length != count || evMaySell.length != count) {
            revert MatchArraysMismatch(count, evs.length, evMaySell.length);
        }
        _acceptOnce(MATCHES, period);
        firstMatchingId = lastMatchingId + 1;
        _periods[period] = PeriodRecord(SafeCast.toUint64(firstMatchingId), SafeCast.toUint32(count));
        for (uint256 k; k < count; ++k) {
            _matches[firstMatchingId + k] = Match(prosumers[k], evs[k], evMaySell[k]);
            emit MatchOpened(period, firstMatchingId + k, prosumers[k], evs[k], evMaySell[k]);
        }
        lastMatchingId = firstMatchingId + count - 1;
    }

    /// @inheritdoc IEVExchange
    function logExchange(uint256 period, int64[] calldata movedWh) external onlyRegistryRole(Roles.METER) {
        PeriodRecord memory record = _periods[period];
        if (record.firstMatchingId == 0) revert PeriodNotMatched(period);
        _acceptOnce(EXCHANGE, period);
        uint256 count = record.count;
        uint256 steps = stepsPerPeriod;
        if (movedWh.length != count * steps) revert ExchangeLengthMismatch(count * steps, movedWh.length);
        Tariffs memory t = _tariffs;
        Leg[] memory legs = new Leg[](count);
        for (uint256 k; k < count; ++k) {
            legs[k] = _loadLeg(record.firstMatchingId + k);
        }
        uint256 firstStep = period * steps;
        // Step-major, like exchange.csv: every match's step s before any match's step s + 1.
        for (uint256 s; s < steps; ++s) {
            for (uint256 k; k < count; ++k) {
                int256 moved = movedWh[s * count + k];
                if (moved != 0) _applyStep(legs[k], firstStep + s, moved, t);
            }
        }
        for (uint256 k; k < count; ++k) {
            _storeLeg(legs[k], period);
        }
    }

    /// @inheritdoc IEVExchange
    function settleGrid(
        uint256 period,
        address[] calldata prosumers,
        uint64[] calldata importWh,
        uint64[] calldata exportWh
    ) external onlyRegistryRole(Roles.OPERATOR) {
        if (importWh.length != prosumers.length || exportWh.length != prosumers.length) {
            revert GridArraysMismatch(prosumers.length, importWh.length, exportWh.length);
        }
        _acceptOnce(GRID, period);
        Tariffs memory t = _tariffs;
        uint256 operatorReceives;
        uint256 operatorPays;
        for (uint256 k; k < prosumers.length; ++k) {
            (uint256 received, uint256 paid) = _settleResidual(period, prosumers[k], importWh[k], exportWh[k], t);
            operatorReceives += received;
            operatorPays += paid;
        }
        if (operatorPays > operatorReceives) _update(msg.sender, address(0), operatorPays - operatorReceives);
        else _update(address(0), msg.sender, operatorReceives - operatorPays);
    }

    // ------------------------------------------------------------------------------------ tariffs

    /// @inheritdoc IEVExchange
    function setTariffs(Tariffs calldata tariffs_) external onlyRegistryRole(Roles.OPERATOR) {
        _setTariffs(tariffs_);
    }

    // ------------------------------------------------------------------------------------- views

    /// @inheritdoc IEVExchange
    function tariffs() external view returns (Tariffs memory) {
        return _tariffs;
    }

    /// @inheritdoc IEVExchange
    function battery(address ev) external view returns (Battery memory) {
        return _batteries[ev];
    }

    /// @inheritdoc IEVExchange
    function headroom(address ev) external view returns (uint256 availableWh, uint256 freeCapacityWh) {
        Battery memory b = _batteries[ev];
        if (!b.open) revert BatteryNotOpen(ev);
        ParticipantRegistry.Participant memory p = registry.participant(ev);
        availableWh = b.energyWh > p.socMinWh ? b.energyWh - p.socMinWh : 0;
        freeCapacityWh = p.socMaxWh > b.energyWh ? p.socMaxWh - b.energyWh : 0;
    }

    /// @inheritdoc IEVExchange
    function storedBefore(address ev, uint256 period) external view returns (bool) {
        uint256 firstStore = _firstStore[ev];
        return firstStore != 0 && firstStore - 1 < period;
    }

    /// @inheritdoc IEVExchange
    function evSellPrice(address ev) external view returns (uint256) {
        Battery memory b = _batteries[ev];
        return _sellPrice(b.costBase, b.stockWh, _tariffs);
    }

    /// @inheritdoc IEVExchange
    function periodMatches(uint256 period)
        external
        view
        returns (bool opened, uint256 firstMatchingId, Match[] memory matches)
    {
        PeriodRecord memory record = _periods[period];
        opened = record.firstMatchingId != 0;
        firstMatchingId = record.firstMatchingId;
        matches = new Match[](record.count);
        for (uint256 k; k < record.count; ++k) {
            matches[k] = _matches[firstMatchingId + k];
        }
    }

    /// @inheritdoc IEVExchange
    function matchOf(uint256 matchingId) external view returns (Match memory) {
        return _matches[matchingId];
    }

    // ---------------------------------------------------------------------------------- internals

    /// @dev One prosumer's residual with the grid, netted: returns what the operator receives and pays.
    function _settleResidual(uint256 period, address prosumer, uint256 importWh, uint256 exportWh, Tariffs memory t)
        private
        returns (uint256 operatorReceives, uint256 operatorPays)
    {
        if (!registry.isActive(prosumer, ParticipantRegistry.Kind.Prosumer)) revert NotAnActiveProsumer(prosumer);
        uint256 importCost = importWh * t.gridBuyPrice / WH_PER_KWH;
        uint256 exportRevenue = exportWh * t.gridSellPrice / WH_PER_KWH;
        if (importCost > exportRevenue) {
            operatorReceives = importCost - exportRevenue;
            _update(prosumer, address(0), operatorReceives);
        } else {
            operatorPays = exportRevenue - importCost;
            _update(address(0), prosumer, operatorPays);
        }
        emit GridSettled(period, prosumer, msg.sender, importWh, exportWh, importCost, exportRevenue);
    }

    function _loadLeg(uint256 matchingId) private view returns (Leg memory leg) {
        Match memory m = _matches[matchingId];
        Battery memory b = _batteries[m.ev];
        if (!b.open) revert BatteryNotOpen(m.ev);
        ParticipantRegistry.Participant memory p = registry.participant(m.ev);
        leg.matchingId = matchingId;
        (leg.prosumer, leg.ev, leg.maySell) = (m.prosumer, m.ev, m.evMaySell);
        (leg.socMinWh, leg.socMaxWh) = (p.socMinWh, p.socMaxWh);
        (leg.energyWh, leg.stockWh, leg.costBase) = (b.energyWh, b.stockWh, b.costBase);
    }

    /// @dev One step of one match: window check, cost basis and payment (pricing.settle_exchange), event.
    function _applyStep(Leg memory leg, uint256 step, int256 moved, Tariffs memory t) private {
        int256 energyAfter = int256(leg.energyWh) + moved;
        if (energyAfter < int256(leg.socMinWh) || energyAfter > int256(leg.socMaxWh)) {
            revert BatteryWindowExceeded(leg.ev, step, energyAfter, leg.socMinWh, leg.socMaxWh);
        }
        uint256 price;
        uint256 payment;
        if (moved > 0) {
            uint256 wh = uint256(moved);
            price = t.prosumerToEvPrice;
            payment = wh * price / WH_PER_KWH;
            leg.stockWh += wh;
            leg.costBase += payment;
            leg.toProsumer += payment;
            leg.stored = true;
        } else {
            uint256 wh = uint256(-moved);
            if (!leg.maySell) revert SaleNotVerified(leg.matchingId, leg.ev);
            if (wh > leg.stockWh) revert StockExceeded(leg.ev, wh, leg.stockWh);
            price = _sellPrice(leg.costBase, leg.stockWh, t);
            payment = wh * price / WH_PER_KWH;
            leg.costBase -= leg.costBase * wh / leg.stockWh;
            leg.stockWh -= wh;
            leg.toEv += payment;
        }
        leg.energyWh = uint256(energyAfter);
        emit EnergyExchanged(
            step,
            moved,
            leg.energyWh > leg.socMinWh ? leg.energyWh - leg.socMinWh : 0,
            leg.socMaxWh > leg.energyWh ? leg.socMaxWh - leg.energyWh : 0,
            leg.matchingId,
            leg.prosumer,
            leg.ev,
            price,
            payment
        );
    }

    /// @dev Writes a match's battery back and moves its net payment between EV and prosumer.
    function _storeLeg(Leg memory leg, uint256 period) private {
        Battery storage b = _batteries[leg.ev];
        (b.energyWh, b.stockWh, b.costBase) =
            (SafeCast.toUint64(leg.energyWh), SafeCast.toUint64(leg.stockWh), SafeCast.toUint120(leg.costBase));
        if (leg.stored && _firstStore[leg.ev] == 0) _firstStore[leg.ev] = period + 1;
        if (leg.toProsumer > leg.toEv) _pay(leg, leg.ev, leg.prosumer, leg.toProsumer - leg.toEv);
        else if (leg.toEv > leg.toProsumer) _pay(leg, leg.prosumer, leg.ev, leg.toEv - leg.toProsumer);
    }

    function _pay(Leg memory leg, address payer, address payee, uint256 amount) private {
        _update(payer, payee, amount);
        emit MatchSettled(leg.matchingId, payer, payee, amount);
    }

    /// @dev clamp(basis * (1 + markup), gridSell, gridBuy) with basis = cost * 1000 / stock (0 if empty).
    function _sellPrice(uint256 costBase, uint256 stockWh, Tariffs memory t) private pure returns (uint256) {
        uint256 basis = stockWh == 0 ? 0 : costBase * WH_PER_KWH / stockWh;
        uint256 markedUp = basis * (BPS + t.evMarkupBps) / BPS;
        return Math.min(Math.max(markedUp, t.gridSellPrice), t.gridBuyPrice);
    }

    function _setTariffs(Tariffs memory t) private {
        if (
            t.gridSellPrice > t.prosumerToEvPrice || t.prosumerToEvPrice > t.gridBuyPrice || t.gridBuyPrice > MAX_PRICE
                || t.initialStockPrice > MAX_PRICE || t.evMarkupBps > MAX_MARKUP_BPS
        ) {
            revert InvalidTariffs(
                t.gridBuyPrice, t.gridSellPrice, t.prosumerToEvPrice, t.evMarkupBps, t.initialStockPrice
            );
        }
        _tariffs = t;
        emit TariffsSet(t.gridBuyPrice, t.gridSellPrice, t.prosumerToEvPrice, t.evMarkupBps, t.initialStockPrice);
    }
}
