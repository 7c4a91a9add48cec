// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title The market's governor: OpenZeppelin's TimelockController, unchanged
/// @notice Every parameter change is scheduled here, public for `minDelay` seconds, then executed. Deployed
/// before the market, which names it as its `governor`.
contract MarketTimelock is TimelockController {
    /// @param minDelay Seconds between scheduling and executing an operation.
    /// @param proposers Accounts that may schedule (and cancel) operations.
    /// @param executors Accounts that may execute ready operations (`address(0)`: anyone).
    /// @param admin Optional admin for role setup (`address(0)`: the timelock administers itself).
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors, address admin)
        TimelockController(minDelay, proposers, executors, admin)
    {}
}
