// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {ERC1155Holder} from "@openzeppelin/contracts/token/ERC1155/utils/ERC1155Holder.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";
import {ParticipantRegistry} from "../core/ParticipantRegistry.sol";
import {PeriodClock} from "../core/PeriodClock.sol";
import {RegistryGated} from "../core/RegistryGated.sol";
import {Roles} from "../core/Roles.sol";
import {UposLedger} from "../core/UposLedger.sol";
import {IEnergyOrderBook} from "../../interfaces/IEnergyOrderBook.sol";
import {IOrderGate} from "../../interfaces/IOrderGate.sol";
import {IPurchasePremium} from "../../interfaces/IPurchasePremium.sol";
import {TickBitmap} from "./TickBitmap.sol";

/// @title EnergyOrderBook
/// @notice Price-time priority limit order book with iceberg orders for the energy of delivery periods,
/// settled atomically from internal balances (UPOS and EnergyCredit of the period), with the system
/// operator as grid fallback counterparty after gate closure. See {IEnergyOrderBook} and
/// docs/order-book.md.
/// @dev Storage is laid out for the matching loop: each resting tranche is one storage word (a queue
/// entry holding owner, order id, visible Wh and an iceberg flag) that a fill reads once and deletes
/// when taken, so a taker pays one cold read, one cleared word and the maker's balance per maker. The
/// order record (owner, period, tick, side, status, queue position) is written at placement and read
/// only by cancel, expiry, grid fill, tranche refresh and views. Each price level is a FIFO
/// (head/tail positions and its visible sum in one word); each period has a {TickBitmap} of the
/// non-empty levels of both sides. An order taken completely while resting keeps status Open in its
/// record: its queue entry is gone, which {getOrder} reports as Filled. Free UPOS is a {UposLedger} (a
/// lock leaves it, a fill or refund comes back into it); free energy is kept here per period. The
/// reentrancy guard covers the four functions that move tokens; the order functions call nothing but the
/// registry's views.
///
/// A tranche withdrawn from inside a level (cancel, expiry or grid fill of an order not at its head)
/// leaves a gap, and consecutive gaps form one run: the run's first and last words both hold the position
/// after the run and the run's first position. A taker reaching a run jumps over it in one read, and a
/// withdrawal next to a run extends it, so however many orders were placed and withdrawn behind a live
/// one, a take pays at most one gap read per live order it fills (docs/order-book.md, "Gaps").
contract EnergyOrderBook is IEnergyOrderBook, RegistryGated, UposLedger, ERC1155Holder {
    using TickBitmap for TickBitmap.Map;
    using Checkpoints for Checkpoints.Trace208;

    /// @notice The largest order quantity (Wh) the book stores.
    uint256 public constant MAX_QUANTITY_WH = type(uint48).max;
    /// @notice {placeOrderWithOptions} flag: refuse the order if it would trade on arrival (maker only).
    uint256 public constant POST_ONLY = 1;
    /// @notice {placeOrderWithOptions} flag: trade what crosses now, cancel the rest instead of resting it.
    uint256 public constant IMMEDIATE_OR_CANCEL = 2;
    uint256 private constant WH_PER_KWH = 1000;
    uint256 private constant NO_PREMIUM_BPS = 10_000;
    uint256 private constant MAX_EXTRA_BPS = 90_000;

    /// @notice The energy token (ERC-1155, id = delivery period, amounts in Wh).
    IERC1155 public immutable credit;
    /// @notice Price grid step in UPOS base units per kWh.
    uint256 public immutable tickSize;
    /// @notice Lowest admitted price (UPOS base units per kWh).
    uint256 public immutable minPrice;
    /// @notice Highest admitted price (UPOS base units per kWh).
    uint256 public immutable maxPrice;
    /// @notice Start of period 0 (unix seconds).
    uint256 public immutable genesisTime;
    /// @notice Length of a delivery period (seconds).
    uint256 public immutable periodSeconds;
    /// @notice Trading in period p stops this many seconds before p starts.
    uint256 public immutable gateLeadSeconds;
    /// @notice Periods beyond the current one open for trading.
    uint256 public immutable maxPeriodsAhead;

    /// @dev An order's durable record, one word. `position` locates its live queue entry.
    struct Order {
        address owner;
        uint32 period;
        uint16 tick;
        bool isBuy;
        OrderStatus status;
        uint32 position;
    }

    /// @dev One resting tranche in a level's FIFO, one word. Deleted when taken or withdrawn at the head;
    /// withdrawn inside the level it becomes a gap: owner 0, `orderId` the position after its run of gaps,
    /// `visibleWh` the run's first position (see {_withdrawEntry}).
    struct Entry {
        address owner;
        uint40 orderId;
        uint48 visibleWh;
        bool iceberg;
    }

    /// @dev One price level: live entries lie in [head, tail); `visibleWh` is their sum. Deleted when empty.
    struct Level {
        uint32 head;
        uint32 tail;
        uint96 visibleWh;
    }

    /// @dev An iceberg's peak and the part of its remaining quantity not shown in its entry.
    struct Iceberg {
        uint48 peakWh;
        uint48 hiddenWh;
    }

    /// @dev The order id counter, the order minimums and whether a premium source and an order gate are set
    /// share a word that placeOrder reads anyway (so an unset premium or gate costs placement nothing).
    struct Counters {
        uint40 lastOrderId;
        uint48 minOrderWh;
        uint48 minDisplayWh;
        bool premiumOn;
        bool gateOn;
    }

    /// @dev The incoming order while it matches: Wh traded and UPOS paid to or by makers so far, credited
    /// to its owner once at the end; a buy's premium above x1.0 (bps, fixed at placement), whether makers'
    /// buys may carry one (a premium source is set) and the premium its trades owe the recipient.
    struct Taker {
        uint256 orderId;
        address owner;
        uint256 period;
        bool isBuy;
        uint256 price;
        uint256 remainingWh;
        uint256 tradedWh;
        uint256 tradedUpos;
        uint256 extraBps;
        bool premiumOn;
        uint256 premium;
    }

    /// @inheritdoc IEnergyOrderBook
    mapping(address account => mapping(uint256 period => uint256 wh)) public energyFree;
    /// @inheritdoc IEnergyOrderBook
    mapping(address account => mapping(uint256 period => uint256 wh)) public gridSuppliedWh;

    Counters private _counters;
    /// @dev Grid tariffs by first period: value = import tick << 16 | export tick (ticks fit 14 bits).
    Checkpoints.Trace208 private _tariffs;
    mapping(uint256 orderId => Order) private _orders;
    mapping(uint256 orderId => Iceberg) private _icebergs;
    mapping(uint256 period => TickBitmap.Map) private _ticks;
    mapping(uint256 levelKey => Level) private _levels;
    mapping(uint256 levelKey => mapping(uint256 position => Entry)) private _queues;
    /// @dev Carry-over (seed 003 AdBEV): the last period each order may be carried into, and the last order
    /// carried into each period (carries into a period come in placement order).
    mapping(uint256 orderId => uint256 lastPeriod) private _carryUntil;
    mapping(uint256 period => uint256 orderId) private _lastCarriedInto;
    /// @inheritdoc IEnergyOrderBook
    address public premiumSource;
    /// @dev Purchase premium (seed 002): a buy order's multiplier above x1.0 (bps), fixed at placement.
    mapping(uint256 orderId => uint256 extraBps) private _premiumBps;
    /// @inheritdoc IEnergyOrderBook
    address public orderGate;

    /// @param registry_ Registry of participants and roles (OPERATOR; the book itself needs MARKET to
    /// receive energy credits).
    /// @param upos_ The UPOS token. @param credit_ The EnergyCredit token.
    /// @param params Price grid, period timing and initial grid tariffs (see {BookParams}).
    constructor(ParticipantRegistry registry_, IERC20 upos_, IERC1155 credit_, BookParams memory params)
        RegistryGated(registry_)
        UposLedger(upos_)
    {
        if (address(credit_) == address(0)) revert ZeroAddress();
        uint256 step = params.tickSize;
        (uint256 low, uint256 high) = (params.minPrice, params.maxPrice);
        if (
            step == 0 || step % WH_PER_KWH != 0 || low < step || low % step != 0 || high < low || high % step != 0
                || high > type(uint128).max || (high - low) / step >= TickBitmap.MAX_TICKS
        ) revert InvalidPriceGrid(step, low, high);
        (uint256 genesis, uint256 length) = (params.genesisTime, params.periodSeconds);
        uint256 lead = params.gateLeadSeconds;
        if (
            !PeriodClock.isValid(genesis, length) || lead >= length || genesis > block.timestamp || genesis < lead
                || params.maxPeriodsAhead > type(uint32).max
        ) revert InvalidTiming(genesis, length, lead, params.maxPeriodsAhead);
        credit = credit_;
        tickSize = step;
        minPrice = params.minPrice;
        maxPrice = params.maxPrice;
        genesisTime = params.genesisTime;
        periodSeconds = params.periodSeconds;
        gateLeadSeconds = params.gateLeadSeconds;
        maxPeriodsAhead = params.maxPeriodsAhead;
        _setGridTariffs(params.importPrice, params.exportPrice, 0);
        _setOrderMinimums(params.minOrderWh, params.minDisplayWh);
    }

    // ---------------------------------------------------------------------------------- balances

    /// @inheritdoc IEnergyOrderBook
    function depositUpos(uint256 amount) external nonReentrant {
        _requireTrader(msg.sender);
        _deposit(msg.sender, amount);
    }

    /// @inheritdoc IEnergyOrderBook
    function withdrawUpos(uint256 amount) external nonReentrant {
        _withdraw(msg.sender, amount);
    }

    /// @inheritdoc IEnergyOrderBook
    function depositEnergy(uint256 period, uint256 wh) external nonReentrant {
        _requireTrader(msg.sender);
        if (wh == 0) revert ZeroAmount();
        energyFree[msg.sender][period] += wh;
        emit EnergyDeposited(msg.sender, period, wh);
        credit.safeTransferFrom(msg.sender, address(this), period, wh, "");
    }

    /// @inheritdoc IEnergyOrderBook
    function withdrawEnergy(uint256 period, uint256 wh) external nonReentrant {
        if (wh == 0) revert ZeroAmount();
        _debitEnergy(msg.sender, period, wh);
        emit EnergyWithdrawn(msg.sender, period, wh);
        credit.safeTransferFrom(address(this), msg.sender, period, wh, "");
    }

    /// @notice Accepts energy credits only from the book's own {depositEnergy} transfer, so that every
    /// credit the book holds is accounted to someone.
    /// @dev Reverts {UnexpectedCreditTransfer} for any transfer not initiated by the book.
    function onERC1155Received(address operator, address, uint256, uint256, bytes memory)
        public
        view
        override
        returns (bytes4)
    {
        if (operator != address(this)) revert UnexpectedCreditTransfer(operator);
        return this.onERC1155Received.selector;
    }

    /// @notice Refuses batch transfers: the book never makes one, so none is accounted.
    /// @dev Always reverts {UnexpectedCreditTransfer}.
    function onERC1155BatchReceived(address operator, address, uint256[] memory, uint256[] memory, bytes memory)
        public
        pure
        override
        returns (bytes4)
    {
        revert UnexpectedCreditTransfer(operator);
    }

    // ------------------------------------------------------------------------------------ orders

    /// @inheritdoc IEnergyOrderBook
    function placeOrder(uint256 period, bool isBuy, uint256 price, uint256 quantityWh, uint256 displayWh)
        external
        returns (uint256 orderId)
    {
        return _place(period, isBuy, price, quantityWh, displayWh, 0);
    }

    /// @inheritdoc IEnergyOrderBook
    function placeOrderWithOptions(
        uint256 period,
        bool isBuy,
        uint256 price,
        uint256 quantityWh,
        uint256 displayWh,
        uint256 flags,
        uint256 deadline
    ) external returns (uint256 orderId) {
        if (deadline != 0 && block.timestamp > deadline) revert DeadlinePassed(deadline, block.timestamp);
        if (flags >= POST_ONLY | IMMEDIATE_OR_CANCEL) revert InvalidOrderFlags(flags);
        return _place(period, isBuy, price, quantityWh, displayWh, flags);
    }

    /// @dev placeOrder with `flags`: POST_ONLY refuses an order that would trade, IMMEDIATE_OR_CANCEL
    /// cancels what is left after matching instead of resting it.
    function _place(uint256 period, bool isBuy, uint256 price, uint256 quantityWh, uint256 displayWh, uint256 flags)
        private
        returns (uint256 orderId)
    {
        _requireTrader(msg.sender);
        if (quantityWh == 0) revert ZeroAmount();
        if (quantityWh > MAX_QUANTITY_WH) revert QuantityTooLarge(quantityWh, MAX_QUANTITY_WH);
        Counters memory counters = _counters;
        if (quantityWh < counters.minOrderWh) revert OrderBelowMinimum(quantityWh, counters.minOrderWh);
        uint256 tick = _tickOf(price);
        if (displayWh == 0) revert ZeroDisplay(quantityWh);
        if (displayWh > quantityWh) revert DisplayExceedsTotal(displayWh, quantityWh);
        uint256 peakWh = displayWh == quantityWh ? 0 : displayWh;
        if (peakWh != 0 && peakWh < counters.minDisplayWh) revert DisplayBelowMinimum(peakWh, counters.minDisplayWh);
        _requireTradable(period);
        bool crosses = _ticks[period].crosses(isBuy, tick);
        if (crosses && flags & POST_ONLY != 0) revert OrderWouldTrade(period, price);
        uint256 extraBps = isBuy && counters.premiumOn ? _currentPremium(period) : 0;
        if (isBuy) _update(msg.sender, address(0), _payment(quantityWh, _grossPrice(price, extraBps)));
        else _debitEnergy(msg.sender, period, quantityWh);

        orderId = uint256(counters.lastOrderId) + 1;
        _counters.lastOrderId = uint40(orderId);
        emit OrderPlaced(orderId, msg.sender, period, isBuy, price, quantityWh, peakWh);
        if (extraBps != 0) {
            _premiumBps[orderId] = extraBps;
            emit PremiumFixed(orderId, NO_PREMIUM_BPS + extraBps);
        }

        Taker memory taker =
            Taker(orderId, msg.sender, period, isBuy, price, quantityWh, 0, 0, extraBps, counters.premiumOn, 0);
        if (crosses) {
            _match(taker);
            _creditTaker(taker);
        }

        if (peakWh != 0) _icebergs[orderId].peakWh = uint48(peakWh);
        if (taker.remainingWh == 0) {
            _orders[orderId] = Order(msg.sender, uint32(period), uint16(tick), isBuy, OrderStatus.Filled, 0);
        } else if (flags & IMMEDIATE_OR_CANCEL != 0) {
            Order memory order = Order(msg.sender, uint32(period), uint16(tick), isBuy, OrderStatus.Cancelled, 0);
            _orders[orderId] = order;
            _refund(orderId, order, taker.remainingWh);
            emit OrderCancelled(orderId, msg.sender, taker.remainingWh);
        } else {
            _rest(taker, tick, peakWh);
        }
        // last, after every state change: the gate may refuse the order, which undoes the whole placement
        if (counters.gateOn) IOrderGate(orderGate).admitOrder(msg.sender, period, isBuy, quantityWh);
    }

    /// @inheritdoc IEnergyOrderBook
    function cancelOrder(uint256 orderId) external {
        Order memory order = _knownOrder(orderId);
        if (order.owner != msg.sender) revert NotOrderOwner(orderId, msg.sender);
        // After gate closure the grid fallback decides; a cancel then would pre-empt the operator.
        if (block.timestamp >= gateClosure(order.period)) revert PeriodClosed(order.period);
        uint256 remainingWh = _close(orderId, order, OrderStatus.Cancelled);
        _refund(orderId, order, remainingWh);
        emit OrderCancelled(orderId, msg.sender, remainingWh);
    }

    /// @inheritdoc IEnergyOrderBook
    function expireOrders(uint256[] calldata orderIds) external {
        // whether the caller holds OPERATOR, asked of the registry once and only if an order needs it
        bool isOperator = false;
        bool roleChecked = false;
        for (uint256 i; i < orderIds.length; ++i) {
            uint256 orderId = orderIds[i];
            Order memory order = _closedPeriodOrder(orderId);
            uint256 opensAt = PeriodClock.startOf(genesisTime, periodSeconds, order.period);
            if (block.timestamp < opensAt) {
                if (!roleChecked) (isOperator, roleChecked) = (registry.hasRole(Roles.OPERATOR, msg.sender), true);
                if (!isOperator) revert ExpiryNotOpen(order.period, opensAt);
            }
            if (_skipIfNotOpen(orderId, order)) continue;
            _expire(orderId, order);
        }
    }

    /// @inheritdoc IEnergyOrderBook
    function gridFill(uint256[] calldata orderIds) external onlyRegistryRole(Roles.OPERATOR) {
        _settleClosed(orderIds, false);
    }

    /// @inheritdoc IEnergyOrderBook
    function stepOrders(uint256[] calldata orderIds) external onlyRegistryRole(Roles.OPERATOR) {
        _settleClosed(orderIds, true);
    }

    /// @dev {gridFill} (`carryFirst` false) and {stepOrders} (true: an order its owner lets wait is carried
    /// into the next period instead, unless {CarrySkipped}).
    function _settleClosed(uint256[] calldata orderIds, bool carryFirst) private {
        uint256 tariffPeriod = type(uint256).max;
        (uint256 importTariff, uint256 exportTariff) = (0, 0);
        for (uint256 i; i < orderIds.length; ++i) {
            uint256 orderId = orderIds[i];
            Order memory order = _closedPeriodOrder(orderId);
            if (_skipIfNotOpen(orderId, order)) continue;
            if (carryFirst && _carryUntil[orderId] > order.period && _carry(orderId, order)) continue;
            if (order.period != tariffPeriod) {
                (importTariff, exportTariff) = gridTariffs(order.period);
                tariffPeriod = order.period;
            }
            uint256 limit = _priceOf(order.tick);
            if (order.isBuy && limit >= importTariff) {
                uint256 remainingWh = _close(orderId, order, OrderStatus.GridFilled);
                // The buyer's lock pays the grid at the tariff and the premium on it; what its limit
                // reserved beyond is freed.
                uint256 extraBps = _premiumBps[orderId];
                _update(address(0), msg.sender, _payment(remainingWh, importTariff));
                _update(
                    address(0),
                    order.owner,
                    _payment(remainingWh, _grossPrice(limit, extraBps) - _grossPrice(importTariff, extraBps))
                );
                gridSuppliedWh[order.owner][order.period] += remainingWh;
                emit GridFilled(orderId, order.owner, msg.sender, true, importTariff, remainingWh);
                if (extraBps != 0) {
                    _payPremium(order.period, _payment(remainingWh, _premiumPrice(importTariff, extraBps)));
                }
            } else if (!order.isBuy && limit <= exportTariff) {
                uint256 remainingWh = _close(orderId, order, OrderStatus.GridFilled);
                _update(msg.sender, order.owner, _payment(remainingWh, exportTariff));
                energyFree[msg.sender][order.period] += remainingWh;
                emit GridFilled(orderId, order.owner, msg.sender, false, exportTariff, remainingWh);
            } else {
                _expire(orderId, order);
            }
        }
    }

    /// @inheritdoc IEnergyOrderBook
    function setGridTariffs(uint256 importPrice_, uint256 exportPrice_)
        external
        onlyRegistryRole(Roles.OPERATOR)
    {
        _setGridTariffs(importPrice_, exportPrice_, currentPeriod() + maxPeriodsAhead + 1);
    }

    /// @inheritdoc IEnergyOrderBook
    function setPremiumSource(address source) external onlyRegistryRole(Roles.ADMIN) {
        if (source == address(0)) revert ZeroAddress();
        address current = premiumSource;
        if (current != address(0)) revert PremiumSourceAlreadySet(current);
        premiumSource = source;
        _counters.premiumOn = true;
        emit PremiumSourceSet(source);
    }

    /// @inheritdoc IEnergyOrderBook
    function setOrderGate(address gate) external onlyRegistryRole(Roles.ADMIN) {
        if (gate == address(0)) revert ZeroAddress();
        address current = orderGate;
        if (current != address(0)) revert OrderGateAlreadySet(current);
        orderGate = gate;
        _counters.gateOn = true;
        emit OrderGateSet(gate);
    }

    /// @inheritdoc IEnergyOrderBook
    function setOrderMinimums(uint256 minOrderWh, uint256 minDisplayWh) external onlyRegistryRole(Roles.ADMIN) {
        _setOrderMinimums(minOrderWh, minDisplayWh);
    }

    // ------------------------------------------------------------------------------------- views

    /// @inheritdoc IEnergyOrderBook
    function bestBid(uint256 period) external view returns (uint256 price, uint256 visibleWh) {
        (bool found, uint256 tick) = _ticks[period].best(true);
        if (found) return _levelView(period, true, tick);
    }

    /// @inheritdoc IEnergyOrderBook
    function bestAsk(uint256 period) external view returns (uint256 price, uint256 visibleWh) {
        (bool found, uint256 tick) = _ticks[period].best(false);
        if (found) return _levelView(period, false, tick);
    }

    /// @inheritdoc IEnergyOrderBook
    function depth(uint256 period, bool isBuy, uint256 k)
        external
        view
        returns (uint256[] memory prices, uint256[] memory visibleWh)
    {
        TickBitmap.Map storage ticks = _ticks[period];
        (bool found, uint256 best) = ticks.best(isBuy);
        uint256 levels;
        for (uint256 counted = best; found && levels < k; ++levels) {
            (found, counted) = ticks.next(isBuy, counted);
        }
        prices = new uint256[](levels);
        visibleWh = new uint256[](levels);
        uint256 tick = best;
        for (uint256 i; i < levels; ++i) {
            (prices[i], visibleWh[i]) = _levelView(period, isBuy, tick);
            (, tick) = ticks.next(isBuy, tick);
        }
    }

    /// @inheritdoc IEnergyOrderBook
    function getOrder(uint256 orderId)
        external
        view
        returns (
            address owner,
            uint256 period,
            bool isBuy,
            uint256 price,
            uint256 remainingWh,
            uint256 visibleWh,
            uint256 peakWh,
            OrderStatus status
        )
    {
        Order memory order = _knownOrder(orderId);
        (owner, period, isBuy, price, status) =
            (order.owner, order.period, order.isBuy, _priceOf(order.tick), order.status);
        peakWh = _icebergs[orderId].peakWh;
        if (status == OrderStatus.Open) {
            Entry memory entry = _queues[_levelKey(order)][order.position];
            if (_isLive(entry, orderId)) {
                visibleWh = entry.visibleWh;
                remainingWh = visibleWh + _icebergs[orderId].hiddenWh;
            } else {
                status = OrderStatus.Filled;
            }
        }
    }

    /// @inheritdoc IEnergyOrderBook
    function premiumBpsOf(uint256 orderId) external view returns (uint256) {
        return NO_PREMIUM_BPS + _premiumBps[orderId];
    }

    /// @inheritdoc IEnergyOrderBook
    function uposFree(address account) external view returns (uint256) {
        return _balanceOf(account);
    }

    /// @inheritdoc IEnergyOrderBook
    function gateClosure(uint256 period) public view returns (uint256) {
        return PeriodClock.startOf(genesisTime, periodSeconds, period) - gateLeadSeconds;
    }

    /// @inheritdoc IEnergyOrderBook
    function currentPeriod() public view returns (uint256) {
        return PeriodClock.periodAt(genesisTime, periodSeconds, block.timestamp);
    }

    /// @inheritdoc IEnergyOrderBook
    function nextOrderId() public view returns (uint256) {
        return uint256(_counters.lastOrderId) + 1;
    }

    /// @inheritdoc IEnergyOrderBook
    function gridTariffs(uint256 period) public view returns (uint256 importPrice, uint256 exportPrice) {
        uint256 ticks =
            period > type(uint48).max ? _tariffs.latest() : _tariffs.upperLookupRecent(uint48(period));
        return (_priceOf(ticks >> 16), _priceOf(ticks & 0xffff));
    }

    /// @inheritdoc IEnergyOrderBook
    function orderMinimums() external view returns (uint256 minOrderWh, uint256 minDisplayWh) {
        Counters memory counters = _counters;
        return (counters.minOrderWh, counters.minDisplayWh);
    }

    /// @inheritdoc IEnergyOrderBook
    function openOrdersOf(address account, uint256 fromId, uint256 toId) external view returns (uint256[] memory ids) {
        (fromId, toId) = _idRange(fromId, toId);
        ids = new uint256[](toId - fromId);
        uint256 count;
        for (uint256 orderId = fromId; orderId < toId; ++orderId) {
            Order memory order = _orders[orderId];
            if (order.owner == account && _isOpen(orderId, order)) ids[count++] = orderId;
        }
        assembly ("memory-safe") {
            mstore(ids, count) // shrink to the open orders found
        }
    }

    /// @inheritdoc IEnergyOrderBook
    function lockedOf(address account, uint256 period, uint256 fromId, uint256 toId)
        external
        view
        returns (uint256 uposLocked, uint256 energyLockedWh)
    {
        (fromId, toId) = _idRange(fromId, toId);
        for (uint256 orderId = fromId; orderId < toId; ++orderId) {
            Order memory order = _orders[orderId];
            if (order.owner != account || order.period != period || !_isOpen(orderId, order)) continue;
            Entry memory entry = _queues[_levelKey(order)][order.position];
            uint256 remainingWh = entry.visibleWh + _icebergs[orderId].hiddenWh;
            if (order.isBuy) {
                uposLocked += _payment(remainingWh, _grossPrice(_priceOf(order.tick), _premiumBps[orderId]));
            } else {
                energyLockedWh += remainingWh;
            }
        }
    }

    // ---------------------------------------------------------------- carry-over (seed 003 AdBEV)

    /// @inheritdoc IEnergyOrderBook
    function setCarryLimit(uint256 orderId, uint256 lastPeriod) external {
        Order memory order = _knownOrder(orderId);
        if (order.owner != msg.sender) revert NotOrderOwner(orderId, msg.sender);
        if (block.timestamp >= gateClosure(order.period)) revert PeriodClosed(order.period);
        if (!_isOpen(orderId, order)) revert OrderNotOpen(orderId);
        if (lastPeriod <= order.period || lastPeriod > type(uint32).max) {
            revert InvalidCarryLimit(orderId, order.period, lastPeriod);
        }
        _carryUntil[orderId] = lastPeriod;
        emit CarryLimitSet(orderId, lastPeriod);
    }

    /// @inheritdoc IEnergyOrderBook
    function carryOrders(uint256[] calldata orderIds) external onlyRegistryRole(Roles.OPERATOR) {
        for (uint256 i; i < orderIds.length; ++i) {
            uint256 orderId = orderIds[i];
            Order memory order = _closedPeriodOrder(orderId);
            if (_skipIfNotOpen(orderId, order)) continue;
            _carry(orderId, order);
        }
    }

    /// @inheritdoc IEnergyOrderBook
    function carryLimit(uint256 orderId) external view returns (uint256) {
        return _carryUntil[orderId];
    }

    /// @dev Moves open `order` of a closed period into the next one (see {carryOrders}); returns false if
    /// it stays (a sell whose owner lacks the next period's credits: {CarrySkipped}).
    function _carry(uint256 orderId, Order memory order) private returns (bool carried) {
        uint256 toPeriod = uint256(order.period) + 1;
        uint256 lastPeriod = _carryUntil[orderId];
        if (toPeriod > lastPeriod) revert CarryPastLimit(orderId, toPeriod, lastPeriod);
        if (currentPeriod() + maxPeriodsAhead >= toPeriod) {
            revert CarryWindowClosed(toPeriod, PeriodClock.startOf(genesisTime, periodSeconds, toPeriod - maxPeriodsAhead));
        }
        uint256 lastCarried = _lastCarriedInto[toPeriod];
        if (orderId <= lastCarried) revert CarryOutOfOrder(toPeriod, lastCarried, orderId);
        Entry memory entry = _queues[_levelKey(order)][order.position];
        uint256 remainingWh = entry.visibleWh + (entry.iceberg ? _icebergs[orderId].hiddenWh : 0);
        if (!order.isBuy) {
            uint256 available = energyFree[order.owner][toPeriod];
            if (available < remainingWh) {
                emit CarrySkipped(orderId, available, remainingWh);
                return false;
            }
        }
        _lastCarriedInto[toPeriod] = orderId;
        _close(orderId, order, OrderStatus.Open);
        if (!order.isBuy) {
            // the lock moves from this period's credits to the next period's (checked above)
            energyFree[order.owner][order.period] += remainingWh;
            energyFree[order.owner][toPeriod] -= remainingWh;
        }
        emit OrderCarried(orderId, order.period, toPeriod, remainingWh);
        _rest(Taker(orderId, order.owner, toPeriod, order.isBuy, 0, remainingWh, 0, 0, 0, false, 0), order.tick, _icebergs[orderId].peakWh);
        return true;
    }

    // --------------------------------------------------------------------------------- internals

    /// @dev Trades the incoming order against the opposite side while it crosses, best level first.
    function _match(Taker memory taker) private {
        bool makersBuy = !taker.isBuy;
        uint256 makerSide = _sideKey(taker.period, makersBuy);
        TickBitmap.Map storage ticks = _ticks[taker.period];
        while (taker.remainingWh != 0) {
            (bool found, uint256 tick) = ticks.best(makersBuy);
            if (!found) return;
            uint256 price = _priceOf(tick);
            if (taker.isBuy ? price > taker.price : price < taker.price) return;
            if (!_takeLevel(taker, (makerSide << 16) | tick, price)) return;
            ticks.clear(makersBuy, tick);
        }
    }

    /// @dev Fills the incoming order from the front of one level until either is exhausted; returns
    /// whether the level emptied (and was deleted). A taken iceberg tranche is refreshed at the back of
    /// the level at once, so it trades again in this call if its turn comes.
    function _takeLevel(Taker memory taker, uint256 levelKey, uint256 price) private returns (bool emptied) {
        Level memory level = _levels[levelKey];
        mapping(uint256 position => Entry) storage queue = _queues[levelKey];
        uint256 position = level.head;
        uint256 tail = level.tail;
        uint256 levelVisibleWh = level.visibleWh;
        uint256 remainingWh = taker.remainingWh;
        // Fills never exceed the taker's remainder, the entry's visible Wh or the level's visible sum.
        unchecked {
            while (remainingWh != 0 && position < tail) {
                Entry memory entry = queue[position];
                if (entry.owner == address(0)) {
                    // a run of withdrawn tranches: jump to the position after it (never backwards)
                    uint256 afterRun = entry.orderId;
                    position = afterRun > position ? afterRun : position + 1;
                    continue;
                }
                uint256 fillWh = remainingWh < entry.visibleWh ? remainingWh : entry.visibleWh;
                remainingWh -= fillWh;
                levelVisibleWh -= fillWh;
                _settle(taker, entry.owner, entry.orderId, price, fillWh);
                if (fillWh < entry.visibleWh) {
                    queue[position].visibleWh = uint48(entry.visibleWh - fillWh);
                    break;
                }
                delete queue[position];
                ++position;
                if (entry.iceberg) {
                    uint256 tranche = _refreshTranche(queue, entry, tail);
                    if (tranche != 0) {
                        ++tail;
                        levelVisibleWh += tranche;
                    }
                }
            }
        }
        taker.remainingWh = remainingWh;
        if (levelVisibleWh == 0) {
            delete _levels[levelKey];
            return true;
        }
        _levels[levelKey] = Level(uint32(position), SafeCast.toUint32(tail), uint96(levelVisibleWh));
        return false;
    }

    /// @dev Moves a taken iceberg's next tranche (min(peak, hidden)) to queue position `tail`; returns
    /// its size, 0 if nothing was hidden (the order is filled).
    function _refreshTranche(mapping(uint256 position => Entry) storage queue, Entry memory taken, uint256 tail)
        private
        returns (uint256 tranche)
    {
        Iceberg memory iceberg = _icebergs[taken.orderId];
        if (iceberg.hiddenWh == 0) return 0;
        tranche = Math.min(iceberg.peakWh, iceberg.hiddenWh);
        _icebergs[taken.orderId].hiddenWh = uint48(iceberg.hiddenWh - tranche);
        queue[tail] = Entry(taken.owner, taken.orderId, uint48(tranche), true);
        _orders[taken.orderId].position = uint32(tail);
        emit TrancheRefreshed(taken.orderId, tranche, iceberg.hiddenWh);
    }

    /// @dev One trade of `fillWh` at the maker's `price`: the maker is paid now, the taker at the end.
    function _settle(Taker memory taker, address maker, uint256 makerOrderId, uint256 price, uint256 fillWh)
        private
    {
        uint256 value = _payment(fillWh, price);
        // Bounded by the tokens the book holds (and prices below 2^128), so no sum can overflow.
        unchecked {
            taker.tradedWh += fillWh;
            taker.tradedUpos += value;
            if (taker.isBuy) {
                _update(address(0), maker, value);
                if (taker.extraBps != 0) taker.premium += _payment(fillWh, _premiumPrice(price, taker.extraBps));
                emit Trade(taker.period, makerOrderId, taker.orderId, taker.owner, maker, price, fillWh);
            } else {
                energyFree[maker][taker.period] += fillWh;
                if (taker.premiumOn) {
                    uint256 extraBps = _premiumBps[makerOrderId];
                    if (extraBps != 0) taker.premium += _payment(fillWh, _premiumPrice(price, extraBps));
                }
                emit Trade(taker.period, makerOrderId, taker.orderId, maker, taker.owner, price, fillWh);
            }
        }
    }

    /// @dev Credits the incoming order's owner with what its trades brought: a buyer its energy and the
    /// part of its lock the better maker prices did not use, a seller the payments; then the recipient
    /// the premium the trades owe (a buyer's own, or the resting buys' a seller took).
    function _creditTaker(Taker memory taker) private {
        if (taker.tradedWh == 0) return;
        if (taker.isBuy) {
            energyFree[taker.owner][taker.period] += taker.tradedWh;
            uint256 improvement =
                _payment(taker.tradedWh, _grossPrice(taker.price, taker.extraBps)) - taker.tradedUpos - taker.premium;
            if (improvement != 0) _update(address(0), taker.owner, improvement);
        } else {
            _update(address(0), taker.owner, taker.tradedUpos);
        }
        if (taker.premium != 0) _payPremium(taker.period, taker.premium);
    }

    /// @dev Credits `amount` UPOS base units of premium on trades of `period` to the source's recipient
    /// (free balance in the book, withdrawn with {withdrawUpos}).
    function _payPremium(uint256 period, uint256 amount) private {
        address recipient = IPurchasePremium(premiumSource).premiumRecipient();
        _update(address(0), recipient, amount);
        emit PremiumPaid(recipient, period, amount);
    }

    /// @dev Rests what is left of the incoming order at the back of its level.
    function _rest(Taker memory taker, uint256 tick, uint256 peakWh) private {
        uint256 levelKey = (_sideKey(taker.period, taker.isBuy) << 16) | tick;
        Level memory level = _levels[levelKey];
        if (level.visibleWh == 0) _ticks[taker.period].set(taker.isBuy, tick);
        uint256 visibleWh = taker.remainingWh;
        if (peakWh != 0 && peakWh < visibleWh) {
            visibleWh = peakWh;
            _icebergs[taker.orderId].hiddenWh = uint48(taker.remainingWh - peakWh);
        }
        uint256 position = level.tail;
        _queues[levelKey][position] = Entry(taker.owner, uint40(taker.orderId), uint48(visibleWh), peakWh != 0);
        _levels[levelKey] = Level(level.head, SafeCast.toUint32(position + 1), uint96(level.visibleWh + visibleWh));
        _orders[taker.orderId] =
            Order(taker.owner, uint32(taker.period), uint16(tick), taker.isBuy, OrderStatus.Open, uint32(position));
    }

    /// @dev Takes an open order off the book and marks it `status`; returns its remaining Wh. Reverts
    /// {OrderNotOpen} if it is not open (its record says so, or its queue entry was taken).
    function _close(uint256 orderId, Order memory order, OrderStatus status) private returns (uint256 remainingWh) {
        if (order.status != OrderStatus.Open) revert OrderNotOpen(orderId);
        uint256 levelKey = _levelKey(order);
        mapping(uint256 position => Entry) storage queue = _queues[levelKey];
        Entry memory entry = queue[order.position];
        if (!_isLive(entry, orderId)) revert OrderNotOpen(orderId);
        remainingWh = entry.visibleWh;
        if (entry.iceberg) {
            remainingWh += _icebergs[orderId].hiddenWh;
            _icebergs[orderId].hiddenWh = 0;
        }
        Level memory level = _levels[levelKey];
        level.visibleWh -= entry.visibleWh;
        if (level.visibleWh == 0) {
            delete queue[order.position];
            delete _levels[levelKey];
            _ticks[order.period].clear(order.isBuy, order.tick);
        } else {
            if (order.position == level.head) {
                delete queue[order.position];
                ++level.head;
            } else {
                _withdrawEntry(queue, order.position, level.head, level.tail);
            }
            _levels[levelKey] = level;
        }
        _orders[orderId].status = status;
    }

    /// @dev Turns the live entry at `position` (inside [head, tail), not the head) into a gap, joined with
    /// the runs of gaps right before and after it: the merged run [first, afterRun) gets the pair
    /// (afterRun, first) in its first word, which takers read, and in its last word, which a later
    /// withdrawal right behind the run reads. Inner words of a run are never read again.
    function _withdrawEntry(mapping(uint256 position => Entry) storage queue, uint256 position, uint256 head, uint256 tail)
        private
    {
        uint256 first = position;
        uint256 afterRun = position + 1;
        // position > head, so position - 1 lies in [head, tail): a live entry or the last word of a run
        Entry memory before = queue[position - 1];
        if (before.owner == address(0)) first = before.visibleWh;
        if (afterRun < tail) {
            Entry memory next = queue[afterRun];
            if (next.owner == address(0)) afterRun = next.orderId;
        }
        Entry memory gap = Entry(address(0), uint40(afterRun), uint48(first), false);
        queue[first] = gap;
        queue[afterRun - 1] = gap;
        if (first != position && afterRun - 1 != position) delete queue[position];
    }

    /// @dev Expires an open order of a closed period and refunds its lock.
    function _expire(uint256 orderId, Order memory order) private {
        uint256 remainingWh = _close(orderId, order, OrderStatus.Expired);
        _refund(orderId, order, remainingWh);
        emit OrderExpired(orderId, order.owner, remainingWh);
    }

    /// @dev Returns an order's whole remaining lock (a buy's premium part included) to its owner's free balance.
    function _refund(uint256 orderId, Order memory order, uint256 remainingWh) private {
        if (order.isBuy) {
            uint256 lockPrice = _grossPrice(_priceOf(order.tick), _premiumBps[orderId]);
            _update(address(0), order.owner, _payment(remainingWh, lockPrice));
        }
        else energyFree[order.owner][order.period] += remainingWh;
    }

    /// @dev Both tariffs must be grid prices ({PriceOffGrid}, {PriceOutOfRange}), export at most import
    /// ({InvalidGridTariffs}); they apply from `fromPeriod` on (a later setting for the same first period
    /// replaces it).
    function _setGridTariffs(uint256 importPrice_, uint256 exportPrice_, uint256 fromPeriod) private {
        uint256 importTick = _tickOf(importPrice_);
        uint256 exportTick = _tickOf(exportPrice_);
        if (exportPrice_ > importPrice_) revert InvalidGridTariffs(importPrice_, exportPrice_);
        _tariffs.push(SafeCast.toUint48(fromPeriod), uint208(importTick << 16 | exportTick));
        emit GridTariffsSet(importPrice_, exportPrice_, fromPeriod);
    }

    /// @dev Both minimums in [1, MAX_QUANTITY_WH] ({InvalidOrderMinimums}).
    function _setOrderMinimums(uint256 minOrderWh, uint256 minDisplayWh) private {
        if (minOrderWh == 0 || minDisplayWh == 0 || minOrderWh > MAX_QUANTITY_WH || minDisplayWh > MAX_QUANTITY_WH) {
            revert InvalidOrderMinimums(minOrderWh, minDisplayWh);
        }
        (_counters.minOrderWh, _counters.minDisplayWh) = (uint48(minOrderWh), uint48(minDisplayWh));
        emit OrderMinimumsSet(minOrderWh, minDisplayWh);
    }

    /// @dev For a batch: reports and passes over an order that is no longer open (someone closed it
    /// first), so that one such order cannot sink the whole batch.
    function _skipIfNotOpen(uint256 orderId, Order memory order) private returns (bool skipped) {
        if (_isOpen(orderId, order)) return false;
        emit OrderSkipped(orderId, order.status == OrderStatus.Open ? OrderStatus.Filled : order.status);
        return true;
    }

    /// @dev Takes `wh` from a free energy balance of `period` or reverts {InsufficientBalance}.
    function _debitEnergy(address account, uint256 period, uint256 wh) private {
        uint256 available = energyFree[account][period];
        if (available < wh) revert InsufficientBalance(account, available, wh);
        unchecked {
            energyFree[account][period] = available - wh;
        }
    }

    /// @dev Active participants and OPERATOR may trade; anyone else gets the registry's own error.
    function _requireTrader(address account) private view {
        if (registry.isActive(account, ParticipantRegistry.Kind.None)) return;
        if (registry.hasRole(Roles.OPERATOR, account)) return;
        registry.requireActive(account);
    }

    /// @dev Orders may be placed for `period` before its gate closes and at most maxPeriodsAhead ahead.
    function _requireTradable(uint256 period) private view {
        // Periods are stored in 32 bits; one beyond that is far ahead (its gate is centuries away).
        if (period > type(uint32).max) revert PeriodTooFarAhead(period);
        if (block.timestamp >= gateClosure(period)) revert PeriodClosed(period);
        if (period > currentPeriod() + maxPeriodsAhead) revert PeriodTooFarAhead(period);
    }

    /// @dev Whether a placed order is open: its record says Open and its queue entry is still there.
    function _isOpen(uint256 orderId, Order memory order) private view returns (bool) {
        return order.status == OrderStatus.Open && _isLive(_queues[_levelKey(order)][order.position], orderId);
    }

    /// @dev Whether `entry` is the live tranche of `orderId` (not a gap, not another order's entry after its
    /// level emptied and reopened).
    function _isLive(Entry memory entry, uint256 orderId) private pure returns (bool) {
        return entry.orderId == orderId && entry.owner != address(0);
    }

    /// @dev [fromId, toId) cut to the ids placed so far.
    function _idRange(uint256 fromId, uint256 toId) private view returns (uint256, uint256) {
        uint256 end = nextOrderId();
        if (toId > end) toId = end;
        if (fromId == 0) fromId = 1;
        return (fromId, fromId > toId ? fromId : toId);
    }

    /// @dev The record of a placed order; reverts {UnknownOrder} for an id never placed.
    function _knownOrder(uint256 orderId) private view returns (Order memory order) {
        order = _orders[orderId];
        if (order.owner == address(0)) revert UnknownOrder(orderId);
    }

    /// @dev An order whose period's gate has closed (checks: known, closed; openness is checked on close).
    function _closedPeriodOrder(uint256 orderId) private view returns (Order memory order) {
        order = _knownOrder(orderId);
        if (block.timestamp < gateClosure(order.period)) revert PeriodNotClosed(order.period);
    }

    /// @dev Price and visible Wh of one level.
    function _levelView(uint256 period, bool isBuy, uint256 tick)
        private
        view
        returns (uint256 price, uint256 visibleWh)
    {
        return (_priceOf(tick), _levels[(_sideKey(period, isBuy) << 16) | tick].visibleWh);
    }

    /// @dev The tick index of a valid price; reverts {PriceOffGrid} or {PriceOutOfRange}.
    function _tickOf(uint256 price) private view returns (uint256) {
        if (price % tickSize != 0) revert PriceOffGrid(price);
        if (price < minPrice || price > maxPrice) revert PriceOutOfRange(price);
        return (price - minPrice) / tickSize;
    }

    /// @dev The premium source's multiplier of `period` above x1.0, in bps (0 for x1.0 or less), at most
    /// MAX_EXTRA_BPS (x10 in all): gross prices then stay below 2^132, inside {_payment}'s overflow bound.
    function _currentPremium(uint256 period) private view returns (uint256) {
        uint256 bps = IPurchasePremium(premiumSource).multiplierBps(period);
        if (bps <= NO_PREMIUM_BPS) return 0;
        return Math.min(bps - NO_PREMIUM_BPS, MAX_EXTRA_BPS);
    }

    /// @dev The premium price (UPOS base units per kWh) of `price` at `extraBps` above x1.0, rounded down to
    /// whole base units per Wh so that premiums of parts of an order add up exactly to the premium of it.
    function _premiumPrice(uint256 price, uint256 extraBps) private pure returns (uint256) {
        return price * extraBps / NO_PREMIUM_BPS / WH_PER_KWH * WH_PER_KWH;
    }

    /// @dev What a buy at `price` with `extraBps` premium locks per kWh: the price plus its premium price.
    function _grossPrice(uint256 price, uint256 extraBps) private pure returns (uint256) {
        return extraBps == 0 ? price : price + _premiumPrice(price, extraBps);
    }

    /// @dev The price (UPOS base units per kWh) of a tick index.
    function _priceOf(uint256 tick) private view returns (uint256) {
        return minPrice + tick * tickSize;
    }

    /// @dev UPOS base units for `wh` Wh at `price` per kWh (exact on the price grid). Quantities below
    /// 2^48 Wh (sums of them below 2^80) and prices below 2^128 cannot overflow.
    function _payment(uint256 wh, uint256 price) private pure returns (uint256) {
        unchecked {
            return wh * price / WH_PER_KWH;
        }
    }

    /// @dev Storage key of one side of a period's book; a level's key appends its 16-bit tick.
    function _sideKey(uint256 period, bool isBuy) private pure returns (uint256) {
        return (period << 1) | (isBuy ? 1 : 0);
    }

    /// @dev Storage key of the level an order rests at.
    function _levelKey(Order memory order) private pure returns (uint256) {
        return (_sideKey(order.period, order.isBuy) << 16) | order.tick;
    }
}
