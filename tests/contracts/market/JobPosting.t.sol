// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

import {IJobMarket} from "../../../contracts/interfaces/IJobMarket.sol";
import {Job, JobSpec, JobSpecField, JobStatus, VerificationMode} from "../../../contracts/market/Types.sol";
import {Fixture} from "../utils/Fixture.sol";

/// @notice Posting (with and without permit) and cancelling jobs.
contract JobPostingTest is Fixture {
    // ------------------------------------------------------------------ postJob

    function test_postJob_storesWordAndPullsEscrow() public {
        JobSpec memory spec = _spec();
        uint256 marketBefore = token.balanceOf(address(market));
        (uint256 jobId, Job memory job) = _post(spec);

        assertEq(jobId, 1, "first id");
        assertEq(market.nextJobId(), 2, "next id");
        assertEq(token.balanceOf(address(market)) - marketBefore, _escrowOf(spec), "escrow pulled");
        bytes32 expected = bytes32((uint256(keccak256(abi.encode(job))) & ~uint256(0xffffff)) | 1);
        assertEq(market.jobWord(jobId), expected, "word");
        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Open), "status");
    }

    function test_postJob_emitsSpecAsStored() public {
        JobSpec memory spec = _spec();
        spec.requester = address(0xBAD); // ignored
        spec.reward = 12345; // ignored
        spec.protocolFee = 678; // ignored
        JobSpec memory stored = _spec();
        stored.requester = requester;
        stored.reward = _expectedReward(spec);
        stored.protocolFee = _expectedFee(spec.budget);
        vm.expectEmit(address(market));
        emit IJobMarket.JobPosted(1, requester, stored);
        vm.prank(requester);
        market.postJob(spec);
    }

    function test_postJob_reservesRewardFromEmission() public {
        uint256 before = market.rewardsRemaining();
        (, Job memory job) = _post(_spec());
        assertEq(job.spec.reward, uint256(job.spec.budget) * REWARD_BPS / 10_000, "reward");
        assertEq(market.rewardsRemaining(), before - job.spec.reward, "reserved");
    }

    function test_postJob_capsRewardAtRemainingEmission() public {
        market = _deployMarket(_config(), INITIAL_SUPPLY, INITIAL_SUPPLY + 7);
        token = _tokenOf(market);
        _fund(requester, 10_000e18);
        (, Job memory job) = _post(_spec());
        assertEq(job.spec.reward, 7, "capped reward");
        assertEq(market.rewardsRemaining(), 0, "emission exhausted");
        (, job) = _post(_spec());
        assertEq(job.spec.reward, 0, "no reward left");
    }

    function test_postJob_spendsStandingAllowance() public {
        JobSpec memory spec = _spec();
        uint256 allowanceBefore = token.allowance(requester, address(market));
        _post(spec);
        assertEq(allowanceBefore - token.allowance(requester, address(market)), _escrowOf(spec), "allowance spent");
    }

    function test_postJob_revertsWithoutAllowance() public {
        address stranger = address(0x5157);
        _fund(stranger, 10_000e18);
        vm.expectRevert(
            abi.encodeWithSelector(
                IERC20Errors.ERC20InsufficientAllowance.selector, address(market), 0, _escrowOf(_spec())
            )
        );
        vm.prank(stranger);
        market.postJob(_spec());
    }

    function test_postJob_revertsWhenAllowanceShort() public {
        uint256 escrow = _escrowOf(_spec());
        _approveMarket(requester, escrow - 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IERC20Errors.ERC20InsufficientAllowance.selector, address(market), escrow - 1, escrow
            )
        );
        vm.prank(requester);
        market.postJob(_spec());
    }

    function test_postJobWithPermit_postsWithSignedPermit() public {
        JobSpec memory spec = _spec();
        _approveMarket(requester, 0);
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(requesterKey, _escrowOf(spec), 1e12);
        uint256 walletBefore = token.balanceOf(requester);
        vm.prank(requester);
        uint256 jobId = market.postJobWithPermit(spec, 1e12, v, r, s);
        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Open), "posted");
        assertEq(walletBefore - token.balanceOf(requester), _escrowOf(spec), "escrow pulled");
        assertEq(token.nonces(requester), 1, "permit applied");
        assertEq(token.allowance(requester, address(market)), 0, "permitted allowance spent");
    }

    function test_postJobWithPermit_succeedsWhenPermitWasFrontRun() public {
        JobSpec memory spec = _spec();
        _approveMarket(requester, 0);
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(requesterKey, _escrowOf(spec), 1e12);
        token.permit(requester, address(market), _escrowOf(spec), 1e12, v, r, s); // seen in the mempool
        vm.prank(requester);
        uint256 jobId = market.postJobWithPermit(spec, 1e12, v, r, s);
        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Open), "posted");
        assertEq(token.allowance(requester, address(market)), 0, "front-run allowance spent");
    }

    function test_postJobWithPermit_revertsWithInsufficientAllowanceWhenPermitFails() public {
        JobSpec memory spec = _spec();
        uint256 escrow = _escrowOf(spec);
        _approveMarket(requester, 0);
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(requesterKey, escrow, 1e12);
        token.permit(requester, address(market), escrow, 1e12, v, r, s);
        _approveMarket(requester, 0); // the front-run permit is used up elsewhere: no allowance is left
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(market), 0, escrow)
        );
        vm.prank(requester);
        market.postJobWithPermit(spec, 1e12, v, r, s);
    }

    function test_postJob_acceptsOptimisticJobWithoutCommittee() public {
        JobSpec memory spec = _spec();
        spec.mode = VerificationMode.None;
        spec.committeeSize = 0;
        spec.samplesPerValidator = 0;
        (uint256 jobId,) = _post(spec);
        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Open), "posted");
    }

    function test_postJob_revertsOnZeroBudget() public {
        JobSpec memory spec = _spec();
        spec.budget = 0;
        _expectInvalidSpec(spec, JobSpecField.Budget, 0, 1);
    }

    function test_postJob_revertsOnZeroBundleDigest() public {
        JobSpec memory spec = _spec();
        spec.bundleDigest = 0;
        _expectInvalidSpec(spec, JobSpecField.BundleDigest, 0, 1);
    }

    function test_postJob_revertsOnZeroRunTimeout() public {
        JobSpec memory spec = _spec();
        spec.runTimeout = 0;
        _expectInvalidSpec(spec, JobSpecField.RunTimeout, 0, 1);
    }

    function test_postJob_revertsWhenCommitteeAboveFifteen() public {
        JobSpec memory spec = _spec();
        spec.committeeSize = 17;
        spec.collateral = 17 * spec.validatorFee;
        _expectInvalidSpec(spec, JobSpecField.CommitteeSize, 17, 15);
    }

    function test_postJob_revertsWhenVerifiedModeHasNoCommittee() public {
        JobSpec memory spec = _spec();
        spec.mode = VerificationMode.Replicate;
        spec.committeeSize = 0; // even: a verified mode needs an odd committee
        _expectInvalidSpec(spec, JobSpecField.CommitteeSize, 0, 15);
    }

    function test_postJob_revertsWhenSampledModeHasNoSamples() public {
        JobSpec memory spec = _spec();
        spec.mode = VerificationMode.Shards;
        spec.samplesPerValidator = 0;
        _expectInvalidSpec(spec, JobSpecField.SamplesPerValidator, 0, 1);
    }

    function test_postJob_revertsOnZeroVerifyBlocks() public {
        JobSpec memory spec = _spec();
        spec.verifyBlocks = 0;
        _expectInvalidSpec(spec, JobSpecField.VerifyBlocks, 0, 1);
    }

    function test_postJob_revertsWhenVerifyBlocksAbove100() public {
        JobSpec memory spec = _spec();
        spec.verifyBlocks = 101;
        _expectInvalidSpec(spec, JobSpecField.VerifyBlocks, 101, 100);
    }

    function test_postJob_revertsWhenCollateralBelowCommitteeFees() public {
        JobSpec memory spec = _spec();
        spec.budget = 100e18; // the ratio asks for 10 tokens, the three fees for 15
        spec.collateral = 3 * spec.validatorFee - 1;
        _expectInvalidSpec(spec, JobSpecField.Collateral, spec.collateral, 3 * spec.validatorFee);
    }

    function test_postJob_revertsOnNonCanonicalEncoding() public {
        bytes memory data = abi.encodeCall(IJobMarket.postJob, (_spec()));
        uint256 gpuCountWord = 4 + 4 * 32;
        data[gpuCountWord + 30] = 0x01; // gpuCount = 0x0101: does not fit uint8
        vm.prank(requester);
        (bool ok, bytes memory ret) = address(market).call(data);
        assertTrue(!ok, "refused");
        assertEq(keccak256(ret), keccak256(abi.encodeWithSelector(IJobMarket.JobSpecNotCanonical.selector)), "error");
    }

    function test_postJob_revertsWhenRequesterCannotPay() public {
        address poor = address(0x9009);
        uint256 escrow = _escrowOf(_spec());
        _approveMarket(poor, escrow);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, poor, 0, escrow));
        vm.prank(poor);
        market.postJob(_spec());
    }

    function testFuzz_postJob_pullsExactEscrowAndReservesReward(uint96 budget, uint96 fee, uint8 committee) public {
        JobSpec memory spec = _spec();
        spec.budget = uint96(uint256(budget) % 100_000e18) + 1;
        spec.committeeSize = uint8(uint256(committee) % 9) * 2 - (committee % 9 == 0 ? 0 : 1); // 0 or odd, <= 15
        spec.mode = spec.committeeSize == 0 ? VerificationMode.None : VerificationMode.Segments;
        spec.validatorFee = uint96(uint256(fee) % 1_000e18);
        spec.collateral = uint96(uint256(spec.committeeSize) * spec.validatorFee);
        uint256 ratio = uint256(spec.budget) * MIN_COLLATERAL_BPS / 10_000;
        if (spec.collateral < ratio) spec.collateral = uint96(ratio);
        uint256 walletBefore = token.balanceOf(requester);
        uint256 remainingBefore = market.rewardsRemaining();
        (uint256 jobId, Job memory job) = _post(spec);

        assertEq(walletBefore - token.balanceOf(requester), _escrowOf(spec), "escrow");
        assertEq(remainingBefore - market.rewardsRemaining(), job.spec.reward, "reward reserved");
        assertEq(market.hashJob(job), keccak256(abi.encode(job)), "hash");
        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Open), "status");
    }

    // ------------------------------------------------------------------ cancelJob

    function test_cancelJob_refundsEscrowAndClosesJob() public {
        uint256 walletBefore = token.balanceOf(requester);
        uint256 remainingBefore = market.rewardsRemaining();
        (uint256 jobId, Job memory job) = _post(_spec());
        vm.expectEmit(address(market));
        emit IJobMarket.JobCancelled(jobId, _escrowOf(job.spec));
        vm.prank(requester);
        market.cancelJob(jobId, job);

        assertEq(token.balanceOf(requester), walletBefore, "refunded at once");
        assertEq(market.rewardsRemaining(), remainingBefore, "reward released");
        assertEq(market.jobWord(jobId), 0, "word deleted");
        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Closed), "closed");
    }

    function test_cancelJob_revertsForOtherCaller() public {
        (uint256 jobId, Job memory job) = _post(_spec());
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.NotJobRequester.selector, jobId, provider, requester));
        vm.prank(provider);
        market.cancelJob(jobId, job);
    }

    function test_cancelJob_revertsOnceClaimed() public {
        (uint256 jobId, Job memory job) = _post(_spec());
        job = _claim(jobId, job, provider);
        _expectStatus(jobId, JobStatus.Claimed, JobStatus.Open);
        vm.prank(requester);
        market.cancelJob(jobId, job);
    }

    function test_cancelJob_revertsOnDataMismatch() public {
        (uint256 jobId, Job memory job) = _post(_spec());
        job.spec.budget += 1;
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobDataMismatch.selector, jobId));
        vm.prank(requester);
        market.cancelJob(jobId, job);
    }

    function test_cancelJob_revertsForUnknownJob() public {
        Job memory job;
        _expectStatus(9, JobStatus.None, JobStatus.Open);
        market.cancelJob(9, job);
    }

    // ------------------------------------------------------------------ helpers

    function _expectInvalidSpec(JobSpec memory spec, JobSpecField field, uint256 value, uint256 limit) private {
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.InvalidJobSpec.selector, field, value, limit));
        vm.prank(requester);
        market.postJob(spec);
    }

    function _expectStatus(uint256 jobId, JobStatus actual, JobStatus expected) private {
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobNotInStatus.selector, jobId, actual, expected));
    }
}
