// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IJobMarket} from "../../../contracts/interfaces/IJobMarket.sol";
import {IStaking} from "../../../contracts/interfaces/IStaking.sol";
import {
    Capabilities,
    Capability,
    Job,
    JobSpec,
    JobSpecField,
    JobStatus,
    Role
} from "../../../contracts/market/Types.sol";
import {Fixture} from "../utils/Fixture.sol";

/// @notice Claiming, submitting, voting and the job views.
contract JobMarketTest is Fixture {
    // ------------------------------------------------------------------ claimJob

    function test_claimJob_locksCollateralAndSetsDeadline() public {
        (uint256 jobId, Job memory job) = _post(_spec());
        uint64 deadline = uint64(_now()) + job.spec.runTimeout;
        vm.expectEmit(address(market));
        emit IJobMarket.JobClaimed(jobId, provider, deadline);
        job = _claim(jobId, job, provider);

        assertEq(job.state.deadline, deadline, "deadline");
        assertEq(_account(provider).locked, job.spec.collateral, "locked");
        assertEq(market.hashJob(job), keccak256(abi.encode(job)), "hash");
        assertEq(uint256(market.jobWord(jobId)) >> 24, uint256(keccak256(abi.encode(job))) >> 24, "word");
        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Claimed), "status");
    }

    function test_claimJob_revertsForNonProvider() public {
        (uint256 jobId, Job memory job) = _post(_spec());
        vm.expectRevert(
            abi.encodeWithSelector(IStaking.AccountNotInRole.selector, validators[0], Role.Validator, Role.Provider)
        );
        vm.prank(validators[0]);
        market.claimJob(jobId, job);
    }

    function test_claimJob_revertsWhenStakeTooLow() public {
        address small = address(0x5A11);
        _registerProvider(small, _caps());
        _stakeAs(small, MIN_PROVIDER_STAKE - 1);
        (uint256 jobId, Job memory job) = _post(_spec());
        vm.expectRevert(
            abi.encodeWithSelector(
                IStaking.StakeBelowMinimum.selector, small, MIN_PROVIDER_STAKE - 1, MIN_PROVIDER_STAKE
            )
        );
        vm.prank(small);
        market.claimJob(jobId, job);
    }

    function test_claimJob_revertsWhenFreeStakeBelowCollateral() public {
        JobSpec memory spec = _spec();
        spec.collateral = PROVIDER_STAKE - 100e18;
        (uint256 firstId, Job memory first) = _post(spec);
        _claim(firstId, first, provider);
        (uint256 jobId, Job memory job) = _post(spec);
        vm.expectRevert(
            abi.encodeWithSelector(IStaking.InsufficientFreeStake.selector, provider, 100e18, spec.collateral)
        );
        vm.prank(provider);
        market.claimJob(jobId, job);
    }

    function test_claimJob_revertsForEachMissingCapability() public {
        Capabilities memory caps = _caps();
        for (uint8 which; which < 5; ++which) {
            JobSpec memory spec = _spec();
            uint256 required;
            uint256 offered;
            if (which == uint8(Capability.GpuCount)) (spec.gpuCount, offered) = (caps.gpuCount + 1, caps.gpuCount);
            if (which == uint8(Capability.GpuMemory)) {
                (spec.gpuMemoryMiB, offered) = (caps.gpuMemoryMiB + 1, caps.gpuMemoryMiB);
            }
            if (which == uint8(Capability.GpuClass)) (spec.gpuClass, offered) = (caps.gpuClass + 1, caps.gpuClass);
            if (which == uint8(Capability.CpuCores)) (spec.cpuCores, offered) = (caps.cpuCores + 1, caps.cpuCores);
            if (which == uint8(Capability.Memory)) (spec.memoryMiB, offered) = (caps.memoryMiB + 1, caps.memoryMiB);
            required = offered + 1;
            (uint256 jobId, Job memory job) = _post(spec);
            vm.expectRevert(
                abi.encodeWithSelector(
                    IJobMarket.ProviderLacksCapability.selector, jobId, provider, Capability(which), required, offered
                )
            );
            vm.prank(provider);
            market.claimJob(jobId, job);
        }
    }

    function test_claimJob_revertsForRequester() public {
        _registerProvider(requester, _caps());
        _stakeAs(requester, PROVIDER_STAKE);
        (uint256 jobId, Job memory job) = _post(_spec());
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.RequesterCannotClaim.selector, jobId, requester));
        vm.prank(requester);
        market.claimJob(jobId, job);
    }

    function test_claimJob_revertsWhenAlreadyClaimed() public {
        (uint256 jobId, Job memory job) = _post(_spec());
        _claim(jobId, job, provider);
        _expectStatus(jobId, JobStatus.Claimed, JobStatus.Open);
        vm.prank(otherProvider);
        market.claimJob(jobId, job);
    }

    function test_claimJob_revertsOnDataMismatch() public {
        (uint256 jobId, Job memory job) = _post(_spec());
        job.spec.collateral = 0; // a provider trying to lock less than asked
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobDataMismatch.selector, jobId));
        vm.prank(provider);
        market.claimJob(jobId, job);
    }

    // ------------------------------------------------------------------ submitResult

    function test_submitResult_recordsSubmission() public {
        (uint256 jobId, Job memory job) = _post(_spec());
        job = _claim(jobId, job, provider);
        vm.expectEmit(address(market));
        emit IJobMarket.ResultSubmitted(
            jobId, provider, RESULT_DIGEST, RESULT_CODEC, CHECKPOINT_ROOT, CHECKPOINT_COUNT, uint16(VALIDATORS)
        );
        job = _submit(jobId, job);
        assertEq(job.state.submitBlock, _block(), "submit block");
        assertEq(uint256(market.jobWord(jobId)) >> 24, uint256(keccak256(abi.encode(job))) >> 24, "word");
        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Submitted), "status");
    }

    function test_submitResult_revertsForOtherCaller() public {
        (uint256 jobId, Job memory job) = _post(_spec());
        job = _claim(jobId, job, provider);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.NotJobProvider.selector, jobId, otherProvider, provider));
        vm.prank(otherProvider);
        market.submitResult(jobId, job, RESULT_DIGEST, RESULT_CODEC, CHECKPOINT_ROOT, CHECKPOINT_COUNT);
    }

    function test_submitResult_revertsAfterDeadline() public {
        (uint256 jobId, Job memory job) = _post(_spec());
        job = _claim(jobId, job, provider);
        _wait(job.spec.runTimeout + 1);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.SubmitDeadlinePassed.selector, jobId, job.state.deadline));
        vm.prank(provider);
        market.submitResult(jobId, job, RESULT_DIGEST, RESULT_CODEC, CHECKPOINT_ROOT, CHECKPOINT_COUNT);
    }

    function test_submitResult_acceptsAtTheDeadline() public {
        (uint256 jobId, Job memory job) = _post(_spec());
        job = _claim(jobId, job, provider);
        _wait(job.spec.runTimeout);
        _submit(jobId, job);
        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Submitted), "status");
    }

    function test_submitResult_revertsOnEmptyResult() public {
        (uint256 jobId, Job memory job) = _post(_spec());
        job = _claim(jobId, job, provider);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.EmptyResult.selector, jobId));
        vm.prank(provider);
        market.submitResult(jobId, job, 0, RESULT_CODEC, CHECKPOINT_ROOT, CHECKPOINT_COUNT);
    }

    function test_submitResult_revertsWhenOpen() public {
        (uint256 jobId, Job memory job) = _post(_spec());
        _expectStatus(jobId, JobStatus.Open, JobStatus.Claimed);
        vm.prank(provider);
        market.submitResult(jobId, job, RESULT_DIGEST, RESULT_CODEC, CHECKPOINT_ROOT, CHECKPOINT_COUNT);
    }

    // ------------------------------------------------------------------ vote

    function test_vote_recordsVoteAndCreditsFee() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        address member = _committee(jobId, job)[1];
        vm.expectEmit(address(market));
        emit IStaking.BalanceCredited(member, jobId, job.spec.validatorFee);
        vm.expectEmit(address(market));
        emit IJobMarket.VoteCast(jobId, member, 1, true, _evidence(1));
        vm.prank(member);
        market.vote(jobId, job, 1, true, _evidence(1));

        uint256 word = uint256(market.jobWord(jobId));
        assertEq((word >> 8) & 0xff, 2, "voted mask");
        assertEq((word >> 16) & 0xff, 2, "approve mask");
        assertEq(_account(member).balance, job.spec.validatorFee, "fee credited");
    }

    function test_vote_recordsRejection() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        _vote(jobId, job, 2, false);
        uint256 word = uint256(market.jobWord(jobId));
        assertEq((word >> 8) & 0xff, 4, "voted mask");
        assertEq((word >> 16) & 0xff, 0, "approve mask");
    }

    function test_vote_revertsInTheSubmissionBlock() public {
        (uint256 jobId, Job memory job) = _post(_spec());
        job = _claim(jobId, job, provider);
        job = _submit(jobId, job);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.VotingNotOpen.selector, jobId, _seedBlock(job) + 1));
        vm.prank(validators[0]);
        market.vote(jobId, job, 0, true, _evidence(0));
    }

    function test_vote_revertsInTheSeedBlock() public {
        (uint256 jobId, Job memory job) = _post(_spec());
        job = _claim(jobId, job, provider);
        job = _submit(jobId, job);
        _mine(1); // now in the seed block: its own hash is not readable yet
        assertEq(_block(), _seedBlock(job), "in the seed block");
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.VotingNotOpen.selector, jobId, job.state.submitBlock + 2));
        vm.prank(validators[0]);
        market.vote(jobId, job, 0, true, _evidence(0));
    }

    function test_vote_opensInTheBlockAfterTheSeedBlock() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        assertEq(_block(), _seedBlock(job) + 1, "first voting block");
        _vote(jobId, job, 0, true);
        assertEq((uint256(market.jobWord(jobId)) >> 8) & 0xff, 1, "voted");
    }

    function test_vote_revertsAfterTheWindow() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        address member = _committee(jobId, job)[0];
        _mine(job.spec.verifyBlocks);
        uint256 lastBlock = _lastVoteBlock(job);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.VoteWindowClosed.selector, jobId, lastBlock));
        vm.prank(member);
        market.vote(jobId, job, 0, true, _evidence(0));
    }

    function test_vote_acceptsInTheWindowsLastBlock() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        _mine(job.spec.verifyBlocks - 1);
        _vote(jobId, job, 0, true);
        assertEq((uint256(market.jobWord(jobId)) >> 8) & 0xff, 1, "voted");
    }

    function test_vote_revertsForSlotOutOfRange() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.CommitteeSlotOutOfRange.selector, jobId, 3, 3));
        vm.prank(validators[0]);
        market.vote(jobId, job, 3, true, _evidence(3));
    }

    function test_vote_revertsForValidatorNotDrawnForSlot() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        address[] memory committee = _committee(jobId, job);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.NotOnCommittee.selector, jobId, committee[1], 0));
        vm.prank(committee[1]);
        market.vote(jobId, job, 0, true, _evidence(0));
    }

    function test_vote_revertsForProvider() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.NotOnCommittee.selector, jobId, provider, 0));
        vm.prank(provider);
        market.vote(jobId, job, 0, true, _evidence(0));
    }

    function test_vote_revertsWhenSlotAlreadyVoted() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        _vote(jobId, job, 0, true);
        address member = _committee(jobId, job)[0];
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.AlreadyVoted.selector, jobId, 0));
        vm.prank(member);
        market.vote(jobId, job, 0, false, _evidence(0));
    }

    function test_vote_revertsWhenValidatorStakeTooLow() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        address member = _committee(jobId, job)[0];
        vm.prank(member);
        market.requestUnbond(VALIDATOR_STAKE - MIN_VALIDATOR_STAKE + 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IStaking.StakeBelowMinimum.selector, member, MIN_VALIDATOR_STAKE - 1, MIN_VALIDATOR_STAKE
            )
        );
        vm.prank(member);
        market.vote(jobId, job, 0, true, _evidence(0));
    }

    function test_vote_revertsForRequesterOnCommittee() public {
        _stakeAs(requester, VALIDATOR_STAKE);
        vm.prank(requester);
        market.registerValidator();
        JobSpec memory spec = _spec();
        spec.committeeSize = 8; // every one of the 7 validators sits on the committee
        (uint256 jobId, Job memory job) = _submitted(spec);
        address[] memory committee = _committee(jobId, job);
        uint8 slot;
        while (committee[slot] != requester) ++slot;
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.RequesterCannotVote.selector, jobId, requester));
        vm.prank(requester);
        market.vote(jobId, job, slot, false, _evidence(slot));
    }

    function test_vote_revertsOnDataMismatch() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        address member = _committee(jobId, job)[0];
        job.state.validatorCount = 1; // a smaller list would draw another committee
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobDataMismatch.selector, jobId));
        vm.prank(member);
        market.vote(jobId, job, 0, true, _evidence(0));
    }

    // ------------------------------------------------------------------ views

    function test_statusOf_followsTheLifecycle() public {
        assertEq(uint8(market.statusOf(0)), uint8(JobStatus.None), "id zero");
        (uint256 jobId, Job memory job) = _post(_spec());
        assertEq(uint8(market.statusOf(jobId + 1)), uint8(JobStatus.None), "future id");
        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Open), "open");
        job = _claim(jobId, job, provider);
        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Claimed), "claimed");
        job = _submit(jobId, job);
        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Submitted), "submitted");
        _mine(job.spec.verifyBlocks + 2);
        market.finalize(jobId, job);
        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Closed), "closed");
    }

    function testFuzz_hashJob_isKeccakOfEncoding(
        address who,
        uint96 budget,
        bytes32 digest,
        uint64 deadline,
        uint16 attempts,
        bytes32 resultHash
    ) public view {
        Job memory job;
        job.spec = _spec();
        (job.spec.requester, job.spec.budget, job.spec.bundleDigest) = (who, budget, digest);
        (job.state.provider, job.state.deadline, job.state.attempts) = (who, deadline, attempts);
        job.state.resultHash = resultHash;
        assertEq(market.hashJob(job), keccak256(abi.encode(job)), "hash");
    }

    function test_seedOf_hashesTheNextBlocksHashAndJobId() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        bytes32 expected = keccak256(abi.encode(blockhash(job.state.submitBlock + 1), jobId));
        assertEq(market.seedOf(jobId, job), expected, "seed");
    }

    function test_seedOf_revertsInTheSubmissionBlock() public {
        (uint256 jobId, Job memory job) = _post(_spec());
        job = _claim(jobId, job, provider);
        job = _submit(jobId, job);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.SeedUnavailable.selector, jobId, _seedBlock(job)));
        market.seedOf(jobId, job);
    }

    function test_seedOf_revertsInTheSeedBlock() public {
        (uint256 jobId, Job memory job) = _post(_spec());
        job = _claim(jobId, job, provider);
        job = _submit(jobId, job);
        _mine(1);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.SeedUnavailable.selector, jobId, _seedBlock(job)));
        market.seedOf(jobId, job);
    }

    /// @dev Everything the submitter knows when its transaction is mined (its own block's hash included) fixes
    /// neither the seed nor the committee: the same submission followed by another next block gets another seed.
    function testFuzz_seedOf_isNotKnownAtSubmission(bytes32 nextHashA, bytes32 nextHashB) public {
        vm.assume(nextHashA != nextHashB && nextHashA != 0 && nextHashB != 0);
        (uint256 jobId, Job memory job) = _post(_spec());
        job = _claim(jobId, job, provider);
        job = _submit(jobId, job);
        uint256 seedBlock = _seedBlock(job);
        vm.setBlockhash(job.state.submitBlock, keccak256("the submission block, known to the submitter"));
        vm.roll(seedBlock + 1);

        vm.setBlockhash(seedBlock, nextHashA);
        bytes32 seedA = market.seedOf(jobId, job);
        vm.setBlockhash(seedBlock, nextHashB);
        bytes32 seedB = market.seedOf(jobId, job);

        assertEq(seedA, keccak256(abi.encode(nextHashA, jobId)), "seed from the next block's hash");
        assertTrue(seedA != seedB, "the seed follows the next block, not the submission block");
    }

    function test_seedOf_ignoresTheSubmissionBlocksHash() public {
        (uint256 jobId, Job memory job) = _post(_spec());
        job = _claim(jobId, job, provider);
        job = _submit(jobId, job);
        _mine(2);
        bytes32 before = market.seedOf(jobId, job);
        // A provider that ground its own block's hash changes nothing.
        vm.setBlockhash(job.state.submitBlock, keccak256("ground by the provider"));
        assertEq(market.seedOf(jobId, job), before, "seed");
    }

    function test_committeeOf_drawsDistinctValidatorsFromTheSeed() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        address[] memory committee = _committee(jobId, job);
        assertEq(committee.length, 3, "size");
        bytes32 seed = market.seedOf(jobId, job);
        bool[] memory taken = new bool[](VALIDATORS);
        for (uint256 slot; slot < committee.length; ++slot) {
            uint256 position = uint256(keccak256(abi.encode(seed, slot))) % VALIDATORS;
            while (taken[position]) position = (position + 1) % VALIDATORS;
            taken[position] = true;
            assertEq(committee[slot], validators[position], "member");
        }
    }

    function test_committeeOf_isCappedByValidatorCount() public {
        JobSpec memory spec = _spec();
        spec.committeeSize = 8;
        (uint256 jobId, Job memory job) = _submitted(spec);
        assertEq(_committee(jobId, job).length, VALIDATORS, "all validators");
    }

    function test_committeeOf_revertsWhenNotSubmitted() public {
        (uint256 jobId, Job memory job) = _post(_spec());
        _expectStatus(jobId, JobStatus.Open, JobStatus.Submitted);
        market.committeeOf(jobId, job);
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
