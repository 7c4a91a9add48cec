// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ICrowdMarket} from "../interfaces/ICrowdMarket.sol";
import {CrowdToken} from "../token/CrowdToken.sol";
import {Governed} from "./Governed.sol";
import {JobMarket} from "./JobMarket.sol";
import {JobSettlement} from "./JobSettlement.sol";
import {Staking} from "./Staking.sol";
import {MarketConfig} from "./Types.sol";

/// @title The crowdcompute market
/// @notice Staking, the job market and settlement composed into one contract; deploys the CROWD token.
contract CrowdMarket is ICrowdMarket, JobSettlement {
    /// @param marketConfig Initial parameters; `rewardBps <= 10_000` (`InvalidRewardBps`); `feeBps <= 10_000`
    /// and `rewardBps < feeBps` unless `rewardBps == 0` (`InvalidFeeBps`); `epochLength > 0`
    /// (`InvalidEpochLength`). The governor may change them later (`setConfig`).
    /// @param treasury Receives the token's initial supply.
    /// @param initialSupply Tokens minted to `treasury` now.
    /// @param cap The token's cap, at most `type(uint96).max` and at least `initialSupply` (`InvalidSupply`);
    /// `cap - initialSupply` is the emission budget for provider rewards.
    /// @param governor The timelock that alone changes parameters and the guardian (nonzero: `InvalidGovernor`).
    /// @param guardian The account that may pause new posts, claims and registrations.
    constructor(
        MarketConfig memory marketConfig,
        address treasury,
        uint256 initialSupply,
        uint256 cap,
        address governor,
        address guardian
    )
        Governed(marketConfig, governor, guardian)
        Staking(_deployToken(treasury, initialSupply, cap))
        JobMarket(_emission(initialSupply, cap))
    {}

    /// @dev Deploys the token with this market as its minter, after checking the supply parameters.
    function _deployToken(address treasury, uint256 initialSupply, uint256 cap) private returns (address) {
        _emission(initialSupply, cap);
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
