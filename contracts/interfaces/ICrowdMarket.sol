// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IGoverned} from "./IGoverned.sol";
import {IJobMarket} from "./IJobMarket.sol";
import {IStaking} from "./IStaking.sol";

/// @title The crowdcompute market: staking and the job market in one deployment
/// @notice One contract so that claiming and settling a job never pays for a call between contracts. Its
/// constructor deploys the CROWD token (so the market is the token's only minter) and sets the emission
/// budget for provider rewards to `cap - initialSupply`. Its parameters change only through its governor, a
/// timelock; its guardian can pause new posts, claims and registrations (`IGoverned`).
interface ICrowdMarket is IJobMarket, IStaking, IGoverned {
    /// @notice The supply parameters are inconsistent: `initialSupply` above `cap`, or `cap` above `maxCap`
    /// (every amount in the market is held in 96 bits, so the whole supply must fit in 96 bits).
    /// @param initialSupply Requested initial supply.
    /// @param cap Requested cap.
    /// @param maxCap The largest cap allowed (`type(uint96).max`).
    error InvalidSupply(uint256 initialSupply, uint256 cap, uint256 maxCap);
}
