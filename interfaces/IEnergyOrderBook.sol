// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IUposLedger} from "./IUposLedger.sol";

/// @title IEnergyOrderBook
/// @notice A limit order book for the energy of delivery periods, one book per period. Energy in Wh,
/// prices in UPOS base units per kWh on a tick grid, payments `quantityWh * price / 1000` UPOS base
/// units (exact: the tick size is a multiple of 1000). Traders keep internal balances (deposit once,
/// trade many times, withdraw); an order locks UPOS (buy) or energy credits of its period (sell) from
/// those balances, matches at once against the best opposite prices in price-time priority at the
/// resting order's price, and rests with what is left. Iceberg orders show a peak-sized tranche at a
/// time. After a period's gate closure nothing matches in its book: anyone refunds open orders, or
/// the system operator (OPERATOR) fills them against the grid. The rules: docs/order-book.md. UPOS enters
/// and leaves with {IUposLedger-Deposited} and {IUposLedger-Withdrawn}; the shared errors
/// ({IKwxErrors}) cover zero amounts, short balances, zero addresses and an inadmissible timing.
interface IEnergyOrderBook is IUposLedger {
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
    /// @param importPrice Initial grid import tariff (on the price grid).
    /// @param exportPrice Initial grid export (feed-in) tariff (on the price grid).
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
    /// @notice The owner cancelled an order; `refundedWh` (its remaining quantity) was unlocked.
    event OrderCancelled(uint256 indexed orderId, uint256 refundedWh);
    /// @notice An order of a closed period expired; `refundedWh` (its remaining quantity) was unlocked.
    event OrderExpired(uint256 indexed orderId, uint256 refundedWh);
    /// @notice The operator settled the remaining `quantityWh` of an order against the grid at `price`.
    event GridFilled(uint256 indexed orderId, bool isBuy, uint256 price, uint256 quantityWh);
    /// @notice The operator set the grid tariffs (UPOS base units per kWh).
    event GridTariffsSet(uint256 importPrice, uint256 exportPrice);

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

    /// @notice Places a limit order (displayWh 0 or == quantityWh) or an iceberg (0 < displayWh <
    /// quantityWh) for delivery `period`, matches it at once and rests what is left. Only active
    /// participants and OPERATOR.
    /// @param isBuy True to buy energy (locks quantityWh * price / 1000 UPOS), false to sell (locks
    /// quantityWh credits of `period`).
    /// @param price Limit price in UPOS base units per kWh, on the tick grid.
    /// @param quantityWh Total quantity in Wh. @param displayWh Iceberg peak in Wh (0: plain order).
    /// @return orderId The new order's id (ids start at 1 and grow by 1).
    function placeOrder(uint256 period, bool isBuy, uint256 price, uint256 quantityWh, uint256 displayWh)
        external
        returns (uint256 orderId);

    /// @notice Cancels an open order and unlocks its whole remaining quantity. Only its owner.
    function cancelOrder(uint256 orderId) external;

    /// @notice Expires open orders of closed periods and unlocks them. Anyone; all or none.
    function expireOrders(uint256[] calldata orderIds) external;

    /// @notice Settles open orders of closed periods against the grid: a buy whose limit reaches the
    /// import tariff is supplied at that tariff, a sell whose limit is at most the export tariff is
    /// bought by the operator (the caller) at that tariff, any other order expires. Only OPERATOR.
    function gridFill(uint256[] calldata orderIds) external;

    /// @notice Sets the grid tariffs in UPOS base units per kWh (both on the price grid). Only OPERATOR.
    function setGridTariffs(uint256 importPrice, uint256 exportPrice) external;

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
}
