// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IGoverned} from "../../../contracts/interfaces/IGoverned.sol";
import {IJobMarket} from "../../../contracts/interfaces/IJobMarket.sol";
import {IStaking} from "../../../contracts/interfaces/IStaking.sol";
import {Job, MarketConfig} from "../../../contracts/market/Types.sol";
import {Ballot, SeatVote} from "../../../contracts/market/Votes.sol";
import {Fixture} from "../utils/Fixture.sol";

/// @notice A guardian turned hostile can stop new posts and claims, and nothing else: it cannot change the
/// parameters, name itself governor, take anyone's tokens or keep anyone's money in the market; the governor
/// removes it and reopens the market.
contract MaliciousGuardianTest is Fixture {
    bytes32 private constant SALT = keccak256("replace guardian");

    function test_attack_guardianCannotChangeParametersOrRoles() public {
        MarketConfig memory cfg = _config();
        cfg.validatorSlash = type(uint96).max; // would slash every honest validator's whole stake
        cfg.unbondingDelay = type(uint64).max; // would lock every new unbond forever
        vm.startPrank(guardian);
        vm.expectRevert(abi.encodeWithSelector(IGoverned.NotGovernor.selector, guardian));
        market.setConfig(cfg);
        vm.expectRevert(abi.encodeWithSelector(IGoverned.NotGovernor.selector, guardian));
        market.setGuardian(address(0xBAD));
        vm.expectRevert(); // not a proposer on the timelock either
        timelock.schedule(address(market), 0, abi.encodeCall(IGoverned.setConfig, (cfg)), bytes32(0), SALT, 0);
        vm.stopPrank();
        assertEq(market.config().validatorSlash, VALIDATOR_SLASH, "slash unchanged");
    }

    function test_attack_guardianCannotTakeFunds() public {
        (uint256 jobId, Job memory job) = _post(_spec());
        uint256 held = token.balanceOf(address(market));
        vm.startPrank(guardian);
        market.pause();
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.NotJobRequester.selector, jobId, guardian, requester));
        market.cancelJob(jobId, job);
        vm.expectRevert(abi.encodeWithSelector(IStaking.NothingToWithdraw.selector, guardian));
        market.withdraw();
        vm.expectRevert(abi.encodeWithSelector(IStaking.NothingUnbonding.selector, guardian));
        market.withdrawUnbonded();
        vm.stopPrank();
        assertEq(token.balanceOf(address(market)), held, "market holds every token it held");
        assertEq(token.balanceOf(guardian), 0, "guardian got nothing");
    }

    /// @notice The guardian pauses and refuses to unpause; every party still leaves with its money, and the
    /// governor replaces the guardian and reopens the market after the timelock's delay.
    function test_attack_pausedForeverStillPaysEveryoneOut() public {
        (uint256 openId, Job memory open) = _post(_spec());
        (uint256 runningId, Job memory running) = _post(_spec());
        running = _claim(runningId, running, provider);
        vm.prank(guardian);
        market.pause();

        vm.prank(requester);
        market.cancelJob(openId, open);
        running = _submit(runningId, running);
        _mine(2); // the seed block, then votes open
        _closeWindow(running);
        _finalize(runningId, running, _ballots(Ballot.Approve, Ballot.Approve, Ballot.Silent));
        vm.prank(provider);
        market.withdraw();
        vm.prank(provider);
        market.requestUnbond(PROVIDER_STAKE);
        _wait(UNBONDING_DELAY);
        vm.prank(provider);
        market.withdrawUnbonded();
        assertEq(_account(provider).stake, 0, "provider fully out");

        // Re-pausing after the fix does not help the guardian: it has been replaced.
        bytes memory call = abi.encodeCall(IGoverned.setGuardian, (address(0x6A4D2)));
        vm.prank(proposer);
        timelock.schedule(address(market), 0, call, bytes32(0), SALT, TIMELOCK_DELAY);
        _wait(TIMELOCK_DELAY);
        vm.prank(proposer);
        timelock.execute(address(market), 0, call, bytes32(0), SALT);
        bytes memory unpause = abi.encodeCall(IGoverned.unpause, ());
        vm.prank(proposer);
        timelock.schedule(address(market), 0, unpause, bytes32(0), SALT, TIMELOCK_DELAY);
        _wait(TIMELOCK_DELAY);
        vm.prank(proposer);
        timelock.execute(address(market), 0, unpause, bytes32(0), SALT);
        vm.prank(guardian);
        vm.expectRevert(abi.encodeWithSelector(IGoverned.NotGuardian.selector, guardian));
        market.pause();
        _post(_spec());
    }
}
