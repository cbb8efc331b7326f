// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20Errors, IERC1155Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IUposLedger} from "./IUposLedger.sol";
import {IEnergyCreditErrors} from "./IEnergyCreditErrors.sol";
import {IParticipantRegistryErrors} from "./IParticipantRegistryErrors.sol";

/// @title IEnergyOrderBook
/// @notice A limit order book for the energy of delivery periods, one book per period. Energy in Wh,
/// prices in UPOS base units per kWh on a tick grid, payments `quantityWh * price / 1000` UPOS base
/// units (exact: the tick size is a multiple of 1000). Traders keep internal balances (deposit once,
/// trade many times, withdraw); an order locks UPOS (buy) or energy credits of its period (sell) from
/// those balances, matches at once against the best opposite prices in price-time priority at the
/// resting order's price, and rests with what is left. Iceberg orders show a peak-sized tranche at a
/// time. After a period's gate closure nothing matches in its book and no owner cancels: the system
/// operator (OPERATOR) fills its open orders against the grid at the tariffs fixed before the period
/// opened, or expires them; from the period's start anyone expires what is left. The rules:
/// docs/order-book.md; the attacks they answer: docs/security.md. UPOS enters and leaves with
/// {IUposLedger-Deposited} and {IUposLedger-Withdrawn}; the shared errors ({IKwxErrors}) cover zero
/// amounts, short balances, zero addresses and an inadmissible timing. The errors a call can bubble up
/// from the registry ({IParticipantRegistryErrors}), UPOS ({IERC20Errors}) and EnergyCredit
/// ({IERC1155Errors}, {IEnergyCreditErrors}) are part of this ABI, so every revert decodes by name.
interface IEnergyOrderBook is
    IUposLedger,
    IParticipantRegistryErrors,
    IEnergyCreditErrors,
    IERC20Errors,
    IERC1155Errors
{
    /// @notice An order's state. `Filled` also covers an order whose last tranche was taken.
    enum OrderStatus {
        Open,
        Filled,
        Cancelled,
        Expired,
        GridFilled
    }

    /// @notice Constructor parameters. Prices in UPOS base units per kWh, times in seconds.
    /// @param tickSize Price grid step, a positive multiple of 1000.
    /// @param minPrice Lowest admitted price, a multiple of tickSize, at least tickSize.
    /// @param maxPrice Highest admitted price, a multiple of tickSize, below 2^128; at most 16,384 grid
    /// prices from minPrice to maxPrice.
    /// @param genesisTime Start of period 0 (not in the future, at least gateLeadSeconds).
    /// @param periodSeconds Length of a delivery period.
    /// @param gateLeadSeconds Gate closure lead: trading in period p stops gateLeadSeconds before p starts;
    /// less than periodSeconds.
    /// @param maxPeriodsAhead How many periods beyond the current one are open for trading.
    /// @param importPrice Initial grid import tariff (on the price grid), from period 0.
    /// @param exportPrice Initial grid export (feed-in) tariff (on the price grid, at most importPrice).
    /// @param minOrderWh Smallest order quantity (Wh, at least 1); ADMIN may change it.
    /// @param minDisplayWh Smallest iceberg peak (Wh, at least 1); ADMIN may change it.
    struct BookParams {
        uint256 tickSize;
        uint256 minPrice;
        uint256 maxPrice;
        uint256 genesisTime;
        uint256 periodSeconds;
        uint256 gateLeadSeconds;
        uint256 maxPeriodsAhead;
        uint256 importPrice;
        uint256 exportPrice;
        uint256 minOrderWh;
        uint256 minDisplayWh;
    }

    // ------------------------------------------------------------------------------------ errors

    /// @notice `quantityWh` exceeds the largest order the book stores, `maxWh`.
    error QuantityTooLarge(uint256 quantityWh, uint256 maxWh);
    /// @notice `price` is not a multiple of the tick size.
    error PriceOffGrid(uint256 price);
    /// @notice `price` lies outside [minPrice, maxPrice].
    error PriceOutOfRange(uint256 price);
    /// @notice An iceberg's display (peak) size exceeds its total quantity.
    error DisplayExceedsTotal(uint256 displayWh, uint256 quantityWh);
    /// @notice An order of `quantityWh` showed nothing: an iceberg's display must be positive (a plain order
    /// displays its whole quantity).
    error ZeroDisplay(uint256 quantityWh);
    /// @notice `quantityWh` is below the smallest order the book takes, `minOrderWh`.
    error OrderBelowMinimum(uint256 quantityWh, uint256 minOrderWh);
    /// @notice An iceberg's peak `displayWh` is below the smallest the book takes, `minDisplayWh`.
    error DisplayBelowMinimum(uint256 displayWh, uint256 minDisplayWh);
    /// @notice Order minimums must lie in [1, MAX_QUANTITY_WH].
    error InvalidOrderMinimums(uint256 minOrderWh, uint256 minDisplayWh);
    /// @notice The export (feed-in) tariff may not exceed the import tariff.
    error InvalidGridTariffs(uint256 importPrice, uint256 exportPrice);
    /// @notice A post-only order at `price` would trade in `period` on arrival.
    error OrderWouldTrade(uint256 period, uint256 price);
    /// @notice The order's placement deadline `deadline` passed (the block's time is `timestamp`).
    error DeadlinePassed(uint256 deadline, uint256 timestamp);
    /// @notice `flags` is not 0, POST_ONLY (1) or IMMEDIATE_OR_CANCEL (2).
    error InvalidOrderFlags(uint256 flags);
    /// @notice Before `opensAt` (the start of `period`) only OPERATOR expires orders of `period`: between
    /// gate closure and delivery the operator's grid fallback goes first.
    error ExpiryNotOpen(uint256 period, uint256 opensAt);
    /// @notice The gate of `period` has closed: no new orders for it.
    error PeriodClosed(uint256 period);
    /// @notice `period` lies beyond currentPeriod + maxPeriodsAhead.
    error PeriodTooFarAhead(uint256 period);
    /// @notice The gate of `period` has not closed yet: its orders cannot expire or be grid-filled.
    error PeriodNotClosed(uint256 period);
    /// @notice `caller` does not own order `orderId`.
    error NotOrderOwner(uint256 orderId, address caller);
    /// @notice Order `orderId` is no longer open (filled, cancelled, expired or grid-filled).
    error OrderNotOpen(uint256 orderId);
    /// @notice No order `orderId` was ever placed.
    error UnknownOrder(uint256 orderId);
    /// @notice Energy credits arrive only through {depositEnergy}; `operator` sent them directly.
    error UnexpectedCreditTransfer(address operator);
    /// @notice Constructor: the tick size, price range or number of grid prices is not admissible.
    error InvalidPriceGrid(uint256 tickSize, uint256 minPrice, uint256 maxPrice);

    // ------------------------------------------------------------------------------------ events

    /// @notice `account` moved `wh` energy credits of `period` into its free balance.
    event EnergyDeposited(address indexed account, uint256 indexed period, uint256 wh);
    /// @notice `account` moved `wh` free energy credits of `period` back to its wallet.
    event EnergyWithdrawn(address indexed account, uint256 indexed period, uint256 wh);
    /// @notice A new order. `displayWh` is the iceberg peak, 0 for a plain limit order (also when the
    /// caller passed display == quantity). Emitted before the order's trades.
    event OrderPlaced(
        uint256 indexed orderId,
        address indexed owner,
        uint256 indexed period,
        bool isBuy,
        uint256 price,
        uint256 quantityWh,
        uint256 displayWh
    );
    /// @notice A resting iceberg showed a new tranche of `visibleWh` at the back of its level (new time
    /// priority); `remainingWh` is its whole remaining quantity, the new tranche included.
    event TrancheRefreshed(uint256 indexed orderId, uint256 visibleWh, uint256 remainingWh);
    /// @notice `quantityWh` of `period` changed hands at the resting (maker) order's `price`.
    event Trade(
        uint256 indexed period,
        uint256 makerOrderId,
        uint256 takerOrderId,
        address buyer,
        address seller,
        uint256 price,
        uint256 quantityWh
    );
    /// @notice `owner` cancelled an order; `refundedWh` (its remaining quantity) was unlocked.
    event OrderCancelled(uint256 indexed orderId, address indexed owner, uint256 refundedWh);
    /// @notice An order of a closed period expired; `refundedWh` (its remaining quantity) was unlocked for
    /// `owner`.
    event OrderExpired(uint256 indexed orderId, address indexed owner, uint256 refundedWh);
    /// @notice `operator` settled the remaining `quantityWh` of `owner`'s order against the grid at `price`.
    event GridFilled(
        uint256 indexed orderId,
        address indexed owner,
        address indexed operator,
        bool isBuy,
        uint256 price,
        uint256 quantityWh
    );
    /// @notice {expireOrders} or {gridFill} passed over an order that is no longer open (`status`: Filled,
    /// Cancelled, Expired or GridFilled): someone closed it first; the rest of the batch went on.
    event OrderSkipped(uint256 indexed orderId, OrderStatus status);
    /// @notice The operator set the grid tariffs (UPOS base units per kWh) of every period from
    /// `fromPeriod` on: the first period whose gate had not opened yet.
    event GridTariffsSet(uint256 importPrice, uint256 exportPrice, uint256 fromPeriod);
    /// @notice ADMIN set the smallest order and the smallest iceberg peak (Wh) for new orders.
    event OrderMinimumsSet(uint256 minOrderWh, uint256 minDisplayWh);

    // ---------------------------------------------------------------------------------- balances

    /// @notice Moves `amount` UPOS base units from the caller's wallet (approve first) into its free
    /// balance. Only active participants and OPERATOR.
    function depositUpos(uint256 amount) external;

    /// @notice Moves `amount` free UPOS base units back to the caller's wallet. Anyone with a balance.
    function withdrawUpos(uint256 amount) external;

    /// @notice Moves `wh` energy credits of `period` from the caller's wallet (setApprovalForAll first)
    /// into its free balance. Only active participants and OPERATOR.
    function depositEnergy(uint256 period, uint256 wh) external;

    /// @notice Moves `wh` free energy credits of `period` back to the caller's wallet. Anyone with a
    /// balance whom EnergyCredit lets receive credits (an active participant).
    function withdrawEnergy(uint256 period, uint256 wh) external;

    // ------------------------------------------------------------------------------------ orders

    /// @notice Places a plain limit order (displayWh == quantityWh: the whole order shown) or an iceberg
    /// (0 < displayWh < quantityWh) for delivery `period`, matches it at once and rests what is left. Only
    /// active participants and OPERATOR. quantityWh is at least the order minimum ({OrderBelowMinimum}), an
    /// iceberg's peak at least the display minimum ({DisplayBelowMinimum}); displayWh 0 reverts
    /// {ZeroDisplay} and displayWh above quantityWh {DisplayExceedsTotal}.
    /// @param isBuy True to buy energy (locks quantityWh * price / 1000 UPOS), false to sell (locks
    /// quantityWh credits of `period`).
    /// @param price Limit price in UPOS base units per kWh, on the tick grid.
    /// @param quantityWh Total quantity in Wh. @param displayWh Iceberg peak in Wh (quantityWh: plain order).
    /// @return orderId The new order's id (ids start at 1 and grow by 1).
    function placeOrder(uint256 period, bool isBuy, uint256 price, uint256 quantityWh, uint256 displayWh)
        external
        returns (uint256 orderId);

    /// @notice {placeOrder} with options. `flags`: 0, POST_ONLY (1: reverts {OrderWouldTrade} instead of
    /// trading on arrival) or IMMEDIATE_OR_CANCEL (2: trades what crosses now; the rest is cancelled and
    /// refunded at once, {OrderCancelled}, instead of resting). `deadline`: 0 for none, else the latest block
    /// time at which the order may be placed ({DeadlinePassed}); a resting order lives until its period's
    /// gate closure as any other (a per-order expiry would cost every fill a storage read).
    /// @return orderId The new order's id.
    function placeOrderWithOptions(
        uint256 period,
        bool isBuy,
        uint256 price,
        uint256 quantityWh,
        uint256 displayWh,
        uint256 flags,
        uint256 deadline
    ) external returns (uint256 orderId);

    /// @notice Cancels an open order and unlocks its whole remaining quantity. Only its owner, and only
    /// before its period's gate closure ({PeriodClosed}): after it the grid fallback decides.
    function cancelOrder(uint256 orderId) external;

    /// @notice Expires open orders of closed periods and unlocks them. OPERATOR from gate closure, anyone
    /// from the period's start ({ExpiryNotOpen}). An order no longer open is skipped ({OrderSkipped});
    /// an unknown order or an open gate reverts the batch.
    function expireOrders(uint256[] calldata orderIds) external;

    /// @notice Settles open orders of closed periods against the grid at the tariffs of each order's
    /// period: a buy whose limit reaches the import tariff is supplied at that tariff, a sell whose limit
    /// is at most the export tariff is bought by the operator (the caller) at that tariff, any other order
    /// expires. An order no longer open is skipped ({OrderSkipped}). Only OPERATOR.
    function gridFill(uint256[] calldata orderIds) external;

    /// @notice Sets the grid tariffs in UPOS base units per kWh (both on the price grid, export at most
    /// import) for every period from the first whose gate has not opened yet (currentPeriod() +
    /// maxPeriodsAhead + 1): no open period's tariffs ever change. Only OPERATOR.
    function setGridTariffs(uint256 importPrice, uint256 exportPrice) external;

    /// @notice Sets the smallest order quantity and the smallest iceberg peak (Wh, each in [1,
    /// MAX_QUANTITY_WH]) for orders placed from now on. Only ADMIN.
    function setOrderMinimums(uint256 minOrderWh, uint256 minDisplayWh) external;

    // ------------------------------------------------------------------------------------- views

    /// @notice The highest bid of `period` and the visible Wh at it; (0, 0) if there is none.
    function bestBid(uint256 period) external view returns (uint256 price, uint256 visibleWh);

    /// @notice The lowest ask of `period` and the visible Wh at it; (0, 0) if there is none.
    function bestAsk(uint256 period) external view returns (uint256 price, uint256 visibleWh);

    /// @notice The best `k` price levels of one side of `period`, best first, with their visible Wh
    /// (iceberg hidden parts excluded). Fewer than `k` if the side has fewer levels.
    function depth(uint256 period, bool isBuy, uint256 k)
        external
        view
        returns (uint256[] memory prices, uint256[] memory visibleWh);

    /// @notice One order. `remainingWh` includes an iceberg's hidden part; `visibleWh` is its shown
    /// tranche; `peakWh` is the iceberg peak (0 for a plain order). Reverts {UnknownOrder}.
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
        );

    /// @notice Free UPOS base units of `account` (not locked in orders).
    function uposFree(address account) external view returns (uint256);

    /// @notice Free Wh of `period` of `account` (not locked in orders).
    function energyFree(address account, uint256 period) external view returns (uint256);

    /// @notice Wh of `period` the grid supplied to `account` through {gridFill} (not EnergyCredits).
    function gridSuppliedWh(address account, uint256 period) external view returns (uint256);

    /// @notice The timestamp at which trading in `period` stops.
    function gateClosure(uint256 period) external view returns (uint256);

    /// @notice The delivery period the current block falls in.
    function currentPeriod() external view returns (uint256);

    /// @notice The id the next placed order will get.
    function nextOrderId() external view returns (uint256);

    /// @notice The grid tariffs (import, export; UPOS base units per kWh) that apply to `period`.
    function gridTariffs(uint256 period) external view returns (uint256 importPrice, uint256 exportPrice);

    /// @notice The smallest order quantity and the smallest iceberg peak (Wh) new orders need.
    function orderMinimums() external view returns (uint256 minOrderWh, uint256 minDisplayWh);

    /// @notice The ids of `account`'s open orders among ids [fromId, toId) (toId beyond the last order is
    /// cut to it), oldest first. A view scanning one order record per id: page through long ranges.
    function openOrdersOf(address account, uint256 fromId, uint256 toId) external view returns (uint256[] memory);

    /// @notice What `account`'s open orders of `period` among ids [fromId, toId) lock: UPOS base units in
    /// its buys, Wh of `period` in its sells (iceberg hidden parts included). Same scan as {openOrdersOf}.
    function lockedOf(address account, uint256 period, uint256 fromId, uint256 toId)
        external
        view
        returns (uint256 uposLocked, uint256 energyLockedWh);

    // ------------------------------------------------------------- purchase premium (seed 002)

    /// @notice The premium source was set already (to `source`); it is set once.
    error PremiumSourceAlreadySet(address source);

    /// @notice From now on, buy orders pay `source`'s premium (IPurchasePremium) on top of their trades.
    event PremiumSourceSet(address indexed source);
    /// @notice Buy order `orderId` pays `multiplierBps` (> 10000) on its trades: fixed at placement.
    event PremiumFixed(uint256 indexed orderId, uint256 multiplierBps);
    /// @notice `amount` UPOS base units of premium on trades of `period` were credited to `recipient`.
    event PremiumPaid(address indexed recipient, uint256 indexed period, uint256 amount);

    /// @notice Makes every later buy order pay the premium of `source` (see docs/peak_control-contracts.md):
    /// at placement the order's multiplier m is read and fixed, its lock is its quantity at its limit price
    /// plus the premium price (limit * (m - 10000) / 10000, rounded down to whole base units per Wh), each
    /// trade pays the maker the trade price and the recipient the premium price of the trade price, and
    /// refunds return both parts of the remainder. Only ADMIN, once; {ZeroAddress}, {PremiumSourceAlreadySet}.
    function setPremiumSource(address source) external;

    /// @notice The premium source (zero address: none, buys pay no premium).
    function premiumSource() external view returns (address);

    /// @notice The multiplier (bps) fixed for buy order `orderId` at placement; 10000 for none.
    function premiumBpsOf(uint256 orderId) external view returns (uint256);

    // ------------------------------------------------------------------- order gate (seed 003 AdBEV)

    /// @notice The order gate was set already (to `gate`); it is set once.
    error OrderGateAlreadySet(address gate);

    /// @notice From now on every placed order is put to `gate` (IOrderGate), which may refuse it.
    event OrderGateSet(address indexed gate);

    /// @notice Makes every later order pass `gate` (an {IOrderGate}: seed 003's BatteryWindows refuses an EV's
    /// order beyond its battery window): after the order is placed and matched the book calls
    /// `gate.admitOrder(owner, period, isBuy, quantityWh)`, and a revert there undoes the whole placement.
    /// Carried orders are not put to it again. Only ADMIN, once; {ZeroAddress}, {OrderGateAlreadySet}.
    function setOrderGate(address gate) external;

    /// @notice The order gate (zero address: none, every order is admitted).
    function orderGate() external view returns (address);

    // ------------------------------------------------------------------ carry-over (seed 003 AdBEV)

    /// @notice `lastPeriod` is not a period after the order's own `period` (or exceeds 2^32 - 1).
    error InvalidCarryLimit(uint256 orderId, uint256 period, uint256 lastPeriod);
    /// @notice Carrying `orderId` into `toPeriod` would pass the last period its owner allowed, `lastPeriod`
    /// (0: the owner allowed none).
    error CarryPastLimit(uint256 orderId, uint256 toPeriod, uint256 lastPeriod);
    /// @notice `toPeriod` is already open for new orders (it opened at `openedAt`): a carried order could
    /// no longer keep its priority over them.
    error CarryWindowClosed(uint256 toPeriod, uint256 openedAt);
    /// @notice Orders carried into `toPeriod` must come in placement order: `orderId` after `lastCarriedId`.
    error CarryOutOfOrder(uint256 toPeriod, uint256 lastCarriedId, uint256 orderId);

    /// @notice The owner allowed `orderId` to be carried into later periods up to `lastPeriod`.
    event CarryLimitSet(uint256 indexed orderId, uint256 lastPeriod);
    /// @notice The operator moved what was left of `orderId` (`remainingWh`, its price, side and iceberg
    /// peak unchanged) from `fromPeriod` into `toPeriod`, ahead of every order placed for `toPeriod`.
    event OrderCarried(uint256 indexed orderId, uint256 fromPeriod, uint256 toPeriod, uint256 remainingWh);
    /// @notice {carryOrders} passed over sell `orderId`: its owner has `availableWh` free Wh of the next
    /// period, `neededWh` were needed; the order stays in its own period (to expire or be grid-filled).
    event CarrySkipped(uint256 indexed orderId, uint256 availableWh, uint256 neededWh);

    /// @notice Lets the caller's open `orderId` be carried by the operator into later periods up to
    /// `lastPeriod` (passive/aggressive iceberg execution, docs/adbev-contracts.md). Only the owner,
    /// before its period's gate closure ({PeriodClosed}); a later call replaces the limit.
    function setCarryLimit(uint256 orderId, uint256 lastPeriod) external;

    /// @notice Moves each open order of a closed period into the next period with its remaining quantity,
    /// price, side and iceberg peak, behind the orders carried there before it and ahead of any order
    /// placed there (which is why the next period must not be open yet: {CarryWindowClosed}). A sell
    /// needs its owner's free Wh of the next period (the lock moves from one period's credits to the
    /// next's) or is skipped ({CarrySkipped}); an order no longer open is skipped ({OrderSkipped}). Reverts
    /// the batch for an unknown order, an open gate ({PeriodNotClosed}), an order past its carry limit
    /// ({CarryPastLimit}) or out of placement order ({CarryOutOfOrder}). Only OPERATOR.
    function carryOrders(uint256[] calldata orderIds) external;

    /// @notice The AdBEV per-period strategy step (seed 003 Table 4-B) over open orders of a closed period:
    /// an order its owner lets wait into the next period ({setCarryLimit}) is carried as by {carryOrders}
    /// (aggressive execution: an iceberg buy waits up to WT_max; passive: a sell is pushed on with its
    /// priority until killed); every other order is settled as by {gridFill} (a normal buy is filled from
    /// the grid, a sell past its kill period expires unless the operator buys it at the export tariff). A
    /// sell whose owner lacks the next period's credits is not carried ({CarrySkipped}) but settled. Same
    /// batch rules and errors as the two. Only OPERATOR.
    function stepOrders(uint256[] calldata orderIds) external;

    /// @notice The last period `orderId` may be carried into (0: none).
    function carryLimit(uint256 orderId) external view returns (uint256);
}
