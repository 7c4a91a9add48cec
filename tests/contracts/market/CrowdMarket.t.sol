// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IGoverned} from "../../../contracts/interfaces/IGoverned.sol";
import {ICrowdMarket} from "../../../contracts/interfaces/ICrowdMarket.sol";
import {MarketConfig} from "../../../contracts/market/Types.sol";
import {Fixture} from "../utils/Fixture.sol";
import {ICrowdTokenFull} from "../utils/ICrowdTokenFull.sol";

/// @notice Construction and configuration of the composed market.
contract CrowdMarketTest is Fixture {
    function test_constructor_deploysTokenWithMarketAsMinter() public view {
        assertEq(token.minter(), address(market), "minter");
        assertEq(token.cap(), CAP, "cap");
        assertEq(token.balanceOf(treasury) + _distributed(), INITIAL_SUPPLY, "initial supply to treasury");
    }

    function test_constructor_setsEmissionBudgetToCapMinusInitialSupply() public view {
        assertEq(market.rewardsRemaining(), CAP - INITIAL_SUPPLY, "emission");
    }

    function test_constructor_startsJobIdsAtOne() public view {
        assertEq(market.nextJobId(), 1, "first id");
    }

    function test_config_returnsDeployParameters() public view {
        MarketConfig memory cfg = market.config();
        assertEq(cfg.unbondingDelay, UNBONDING_DELAY, "delay");
        assertEq(cfg.minProviderStake, MIN_PROVIDER_STAKE, "min provider");
        assertEq(cfg.minValidatorStake, MIN_VALIDATOR_STAKE, "min validator");
        assertEq(cfg.validatorSlash, VALIDATOR_SLASH, "slash");
        assertEq(cfg.rewardBps, REWARD_BPS, "bps");
        assertEq(market.token(), address(token), "token");
    }

    function test_constructor_revertsWhenInitialSupplyAboveCap() public {
        vm.expectRevert(abi.encodeWithSelector(ICrowdMarket.InvalidSupply.selector, 2, 1, type(uint96).max));
        this.deploy("CrowdMarket.sol:CrowdMarket", abi.encode(_config(), treasury, 2, 1, address(timelock), guardian));
    }

    function test_constructor_revertsWhenCapExceeds96Bits() public {
        uint256 cap = uint256(type(uint96).max) + 1;
        vm.expectRevert(abi.encodeWithSelector(ICrowdMarket.InvalidSupply.selector, 0, cap, type(uint96).max));
        this.deploy("CrowdMarket.sol:CrowdMarket", abi.encode(_config(), treasury, 0, cap, address(timelock), guardian));
    }

    function test_constructor_revertsWhenRewardBpsAboveOneHundredPercent() public {
        MarketConfig memory cfg = _config();
        cfg.rewardBps = 10_001;
        vm.expectRevert(abi.encodeWithSelector(IGoverned.InvalidRewardBps.selector, 10_001, 10_000));
        this.deploy(
            "CrowdMarket.sol:CrowdMarket", abi.encode(cfg, treasury, INITIAL_SUPPLY, CAP, address(timelock), guardian)
        );
    }

    function testFuzz_constructor_emissionIsCapMinusInitialSupply(uint96 cap, uint96 initialSupply) public {
        cap = uint96(uint256(cap) % type(uint96).max) + 1;
        initialSupply = uint96(uint256(initialSupply) % (uint256(cap) + 1));
        ICrowdMarket fresh = _deployMarket(_config(), initialSupply, cap);
        assertEq(fresh.rewardsRemaining(), cap - initialSupply, "emission");
        assertEq(ICrowdTokenFull(fresh.token()).totalSupply(), initialSupply, "supply");
    }

    /// @dev Tokens the fixture handed to actors (all of it now sits with them or in the market).
    function _distributed() private view returns (uint256) {
        return token.balanceOf(requester) + token.balanceOf(address(market));
    }
}
