// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IJobMarket} from "./IJobMarket.sol";
import {IStaking} from "./IStaking.sol";

/// @title The crowdcompute market: staking and the job market in one deployment
/// @notice One contract so that claiming and settling a job never pays for a call between contracts. Its
/// constructor deploys the CROWD token (so the market is the token's only minter) and sets the emission
/// budget for provider rewards to `cap - initialSupply`.
interface ICrowdMarket is IJobMarket, IStaking {
    /// @notice The supply parameters are inconsistent: `initialSupply` above `cap`, or `cap` above `maxCap`
    /// (every amount in the market is held in 96 bits, so the whole supply must fit in 96 bits).
    /// @param initialSupply Requested initial supply.
    /// @param cap Requested cap.
    /// @param maxCap The largest cap allowed (`type(uint96).max`).
    error InvalidSupply(uint256 initialSupply, uint256 cap, uint256 maxCap);

    /// @notice `config.rewardBps` is above 100%.
    /// @param rewardBps The value given.
    /// @param max 10,000.
    error InvalidRewardBps(uint256 rewardBps, uint256 max);

    /// @notice `config.feeBps` is above 100%, or not above a non-zero `config.rewardBps` (the reward must stay
    /// below the fee for every budget, so that a requester and provider dealing with each other lose tokens).
    /// @param feeBps The value given.
    /// @param rewardBps The reward rate it must exceed (unless that is zero).
    /// @param max 10,000.
    error InvalidFeeBps(uint256 feeBps, uint256 rewardBps, uint256 max);

    /// @notice `config.epochLength` is zero.
    error InvalidEpochLength();
}
