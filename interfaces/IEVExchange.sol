// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IUposAccounts} from "./IUposAccounts.sol";

/// @title IEVExchange
/// @notice Seed 000 (EV fog energy management): what moves inside each prosumer <-> EV match and who
/// pays for it. Holds every EV's battery state (energy in Wh, kept inside the window [socMin, socMax]
/// of the ParticipantRegistry), logs the energy a match moved at each 10-s step of a period in one
/// transaction (the paper's exchange.csv fields), and settles in UPOS from internal balances:
/// prosumer -> EV at a fixed price, EV -> prosumer at clamp(cost basis x (1 + markup), grid sell,
/// grid buy) with the EV's weighted-average cost basis tracked here, the residual with the grid at
/// grid tariffs against the system operator. Energies in Wh, prices in UPOS base units per kWh,
/// payments `wh * price / 1000` (floored). Matches arrive from the matching contract (MARKET).
/// Money is kept in internal balances ({IUposAccounts}: deposit, withdraw, balanceOf). The rules and their
/// reasons: docs/seed000-contracts.md.
interface IEVExchange is IUposAccounts {
    /// @notice Static prices, UPOS base units per kWh, and the EV resale markup in basis points.
    /// @param gridBuyPrice P_gb: the price of energy imported from the grid.
    /// @param gridSellPrice P_gs: the price paid for energy exported to the grid.
    /// @param prosumerToEvPrice The price an EV pays a prosumer for stored energy (P_split).
    /// @param evMarkupBps The markup on its cost basis at which an EV resells (1000 = 10 %).
    /// @param initialStockPrice The cost basis of the energy an EV holds when its battery is opened.
    struct Tariffs {
        uint256 gridBuyPrice;
        uint256 gridSellPrice;
        uint256 prosumerToEvPrice;
        uint256 evMarkupBps;
        uint256 initialStockPrice;
    }

    /// @notice One EV's battery and tradable stock. `energyWh` is the content; `stockWh` the energy above
    /// the lower bound it may trade, bought at `costBase` UPOS base units in total.
    struct Battery {
        uint64 energyWh;
        uint64 stockWh;
        uint120 costBase;
        bool open;
    }

    /// @notice One match: a prosumer and an EV paired for one period; `evMaySell` is whether the EV's
    /// participation was verified when it bid (only then may it discharge to the prosumer).
    struct Match {
        address prosumer;
        address ev;
        bool evMaySell;
    }

    // ------------------------------------------------------------------------------------ errors

    /// @notice Constructor: a period must have at least one exchange step.
    error ZeroStepsPerPeriod();
    /// @notice Prices must satisfy gridSell <= prosumerToEv <= gridBuy <= MAX_PRICE, initialStock <=
    /// MAX_PRICE and evMarkupBps <= MAX_MARKUP_BPS: no prosumer pays more than the grid or earns less.
    error InvalidTariffs(
        uint256 gridBuyPrice,
        uint256 gridSellPrice,
        uint256 prosumerToEvPrice,
        uint256 evMarkupBps,
        uint256 initialStockPrice
    );
    /// @notice The battery of `ev` was opened before.
    error BatteryAlreadyOpen(address ev);
    /// @notice The battery of `ev` has not been opened: it cannot bid or trade yet.
    error BatteryNotOpen(address ev);
    /// @notice An opening energy content outside the EV's window [socMinWh, socMaxWh].
    error EnergyOutsideWindow(address ev, uint256 energyWh, uint256 socMinWh, uint256 socMaxWh);
    /// @notice The match arrays of one period differ in length.
    error MatchArraysMismatch(uint256 prosumers, uint256 evs, uint256 maySellFlags);
    /// @notice No matches were opened for `period`: nothing to log.
    error PeriodNotMatched(uint256 period);
    /// @notice An exchange log needs one entry per match and step: `expected` = matches x steps.
    error ExchangeLengthMismatch(uint256 expected, uint256 got);
    /// @notice A step would leave `ev` with `energyAfterWh` outside its window [socMinWh, socMaxWh].
    error BatteryWindowExceeded(address ev, uint256 step, int256 energyAfterWh, uint256 socMinWh, uint256 socMaxWh);
    /// @notice `ev` discharged in match `matchingId` although its participation was not verified.
    error SaleNotVerified(uint256 matchingId, address ev);
    /// @notice `ev` would sell `wh` Wh but holds only `stockWh` Wh of tradable stock (energy below the
    /// window it was opened with has no cost basis).
    error StockExceeded(address ev, uint256 wh, uint256 stockWh);
    /// @notice The grid settlement arrays differ in length.
    error GridArraysMismatch(uint256 prosumers, uint256 importEntries, uint256 exportEntries);

    // ------------------------------------------------------------------------------------ events

