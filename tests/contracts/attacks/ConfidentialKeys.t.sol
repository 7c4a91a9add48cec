// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IJobMarket} from "../../../contracts/interfaces/IJobMarket.sol";
import {IKeyRelease} from "../../../contracts/interfaces/IKeyRelease.sol";
import {Account, Job, JobSpec, JobStatus, ReleaseReason} from "../../../contracts/market/Types.sol";
import {Ballot} from "../../../contracts/market/Votes.sol";
import {Fixture} from "../utils/Fixture.sol";

/// @notice The key-release attacks of confidential jobs (docs/confidential.md, "Chain rules"), played as each
/// attacker would. A requester that seals garbage to the claimant cannot profit: the provider gives the claim back
/// and its collateral is burned, not paid to the requester. A provider that takes a good key and walks away pays
/// its whole collateral. A requester whose key agent is offline costs the provider nothing: the claim goes back free.
contract ConfidentialKeysAttackTest is Fixture {
    bytes32 private constant RESULT_KEY = keccak256("requester x25519 public key");
    address private stranger = address(0x5E4A);

    IKeyRelease private keys;

    function setUp() public override {
        super.setUp();
        keys = IKeyRelease(market.keyRelease());
    }

    function test_attack_garbageKeyGainsTheRequesterNothingAndBurnsTheCollateral() public {
        uint256 requesterBefore = _wealth(requester);
        uint256 providerBefore = _wealth(provider);
        uint256 burnBefore = market.feesToBurn();
        (uint256 jobId, Job memory job) = _post(_confidentialSpec(false));
        job = _claim(jobId, job, provider);

        // The requester seals garbage inside the key window and waits.
        vm.prank(requester);
        keys.releaseKey(jobId, job, hex"deadbeef");
        _wait(job.spec.runTimeout / 2);

        // The provider cannot open it and gives the claim back: its collateral goes to the burn.
        vm.expectEmit(address(market));
        emit IJobMarket.ClaimReleased(jobId, provider, ReleaseReason.KeyRefused, job.spec.collateral);
        vm.prank(provider);
        market.releaseClaim(jobId, job);

        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Closed), "closed, as a failed job without reopen");
        // A clean refund (cancel at once) would have given the requester exactly what it had before posting.
        assertLe(_wealth(requester), requesterBefore, "the requester gained nothing");
        assertEq(_wealth(requester), requesterBefore, "and got its escrow back");
        assertEq(_wealth(provider), providerBefore - job.spec.collateral, "the provider lost its collateral");
        assertEq(market.feesToBurn(), burnBefore + job.spec.collateral, "to the burn");
        assertEq(_account(provider).locked, 0, "nothing left locked");
    }

    function test_attack_garbageKeyOnAReopeningJobReopensWithoutCompensation() public {
        uint256 requesterBefore = _wealth(requester);
        (uint256 jobId, Job memory job) = _post(_confidentialSpec(true));
        job = _claim(jobId, job, provider);
        vm.prank(requester);
        keys.releaseKey(jobId, job, hex"00");

        vm.expectEmit(address(market));
        emit IJobMarket.ClaimReleased(jobId, provider, ReleaseReason.KeyRefused, job.spec.collateral);
        vm.expectEmit(address(market));
        emit IJobMarket.JobReopened(jobId, 1);
        vm.prank(provider);
        market.releaseClaim(jobId, job);

        job = _reopened(job);
        assertEq(_account(requester).balance, 0, "no compensation credited");
        vm.prank(requester);
        market.cancelJob(jobId, job);
        assertEq(_wealth(requester), requesterBefore, "a refund later is all it gets");
    }

    function test_attack_providerThatTakesAGoodKeyAndWalksAwayPaysItsCollateral() public {
        uint256 providerBefore = _wealth(provider);
        uint256 supplyBefore = token.totalSupply();
        (uint256 jobId, Job memory job) = _post(_confidentialSpec(true));
        job = _claim(jobId, job, provider);
        vm.prank(requester);
        keys.releaseKey(jobId, job, _seal(48));
        assertTrue(keys.keyReleased(jobId, provider, job.state.deadline), "recorded");

        vm.prank(provider);
        market.releaseClaim(jobId, job);

        assertEq(_wealth(provider), providerBefore - job.spec.collateral, "its whole collateral");
        assertEq(_account(requester).balance, 0, "not paid to the requester");
        market.burnFees();
        assertEq(token.totalSupply(), supplyBefore - job.spec.collateral, "burned");
    }

    function test_attack_offlineAgentLetsTheProviderLeaveFreeAndARivalClaims() public {
        uint256 providerBefore = _wealth(provider);
        (uint256 jobId, Job memory job) = _post(_confidentialSpec(false));
        job = _claim(jobId, job, provider);
        _wait(job.spec.runTimeout / 4 + 1); // the key window passed with no key

        vm.expectEmit(address(market));
        emit IJobMarket.ClaimReleased(jobId, provider, ReleaseReason.KeyNotReleased, 0);
        vm.prank(provider);
        market.releaseClaim(jobId, job);

        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Open), "open again");
        Account memory account = _account(provider);
        assertEq(account.locked, 0, "collateral unlocked");
        assertEq(_wealth(provider), providerBefore, "not slashed");

        // The job is as it was: same spec, fresh state, attempts unchanged.
        Job memory reopened = _released(job);
        assertEq(reopened.state.attempts, 0, "attempts unchanged");
        job = _claim(jobId, reopened, otherProvider);
        job = _submit(jobId, job);
        _mine(2);
        _finalize(jobId, job, _ballots(Ballot.Approve, Ballot.Approve, Ballot.Approve));
        assertEq(_account(otherProvider).balance, job.spec.budget, "the rival was paid");
    }

    function test_attack_lateReleaseIsNotRecordedSoTheClaimGoesBackFree() public {
        (uint256 jobId, Job memory job) = _post(_confidentialSpec(false));
        job = _claim(jobId, job, provider);
        _wait(job.spec.runTimeout / 4 + 1);

        vm.expectEmit(address(keys));
        emit IKeyRelease.KeyReleased(jobId, provider, job.state.deadline, false, _seal(80));
        vm.prank(requester);
        keys.releaseKey(jobId, job, _seal(80));
        assertTrue(!keys.keyReleased(jobId, provider, job.state.deadline), "not recorded");

        vm.expectEmit(address(market));
        emit IJobMarket.ClaimReleased(jobId, provider, ReleaseReason.KeyNotReleased, 0);
        vm.prank(provider);
        market.releaseClaim(jobId, job);
        assertEq(_account(provider).stake, PROVIDER_STAKE, "nothing slashed");
    }

    function test_attack_strangersAndRivalsCannotReleaseKeysOrClaims() public {
        (uint256 jobId, Job memory job) = _post(_confidentialSpec(false));
        job = _claim(jobId, job, provider);

        vm.expectRevert(abi.encodeWithSelector(IKeyRelease.NotJobRequester.selector, jobId, stranger, requester));
        vm.prank(stranger);
        keys.releaseKey(jobId, job, _seal(48));
        vm.expectRevert(abi.encodeWithSelector(IKeyRelease.NotJobRequester.selector, jobId, provider, requester));
        vm.prank(provider);
        keys.releaseKey(jobId, job, _seal(48));

        vm.expectRevert(abi.encodeWithSelector(IJobMarket.NotJobProvider.selector, jobId, otherProvider, provider));
        vm.prank(otherProvider);
        market.releaseClaim(jobId, job);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.NotJobProvider.selector, jobId, requester, provider));
        vm.prank(requester);
        market.releaseClaim(jobId, job);
    }

    function test_attack_clearJobsRefuseKeyReleaseAndClaimRelease() public {
        (uint256 jobId, Job memory job) = _post(_spec());
        job = _claim(jobId, job, provider);
        vm.expectRevert(abi.encodeWithSelector(IKeyRelease.NotConfidential.selector, jobId));
        vm.prank(requester);
        keys.releaseKey(jobId, job, _seal(48));
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.NotConfidential.selector, jobId));
        vm.prank(provider);
        market.releaseClaim(jobId, job);
    }

    function _confidentialSpec(bool reopen) private pure returns (JobSpec memory spec) {
        spec = _spec();
        spec.resultKey = RESULT_KEY;
        spec.reopenOnFailure = reopen;
    }

    function _seal(uint256 length) private pure returns (bytes memory seal) {
        seal = new bytes(length);
        for (uint256 i; i < length; ++i) {
            seal[i] = bytes1(uint8(i + 1));
        }
    }

    /// @dev The job after a free release: its state reset, `attempts` kept.
    function _released(Job memory job) private pure returns (Job memory) {
        uint16 attempts = job.state.attempts;
        delete job.state;
        job.state.attempts = attempts;
        return job;
    }

    /// @dev Tokens held plus everything the market owes or holds for `who`.
    function _wealth(address who) private view returns (uint256) {
        Account memory account = _account(who);
        return token.balanceOf(who) + account.stake + account.unbonding + account.balance + account.rewardOwed;
    }
}
