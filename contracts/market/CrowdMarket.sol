// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ICrowdMarket} from "../interfaces/ICrowdMarket.sol";
import {CrowdToken} from "../token/CrowdToken.sol";
import {JobMarket} from "./JobMarket.sol";
import {JobSettlement} from "./JobSettlement.sol";
import {Staking} from "./Staking.sol";
import {MarketConfig} from "./Types.sol";

/// @title The crowdcompute market
/// @notice Staking, the job market and settlement composed into one contract; deploys the CROWD token.
contract CrowdMarket is ICrowdMarket, JobSettlement {
    uint256 private constant MAX_BPS = 10_000;

    /// @param marketConfig Immutable parameters; `rewardBps <= 10_000` (`InvalidRewardBps`); `feeBps <= 10_000`
    /// and `rewardBps < feeBps` unless `rewardBps == 0` (`InvalidFeeBps`); `epochLength > 0` (`InvalidEpochLength`).
    /// @param treasury Receives the token's initial supply.
    /// @param initialSupply Tokens minted to `treasury` now.
    /// @param cap The token's cap, at most `type(uint96).max` and at least `initialSupply` (`InvalidSupply`);
    /// `cap - initialSupply` is the emission budget for provider rewards.
    constructor(MarketConfig memory marketConfig, address treasury, uint256 initialSupply, uint256 cap)
        Staking(marketConfig, _deployToken(marketConfig, treasury, initialSupply, cap))
        JobMarket(_emission(initialSupply, cap))
    {}

    /// @dev Validates the parameters, then deploys the token with this market as its minter.
    function _deployToken(MarketConfig memory marketConfig, address treasury, uint256 initialSupply, uint256 cap)
        private
        returns (address)
    {
        _emission(initialSupply, cap);
        uint256 rewardBps = marketConfig.rewardBps;
        uint256 feeBps = marketConfig.feeBps;
        if (rewardBps > MAX_BPS) revert InvalidRewardBps(rewardBps, MAX_BPS);
        // floor(b * rewardBps) < ceil(b * feeBps) for every budget b >= 1 exactly when rewardBps < feeBps
        if (feeBps > MAX_BPS || (rewardBps != 0 && rewardBps >= feeBps)) {
            revert InvalidFeeBps(feeBps, rewardBps, MAX_BPS);
        }
        if (marketConfig.epochLength == 0) revert InvalidEpochLength();
        return address(new CrowdToken(treasury, initialSupply, cap));
    }

    /// @dev The emission budget `cap - initialSupply`, after checking the supply parameters. Called from both base
    /// constructor arguments because their evaluation order is not specified.
    function _emission(uint256 initialSupply, uint256 cap) private pure returns (uint256) {
        if (initialSupply > cap || cap > type(uint96).max) {
            revert InvalidSupply(initialSupply, cap, type(uint96).max);
        }
        return cap - initialSupply;
    }
}