    /// @notice The tariffs in force from now on.
    event TariffsSet(
        uint256 gridBuyPrice,
        uint256 gridSellPrice,
        uint256 prosumerToEvPrice,
        uint256 evMarkupBps,
        uint256 initialStockPrice
    );
    /// @notice `ev`'s battery opened with `energyWh`; its stock above the lower bound valued at `costBase`.
    event BatteryOpened(address indexed ev, uint256 energyWh, uint256 stockWh, uint256 costBase);
    /// @notice Match `matchingId` of `period` pairs `prosumer` with `ev`.
    event MatchOpened(
        uint256 indexed period, uint256 indexed matchingId, address indexed prosumer, address ev, bool evMaySell
    );
    /// @notice One step of one match moved `energyWh` (> 0 prosumer -> EV, < 0 EV -> prosumer): the
    /// paper's exchange.csv row. `availableWh` and `capacityWh` are the EV's state after the step;
    /// `step` counts 10-s steps from period 0 (period x stepsPerPeriod + step within the period).
    /// `priceBasePerKwh` and `paymentBase` are what the energy was settled at.
    event EnergyExchanged(
        uint256 step,
        int256 energyWh,
        uint256 availableWh,
        uint256 capacityWh,
        uint256 indexed matchingId,
        address indexed prosumer,
        address indexed ev,
        uint256 priceBasePerKwh,
        uint256 paymentBase
    );
    /// @notice A match's steps of one period settled: `payer` paid `payee` `amount` base units net.
    event MatchSettled(uint256 indexed matchingId, address indexed payer, address indexed payee, uint256 amount);
    /// @notice `prosumer` traded its residual of `period` with the grid: `importWh` bought for
    /// `importCost`, `exportWh` sold for `exportRevenue` (UPOS base units), against `operator`.
    event GridSettled(
        uint256 indexed period,
        address indexed prosumer,
        address indexed operator,
        uint256 importWh,
        uint256 exportWh,
        uint256 importCost,
        uint256 exportRevenue
    );

    // ------------------------------------------------------------------------------------ functions

    /// @notice Opens `ev`'s battery at `energyWh` (its metered content when it joins); its stock above
    /// the lower bound gets the initial stock price as cost basis. Only METER, once per EV.
    function openBattery(address ev, uint64 energyWh) external;

    /// @notice Records the matches of `period`, numbered from the next matching id in array order.
    /// Only MARKET (the matching contract), once per period.
    /// @return firstMatchingId The id of the first match (every period gets one, even with no match).
    function openMatches(
        uint256 period,
        address[] calldata prosumers,
        address[] calldata evs,
        bool[] calldata evMaySell
    ) external returns (uint256 firstMatchingId);

    /// @notice Logs and settles the energy every match of `period` moved at each step, in one call.
    /// Only METER, once per period. `movedWh[s * matches + k]` is what match k (in matching-id order)
    /// moved at step s of the period, Wh, > 0 prosumer -> EV, < 0 EV -> prosumer.
    function logExchange(uint256 period, int64[] calldata movedWh) external;

    /// @notice Settles the residual of `period` with the grid, the caller (OPERATOR) being the
    /// counterparty: each prosumer pays importWh x gridBuyPrice and receives exportWh x gridSellPrice.
    /// Only OPERATOR, once per period.
    function settleGrid(
        uint256 period,
        address[] calldata prosumers,
        uint64[] calldata importWh,
        uint64[] calldata exportWh
    ) external;

    /// @notice Sets every price (see {Tariffs}). Only OPERATOR.
    function setTariffs(Tariffs calldata tariffs_) external;

    /// @notice The prices in force.
    function tariffs() external view returns (Tariffs memory);

    /// @notice `ev`'s battery record.
    function battery(address ev) external view returns (Battery memory);

    /// @notice What `ev` can discharge (energy above socMin) and absorb (room below socMax) now, Wh.
    /// Reverts {BatteryNotOpen} for a battery never opened.
    function headroom(address ev) external view returns (uint256 availableWh, uint256 freeCapacityWh);

    /// @notice Whether `ev` had stored energy from a prosumer in a period before `period`.
    function storedBefore(address ev, uint256 period) external view returns (bool);

    /// @notice The price at which `ev` sells now: clamp(basis x (1 + markup), gridSell, gridBuy).
    function evSellPrice(address ev) external view returns (uint256);

    /// @notice The matches of `period` (ids firstMatchingId, firstMatchingId + 1, ...); `opened` false
    /// if the period was never matched.
    function periodMatches(uint256 period)
        external
        view
        returns (bool opened, uint256 firstMatchingId, Match[] memory matches);

    /// @notice Match `matchingId`.
    function matchOf(uint256 matchingId) external view returns (Match memory);

    /// @notice The number of 10-s steps in one period.
    function stepsPerPeriod() external view returns (uint256);
}
