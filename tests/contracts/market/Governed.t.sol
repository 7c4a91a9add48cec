// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IGoverned} from "../../../contracts/interfaces/IGoverned.sol";
import {IStaking} from "../../../contracts/interfaces/IStaking.sol";
import {Job, JobSpec, MarketConfig} from "../../../contracts/market/Types.sol";
import {Ballot, SeatVote} from "../../../contracts/market/Votes.sol";
import {Fixture} from "../utils/Fixture.sol";
import {ITimelock} from "../utils/ITimelock.sol";

/// @notice Parameters change only through the timelock; the guardian pauses new posts, claims and registrations,
/// and a paused market still settles running jobs and pays everyone out.
contract GovernedTest is Fixture {
    bytes32 private constant SALT = keccak256("salt");

    // ------------------------------------------------------------------ deployment

    function test_constructor_namesGovernorAndGuardian() public view {
        assertEq(market.governor(), address(timelock), "governor");
        assertEq(market.guardian(), guardian, "guardian");
        assertEq(market.paused(), false, "not paused");
        assertEq(timelock.getMinDelay(), TIMELOCK_DELAY, "delay");
    }

    function test_constructor_revertsWithoutGovernor() public {
        vm.expectRevert(IGoverned.InvalidGovernor.selector);
        this.deploy("CrowdMarket.sol:CrowdMarket", abi.encode(_config(), treasury, 1, 2, address(0), guardian));
    }

    // ------------------------------------------------------------------ pause

    function test_pause_blocksPostJob() public {
        _pause();
        JobSpec memory spec = _spec();
        vm.prank(requester);
        vm.expectRevert(IGoverned.MarketPaused.selector);
        market.postJob(spec);
    }

    function test_pause_blocksPostJobWithPermit() public {
        _pause();
        JobSpec memory spec = _spec();
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(requesterKey, _escrowOf(spec), 1e12);
        vm.prank(requester);
        vm.expectRevert(IGoverned.MarketPaused.selector);
        market.postJobWithPermit(spec, 1e12, v, r, s);
    }

    function test_pause_blocksClaimJob() public {
        (uint256 jobId, Job memory job) = _post(_spec());
        _pause();
        vm.prank(provider);
        vm.expectRevert(IGoverned.MarketPaused.selector);
        market.claimJob(jobId, job);
    }

    function test_pause_blocksNewProvidersAndValidators() public {
        _pause();
        vm.prank(address(0xC0FFEE));
        vm.expectRevert(IGoverned.MarketPaused.selector);
        market.registerProvider(_caps(), bytes32(0));

        _stakeAs(address(0xBEEF), VALIDATOR_STAKE); // stake top-ups and first stakes still work
        vm.prank(address(0xBEEF));
        vm.expectRevert(IGoverned.MarketPaused.selector);
        market.registerValidator();
    }

    function test_pause_letsRegisteredProviderUpdateCapabilities() public {
        _pause();
        _registerProvider(provider, _caps());
        assertEq(market.capabilitiesOf(provider).gpuCount, _caps().gpuCount, "updated");
    }

    function test_unpause_reopensPostsAndClaims() public {
        _pause();
        vm.prank(guardian);
        market.unpause();
        (uint256 jobId, Job memory job) = _post(_spec());
        _claim(jobId, job, provider);
    }

    function test_pause_emitsOnceAndIsIdempotent() public {
        vm.expectEmit(address(market));
        emit IGoverned.Paused(guardian);
        _pause();
        _pause(); // no second event, no revert
        assertEq(market.paused(), true, "paused");
    }

    function test_pause_revertsForAnyoneButGuardian() public {
        address[4] memory callers = [address(this), address(timelock), proposer, treasury];
        for (uint256 i; i < callers.length; ++i) {
            vm.prank(callers[i]);
            vm.expectRevert(abi.encodeWithSelector(IGoverned.NotGuardian.selector, callers[i]));
            market.pause();
        }
    }

    function test_unpause_byGovernorThroughTimelock() public {
        _pause();
        _governed(abi.encodeCall(IGoverned.unpause, ()));
        assertEq(market.paused(), false, "unpaused by the governor");
    }

    function test_unpause_revertsForOthers() public {
        _pause();
        vm.prank(proposer);
        vm.expectRevert(abi.encodeWithSelector(IGoverned.NotGuardian.selector, proposer));
        market.unpause();
    }

    /// @notice While paused, every party gets its money out by the rules: a requester cancels, a provider submits
    /// and is paid, validators vote and are paid, a late provider is expired and its requester refunded, and
    /// stake unbonds and is withdrawn.
    function test_pause_everyPartyGetsMoneyOut() public {
        (uint256 openId, Job memory open) = _post(_spec());
        (uint256 runningId, Job memory running) = _post(_spec());
        running = _claim(runningId, running, provider);
        (uint256 lateId, Job memory late) = _post(_spec());
        late = _claim(lateId, late, otherProvider);
        _pause();

        vm.prank(requester);
        market.cancelJob(openId, open);

        running = _submit(runningId, running);
        _mine(2); // the seed block, then votes open
        address[] memory committee = _committee(runningId, running);
        _finalize(runningId, running, _ballots(Ballot.Approve, Ballot.Approve, Ballot.Approve));

        _wait(late.spec.runTimeout + 1);
        market.expireJob(lateId, late);

        _stakeAs(provider, 1e18); // top-up
        vm.prank(provider);
        market.requestUnbond(PROVIDER_STAKE);
        _wait(UNBONDING_DELAY);
        uint256 before = token.balanceOf(provider);
        vm.prank(provider);
        market.withdrawUnbonded();
        vm.prank(provider);
        market.withdraw();
        assertEq(
            token.balanceOf(provider) - before,
            PROVIDER_STAKE + running.spec.budget + running.spec.reward,
            "provider's unbonded stake, payment and reward"
        );

        for (uint256 i; i < committee.length; ++i) {
            // Seats are drawn with replacement: a holder of several seats earned a fee for each.
            uint256 seatsHeld;
            for (uint256 j; j < committee.length; ++j) {
                if (committee[j] == committee[i]) ++seatsHeld;
            }
            if (_account(committee[i]).balance == 0) continue; // already withdrawn for an earlier seat
            uint256 held = token.balanceOf(committee[i]);
            vm.prank(committee[i]);
            market.withdraw();
            assertEq(token.balanceOf(committee[i]) - held, seatsHeld * running.spec.validatorFee, "fee");
        }
        uint256 refunds = _account(requester).balance;
        vm.prank(requester);
        market.withdraw();
        assertEq(refunds, _escrowOf(late.spec) + late.spec.collateral, "expired job refunded with the collateral");
        assertEq(market.paused(), true, "still paused throughout");
    }

    // ------------------------------------------------------------------ setConfig

    function test_setConfig_revertsForAnyoneButGovernor() public {
        MarketConfig memory cfg = _config();
        address[5] memory callers = [address(this), guardian, proposer, treasury, requester];
        for (uint256 i; i < callers.length; ++i) {
            vm.prank(callers[i]);
            vm.expectRevert(abi.encodeWithSelector(IGoverned.NotGovernor.selector, callers[i]));
            market.setConfig(cfg);
        }
    }

    function test_setConfig_throughTimelockAfterDelay() public {
        MarketConfig memory cfg = _config();
        cfg.minProviderStake = 5_000e18;
        cfg.rewardBps = 150;
        cfg.unbondingDelay = 1 days;
        bytes memory call = abi.encodeCall(IGoverned.setConfig, (cfg));
        _schedule(call);
        _wait(TIMELOCK_DELAY);
        vm.expectEmit(address(market));
        emit IGoverned.ConfigChanged(cfg);
        vm.prank(proposer);
        timelock.execute(address(market), 0, call, bytes32(0), SALT);

        MarketConfig memory stored = market.config();
        assertEq(stored.minProviderStake, 5_000e18, "min provider stake");
        assertEq(stored.rewardBps, 150, "reward bps");
        assertEq(stored.unbondingDelay, 1 days, "unbonding delay");
        assertEq(stored.minValidatorStake, MIN_VALIDATOR_STAKE, "unchanged");
        assertEq(stored.validatorSlash, VALIDATOR_SLASH, "unchanged");
    }

    function test_setConfig_executeBeforeDelayReverts() public {
        bytes memory call = abi.encodeCall(IGoverned.setConfig, (_config()));
        _schedule(call);
        _wait(TIMELOCK_DELAY - 1);
        bytes32 id = timelock.hashOperation(address(market), 0, call, bytes32(0), SALT);
        vm.prank(proposer);
        vm.expectRevert(
            abi.encodeWithSelector(
                ITimelock.TimelockUnexpectedOperationState.selector,
                id,
                bytes32(uint256(1) << 2) // Ready
            )
        );
        timelock.execute(address(market), 0, call, bytes32(0), SALT);
    }

    function test_setConfig_cannotBeScheduledWithShorterDelay() public {
        bytes memory call = abi.encodeCall(IGoverned.setConfig, (_config()));
        vm.prank(proposer);
        vm.expectRevert(); // TimelockInsufficientDelay
        timelock.schedule(address(market), 0, call, bytes32(0), SALT, TIMELOCK_DELAY - 1);
    }

    function test_setConfig_cannotBeScheduledByGuardian() public {
        bytes memory call = abi.encodeCall(IGoverned.setConfig, (_config()));
        bytes32 role = timelock.PROPOSER_ROLE();
        vm.prank(guardian);
        vm.expectRevert(abi.encodeWithSelector(ITimelock.AccessControlUnauthorizedAccount.selector, guardian, role));
        timelock.schedule(address(market), 0, call, bytes32(0), SALT, TIMELOCK_DELAY);
    }

    function test_setConfig_revertsWhenRewardBpsAboveOneHundredPercent() public {
        MarketConfig memory cfg = _config();
        cfg.rewardBps = 10_001;
        bytes memory call = abi.encodeCall(IGoverned.setConfig, (cfg));
        _schedule(call);
        _wait(TIMELOCK_DELAY);
        vm.prank(proposer);
        vm.expectRevert(abi.encodeWithSelector(IGoverned.InvalidRewardBps.selector, 10_001, 10_000));
        timelock.execute(address(market), 0, call, bytes32(0), SALT);
    }

    function test_setConfig_keepsThePauseFlag() public {
        _pause();
        _governed(abi.encodeCall(IGoverned.setConfig, (_config())));
        assertEq(market.paused(), true, "still paused");
    }

    /// @notice A running job keeps what its spec fixed at post; the new values apply to later actions.
    function test_setConfig_appliesToLaterActionsOnly() public {
        (uint256 jobId, Job memory job) = _post(_spec());
        vm.prank(provider);
        market.requestUnbond(1e18);
        uint64 releaseAt = _account(provider).unbondingReleaseAt;

        MarketConfig memory cfg = _config();
        cfg.rewardBps = 0;
        cfg.minProviderStake = PROVIDER_STAKE + 1;
        cfg.unbondingDelay = 30 days;
        _governed(abi.encodeCall(IGoverned.setConfig, (cfg)));

        assertEq(_account(provider).unbondingReleaseAt, releaseAt, "requested unbond keeps its release time");
        vm.prank(provider);
        vm.expectRevert(
            abi.encodeWithSelector(
                IStaking.StakeBelowMinimum.selector, provider, PROVIDER_STAKE - 1e18, PROVIDER_STAKE + 1
            )
        );
        market.claimJob(jobId, job);

        uint256 remaining = market.rewardsRemaining();
        _postAs(requester, _spec());
        assertEq(market.rewardsRemaining(), remaining, "later posts reserve no reward");
        assertTrue(job.spec.reward != 0, "the posted job kept its reward");
    }

    // ------------------------------------------------------------------ setGuardian

    function test_setGuardian_revertsForAnyoneButGovernor() public {
        address[3] memory callers = [address(this), guardian, proposer];
        for (uint256 i; i < callers.length; ++i) {
            vm.prank(callers[i]);
            vm.expectRevert(abi.encodeWithSelector(IGoverned.NotGovernor.selector, callers[i]));
            market.setGuardian(callers[i]);
        }
    }

    function test_setGuardian_governorReplacesGuardian() public {
        address next = address(0x6A4D2);
        bytes memory call = abi.encodeCall(IGoverned.setGuardian, (next));
        _schedule(call);
        _wait(TIMELOCK_DELAY);
        vm.expectEmit(address(market));
        emit IGoverned.GuardianChanged(guardian, next);
        vm.prank(proposer);
        timelock.execute(address(market), 0, call, bytes32(0), SALT);
        assertEq(market.guardian(), next, "new guardian");

        vm.prank(guardian);
        vm.expectRevert(abi.encodeWithSelector(IGoverned.NotGuardian.selector, guardian));
        market.pause();
        vm.prank(next);
        market.pause();
        assertEq(market.paused(), true, "new guardian paused");
    }

    // ------------------------------------------------------------------ helpers

    function _pause() internal {
        vm.prank(guardian);
        market.pause();
    }

    function _schedule(bytes memory call) internal {
        vm.prank(proposer);
        timelock.schedule(address(market), 0, call, bytes32(0), SALT, TIMELOCK_DELAY);
    }

    /// @dev Schedules `call` on the market, waits out the delay and executes it.
    function _governed(bytes memory call) internal {
        _schedule(call);
        _wait(TIMELOCK_DELAY);
        vm.prank(proposer);
        timelock.execute(address(market), 0, call, bytes32(0), SALT);
    }
}
